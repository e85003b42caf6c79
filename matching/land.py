"""Hard constraints that only land (parcels) has: land use, area, readiness, the utility
networks within reach, and the standard-land indicators."""

from __future__ import annotations

import numpy as np

from layers.catalog import UTILITIES
from layers.readiness import condition_name, day_number
from layers.schema import Utility
from layers.vocabulary import INDICATORS, LAND_USE_ZH
from matching.assembly import Group
from matching.constraints import (
    Constraint,
    FloatArray,
    Text,
    committed_indicators,
    constraint,
    fmt,
    unmeasured,
)
from matching.networks import best_node
from matching.request import ProjectRequest
from matching.situation import Situation
from matching.zone import Sites

NEAR_MISS_AREA = 0.5
"""A parcel with less than half the area asked for is not "one step" from taking a project."""


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
        )
    ]


def area(s: Situation) -> list[Constraint]:
    """The parcel's area is within the range asked for."""
    if s.request.area is None:
        return []
    size = s.sites.frame["area_mu"].to_numpy(dtype=float)
    lo, hi = s.request.area.min_mu, s.request.area.max_mu
    short = size - lo
    over = (hi - size) if hi is not None else np.full(len(size), np.inf)
    margin = np.minimum(short, over)

    def why(i: int) -> str:
        if size[i] < lo:
            return f"面积不足: {fmt(size[i])} 亩 < {fmt(lo)} 亩 (short {fmt(lo - size[i])} 亩)"
        over = size[i] - (hi or 0.0)
        return f"面积过大: {fmt(size[i])} 亩 > {fmt(hi or 0)} 亩 (over by {fmt(over)} 亩)"

    def remedy(i: int) -> str:
        if size[i] < lo:
            gap = fmt(lo - size[i])
            return (
                f"需相邻地块补足 {gap} 亩 (needs {gap} 亩 more from neighbouring parcels; "
                '"assemble": "always" proposes groups)'
            )
        return f"需分割地块 (needs subdividing to ≤ {fmt(hi or 0)} 亩)"

    return [
        constraint(
            "area",
            "面积 (area)",
            margin >= 0,
            margin,
            "亩",
            (why, remedy),
            area_dependent=True,
            actionable=~(margin < -NEAR_MISS_AREA * lo),
        )
    ]


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
    kv = f"{min_kv:g} kV 及以上" if min_kv else ""

    def why(i: int) -> str:
        if np.isnan(best[i]):
            return f"{reach:g} km 内无{kv}变电站 (no {kv or 'any'} substation within {reach:g} km)"
        return (
            f"{reach:g} km 内{kv}变电站最大剩余容量 {fmt(best[i])} MVA < 需 {fmt(need)} MVA "
            f"(best spare {fmt(best[i])} MVA < {fmt(need)} MVA needed)"
        )

    def remedy(i: int) -> str:
        if np.isnan(best[i]):
            return f"需新建{kv}变电站或线路 (needs a new substation or line)"
        gap = fmt(need - best[i])
        return f"需变电站扩容 {gap} MVA (needs a {gap} MVA substation upgrade)"

    return [
        constraint(
            "power",
            "电力容量 (power)",
            np.nan_to_num(margin, nan=-np.inf) >= 0,
            margin,
            "MVA",
            (why, remedy),
        )
    ]


def _network_texts(
    best: FloatArray, need: float, network: Utility, reach: float
) -> tuple[Text, Text]:
    zh, unit = network.zh, network.unit

    def why(i: int) -> str:
        if np.isnan(best[i]):
            return f"{reach:g} km 内无{zh}设施 (no {zh} node within {reach:g} km)"
        return (
            f"{reach:g} km 内{zh}最大剩余能力 {fmt(best[i])} {unit} < 需 {fmt(need)} {unit} "
            f"(spare {fmt(best[i])} < {fmt(need)} {unit} needed)"
        )

    def remedy(i: int) -> str:
        if np.isnan(best[i]):
            return f"需新建{zh}设施或管线 (needs a new {zh} connection)"
        gap = fmt(need - best[i])
        return f"需{zh}扩容 {gap} {unit} (needs {gap} {unit} more capacity)"

    return why, remedy


def networks(s: Situation) -> list[Constraint]:
    """For each utility but power: a node within reach with the spare capacity needed."""
    infra = s.zone.infrastructure
    reach = s.request.utility_reach_km
    out = []
    for network in UTILITIES:
        need = getattr(s.request, network.need_field)
        if network.name == "power" or need is None:
            continue
        spare = infra[network.spare_column].to_numpy(dtype=float)
        _, _, best = best_node(
            s.sites.distances.pairs[network.node_kind],
            len(s.sites),
            reach_m=reach * 1000,
            qualifies=spare >= need,
            spare=np.where(infra["kind"].to_numpy() == network.node_kind, spare, np.nan),
        )
        margin = best - need
        out.append(
            constraint(
                network.name,
                f"{network.zh} ({network.name})",
                np.nan_to_num(margin, nan=-np.inf) >= 0,
                margin,
                network.unit,
                _network_texts(best, need, network, reach),
            )
        )
    return out


def _indicator_texts(
    value: FloatArray, lo: FloatArray, hi: FloatArray, margin: FloatArray, key: str
) -> tuple[Text, Text]:
    zh, _, unit = INDICATORS[key]

    def why(i: int) -> str:
        bound = (f"≥ {fmt(lo[i])}" if not np.isnan(lo[i]) else "") + (
            f"{' 且 ' if not np.isnan(lo[i]) and not np.isnan(hi[i]) else ''}≤ {fmt(hi[i])}"
            if not np.isnan(hi[i])
            else ""
        )
        return f"{zh} {fmt(value[i])} {unit} 不满足 {bound} {unit} (standard-land indicator)"

    def remedy(i: int) -> str:
        return f"需提高承诺{zh} {fmt(-margin[i])} {unit} (needs a stronger commitment)"

    return why, remedy


def standard_land(s: Situation) -> list[Constraint]:
    """The project's committed indicators against each parcel's control-indicator bounds.

    A bound the project gives no figure for is not checked (and says so)."""
    frame = s.sites.frame
    figures = committed_indicators(s.request, frame["area_mu"].to_numpy(dtype=float))
    out = []
    for key, value in figures.items():
        lo = frame[f"{key}_lo"].to_numpy(dtype=float)
        hi = frame[f"{key}_hi"].to_numpy(dtype=float)
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
                _indicator_texts(value, lo, hi, margin, key),
                area_dependent=True,
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
