"""Road distances (matching/roadnet.py) against networkx on hand-made networks, and how
constraints, scores and the connection plan use them on the demo zone."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.ops import nearest_points

from matching.criteria import INTERCHANGE, criteria_matrix
from matching.distances import NEAREST_KINDS
from matching.engine import evaluate, match
from matching.request import parse_request
from matching.roadnet import (
    DEFAULT_KMH,
    DETOUR,
    SPEED_KMH,
    RoadDistance,
    RoadNetwork,
)
from matching.zone import Zone, build_zone

STEP = 100.0
SIZE = 5  # vertices per side
MISSING = ((1.0, 2.0), (2.0, 2.0))  # the link left out, in grid units
GRADES = ("trunk", "main", "branch", None)


def _grid() -> tuple[
    list[shapely.LineString],
    list[str | None],
    list[tuple[tuple[float, float], tuple[float, float], str | None]],
]:
    """Whole grid lines (crossing without shared vertices: the network must node them),
    the horizontal at y = 2 broken where :data:`MISSING` is; and the grid's edges as the
    oracle knows them, each with its line's grade."""
    lines: list[shapely.LineString] = []
    grades: list[str | None] = []
    edges = []
    top = (SIZE - 1) * STEP
    for i in range(SIZE):
        grade = GRADES[i % len(GRADES)]
        c = i * STEP
        if i == 2:  # y = 200: two pieces with the gap between x = 100 and x = 200
            lines += [
                shapely.LineString([(0, c), (STEP, c)]),
                shapely.LineString([(2 * STEP, c), (top, c)]),
            ]
            grades += [grade, grade]
        else:
            lines.append(shapely.LineString([(0, c), (top, c)]))
            grades.append(grade)
        lines.append(shapely.LineString([(c, 0), (c, top)]))
        grades.append(GRADES[(i + 1) % len(GRADES)])
        for j in range(SIZE - 1):
            if i != 2 or j != 1:
                edges.append(((j * STEP, c), ((j + 1) * STEP, c), grade))
            edges.append(((c, j * STEP), (c, (j + 1) * STEP), GRADES[(i + 1) % len(GRADES)]))
    return lines, grades, edges


def _kmh(grade: str | None) -> float:
    return SPEED_KMH.get(grade, DEFAULT_KMH) if grade else DEFAULT_KMH


def _oracle(
    edges: list[tuple[tuple[float, float], tuple[float, float], str | None]],
    sites: list[shapely.Geometry],
    targets: list[shapely.Geometry],
) -> tuple[np.ndarray, np.ndarray]:
    """Metres (shortest) and minutes (fastest) from each site to the nearest target, by
    networkx on the grid with every access point inserted into its edge."""
    network = shapely.MultiLineString([list(e[:2]) for e in edges])
    attach: dict[int, list[tuple[float, tuple[float, float]]]] = {}
    legs = []
    for k, geometry in enumerate([*sites, *targets]):
        _, on_road = nearest_points(geometry, network)
        edge = int(np.argmin([shapely.LineString(e[:2]).distance(on_road) for e in edges]))
        a = edges[edge][0]
        attach.setdefault(edge, []).append(
            (float(np.hypot(on_road.x - a[0], on_road.y - a[1])), (on_road.x, on_road.y))
        )
        legs.append((k, (on_road.x, on_road.y), geometry.distance(on_road)))
    graph = nx.Graph()
    for e, (a, b, grade) in enumerate(edges):
        points = [a, *(p for _, p in sorted(attach.get(e, []))), b]
        for p, q in itertools.pairwise(points):
            metres = float(np.hypot(q[0] - p[0], q[1] - p[1]))
            graph.add_edge(p, q, length=metres, time=metres / (_kmh(grade) / 3.6))
    for k, point, leg in legs:
        graph.add_edge(("geometry", k), point, length=leg, time=leg / (DEFAULT_KMH / 3.6))
    sources = {("geometry", len(sites) + j) for j in range(len(targets))}
    by_length = nx.multi_source_dijkstra_path_length(graph, sources, weight="length")
    by_time = nx.multi_source_dijkstra_path_length(graph, sources, weight="time")
    metres = np.array([by_length.get(("geometry", k), np.inf) for k in range(len(sites))])
    minutes = np.array([by_time.get(("geometry", k), np.inf) / 60 for k in range(len(sites))])
    return metres, minutes


def _road(
    network: RoadNetwork, sites: list[shapely.Geometry], targets: list[shapely.Geometry]
) -> RoadDistance:
    site_array, target_array = np.array(sites, dtype=object), np.array(targets, dtype=object)
    straight = shapely.distance(site_array[:, None], target_array[None, :])
    nearest = np.argmin(straight, axis=1)
    return network.distances(
        network.access(site_array),
        network.reach(target_array),
        np.arange(len(targets), dtype=np.int64),
        lambda rows: (straight.min(axis=1)[rows], nearest.astype(np.int64)[rows]),
    )


