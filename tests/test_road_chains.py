"""The shortest paths over the road network's junctions (matching/chains.py) against
networkx over every vertex, on winding roads: chains of many vertices, a closed ring
road with no crossing, a ring that crosses, a road drawn twice, two roads between the
same two crossings (one shorter, the other faster), targets inside chains and two on one
chain; and on any lines of a small integer grid, where roads touch, overlap, close on
themselves and cross themselves."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.roadnet import ACCESS_MS, RoadNetwork


def _winding(
    rng: np.random.Generator, a: tuple[float, float], b: tuple[float, float]
) -> shapely.LineString:
    """A road from ``a`` to ``b`` of 20–60 vertices that wobbles a few metres sideways."""
    steps = np.linspace(0.0, 1.0, int(rng.integers(20, 60)))
    ax, ay, bx, by = *a, *b
    normal = np.array([ay - by, bx - ax]) / np.hypot(bx - ax, by - ay)
    wobble = rng.uniform(-8, 8, len(steps))
    wobble[[0, -1]] = 0.0
    x = ax + steps * (bx - ax) + wobble * normal[0]
    y = ay + steps * (by - ay) + wobble * normal[1]
    return shapely.LineString(np.c_[x, y])


def _roads(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lines = [
        _winding(rng, tuple(rng.uniform(0, 2000, 2)), tuple(rng.uniform(0, 2000, 2)))
        for _ in range(12)
    ]
    lens_a, lens_b = (300.0, 2300.0), (900.0, 2300.0)
    lines += [
        shapely.Point(2600, 600).buffer(150, quad_segs=16).exterior,  # a ring, no crossing
        shapely.Point(1000, 1000).buffer(400, quad_segs=16).exterior,  # a ring that crosses
        shapely.LineString([lens_a, (600, 2600), lens_b]),  # two roads from one crossing
        shapely.LineString([lens_a, (600, 2350), lens_b]),  # to another: the second shorter
        shapely.LineString([(300, 2000), lens_a]),
        shapely.LineString([lens_b, (1200, 2000)]),
    ]
    lines.append(lines[3])  # drawn twice
    grades = rng.choice(np.array(["trunk", "main", "branch", None], dtype=object), len(lines))
    grades[-5:-3] = ["trunk", "branch"]  # the longer road of the two is the faster
    return np.array(lines, dtype=object), grades


def _oracle(network: RoadNetwork, targets: np.ndarray) -> tuple[np.ndarray, ...]:
    """Metres and seconds from every vertex to the nearest target, and which target, by
    networkx over every edge, each target joined to both ends of its access segment."""
    graph = nx.Graph()
    seconds = network.length_m / network.speed_ms
    for t, h, m, s in zip(network.tail, network.head, network.length_m, seconds, strict=True):
        graph.add_edge(int(t), int(h), m=float(m), s=float(s))
    access = network.access(targets)
    for j, (seg, leg, along) in enumerate(
        zip(access.segment, access.leg_m, access.along_m, strict=True)
    ):
        rest = network.length_m[seg] - along
        speed = network.speed_ms[seg]
        for end, on in ((network.tail[seg], along), (network.head[seg], rest)):
            graph.add_edge(("t", j), int(end), m=leg + on, s=leg / ACCESS_MS + on / speed)
    sources = {("t", j) for j in range(len(targets))}
    out = []
    for weight in ("m", "s"):
        dist, paths = nx.multi_source_dijkstra(graph, sources, weight=weight)
        every = range(network.n_vertices)
        out.append(np.array([dist.get(v, np.inf) for v in every]))
        out.append(np.array([paths[v][0][1] if v in paths else -1 for v in every]))
    return tuple(out)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shortest_paths_over_junctions_equal_those_over_every_vertex(seed: int) -> None:
    lines, grades = _roads(seed)
    network = RoadNetwork.build(lines, grades)
    chains = network.chains
    assert len(chains.inner) > network.n_vertices / 2  # most vertices are inside chains
    assert (chains.first == chains.last).any()  # the ring with no crossing
    rng = np.random.default_rng(seed)
    targets = np.array(
        [
            shapely.Point(2600, 760),  # beside the ring with no crossing
            *shapely.points(rng.uniform(0, 2000, (5, 2))),
            shapely.line_interpolate_point(lines[0], 0.3, normalized=True),
            shapely.line_interpolate_point(lines[0], 0.32, normalized=True),  # same chain
        ],
        dtype=object,
    )
    reach = network.reach(targets)
    metres, by_metres, secs, by_secs = _oracle(network, targets)
    np.testing.assert_allclose(reach.dist_m, metres, rtol=0, atol=1e-6)
    np.testing.assert_allclose(reach.time_s, secs, rtol=0, atol=1e-6)
    vertex_xy = np.zeros((network.n_vertices, 2))
    vertex_xy[network.tail], vertex_xy[network.head] = network.ends[:, 0], network.ends[:, 1]
    on_ring = shapely.distance(shapely.points(vertex_xy), lines[12]) < 1e-6
    assert (reach.target[on_ring] == 0).all()  # the ring with no crossing has its own target
    assert (reach.target == by_metres).mean() > 0.999  # ties may go either way
    assert (by_metres != by_secs).any()  # the faster road is not the shorter


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_shortest_paths_over_junctions_equal_networkx_on_lines_of_a_small_grid(seed: int) -> None:
    """Up to 8 lines of 2–12 vertices on a 6 × 6 grid: many meet at a vertex, run along
    one another, repeat a vertex, return to where they began or cross themselves."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(int(rng.integers(1, 9))):
        walk = rng.integers(0, 6, (int(rng.integers(2, 13)), 2)).astype(float) * 100.0
        if rng.random() < 0.2:
            walk = np.r_[walk, walk[:1]]  # closed
        if (walk != walk[0]).any():
            lines.append(shapely.LineString(walk))
    if not lines:
        lines.append(shapely.LineString([(0, 0), (100, 0)]))
    grades = rng.choice(np.array(["trunk", "main", "branch", None], dtype=object), len(lines))
    network = RoadNetwork.build(np.array(lines, dtype=object), grades)
    targets = shapely.points(rng.uniform(-50, 550, (int(rng.integers(1, 5)), 2)))
    reach = network.reach(np.asarray(targets))
    metres, _, secs, _ = _oracle(network, np.asarray(targets))
    np.testing.assert_allclose(reach.dist_m, metres, rtol=0, atol=1e-6)
    np.testing.assert_allclose(reach.time_s, secs, rtol=0, atol=1e-6)
