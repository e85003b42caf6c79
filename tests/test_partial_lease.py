"""Factories leased in part (issue 15, item 8): a divisible building larger than the
floor area asked for is offered as the smallest whole number of lettable units that
covers the minimum, when that part stays within the maximum (docs/matching.md)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from geo_service import auth
from geo_service.report import print_match
from layers.demo import generate_zone
from layers.store.store import Store
from matching.engine import match
from matching.factories import lease
from matching.profiles import FACTORY
from matching.request import parse_request
from matching.situation import Situation
from matching.zone import Zone, build_zone
from tests.people import TESTER

# (id, floor area m², divisible, smallest lettable unit m²)
BUILDINGS = [
    ("L1", 10_827.0, True, 1_000.0),  # 6 units of 1,000 m² make 6,000 m²
    ("L2", 10_827.0, True, 2_500.0),  # 3 units: 7,500 m², still ≤ 8,000 m²
    ("L3", 10_827.0, True, 4_500.0),  # 2 units: 9,000 m² > 8,000 m²
    ("L4", 10_827.0, False, None),  # too large, and the owner does not divide it
    ("L5", 5_000.0, False, None),  # too small
    ("L6", 7_000.0, True, 1_000.0),  # within the range: leased whole
    ("L7", 10_827.0, True, None),  # divisible, but no unit recorded
]


@pytest.fixture(scope="module")
def zone() -> dict[str, gpd.GeoDataFrame]:
    """The demo zone the web test's store holds (``loaded`` reads this fixture)."""
    return generate_zone(parcels=120)


