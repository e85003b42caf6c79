"""The zone's road network: road distance and driving time from every site to the nearest
highway interchange, rail freight station, airport and logistics park.

The network is built once per data version (:func:`matching.zone.build_zone`) from the
road centre lines in the zone's metric CRS. Their two-point segments are noded (split
wherever two cross or touch, and where a road ends within a millimetre of another:
:mod:`matching.noding`); each piece is an edge between its two end vertices, weighted by
its length in metres and, separately, by the seconds it takes at the speed of its
road's grade (:data:`SPEED_KMH`).

A site or target reaches the network at its *access point*: the nearest point on the
nearest segment. The access leg (site → access point, access point → target) counts as
straight-line metres, driven at :data:`DEFAULT_KMH`. Per target kind one multi-source
shortest-path run (``scipy.sparse.csgraph.dijkstra``, ``min_only=True``, over the
network's junctions: :mod:`matching.chains`) gives every vertex its distance to the
nearest target, and a second run its time to the fastest; a
site then adds its access leg and the better of its segment's two ends. Where no target
of the kind can be reached (another component of the network, or no roads at all) the
distance is the straight line × :data:`DETOUR`, flagged as estimated.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import shapely

from matching.chains import Chains
from matching.linework import (
    Index,
    box_gap,
    chunks,
    columns,
    firsts,
    located,
    nearest_in_runs,
    run_starts,
    search_boxes,
    segment_boxes,
)
from matching.noding import node

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Geometries = npt.NDArray[np.object_]

SPEED_KMH = {"trunk": 50.0, "main": 40.0, "branch": 30.0}
"""Driving speed per road grade (:data:`layers.vocabulary.ROAD_GRADE`), km/h: the middle of
the design speeds of urban roads (CJJ 37: 主干路 40–60, 次干路 30–50, 支路 20–40)."""
DEFAULT_KMH = 30.0
"""Speed on a road of unknown grade, and on the access legs to and from the network."""
ACCESS_MS = DEFAULT_KMH / 3.6
DETOUR = 1.3
"""Road distance ≈ straight line × this where the network does not reach a target."""
NEAR_M = 50.0
"""Sites are first looked for among the segments this near (a speed-up only)."""
BOUND_SLACK_M = 1e-6
"""Added to a bound that prunes candidates by the distance of their boxes
(:meth:`RoadNetwork.access`, :meth:`matching.distances.Pairs.within_reach`): rounding in a
distance measured at zone coordinates (~10⁶ m) is ~10⁻⁹ m, far below it."""
_MADE = threading.Lock()  # see RoadNetwork._cached
_T = TypeVar("_T")
_TREE0 = shapely.STRtree([])  # the pieces of no roads


@dataclass(frozen=True)
class Access:
    """Where each of a set of geometries reaches the network."""

    segment: IntArray
    """Index into :attr:`RoadNetwork.tail` etc.; -1 when there are no roads."""
    leg_m: FloatArray
    """Straight-line metres from the geometry to its access point."""
    along_m: FloatArray
    """Metres from the segment's tail to the access point."""

    @classmethod
    def concatenate(cls, parts: list[Access]) -> Access:
        """The access of consecutive sets of geometries, as one."""
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))


@dataclass(frozen=True)
class RoadDistance:
    """Road distance and time from every site of a layer to the nearest target of a kind."""

    dist_m: FloatArray
    """Metres along the shortest route, access legs included (inf: no target at all)."""
    minutes: FloatArray
    """Minutes along the fastest route (which may differ from the shortest)."""
    target: IntArray
    """The id of the target of the shortest route, -1 if none."""
    estimated: BoolArray
    """True where no target is reachable on the network: straight line × :data:`DETOUR`."""


@dataclass(frozen=True)
class Reach:
    """Per network vertex: distance and time to the nearest target of one kind."""

    dist_m: FloatArray
    time_s: FloatArray
    target: Index
    access: Access


