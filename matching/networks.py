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


def most_spare(
    pairs: Pairs,
    n_sites: int,
    *,
    reach_m: float,
    spare: FloatArray,
    counts: BoolArray | None = None,
) -> FloatArray:
    """Per site, the largest ``spare`` capacity among the nodes within reach whose spare
    ``counts`` (all by default; NaN where none has a value, e.g. none of the voltage asked
    for). ``spare`` and ``counts`` are per node of the zone.

    Node by node, least spare first, each writes its spare to the sites within reach (the
    first of its pairs, nearest first), so the most is written last. A zone has tens of
    nodes of a kind against 100,000s of pairs, and at a reach short of
    :data:`~matching.distances.REACH_M` most pairs are never read."""
    usable = ~np.isnan(spare) if counts is None else counts & ~np.isnan(spare)
    best = np.full(n_sites, np.nan)
    keep = np.flatnonzero(usable[pairs.nodes])
    for k in keep[np.argsort(spare[pairs.nodes[keep]], kind="stable")]:
        site, dist = pairs.of_node(int(k))
        best[site[: np.searchsorted(dist, reach_m, side="right")]] = spare[pairs.nodes[k]]
    return best


def nearest_node(
    pairs: Pairs, rows: IntArray, *, reach_m: float, qualifies: BoolArray
) -> tuple[IntArray, FloatArray]:
    """For the sites ``rows``: the nearest node within ``reach_m`` that ``qualifies`` (per
    node of the zone; -1 if none) and its distance (inf).

    The sites walk their pairs together, nearest first, one pair a step, and a site
    leaves the walk at a qualifying pair, its last pair or its first out of reach (every
    later one is farther). Most settle at their first pair or two, so a search reads a
    fraction of the sites' pairs."""
    node = np.full(len(rows), -1, dtype=np.int64)
    dist = np.full(len(rows), np.inf)
    todo = np.arange(len(rows))  # positions in ``rows``
    at, end = pairs.start[rows], pairs.start[rows + 1]
    while len(todo):
        more = at < end
        todo, at, end = todo[more], at[more], end[more]
        near = pairs.dist_m[at] <= reach_m
        ok = near & qualifies[pairs.node[at]]
        node[todo[ok]] = pairs.node[at[ok]]
        dist[todo[ok]] = pairs.dist_m[at[ok]]
        going = near & ~ok
        todo, at, end = todo[going], at[going] + 1, end[going]
    return node, dist


@dataclass(frozen=True)
class Access:
    """The substations a request can use: per site, the most spare MVA among those of the
    voltage asked for within reach (NaN if none); and, for the sites asked about, the
    nearest one of that voltage with the spare MVA needed (:meth:`nearest`).

    The power constraint reads the first at every site; only the substation criterion
    reads the second, for the few hundred sites a request ranks."""

    best_spare_mva: FloatArray
    pairs: Pairs
    qualifies: BoolArray
    reach_m: float

    def nearest(self, rows: IntArray) -> tuple[IntArray, FloatArray]:
        """For the sites ``rows``: the nearest usable substation (-1 if none within
        reach) and its distance, m (inf)."""
        return nearest_node(self.pairs, rows, reach_m=self.reach_m, qualifies=self.qualifies)


def substation_access(request: ProjectRequest, zone: Zone, sites: Sites) -> Access:
    """Computed once per request and shared by the power constraint and the substation
    criterion."""
    need = request.power_mva or 0.0
    voltage = zone.node_floats("voltage_kv")
    spare = zone.node_floats(POWER.spare_column)
    voltage_ok = np.nan_to_num(voltage) >= (request.min_voltage_kv or 0.0)
    pairs = sites.distances.pairs[POWER.node_kind]
    reach_m = request.power_reach_km * 1000
    best = most_spare(pairs, len(sites), reach_m=reach_m, spare=spare, counts=voltage_ok)
    return Access(best, pairs, voltage_ok & (spare >= need), reach_m)