@pytest.fixture(scope="module")
def leases(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> Zone:
    frames = demo_zone(parcels=50)
    factories = frames["factories"].iloc[: len(BUILDINGS)].copy()
    ids, floor, divisible, unit = zip(*BUILDINGS, strict=True)
    factories["factory_id"] = list(ids)
    factories["floor_m2"] = list(floor)
    factories["divisible"] = list(divisible)
    factories["unit_m2"] = [np.nan if u is None else u for u in unit]
    factories["status"] = "idle"
    factories["rent_ym"] = 20.0
    frames["factories"] = factories
    return build_zone(frames)


def _request(floor: dict[str, float], **factory: Any) -> Any:
    return parse_request(
        {
            "name": "分租",
            "industry": "装备制造",
            "site_kind": "factory",
            "factory": {"floor": floor, **factory},
        }
    )


def _site(result: Any, factory_id: str) -> Any:
    (site,) = [s for s in result.sites if s.ids == (factory_id,)]
    return site


def _floor(site: Any) -> Any:
    (check,) = [c for c in site.checks if c.key == "floor"]
    return check


def test_a_larger_divisible_building_is_leased_in_part(leases: Zone) -> None:
    result = match(_request({"min_m2": 6000, "max_m2": 8000}), leases, top_n=20)
    site = _site(result, "L1")
    assert site.size == 6000.0  # the part leased, not the building
    check = _floor(site)
    assert check.ok
    assert check.detail.startswith("可分租 6,000 m² / 10,827 m²")
    assert "partial lease of 6,000 m² of 10,827 m²" in check.detail
    assert check.margin == 0.0  # exactly the minimum: no slack below
    assert site.criteria["floor_fit"] == 6000.0  # the leased part, which fits exactly:
    assert site.contributions["floor_fit"] == pytest.approx(result.weights["floor_fit"])
    assert _site(result, "L2").size == 7500.0
    whole = _site(result, "L6")
    assert whole.size == 7000.0 and "可分租" not in _floor(whole).detail
    assert result.feasible_ids() == {"L1", "L2", "L6"}


def test_remedies_say_what_it_would_take(leases: Zone) -> None:
    result = match(_request({"min_m2": 6000, "max_m2": 8000}), leases, near_misses=10)
    remedy = {m.ids[0]: (m.failed.detail, m.remedy) for m in result.near_misses}
    assert remedy["L4"] == (
        "建筑面积 10,827 m² > 上限 8,000 m², 不可分割出租 "
        "(floor area 2,827 m² over, and not divisible)",
        "需放宽面积上限 2,827 m², 或与业主协商分割出租 "
        "(needs the upper limit relaxed by 2,827 m², or the owner to agree to divide it)",
    )
    (l3,) = [m for m in result.near_misses if m.ids == ("L3",)]
    assert l3.failed.margin == -1000.0  # 9,000 m², the fewest units, less the 8,000 m² limit
    why, how = remedy["L3"]
    assert "最小分租单元 4,500 m², 可分租 9,000 m² > 上限 8,000 m²" in why
    assert "放宽面积上限 1,000 m² 至 9,000 m²" in how
    why, how = remedy["L5"]
    assert why == "建筑面积 5,000 m² < 下限 6,000 m² (floor area 1,000 m² short)"
    assert "1,000 m²" in how and "另寻厂房" in how
    assert remedy["L7"][1].endswith("or the owner to agree to divide it)")  # no unit recorded


def test_without_a_maximum_nothing_is_too_large(leases: Zone) -> None:
    result = match(_request({"min_m2": 6000}), leases, top_n=20)
    assert result.feasible_ids() == {"L1", "L2", "L3", "L4", "L6", "L7"}
    assert all(s.size == dict((b[0], b[1]) for b in BUILDINGS)[s.ids[0]] for s in result.sites)


def test_rent_counts_per_m2_of_the_part(leases: Zone) -> None:
    """The rent limit is per m² a month: a partial lease meets it as the building does."""
    result = match(
        _request({"min_m2": 6000, "max_m2": 8000}, max_rent_yuan_m2_month=20), leases, top_n=20
    )
    assert _site(result, "L1").criteria["rent"] == 20.0


@settings(max_examples=200, deadline=None)
@given(
    floor_m2=st.floats(100, 50_000),
    unit_m2=st.floats(10, 5_000),
    lo=st.floats(50, 20_000),
    extra=st.floats(0, 20_000),
)
def test_the_part_is_the_fewest_whole_units_within_the_range(
    leases: Zone, floor_m2: float, unit_m2: float, lo: float, extra: float
) -> None:
    """Oracle: count units up until they cover the minimum."""
    hi = lo + extra
    frame = leases.factories.frame.iloc[:1].copy()
    frame["floor_m2"], frame["divisible"], frame["unit_m2"] = floor_m2, True, unit_m2
    sites = dataclasses.replace(leases.factories, frame=frame)
    request = _request({"min_m2": lo, "max_m2": hi})
    leased = lease(Situation(request, leases, sites))
    units = 1
    while units < lo / unit_m2 - 1e-9:
        units += 1
    part = units * unit_m2
    expect_partial = floor_m2 > hi and part <= hi
    assert bool(leased.partial[0]) == expect_partial
    if expect_partial:
        assert leased.leased_m2[0] == pytest.approx(part, rel=1e-12)
        assert lo - 1e-6 <= leased.leased_m2[0] <= hi
    elif floor_m2 > hi:  # offered in part all the same, and too large
        assert leased.leased_m2[0] == pytest.approx(part, rel=1e-12) and part > hi
    else:
        assert leased.leased_m2[0] == floor_m2


def test_the_engine_offers_the_same_profile_size(leases: Zone) -> None:
    """What a result calls the size is the profile's: the leased part."""
    request = _request({"min_m2": 6000, "max_m2": 8000})
    sizes = FACTORY.sizes(FACTORY.situation(request, leases))
    ids = list(leases.factories.ids)
    assert sizes[ids.index("L1")] == 6000.0 and sizes[ids.index("L4")] == 10_827.0


def test_the_result_states_the_part_and_the_whole(leases: Zone) -> None:
    """The JSON answer, and the CLI table a planner reads, say which part of what."""
    result = match(_request({"min_m2": 6000, "max_m2": 8000}), leases, top_n=20)
    sites = {s["ids"][0]: s for s in result.to_dict()["sites"]}
    assert (sites["L1"]["size"], sites["L1"]["whole"]) == (6000.0, 10_827.0)
    assert sites["L6"]["whole"] is None
    console = Console(record=True, width=240)
    print_match(console, result)
    assert "可分租, 共 10,827" in console.export_text()


def test_the_results_page_says_which_part(client: TestClient, loaded: Store) -> None:
    """A planner asks for 1,800–2,400 m²: demo building F009 (11,316 m², units of
    2,000 m²) is offered as one unit, and the ranked list says of what."""
    key = auth.create_key(loaded, name="王芳", role="planner", actor=TESTER)[1]
    client.post("/login", data={"key": key, "next": "/workspace"}, follow_redirects=False)
    csrf = client.get("/session").json()["csrf_token"]
    form = {
        "csrf_token": csrf,
        "name": "分租项目",
        "industry": "装备",
        "site_kind": "factory",
        "factory.floor.min_m2": "1800",
        "factory.floor.max_m2": "2400",
        "action": "match",
    }
    page = client.post("/workspace/project", data=form)
    ranked = page.text.split('id="ranked"')[1].split("</table>")[0]
    assert "F009" in ranked and "可分租, 共 11,316 m²" in ranked
    assert "可分租 2,000 m² / 11,316 m²" in page.text  # the floor check of its details
