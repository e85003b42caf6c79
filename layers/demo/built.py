"""What is built in the demo zone: idle and standard factories, roads, utility nodes and
transport links (see :mod:`layers.demo`)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.catalog import POWER, UTILITIES
from layers.crs import STORAGE_EPSG
from layers.demo.draw import (
    Grid,
    chinese_numeral,
    draw_from,
    fake_contacts,
    random_dates,
    road_grades,
)
from layers.demo.land import budgets
from layers.demo.setting import (
    AIRPORT,
    EW_NAMES,
    LEDGER_Q,
    LINKS,
    METRIC_EPSG,
    NS_NAMES,
    OWNERS,
    PLACES,
    ROAD_WIDTH,
    STANDARD_OWNER,
    SUBSTATIONS,
    SYNTHETIC,
    UTILITY_NODES,
    Columns,
    IntArray,
)


def factories(rng: np.random.Generator, grid: Grid, n: int, park_of_block: IntArray) -> Columns:
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
    carried = budgets(rng, n, 0.5, 0.3)  # what a previous user leaves with the building
    status = draw_from(rng, n, {"idle": 0.75, "leased": 0.15, "reserved": 0.1})
    rent = np.round(np.where(std, rng.uniform(15, 25, n), rng.uniform(12, 20, n)), 1)
    unit_price = np.where(std, rng.uniform(2800, 3800, n), rng.uniform(1500, 2800, n))  # 元/m²
    crane = draw_from(rng, n, {0: 0.3, 5: 0.3, 10: 0.25, 20: 0.15})  # 行车 in t
    approval = draw_from(rng, n, {"approved": 0.3, "expired": 0.5, "none": 0.2})
    avail = [random_dates(rng, n, *span) for span in (("2026-01-01", "2026-12-31"),
             ("2027-01-01", "2029-06-30"), ("2026-10-01", "2027-06-30"))]  # fmt: skip
    return {
        "factory_id": [f"F{i + 1:03d}" for i in range(n)],
        "name": [
            f"标准化厂房{b + 1}区{s + 1}号楼（演示）" if t else f"{o[:-4]}闲置厂房{i + 1}号（演示）"
            for i, (b, s, t, o) in enumerate(zip(host, slot, std, owner, strict=True))
        ],
        "park_id": [f"P{p + 1:02d}" for p in park_of_block[blk]],
        "owner": owner,
        "owner_tel": fake_contacts(rng, n, "经理", False),
        "floor_m2": floor_m2,
        "floors": floors,
        "height_m": np.round(np.where(single, rng.uniform(8, 15, n), rng.uniform(6, 8, n)), 1),
        "load_kn": np.where(single, rng.choice([20, 25, 30], n), rng.choice([5, 8, 10, 12, 15], n)),
        "crane_t": np.where(single & ~std, crane, 0),
        "power_kva": kva,
        "water": rng.random(n) < 0.9,
        "gas": rng.random(n) < np.where(std, 0.7, 0.5),
        **{key: np.where(std, np.nan, value) for key, value in carried.items()},
        "fire_cls": draw_from(rng, n, {"甲": 0.03, "乙": 0.07, "丙": 0.45, "丁": 0.35, "戊": 0.1}),
        "env_appr": np.where(std, "none", approval),  # new standard factories: no previous use
        "rent_ym": rent,
        "price_w": np.where(rng.random(n) < 0.3, np.round(floor_m2 * unit_price / 1e4), np.nan),
        "rent_floor": np.round(rent * rng.uniform(0.8, 0.95, n), 1),
        "avail_from": np.select([status == "idle", status == "leased"], avail[:2], avail[2]),
        "status": status,
        "note_int": SYNTHETIC,
        "geometry": shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2),
    }


def leases(rng: np.random.Generator, cols: Columns) -> Columns:
    """Which buildings may be leased in part, and their smallest lettable unit: most
    standard factories (标准化厂房) in units of 500–2,000 m², few old state-owned plants.
    A building of less than two units is not divisible."""
    n = len(cols["factory_id"])
    std = np.asarray(cols["owner"], dtype=object) == STANDARD_OWNER
    unit = np.where(std, rng.choice([500.0, 1000.0, 1500.0, 2000.0], n), 2000.0)
    floor_m2 = np.asarray(cols["floor_m2"], dtype=float)
    divisible = (rng.random(n) < np.where(std, 0.85, 0.15)) & (floor_m2 >= 2 * unit)
    return {**cols, "divisible": divisible, "unit_m2": np.where(divisible, unit, np.nan)}


def roads(grid: Grid) -> Columns:
    """One centre line per grid line; trunk and main roads carry proper names."""
    xs, ys = grid.xs, grid.ys
    lines = [[(x, ys[0]), (x, ys[-1])] for x in xs] + [[(xs[0], y), (xs[-1], y)] for y in ys]
    grades = np.r_[road_grades(np.arange(len(xs))), road_grades(np.arange(len(ys)))]

    def names(count: int, named: tuple[str, ...], prefix: str) -> list[str]:
        """Every other road has a proper name; the rest are numbered 经一路, 经二路, …"""
        proper = [i % 2 == 0 and i // 2 < len(named) for i in range(count)]
        numbered = iter(f"{prefix}{chinese_numeral(n + 1)}路" for n in range(count))
        return [named[i // 2] if p else next(numbered) for i, p in enumerate(proper)]

    return {
        "road_id": [f"R{i + 1:03d}" for i in range(len(lines))],
        "name": names(len(xs), NS_NAMES, "经") + names(len(ys), EW_NAMES, "纬"),
        "width_m": [ROAD_WIDTH[g] for g in grades],
        "grade": grades,
        "geometry": shapely.segmentize(shapely.linestrings(np.array(lines)), 250.0),
    }


def infrastructure(rng: np.random.Generator, grid: Grid, n_parcels: int) -> gpd.GeoDataFrame:
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
            rows.append({"kind": utility.node_kind, "name": zh.format(chinese_numeral(i + 1)),
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
