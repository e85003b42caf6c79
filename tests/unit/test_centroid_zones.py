"""The GK3 zone of a geometry's centroid is read from its box where one zone holds the box
(the centroid is computed only where it spans two): it must be the zone the centroid gives,
and so must the zone of the centroids' median longitude."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.crs import centroid_zones, gk3_zones, metric_epsg_for, metric_epsg_of


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_the_zones_read_from_boxes_are_the_centroids_zones(seed: int) -> None:
    """Boxes and triangles around zone boundaries (112.5°E, 115.5°E), some wholly on one
    side, some across; as many on each side, sometimes."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    west = rng.choice([112.5, 115.5], n) + rng.normal(0, 0.05, n) * rng.choice([0.1, 1.0])
    width = rng.uniform(0, 0.2, n) * (rng.random(n) < 0.7)
    boxes = shapely.box(west, 30.0, west + width, 30.1)
    triangles = shapely.polygons(
        np.stack(
            [
                np.c_[west, np.full(n, 30.0)],
                np.c_[west + width, np.full(n, 30.0)],
                np.c_[west + 3 * width, np.full(n, 30.2)],
            ],
            axis=1,
        )
    )
    for geometries in (boxes, triangles, np.r_[boxes, boxes[::-1]]):
        centroid_x = shapely.get_x(shapely.centroid(geometries))
        np.testing.assert_array_equal(centroid_zones(geometries), gk3_zones(centroid_x))
        assert metric_epsg_of(geometries) == metric_epsg_for(float(np.median(centroid_x)))
