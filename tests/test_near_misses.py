"""Near misses by how little they lack (docs/matching.md, "Near misses"), on a hand-built
zone: a handful of parcels on offer, each short of the request by a known amount."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pytest

from layers.demo import generate_zone
from matching.engine import match
from matching.request import parse_request
from matching.results import MatchResult
from matching.zone import Zone, build_zone

ENERGY_TCE = 1_000.0
SO2_T = 5.0


@pytest.fixture(scope="module")
def frames() -> dict[str, gpd.GeoDataFrame]:
    return generate_zone(parcels=60)


@pytest.fixture(scope="module")
def areas(frames: dict[str, gpd.GeoDataFrame]) -> dict[str, float]:
    built = build_zone(frames)
    ids = [str(i) for i in built.parcels.ids]
    return dict(zip(ids, built.parcels.frame["area_mu"].to_numpy(dtype=float), strict=True))


def _zone(frames: dict[str, gpd.GeoDataFrame], offer: dict[str, dict[str, float]]) -> Zone:
    """The demo zone with only the parcels of ``offer`` available, each with its own
    energy quota and SO₂ allowance (so no park budget speaks for it)."""
    edited = dict(frames)
    parcels = frames["parcels"].copy()
    parcels["status"] = "reserved"
    parcels["egy_tce"] = np.nan
    parcels["so2_t"] = np.nan
    for parcel_id, quotas in offer.items():
        row = parcels["parcel_id"] == parcel_id
        parcels.loc[row, "status"] = "available"
        parcels.loc[row, "egy_tce"] = quotas.get("egy", ENERGY_TCE)
        parcels.loc[row, "so2_t"] = quotas.get("so2", SO2_T)
    edited["parcels"] = parcels
    return build_zone(edited)


def _request(min_mu: float, **extra: Any) -> Any:
    return parse_request(
        {
            "name": "近似项目",
            "industry": "装备制造",
            "area": {"min_mu": min_mu},
            "energy_tce": ENERGY_TCE,
            "emissions_t": {"so2": SO2_T},
            "assemble": "never",
            **extra,
        }
    )


def _by_area(areas: dict[str, float]) -> list[str]:
    return sorted(areas, key=lambda i: -areas[i])


def _listed(result: MatchResult) -> list[tuple[str, tuple[str, ...]]]:
    return [(m.ids[0], tuple(f.key for f in m.failures)) for m in result.near_misses]


def test_the_least_short_come_first_whatever_they_lack(
    frames: dict[str, gpd.GeoDataFrame], areas: dict[str, float]
) -> None:
    """1 tce of 1,000 short (0.1 %) and 0.01 t of 5 t SO₂ short (0.2 %) come before a
    parcel about 40 % short of the area asked for."""
    big, second, *rest = _by_area(areas)
    min_mu = 0.95 * areas[second]
    small = min(rest, key=lambda i: abs(areas[i] / min_mu - 0.6))
    zone = _zone(frames, {big: {"egy": ENERGY_TCE - 1}, second: {"so2": SO2_T - 0.01}, small: {}})
    result = match(_request(min_mu), zone)
    assert result.n_feasible == 0
    assert _listed(result) == [
        (big, ("budget_energy",)),
        (second, ("budget_so2",)),
        (small, ("area",)),
    ]
    first, then, last = result.near_misses
    assert first.shortfall == pytest.approx(0.001) and then.shortfall == pytest.approx(0.002)
    assert last.shortfall == pytest.approx(1 - areas[small] / min_mu)
    assert [m.remedy_kind for m in result.near_misses] == ["negotiate", "negotiate", "assemble"]
    assert first.failures[0].lacks.startswith("差 0.1 %")
    assert "1.0 吨标准煤" in first.remedy and "市里调剂" in first.remedy
    assert "0.01 t/年" in then.failed.detail


def test_a_site_failing_two_shows_both_when_few_fail_one(
    frames: dict[str, gpd.GeoDataFrame], areas: dict[str, float]
) -> None:
    big, second, third, *_ = _by_area(areas)
    min_mu = 0.99 * areas[third]
    zone = _zone(
        frames,
        {
            big: {},  # feasible
            second: {"egy": ENERGY_TCE - 1},  # one failure
            third: {"egy": ENERGY_TCE - 2, "so2": SO2_T - 0.5},  # two failures
        },
    )
    result = match(_request(min_mu), zone)
    assert result.n_feasible == 1
    listed = _listed(result)
    assert listed[0] == (second, ("budget_energy",))
    pair = dict(listed)[third]
    assert set(pair) >= {"budget_energy", "budget_so2"} and len(pair) == 2
    miss = result.near_misses[1]
    assert len(miss.failures) == 2 and all(f.remedy and f.detail for f in miss.failures)
    assert miss.shortfall == pytest.approx(sum(f.shortfall for f in miss.failures))


def test_with_a_feasible_site_a_site_failing_three_is_no_near_miss(
    frames: dict[str, gpd.GeoDataFrame], areas: dict[str, float]
) -> None:
    big, second, *_ = _by_area(areas)
    min_mu = (areas[big] + areas[second]) / 2  # second: short of the area
    zone = _zone(frames, {big: {}, second: {"egy": 1.0, "so2": 0.1}})
    result = match(_request(min_mu), zone)
    assert result.n_feasible == 1 and result.near_misses == ()


def test_when_nothing_is_feasible_the_closest_are_shown(
    frames: dict[str, gpd.GeoDataFrame], areas: dict[str, float]
) -> None:
    """Failing three constraints, or far too small: still the closest options on offer."""
    big, *rest = _by_area(areas)
    tiny = rest[-1]
    zone = _zone(frames, {big: {"egy": 10.0, "so2": 0.1}, tiny: {}})
    result = match(_request(areas[big] * 1.2), zone)
    assert result.n_feasible == 0 and result.sites == ()
    listed = _listed(result)
    # By relative shortfall added up: tiny lacks over 90 % of the area, big 17 % of the
    # area, 99 % of the energy quota and 98 % of the SO₂ allowance.
    assert [i for i, _ in listed] == [tiny, big]
    assert set(listed[1][1]) == {"area", "budget_energy", "budget_so2"}
    # Never an empty list while a site is on offer, however small.
    only_tiny = match(_request(areas[big] * 1.2), _zone(frames, {tiny: {}}))
    assert [m.ids[0] for m in only_tiny.near_misses] == [tiny]
    assert only_tiny.near_misses[0].remedy_kind == "assemble"


def test_excluded_sites_carry_each_reasons_margin_and_unit(
    frames: dict[str, gpd.GeoDataFrame], areas: dict[str, float]
) -> None:
    big, second, *_ = _by_area(areas)
    zone = _zone(frames, {big: {"egy": ENERGY_TCE - 1}})
    result = match(_request(areas[second]), zone)
    reasons = {r["check"]: r for e in result.excluded() for r in e["reasons"] if e["id"] == big}
    energy = reasons["budget_energy"]
    assert energy["margin"] == pytest.approx(-1.0) and energy["unit"] == "吨标准煤"
    status = next(r for e in result.excluded() for r in e["reasons"] if r["check"] == "status")
    assert status["margin"] is None and status["unit"] == ""
