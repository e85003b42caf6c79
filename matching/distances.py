"""Distances from a layer's sites to the zone's infrastructure, in its metric CRS.

Distances are exact (polygon to point, in metres):

- to every substation, water, gas, heat and sewage node within :data:`REACH_M`, as
  (site, node, distance) :class:`Pairs` sorted by site then distance, so that a request
  can pick the nearest node that also has the voltage and spare capacity it needs; built
  with the zone, since every request reads them;
- to the nearest highway interchange, rail freight station, airport and logistics park in
  a straight line, computed when first asked for (:meth:`Distances.straight`): requests
  measure along the road network by default (:mod:`matching.roadnet`), which needs the
  straight line only where the network does not reach.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import shapely

from layers.catalog import UTILITIES
from matching.linework import Index, box_gap, columns, ranges, search_boxes
from matching.outlines import Corners, Outlines
from matching.roadnet import BOUND_SLACK_M, RoadDistance
from matching.shapes import Shapes

REACH_M = 10_000.0
"""How far a site looks for utility nodes; requests may ask for less, never more."""
NEAREST_KINDS = ("interchange", "rail", "airport", "logistics")
NODE_KINDS = tuple(utility.node_kind for utility in UTILITIES)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Geometries = npt.NDArray[np.object_]


@dataclass(frozen=True)
class Pairs:
    """Sites and the utility nodes of one kind within reach, nearest first per site.

    The pairs of site *s* are positions ``start[s]`` to ``start[s + 1]`` (none for a site
    with no node within reach; see :meth:`of_site`), searched for the nearest usable node
    (:func:`matching.networks.nearest_node`). They are also kept node by node, nearest
    site first (:meth:`of_node`), for the search of the most spare capacity within reach
    (:func:`matching.networks.most_spare`).
    """

    site: Index
    node: Index
    dist_m: FloatArray
    start: Index
    """Offsets of each site's pairs, and the end (one more than there are sites)."""
    nodes: Index
    """The nodes that have pairs, ascending."""
    node_start: Index
    """Offsets of each of ``nodes``' pairs in ``node_site`` and ``node_dist_m``, and the end."""
    node_site: Index
    node_dist_m: FloatArray

    @classmethod
    def build(
        cls, site: npt.ArrayLike, node: npt.ArrayLike, dist_m: FloatArray, n_sites: int
    ) -> Pairs:
        """Pairs from arrays in any order (no site twice with one node)."""
        site, node = np.asarray(site, dtype=np.int32), np.asarray(node, dtype=np.int32)
        by_site, by_node = _orders(site, node, dist_m)
        sorted_site, sorted_node = site[by_site], node[by_node]
        start = np.searchsorted(sorted_site, np.arange(n_sites + 1, dtype=np.int32))
        # Sorted already: its runs are the nodes (np.unique would sort it again).
        node_start = np.flatnonzero(np.r_[True, sorted_node[1:] != sorted_node[:-1]][: len(node)])
        return cls(
            sorted_site,
            node[by_site],
            dist_m[by_site],
            start.astype(np.int32),
            sorted_node[node_start],
            np.r_[node_start, len(site)].astype(np.int32),
            site[by_node],
            dist_m[by_node],
        )

    def taken(self, rows: IntArray, at: IntArray, fresh: Pairs, fresh_at: IntArray) -> Pairs:
        """The pairs of a layer whose sites ``at`` are this one's ``rows`` (the same
        geometries, and the nodes the same) and whose sites ``fresh_at`` are ``fresh``'s,
        in order: as :meth:`within_reach` finds them, nearest first and of equally near
        nodes the first (each site's pairs come whole from one of the two, in that order)."""
        counts = self.start[rows + 1] - self.start[rows]
        taken = ranges(self.start[rows].astype(np.int64), counts)
        site = np.r_[np.repeat(at, counts), fresh_at[fresh.site]]
        node = np.r_[self.node[taken], fresh.node]
        dist = np.r_[self.dist_m[taken], fresh.dist_m]
        return Pairs.build(site, node, dist, len(at) + len(fresh_at))

    def of_site(self, site: int) -> tuple[Index, FloatArray]:
        """The nodes within reach of one site and their distances, nearest first."""
        start, end = int(self.start[site]), int(self.start[site + 1])
        return self.node[start:end], self.dist_m[start:end]

    def of_node(self, k: int) -> tuple[Index, FloatArray]:
        """The sites within reach of ``nodes[k]`` and their distances, nearest first."""
        start, end = int(self.node_start[k]), int(self.node_start[k + 1])
        return self.node_site[start:end], self.node_dist_m[start:end]

    @classmethod
    def within_reach(
        cls,
        sites: Geometries,
        tree: shapely.STRtree,
        nodes: Geometries,
        candidates: IntArray,
        *,
        boxes: FloatArray | None = None,
        outlines: Outlines | None = None,
    ) -> Pairs:
        """The pairs of ``sites`` (indexed by ``tree``, boxed by ``boxes``, as
        :func:`matching.linework.columns`, drawn by ``outlines``) and ``nodes[candidates]``
        at most :data:`REACH_M` apart.

        The sites' tree is searched with each node's box widened by the reach, and the
        distances of the pairs found are measured once and filtered: a ``dwithin`` search
        measures every distance itself, and a box per site costs more than the search.
        A site whose box is beyond the reach of the node is too (the corners of the
        search's square, a fifth of it) and is not measured. The distances are GEOS's,
        measured on the sites' outlines (:mod:`matching.outlines`, ~3× faster)."""
        if not len(candidates) or not len(sites):
            empty = np.array([], dtype=np.int64)
            return cls.build(empty, empty, np.array([], dtype=float), len(sites))
        node_box = shapely.bounds(nodes[candidates])
        box = node_box + np.array([-REACH_M, -REACH_M, REACH_M, REACH_M])
        hit, site = tree.query(search_boxes(box))
        boxes = columns(shapely.bounds(sites)) if boxes is None else boxes
        boxed = box_gap(columns(node_box), hit, boxes, site) <= REACH_M + BOUND_SLACK_M
        hit, site = hit[boxed], site[boxed]
        outlines = Outlines.of(sites) if outlines is None else outlines
        at = nodes[candidates]
        dist = outlines.distance(site, shapely.get_x(at)[hit], shapely.get_y(at)[hit])
        near = dist <= REACH_M
        return cls.build(site[near], candidates[hit[near]], dist[near], len(sites))


