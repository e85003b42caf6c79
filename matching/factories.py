"""Hard constraints that only factory buildings (标准厂房) have: floor area, the
building's limits, fire class, rent, the date it is free, and its connections."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matching.constraints import Constraint, FloatArray, Text, constraint, fixed, fmt, unmeasured
from matching.request import FIRE_CLASSES, FactoryNeeds
from matching.situation import Situation


def _needs(s: Situation) -> FactoryNeeds:
    if s.request.factory is None:
        raise ValueError("a factory request needs `factory`")  # the request model ensures it
    return s.request.factory


def floor(s: Situation) -> list[Constraint]:
    """The building's floor area is within the range asked for."""
    wanted = _needs(s).floor
    have = s.sites.frame["floor_m2"].to_numpy(dtype=float)
    lo, hi = wanted.min_m2, wanted.max_m2
    margin = np.minimum(have - lo, (hi - have) if hi is not None else np.inf)
    return [
        constraint(
            "floor",
            "建筑面积 (floor area)",
            margin >= 0,
            margin,
            "m²",
            (
                lambda i: (
                    f"建筑面积 {fmt(have[i])} m² 不在 {fmt(lo)}–{fmt(hi) if hi else '∞'} m² 内 "
                    "(floor area out of range)"
                ),
                fixed("需另寻厂房或拼合相邻厂房 (needs another building)"),
            ),
        )
    ]


def _shortfall(have: FloatArray, need: float, zh: str, unit: str) -> tuple[Text, Text]:
    def why(i: int) -> str:
        return f"{zh} {fmt(have[i])} {unit} < 需 {fmt(need)} {unit}"

    def remedy(i: int) -> str:
        return f"需改造提升{zh} {fmt(need - have[i])} {unit} (needs a retrofit)"

    return why, remedy


def building(s: Situation) -> list[Constraint]:
    """Clear height, floor load, crane and supply capacity: at least what is asked for."""
    needs = _needs(s)
    power_kva = None if s.request.power_mva is None else s.request.power_mva * 1000.0
    out = []
    for key, column, need, zh, unit in [
        ("height", "height_m", needs.min_clear_height_m, "净高", "m"),
        ("load", "load_kn", needs.min_floor_load_kn, "楼面荷载", "kN/m²"),
        ("crane", "crane_t", needs.min_crane_t, "行车", "t"),
        ("factory_power", "power_kva", power_kva, "供电容量", "kVA"),
    ]:
        if need is None:
            continue
        have = np.nan_to_num(s.sites.frame[column].to_numpy(dtype=float), nan=0.0)
        margin = have - need
        out.append(
            constraint(
                key, f"{zh} ({key})", margin >= 0, margin, unit, _shortfall(have, need, zh, unit)
            )
        )
    return out


def fire(s: Situation) -> list[Constraint]:
    """The building is rated for the project's fire-hazard class or a more hazardous one."""
    wanted = _needs(s).fire_class
    if wanted is None:
        return []
    rank = {c: r for r, c in enumerate(FIRE_CLASSES)}
    rated = s.sites.frame["fire_cls"].to_numpy(dtype=object)
    ok = np.array([c in rank and rank[c] <= rank[wanted] for c in rated])
    return [
        constraint(
            "fire",
            "火灾危险性 (fire class)",
            ok,
            unmeasured(len(s.sites.frame)),
            "",
            (
                lambda i: (
                    f"厂房按{rated[i] or '未知'}类设防, 项目为{wanted}类 "
                    "(building not rated for the project's fire class)"
                ),
                fixed(f"需按{wanted}类改造消防 (needs fire-protection upgrade)"),
            ),
        )
    ]


def rent(s: Situation) -> list[Constraint]:
    """The rent is at most the limit asked for."""
    limit = _needs(s).max_rent_yuan_m2_month
    if limit is None:
        return []
    have = s.sites.frame["rent_ym"].to_numpy(dtype=float)
    margin = limit - have
    return [
        constraint(
            "rent",
            "租金 (rent)",
            np.nan_to_num(margin, nan=-np.inf) >= 0,
            margin,
            "元/m²/月",
            (
                lambda i: f"租金 {fmt(have[i])} 元/m²/月 > {fmt(limit)} (rent above the limit)",
                lambda i: f"需议价降低 {fmt(-margin[i])} 元/m²/月 (needs a lower rent)",
            ),
        )
    ]


def available(s: Situation) -> list[Constraint]:
    """The building is free by the start date asked for."""
    start = s.request.start_by
    if start is None:
        return []
    avail = s.sites.frame["avail_from"].to_numpy(dtype=object)
    ok = np.array([d is None or d <= start for d in avail])
    return [
        constraint(
            "available",
            "可用日期 (available from)",
            ok,
            unmeasured(len(s.sites.frame)),
            "",
            (
                lambda i: f"{avail[i]} 才可使用, 晚于 {start} (available only from {avail[i]})",
                fixed(f"需提前腾退至 {start} (needs to be vacated earlier)"),
            ),
        )
    ]


def connected(s: Situation) -> list[Constraint]:
    """A building is already connected to water and gas where the project needs them
    (its capacity is the building's, not the network's)."""
    out = []
    for column, need, zh in (
        ("water", s.request.water_m3d, "供水"),
        ("gas", s.request.gas_nm3h, "燃气"),
    ):
        if not need:
            continue
        has = s.sites.frame[column].to_numpy(dtype=object)
        ok = np.array([bool(v) if v is not None and v is not pd.NA else False for v in has])
        out.append(
            constraint(
                f"factory_{column}",
                f"已通{zh} ({column})",
                ok,
                unmeasured(len(s.sites.frame)),
                "",
                (
                    fixed(f"未通{zh} (no {zh} connection)"),
                    fixed(f"需接通{zh} (needs a {zh} connection)"),
                ),
            )
        )
    return out
