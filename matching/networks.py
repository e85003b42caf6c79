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
from matching.request import ProjectRequest
from matching.zone import REACH_M, Pairs, Sites, Zone

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
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Per site: the nearest qualifying node within reach (-1 if none), its distance (inf),
    and the largest ``spare`` among all nodes within reach (NaN where ``spare`` is NaN for
    all of them, e.g. nodes of the wrong voltage). ``qualifies`` and ``spare`` are per
    node: each is gathered to the pairs once."""
    node = np.full(n_sites, -1, dtype=np.int64)
    dist = np.full(n_sites, np.inf)
    best = np.full(n_sites, np.nan)
    if not len(pairs.site):
        return node, dist, best
    # Pairs only exist within REACH_M, so a request at full reach needs no distance test.
    full_reach = reach_m >= REACH_M
    in_reach = None if full_reach else pairs.dist_m <= reach_m
    keep = qualifies[pairs.node]
    if in_reach is not None:
        keep = keep & in_reach
    # Pairs are sorted by site, then distance: the first kept pair of a site is the nearest.
    kept = np.flatnonzero(keep)
    if len(kept):
        site = pairs.site[kept]
        first = kept[np.r_[True, site[1:] != site[:-1]]]
        node[pairs.site[first]] = pairs.node[first]
        dist[pairs.site[first]] = pairs.dist_m[first]
    # The most spare per site: a NaN (no value) or a pair out of reach as -inf, for a
    # plain maximum, several times faster than fmax over NaNs.
    values = np.where(np.isnan(spare), -np.inf, spare)[pairs.node]
    if in_reach is not None:
        values = np.where(in_reach, values, -np.inf)
    most = np.maximum.reduceat(values, pairs.starts)
    best[pairs.owner] = np.where(most == -np.inf, np.nan, most)
    return node, dist, best


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
        spare=np.where(voltage_ok, spare, np.nan),
    )
    return Access(node, dist, best)
