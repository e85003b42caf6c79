"""Road centre lines noded: their two-point segments split wherever two of them cross or
touch, so that roads that cross meet at a vertex of the network (:mod:`matching.roadnet`).

GEOS does this (``shapely.node``) with an iterated noder: at 1,000,000 parcels 3.4–4.4 s
of CPU, the longest single step of a zone's build. Here the segments that may meet are
found on a grid (:func:`_near`), and each such pair is told apart by
the signs of four orientation determinants: in NumPy, with Shewchuk's error bound for
them (``ccwerrboundA``), and exactly (:class:`fractions.Fraction`) for the few pairs
the bound leaves in doubt (a road drawn on another, an end drawn on a road). A pair

- *crosses* when each segment has the other's ends strictly on either side: both are
  split at the point where their lines meet (in floating point, and the same point for
  both, so that they share a vertex);
- *touches* where an end of one lies exactly on the other (zero orientation, within its
  box): a road ending on another, two roads meeting end to end, or a stretch drawn
  twice (collinear), where each is split at the other's ends.

No other way exists for two segments to meet. Unlike GEOS's noder, crossing points are
not searched again: a point ~10⁻⁹ m off its two segments joins those two, which is all
the network needs. One join is made where GEOS makes none: the end of a road within
:data:`SNAP_M` of another road splits that road there, for a road drawn to end on
another ends a hair off it as often as not. ``tests/test_noding.py`` holds the network's
road distances to those on the lines noded by ``shapely.node``.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import numpy.typing as npt
import shapely

from matching.linework import ranges, run_starts

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Geometries = npt.NDArray[np.object_]

SNAP_M = 1e-3
"""An end of a road this near another road is on it: a road drawn to end on another is
joined to it where rounding leaves its end a hair off (~10⁻¹⁰ m at zone coordinates),
as it does half the time, on either side."""
CCW_ERROR = (3.0 + 16.0 * 2.0**-53) * 2.0**-53
"""Shewchuk's ``ccwerrboundA``: an orientation determinant in floating point has the sign
of the exact one when it is at least this times the sum of its two products' sizes."""


def node(lines: Geometries) -> tuple[FloatArray, IntArray]:
    """The two-point segments of ``lines`` (metric LineStrings) split wherever two cross
    or touch: their coordinates (segments × 2 × 2), each in its line's direction and
    the segments of a line in order along it, and the line each is of. Segments of no
    length (repeated points) are left out.

    Examples
    --------
    >>> cross = np.array([shapely.LineString([(0, 0), (100, 0)]),
    ...                   shapely.LineString([(50, -50), (50, 50)])])
    >>> ends, line = node(cross)
    >>> ends[:, 0].tolist(), line.tolist()
    ([[0.0, 0.0], [50.0, 0.0], [50.0, -50.0], [50.0, 0.0]], [0, 0, 1, 1])
    """
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    moved = np.any(coords[1:] != coords[:-1], axis=1)
    start = np.flatnonzero((owner[1:] == owner[:-1]) & moved)
    a, b, line = coords[start], coords[start + 1], owner[start]
    i, j = _candidates(a, b, start)
    new = np.r_[True, line[1:] != line[:-1]]  # the segment that begins each line
    ends = np.r_[new[1:], True]
    at, point = zip(_meetings(a, b, i, j), _ends_on(a, b, i, j, new, ends), strict=True)
    pieces, segment = _split(a, b, np.concatenate(at), np.concatenate(point))
    return pieces, line[segment]


def _candidates(a: FloatArray, b: FloatArray, start: IntArray) -> tuple[IntArray, IntArray]:
    """The pairs (i < j) of segments that may meet or come within :data:`SNAP_M` of each
    other (:func:`_near`), less those consecutive in one line that turn by less than a
    half turn (they share an end and meet nowhere else)."""
    i, j = _near(a, b)
    onward = start[j] == start[i] + 1
    back = np.einsum("ij,ij->i", b[i] - a[i], b[j] - a[j]) < 0  # could run back over i
    keep = ~onward | back
    return i[keep], j[keep]


