"""Readiness is derived from facts: one missing assessment names it; a change of fact shows."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from layers.catalog import PARCELS
from layers.demo import generate_zone
from layers.frames import derive
from layers.readiness import ReadinessLevel, readiness_expression, readiness_of
from layers.store.store import Store
from layers.store.tables import LAYER_TABLES
from layers.vocabulary import ASSESSMENTS, FACTS, UTILITY_FACTS
from tests.people import TESTER


def _complete() -> dict[str, object]:
    parcel: dict[str, object] = {}
    for key in FACTS:
        parcel[f"{key}_st"] = "done"
        parcel[f"{key}_dt"] = dt.date(2025, 12, 1)
    parcel.update(
        inv_lo=300.0, tax_lo=20.0, egy_hi=0.5, far_lo=1.0, far_hi=2.5, env_std="GB 16297-1996 二级"
    )
    return parcel


def test_everything_done_is_ready() -> None:
    result = readiness_of(_complete())
    assert result.level is ReadinessLevel.READY
    assert result.gaps == ()


@pytest.mark.parametrize("key", sorted(ASSESSMENTS))
def test_one_missing_assessment_is_partly_ready_and_named(key: str) -> None:
    parcel = {**_complete(), f"{key}_st": "missing", f"{key}_dt": None}
    result = readiness_of(parcel)
    assert result.level is ReadinessLevel.PARTLY_READY
    assert result.gaps == (ASSESSMENTS[key][0],)


@pytest.mark.parametrize("key", sorted(UTILITY_FACTS))
def test_one_missing_utility_is_named(key: str) -> None:
    result = readiness_of({**_complete(), f"{key}_st": "missing"})
    assert result.level is ReadinessLevel.PARTLY_READY
    assert result.gaps == (UTILITY_FACTS[key][0],)


def test_exempt_counts_as_met() -> None:
    assert readiness_of({**_complete(), "as_min_st": "exempt"}).level is ReadinessLevel.READY


def test_land_not_acquired_is_not_ready() -> None:
    result = readiness_of({**_complete(), "acq_st": "planned", "acq_dt": dt.date(2027, 6, 30)})
    assert result.level is ReadinessLevel.NOT_READY
    assert "土地收储" in result.gaps


def test_indicators_must_be_set() -> None:
    result = readiness_of({**_complete(), "inv_lo": None})
    assert result.level is ReadinessLevel.PARTLY_READY
    assert result.gaps == ("固定资产投资强度未设定",)


def test_changing_a_fact_changes_the_level() -> None:
    parcel = {**_complete(), "as_rel_st": "missing"}
    assert readiness_of(parcel).level is ReadinessLevel.PARTLY_READY
    parcel["as_rel_st"] = "done"
    assert readiness_of(parcel).level is ReadinessLevel.READY
    parcel["clear_st"] = "missing"
    assert readiness_of(parcel).level is ReadinessLevel.NOT_READY


def test_emission_standard_must_be_set() -> None:
    result = readiness_of({**_complete(), "env_std": " "})
    assert result.gaps == ("环境标准未设定",)


def test_a_bound_on_the_wrong_side_does_not_count() -> None:
    # An energy-intensity "minimum" sets no cap; investment intensity needs a minimum.
    result = readiness_of(
        {**_complete(), "egy_hi": None, "egy_lo": 0.3, "inv_lo": None, "inv_hi": 500.0}
    )
    assert result.gaps == ("固定资产投资强度未设定", "单位能耗未设定")


def test_planned_facts_count_by_their_date() -> None:
    parcel = {**_complete(), "u_gas_st": "planned", "u_gas_dt": dt.date(2027, 3, 31)}
    assert readiness_of(parcel).level is ReadinessLevel.PARTLY_READY
    assert readiness_of(parcel, as_of=dt.date(2027, 3, 30)).gaps == ("通燃气",)
    assert readiness_of(parcel, as_of=dt.date(2027, 3, 31)).level is ReadinessLevel.READY


def test_the_sql_readiness_agrees_with_python_on_every_parcel(store: Store) -> None:
    parcels = generate_zone()["parcels"]
    store.features.write(PARCELS, parcels, actor=TESTER)
    table = LAYER_TABLES["parcels"]
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.parcel_id, readiness_expression(table))).all()
    in_db = dict(rows)
    in_python = derive(store.features.read(PARCELS), PARCELS).set_index("parcel_id")["readiness"]
    assert in_db == in_python.to_dict()
    assert set(in_db.values()) == {"ready", "partly_ready", "not_ready"}
