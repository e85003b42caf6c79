"""Hard constraints that only land (parcels) has: land use, area, readiness, the utility
networks within reach, and the standard-land indicators."""

from __future__ import annotations

import numpy as np

from layers.catalog import UTILITIES
from layers.readiness import condition_name, day_number
from layers.schema import Utility
from layers.units import compared
from layers.vocabulary import INDICATORS, LAND_USE_ZH
from matching.assembly import Group
from matching.constraints import (
    Constraint,
    FloatArray,
    Text,
    committed_indicators,
    constraint,
    unmeasured,
)
from matching.networks import most_spare
from matching.request import ProjectRequest
from matching.situation import Situation
from matching.zone import Sites

NEAR_MISS_AREA = 0.5
"""A parcel with less than half the area asked for is not "one step" from taking a project."""
LAND_USE_COST = 1.0
"""A rezoning counts as lacking everything (a relative shortfall of 100 %)."""
READINESS_COST = 0.25
"""A parcel not clean (净地) by the start date counts as 25 % short."""


def land_use(s: Situation) -> list[Constraint]:
    """The parcel's planned land use is one the project's pollution class may use."""
    allowed = s.request.allowed_land_use
    if allowed is None:
        return []
    values = s.sites.column("land_use")
    wanted = "/".join(allowed)
    return [
        constraint(
            "land_use",
            "用地性质 (land use)",
            s.sites.isin("land_use", allowed),
            unmeasured(len(s.sites)),
            "",
            (
                lambda i: (
                    f"用地性质 {values[i]} {LAND_USE_ZH.get(values[i], '')} 不在允许的 "
                    f"{wanted} 内 (land use not allowed for the project's pollution class)"
                ),
                lambda i: f"需调整规划用地性质为 {wanted} (needs rezoning to {wanted})",
            ),
            cost=LAND_USE_COST,
            kind="negotiate",
        )
    ]


def area(s: Situation) -> list[Constraint]:
    """The parcel's area is within the range asked for."""
    if s.request.area is None:
        return []
    size = s.sites.floats("area_mu")
    lo, hi = s.request.area.min_mu, s.request.area.max_mu
    short = size - lo
    over = (hi - size) if hi is not None else np.full(len(size), np.inf)
    margin = np.minimum(short, over)
    return [
        constraint(
            "area",
            "面积 (area)",
            margin >= 0,
            margin,
            "亩",
            _area_texts(size, lo, hi),
            area_dependent=True,
            actionable=~(margin < -NEAR_MISS_AREA * lo),
            scale=np.where(size < lo, lo, hi if hi is not None else np.nan),
            kind=lambda i: "assemble" if size[i] < lo else "relax",
        )
    ]


def _area_texts(size: FloatArray, lo: float, hi: float | None) -> tuple[Text, Text]:

    def why(i: int) -> str:
        if size[i] < lo:
            have, need, gap = compared(size[i], lo, "亩")
            return f"面积不足: {have} 亩 < {need} 亩 (short {gap} 亩)"
        have, limit, gap = compared(size[i], hi or 0.0, "亩")
        return f"面积过大: {have} 亩 > {limit} 亩 (over by {gap} 亩)"

    def remedy(i: int) -> str:
        if size[i] < lo:
            gap = compared(size[i], lo, "亩").gap
            return (
                f"需相邻地块补足 {gap} 亩 (needs {gap} 亩 more from neighbouring parcels; "
                '"assemble": "always" proposes groups)'
            )
        have, limit, gap = compared(size[i], hi or 0.0, "亩")
        return (
            f"需分割地块或放宽面积上限 {gap} 亩 至 {have} 亩 "
            f"(needs subdividing to ≤ {limit} 亩, or the upper limit relaxed)"
        )

    return why, remedy


def readiness_gaps(sites: Sites, i: int, day: int) -> str:
    """The conditions parcel *i* still lacks on ``day``, joined by "、"."""
    missing = sites.condition_days[i] > day
    return "、".join(
        condition_name(k) for k, m in zip(sites.condition_keys, missing, strict=True) if m
    )


def readiness(s: Situation) -> list[Constraint]:
    """The parcel can be transferred clean (净地) by the start date asked for."""
    if s.request.start_by is None:
        return []
    sites = s.sites
    day = day_number(s.request.start_by)
    when = s.request.start_by.isoformat()
    ok = sites.ready_day <= day
    return [
        constraint(
            "readiness",
            "净地就绪 (readiness)",
            ok,
            unmeasured(len(ok)),
            "",
            (
                lambda i: (
                    f"{when} 前不能净地出让, 欠缺: {readiness_gaps(sites, i, day)} "
                    f"(not ready by {when})"
                ),
                lambda i: (
                    f"需在 {when} 前完成: {readiness_gaps(sites, i, day)} "
                    f"(needs these done by {when})"
                ),
            ),
            cost=READINESS_COST,
            kind="negotiate",
        )
    ]


def power(s: Situation) -> list[Constraint]:
    """A substation within reach, of the voltage asked for, with the spare MVA needed."""
    request = s.request
    if request.power_mva is None and request.min_voltage_kv is None:
        return []
    if s.access is None:
        raise ValueError("the power constraint needs the substations' access")
    need = request.power_mva or 0.0
    min_kv = request.min_voltage_kv or 0.0
    reach = request.power_reach_km
    best = s.access.best_spare_mva
    margin = best - need
    return [
        constraint(
            "power",
            "电力容量 (power)",
            margin >= 0,  # NaN (none within reach) fails
            margin,
            "MVA",
            _power_texts(best, need, reach, min_kv),
            scale=need,
            kind="retrofit",
        )
    ]