def _orders(site: Index, node: Index, dist_m: FloatArray) -> tuple[IntArray, IntArray]:
    """Positions of pairs (no site twice with one node) by site, then distance, then node;
    and by node, then distance, then site: ``np.lexsort((node, dist_m, site))`` and
    ``np.lexsort((site, dist_m, node))``, from one sort of the distances (a million
    parcels' 3.9 million pairs are built in 1.2–1.3 s, against 2.4–2.6 s with the two
    lexsorts).

    The distances sorted (stable), equal ones are put in the order of the key that breaks
    their ties; then a stable sort by site, or by node, 16 bits at a time (NumPy's radix
    sort), keeps that order within each site's or node's pairs."""
    by_dist = np.argsort(dist_m, kind="stable")
    sorted_dist = dist_m[by_dist]
    tied = np.flatnonzero(sorted_dist[1:] == sorted_dist[:-1])
    tied = np.union1d(tied, tied + 1)  # the runs of equal distances, whole
    out = []
    for first, then in ((site, node), (node, site)):
        base = by_dist.copy()
        base[tied] = by_dist[tied][np.lexsort((then[by_dist[tied]], sorted_dist[tied]))]
        out.append(base[_stable_argsort(first[base])])
    return out[0], out[1]


def _stable_argsort(keys: Index) -> IntArray:
    """``np.argsort(keys, kind="stable")`` for keys ≥ 0, as a radix sort of their 16-bit
    digits, lowest first (NumPy sorts 16-bit keys by radix: 0.04 s for 3 million, a tenth
    of a stable sort of 32-bit ones)."""
    order = np.arange(len(keys))
    top = int(keys.max()) if len(keys) else 0
    for shift in range(0, top.bit_length(), 16):
        digit = ((keys[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
    return order


@dataclass(frozen=True)
class Distances:
    """Distances from every site of one layer to the infrastructure."""

    sites: Shapes
    """The sites' geometries in the zone's metric CRS."""
    nodes: Geometries
    """``Zone.infrastructure``'s geometries in the same CRS."""
    kinds: npt.NDArray[np.object_]
    """``Zone.infrastructure``'s kinds."""
    pairs: dict[str, Pairs]
    """Per kind in :data:`NODE_KINDS`."""
    road: dict[str, RoadDistance] = field(default_factory=dict)
    """Per kind in :data:`NEAREST_KINDS`: along the road network (``target`` indexes
    ``Zone.infrastructure``)."""
    _straight: dict[str, tuple[FloatArray, IntArray]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    @classmethod
    def build(
        cls,
        sites: Geometries,
        shapes: Shapes,
        nodes: Geometries,
        kinds: npt.NDArray[np.object_],
        *,
        corners: Corners | None = None,
    ) -> Distances:
        """The utility pairs of ``sites``, metric geometries (with their ``corners`` if
        at hand): those of every site of ``shapes``, or of the rows whose pairs the
        caller does not take from elsewhere."""
        tree, boxes = shapely.STRtree(sites), columns(shapely.bounds(sites))
        outlines = Outlines.of(sites, corners)
        pairs = {
            kind: Pairs.within_reach(
                sites, tree, nodes, np.flatnonzero(kinds == kind), boxes=boxes, outlines=outlines
            )
            for kind in NODE_KINDS
        }
        return cls(shapes, nodes, kinds, pairs)

    def straight(self, kind: str) -> tuple[FloatArray, IntArray]:
        """Metres in a straight line to the nearest ``kind`` (inf if none) and which one
        (index into ``Zone.infrastructure``, -1 if none): measured for every site when
        first asked for, then cached (as :meth:`matching.zone.Sites.column`). The sites
        are projected once for this kind and those of :data:`NEAREST_KINDS` together."""
        found = self._straight.get(kind)
        if found is None:
            sites = self.sites[:]
            for each in dict.fromkeys((kind, *NEAREST_KINDS)):
                self._straight.setdefault(each, self._nearest(each, sites))
            found = self._straight[kind]
        return found

    def straight_of(self, kind: str, rows: IntArray) -> tuple[FloatArray, IntArray]:
        """As :meth:`straight`, for the sites ``rows`` only (not cached)."""
        return self._nearest(kind, self.sites[rows])

    def _nearest(self, kind: str, sites: Geometries) -> tuple[FloatArray, IntArray]:
        candidates = np.flatnonzero(self.kinds == kind)
        dist = np.full(len(sites), np.inf)
        node = np.full(len(sites), -1, dtype=np.int64)
        if len(candidates) and len(sites):
            (row, hit), found = shapely.STRtree(self.nodes[candidates]).query_nearest(
                sites, return_distance=True, all_matches=False
            )
            dist[row], node[row] = found, candidates[hit]
        return dist, node

    def to(self, kind: str, how: Literal["road", "straight"]) -> tuple[FloatArray, IntArray]:
        """Metres to the nearest ``kind`` (inf if none) and which one, by road or in a
        straight line."""
        if how == "road":
            return self.road[kind].dist_m, self.road[kind].target
        return self.straight(kind)
