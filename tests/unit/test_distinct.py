"""Work done once per distinct object gives what the same work row by row gives, whether
the rows share their objects (as the store reads them) or each holds its own."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.distinct import CAST_MAX, by_object, categorical, each_distinct
from layers.readiness import (
    ALWAYS,
    NEVER,
    condition_days,
    conditions_met,
    day_number,
    met_always,
)
from layers.vocabulary import FACTS

VALUES = st.sampled_from(["done", "planned", "exempt", "", " ", None, math.nan, "2027-03-01"])


def _rows(values: list[object], *, shared: bool) -> np.ndarray:
    """The values as an object column: equal values held once, as the store's read holds
    them, or each text its own object."""
    held: dict[object, object] = {}
    if shared:
        own = [held.setdefault(v, v) for v in values]
    else:
        own = [("x" + v)[1:] if isinstance(v, str) else v for v in values]  # a new str each
    return np.array([*own, None], dtype=object)[:-1]


@settings(max_examples=200, deadline=None)
@given(st.lists(VALUES, max_size=60), st.booleans(), st.integers(1, 40))
def test_each_distinct_answers_row_for_row(values: list[object], shared: bool, copies: int) -> None:
    rows = _rows(values * copies, shared=shared)
    codes, distinct = by_object(rows)
    for got, want in zip(distinct[codes], rows, strict=True):
        assert got is want or (pd.isna(got) and pd.isna(want)) or got == want
    judged = each_distinct(rows, lambda v: pd.Series(v, dtype=object).isin(["done", "exempt"]))
    assert judged.tolist() == pd.Series(rows, dtype=object).isin(["done", "exempt"]).tolist()


@pytest.mark.parametrize("n_distinct", [3, CAST_MAX, CAST_MAX + 1, 9_000])
def test_the_distinct_objects_are_the_rows_own_in_order_of_first_appearance(
    n_distinct: int,
) -> None:
    # Few distinct objects are made again from their addresses, many found by their first
    # rows: either way they are the very objects the rows hold.
    held = [f"2027-{k:06d}" for k in range(n_distinct)]
    order = np.random.default_rng(n_distinct).permutation(n_distinct)
    rows = np.array([held[k] for k in np.r_[order, order[::-1], order, order, order]], dtype=object)
    codes, distinct = by_object(rows)
    assert [id(v) for v in distinct] == [id(held[k]) for k in order]
    assert all(got is want for got, want in zip(distinct[codes], rows, strict=True))


@settings(max_examples=200, deadline=None)
@given(st.lists(VALUES, max_size=60), st.booleans(), st.integers(1, 40))
def test_categorical_is_pandas_categorical(values: list[object], shared: bool, copies: int) -> None:
    rows = _rows(values * copies, shared=shared)
    made, want = categorical(rows), pd.Categorical(rows)
    assert made.categories.tolist() == want.categories.tolist()
    assert made.codes.tolist() == want.codes.tolist()


def _date(text: str) -> dt.date | str:
    """A date where the text is one (as the store holds it), else the text."""
    return dt.date.fromisoformat(text) if text[:1] == "2" else text


@pytest.mark.parametrize("shared", [True, False])
def test_condition_days_are_those_of_each_row_read_alone(shared: bool) -> None:
    rng = np.random.default_rng(7)
    n = 2_000
    statuses = rng.choice(["done", "planned", "missing", "exempt"], size=(n, len(FACTS)))
    dates = rng.choice(["2027-01-05", "2026-12-31", "not a date", ""], size=(n, len(FACTS)))
    columns: dict[str, list[object]] = {}
    for j, key in enumerate(FACTS):
        columns[f"{key}_st"] = statuses[:, j].tolist()
        columns[f"{key}_dt"] = [_date(d) for d in dates[:, j]]
    columns["env_std"] = rng.choice(["GB 16297", " ", "", "GB 8978"], size=n).tolist()
    frame = pd.DataFrame({k: _rows(v, shared=shared) for k, v in columns.items()})
    keys, days = condition_days(frame)
    for j, key in enumerate(FACTS):
        read = days[:, keys.index(key)]
        for status, date, day in zip(statuses[:, j], dates[:, j], read, strict=True):
            if status in ("done", "exempt"):
                assert day == ALWAYS
            elif status == "planned" and isinstance(_date(date), dt.date):
                assert day == day_number(dt.date.fromisoformat(date))
            else:
                assert day == NEVER
    standard = days[:, keys.index("env_std_set")]
    assert (standard == ALWAYS).tolist() == [v.startswith("GB") for v in columns["env_std"]]
    met = conditions_met(frame)
    assert {k: v.tolist() for k, v in met_always(keys, days).items()} == {
        k: v.tolist() for k, v in met.items()
    }
