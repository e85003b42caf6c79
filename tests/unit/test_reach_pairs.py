"""The utility pairs within reach (``Pairs.within_reach``) skip measuring the sites whose box
is beyond the reach: they must be exactly the pairs that measuring every site gives."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.distances import REACH_M, Pairs


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_pairs_within_reach_are_those_measuring_every_site_finds(seed: int) -> None:
    """Sites all over the search's square (its corners are beyond the reach), some with a
    side exactly at the reach from a node."""
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 5, (rng.integers(1, 6), 2)) * 1_000.0
    nodes = shapely.points(xy)
    corner = rng.uniform(-REACH_M * 1.2, REACH_M * 1.2 + 4_000, (200, 2))
    sites = shapely.box(*corner.T, *(corner + rng.uniform(1, 50, (len(corner), 2))).T)
    at = xy[rng.integers(0, len(xy), 20)]  # boxes 20 m high, a side at the reach
    right, left = at[:, 0] + REACH_M, at[:, 0] - REACH_M
    sites = np.r_[
        sites,
        shapely.box(right, at[:, 1] - 10, right + 20, at[:, 1] + 10),
        shapely.box(left - 20, at[:, 1] - 10, left, at[:, 1] + 10),
    ]
    pairs = Pairs.within_reach(sites, shapely.STRtree(sites), nodes, np.arange(len(nodes)))
    dist = shapely.distance(sites[:, None], nodes[None, :])
    site, node = np.nonzero(dist <= REACH_M)
    expected = sorted(zip(site.tolist(), node.tolist(), dist[site, node].tolist(), strict=True))
    found = zip(pairs.site.tolist(), pairs.node.tolist(), pairs.dist_m.tolist(), strict=True)
    assert sorted(found) == expected
    assert (dist == REACH_M).any()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_pairs_taken_from_a_previous_layer_are_those_a_search_finds(seed: int) -> None:
    """A new layer (as a new stock list makes it) repeats some of the old sites, one of
    them twice, in another order, and adds others; sites and nodes on a 1 km grid, so
    that many nodes are exactly as near a site as each other."""
    rng = np.random.default_rng(seed)
    nodes = shapely.points(rng.integers(0, 12, (rng.integers(1, 30), 2)) * 1_000.0)
    kind = np.flatnonzero(rng.random(len(nodes)) < 0.7)  # the nodes of one kind

    def drawn(n: int) -> np.ndarray:
        corner = rng.integers(-3, 15, (n, 2)) * 1_000.0
        return np.asarray(shapely.box(*corner.T, *(corner + rng.integers(1, 3, (n, 2))).T))

    def found(sites: np.ndarray) -> Pairs:
        return Pairs.within_reach(sites, shapely.STRtree(sites), nodes, kind)

    old = drawn(int(rng.integers(1, 80)))
    rows = rng.permutation(len(old))[: rng.integers(0, len(old) + 1)]
    rows = np.r_[rows, rows[:1]].astype(np.int64)
    added = drawn(int(rng.integers(0, 20)))
    where = rng.permutation(len(rows) + len(added))
    at, fresh_at = where[: len(rows)], where[len(rows) :]
    new = np.empty(len(where), dtype=object)
    new[at], new[fresh_at] = old[rows], added
    ours = found(old).taken(rows, at, found(added), fresh_at)
    theirs = found(new)
    for name in ("site", "node", "dist_m", "start", "nodes", "node_start", "node_site"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(theirs, name), err_msg=name)
    np.testing.assert_array_equal(ours.node_dist_m, theirs.node_dist_m)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), wide=st.booleans())
def test_pairs_are_ordered_as_lexsort_orders_them(seed: int, wide: bool) -> None:
    """Pairs given in any order, many exactly as far as others (whole 250 m), and site and
    node numbers beyond 16 bits (``wide``): per site nearest first, of equally near nodes
    the first; per node nearest first, of equally near sites the first."""
    rng = np.random.default_rng(seed)
    n_sites, n_nodes = (300_000, 70_000) if wide else (60, 9)
    sites = rng.choice(n_sites, int(rng.integers(1, 40)), replace=False)
    nodes = rng.choice(n_nodes, int(rng.integers(1, 9)), replace=False)
    site, node = (a.ravel() for a in np.meshgrid(sites, nodes))
    kept = rng.permutation(len(site))[: rng.integers(0, len(site) + 1)]
    site, node = site[kept], node[kept]
    dist = rng.integers(0, 4, len(site)) * 250.0
    pairs = Pairs.build(site, node, dist, n_sites)
    per_site, per_node = np.lexsort((node, dist, site)), np.lexsort((site, dist, node))
    np.testing.assert_array_equal(pairs.site, site[per_site])
    np.testing.assert_array_equal(pairs.node, node[per_site])
    np.testing.assert_array_equal(pairs.dist_m, dist[per_site])
    np.testing.assert_array_equal(
        pairs.start, np.searchsorted(site[per_site], np.arange(n_sites + 1))
    )
    np.testing.assert_array_equal(pairs.nodes, np.unique(node))
    np.testing.assert_array_equal(pairs.node_site, site[per_node])
    np.testing.assert_array_equal(pairs.node_dist_m, dist[per_node])
    counts = np.bincount(
        np.searchsorted(np.unique(node), node[per_node]), minlength=len(pairs.nodes)
    )
    np.testing.assert_array_equal(np.diff(pairs.node_start), counts)
