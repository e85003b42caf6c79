"""Hard constraints that only factory buildings (标准厂房) have: floor area, the
building's limits, fire class, rent, the date it is free, and its connections."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from layers.units import amount, compared, shown
from matching.constraints import (
    BoolArray,
    Constraint,
    FloatArray,
    Text,
    constraint,
    fixed,
    unmeasured,
)
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


@dataclass(frozen=True)
class Lease:
    """Per building, what a request's floor range makes of it (arrays over the sites).

    A building larger than ``max_m2`` that may be divided (``divisible`` with a
    ``unit_m2``) is offered in part: the smallest whole number of lettable units that is
    at least ``min_m2``; it is a partial lease when that part is at most ``max_m2``."""

    floor_m2: FloatArray
    """The whole building's floor area."""
    unit_m2: FloatArray
    """Its smallest lettable unit, NaN unless it may be divided."""
    part_m2: FloatArray
    """The smallest whole number of units ≥ ``min_m2`` (NaN where not divisible)."""
    divided: BoolArray
    """Offered in part: divisible and larger than ``max_m2``."""
    partial: BoolArray
    """Leased in part: offered in part, and ``part_m2`` is at most ``max_m2``."""

    @property
    def leased_m2(self) -> FloatArray:
        """The floor area each building is offered at: the part where it is offered in
        part (too large still where the units are too coarse), else the whole building."""
        return np.where(self.divided, self.part_m2, self.floor_m2)


def lease(s: Situation) -> Lease:
    """What the request's floor range makes of each building (see :class:`Lease`).

    Examples
    --------
    >>> from layers.demo import generate_zone
    >>> from matching.request import parse_request
    >>> from matching.profiles import FACTORY
    >>> from matching.zone import build_zone
    >>> zone = build_zone(generate_zone(parcels=120))
    >>> request = parse_request({"name": "x", "industry": "x", "site_kind": "factory",
    ...                          "factory": {"floor": {"min_m2": 1800, "max_m2": 2400}}})
    >>> leased = lease(FACTORY.situation(request, zone))
    >>> list(zone.factories.ids[leased.partial]), leased.unit_m2[leased.partial].tolist()
    (['F009', 'F012', 'F013', 'F014'], [2000.0, 1000.0, 2000.0, 1000.0])
    >>> leased.leased_m2[leased.partial].tolist()  # one unit of 2,000 m², or two of 1,000
    [2000.0, 2000.0, 2000.0, 2000.0]
    """
    wanted = _needs(s).floor
    have = s.sites.floats("floor_m2")
    divisible = s.sites.frame["divisible"].fillna(False).to_numpy(dtype=bool)
    unit = np.where(divisible, s.sites.floats("unit_m2"), np.nan)
    unit = np.where(unit > 0, unit, np.nan)
    # A count within a billionth of a whole number is that number: 1.1 / 0.1 is 11, not 12.
    part = np.ceil(wanted.min_m2 / unit - 1e-9) * unit
    hi = wanted.max_m2
    divided = np.zeros(len(have), dtype=bool) if hi is None else (have > hi) & ~np.isnan(part)
    return Lease(have, unit, part, divided, divided & (part <= (hi or 0.0)))


def _floor_texts(leased: Lease, lo: float, hi: float | None) -> tuple[Text, Text]:
    have, unit, part = leased.floor_m2, leased.unit_m2, leased.part_m2

    def why(i: int) -> str:
        if have[i] < lo:
            area, bound, gap = compared(have[i], lo, "m²")
            return f"建筑面积 {area} m² < 下限 {bound} m² (floor area {gap} m² short)"
        area, limit, gap = compared(have[i], hi or 0.0, "m²")
        if np.isnan(unit[i]):
            return (
                f"建筑面积 {area} m² > 上限 {limit} m², 不可分割出租 "
                f"(floor area {gap} m² over, and not divisible)"
            )
        smallest, limit, gap = compared(part[i], hi or 0.0, "m²")
        return (
            f"最小分租单元 {shown(unit[i], 'm²')}, 可分租 {smallest} m² > 上限 {limit} m² "
            f"(the smallest lettable part is {gap} m² above the limit)"
        )

    def remedy(i: int) -> str:
        if have[i] < lo:
            gap = compared(have[i], lo, "m²").gap
            return (
                f"需拼合相邻厂房补足 {gap} m² 或另寻厂房 (needs {gap} m² more, or another building)"
            )
        if np.isnan(unit[i]):
            gap = compared(have[i], hi or 0.0, "m²").gap
            return (
                f"需放宽面积上限 {gap} m², 或与业主协商分割出租 "
                f"(needs the upper limit relaxed by {gap} m², or the owner to agree to divide it)"
            )
        smallest, _, gap = compared(part[i], hi or 0.0, "m²")
        return (
            f"需放宽面积上限 {gap} m² 至 {smallest} m², 或与业主协商缩小分租单元 "
            f"(needs the floor-area limit raised by {gap} m², or a smaller lettable unit)"
        )

    return why, remedy


def floor(s: Situation) -> list[Constraint]:
    """The building's floor area is within the range asked for, or a part of it is: a
    partial lease (see :class:`Lease`); rent and floor-area fit then count that part."""
    wanted = _needs(s).floor
    leased = lease(s)
    size = leased.leased_m2
    lo, hi = wanted.min_m2, wanted.max_m2
    margin = np.minimum(size - lo, (hi - size) if hi is not None else np.inf)
    have, part = leased.floor_m2, leased.part_m2

    def met(i: int) -> str:
        if not leased.partial[i]:
            return ""
        units, unit = round(part[i] / leased.unit_m2[i]), shown(leased.unit_m2[i], "m²")
        whole, leased_part = shown(have[i], "m²"), shown(part[i], "m²")
        return (
            f"可分租 {leased_part} / {whole}, 按 {units} × {unit} 单元 "
            f"(partial lease of {leased_part} of {whole}, in {units} × {unit} units)"
        )

    return [
        constraint(
            "floor",
            "建筑面积 (floor area)",
            margin >= 0,
            margin,
            "m²",
            _floor_texts(leased, lo, hi),
            met=met,
            scale=np.where(size < lo, lo, hi if hi is not None else np.nan),
            kind=lambda i: "assemble" if size[i] < lo else "negotiate",
        )
    ]


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
        recorded = s.sites.floats(column)
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
    have = s.sites.floats("rent_ym")
    price = s.sites.floats("price_w")
    margin = limit - have
    unit = "元/m²/月"

    return [
        constraint(
            "rent",
            "租金 (rent)",
            margin >= 0,  # NaN (unknown) fails
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
