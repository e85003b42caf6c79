"""The per-request search of the utility nodes each site can use (matching/networks.py)
against a pair-by-pair loop, on random pairs: nearest qualifying node (ties, sites that
settle after several pairs or at one out of reach) and most spare capacity within reach."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matching.distances import REACH_M, Pairs
from matching.networks import most_spare, nearest_node


def _random_pairs(seed: int, n_sites: int, n_nodes: int) -> Pairs:
    """Up to ``n_nodes`` pairs per site (some sites none), distances rounded to 500 m so
    that ties are common (``Pairs.build`` orders them as the zone does)."""
    rng = np.random.default_rng(seed)
    site, node = np.nonzero(rng.random((n_sites, n_nodes)) < 0.4)
    dist = np.round(rng.uniform(0, REACH_M, len(site)) / 500) * 500
    return Pairs.build(site, node, dist, n_sites)


def _by_loop(
    pairs: Pairs,
    n_sites: int,
    reach_m: float,
    qualifies: np.ndarray,
    spare: np.ndarray,
    counts: np.ndarray | None,
) -> tuple[list[int], list[float], list[float]]:
    """The first qualifying pair of each site in the pairs' order, and the most spare."""
    node, dist, best = [-1] * n_sites, [math.inf] * n_sites, [math.nan] * n_sites
    for s, n, d in zip(pairs.site, pairs.node, pairs.dist_m, strict=True):
        if d > reach_m:
            continue
        if qualifies[n] and node[s] < 0:
            node[s], dist[s] = int(n), float(d)
        if not np.isnan(spare[n]) and (counts is None or counts[n]):
            best[s] = float(spare[n]) if math.isnan(best[s]) else max(best[s], spare[n])
    return node, dist, best


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("reach_m", [1_200.0, 4_000.0, REACH_M])
@pytest.mark.parametrize("share", [0.1, 0.5, 0.9])
def test_search_finds_what_a_loop_over_every_pair_finds(
    seed: int, reach_m: float, share: float
) -> None:
    n_sites, n_nodes = 300, 12
    pairs = _random_pairs(seed, n_sites, n_nodes)
    rng = np.random.default_rng(seed + 100)
    qualifies = rng.random(n_nodes) < share  # few: most sites walk past their first pairs
    spare = np.round(rng.uniform(0, 50, n_nodes) / 10) * 10  # ties in spare too
    spare[rng.random(n_nodes) < 0.2] = np.nan
    counts = None if seed % 2 else rng.random(n_nodes) < 0.7
    want_node, want_dist, want_best = _by_loop(pairs, n_sites, reach_m, qualifies, spare, counts)
    best = most_spare(pairs, n_sites, reach_m=reach_m, spare=spare, counts=counts)
    np.testing.assert_array_equal(best, want_best)
    every = np.arange(n_sites)
    some = rng.permutation(n_sites)[:40]  # any sites, in any order
    for rows in (every, some):
        node, dist = nearest_node(pairs, rows, reach_m=reach_m, qualifies=qualifies)
        assert node.tolist() == [want_node[r] for r in rows]
        assert dist.tolist() == [want_dist[r] for r in rows]


def test_the_random_pairs_reach_the_cases_the_search_has() -> None:
    """Sites settled after their first pair, ended by a pair out of reach, and with none."""
    pairs = _random_pairs(0, 300, 12)
    qualifies = np.arange(12) % 5 == 0
    node, _ = nearest_node(pairs, np.arange(300), reach_m=4_000.0, qualifies=qualifies)
    start, end = pairs.start[:-1], pairs.start[1:]
    has = end > start
    first_node = np.where(has, pairs.node[np.minimum(start, len(pairs.site) - 1)], 0)
    first_m = np.where(has, pairs.dist_m[np.minimum(start, len(pairs.site) - 1)], np.inf)
    first_fails = ~qualifies[first_node] & (first_m <= 4_000.0)
    assert (first_fails & (node >= 0)).sum() > 10  # found past the first pair
    last_m = np.where(has, pairs.dist_m[np.maximum(end - 1, 0)], np.inf)
    assert (first_fails & (node < 0) & (last_m > 4_000.0)).sum() > 10  # ended out of reach
    assert (first_fails & (node < 0) & (last_m <= 4_000.0)).sum() > 0  # at its last pair
    assert (~has).any()  # no pair at all


def test_no_pairs_means_no_node() -> None:
    empty = np.array([], dtype=np.int64)
    pairs = Pairs.build(empty, empty, np.array([]), 3)
    node, dist = nearest_node(pairs, np.arange(3), reach_m=REACH_M, qualifies=np.ones(0, bool))
    best = most_spare(pairs, 3, reach_m=REACH_M, spare=np.ones(0))
    assert node.tolist() == [-1] * 3 and np.isinf(dist).all() and np.isnan(best).all()