def _power_texts(best: FloatArray, need: float, reach: float, min_kv: float) -> tuple[Text, Text]:
    kv = f"{min_kv:g} kV 及以上" if min_kv else ""

    def why(i: int) -> str:
        if np.isnan(best[i]):
            return f"{reach:g} km 内无{kv}变电站 (no {kv or 'any'} substation within {reach:g} km)"
        have, needed, gap = compared(best[i], need, "MVA")
        return (
            f"{reach:g} km 内{kv}变电站最大剩余容量 {have} MVA < 需 {needed} MVA "
            f"(best spare {have} MVA < {needed} MVA needed; short {gap} MVA)"
        )

    def remedy(i: int) -> str:
        if np.isnan(best[i]):
            return f"需新建{kv}变电站或线路 (needs a new substation or line)"
        gap = compared(best[i], need, "MVA").gap
        return f"需变电站扩容 {gap} MVA (needs a {gap} MVA substation upgrade)"

    return why, remedy


def _network_texts(
    best: FloatArray, need: float, network: Utility, reach: float
) -> tuple[Text, Text]:
    zh, unit = network.zh, network.unit

    def why(i: int) -> str:
        if np.isnan(best[i]):
            return f"{reach:g} km 内无{zh}设施 (no {zh} node within {reach:g} km)"
        have, needed, gap = compared(best[i], need, unit)
        return (
            f"{reach:g} km 内{zh}最大剩余能力 {have} {unit} < 需 {needed} {unit} "
            f"(spare {have} < {needed} {unit} needed; short {gap} {unit})"
        )

    def remedy(i: int) -> str:
        if np.isnan(best[i]):
            return f"需新建{zh}设施或管线 (needs a new {zh} connection)"
        gap = compared(best[i], need, unit).gap
        return f"需{zh}扩容 {gap} {unit} (needs {gap} {unit} more capacity)"

    return why, remedy


def networks(s: Situation) -> list[Constraint]:
    """For each utility but power: a node within reach with the spare capacity needed."""
    reach = s.request.utility_reach_km
    out = []
    for network in UTILITIES:
        need = getattr(s.request, network.need_field)
        if network.name == "power" or need is None:
            continue
        best = most_spare(
            s.sites.distances.pairs[network.node_kind],
            len(s.sites),
            reach_m=reach * 1000,
            spare=s.zone.node_floats(network.spare_column),
        )
        margin = best - need
        out.append(
            constraint(
                network.name,
                f"{network.zh} ({network.name})",
                margin >= 0,  # NaN (none within reach) fails
                margin,
                network.unit,
                _network_texts(best, need, network, reach),
                scale=need,
                kind="retrofit",
            )
        )
    return out


def _indicator_texts(
    value: FloatArray, lo: FloatArray, hi: FloatArray, key: str
) -> tuple[Text, Text]:
    zh, _, unit = INDICATORS[key]

    def why(i: int) -> str:
        if not np.isfinite(value[i]):
            return f"{zh}无法计算: 地块面积为 0 (cannot be worked out: the parcel has no area)"
        if value[i] < lo[i]:
            have, bound, gap = compared(value[i], lo[i], unit)
            return (
                f"{zh} {have} {unit} < 下限 {bound} {unit} "
                f"(standard-land indicator {gap} {unit} below the lower bound)"
            )
        have, bound, gap = compared(value[i], hi[i], unit)
        return (
            f"{zh} {have} {unit} > 上限 {bound} {unit} "
            f"(standard-land indicator {gap} {unit} above the upper bound)"
        )

    def remedy(i: int) -> str:
        if not np.isfinite(value[i]):
            return "需核实地块面积 (needs the parcel's area checked)"
        if value[i] < lo[i]:
            gap = compared(value[i], lo[i], unit).gap
            return f"需提高承诺{zh} {gap} {unit} (needs a commitment {gap} {unit} higher)"
        gap = compared(value[i], hi[i], unit).gap
        return f"需降低{zh} {gap} {unit} (needs a commitment {gap} {unit} lower)"

    return why, remedy


def standard_land(s: Situation) -> list[Constraint]:
    """The project's committed indicators against each parcel's control-indicator bounds.

    A bound the project gives no figure for is not checked (and says so)."""
    sites = s.sites
    figures = committed_indicators(s.request, sites.floats("area_mu"))
    out = []
    for key, value in figures.items():
        lo = sites.floats(f"{key}_lo")
        hi = sites.floats(f"{key}_hi")
        if np.isnan(value).all() or (np.isnan(lo).all() and np.isnan(hi).all()):
            continue
        margin = np.fmin(value - lo, hi - value)  # NaN where the parcel sets no bound
        zh, en, unit = INDICATORS[key]
        out.append(
            constraint(
                f"std_{key}",
                f"标准地·{zh} ({en})",
                np.isnan(margin) | (margin >= 0),
                margin,
                unit,
                _indicator_texts(value, lo, hi, key),
                area_dependent=True,
                scale=np.where(value < lo, lo, hi),
                kind="negotiate",
            )
        )
    return out


def group_meets_indicators(request: ProjectRequest, sites: Sites, group: Group) -> bool:
    """Standard-land bounds of every member against the project's figures over the group."""
    figures = committed_indicators(request, np.array([group.area_mu]))
    frame = sites.frame.iloc[list(group.members)]
    for key, value in figures.items():
        if np.isnan(value[0]):
            continue
        lo = frame[f"{key}_lo"].to_numpy(dtype=float)
        hi = frame[f"{key}_hi"].to_numpy(dtype=float)
        if (~np.isnan(lo) & (value[0] < lo)).any() or (~np.isnan(hi) & (value[0] > hi)).any():
            return False
    return True
