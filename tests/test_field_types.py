"""The registry of field kinds (layers/kinds.py, extended by layers/values.py) and the
labels of coded values (``FieldSpec.labels``): every kind is described once, every field's
column has its kind's dtype and SQL type, and every coded value people read on pages and
maps has a label in both languages."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from typing import get_args

import pytest

from layers.catalog import LAYERS, PARCELS
from layers.frames import empty_frame
from layers.kinds import KINDS, Kind
from layers.readiness import ReadinessLevel
from layers.schema import FieldKind, FieldSpec
from layers.store.tables import LAYER_TABLES
from layers.values import TYPES, field_type

LABELLED = {
    ("parcels", "land_use"),
    ("parcels", "stock_cat"),
    ("parcels", "status"),
    ("factories", "status"),
    ("infrastructure", "kind"),
}
"""Coded fields whose values the pages and maps show with their labels (and the facts'
``_st``)."""


def test_every_kind_is_in_the_registry() -> None:
    assert list(TYPES) == list(KINDS) == list(get_args(FieldKind))
    assert {t.family for t in TYPES.values()} == {"str", "number", "bool", "date"}
    assert [k for k, t in TYPES.items() if t.ordered] == ["int", "float", "date"]


def test_the_pandas_registry_extends_the_kinds_without_restating_them() -> None:
    for kind, ft in TYPES.items():
        assert isinstance(ft, Kind)
        assert {f.name: getattr(ft, f.name) for f in fields(Kind)} == vars(KINDS[kind]), kind


@pytest.mark.parametrize("name", LAYERS)
def test_columns_have_the_registry_sql_types(name: str) -> None:
    table = LAYER_TABLES[name]
    for f in LAYERS[name].stored_fields:
        assert type(table.c[f.name].type) is KINDS[f.kind].sql, f.name


def test_the_kinds_and_tables_load_without_pandas() -> None:
    """The store's tables (and ``geo-service key …``) know the kinds without pandas."""
    code = "import sys, layers.store.tables; print('pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.parametrize("name", LAYERS)
def test_empty_frames_have_the_registry_dtypes(name: str) -> None:
    spec = LAYERS[name]
    frame = empty_frame(spec)
    for f in spec.stored_fields:
        assert str(frame[f.name].dtype) == field_type(f).dtype, f.name


def test_coded_fields_have_labels_in_both_languages() -> None:
    labelled = set()
    for spec in LAYERS.values():
        for f in spec.fields:
            if f.name.endswith("_st"):
                assert f.labels, f.name
            if not f.labels:
                continue
            labelled.add((spec.name, f.name))
            assert f.choices == tuple(f.labels)
            for value, (zh, en) in f.labels.items():
                assert zh and en, (spec.name, f.name, value)
                assert f.label(value) == (zh, en)
    assert LABELLED.issubset(labelled)


def test_labels_or_choices_not_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        FieldSpec("x", "str", "x", "x", choices=("a",), labels={"a": ("甲", "a")})


def test_every_choice_has_a_label() -> None:
    """A coded value is shown with its label wherever people read it (pages, maps): a
    field that lists its values labels every one."""
    unlabelled = [
        (spec.name, f.name, c)
        for spec in LAYERS.values()
        for f in spec.fields
        for c in f.choices
        if f.label(c) is None
    ]
    assert unlabelled == []


def test_readiness_labels_name_every_level() -> None:
    assert PARCELS.field("readiness").choices == tuple(ReadinessLevel)
    assert [level.zh for level in ReadinessLevel] == ["净地可出让", "部分就绪", "未就绪"]
