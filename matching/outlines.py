"""Polygons as the edges of their rings, in arrays, and distances from points to them
measured as GEOS measures them, without GEOS.

A zone build measures millions of (site, utility node) pairs: 3.9 million at a million
parcels. ``shapely.distance`` takes ~530 ns a pair there (2.7 s); the same arithmetic
over arrays of edges takes a fraction of that, and a point-to-polygon distance is simple
enough to repeat exactly: GEOS's ``DistanceOp`` gives 0 for a point inside the polygon
or on its boundary, else the least of ``Distance::pointToSegment`` over the edges of
every ring. :meth:`Outlines.distance` computes that formula in the same float64 steps,
so the distances are GEOS's to the bit (a test compares them over hostile layouts, and
all 3.9 million pairs at a million parcels are equal), but for a point within a
rounding error of an edge: GEOS's exact test of inside and the float one here may then
disagree, and one side gives 0, the other that rounding error (< 1e-9 m).

The same for two-point segments (road pieces, as sites reach the network) was tried and
left: GEOS skips the edges whose box is farther than the nearest so far, and with four
point-to-segment distances per edge, measuring every edge in arrays was slower (1M
sites: 5.2-5.5 s against 4.1-4.4 s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from matching.linework import ranges

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Geometries = npt.NDArray[np.object_]
Corners = tuple[FloatArray, IntArray]
"""Every corner of some geometries, in order, and the geometry each belongs to: what
``shapely.get_coordinates(geometries, return_index=True)`` gives."""

BATCH = 1 << 16
"""Edges measured at once (:meth:`Outlines.distance`): a dozen arrays of this many
floats, ~6 MB, stay in the processor's cache (at 2¹⁸ edges a batch the same pairs took
2.5 times as long), whatever the number of pairs."""


@dataclass(frozen=True)
class Outlines:
    """The edges of polygons' rings (the shell and holes of every part), polygon by
    polygon: edge *k* runs from ``(x0[k], y0[k])`` to ``(x1[k], y1[k])``, and polygon
    *p*'s are ``start[p]`` to ``start[p + 1]`` (none for a missing or empty one)."""

    x0: FloatArray
    y0: FloatArray
    x1: FloatArray
    y1: FloatArray
    start: IntArray

    @classmethod
    def of(cls, polygons: Geometries, corners: Corners | None = None) -> Outlines:
        """The outlines of (multi)polygons, given their ``corners`` if they are at hand
        (reading them holds the GIL: 0.4 s at a million parcels). Those of one ring (most
        parcels) are read straight from their coordinates; only the others are taken
        apart into rings."""
        kind = shapely.get_type_id(polygons)
        single = (kind == shapely.GeometryType.POLYGON) & (
            shapely.get_num_interior_rings(polygons) == 0
        )
        if corners is None:
            coords, owner = shapely.get_coordinates(polygons[single], return_index=True)
            owner = np.flatnonzero(single)[owner]
        else:
            keep = single[corners[1]]
            coords, owner = corners[0][keep], corners[1][keep]
        run = owner  # consecutive coordinates of one run are an edge
        other = np.flatnonzero(~single & (kind >= 0))
        if len(other):
            parts, part_of = shapely.get_parts(polygons[other], return_index=True)
            rings, ring_of = shapely.get_rings(parts, return_index=True)
            ring_coords, ring = shapely.get_coordinates(rings, return_index=True)
            coords = np.r_[coords, ring_coords]
            owner = np.r_[owner, other[part_of[ring_of[ring]]]]
            run = np.r_[run, len(polygons) + ring]  # rings apart from the polygons of one
        edge = np.flatnonzero(run[1:] == run[:-1])
        if len(other):  # polygon by polygon
            edge = edge[np.argsort(owner[edge], kind="stable")]
        count = np.bincount(owner[edge], minlength=len(polygons))
        start = np.r_[0, np.cumsum(count)]
        x, y = np.ascontiguousarray(coords.T)  # a column is gathered 5× faster than rows
        return cls(x[edge], y[edge], x[edge + 1], y[edge + 1], start.astype(np.int64))

    def distance(self, polygon: IntArray, x: FloatArray, y: FloatArray) -> FloatArray:
        """The distance from each point ``(x[k], y[k])`` to polygon ``polygon[k]``, as
        ``shapely.distance`` gives it (NaN for a polygon with no edges)."""
        count = self.start[polygon + 1] - self.start[polygon]
        out = np.full(len(polygon), np.nan)
        ends = np.cumsum(count)
        # Batches of whole pairs, about BATCH edges each.
        cuts = np.searchsorted(ends, np.arange(BATCH, int(ends[-1]) if len(ends) else 0, BATCH))
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(polygon)], strict=True):
            some = np.arange(lo, hi)[count[lo:hi] > 0]
            if len(some):
                out[some] = self._measured(polygon[some], x[some], y[some], count[some])
        return out

    def _measured(
        self, polygon: IntArray, x: FloatArray, y: FloatArray, count: IntArray
    ) -> FloatArray:
        edge = ranges(self.start[polygon], count)
        pair = np.repeat(np.arange(len(polygon)), count)
        px, py = x[pair], y[pair]
        ax, ay, bx, by = self.x0[edge], self.y0[edge], self.x1[edge], self.y1[edge]
        dx, dy = bx - ax, by - ay
        len2 = dx * dx + dy * dy
        with np.errstate(invalid="ignore", divide="ignore"):  # an edge of no length
            r = ((px - ax) * dx + (py - ay) * dy) / len2
            s = ((ay - py) * dx - (ax - px) * dy) / len2
            across = np.abs(s) * np.sqrt(len2)
            # Even-odd crossings of a ray from the point towards +x: inside when odd.
            crossing = ((ay > py) != (by > py)) & (px < dx * (py - ay) / dy + ax)
        to_a = np.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
        to_b = np.sqrt((px - bx) * (px - bx) + (py - by) * (py - by))
        dist = np.where(r <= 0.0, to_a, np.where(r >= 1.0, to_b, across))
        dist = np.where((ax == bx) & (ay == by), to_a, dist)
        first = np.cumsum(count) - count
        least = np.minimum.reduceat(dist, first)
        inside = np.add.reduceat(crossing.astype(np.int64), first) % 2 == 1
        return np.where(inside, 0.0, least)