def _near(a: FloatArray, b: FloatArray) -> tuple[IntArray, IntArray]:
    """The pairs (i < j) of segments ``a`` → ``b`` that have pieces (:func:`_pieces`) in
    one cell of a square grid whose boxes, widened by :data:`SNAP_M`, meet: among them
    every pair within :data:`SNAP_M` of each other (the point halfway between their two
    nearest points is in both widened boxes, so in a cell of both).

    A grid in NumPy rather than a tree of boxes: a tree needs a geometry per box, which
    shapely makes holding the GIL, and the build runs this beside other work on threads
    (at 1,000,000 parcels 0.7 against 1.4 s, and two at once take as long as one)."""
    if not len(a):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    of, lo, hi, origin, cell = _pieces(a, b)
    first, last = (np.floor((corner - origin) / cell).astype(np.int64) for corner in (lo, hi))
    span = last - first + 1
    count = span[:, 0] * span[:, 1]  # cells per piece: at most 3 × 3
    piece = np.repeat(np.arange(len(of)), count)
    k = ranges(np.zeros_like(count), count)
    cell_x, cell_y = first[piece, 0] + k % span[piece, 0], first[piece, 1] + k // span[piece, 0]
    key = cell_x * (int(cell_y.max()) + 1) + cell_y
    order = np.argsort(key)
    key, piece = key[order], piece[order]
    # Each piece pairs with those after it in its cell's run.
    run = run_starts(key)
    after = np.repeat(np.r_[run[1:], len(key)], np.diff(np.r_[run, len(key)]))
    after -= np.arange(len(key)) + 1
    u, v = np.repeat(piece, after), piece[ranges(np.arange(1, len(key) + 1), after)]
    meet = np.all((lo[u] <= hi[v]) & (lo[v] <= hi[u]), axis=1) & (of[u] != of[v])
    i, j = of[u[meet]], of[v[meet]]
    pair = np.sort(np.minimum(i, j) * len(a) + np.maximum(i, j))
    pair = pair[run_starts(pair)]  # once, though in several cells
    return pair // len(a), pair % len(a)


def _pieces(
    a: FloatArray, b: FloatArray
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, float]:
    """The segments ``a`` → ``b`` cut for :func:`_near` into pieces no longer than a cell
    of its grid, so that each piece's widened box lies in at most 3 × 3 cells (mostly 1
    or 2): per piece its segment and its box widened by :data:`SNAP_M` (low and high
    corners), then the grid's origin and cell size.

    A cell is 1.5 times the median segment: a cell as large as long straight roads' would
    hold hundreds of the short segments that draw curves and town streets, and pair each
    with every other. It is made larger where there would otherwise be more than 9 times
    as many pieces as segments."""
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    origin, top = np.minimum(a, b).min(axis=0) - 2 * SNAP_M, np.maximum(a, b).max(axis=0)
    # Cells are numbered in int64: at most 2³⁰ along a side.
    cell = max(
        1.5 * float(np.median(length)),
        float(length.sum()) / (8 * len(a)),
        float((top - origin).max()) / 2**30,
        16 * SNAP_M,
    )
    count = np.ceil(length / cell).astype(np.int64)
    of = np.repeat(np.arange(len(a)), count)
    step = 1.0 / count[of]
    share = ranges(np.zeros_like(count), count) * step
    p = a[of] + share[:, None] * d[of]
    q = a[of] + np.minimum(share + step, 1.0)[:, None] * d[of]
    return of, np.minimum(p, q) - SNAP_M, np.maximum(p, q) + SNAP_M, origin, cell


def _ends_on(
    a: FloatArray, b: FloatArray, i: IntArray, j: IntArray, first: BoolArray, last: BoolArray
) -> tuple[IntArray, FloatArray]:
    """The ends of lines within :data:`SNAP_M` of a segment of the pairs ``i``, ``j``
    (``first``, ``last``: per segment, whether it begins or ends its line): the segment
    to split and the end."""
    at, where = [], []
    for end, is_end, of, on in (
        (a, first, j, i),
        (b, last, j, i),
        (a, first, i, j),
        (b, last, i, j),
    ):
        rows = np.flatnonzero(is_end[of])
        point, lo, hi = end[of[rows]], a[on[rows]], b[on[rows]]
        d = hi - lo
        along = np.clip(np.einsum("ij,ij->i", point - lo, d) / np.einsum("ij,ij->i", d, d), 0, 1)
        near = np.hypot(*(lo + along[:, None] * d - point).T) <= SNAP_M
        at.append(on[rows[near]])
        where.append(point[near])
    return np.concatenate(at), np.concatenate(where)


