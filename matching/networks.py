"""The nodes of the utility networks (电、水、气、热、污水) a site can reach.

The networks are those of :data:`layers.catalog.UTILITIES`: the kind of node that
supplies each, the site's capacity at its boundary, the node's spare capacity and the
request's need. The hard constraints and the connection plan both read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from layers.catalog import POWER
from matching.distances import Pairs
from matching.request import ProjectRequest
from matching.zone import Sites, Zone

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def best_node(
    pairs: Pairs,
    n_sites: int,
    *,
    reach_m: float,
    qualifies: BoolArray,
    spare: FloatArray,
    counts: BoolArray | None = None,
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Per site: the nearest qualifying node within reach (-1 if none), its distance (inf),
    and the largest ``spare`` capacity among the nodes within reach whose spare ``counts``
    (all by default; NaN where none has a value, e.g. none of the voltage asked for).

    ``qualifies``, ``spare`` and ``counts`` are per node of the zone."""
    if not len(pairs.site):
        return (
            np.full(n_sites, -1, dtype=np.int64),
            np.full(n_sites, np.inf),
            np.full(n_sites, np.nan),
        )
    node, dist = _nearest(pairs, qualifies, reach_m)
    usable = ~np.isnan(spare) if counts is None else counts & ~np.isnan(spare)
    return node, dist, _most(pairs, n_sites, spare, usable, reach_m)


def _nearest(pairs: Pairs, qualifies: BoolArray, reach_m: float) -> tuple[IntArray, FloatArray]:
    """Per site, the nearest qualifying node within ``reach_m`` (-1 if none) and its
    distance (inf).

    All sites walk their pairs together, nearest first, one pair a step, and a site
    leaves the walk at a qualifying pair, its last pair or its first out of reach (every
    later one is farther). Most settle at their first pair, kept per site and read in
    order, so a request reads a fraction of the pairs."""
    near = pairs.first_dist_m <= reach_m  # False where a site has no pair (its node is -1)
    ok = near & qualifies[pairs.first_node]
    node = np.where(ok, pairs.first_node, -1)
    dist = np.where(ok, pairs.first_dist_m, np.inf)
    site = np.flatnonzero(near & ~ok)
    at = pairs.start[site] + 1
    while len(site):
        more = at < pairs.end[site]
        site, at = site[more], at[more]
        near = pairs.dist_m[at] <= reach_m
        ok = near & qualifies[pairs.node[at]]
        node[site[ok]] = pairs.node[at[ok]]
        dist[site[ok]] = pairs.dist_m[at[ok]]
        going = near & ~ok
        site, at = site[going], at[going] + 1
    return node, dist


def _most(
    pairs: Pairs, n_sites: int, spare: FloatArray, usable: BoolArray, reach_m: float
) -> FloatArray:
    """Per site, the largest ``spare`` of a ``usable`` node within ``reach_m`` (NaN if none).

    Node by node, least spare first, each writes its spare to the sites within reach (the
    first of its pairs, nearest first), so the most is written last. A zone has tens of
    nodes of a kind against 100,000s of pairs, and at a reach short of
    :data:`~matching.distances.REACH_M` most pairs are never read."""
    best = np.full(n_sites, np.nan)
    keep = np.flatnonzero(usable[pairs.nodes])
    for k in keep[np.argsort(spare[pairs.nodes[keep]], kind="stable")]:
        site, dist = pairs.of_node(int(k))
        best[site[: np.searchsorted(dist, reach_m, side="right")]] = spare[pairs.nodes[k]]
    return best


@dataclass(frozen=True)
class Access:
    """Per site, the substations a request can use: the nearest one of the voltage asked
    for with the spare MVA needed (``node`` -1 and ``dist_m`` inf where none is within
    reach), and the most spare MVA among those of that voltage within reach."""

    node: IntArray
    dist_m: FloatArray
    best_spare_mva: FloatArray


def substation_access(request: ProjectRequest, zone: Zone, sites: Sites) -> Access:
    """Computed once per request and shared by the power constraint and the substation
    criterion."""
    need = request.power_mva or 0.0
    voltage = zone.node_floats("voltage_kv")
    spare = zone.node_floats(POWER.spare_column)
    voltage_ok = np.nan_to_num(voltage) >= (request.min_voltage_kv or 0.0)
    node, dist, best = best_node(
        sites.distances.pairs[POWER.node_kind],
        len(sites),
        reach_m=request.power_reach_km * 1000,
        qualifies=voltage_ok & (spare >= need),
        spare=spare,
        counts=voltage_ok,
    )
    return Access(node, dist, best)
