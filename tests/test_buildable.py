"""Net buildable area (issue 15, item 9): the footprint a parcel's density cap allows and
its width within the setbacks, against what the project needs (docs/matching.md)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import affinity

from layers.crs import STORAGE_EPSG
from layers.demo.setting import METRIC_EPSG
from matching.buildable import allowance_m2, usable_width_m
from matching.engine import match
from matching.request import parse_request
from matching.shapes import Shapes
from matching.zone import Zone, build_zone

# (id, width m, depth m, rotation °, density cap %, least green ratio %, setback m)
PARCELS = [
    ("B1", 200.0, 100.0, 0.0, 40.0, None, 5.0),
    ("B2", 200.0, 100.0, 30.0, 40.0, None, 5.0),  # the same parcel, turned
    ("B3", 200.0, 100.0, 0.0, None, None, 5.0),  # no cap: the footprint is not checked
    ("B4", 200.0, 100.0, 0.0, 60.0, 50.0, None),  # green ≥ 50 % leaves 50 %; no setback
    ("B5", 300.0, 70.0, 0.0, 40.0, None, 5.0),  # long and narrow: 8,400 m² allowed
    ("G1", 100.0, 100.0, 0.0, 40.0, None, 5.0),  # G1 and G2 touch: 4,000 m² each
    ("G2", 100.0, 100.0, 0.0, 40.0, None, 5.0),
]


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> Zone:
    frames = demo_zone(parcels=50)
    parcels = frames["parcels"].iloc[: len(PARCELS)].copy()
    origin = parcels.to_crs(METRIC_EPSG).geometry.iloc[0].centroid
    shapes = []
    for k, (_id, w, d, turn, *_rest) in enumerate(PARCELS):
        # Apart (no neighbours), but for G2, which touches G1 on its east side.
        x, y = origin.x + 400.0 * k - (300.0 if _id == "G2" else 0.0), origin.y
        box = shapely.box(x - w / 2, y - d / 2, x + w / 2, y + d / 2)
        shapes.append(affinity.rotate(box, turn, origin="centroid"))
    parcels["geometry"] = gpd.GeoSeries(shapes, crs=METRIC_EPSG).to_crs(STORAGE_EPSG).values
    parcels["parcel_id"] = [p[0] for p in PARCELS]
    parcels["dens_hi"] = [np.nan if p[4] is None else p[4] for p in PARCELS]
    parcels["green_lo"] = [np.nan if p[5] is None else p[5] for p in PARCELS]
    parcels["setback_m"] = [np.nan if p[6] is None else p[6] for p in PARCELS]
    parcels["status"] = "available"
    parcels["decl_mu"] = np.nan
    frames["parcels"] = parcels
    return build_zone(frames)


def _request(area: dict[str, Any], **more: Any) -> Any:
    return parse_request({"name": "净用地", "industry": "装备制造", "area": area, **more})


def _by_id(zone: Zone, values: Any) -> dict[str, float]:
    return dict(zip(zone.parcels.ids, np.asarray(values, dtype=float), strict=True))


def test_rectangles(zone: Zone) -> None:
    """200 m × 100 m, 5 m setback: 90 m usable; 40 % of 20,000 m²: 8,000 m²; turned 30°:
    the same."""
    width = _by_id(zone, usable_width_m(zone.parcels))
    allowed = _by_id(zone, allowance_m2(zone.parcels))
    assert width["B1"] == pytest.approx(90.0, abs=1e-3)
    assert width["B2"] == pytest.approx(90.0, abs=1e-3)
    assert width["B4"] == pytest.approx(100.0, abs=1e-3)  # no setback given
    assert width["B5"] == pytest.approx(60.0, abs=1e-3)
    assert allowed["B1"] == pytest.approx(8000.0, rel=1e-6)
    assert allowed["B2"] == pytest.approx(8000.0, rel=1e-6)
    assert np.isnan(allowed["B3"])
    assert allowed["B4"] == pytest.approx(10_000.0, rel=1e-6)  # min(60 %, 100 − 50 %)


def test_the_constraint_uses_allowance_and_width(zone: Zone) -> None:
    area = {"min_mu": 20, "footprint_m2": 8000, "min_width_m": 90}
    result = match(_request(area), zone, top_n=10)
    assert result.feasible_ids() == {"B1", "B2", "B3", "B4"}  # G1, G2: 15 亩 < 20 亩
    (b5,) = [m for m in result.near_misses if m.ids == ("B5",)]
    assert b5.failed.key == "buildable_width"
    assert b5.failed.margin == pytest.approx(-30.0, abs=1e-3)
    assert b5.failed.detail.startswith("可用宽度 60 m < 需 90 m")
    assert b5.remedy.startswith("需相邻地块合并, 宽度尚缺 30 m")
    checks = {s.ids[0]: {c.key: c for c in s.checks} for s in result.sites}
    assert checks["B1"]["buildable"].detail.startswith("可建占地 8,000 m² = 20,000 m² × 40.0 %")
    assert checks["B1"]["buildable"].margin == pytest.approx(0.0, abs=0.1)
    assert "footprint not checked" in checks["B3"]["buildable"].detail
    assert checks["B3"]["buildable"].margin is None
    assert checks["B2"]["buildable_width"].detail.startswith("可用宽度 90 m = 100 m − 2 × 5 m")


def test_a_density_short_parcel_is_told_the_cap_it_needs(zone: Zone) -> None:
    result = match(_request({"min_mu": 20, "footprint_m2": 9000}), zone, near_misses=10)
    missed = {m.ids[0]: m for m in result.near_misses}
    assert missed["B1"].failed.detail.startswith("可建占地 8,000 m² < 需 9,000 m²")
    assert missed["B1"].remedy.startswith("需调整规划建筑密度至 45.0 % 或相邻地块合并")
    assert "B3" in result.feasible_ids() and "B4" in result.feasible_ids()


def test_a_group_sums_its_allowances_and_is_not_held_to_width(zone: Zone) -> None:
    """G1 + G2: 30 亩, 4,000 + 4,000 m² allowed; each is 90 m wide within its setbacks."""
    area = {"min_mu": 25, "max_mu": 35, "min_width_m": 150}
    groups = [s for s in match(_request({**area, "footprint_m2": 8000}), zone).sites]
    assert [s.ids for s in groups if s.kind == "group"] == [("G1", "G2")]
    short = match(_request({**area, "footprint_m2": 8001}), zone)
    assert not [s for s in short.sites if s.kind == "group"]


def test_nothing_asked_nothing_checked(zone: Zone) -> None:
    result = match(_request({"min_mu": 20}), zone)
    assert not [c for s in result.sites for c in s.checks if c.key.startswith("buildable")]


@settings(max_examples=100, deadline=None)
@given(w=st.floats(20, 500), d=st.floats(20, 500), turn=st.floats(0, 180), setback=st.floats(0, 9))
def test_width_of_any_turned_rectangle(
    zone: Zone, w: float, d: float, turn: float, setback: float
) -> None:
    """Oracle: the short side of a rectangle is its width, however it is turned."""
    sites = zone.parcels
    box = affinity.rotate(shapely.box(0, 0, w, d), turn, origin="centroid")
    frame = sites.frame.iloc[:1].copy()
    frame["setback_m"] = setback
    # Held in the metric CRS itself, so exactly this box: projected from EPSG:4490, its
    # corners move by ~1e-9 m, and GEOS's least rectangle by up to 3e-4 m.
    stored = gpd.GeoSeries([box], crs=zone.metric_epsg).values
    metric = Shapes(stored, zone.metric_epsg, np.array([w * d]))
    one = dataclasses.replace(sites, frame=frame, metric=metric)
    assert usable_width_m(one)[0] == pytest.approx(min(w, d) - 2 * setback, abs=6e-4)  # to the mm