def _meetings(
    a: FloatArray, b: FloatArray, i: IntArray, j: IntArray
) -> tuple[IntArray, FloatArray]:
    """Where the pairs of segments ``i``, ``j`` meet: the segment to split and the point,
    once per pair and segment (points equal to a segment's end included)."""
    ai, bi, aj, bj = a[i], b[i], a[j], b[j]
    sides = np.stack([_sign(ai, bi, aj), _sign(ai, bi, bj), _sign(aj, bj, ai), _sign(aj, bj, bi)])
    for k in np.flatnonzero(np.any(sides == 2, axis=0)):  # in doubt: exactly
        ends = (ai[k], bi[k], aj[k], bj[k])
        sides[:, k] = [_exact_sign(*ends[p], *ends[q], *ends[r]) for p, q, r in _TRIPLES]
    crossing = np.flatnonzero((sides[0] * sides[1] < 0) & (sides[2] * sides[3] < 0))
    point = _crossing(ai[crossing], bi[crossing], aj[crossing], bj[crossing])
    at, where = [i[crossing], j[crossing]], [point, point]
    for side, end, on in ((0, aj, i), (1, bj, i), (2, ai, j), (3, bi, j)):
        rows = np.flatnonzero(sides[side] == 0)
        lo, hi = np.minimum(a[on[rows]], b[on[rows]]), np.maximum(a[on[rows]], b[on[rows]])
        rows = rows[np.all((lo <= end[rows]) & (end[rows] <= hi), axis=1)]
        at.append(on[rows])
        where.append(end[rows])
    return np.concatenate(at), np.concatenate(where)


_TRIPLES = ((0, 1, 2), (0, 1, 3), (2, 3, 0), (2, 3, 1))


def _sign(p: FloatArray, q: FloatArray, r: FloatArray) -> npt.NDArray[np.int8]:
    """Per row, the side of the line p→q that r lies on: 1 left, -1 right, 0 on it, 2 not
    certain in floating point (Shewchuk's ``orient2d``, its first stage)."""
    left = (q[:, 0] - p[:, 0]) * (r[:, 1] - p[:, 1])
    right = (q[:, 1] - p[:, 1]) * (r[:, 0] - p[:, 0])
    det = left - right
    # Products of opposite signs, or one of them zero, cannot cancel: the sign is exact.
    certain = ((left > 0) != (right > 0)) | (left == 0) | (right == 0)
    certain |= np.abs(det) >= CCW_ERROR * (np.abs(left) + np.abs(right))
    return np.where(certain, np.sign(det), 2).astype(np.int8)


def _exact_sign(px: float, py: float, qx: float, qy: float, rx: float, ry: float) -> int:
    """:func:`_sign` of one triple in exact rational arithmetic."""
    fx, fy = Fraction(px), Fraction(py)
    det = (Fraction(qx) - fx) * (Fraction(ry) - fy) - (Fraction(qy) - fy) * (Fraction(rx) - fx)
    return (det > 0) - (det < 0)


def _crossing(ai: FloatArray, bi: FloatArray, aj: FloatArray, bj: FloatArray) -> FloatArray:
    """Where segments that cross (not parallel) meet, within both their boxes."""
    r, s, q = bi - ai, bj - aj, aj - ai
    along = (q[:, 0] * s[:, 1] - q[:, 1] * s[:, 0]) / (r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0])
    point = ai + along[:, None] * r
    lo = np.maximum(np.minimum(ai, bi), np.minimum(aj, bj))
    hi = np.minimum(np.maximum(ai, bi), np.maximum(aj, bj))
    return np.asarray(np.clip(point, lo, hi))


def _split(
    a: FloatArray, b: FloatArray, at: IntArray, point: FloatArray
) -> tuple[FloatArray, IntArray]:
    """Segments ``a`` → ``b`` split at ``point`` (on segment ``at``): the pieces'
    coordinates and the segment each is of, in order of segment and along it."""
    inner = ~(np.all(point == a[at], axis=1) | np.all(point == b[at], axis=1))
    at, point = at[inner], point[inner]
    d = b[at] - a[at]
    along = np.einsum("ij,ij->i", point - a[at], d) / np.einsum("ij,ij->i", d, d)
    order = np.lexsort((along, at))
    at, point = at[order], point[order]
    again = np.zeros(len(at), dtype=bool)
    again[1:] = (at[1:] == at[:-1]) & np.all(point[1:] == point[:-1], axis=1)
    at, point = at[~again], point[~again]
    count = np.bincount(at, minlength=len(a)) + 1  # pieces per segment
    first = np.cumsum(count) - count
    tail, head = np.empty((count.sum(), 2)), np.empty((count.sum(), 2))
    tail[first], head[first + count - 1] = a, b
    # The k-th point of a segment ends its k-th piece and begins the next.
    ends_piece = ranges(first, count - 1)
    head[ends_piece], tail[ends_piece + 1] = point, point
    return np.stack([tail, head], axis=1), np.repeat(np.arange(len(a)), count)
