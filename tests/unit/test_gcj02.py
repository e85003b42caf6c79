"""The GCJ-02 shift against a reference implementation (coord-convert, tests only)."""

from __future__ import annotations

import numpy as np
import pytest
from coord_convert.transform import wgs2gcj
from pyproj import Geod

from maps.gcj02 import wgs84_to_gcj02

GEOD = Geod(ellps="WGS84")


def test_matches_the_reference_within_a_centimetre_on_10000_points_in_china() -> None:
    rng = np.random.default_rng(2026)
    lon = rng.uniform(73.7, 134.9, 10_000)
    lat = rng.uniform(18.2, 53.5, 10_000)
    ours_lon, ours_lat = wgs84_to_gcj02(lon, lat)
    ref = np.array([wgs2gcj(x, y) for x, y in zip(lon, lat, strict=True)])
    _, _, metres = GEOD.inv(ours_lon, ours_lat, ref[:, 0], ref[:, 1])
    assert np.max(metres) < 0.01
    # And the shift is the one Gaode users know: hundreds of metres.
    _, _, shift = GEOD.inv(lon, lat, ours_lon, ours_lat)
    assert 50 < np.median(shift) < 800


@pytest.mark.parametrize(
    ("lon", "lat"), [(2.35, 48.85), (-74.0, 40.7), (139.7, 35.7), (151.2, -33.9)]
)
def test_no_shift_outside_china(lon: float, lat: float) -> None:
    out_lon, out_lat = wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    assert (out_lon[0], out_lat[0]) == (lon, lat)
    assert wgs2gcj(lon, lat) == (lon, lat)