def test_road_distances_equal_networkx_shortest_paths_on_a_grid_with_a_missing_link() -> None:
    lines, grades, edges = _grid()
    network = RoadNetwork.build(np.array(lines, dtype=object), np.array(grades, dtype=object))
    rng = np.random.default_rng(7)
    top = (SIZE - 1) * STEP
    points = [shapely.Point(xy) for xy in rng.uniform(-60, top + 60, (150, 2))]
    boxes = [shapely.box(x, y, x + 20, y + 12) for x, y in rng.uniform(-50, top + 30, (30, 2))]
    sites = [*points, *boxes, shapely.Point(150, 190)]  # the last beside the missing link
    targets = [shapely.Point(-80, 130), shapely.Point(top + 30, top - 40), shapely.Point(250, 200)]
    ours = _road(network, sites, targets)
    metres, minutes = _oracle(edges, sites, targets)
    np.testing.assert_allclose(ours.dist_m, metres, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.minutes, minutes, rtol=0, atol=1e-6 / 60)
    assert not ours.estimated.any()
    # The missing link is a detour: the site beside it goes round a block.
    beside = len(sites) - 1
    assert ours.dist_m[beside] > shapely.Point(150, 190).distance(targets[2]) + STEP


def test_a_site_on_a_piece_of_road_that_reaches_no_target_is_estimated() -> None:
    lines, grades, _ = _grid()
    island = shapely.LineString([(1000, 0), (1000, 300)])  # no link to the grid
    network = RoadNetwork.build(
        np.array([*lines, island], dtype=object), np.array([*grades, "trunk"], dtype=object)
    )
    sites = [shapely.Point(1010, 150), shapely.Point(150, 150)]
    targets = [shapely.Point(-80, 130)]
    ours = _road(network, sites, targets)
    straight = sites[0].distance(targets[0])
    assert ours.estimated.tolist() == [True, False]
    assert ours.dist_m[0] == pytest.approx(straight * DETOUR, abs=1e-9)
    assert ours.minutes[0] == pytest.approx(straight * DETOUR / (DEFAULT_KMH / 3.6) / 60)
    assert ours.target[0] == 0


def test_without_roads_every_distance_is_estimated() -> None:
    network = RoadNetwork.build(np.array([], dtype=object), np.array([], dtype=object))
    ours = _road(network, [shapely.Point(0, 0), shapely.Point(50, 0)], [shapely.Point(300, 400)])
    assert ours.estimated.all()
    np.testing.assert_allclose(ours.dist_m, [500 * DETOUR, np.hypot(250, 400) * DETOUR])


@pytest.fixture(scope="module")
def frames(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone()


@pytest.fixture(scope="module")
def zone(frames: dict[str, gpd.GeoDataFrame]) -> Zone:
    return build_zone(frames)


def test_the_demo_roads_reach_every_interchange(zone: Zone) -> None:
    for sites in (zone.parcels, zone.factories):
        road = sites.distances.road["interchange"]
        assert not road.estimated.any()
        assert np.isfinite(road.dist_m).all() and (road.target >= 0).all()


def test_road_distance_is_never_shorter_than_the_straight_line(zone: Zone) -> None:
    for sites in (zone.parcels, zone.factories):
        for kind in NEAREST_KINDS:
            road, straight = sites.distances.road[kind], sites.distances.straight(kind)[0]
            assert (road.dist_m >= straight - 1e-6).all(), kind
            assert (road.minutes > 0).all()


REQUEST = {
    "name": "物流测试 (logistics test)",
    "industry": "装备制造",
    "area": {"min_mu": 20},
    "logistics": {"max_interchange_km": 4},
}


@pytest.mark.parametrize("distance", ["road", "straight"])
def test_constraints_and_scores_measure_as_the_request_says(zone: Zone, distance: str) -> None:
    request = parse_request(
        {**REQUEST, "logistics": {"max_interchange_km": 4, "distance": distance}}
    )
    ev = evaluate(request, zone)
    distances = zone.parcels.distances
    metres = (
        distances.road["interchange"].dist_m
        if distance == "road"
        else distances.straight("interchange")[0]
    )
    check = next(c for c in ev.constraints if c.key == "interchange")
    np.testing.assert_array_equal(check.margin, 4 - metres / 1000)
    rows = np.arange(len(zone.parcels))
    column = ev.profile.criteria.index(INTERCHANGE)
    np.testing.assert_array_equal(
        criteria_matrix(ev.situation, ev.profile.criteria, rows)[:, column], metres
    )
    far = int(np.flatnonzero(~check.ok)[0])
    assert ("道路距离" if distance == "road" else "直线距离") in check.why(far)


def test_the_connection_plan_gives_the_interchange_by_road_and_in_minutes(zone: Zone) -> None:
    result = match(parse_request(REQUEST), zone, top_n=3)
    for site in result.sites:
        highway = next(c for c in site.connections if c.utility == "highway")
        assert "道路距离" in highway.note and "分钟" in highway.note
        assert highway.distance_m == site.criteria["interchange"]
        assert {c.utility for c in site.connections}.isdisjoint({"rail", "airport"})


def test_rail_and_airport_join_the_plan_when_asked_for(zone: Zone) -> None:
    logistics = {"rail_required": True, "max_rail_km": 30, "max_airport_km": 60}
    for distance, says in (("road", "道路距离"), ("straight", "直线距离")):
        request = parse_request({**REQUEST, "logistics": {**logistics, "distance": distance}})
        site = match(request, zone, top_n=1).sites[0]
        plan = {c.utility: c for c in site.connections}
        for utility, key in (("highway", "interchange"), ("rail", "rail"), ("airport", "airport")):
            assert says in plan[utility].note
            assert plan[utility].distance_m == site.criteria[key]