@dataclass(frozen=True)
class RoadNetwork:
    """The noded road network as edges between vertices (two-point segments)."""

    tail: Index
    head: Index
    length_m: FloatArray
    speed_ms: FloatArray
    n_vertices: int
    ends: FloatArray
    """Per edge, the coordinates of its tail and of its head (edges × 2 × 2)."""
    road: Index
    """Per edge, the index (into the lines it was built from) of the road it lies on (of
    roads drawn over one another, the fastest)."""
    pieces: shapely.STRtree
    """The road lines cut into pieces of a few segments (:func:`matching.linework.chunks`)."""
    piece_road: IntArray
    """Per piece, the index (into the lines it was built from) of its road."""

    @classmethod
    def build(cls, lines: Geometries, grades: npt.NDArray[np.object_]) -> RoadNetwork:
        """The network of metric road centre lines ``lines`` of grade ``grades``.

        Examples
        --------
        >>> import shapely, numpy as np
        >>> cross = np.array([shapely.LineString([(0, 0), (100, 0)]),
        ...                   shapely.LineString([(50, -50), (50, 50)])])
        >>> net = RoadNetwork.build(cross, np.array(["trunk", None], dtype=object))
        >>> net.n_vertices, len(net.tail), float(net.length_m.sum())
        (5, 4, 200.0)
        """
        drawn = np.flatnonzero(~shapely.is_empty(lines) & ~shapely.is_missing(lines))
        lines, grades = lines[drawn], grades[drawn]
        if not len(lines):
            none, nowhere = np.array([], dtype=np.int32), np.zeros((0, 2, 2))
            unowned = np.array([], dtype=np.int64)
            return cls(none, none, np.array([]), np.array([]), 0, nowhere, none, _TREE0, unowned)
        parts, part_line = shapely.get_parts(lines, return_index=True)
        ends, part = node(parts)
        line = part_line[part]
        vertex, n_vertices = _vertices(ends)
        kmh = np.array([SPEED_KMH.get(g, DEFAULT_KMH) for g in grades], dtype=float)[line]
        keep = _fastest_of_parallel(vertex, n_vertices, kmh, line)
        ends, line, kmh = ends[keep], line[keep], kmh[keep]
        cut, owner = chunks(lines)
        return cls(
            vertex[keep, 0],
            vertex[keep, 1],
            np.hypot(*(ends[:, 1] - ends[:, 0]).T),
            kmh / 3.6,
            n_vertices,
            ends,
            drawn[line].astype(np.int32),
            shapely.STRtree(cut),
            drawn[owner],
        )

    @property
    def segments(self) -> shapely.STRtree:
        """The tree of the two-point segments, in edge order, made when first asked for.
        Only working out where sites reach the network (:meth:`access`) needs it, and a
        served zone keeps its network :meth:`lean`: at 100,000 parcels the segments and
        their tree take 420 bytes per parcel, and making them about 0.25 s."""
        return self._cached(
            "_segments", lambda: shapely.STRtree(np.asarray(shapely.linestrings(self.ends)))
        )

    def _cached(self, name: str, make: Callable[[], _T]) -> _T:
        """``make()``, made once, by one thread (a build's threads share one network) and
        kept as functools.cached_property keeps its values."""
        found = self.__dict__.get(name)
        if found is None:
            with _MADE:
                found = self.__dict__.get(name)
                if found is None:
                    found = self.__dict__[name] = make()
        return found

    def lean(self) -> RoadNetwork:
        """This network without the tree of its segments (:attr:`segments`), their boxes,
        nor its :attr:`chains`: what only a build needs."""
        return replace(self)

    @property
    def geometries(self) -> Geometries:
        """The two-point segments, in edge order."""
        return np.asarray(self.segments.geometries)

    def nearest_road(self, geometries: Geometries) -> tuple[IntArray, FloatArray]:
        """Index into the lines the network was built from, and metres, of the road
        nearest each metric geometry (-1 and inf when there are no roads; of equally near
        ones, the first the tree lists)."""
        road = np.full(len(geometries), -1, dtype=np.int64)
        dist = np.full(len(geometries), np.inf)
        if len(self.piece_road) and len(geometries):
            (site, piece), found = self.pieces.query_nearest(
                geometries, return_distance=True, all_matches=False
            )
            road[site], dist[site] = self.piece_road[piece], found
        return road, dist

    def access(self, geometries: Geometries) -> Access:
        """Where each metric geometry reaches the network: the nearest point of the
        nearest segment (of equally near ones, the first the tree lists; of equally near
        points on it, the first GEOS finds)."""
        n = len(geometries)
        segment = np.full(n, -1, dtype=np.int64)
        leg, along = np.full(n, np.inf), np.zeros(n)
        if not len(self.tail) or not n:
            return Access(segment, leg, along)
        # Most sites front a road: the segments in their box widened by NEAR_M hold their
        # nearest, found by a box search and vectorised distances (twice as fast as a
        # nearest-neighbour search per site); the others take that search.
        bounds = shapely.bounds(geometries)
        box = bounds + np.array([-NEAR_M, -NEAR_M, NEAR_M, NEAR_M])
        site, hit = self.segments.query(search_boxes(box))  # sorted by site
        site, hit, gap = self._measured(geometries, bounds, site, hit)
        first = nearest_in_runs(site, gap)
        near = first[gap[first] <= NEAR_M]
        segment[site[near]], leg[site[near]] = hit[near], gap[near]
        rest = np.flatnonzero(segment < 0)
        if len(rest):
            (rows, found), dist = self.segments.query_nearest(
                geometries[rest], return_distance=True, all_matches=False
            )
            segment[rest[rows]], leg[rest[rows]] = found, dist
        on = np.flatnonzero(segment >= 0)
        lines = self.geometries[segment[on]]
        on_road = shapely.get_coordinates(shapely.shortest_line(geometries[on], lines))[1::2]
        along[on] = located(self.ends[segment[on]].reshape(-1, 2), on_road)
        return Access(segment, leg, along)

    def _measured(
        self, geometries: Geometries, bounds: FloatArray, site: IntArray, hit: IntArray
    ) -> tuple[IntArray, IntArray, FloatArray]:
        """Of the (site, segment) pairs found (sorted by site, each site's in the tree's
        order), those that may hold the site's nearest segment, in the same order, and
        their distances, m.

        The distance between two bounding boxes never exceeds that between the geometries
        in them, and the distance to any one segment is at least the nearest's: so of a
        site's pairs, the one with the least box distance gives, measured, a bound that
        the others' box distances must not pass. Segments exactly as near stay (the first
        the tree lists wins). At 1,000,000 sites this measures ~40 % of the pairs."""
        segments = self.geometries
        boxes = self._cached("_boxes", lambda: segment_boxes(self.ends))
        lower = box_gap(columns(bounds), site, boxes, hit)
        first = nearest_in_runs(site, lower)
        gap = np.full(len(site), np.nan)
        gap[first] = shapely.distance(geometries[site[first]], segments[hit[first]])
        bound = np.repeat(gap[first], np.diff(np.r_[run_starts(site), len(site)]))
        keep = lower <= bound + BOUND_SLACK_M
        keep[first] = False  # measured already
        rest = np.flatnonzero(keep)
        gap[rest] = shapely.distance(geometries[site[rest]], segments[hit[rest]])
        keep[first] = True
        kept = np.flatnonzero(keep)
        return site[kept], hit[kept], gap[kept]

    @property
    def chains(self) -> Chains:
        """The network's chains (:mod:`matching.chains`), made when first asked for (by
        :meth:`reach`, which a build runs once per target kind); not kept by :meth:`lean`."""
        return self._cached("_chains", self._find_chains)

    def _find_chains(self) -> Chains:
        weights = (self.length_m, self.length_m / self.speed_ms)  # metres, seconds
        return Chains.of(self.tail, self.head, weights, self.n_vertices)

    def reach(self, targets: Geometries) -> Reach:
        """Distance (shortest route) and time (fastest route) from every vertex to the
        nearest of ``targets``; one Dijkstra run each, from every target at once.

        Each target is a vertex of its own, joined to both ends of its access segment's
        chain by its access leg plus the metres along the chain to that end."""
        access = self.access(targets)
        on = np.flatnonzero(access.segment >= 0)
        n = self.n_vertices
        if not len(on):
            none = np.full(n, np.inf)
            return Reach(none, none, np.full(n, -1, dtype=np.int32), access)
        seg, along = access.segment[on], access.along_m[on]
        legs = (access.leg_m[on], access.leg_m[on] / ACCESS_MS)
        alongs = (along, along / self.speed_ms[seg])
        (dist_m, source), (time_s, _) = (
            self.chains.nearest(k, seg, alongs[k], legs[k]) for k in (0, 1)
        )
        target = np.where(source >= 0, on[np.maximum(source, 0)], -1)
        return Reach(dist_m, time_s, target.astype(np.int32), access)

    def distances(
        self,
        sites: Access,
        reach: Reach,
        ids: IntArray,
        straight: Callable[[IntArray], tuple[FloatArray, IntArray]],
    ) -> RoadDistance:
        """Road distance and time from each site (its :class:`Access`) to the nearest
        target of ``reach``, named by ``ids`` (one per target). Where the network does not
        reach, the straight line × :data:`DETOUR` stands in: ``straight(rows)`` gives the
        metres to the nearest target of those sites (inf if none) and its id."""
        n = len(sites.segment)
        dist, time_s = np.full(n, np.inf), np.full(n, np.inf)
        target = np.full(n, -1, dtype=np.int64)
        on = np.flatnonzero(sites.segment >= 0)
        if len(on) and self.n_vertices:
            seg, along = sites.segment[on], sites.along_m[on]
            rest, speed = self.length_m[seg] - along, self.speed_ms[seg]
            tail, head = self.tail[seg], self.head[seg]
            by_tail, by_head = along + reach.dist_m[tail], rest + reach.dist_m[head]
            best = np.minimum(by_tail, by_head)
            found = np.where(by_tail <= by_head, reach.target[tail], reach.target[head])
            fastest = np.minimum(
                along / speed + reach.time_s[tail], rest / speed + reach.time_s[head]
            )
            # A target on the site's own segment is reached along it, not via an end.
            t = reach.access
            near = np.flatnonzero(np.isin(seg, t.segment))  # of the sites, those a target is on
            for j in np.flatnonzero(t.segment >= 0):
                here = near[seg[near] == t.segment[j]]
                if not len(here):
                    continue
                gap = np.abs(along[here] - t.along_m[j])
                direct = gap + t.leg_m[j]
                closer = direct < best[here]
                best[here] = np.minimum(best[here], direct)
                found[here] = np.where(closer, j, found[here])
                fastest[here] = np.minimum(
                    fastest[here], gap / speed[here] + t.leg_m[j] / ACCESS_MS
                )
            dist[on] = sites.leg_m[on] + best
            time_s[on] = sites.leg_m[on] / ACCESS_MS + fastest
            target[on] = np.where(found >= 0, ids[np.maximum(found, 0)], -1) if len(ids) else -1
        estimated = np.zeros(n, dtype=bool)
        unreached = np.flatnonzero(~np.isfinite(dist))
        if len(unreached):
            straight_m, straight_target = straight(unreached)
            rows = unreached[np.isfinite(straight_m)]
            estimated[rows] = True
            dist[rows] = straight_m[np.isfinite(straight_m)] * DETOUR
            target[rows] = straight_target[np.isfinite(straight_m)]
            time_s[rows] = dist[rows] / ACCESS_MS
        return RoadDistance(dist, time_s / 60.0, target, estimated)


