"""Hard constraints that only factory buildings (标准厂房) have: floor area, the
building's limits, fire class, rent, the date it is free, and its connections."""

from __future__ import annotations

import numpy as np
import pandas as pd

from layers.units import amount, compared
from matching.constraints import Constraint, FloatArray, Text, constraint, fixed, unmeasured
from matching.request import FIRE_CLASSES, FactoryNeeds
from matching.situation import Situation

FIRE_COST = 0.5
"""A fire-protection upgrade counts as 50 % short."""
UNKNOWN_RENT_COST = 0.5
"""A building with no rent listed (for sale, or not stated) counts as 50 % short."""
AVAILABLE_COST = 0.25
"""A building free only after the start date counts as 25 % short."""
CONNECTION_COST = 0.1
"""A building not yet connected to water or gas counts as 10 % short."""


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
            _floor_texts(have, lo, hi),
            scale=np.where(have < lo, lo, hi if hi is not None else np.nan),
            kind=lambda i: "assemble" if have[i] < lo else "relax",
        )
    ]


def _floor_texts(have: FloatArray, lo: float, hi: float | None) -> tuple[Text, Text]:
    def why(i: int) -> str:
        if have[i] < lo:
            area, bound, gap = compared(have[i], lo, "m²")
            return f"建筑面积 {area} m² < 下限 {bound} m² (floor area {gap} m² short)"
        area, bound, gap = compared(have[i], hi or 0.0, "m²")
        return f"建筑面积 {area} m² > 上限 {bound} m² (floor area {gap} m² over)"

    def remedy(i: int) -> str:
        if have[i] < lo:
            gap = compared(have[i], lo, "m²").gap
            return (
                f"需拼合相邻厂房补足 {gap} m² 或另寻厂房 (needs {gap} m² more, or another building)"
            )
        area, _, gap = compared(have[i], hi or 0.0, "m²")
        return (
            f"超出 {gap} m²: 需放宽面积上限至 {area} m² 或另寻厂房 "
            f"(needs the upper limit relaxed by {gap} m², or another building)"
        )

    return why, remedy


def _shortfall(have: FloatArray, need: float, zh: str, unit: str) -> tuple[Text, Text]:
    """Reason and remedy where the building has less than needed (``have``: NaN where the
    building's figure is not recorded)."""

    def why(i: int) -> str:
        if np.isnan(have[i]):
            return f"{zh}未登记, 需 {amount(need, unit)} {unit} ({zh} not recorded)"
        value, needed, gap = compared(have[i], need, unit)
        return f"{zh} {value} {unit} < 需 {needed} {unit} (short {gap} {unit})"

    def remedy(i: int) -> str:
        if np.isnan(have[i]):
            return f"需核实{zh}, 不足时改造 (needs the {zh} checked, and a retrofit if short)"
        gap = compared(have[i], need, unit).gap
        return f"需改造提升{zh} {gap} {unit} (needs a retrofit: {gap} {unit} more)"

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
        recorded = s.sites.frame[column].to_numpy(dtype=float)
        margin = np.nan_to_num(recorded, nan=0.0) - need
        out.append(
            constraint(
                key,
                f"{zh} ({key})",
                margin >= 0,
                margin,
                unit,
                _shortfall(recorded, need, zh, unit),
                scale=need,
                kind="retrofit",
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
            cost=FIRE_COST,
            kind="retrofit",
        )
    ]


def rent(s: Situation) -> list[Constraint]:
    """The rent is at most the limit asked for."""
    limit = _needs(s).max_rent_yuan_m2_month
    if limit is None:
        return []
    have = s.sites.frame["rent_ym"].to_numpy(dtype=float)
    price = s.sites.frame["price_w"].to_numpy(dtype=float)
    margin = limit - have
    unit = "元/m²/月"

    return [
        constraint(
            "rent",
            "租金 (rent)",
            np.nan_to_num(margin, nan=-np.inf) >= 0,
            margin,
            unit,
            _rent_texts(have, price, limit),
            scale=limit,
            cost=UNKNOWN_RENT_COST,
            kind="negotiate",
        )
    ]


def _rent_texts(have: FloatArray, price: FloatArray, limit: float) -> tuple[Text, Text]:
    unit = "元/m²/月"

    def why(i: int) -> str:
        if np.isnan(have[i]):
            sale = "" if np.isnan(price[i]) else ": for sale"
            return f"租金未知/未标 (no rent listed{sale})"
        value, bound, gap = compared(have[i], limit, unit)
        return f"租金 {value} {unit} > 上限 {bound} {unit} (rent {gap} {unit} above the limit)"

    def remedy(i: int) -> str:
        if np.isnan(have[i]):
            bound = amount(limit, unit)
            return f"需与业主议定租金 ≤ {bound} {unit} (needs a rent agreed, at most {bound})"
        gap = compared(have[i], limit, unit).gap
        return f"需议价降低 {gap} {unit} (needs a rent {gap} {unit} lower)"

    return why, remedy


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
            cost=AVAILABLE_COST,
            kind="negotiate",
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
                cost=CONNECTION_COST,
                kind="retrofit",
            )
        )
    return out
