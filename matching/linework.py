"""Array helpers for line work in a metric CRS: lines cut into short pieces for a fast
tree search, where points lie along two-point segments, box gaps, and runs of sorted keys.

Used by the road network (:mod:`matching.roadnet`) and the site-to-node distances
(:mod:`matching.distances`); pure NumPy and shapely, no state.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Index = npt.NDArray[np.int32]
"""Positions a zone keeps (its edges' vertices, its utility pairs and their offsets):
half the memory of int64, and far more than a zone's vertices or pairs will number."""
Geometries = npt.NDArray[np.object_]

CHUNK = 8
"""Segments per piece of a road line (:func:`chunks`): the road nearest a site is looked
up among them."""


def chunks(lines: Geometries) -> tuple[Geometries, IntArray]:
    """``lines`` cut into pieces of :data:`CHUNK` consecutive segments (the last piece of
    a line may have fewer), and the line each piece is of.

    A whole line's box is too large to search fast; pieces of a few segments search as
    fast as single segments, and there are :data:`CHUNK` times fewer to make. A point is
    within a distance of a piece exactly when it is of one of the piece's segments. The
    parts of a multi-line are cut apart: no piece bridges the gap between two."""
    parts, part_line = shapely.get_parts(lines, return_index=True)
    coords, owner = shapely.get_coordinates(parts, return_index=True)
    segment = np.flatnonzero(owner[1:] == owner[:-1])  # where each segment starts
    k = np.arange(len(segment))
    new_line = np.r_[True, owner[segment][1:] != owner[segment][:-1]]
    in_line = k - np.maximum.accumulate(np.where(new_line, k, 0))
    start = np.flatnonzero(in_line % CHUNK == 0)  # a piece's segments: start to next start
    first, end = segment[start], segment[np.r_[start[1:], len(segment)][: len(start)] - 1] + 1
    counts = end + 1 - first
    at = ranges(first, counts)
    pieces = shapely.linestrings(coords[at], indices=np.repeat(np.arange(len(first)), counts))
    return np.asarray(pieces), part_line[owner[first]]


def located(ends: FloatArray, points: FloatArray) -> FloatArray:
    """Metres from the start of each two-point segment (``ends``: coordinate rows, two per
    segment) to the point of it nearest ``points`` (rows), as GEOS's ``line_locate_point``
    measures them (``LineSegment::projectionFactor`` clamped to [0, 1], times the length),
    in the same float64 steps, so to the bit, but without a point object per segment
    (GEOS's own cases for a point at either end give the same as the formula)."""
    x0, y0, x1, y1 = (np.ascontiguousarray(ends[k::2, j]) for k in (0, 1) for j in (0, 1))
    px, py = np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(points[:, 1])
    dx, dy = x1 - x0, y1 - y0
    with np.errstate(invalid="ignore", divide="ignore"):  # a segment of no length: NaN
        factor = ((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy)
    length = np.sqrt(dx * dx + dy * dy)
    return np.where(factor <= 0.0, 0.0, np.where(factor <= 1.0, factor * length, length))


def box_gap(a: FloatArray, i: IntArray, b: FloatArray, j: IntArray) -> FloatArray:
    """Distance between boxes ``a[:, i]`` and ``b[:, j]`` (:func:`columns`)."""
    gap = []
    for lo, hi in ((0, 2), (1, 3)):
        before = b[lo][j] - a[hi][i]
        np.maximum(before, a[lo][i] - b[hi][j], out=before)
        gap.append(np.maximum(before, 0.0, out=before))
    return np.asarray(np.hypot(gap[0], gap[1]))


def columns(bounds: FloatArray) -> FloatArray:
    """Boxes (rows of minx, miny, maxx, maxy, as :func:`shapely.bounds` gives them) as
    four contiguous columns, as :func:`box_gap` takes them: a column is gathered faster."""
    return np.ascontiguousarray(bounds.T)


def search_boxes(bounds: FloatArray) -> Geometries:
    """Geometries whose boxes are ``bounds`` (rows of minx, miny, maxx, maxy), to search a
    tree by box: the boxes' diagonals, made in half the time of the boxes as polygons
    (0.28 against 0.54 s per million). The box of an empty geometry (NaN) is None, as
    :func:`shapely.box` makes it: a line of NaN would meet every box.

    >>> tree = shapely.STRtree([shapely.Point(5, 5)])
    >>> tree.query(search_boxes(np.array([[0, 0, 10, 10], [20, 0, 30, 10], [np.nan] * 4])))
    array([[0],
           [0]])
    """
    boxes = np.asarray(shapely.linestrings(np.nan_to_num(bounds).reshape(-1, 2, 2)))
    boxes[np.isnan(bounds).any(axis=1)] = None
    return boxes


def segment_boxes(ends: FloatArray) -> FloatArray:
    """The boxes of two-point segments (``ends``: segments × 2 × 2) as :func:`columns`,
    equal to their geometries' :func:`shapely.bounds` without making them."""
    low, high = ends.min(axis=1), ends.max(axis=1)
    return columns(np.c_[low, high])


def ranges(start: IntArray, count: IntArray) -> IntArray:
    """The runs ``start[k]``, ``start[k] + 1``, … of ``count[k]`` integers each, one after
    another.

    >>> ranges(np.array([10, 0, 5]), np.array([2, 0, 3])).tolist()
    [10, 11, 5, 6, 7]
    """
    return np.repeat(start - np.cumsum(count) + count, count) + np.arange(count.sum())


def run_starts(key: IntArray) -> IntArray:
    """Where each run of equal ``key`` (sorted) starts."""
    return np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else key


def nearest_in_runs(key: IntArray, value: FloatArray) -> IntArray:
    """Per run of equal ``key`` (sorted), the position of its least ``value``, the first
    of equal ones."""
    if not len(key):
        return key
    starts = run_starts(key)
    least = np.repeat(np.minimum.reduceat(value, starts), np.diff(np.r_[starts, len(key)]))
    return firsts(np.flatnonzero(value == least), key)


def firsts(order: IntArray, key: IntArray) -> IntArray:
    """The first of ``order`` (positions sorted by ``key`` first) for each value of key."""
    if not len(order):
        return order
    return order[np.r_[True, key[order][1:] != key[order][:-1]]]
