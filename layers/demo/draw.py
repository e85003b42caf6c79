"""The demo zone's road grid and park rectangles, and the small random draws every layer
uses (see :mod:`layers.demo`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from layers.area import M2_PER_MU
from layers.demo.setting import (
    K_OPTIONS,
    K_WEIGHTS,
    ROAD_WIDTH,
    SURNAMES,
    FloatArray,
    IntArray,
    ObjArray,
)


@dataclass(frozen=True)
class Grid:
    xs: FloatArray  # x of the north-south road centre lines, west → east
    ys: FloatArray  # y of the east-west road centre lines, south → north
    col: IntArray  # column and row of each block, row-major from the south-west
    row: IntArray
    inner: FloatArray  # (blocks, 4): x0, y0, x1, y1 inside the road reserves
    k: IntArray  # parcels the block is cut into; 0 for built-up blocks
    xfrac: FloatArray  # (blocks, 4): relative widths of the parcel columns
    yfrac: FloatArray  # share of the southern parcel row when a block is cut in two


def chinese_numeral(n: int) -> str:
    """Chinese numeral for 1–9999 (e.g. 105 → 一百零五), for road names like 经十二路."""
    digits, out, zero = "零一二三四五六七八九", "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十")):
        d, n = divmod(n, value)
        if d:
            out, zero = out + ("零" if zero else "") + digits[d] + unit, False
        elif out:
            zero = True
    out += ("零" if zero else "") + digits[n] if n else ""
    return out[1:] if out.startswith("一十") else out


def road_grades(index: IntArray) -> ObjArray:
    """Grade of the n-th grid line: every 4th a trunk road, every other a main road."""
    return np.where(index % 4 == 0, "trunk", np.where(index % 2 == 0, "main", "branch"))


def half_widths(index: IntArray) -> FloatArray:
    return np.array([ROAD_WIDTH[g] / 2 for g in road_grades(index)])


def draw_from(rng: np.random.Generator, n: int, weights: dict[Any, float]) -> ObjArray:
    """``n`` values drawn from a {value: probability} table."""
    return rng.choice(np.array(list(weights), dtype=object), n, p=list(weights.values()))


def random_dates(rng: np.random.Generator, n: int, start: str, end: str) -> ObjArray:
    """Uniform random ``datetime.date`` objects between two ISO dates (inclusive)."""
    lo, hi = np.datetime64(start, "D"), np.datetime64(end, "D")
    days = rng.integers(0, int((hi - lo).astype(int)) + 1, n)
    return np.asarray((lo + days).astype(object), dtype=object)


def fake_contacts(rng: np.random.Generator, n: int, title: str, mobile: bool) -> ObjArray:
    """Synthetic contacts, e.g. "王工 139-0000-1234（演示）".

    The fixed 0000 block and the 演示 mark keep them from looking like anyone's number.
    """
    names = rng.choice(SURNAMES, n)
    digits = rng.integers(0, 10**4, n)
    fmt = "139-0000-{:04d}（演示）" if mobile else "0354-000{:04d}（演示）"
    return np.array([f"{s}{title} {fmt.format(d)}" for s, d in zip(names, digits, strict=True)])


def road_grid(rng: np.random.Generator, n_parcels: int, origin: tuple[float, float]) -> Grid:
    """Grow the road grid row by row (south → north) until its blocks hold ``n_parcels``."""
    ncols = max(4, math.ceil(math.sqrt(n_parcels / 4.0 * 1.3)))  # a bit wider than tall
    xs = np.round(origin[0] + np.cumsum(np.r_[0.0, rng.uniform(380, 700, ncols)]), 2)
    half_x, cols = half_widths(np.arange(ncols + 1)), np.arange(ncols)
    ys: list[float] = [origin[1]]
    inner: list[FloatArray] = []
    ks: list[IntArray] = []
    xfrac: list[FloatArray] = []
    yfrac: list[FloatArray] = []
    while sum(int(k.sum()) for k in ks) < n_parcels:
        j = len(ks)
        ys.append(round(ys[-1] + rng.uniform(320, 600), 2))
        half_y = half_widths(np.array([j, j + 1]))
        x0, x1 = xs[:-1] + half_x[:-1], xs[1:] - half_x[1:]
        y0, y1 = np.full(ncols, ys[-2] + half_y[0]), np.full(ncols, ys[-1] - half_y[1])
        k = rng.choice(K_OPTIONS, size=ncols, p=K_WEIGHTS)
        # At most one parcel per 25 亩 of block, so that no parcel falls below 10 亩.
        cap = np.maximum((x1 - x0) * (y1 - y0) // (25 * M2_PER_MU), 1)
        k = K_OPTIONS[np.searchsorted(K_OPTIONS, np.minimum(k, cap), side="right") - 1]
        k[(cols + 3 * j) % 7 == 2] = 0  # built-up land, spread evenly over the parks
        inner.append(np.column_stack([x0, y0, x1, y1]))
        ks.append(k)
        xfrac.append(1.0 + 0.5 * rng.random((ncols, 4)))  # parcel widths vary up to 1.5×
        yfrac.append(rng.uniform(0.38, 0.62, ncols))
    nrows = len(ks)
    return Grid(xs, np.array(ys), np.tile(cols, nrows), np.repeat(np.arange(nrows), ncols),
                 np.concatenate(inner), np.concatenate(ks), np.concatenate(xfrac),
                 np.concatenate(yfrac))  # fmt: skip


def park_rects(ncols: int, nrows: int, n_parks: int) -> IntArray:
    """Parks as grid-line index rectangles (i0, j0, i1, j1): bands of roughly square parks."""
    bands = int(min(max(1, round(math.sqrt(n_parks * nrows / ncols))), nrows, n_parks))
    per_band = np.full(bands, n_parks // bands)
    per_band[: n_parks % bands] += 1
    row_cuts = np.linspace(0, nrows, bands + 1).round().astype(int)
    rects = []
    for b, count in enumerate(per_band):
        col_cuts = np.linspace(0, ncols, count + 1).round().astype(int)
        for c in range(count):
            rects.append((col_cuts[c], row_cuts[b], col_cuts[c + 1], row_cuts[b + 1]))
    return np.array(rects, dtype=np.int64)
