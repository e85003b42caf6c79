"""The road network's noding (matching/noding.py) against GEOS's (``shapely.node``): on
hostile layouts, every two points of the roads are as far apart by road, in metres and in
minutes, on our network as on the lines GEOS noded (with each end of a road that lies
within a millimetre of another made a vertex of it, as we join them); where the roads lie
on a grid (so that every crossing is exact) the two networks have the same edges at the
same speeds.

The layouts, at zone coordinates (~10⁶ m): random walks on a 10 m grid, by steps along
the grid and its diagonals or by any steps of up to 30 m (roads drawn
twice or over each other, running back over themselves, crossing themselves, repeated
points, lines in two parts); oblique lines in general position; roads drawn to end on
another (at a point interpolated on it, a hair off, or at one of its vertices) and roads
continuing one another end to end; many roads through one point; and walks crossed by a
few long straight roads."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from matching.noding import SNAP_M, node
from matching.roadnet import DEFAULT_KMH, SPEED_KMH, RoadNetwork

ORIGIN = np.array([512_345.0, 3_412_345.0])  # a Gauss-Krüger zone's metres
GRADES = np.array([*SPEED_KMH, None], dtype=object)


def _walks(rng: np.random.Generator, *, step: int = 3) -> list[shapely.Geometry]:
    walks = [
        ORIGIN + np.cumsum(rng.integers(-step, step + 1, (rng.integers(2, 30), 2)) * 10.0, axis=0)
        for _ in range(rng.integers(1, 12))
    ]
    lines: list[shapely.Geometry] = [shapely.LineString(w) for w in walks]
    return [*lines, lines[0], shapely.MultiLineString([walks[0][:2], walks[-1][:3]])]


def _oblique(rng: np.random.Generator) -> list[shapely.Geometry]:
    return [
        shapely.LineString(ORIGIN + rng.uniform(0, 500, (rng.integers(2, 7), 2)))
        for _ in range(rng.integers(2, 15))
    ]


def _ending_on_others(rng: np.random.Generator) -> list[shapely.Geometry]:
    lines = _oblique(rng)
    for _ in range(rng.integers(1, 10)):
        other = lines[rng.integers(len(lines))]
        if rng.random() < 0.5:  # on the line, as rounding puts it
            end = shapely.line_interpolate_point(other, rng.random(), normalized=True)
            end_xy = shapely.get_coordinates(end)[0]
        else:  # at one of its vertices, or its end
            coords = shapely.get_coordinates(other)
            end_xy = coords[rng.integers(len(coords))]
        lines.append(shapely.LineString([ORIGIN + rng.uniform(0, 500, 2), end_xy]))
    return lines


def _through_one_point(rng: np.random.Generator) -> list[shapely.Geometry]:
    """Roads crossing at one point, and one starting there (halfway between the first
    two roads' directions: a road drawn a hair off another is another layout's)."""
    centre = ORIGIN + rng.uniform(0, 100, 2)
    angles = np.sort(rng.uniform(0, np.pi, rng.integers(2, 8)))
    lines: list[shapely.Geometry] = []
    for angle in [*angles, (angles[0] + angles[1]) / 2]:
        step = rng.uniform(20, 200) * np.array([np.cos(angle), np.sin(angle)])
        lines.append(shapely.LineString([centre - step, centre + step]))
    lines[-1] = shapely.LineString([centre, centre + step])
    return lines


def _long_over_short(rng: np.random.Generator) -> list[shapely.Geometry]:
    """Walks crossed by a few long straight roads: one segment as long as many (the
    noding's grid cuts it into pieces of a cell each to search)."""
    long = [
        shapely.LineString([ORIGIN + rng.uniform(-300, 0, 2), ORIGIN + rng.uniform(0, 300, 2)])
        for _ in range(rng.integers(1, 4))
    ]
    return [*_walks(rng), *long]


LAYOUTS = {
    "grid": lambda rng: _walks(rng, step=1),  # steps along the grid or its diagonals
    "walks": _walks,
    "oblique": _oblique,
    "ending on others": _ending_on_others,
    "through one point": _through_one_point,
    "long over short": _long_over_short,
}


def _drawn_on(lines: np.ndarray, grades: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The lines' parts, each with every end of a line that lies within
    :data:`SNAP_M` of it (but not on it) made a vertex of it, and their grades: the
    roads as they were meant to be drawn, for GEOS to node; and the widest gap closed."""
    parts, index = shapely.get_parts(lines, return_index=True)
    coords = [shapely.get_coordinates(p).tolist() for p in parts]
    line_ends = [tuple(c[k]) for c in coords if c for k in (0, -1)]
    widest = 0.0
    for end in line_ends:
        for p, part in enumerate(parts):
            gap = shapely.distance(shapely.Point(end), part)
            if 0 < gap <= SNAP_M:
                xy = coords[p]
                pairs = shapely.linestrings(np.stack([xy[:-1], xy[1:]], axis=1))
                k = int(np.argmin(shapely.distance(shapely.Point(end), pairs)))
                coords[p] = [*xy[: k + 1], list(end), *xy[k + 1 :]]
                widest = max(widest, gap)
    drawn = np.array([shapely.LineString(c) for c in coords], dtype=object)
    return drawn, grades[index], widest


def _geos_edges(lines: np.ndarray, grades: np.ndarray) -> dict[tuple, float]:
    """The lines noded by GEOS as edges between two points, each with its km/h: that of
    the fastest line its noded piece lies on (its vertices and middle within 1 µm)."""
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(shapely.get_parts(lines))))
    middles = shapely.line_interpolate_point(noded, 0.5, normalized=True)
    kmh = np.array([SPEED_KMH.get(g, DEFAULT_KMH) for g in grades])
    edges: dict[tuple, float] = {}
    for piece, middle in zip(noded, middles, strict=True):
        on = [*shapely.points(shapely.get_coordinates(piece)), middle]
        speed = kmh[shapely.dwithin(np.array(on)[:, None], lines, 1e-6).all(axis=0)].max()
        coords = [tuple(xy) for xy in shapely.get_coordinates(piece).tolist()]
        for p, q in itertools.pairwise(coords):
            if p != q:
                key = (min(p, q), max(p, q))
                edges[key] = max(edges.get(key, 0.0), speed)
    return edges


def _our_edges(network: RoadNetwork) -> dict[tuple, float]:
    edges = {}
    for (p, q), speed in zip(network.ends.tolist(), network.speed_ms * 3.6, strict=True):
        key = (min(tuple(p), tuple(q)), max(tuple(p), tuple(q)))
        assert key not in edges, "two edges between the same two vertices"
        edges[key] = round(float(speed), 9)
    return edges


def _by_road(edges: dict[tuple, float], points: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Metres and seconds by road between every two of ``points`` (vertices of the
    network), with ``edges`` as the graph."""
    vertex = {p: k for k, p in enumerate(sorted({p for e in edges for p in e}))}
    rows = [
        (vertex[p], vertex[q], np.hypot(q[0] - p[0], q[1] - p[1]), kmh)
        for (p, q), kmh in edges.items()
    ]
    tail, head, metres, kmh = (np.array(c) for c in zip(*rows, strict=True))
    out = []
    for weight in (metres, metres / (kmh / 3.6)):
        graph = sp.csr_matrix((weight, (tail, head)), shape=(len(vertex),) * 2)
        out.append(dijkstra(graph, directed=False, indices=[vertex[p] for p in points]))
    at = [vertex[p] for p in points]
    return out[0][:, at], out[1][:, at]


@pytest.mark.parametrize("layout", LAYOUTS)
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_roads_are_as_far_apart_as_on_the_lines_geos_noded(layout: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lines = np.array(LAYOUTS[layout](rng), dtype=object)
    grades = rng.choice(GRADES, len(lines))
    ours = _our_edges(RoadNetwork.build(lines, grades))
    drawn, drawn_grades, gap = _drawn_on(lines, grades)
    # An end drawn by chance within a millimetre of a road: joining it bends that road by
    # as much, and the crossings along it move (test_a_road_ending_a_hair_off_another...).
    assume(gap <= 1e-6)
    geos = _geos_edges(drawn, drawn_grades)
    if layout == "grid":  # every crossing exact: the same edges, at the same speeds
        assert ours == geos
    parts = shapely.get_parts(lines)
    drawn = shapely.get_coordinates(parts[shapely.length(parts) > 0])  # no road of no length
    points = sorted({tuple(xy) for xy in drawn.tolist()})
    if not points:
        assert not ours
        return
    for mine, theirs in zip(_by_road(ours, points), _by_road(geos, points), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-6)


def test_segments_split_where_they_cross_touch_and_overlap() -> None:
    """A crossing, an end on a road, a road continuing another, and a stretch drawn twice
    in opposite directions: each segment in order along its line, split at the others."""
    lines = np.array(
        [
            shapely.LineString([(0, 0), (100, 0)]),
            shapely.LineString([(30, -10), (30, 10)]),  # crosses at (30, 0)
            shapely.LineString([(60, 20), (60, 0)]),  # ends on the first at (60, 0)
            shapely.LineString([(100, 0), (100, 50)]),  # continues it from its end
            shapely.LineString([(90, 0), (50, 0)]),  # drawn over it, backwards
        ]
    )
    ends, line = node(lines)
    assert line.tolist() == [0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 4]
    assert ends.reshape(-1, 4).tolist() == [
        [0, 0, 30, 0],
        [30, 0, 50, 0],
        [50, 0, 60, 0],
        [60, 0, 90, 0],
        [90, 0, 100, 0],
        [30, -10, 30, 0],
        [30, 0, 30, 10],
        [60, 20, 60, 0],
        [100, 0, 100, 50],
        [90, 0, 60, 0],
        [60, 0, 50, 0],
    ]


@pytest.mark.parametrize(
    ("gap_m", "joined"), [(0.0, True), (1e-9, True), (5e-4, True), (2e-3, False)]
)
def test_a_road_ending_a_hair_off_another_is_joined_to_it(gap_m: float, joined: bool) -> None:
    """A road drawn to end on another, at a gap of ``gap_m``: within :data:`SNAP_M` the
    way from its far end to the other road's end is along both roads; beyond it, there
    is none."""
    along, across = np.array([300.0, 100.0]), np.array([-1.0, 3.0]) / np.sqrt(10)
    main = shapely.LineString([ORIGIN, ORIGIN + along])
    on = ORIGIN + along * 0.37  # where it was meant to end
    side = shapely.LineString([on + 126.5 * across, on + gap_m * across])
    network = RoadNetwork.build(np.array([main, side]), np.array(["main", "branch"], dtype=object))
    edges = _our_edges(network)
    far, end = tuple(shapely.get_coordinates(side)[0]), tuple(shapely.get_coordinates(main)[1])
    metres, _ = _by_road(edges, [far, end])
    expected = side.length + shapely.Point(on).distance(shapely.Point(end))
    if joined:
        assert metres[0, 1] == pytest.approx(expected, abs=2 * gap_m + 1e-6)
    else:
        assert metres[0, 1] == np.inf
