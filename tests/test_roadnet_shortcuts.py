"""The road network's shortcuts give what the plain computations give, to the bit and ties
included: a site's access point (``RoadNetwork.access`` prunes the segments it measures and
locates the point on its segment in numpy) and the road nearest a site (looked up among
pieces of lines, not whole lines)."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.linework import located
from matching.roadnet import NEAR_M, Access, RoadNetwork


def _every_candidate(network: RoadNetwork, sites: np.ndarray) -> Access:
    """The access without pruning: every segment in a site's box widened by
    :data:`NEAR_M` measured, the first (in the tree's order) of the nearest kept; a site
    with none that near takes the tree's nearest-neighbour search."""
    n = len(sites)
    segment, leg, along = np.full(n, -1, dtype=np.int64), np.full(n, np.inf), np.zeros(n)
    segments = network.geometries
    box = shapely.bounds(sites) + np.array([-NEAR_M, -NEAR_M, NEAR_M, NEAR_M])
    site, hit = network.segments.query(shapely.box(*box.T))
    gap = shapely.distance(sites[site], segments[hit])
    for s in np.unique(site):
        rows = np.flatnonzero(site == s)
        best = rows[np.argmin(gap[rows])]  # argmin: the first of equal ones
        if gap[best] <= NEAR_M:
            segment[s], leg[s] = hit[best], gap[best]
    rest = np.flatnonzero(segment < 0)
    (rows, found), dist = network.segments.query_nearest(
        sites[rest], return_distance=True, all_matches=False
    )
    segment[rest[rows]], leg[rest[rows]] = found, dist
    lines = segments[segment]
    along = shapely.line_locate_point(
        lines, shapely.get_point(shapely.shortest_line(sites, lines), 1)
    )
    return Access(segment, leg, along)


def _layout(seed: int, *, snapped: bool) -> tuple[np.ndarray, np.ndarray]:
    """Random roads and sites: on a 10 m grid (boxes and axis-parallel roads, so that many
    segments are exactly as near as each other) or anywhere (oblique roads, rotated
    sites, convex hulls of random
    points); a few sites lie farther than NEAR_M from every road."""
    rng = np.random.default_rng(seed)
    n_roads, n_sites = rng.integers(1, 25), rng.integers(1, 60)
    if snapped:
        start = rng.integers(0, 40, (n_roads, 2)) * 10.0
        step = rng.integers(-20, 21, n_roads) * 10.0
        along_x = rng.random(n_roads) < 0.5
        end = start + np.where(along_x[:, None], np.c_[step, 0 * step], np.c_[0 * step, step])
        corner = rng.integers(-5, 45, (n_sites, 2)) * 10.0
        size = rng.integers(1, 6, (n_sites, 2)) * 10.0
        sites = shapely.box(*corner.T, *(corner + size).T)
    else:
        start = rng.uniform(0, 400, (n_roads, 2))
        end = start + rng.uniform(-200, 200, (n_roads, 2))
        corners = rng.uniform(-100, 500, (n_sites, 1, 2)) + rng.uniform(-30, 30, (n_sites, 5, 2))
        sites = shapely.convex_hull(shapely.multipoints(corners))
    keep = np.any(start != end, axis=1)
    lines = shapely.linestrings(np.stack([start[keep], end[keep]], axis=1))
    if not len(lines):
        lines = shapely.linestrings([[[0.0, 0.0], [10.0, 0.0]]])
    return np.asarray(lines), np.asarray(sites)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), snapped=st.booleans())
def test_pruned_access_equals_measuring_every_candidate(seed: int, snapped: bool) -> None:
    lines, sites = _layout(seed, snapped=snapped)
    network = RoadNetwork.build(lines, np.full(len(lines), "main", dtype=object))
    found, oracle = network.access(sites), _every_candidate(network, sites)
    np.testing.assert_array_equal(found.segment, oracle.segment)
    np.testing.assert_array_equal(found.leg_m, oracle.leg_m)
    np.testing.assert_array_equal(found.along_m, oracle.along_m)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_point_is_located_on_its_segment_as_geos_locates_it(seed: int) -> None:
    """At zone coordinates (~10⁶ m): points on the segment, at its ends, off them, beside
    it; and segments of no length."""
    rng = np.random.default_rng(seed)
    n = 500
    start = rng.uniform(4e5, 6e5, (n, 2)) + rng.uniform(0, 1, (n, 2))
    end = start + rng.normal(0, 50, (n, 2)) * (rng.random((n, 1)) < 0.95)
    segments = shapely.linestrings(np.stack([start, end], axis=1))
    share = rng.uniform(-0.2, 1.2, (n, 1))
    points = start + share * (end - start) + rng.normal(0, 5, (n, 2)) * (rng.random((n, 1)) < 0.5)
    points[::7], points[3::7] = start[::7], end[3::7]
    oracle = shapely.line_locate_point(segments, shapely.points(points))
    ours = located(shapely.get_coordinates(segments), points)
    np.testing.assert_array_equal(ours, oracle)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), snapped=st.booleans())
def test_the_nearest_road_is_the_nearest_of_every_line_measured_whole(
    seed: int, snapped: bool
) -> None:
    """Lines of many vertices (several pieces each), one drawn twice, one of two parts
    (a Shapefile's multi-part polyline: nothing lies between its parts), one empty (it is
    skipped, and the others keep their indices)."""
    rng = np.random.default_rng(seed)
    _, sites = _layout(seed, snapped=snapped)
    walks = [
        np.cumsum(rng.integers(-3, 4, (rng.integers(2, 40), 2)) * 10.0, axis=0) + 100.0
        for _ in range(rng.integers(1, 8))
    ]
    apart = shapely.MultiLineString([walks[-1], walks[0][::-1] + np.array([400.0, 0.0])])
    lines = np.array(
        [shapely.LineString(), *map(shapely.LineString, walks), shapely.LineString(walks[0])],
        dtype=object,
    )
    lines = np.append(lines, apart)
    network = RoadNetwork.build(lines, np.full(len(lines), "main", dtype=object))
    road, metres = network.nearest_road(sites)
    every = shapely.distance(sites[:, None], lines[None, 1:])  # the empty line: NaN
    np.testing.assert_array_equal(metres, every.min(axis=1))
    np.testing.assert_array_equal(every[np.arange(len(sites)), road - 1], metres)


def test_with_no_roads_no_road_is_nearest() -> None:
    network = RoadNetwork.build(np.array([shapely.LineString()]), np.array(["main"], dtype=object))
    road, metres = network.nearest_road(np.array([shapely.Point(0, 0)]))
    assert road.tolist() == [-1] and metres.tolist() == [np.inf]
