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
    per_pair: bool = False,
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Per site: the nearest qualifying node within reach (-1 if none), its distance (inf),
    and the largest ``spare`` among all nodes within reach (NaN where ``spare`` is NaN for
    all of them, e.g. nodes of the wrong voltage). ``qualifies`` and ``spare`` are per
    node, or already per pair with ``per_pair``."""
    node = np.full(n_sites, -1, dtype=np.int64)
    dist = np.full(n_sites, np.inf)
    best = np.full(n_sites, np.nan)
    if not len(pairs.site):
        return node, dist, best
    # Pairs only exist within REACH_M, so a request at full reach needs no distance test.
    full_reach = reach_m >= REACH_M
    in_reach = None if full_reach else pairs.dist_m <= reach_m
    keep = qualifies if per_pair else qualifies[pairs.node]
    if in_reach is not None:
        keep = keep & in_reach
    # Pairs are sorted by site, then distance: the first kept pair of a run is the nearest.
    position = np.where(keep, pairs.positions, len(keep))
    first = np.minimum.reduceat(position, pairs.starts)
    found = first < len(keep)
    node[pairs.owner[found]] = pairs.node[first[found]]
    dist[pairs.owner[found]] = pairs.dist_m[first[found]]
    values = spare if per_pair else spare[pairs.node]
    if in_reach is not None:
        values = np.where(in_reach, values, np.nan)
    with np.errstate(invalid="ignore"):
        best[pairs.owner] = np.fmax.reduceat(values, pairs.starts)
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
    voltage = sites.pair_values(zone, POWER.node_kind, "voltage_kv")
    spare = sites.pair_values(zone, POWER.node_kind, POWER.spare_column)
    voltage_ok = np.nan_to_num(voltage) >= (request.min_voltage_kv or 0.0)
    node, dist, best = best_node(
        sites.distances.pairs[POWER.node_kind],
        len(sites),
        reach_m=request.power_reach_km * 1000,
        qualifies=voltage_ok & (spare >= need),
        spare=np.where(voltage_ok, spare, np.nan),
        per_pair=True,
    )
    return Access(node, dist, best)
