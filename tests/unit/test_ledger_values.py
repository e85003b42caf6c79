"""Ledger values as typed (JSON bodies, the command line), judged by their field's kind
from the registry: the checks before any row is read."""

from __future__ import annotations

import math

from geo_service.cli_ledgers import _typed
from layers.catalog import FACTORIES
from layers.store.ledger_checks import typed_problems


def test_json_values_of_a_type_the_field_cannot_hold_are_named() -> None:
    problems = typed_problems(
        FACTORIES,
        {
            "floors": True,  # int
            "water": True,  # bool
            "name": 5,  # str
            "avail_from": 20260101,  # date
            "floor_m2": "120",  # float
            "height_m": 8,
            "crane_t": math.nan,
            "owner": {"zh": "某公司"},
            "load_kn": None,
            "price_w": 12.5,
            "nope": "x",
        },
    )
    assert {name: problem.split(" (")[-1] for name, problem in problems.items()} == {
        "floors": "a boolean where a int is expected)",
        "name": "a number where a str is expected)",
        "avail_from": "a number where a date is expected)",
        "floor_m2": "a text where a number is expected)",
        "crane_t": "not a finite number)",
        "owner": "an object or list, not a value)",
    }


def test_the_command_line_gives_number_fields_numbers_and_leaves_the_rest_as_typed() -> None:
    typed = {"floors": "3", "floor_m2": "1e3", "crane_t": "ten", "name": "12", "water": "1"}
    assert _typed(FACTORIES.name, {**typed, "avail_from": "", "nope": "5"}) == {
        "floors": 3.0,
        "floor_m2": 1000.0,
        "crane_t": "ten",
        "name": "12",
        "water": "1",
        "avail_from": None,
        "nope": "5",
    }
    assert _typed("no such layer", {"floors": "3"}) == {"floors": "3"}
