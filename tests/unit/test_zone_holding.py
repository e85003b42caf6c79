"""The GK3 zone of a set of geometries is found from their box when one zone holds it all:
it must be the zone of every centroid, as the centroids would have given it."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.crs import gk3_zones, metric_epsg_for, metric_epsg_of, zone_holding


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_the_zone_holding_the_box_is_every_centroids_zone(seed: int) -> None:
    """Boxes around a zone boundary (112.5°E), some wholly on one side, some across."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    west = 112.5 + rng.choice([-1.0, 1.0]) * rng.uniform(0, 0.3) + rng.normal(0, 0.05, n)
    width = rng.uniform(0, 0.2, n) * (rng.random(n) < 0.7)
    boxes = shapely.box(west, 30.0, west + width, 30.1)
    centroid_x = shapely.get_x(shapely.centroid(boxes))
    zone = zone_holding(boxes)
    if zone is not None:
        assert (gk3_zones(centroid_x) == zone).all()
    assert metric_epsg_of(boxes) == metric_epsg_for(float(np.median(centroid_x)))
    sides = gk3_zones(np.array([west.min(), (west + width).max()]))
    assert (zone is None) == (sides[0] != sides[1])
