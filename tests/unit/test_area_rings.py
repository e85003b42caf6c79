"""Areas measured from projected corners are GEOS's areas of the projected polygons, to the
bit: a parcel's area in 亩 does not depend on which way it was measured."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from layers import area
from layers.area import area_m2


def _geos(geometries: np.ndarray, epsg: int) -> np.ndarray:
    """The oracle: project with geopandas, measure with GEOS."""
    return shapely.area(np.asarray(gpd.GeoSeries(geometries, crs=4490).to_crs(epsg).values))


@st.composite
def parcels(draw: st.DrawFn) -> shapely.Geometry:
    """A polygon in EPSG:4490 around Yuci, star-shaped (so simple), of 3 to 300 corners,
    sometimes with a hole, sometimes with a second part, sometimes empty."""
    n = draw(st.integers(3, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    angles = np.sort(rng.choice(np.linspace(0, 2 * np.pi, 4 * n, endpoint=False), n, False))
    radius = rng.uniform(1e-4, 1e-2) * rng.uniform(0.5, 1.0, n)
    cx, cy = draw(st.floats(110.6, 116.4)), draw(st.floats(36.0, 39.0))
    shell = np.c_[cx + radius * np.cos(angles), cy + radius * np.sin(angles)]
    shape = draw(st.sampled_from(["plain", "plain", "hole", "two parts", "empty"]))
    if shape == "empty":
        return shapely.Polygon()
    inner = radius.min() / 3
    hole = [(cx - inner, cy - inner), (cx + inner, cy - inner), (cx, cy + inner)]
    polygon = shapely.Polygon(shell, [hole] if shape == "hole" else None)
    if shape == "two parts":
        return shapely.MultiPolygon([polygon, shapely.box(cx + 0.02, cy, cx + 0.03, cy + 0.01)])
    return polygon


@settings(max_examples=150, deadline=None)
@given(st.lists(parcels(), min_size=1, max_size=12), st.sampled_from([4546, 4547, 4548]))
def test_areas_from_projected_corners_are_geos_areas(polygons: list, epsg: int) -> None:
    geometries = np.array(polygons, dtype=object)
    assert np.array_equal(area._projected_areas(geometries, epsg), _geos(geometries, epsg))


def test_a_parcel_in_another_zone_has_the_area_geos_gives_it_there() -> None:
    # Two parcels in zone 38 (CM 114°E, EPSG:4547: measured by the caller) and one in 37.
    shells = [
        shapely.box(113.40, 37.70, 113.41, 37.708),
        shapely.Polygon([(112.41, 37.6), (112.43, 37.6), (112.425, 37.61), (112.411, 37.612)]),
        shapely.box(113.50, 37.70, 113.503, 37.701),
    ]
    series = gpd.GeoSeries(shells, crs=4490)
    in_own = _geos(np.array(shells, dtype=object), 4547)
    got = area_m2(series, measured=(4547, in_own))
    assert got[0] == in_own[0] and got[2] == in_own[2]
    assert got[1] == _geos(np.array(shells[1:2], dtype=object), 4546)[0]
    assert got[1] != in_own[1]  # measured in its own zone, not the caller's
