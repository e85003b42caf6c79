"""The demo zone's parks and parcels: ledgers, readiness facts, control indicators and
budgets, and the expansion area (see :mod:`layers.demo`)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import shapely

from layers.area import M2_PER_MU
from layers.demo.draw import Grid, chinese_numeral, draw_from, fake_contacts, random_dates
from layers.demo.setting import (
    EMISSION_MAX,
    ENV_STANDARDS,
    LAND_PRICE,
    LEDGER_Q,
    NONE,
    PARK_THEMES,
    SYNTHETIC,
    THEME_LAND_USE,
    TIGHT_EMISSION_PARK,
    TIGHT_ENERGY_PARK,
    BoolArray,
    Columns,
    FloatArray,
    IntArray,
    ObjArray,
)
from layers.vocabulary import ASSESSMENTS, FACTS, POLLUTANTS, UTILITY_FACTS


def parks(rng: np.random.Generator, grid: Grid, rects: IntArray) -> tuple[Columns, list[str]]:
    """Parks and their quarterly ledgers; one is nearly out of energy quota, one of emissions."""
    p, t = len(rects), len(PARK_THEMES)
    themes = [PARK_THEMES[i % t] for i in range(p)]
    short = [
        th[0] + (f"{chinese_numeral(i // t + 1)}区" if i >= t else "")
        for i, th in enumerate(themes)
    ]
    total = np.round(rng.uniform(100_000, 400_000, p), -3)
    share = rng.uniform(0.55, 0.9, p)
    share[TIGHT_ENERGY_PARK] = rng.uniform(0.975, 0.99)  # a big PV plant would not fit
    i0, j0, i1, j1 = rects.T
    cols: Columns = {
        "park_id": [f"P{i + 1:02d}" for i in range(p)],
        "name": [f"{s}（演示）" for s in short],
        "name_en": [
            f"{th[1]}{f' {i // t + 1}' if i >= t else ''} (demo)" for i, th in enumerate(themes)
        ],
        "industries": [th[2] for th in themes],
        "desk_tel": [f"0354-000{d:04d}（演示）" for d in rng.integers(0, 10**4, p)],
        "ledger_q": LEDGER_Q,
        "egy_total": total,
        "egy_alloc": np.round(total * share, -1),
        "note_int": SYNTHETIC,
        # Parks follow road centre lines; a vertex every 250 m keeps the edges true in 4490.
        "geometry": shapely.segmentize(
            shapely.box(grid.xs[i0], grid.ys[j0], grid.xs[i1], grid.ys[j1]), 250.0
        ),
    }
    for key, most in EMISSION_MAX.items():
        cap = np.round(rng.uniform(10, 40, p) * most)
        used = rng.uniform(0.3, 0.8, p)
        if key in ("so2", "nox", "vocs"):
            used[TIGHT_EMISSION_PARK] = rng.uniform(0.94, 0.99)
        cols[f"{key}_cap"], cols[f"{key}_used"] = cap, np.round(cap * used, 1)
    return cols, short


def _facts(rng: np.random.Generator, n: int) -> tuple[Columns, BoolArray]:
    """Readiness facts in a realistic mix, and which parcels have no indicators set yet.

    ~35 % ready (everything done or exempt), ~40 % partly ready (land in hand, but 1–3
    named assessments, utilities or the levelling planned or missing), ~25 % not ready
    (land not acquired or not cleared).
    """
    keys = list(FACTS)
    level = rng.choice(3, n, p=[0.35, 0.40, 0.25])  # 0 ready, 1 partly ready, 2 not ready
    st = np.full((n, len(keys)), "done", dtype=object)
    for key, share in (("as_min", 0.2), ("as_rel", 0.1), ("u_heat", 0.15), ("u_gas", 0.08)):
        st[rng.random(n) < share, keys.index(key)] = "exempt"  # 不涉及: nothing to assess
    # Partly ready: a weighted draw of 1–3 gaps without replacement (Efraimidis–Spirakis);
    # assessments weigh double, as they are what usually holds land back.
    gap_keys = [*ASSESSMENTS, "level", *UTILITY_FACTS]
    weight = np.array([2.0 if key in ASSESSMENTS else 1.0 for key in gap_keys])
    order = np.argsort(-(rng.random((n, len(gap_keys))) ** (1 / weight)), axis=1)
    n_gaps, gap_st = rng.integers(1, 4, n), np.where(rng.random((n, 3)) < 0.4, "missing", "planned")
    for g in range(3):
        rows = np.flatnonzero((level == 1) & (n_gaps > g))
        st[rows, np.array([keys.index(k) for k in gap_keys])[order[rows, g]]] = gap_st[rows, g]
    # Not ready: land not acquired (half) or acquired but not cleared; the rest is a mix.
    bad = np.flatnonzero(level == 2)
    mix = draw_from(rng, len(bad) * len(keys), {"done": 0.5, "planned": 0.3, "missing": 0.2})
    st[bad] = np.where(st[bad] == "exempt", "exempt", mix.reshape(len(bad), len(keys)))
    unheld = np.where(rng.random((len(bad), 2)) < 0.5, "planned", "missing")
    st[bad, keys.index("acq")] = np.where(rng.random(len(bad)) < 0.5, "done", unheld[:, 0])
    st[bad, keys.index("clear")] = unheld[:, 1]
    done = random_dates(rng, st.size, "2021-03-01", "2026-06-30").reshape(st.shape)
    planned = random_dates(rng, st.size, "2026-08-01", "2027-12-31").reshape(st.shape)
    dates = np.where(st == "done", done, np.where(st == "planned", planned, NONE))
    facts: Columns = {}
    for c, key in enumerate(keys):
        facts[f"{key}_st"], facts[f"{key}_dt"] = st[:, c], dates[:, c]
    unset = (level > 0) & (rng.random(n) < np.where(level == 1, 0.08, 0.2))
    return facts, unset


def _indicators(rng: np.random.Generator, n: int, unset: BoolArray) -> Columns:
    """Standard-land control indicators (bounds and due dates); none where ``unset``."""

    def pick(*values: float) -> FloatArray:
        return np.where(unset, np.nan, rng.choice(values, n))

    def span(lo: float, hi: float, decimals: int) -> FloatArray:
        return np.where(unset, np.nan, np.round(rng.uniform(lo, hi, n), decimals))

    cols: Columns = {f"{key}_{end}": np.full(n, np.nan) for key in
                     ("inv", "tax", "out", "egy", "far", "dens", "green", "height")
                     for end in ("lo", "hi")}  # fmt: skip
    cols.update(inv_lo=span(250, 450, -1), tax_lo=span(15, 35, 0), out_lo=span(300, 800, -1),
                egy_hi=np.round(span(6, 16, 0) * 0.05, 2), far_lo=pick(1.0, 1.2, 1.5),
                far_hi=pick(2.0, 2.5, 3.0), dens_lo=pick(30, 35, 40), green_hi=pick(10, 15, 20),
                height_hi=pick(24, 30, 40, 50))  # fmt: skip
    # The "4" economic indicators must be met by a date (达产); planning conditions need not.
    due = draw_from(rng, n, {dt.date(y, 12, 31): 1 / 3 for y in (2028, 2029, 2030)})
    for key in ("inv", "tax", "out", "egy", "far", "dens", "green", "height"):
        economic = key in ("inv", "tax", "out", "egy")
        cols[f"{key}_due"] = np.where(~unset & economic, due, NONE)
    return cols


def budgets(rng: np.random.Generator, n: int, share: float, scale: float) -> Columns:
    """Energy quota (tce/年) and emission allowances for a ``share`` of rows, NaN elsewhere."""
    has = rng.random(n) < share
    cols = {"egy_tce": np.where(has, np.round(rng.uniform(1000, 30000, n) * scale, -1), np.nan)}
    for key in POLLUTANTS:
        amount = rng.uniform(0.05, 1, n) * EMISSION_MAX[key] * scale
        cols[f"{key}_t"] = np.where(has, np.round(amount, 1), np.nan)
    return cols


def _cut(grid: Grid, n: int) -> tuple[ObjArray, IntArray]:
    """The first ``n`` parcels cut from the blocks that are not built up, from the
    south-west: their rectangles and the block each lies in."""
    k = grid.k
    ny = np.where((k >= 4) & (k % 2 == 0), 2, 1)
    nx = np.maximum(k // ny, 1)
    widths = np.where(np.arange(4) < nx[:, None], grid.xfrac, 0.0)
    fx = np.cumsum(np.column_stack([np.zeros(len(k)), widths]), axis=1)
    x0, y0, x1, y1 = (grid.inner[:, c] for c in range(4))
    # Neighbours share the very same cut coordinates: they touch, without gap or overlap.
    xc = np.round(x0[:, None] + (x1 - x0)[:, None] * fx / fx[:, -1:], 2)
    ymid = y0 + (y1 - y0) * np.where(ny == 2, grid.yfrac, 1.0)
    yc = np.round(np.column_stack([y0, ymid, y1]), 2)
    valid = (np.arange(2)[:, None] < ny[:, None, None]) & (np.arange(4) < nx[:, None, None])
    blk, iy, ix = (a[:n] for a in np.nonzero(valid & (k > 0)[:, None, None]))
    geometry = shapely.box(xc[blk, ix], yc[blk, iy], xc[blk, ix + 1], yc[blk, iy + 1])
    return geometry, blk


def parcels(
    rng: np.random.Generator, grid: Grid, n: int, park_of_block: IntArray, park_names: list[str]
) -> Columns:
    """The first ``n`` parcels of the blocks that are not built up, from the south-west."""
    geometry, blk = _cut(grid, n)
    area_mu = shapely.area(geometry) / M2_PER_MU
    park = park_of_block[blk]
    seq = pd.Series(park).groupby(park).cumcount().to_numpy() + 1
    facts, unset = _facts(rng, n)
    # Parks zone their land for their industries, so land use clusters by park (which is
    # what lets a big project find enough contiguous land of the right class).
    theme = park % len(PARK_THEMES)
    land_use = np.empty(n, dtype=object)
    for t, shares in enumerate(THEME_LAND_USE):
        rows = np.flatnonzero(theme == t)
        land_use[rows] = draw_from(rng, len(rows), shares)
    # Land still to be acquired mostly needs approval as new construction land (增量).
    new = rng.random(n) < np.where(facts["acq_st"] == "done", 0.45, 0.85)
    off = rng.random(n) < 0.03  # declared area deliberately 3–8 % off, so the warning shows
    decl = area_mu * (1 + off * rng.choice([-1, 1], n) * rng.uniform(0.03, 0.08, n))
    base = pd.Series(land_use).map(LAND_PRICE)
    price = np.round(np.clip(base.to_numpy(dtype=float) + rng.normal(0, 3, n), 15, 40), 1)
    kva = np.clip(np.round(area_mu * rng.uniform(40, 120, n), -2), 2000, 40000)
    water = np.maximum(np.round(area_mu * rng.uniform(3, 10, n), -1), 100)
    # Former holders of existing stock land (存量) can be asked about the site.
    contact = np.where(~new & (rng.random(n) < 0.5), fake_contacts(rng, n, "工", True), NONE)
    status = {"available": 0.78, "reserved": 0.1, "transferred": 0.07, "withdrawn": 0.05}
    digits = max(3, len(str(n)))
    return {
        "parcel_id": [f"JZ2026-{i + 1:0{digits}d}" for i in range(n)],
        "name": [f"{park_names[p]}{s}号地块（演示）" for p, s in zip(park, seq, strict=True)],
        "park_id": [f"P{p + 1:02d}" for p in park],
        "land_use": land_use,
        "stock_cat": np.where(new, "new", "existing"),
        "list_year": 2026,
        "status": draw_from(rng, n, status),
        "decl_mu": np.round(decl, 2),
        "price_wmu": price,
        "floor_wmu": np.round(price * rng.uniform(0.85, 0.95, n), 1),
        "env_std": draw_from(rng, n, ENV_STANDARDS),
        **_indicators(rng, n, unset),
        "power_kva": kva,
        "power_kv": np.select([kva <= 8000, kva <= 25000], [10.0, 35.0], 110.0),
        "water_m3d": water,
        "gas_nm3h": np.round(area_mu * rng.uniform(2, 8, n), -1),
        "heat_mw": np.round(area_mu * rng.uniform(0.02, 0.08, n), 1),
        "sewage_m3d": np.round(water * rng.uniform(0.6, 0.85, n), -1),
        **budgets(rng, n, 0.2, 1.0),
        **facts,
        "contact": contact,
        "note_int": np.where(off, f"{SYNTHETIC}；申报面积待核实 (area under review)", SYNTHETIC),
        "geometry": geometry,
    }


def planning_limits(rng: np.random.Generator, cols: Columns) -> Columns:
    """The planning limits net buildable area reads: a building density cap (建筑密度上限)
    where the parcel has control indicators, and a setback (建筑退线) on most parcels."""
    n = len(cols["parcel_id"])
    unset = np.isnan(np.asarray(cols["dens_lo"], dtype=float))
    cap = np.where(unset, np.nan, rng.choice([50.0, 55.0, 60.0], n))
    setback = draw_from(rng, n, {5.0: 0.4, 8.0: 0.3, 10.0: 0.1, np.nan: 0.2})
    return {**cols, "dens_hi": cap, "setback_m": setback.astype(float)}


EXPANSION_PARK = "P02"  # equipment manufacturing: heavy industry needs the room
EXPANSION_MU = 3000.0


def expansion_area(cols: Columns) -> Columns:
    """Make a compact cluster of the equipment park one expansion area (扩区).

    Like the 4,800 亩 of empty land 晶科 started from: ~3,000 亩 of available 二类工业用地
    (new construction land, no small earmarked quotas, so the park's budget applies),
    parcels touching or across a road from each other, so a big project can be offered
    an assembled site. Smaller zones get half the park.
    """
    park = np.asarray(cols["park_id"], dtype=object)
    rows = np.flatnonzero(park == EXPANSION_PARK)
    if len(rows) < 4:
        return cols
    geometry = np.asarray(cols["geometry"])
    centres = shapely.get_coordinates(shapely.centroid(geometry[rows]))
    area = shapely.area(geometry[rows]) / M2_PER_MU
    seed = np.argmin(np.hypot(*(centres - centres.mean(axis=0)).T))
    order = np.argsort(np.hypot(*(centres - centres[seed]).T), kind="stable")
    target = min(EXPANSION_MU, 0.5 * area.sum())
    chosen = rows[order[: int(np.searchsorted(np.cumsum(area[order]), target)) + 1]]
    out = dict(cols)
    for name, value in (("status", "available"), ("land_use", "M2"), ("stock_cat", "new")):
        column = np.asarray(out[name], dtype=object).copy()
        column[chosen] = value
        out[name] = column
    for name in ("egy_tce", *(f"{key}_t" for key in POLLUTANTS)):
        column = np.asarray(out[name], dtype=float).copy()
        column[chosen] = np.nan
        out[name] = column
    note = np.asarray(out["note_int"], dtype=object).copy()
    note[chosen] = f"{SYNTHETIC}；开发区扩区 (expansion area)"
    out["note_int"] = note
    return out
