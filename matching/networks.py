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
from matching.distances import REACH_M, Pairs
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
    spare: tuple[str, FloatArray],
    counts: BoolArray | None = None,
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Per site: the nearest qualifying node within reach (-1 if none), its distance (inf),
    and the largest spare capacity among the nodes within reach whose spare ``counts``
    (all by default; NaN where none has a value, e.g. none of the voltage asked for).

    ``qualifies`` and ``counts`` are per node; ``spare`` is the zone's column (its name,
    and its values per node), fixed per data version, so the pairs are sorted by it once
    (:meth:`~matching.distances.Pairs.by_value`) and each request only picks, per site, the
    first usable pair: by distance for the nearest, by spare for the most."""
    node = np.full(n_sites, -1, dtype=np.int64)
    dist = np.full(n_sites, np.inf)
    best = np.full(n_sites, np.nan)
    if not len(pairs.site):
        return node, dist, best
    # Pairs only exist within REACH_M, so a request at full reach needs no distance test.
    full_reach = reach_m >= REACH_M
    keep = qualifies[pairs.node]
    if not full_reach:
        keep &= pairs.dist_m <= reach_m
    # Pairs are sorted by site, then distance: the first kept pair of a site is the nearest.
    first = _first_per_site(pairs.site, keep)
    node[pairs.site[first]] = pairs.node[first]
    dist[pairs.site[first]] = pairs.dist_m[first]
    key, values = spare
    site_v, node_v, dist_v, spare_v = pairs.by_value(key, values)
    usable = ~np.isnan(spare_v)
    if counts is not None:
        usable &= counts[node_v]
    if not full_reach:
        usable &= dist_v <= reach_m
    most = _first_per_site(site_v, usable)
    best[site_v[most]] = spare_v[most]
    return node, dist, best


def _first_per_site(site: IntArray, keep: BoolArray) -> IntArray:
    """Positions of the first kept pair of each site (``site`` sorted)."""
    kept = np.flatnonzero(keep)
    if not len(kept):
        return kept
    of = site[kept]
    return kept[np.r_[True, of[1:] != of[:-1]]]


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
    infra = zone.infrastructure
    voltage = infra["voltage_kv"].to_numpy(dtype=float)
    spare = infra[POWER.spare_column].to_numpy(dtype=float)
    voltage_ok = np.nan_to_num(voltage) >= (request.min_voltage_kv or 0.0)
    node, dist, best = best_node(
        sites.distances.pairs[POWER.node_kind],
        len(sites),
        reach_m=request.power_reach_km * 1000,
        qualifies=voltage_ok & (spare >= need),
        spare=(POWER.spare_column, spare),
        counts=voltage_ok,
    )
    return Access(node, dist, best)