def _vertices(ends: FloatArray) -> tuple[Index, int]:
    """The vertices of the noded segments ``ends`` (segments × 2 × 2): per segment, the
    numbers of its tail and head (points with equal coordinates are one vertex, numbered
    in order of x, then y), and how many there are.

    A segment's tail is mostly the head of the one before (along a line), so only the
    heads and the other tails are sorted, as x + iy (three times faster than rows)."""
    continues = np.zeros(len(ends), dtype=bool)
    continues[1:] = np.all(ends[1:, 0] == ends[:-1, 1], axis=1)
    points = np.r_[ends[:, 1], ends[~continues, 0]]
    xy, number = np.unique(points[:, 0] + 1j * points[:, 1], return_inverse=True)
    vertex = np.empty((len(ends), 2), dtype=np.int32)
    vertex[:, 1] = number[: len(ends)]
    vertex[~continues, 0] = number[len(ends) :]
    after = np.flatnonzero(continues)
    vertex[after, 0] = vertex[after - 1, 1]
    return vertex, len(xy)


def _fastest_of_parallel(
    vertex: Index, n_vertices: int, kmh: FloatArray, line: IntArray
) -> IntArray:
    """The segments to keep, in order: of segments between the same two vertices (roads
    drawn over one another), the one of the fastest road, of equally fast ones that of
    the first line, of one line the first."""
    lo, hi = vertex.min(axis=1).astype(np.int64), vertex.max(axis=1)
    pair = lo * n_vertices + hi
    order = np.argsort(pair, kind="stable")
    again = np.zeros(len(pair) + 1, dtype=bool)  # whether each is that before's pair
    again[1:-1] = pair[order][1:] == pair[order][:-1]
    drawn_again = order[again[1:] | again[:-1]]  # by pair, each pair's in order
    if not len(drawn_again):
        return np.arange(len(pair))
    best = drawn_again[np.lexsort((line[drawn_again], -kmh[drawn_again], pair[drawn_again]))]
    keep = np.ones(len(pair), dtype=bool)
    keep[drawn_again] = False
    keep[firsts(best, pair)] = True
    return np.flatnonzero(keep)
