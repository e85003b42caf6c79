"""A synthetic demo zone (合成演示数据): every layer of a realistic but fake development zone.

The zone imitates the Jinzhong development zone (山西转型综改示范区晋中开发区) east of Yuci:
a grid of trunk, main and branch roads; the blocks between them are cut into parcels set
back by half a road width, so parcels across a road are one road width apart while
neighbours inside a block touch (useful for parcel assembly). Every seventh block is
built-up land holding the idle and standard factories and the utility nodes. Parks are
rectangles of blocks bounded by road centre lines, so together they cover the zone.

Geometry is laid out in metres in CGCS2000 3-degree GK zone 38 (EPSG:4547) and only
transformed to the storage CRS (EPSG:4490) at the end. Everything is drawn from one
``numpy.random.default_rng(seed)`` stream in a fixed order, so a seed and a size always
give the same zone. Names say 演示 and internal notes say "synthetic", so nobody takes
the data for a real stock list.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from layers.area import M2_PER_MU
from layers.catalog import (
    ASSESSMENTS,
    FACTORIES,
    FACTS,
    INFRASTRUCTURE,
    LAYERS,
    PARCELS,
    PARKS,
    POLLUTANTS,
    POWER,
    ROADS,
    UTILITIES,
    UTILITY_FACTS,
)
from layers.crs import STORAGE_EPSG, transformer
from layers.frames import conform

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]
Columns = dict[str, Any]

METRIC_EPSG = 4547  # CGCS2000 3-degree GK zone 38, eastings without the zone prefix
SYNTHETIC = "合成演示数据 (synthetic demo data)"
LEDGER_Q = "2026Q3"
ORIGIN = (112.745, 37.655)  # south-west corner of the road grid (lon, lat), east of Yuci
AIRPORT = (112.628, 37.746)  # 太原武宿国际机场 at its real position
NONE = np.array(None, dtype=object)  # a missing value for np.where on object columns

# A block is cut into k parcels (nx × ny): many 20–150 亩, a few of 300 亩 and more.
K_OPTIONS = np.array([1, 2, 3, 4, 6, 8])
K_WEIGHTS = [0.10, 0.14, 0.15, 0.22, 0.20, 0.19]
ROAD_WIDTH = {"trunk": 40.0, "main": 30.0, "branch": 20.0}
NS_NAMES = ("迎宾大道", "汇通路", "锦纶路", "开发区大道", "科创路", "兴业路", "振兴路", "新建路")
EW_NAMES = ("龙湖大街", "蕴华街", "安宁街", "文华街", "紫金街", "顺城街", "大学街", "长宁街")
# (short name, English, leading industries); parks beyond the fifth repeat a theme.
PARK_THEMES = (
    ("新能源汽车产业园", "New-Energy Vehicle Park", "新能源汽车;装备制造"),
    ("装备制造产业园", "Equipment Manufacturing Park", "装备制造;新能源汽车"),
    ("光伏新能源产业园", "Photovoltaic and New Energy Park", "光伏/新能源;装备制造"),
    ("信息技术产业园", "Information Technology Park", "信息技术;生物医药"),
    ("生物医药产业园", "Bio-medicine Park", "生物医药;信息技术"),
)
TIGHT_ENERGY_PARK, TIGHT_EMISSION_PARK = 2, 1  # PV is power-hungry; machining emits VOCs
PLACES = {"修文": "Xiuwen", "东阳": "Dongyang", "张庆": "Zhangqing", "长凝": "Changning",
          "北田": "Beitian", "什贴": "Shitie", "庄子": "Zhuangzi",
          "乌金山": "Wujinshan"}  # fmt: skip
SURNAMES = list("王李张刘陈杨赵黄周吴郭梁")
OWNERS = ("晋中国投集团（演示）", "山西转型综改示范区建设投资公司（演示）",
          "晋中机械工业集团（演示）")  # fmt: skip
# Typical listing price of each land-use class, 万元/亩.
LAND_PRICE = {"M1": 28, "M2": 24, "M3": 20, "W1": 19, "W2": 17, "A35": 34}
# Land-use mix per park theme (same order as PARK_THEMES).
THEME_LAND_USE = (
    {"M1": 0.45, "M2": 0.45, "W1": 0.05, "A35": 0.05},  # new-energy vehicles
    {"M2": 0.60, "M3": 0.25, "M1": 0.10, "W2": 0.05},  # equipment manufacturing
    {"M2": 0.70, "M1": 0.15, "M3": 0.10, "W1": 0.05},  # photovoltaics
    {"M1": 0.70, "A35": 0.25, "W1": 0.05},  # information technology
    {"M1": 0.50, "M2": 0.30, "A35": 0.20},  # bio-medicine
)
STANDARD_OWNER = "晋中开发区标准化厂房运营公司（演示）"
ENV_STANDARDS = {"GB 16297-1996 二级": 0.5, "GB 16297-1996 二级；GB 8978-1996 三级": 0.35,
                 "GB 16297-1996 一级": 0.15}  # fmt: skip
# Largest emission allowance (t/年) of one site; a park's capacity is 10–40 times that.
EMISSION_MAX = {"so2": 20, "nox": 40, "pm": 15, "vocs": 20, "cod": 30, "nh3n": 3}
UTILITY_NODES = {  # network: Chinese and English name patterns, spare-capacity range
    "water": ("开发区第{}水厂（演示）", "Water works {} (demo)", 5_000, 40_000),
    "gas": ("开发区第{}燃气站（演示）", "Gas station {} (demo)", 2_000, 20_000),
    "heat": ("开发区第{}热源厂（演示）", "Heat plant {} (demo)", 20, 150),
    "sewage": ("开发区第{}污水厂（演示）", "Sewage plant {} (demo)", 5_000, 30_000),
}  # fmt: skip
"""The nodes of every utility network but power (substations: :data:`SUBSTATIONS`)."""
# Substations: kV, count (base + one per so many parcels), transformer MVA, spare share.
SUBSTATIONS = (
    (220, (1, 20_000), [360, 480], 0.2, 0.35),
    (110, (3, 5_000), [100, 126, 150], 0.15, 0.6),
    (35, (4, 2_500), [20, 40], 0.15, 0.6),
)
# Transport links just outside the zone: position as a share of its width/height + metres.
LINKS = (
    (0.7, 0, 0, -1200, "interchange", "太旧高速榆次东出入口", "Taijiu Expressway Yuci East exit"),
    (0, -1500, 0.3, 0, "interchange", "二广高速晋中开发区出入口", "Erguang Expressway zone exit"),
    (1, 1200, 0.2, 0, "interchange", "太旧高速修文出入口", "Taijiu Expressway Xiuwen exit"),
    (0.2, 0, 1, 1000, "rail", "榆次北货运站", "Yuci North freight station"),
    (0.3, 0, 1, 300, "rail", "晋中开发区铁路专用线", "Jinzhong development zone rail siding"),
    (0.7, 0, 0, -600, "logistics", "晋中开发区公路港物流园", "Jinzhong road-port logistics park"),
    (0.2, 600, 1, 1000, "logistics", "榆次北铁路物流园", "Yuci North rail logistics park"),
)  # fmt: skip


@dataclass(frozen=True)
class _Grid:
    xs: FloatArray  # x of the north-south road centre lines, west → east
    ys: FloatArray  # y of the east-west road centre lines, south → north
    col: IntArray  # column and row of each block, row-major from the south-west
    row: IntArray
    inner: FloatArray  # (blocks, 4): x0, y0, x1, y1 inside the road reserves
    k: IntArray  # parcels the block is cut into; 0 for built-up blocks
    xfrac: FloatArray  # (blocks, 4): relative widths of the parcel columns
    yfrac: FloatArray  # share of the southern parcel row when a block is cut in two


def _cn(n: int) -> str:
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


def _grades(index: IntArray) -> ObjArray:
    """Grade of the n-th grid line: every 4th a trunk road, every other a main road."""
    return np.where(index % 4 == 0, "trunk", np.where(index % 2 == 0, "main", "branch"))


def _half_widths(index: IntArray) -> FloatArray:
    return np.array([ROAD_WIDTH[g] / 2 for g in _grades(index)])


def _choose(rng: np.random.Generator, n: int, weights: dict[Any, float]) -> ObjArray:
    """``n`` values drawn from a {value: probability} table."""
    return rng.choice(np.array(list(weights), dtype=object), n, p=list(weights.values()))


def _dates(rng: np.random.Generator, n: int, start: str, end: str) -> ObjArray:
    """Uniform random ``datetime.date`` objects between two ISO dates (inclusive)."""
    lo, hi = np.datetime64(start, "D"), np.datetime64(end, "D")
    days = rng.integers(0, int((hi - lo).astype(int)) + 1, n)
    return np.asarray((lo + days).astype(object), dtype=object)


def _contacts(rng: np.random.Generator, n: int, title: str, mobile: bool) -> ObjArray:
    """Synthetic contacts, e.g. "王工 139-0000-1234（演示）".

    The fixed 0000 block and the 演示 mark keep them from looking like anyone's number.
    """
    names = rng.choice(SURNAMES, n)
    digits = rng.integers(0, 10**4, n)
    fmt = "139-0000-{:04d}（演示）" if mobile else "0354-000{:04d}（演示）"
    return np.array([f"{s}{title} {fmt.format(d)}" for s, d in zip(names, digits, strict=True)])


def _grid(rng: np.random.Generator, n_parcels: int, origin: tuple[float, float]) -> _Grid:
    """Grow the road grid row by row (south → north) until its blocks hold ``n_parcels``."""
    ncols = max(4, math.ceil(math.sqrt(n_parcels / 4.0 * 1.3)))  # a bit wider than tall
    xs = np.round(origin[0] + np.cumsum(np.r_[0.0, rng.uniform(380, 700, ncols)]), 2)
    half_x, cols = _half_widths(np.arange(ncols + 1)), np.arange(ncols)
    ys: list[float] = [origin[1]]
    inner: list[FloatArray] = []
    ks: list[IntArray] = []
    xfrac: list[FloatArray] = []
    yfrac: list[FloatArray] = []
    while sum(int(k.sum()) for k in ks) < n_parcels:
        j = len(ks)
        ys.append(round(ys[-1] + rng.uniform(320, 600), 2))
        half_y = _half_widths(np.array([j, j + 1]))
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
    return _Grid(xs, np.array(ys), np.tile(cols, nrows), np.repeat(np.arange(nrows), ncols),
                 np.concatenate(inner), np.concatenate(ks), np.concatenate(xfrac),
                 np.concatenate(yfrac))  # fmt: skip


def _park_rects(ncols: int, nrows: int, n_parks: int) -> IntArray:
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


def _parks(rng: np.random.Generator, grid: _Grid, rects: IntArray) -> tuple[Columns, list[str]]:
    """Parks and their quarterly ledgers; one is nearly out of energy quota, one of emissions."""
    p, t = len(rects), len(PARK_THEMES)
    themes = [PARK_THEMES[i % t] for i in range(p)]
    short = [th[0] + (f"{_cn(i // t + 1)}区" if i >= t else "") for i, th in enumerate(themes)]
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
    mix = _choose(rng, len(bad) * len(keys), {"done": 0.5, "planned": 0.3, "missing": 0.2})
    st[bad] = np.where(st[bad] == "exempt", "exempt", mix.reshape(len(bad), len(keys)))
    unheld = np.where(rng.random((len(bad), 2)) < 0.5, "planned", "missing")
    st[bad, keys.index("acq")] = np.where(rng.random(len(bad)) < 0.5, "done", unheld[:, 0])
    st[bad, keys.index("clear")] = unheld[:, 1]
    done = _dates(rng, st.size, "2021-03-01", "2026-06-30").reshape(st.shape)
    planned = _dates(rng, st.size, "2026-08-01", "2027-12-31").reshape(st.shape)
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
    due = _choose(rng, n, {dt.date(y, 12, 31): 1 / 3 for y in (2028, 2029, 2030)})
    for key in ("inv", "tax", "out", "egy", "far", "dens", "green", "height"):
        economic = key in ("inv", "tax", "out", "egy")
        cols[f"{key}_due"] = np.where(~unset & economic, due, NONE)
    return cols


def _budgets(rng: np.random.Generator, n: int, share: float, scale: float) -> Columns:
    """Energy quota (tce/年) and emission allowances for a ``share`` of rows, NaN elsewhere."""
    has = rng.random(n) < share
    cols = {"egy_tce": np.where(has, np.round(rng.uniform(1000, 30000, n) * scale, -1), np.nan)}
    for key in POLLUTANTS:
        amount = rng.uniform(0.05, 1, n) * EMISSION_MAX[key] * scale
        cols[f"{key}_t"] = np.where(has, np.round(amount, 1), np.nan)
    return cols


def _parcels(
    rng: np.random.Generator, grid: _Grid, n: int, park_of_block: IntArray, park_names: list[str]
) -> Columns:
    """The first ``n`` parcels of the blocks that are not built up, from the south-west."""
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
        land_use[rows] = _choose(rng, len(rows), shares)
    # Land still to be acquired mostly needs approval as new construction land (增量).
    new = rng.random(n) < np.where(facts["acq_st"] == "done", 0.45, 0.85)
    off = rng.random(n) < 0.03  # declared area deliberately 3–8 % off, so the warning shows
    decl = area_mu * (1 + off * rng.choice([-1, 1], n) * rng.uniform(0.03, 0.08, n))
    base = pd.Series(land_use).map(LAND_PRICE)
    price = np.round(np.clip(base.to_numpy(dtype=float) + rng.normal(0, 3, n), 15, 40), 1)
    kva = np.clip(np.round(area_mu * rng.uniform(40, 120, n), -2), 2000, 40000)
    water = np.maximum(np.round(area_mu * rng.uniform(3, 10, n), -1), 100)
    # Former holders of existing stock land (存量) can be asked about the site.
    contact = np.where(~new & (rng.random(n) < 0.5), _contacts(rng, n, "工", True), NONE)
    status = {"available": 0.78, "reserved": 0.1, "transferred": 0.07, "withdrawn": 0.05}
    digits = max(3, len(str(n)))
    return {
        "parcel_id": [f"JZ2026-{i + 1:0{digits}d}" for i in range(n)],
        "name": [f"{park_names[p]}{s}号地块（演示）" for p, s in zip(park, seq, strict=True)],
        "park_id": [f"P{p + 1:02d}" for p in park],
        "land_use": land_use,
        "stock_cat": np.where(new, "new", "existing"),
        "list_year": 2026,
        "status": _choose(rng, n, status),
        "decl_mu": np.round(decl, 2),
        "price_wmu": price,
        "floor_wmu": np.round(price * rng.uniform(0.85, 0.95, n), 1),
        "env_std": _choose(rng, n, ENV_STANDARDS),
        **_indicators(rng, n, unset),
        "power_kva": kva,
        "power_kv": np.select([kva <= 8000, kva <= 25000], [10.0, 35.0], 110.0),
        "water_m3d": water,
        "gas_nm3h": np.round(area_mu * rng.uniform(2, 8, n), -1),
        "heat_mw": np.round(area_mu * rng.uniform(0.02, 0.08, n), 1),
        "sewage_m3d": np.round(water * rng.uniform(0.6, 0.85, n), -1),
        **_budgets(rng, n, 0.2, 1.0),
        **facts,
        "contact": contact,
        "note_int": np.where(off, f"{SYNTHETIC}；申报面积待核实 (area under review)", SYNTHETIC),
        "geometry": geometry,
    }


EXPANSION_PARK = "P02"  # equipment manufacturing: heavy industry needs the room
EXPANSION_MU = 3000.0


def _expansion_area(cols: Columns) -> Columns:
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


def _factories(rng: np.random.Generator, grid: _Grid, n: int, park_of_block: IntArray) -> Columns:
    """Idle state-owned and standard factories, four to a built-up block."""
    built = rng.permutation(np.flatnonzero(grid.k == 0))
    n = min(n, 4 * len(built))
    host = np.arange(n) // 4
    blk, slot = built[host], np.arange(n) % 4
    std = (rng.random(len(built)) < 0.35)[host]  # a whole block of 标准化厂房, or idle plants
    x0, y0, x1, y1 = grid.inner[blk].T
    sx, sy = (x1 - x0) / 2, (y1 - y0) / 2
    cx, cy = x0 + sx * (slot % 2 + 0.5), y0 + sy * (slot // 2 + 0.5)
    floors = np.where(std, rng.integers(2, 5, n), np.where(rng.random(n) < 0.8, 1, 2))
    lo, hi = np.where(std, 3000, 1000), np.where(std, 12000, 30000)
    footprint = np.exp(rng.uniform(np.log(lo), np.log(hi))) / floors
    aspect = rng.uniform(1.2, 2.5, n)
    long_side, short_side = np.sqrt(footprint * aspect), np.sqrt(footprint / aspect)
    # Long side along the slot's long side, and a 20 m yard all round (utility nodes sit there).
    w = np.floor(np.minimum(np.where(sx >= sy, long_side, short_side), sx - 40) * 2) / 2
    h = np.floor(np.minimum(np.where(sx >= sy, short_side, long_side), sy - 40) * 2) / 2
    floor_m2 = np.round(w * h * floors)
    ratings = np.array([250, 400, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000, 5000, 6300])
    kva = ratings[np.searchsorted(ratings, floor_m2 * rng.uniform(0.08, 0.25, n)).clip(max=12)]
    single = floors == 1
    owner = np.where(std, STANDARD_OWNER, rng.choice(OWNERS, n))
    carried = _budgets(rng, n, 0.5, 0.3)  # what a previous user leaves with the building
    status = _choose(rng, n, {"idle": 0.75, "leased": 0.15, "reserved": 0.1})
    rent = np.round(np.where(std, rng.uniform(15, 25, n), rng.uniform(12, 20, n)), 1)
    unit_price = np.where(std, rng.uniform(2800, 3800, n), rng.uniform(1500, 2800, n))  # 元/m²
    crane = _choose(rng, n, {0: 0.3, 5: 0.3, 10: 0.25, 20: 0.15})  # 行车 in t
    approval = _choose(rng, n, {"approved": 0.3, "expired": 0.5, "none": 0.2})
    avail = [_dates(rng, n, *span) for span in (("2026-01-01", "2026-12-31"),
             ("2027-01-01", "2029-06-30"), ("2026-10-01", "2027-06-30"))]  # fmt: skip
    return {
        "factory_id": [f"F{i + 1:03d}" for i in range(n)],
        "name": [
            f"标准化厂房{b + 1}区{s + 1}号楼（演示）" if t else f"{o[:-4]}闲置厂房{i + 1}号（演示）"
            for i, (b, s, t, o) in enumerate(zip(host, slot, std, owner, strict=True))
        ],
        "park_id": [f"P{p + 1:02d}" for p in park_of_block[blk]],
        "owner": owner,
        "owner_tel": _contacts(rng, n, "经理", False),
        "floor_m2": floor_m2,
        "floors": floors,
        "height_m": np.round(np.where(single, rng.uniform(8, 15, n), rng.uniform(6, 8, n)), 1),
        "load_kn": np.where(single, rng.choice([20, 25, 30], n), rng.choice([5, 8, 10, 12, 15], n)),
        "crane_t": np.where(single & ~std, crane, 0),
        "power_kva": kva,
        "water": rng.random(n) < 0.9,
        "gas": rng.random(n) < np.where(std, 0.7, 0.5),
        **{key: np.where(std, np.nan, value) for key, value in carried.items()},
        "fire_cls": _choose(rng, n, {"甲": 0.03, "乙": 0.07, "丙": 0.45, "丁": 0.35, "戊": 0.1}),
        "env_appr": np.where(std, "none", approval),  # new standard factories: no previous use
        "rent_ym": rent,
        "price_w": np.where(rng.random(n) < 0.3, np.round(floor_m2 * unit_price / 1e4), np.nan),
        "rent_floor": np.round(rent * rng.uniform(0.8, 0.95, n), 1),
        "avail_from": np.select([status == "idle", status == "leased"], avail[:2], avail[2]),
        "status": status,
        "note_int": SYNTHETIC,
        "geometry": shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2),
    }


def _roads(grid: _Grid) -> Columns:
    """One centre line per grid line; trunk and main roads carry proper names."""
    xs, ys = grid.xs, grid.ys
    lines = [[(x, ys[0]), (x, ys[-1])] for x in xs] + [[(xs[0], y), (xs[-1], y)] for y in ys]
    grades = np.r_[_grades(np.arange(len(xs))), _grades(np.arange(len(ys)))]

    def names(count: int, named: tuple[str, ...], prefix: str) -> list[str]:
        """Every other road has a proper name; the rest are numbered 经一路, 经二路, …"""
        proper = [i % 2 == 0 and i // 2 < len(named) for i in range(count)]
        numbered = iter(f"{prefix}{_cn(n + 1)}路" for n in range(count))
        return [named[i // 2] if p else next(numbered) for i, p in enumerate(proper)]

    return {
        "road_id": [f"R{i + 1:03d}" for i in range(len(lines))],
        "name": names(len(xs), NS_NAMES, "经") + names(len(ys), EW_NAMES, "纬"),
        "width_m": [ROAD_WIDTH[g] for g in grades],
        "grade": grades,
        "geometry": shapely.segmentize(shapely.linestrings(np.array(lines)), 250.0),
    }


def _infrastructure(rng: np.random.Generator, grid: _Grid, n_parcels: int) -> gpd.GeoDataFrame:
    """Utility nodes in built-up blocks, transport links around the zone, and the airport."""
    # Utility nodes stand 12 m inside a corner of a built-up block: off every parcel and
    # clear of the factories' 20 m yards. Tiny zones reuse corners.
    built = np.flatnonzero(grid.k == 0)
    corners = np.resize(rng.permutation(4 * len(built)), 4 * len(built) + 100)
    rows: list[dict[str, Any]] = []
    places = list(PLACES.items())
    for kv, count, caps, lo, hi in SUBSTATIONS:
        for i in range(count[0] + n_parcels // count[1]):
            cap = float(rng.choice(caps))
            # The first 110 kV and 35 kV stations are nearly full: a constraint to notice.
            spare = {110: 3.0, 35: 1.5}[kv] if i == 0 and kv < 220 else cap * rng.uniform(lo, hi)
            zh, en = places[len(rows) % len(places)]
            if len(rows) >= len(places):  # a second round of names: 修文2号…
                zh, en = f"{zh}{len(rows) // len(places) + 1}号", f"{en} {len(rows) // 8 + 1}"
            rows.append({"kind": POWER.node_kind, "name": f"{zh}{kv}kV变电站（演示）",
                         "name_en": f"{en} {kv} kV substation (demo)", "voltage_kv": kv,
                         "cap_mva": cap, POWER.spare_column: round(spare, 1)})  # fmt: skip
    for i in range(1 + n_parcels // 25_000):
        for utility in UTILITIES:
            if utility is POWER:
                continue
            zh, en, lo, hi = UTILITY_NODES[utility.name]
            rows.append({"kind": utility.node_kind, "name": zh.format(_cn(i + 1)),
                         "name_en": en.format(i + 1),
                         utility.spare_column: round(rng.uniform(lo, hi), -1)})  # fmt: skip
            if utility.name == "gas":  # the gate station takes high pressure, regulators medium
                rows[-1]["gas_press"] = "high" if i == 0 else "medium"
    c = corners[: len(rows)]
    x0, y0, x1, y1 = grid.inner[built[c // 4]].T
    x, y = np.where(c % 2 == 0, x0 + 12, x1 - 12), np.where(c % 4 < 2, y0 + 12, y1 - 12)
    # Transport links lie just outside the zone, on the sides where the real ones are.
    (xmin, xmax), (ymin, ymax) = grid.xs[[0, -1]], grid.ys[[0, -1]]
    fx, dx, fy, dy = np.array([link[:4] for link in LINKS], dtype=float).T
    x = np.r_[x, xmin + fx * (xmax - xmin) + dx]
    y = np.r_[y, ymin + fy * (ymax - ymin) + dy]
    rows += [
        {"kind": k, "name": f"{zh}（演示）", "name_en": f"{en} (demo)"} for *_, k, zh, en in LINKS
    ]
    points = gpd.points_from_xy(x, y, crs=METRIC_EPSG).to_crs(STORAGE_EPSG)
    rows.append({"kind": "airport", "name": "太原武宿国际机场",
                 "name_en": "Taiyuan Wusu International Airport"})  # fmt: skip
    frame = pd.DataFrame(rows)
    frame.insert(0, "infra_id", [f"I{i + 1:03d}" for i in range(len(frame))])
    frame["ledger_q"] = LEDGER_Q
    return gpd.GeoDataFrame(frame, geometry=[*points, shapely.Point(AIRPORT)], crs=STORAGE_EPSG)


def _storage(cols: Columns) -> gpd.GeoDataFrame:
    """A frame laid out in metres, transformed to the storage CRS."""
    geometry = cols.pop("geometry")
    return gpd.GeoDataFrame(cols, geometry=geometry, crs=METRIC_EPSG).to_crs(STORAGE_EPSG)


def generate_zone(*, seed: int = 20260101, parcels: int = 300) -> dict[str, gpd.GeoDataFrame]:
    """Generate a synthetic development zone (合成演示开发区) with every layer filled.

    The zone imitates the Jinzhong development zone in Yuci, Shanxi: 4 parks (more in
    large zones) for new-energy vehicles, equipment manufacturing, photovoltaics,
    information technology and bio-medicine; a road grid; parcels with a realistic mix
    of sizes (10–600 亩), readiness, control indicators and utilities; idle and standard
    factories; utility nodes, highway interchanges, rail freight and the airport. Every
    park and parcel note says the data is synthetic, and names say 演示.

    Parameters
    ----------
    seed
        Seed of the random generator; the same seed and size give identical frames.
    parcels
        Number of parcels. Larger zones extend the road grid to the east and north
        (100 000 parcels cover about 100 km × 70 km); parks, factories and
        infrastructure grow mildly with it.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        One frame per layer of :data:`layers.catalog.LAYERS`, in canonical form (stored
        fields only, EPSG:4490), as returned by :func:`layers.frames.conform`.

    Raises
    ------
    ValueError
        If ``parcels`` is less than 1.

    Examples
    --------
    >>> zone = generate_zone(parcels=20)
    >>> len(zone["parcels"]), len(zone["parks"]), zone["roads"].crs.to_epsg()
    (20, 4, 4490)
    """
    if parcels < 1:
        raise ValueError(f"parcels must be at least 1, got {parcels}")
    rng = np.random.default_rng(seed)
    ox, oy = transformer(STORAGE_EPSG, METRIC_EPSG).transform(*ORIGIN)
    grid = _grid(rng, parcels, (round(ox, 2), round(oy, 2)))
    rects = _park_rects(len(grid.xs) - 1, len(grid.ys) - 1, 4 + parcels // 10_000)
    # Parks are bounded by road centre lines, so every block lies in exactly one park.
    col, row = grid.col[:, None], grid.row[:, None]
    inside = (rects[:, 0] <= col) & (col < rects[:, 2]) & (rects[:, 1] <= row) & (row < rects[:, 3])
    park_of_block = np.argmax(inside, axis=1)
    parks, park_names = _parks(rng, grid, rects)
    frames = {
        PARKS.name: _storage(parks),
        PARCELS.name: _storage(
            _expansion_area(_parcels(rng, grid, parcels, park_of_block, park_names))
        ),
        FACTORIES.name: _storage(_factories(rng, grid, 25 + parcels // 2_000, park_of_block)),
        INFRASTRUCTURE.name: _infrastructure(rng, grid, parcels),
        ROADS.name: _storage(_roads(grid)),
    }
    return {name: conform(frames[name], spec, source="demo") for name, spec in LAYERS.items()}
