"""Parcel assembly (地块组合): contiguous groups of parcels that together meet the area.

A big project often needs several adjacent parcels (晶科: 8 parcels, 2,431 亩). Two
parcels are neighbours when they touch or are separated by no more than ``gap_m`` —
a road between them, whose width a request may set. A group grows from a seed by adding
the neighbour closest to the group's centre, which keeps groups compact, until it has
the area asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

MAX_SEEDS = 200
MAX_MEMBERS = 80


@dataclass(frozen=True)
class Group:
    members: tuple[int, ...]
    """Row indices of the parcels, in the order they were added."""
    area_mu: float


def neighbours(geometries: npt.NDArray[np.object_], gap_m: float) -> list[IntArray]:
    """For each metric geometry, the indices of those within ``gap_m`` of it."""
    if not len(geometries):
        return []
    left, right = shapely.STRtree(geometries).query(geometries, predicate="dwithin", distance=gap_m)
    keep = left != right
    left, right = left[keep], right[keep]
    order = np.argsort(left, kind="stable")
    left, right = left[order], right[order]
    bounds = np.searchsorted(left, np.arange(len(geometries) + 1))
    return [right[bounds[i] : bounds[i + 1]].astype(np.int64) for i in range(len(geometries))]


def assemble(
    geometries: npt.NDArray[np.object_],
    area_mu: FloatArray,
    *,
    min_mu: float,
    max_mu: float | None,
    gap_m: float,
    limit: int = 30,
) -> list[Group]:
    """Distinct compact groups of neighbouring parcels with ``min_mu ≤ area ≤ max_mu``.

    ``geometries`` are the candidate parcels in a metric CRS. Seeds are tried largest
    first; at most ``limit`` groups are returned.

    Examples
    --------
    >>> import shapely
    >>> row = np.array([shapely.box(i * 110, 0, i * 110 + 100, 100) for i in range(4)])
    >>> [g.members for g in assemble(row, np.full(4, 15.0), min_mu=40, max_mu=None,
    ...                               gap_m=20)]
    [(0, 1, 2), (3, 2, 1)]
    """
    near = neighbours(geometries, gap_m)
    centres = shapely.get_coordinates(shapely.centroid(geometries))
    seen: set[frozenset[int]] = set()
    groups: list[Group] = []
    for seed in np.argsort(-area_mu, kind="stable")[:MAX_SEEDS]:
        members = [int(seed)]
        inside = {int(seed)}
        total = float(area_mu[seed])
        frontier: set[int] = set(near[seed].tolist())
        while total < min_mu and frontier and len(members) < MAX_MEMBERS:
            weights = area_mu[members]
            centre = (centres[members] * weights[:, None]).sum(axis=0) / weights.sum()
            options = np.array(sorted(frontier))
            pick = int(options[np.argmin(np.hypot(*(centres[options] - centre).T))])
            members.append(pick)
            inside.add(pick)
            total += float(area_mu[pick])
            frontier |= set(near[pick].tolist())
            frontier -= inside
        if total < min_mu or (max_mu is not None and total > max_mu):
            continue
        key = frozenset(members)
        if key in seen:
            continue
        seen.add(key)
        groups.append(Group(tuple(members), total))
        if len(groups) >= limit:
            break
    return groups
