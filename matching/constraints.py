"""Hard constraints: for every site, pass or fail, the margin, and why.

Each constraint is one vectorised :class:`Check` over all sites of a layer. Reasons and
remedies are rendered only for the sites a result shows, so a request over 100,000
parcels does array work only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from layers.catalog import (
    FACTORY_STATUS_ZH,
    INDICATORS,
    LAND_USE_ZH,
    PARCEL_STATUS_ZH,
    POLLUTANTS,
)
from layers.readiness import condition_name, day_number
from matching.request import FIRE_CLASSES, ProjectRequest
from matching.zone import REACH_M, Pairs, Sites, Zone

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Check:
    """One hard constraint evaluated on every site of a layer."""

    key: str
    name: str
    ok: BoolArray
    margin: FloatArray
    """Slack in ``unit`` (negative: short by that much); NaN where not a quantity."""
    unit: str
    why: Callable[[int], str]
    """Why site *i* fails (or, for a passing site, what was checked)."""
    remedy: Callable[[int], str]
    """What it would take for site *i* to pass."""


def _const(text: str) -> Callable[[int], str]:
    return lambda _i: text


def _shortfall(
    have: FloatArray, need: float, zh: str, unit: str
) -> tuple[Callable[[int], str], Callable[[int], str]]:
    def why(i: int) -> str:
        return f"{zh} {_fmt(have[i])} {unit} < 需 {_fmt(need)} {unit}"

    def remedy(i: int) -> str:
        return f"需改造提升{zh} {_fmt(need - have[i])} {unit} (needs a retrofit)"

    return why, remedy


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


def _check(
    key: str,
    name: str,
    ok: BoolArray,
    margin: FloatArray,
    unit: str,
    why: Callable[[int], str],
    remedy: Callable[[int], str],
) -> Check:
    return Check(
        key, name, np.asarray(ok, dtype=bool), np.asarray(margin, dtype=float), unit, why, remedy
    )


def best_node(
    pairs: Pairs,
    n_sites: int,
    *,
    reach_m: float,
    qualifies: BoolArray,
    spare: FloatArray,
    per_pair: bool = False,
) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray]:
    """Per site: the nearest qualifying node within reach (-1 if none), its distance (inf),
    and the largest ``spare`` among all nodes within reach (NaN where ``spare`` is NaN for
    all of them, e.g. nodes of the wrong voltage). ``qualifies`` and ``spare`` are per
    node, or already per pair with ``per_pair``."""
    node = np.full(n_sites, -1, dtype=np.int64)
    dist = np.full(n_sites, np.inf)
    best = np.full(n_sites, np.nan)
    if not len(pairs.site):
        return node, dist, best
    # Pairs only exist within REACH_M, so a request at full reach needs no distance test.
    full_reach = reach_m >= REACH_M
    in_reach = None if full_reach else pairs.dist_m <= reach_m
    keep = qualifies if per_pair else qualifies[pairs.node]
    if in_reach is not None:
        keep = keep & in_reach
    # Pairs are sorted by site, then distance: the first kept pair of a run is the nearest.
    position = np.where(keep, pairs.positions, len(keep))
    first = np.minimum.reduceat(position, pairs.starts)
    found = first < len(keep)
    node[pairs.owner[found]] = pairs.node[first[found]]
    dist[pairs.owner[found]] = pairs.dist_m[first[found]]
    values = spare if per_pair else spare[pairs.node]
    if in_reach is not None:
        values = np.where(in_reach, values, np.nan)
    with np.errstate(invalid="ignore"):
        best[pairs.owner] = np.fmax.reduceat(values, pairs.starts)
    return node, dist, best


# -- land ----------------------------------------------------------------------------------
def parcel_checks(
    request: ProjectRequest, zone: Zone, *, access: Access | None = None
) -> list[Check]:
    """Every hard constraint of a land request over the zone's parcels."""
    sites = zone.parcels
    frame = sites.frame
    area = frame["area_mu"].to_numpy(dtype=float)
    checks = [_status_check(sites, PARCEL_STATUS_ZH, "available")]
    checks += _land_use(request, sites)
    checks += _area(request, area)
    checks += _readiness(request, sites)
    checks += _utilities(request, zone, sites, access)
    checks += _budgets(request, zone, sites)
    checks += _logistics(request, sites)
    checks += standard_land(request, frame, area)
    return checks


def _status_check(sites: Sites, labels: dict[str, str], wanted: str) -> Check:
    ok = sites.isin("status", [wanted])
    status = sites.column("status")
    return _check(
        "status",
        "状态 (status)",
        ok,
        np.full(len(status), np.nan),
        "",
        lambda i: f"状态为{labels.get(status[i], status[i])} (status {status[i]})",
        lambda i: f"需解除{labels.get(status[i], status[i])}状态 (needs to become {wanted})",
    )


def _land_use(request: ProjectRequest, sites: Sites) -> list[Check]:
    allowed = request.allowed_land_use
    if allowed is None:
        return []
    land_use = sites.column("land_use")
    ok = sites.isin("land_use", allowed)
    wanted = "/".join(allowed)
    return [
        _check(
            "land_use",
            "用地性质 (land use)",
            ok,
            np.full(len(sites), np.nan),
            "",
            lambda i: (
                f"用地性质 {land_use[i]} {LAND_USE_ZH.get(land_use[i], '')} 不在允许的 "
                f"{wanted} 内 (land use not allowed for the project's pollution class)"
            ),
            lambda i: f"需调整规划用地性质为 {wanted} (needs rezoning to {wanted})",
        )
    ]


def _area(request: ProjectRequest, area: FloatArray) -> list[Check]:
    if request.area is None:
        return []
    lo, hi = request.area.min_mu, request.area.max_mu
    short = area - lo
    over = (hi - area) if hi is not None else np.full(len(area), np.inf)
    margin = np.minimum(short, over)

    def why(i: int) -> str:
        if area[i] < lo:
            return f"面积不足: {_fmt(area[i])} 亩 < {_fmt(lo)} 亩 (short {_fmt(lo - area[i])} 亩)"
        over = area[i] - (hi or 0.0)
        return f"面积过大: {_fmt(area[i])} 亩 > {_fmt(hi or 0)} 亩 (over by {_fmt(over)} 亩)"

    def remedy(i: int) -> str:
        if area[i] < lo:
            gap = _fmt(lo - area[i])
            return (
                f"需相邻地块补足 {gap} 亩 (needs {gap} 亩 more from neighbouring parcels; "
                '"assemble": "always" proposes groups)'
            )
        return f"需分割地块 (needs subdividing to ≤ {_fmt(hi or 0)} 亩)"

    return [_check("area", "面积 (area)", margin >= 0, margin, "亩", why, remedy)]


def readiness_gaps(sites: Sites, i: int, day: int) -> str:
    """The conditions parcel *i* still lacks on ``day``, joined by "、"."""
    missing = sites.condition_days[i] > day
    return "、".join(
        condition_name(k) for k, m in zip(sites.condition_keys, missing, strict=True) if m
    )


def _readiness(request: ProjectRequest, sites: Sites) -> list[Check]:
    if request.start_by is None:
        return []
    day = day_number(request.start_by)
    ok: BoolArray = sites.ready_day <= day
    when = request.start_by.isoformat()
    return [
        _check(
            "readiness",
            "净地就绪 (readiness)",
            ok,
            np.full(len(ok), np.nan),
            "",
            lambda i: (
                f"{when} 前不能净地出让, 欠缺: {readiness_gaps(sites, i, day)} "
                f"(not ready by {when})"
            ),
            lambda i: (
                f"需在 {when} 前完成: {readiness_gaps(sites, i, day)} (needs these done by {when})"
            ),
        )
    ]


_UTILITY_NEEDS = (  # kind, request field, node spare column, unit, 中文
    ("water", "water_m3d", "spare_m3d", "m³/日", "供水"),
    ("gas", "gas_nm3h", "spare_nm3h", "Nm³/时", "燃气"),
    ("heat", "heat_mw", "spare_mw", "MW", "供热"),
    ("sewage", "sewage_m3d", "spare_m3d", "m³/日", "污水处理"),
)


def _utilities(
    request: ProjectRequest, zone: Zone, sites: Sites, access: Access | None
) -> list[Check]:
    infra = zone.infrastructure
    n = len(sites)
    checks = []
    if request.power_mva is not None or request.min_voltage_kv is not None:
        checks.append(_power_check(request, access or substation_access(request, zone, sites)))
    for kind, field, column, unit, zh in _UTILITY_NEEDS:
        need = getattr(request, field)
        if need is None:
            continue
        spare = infra[column].to_numpy(dtype=float)
        reach = request.utility_reach_km
        _, _, best = best_node(
            sites.distances.pairs[kind],
            n,
            reach_m=reach * 1000,
            qualifies=spare >= need,
            spare=np.where(infra["kind"].to_numpy() == kind, spare, np.nan),
        )
        margin = best - need
        checks.append(
            _check(
                kind,
                f"{zh} ({kind})",
                np.nan_to_num(margin, nan=-np.inf) >= 0,
                margin,
                unit,
                _utility_why(best, need, unit, zh, reach),
                _utility_remedy(best, need, unit, zh),
            )
        )
    return checks


@dataclass(frozen=True)
class Access:
    """Per site, the substations a request can use: the nearest one of the voltage asked
    for with the spare MVA needed (``node`` -1 and ``dist_m`` inf where none is within
    reach), and the most spare MVA among those of that voltage within reach."""

    node: npt.NDArray[np.int64]
    dist_m: FloatArray
    best_spare_mva: FloatArray


def substation_access(request: ProjectRequest, zone: Zone, sites: Sites) -> Access:
    """Computed once per request and shared by the power check, the substation criterion
    and the connection plan."""
    need = request.power_mva or 0.0
    voltage = sites.pair_values(zone, "substation", "voltage_kv")
    spare = sites.pair_values(zone, "substation", "spare_mva")
    voltage_ok = np.nan_to_num(voltage) >= (request.min_voltage_kv or 0.0)
    node, dist, best = best_node(
        sites.distances.pairs["substation"],
        len(sites),
        reach_m=request.power_reach_km * 1000,
        qualifies=voltage_ok & (spare >= need),
        spare=np.where(voltage_ok, spare, np.nan),
        per_pair=True,
    )
    return Access(node, dist, best)


def _power_check(request: ProjectRequest, access: Access) -> Check:
    """A substation within reach, of the voltage asked for, with the spare MVA needed."""
    need = request.power_mva or 0.0
    min_kv = request.min_voltage_kv or 0.0
    reach = request.power_reach_km
    best = access.best_spare_mva
    margin = best - need
    kv = f"{min_kv:g} kV 及以上" if min_kv else ""

    def why(i: int) -> str:
        if np.isnan(best[i]):
            return f"{reach:g} km 内无{kv}变电站 (no {kv or 'any'} substation within {reach:g} km)"
        return (
            f"{reach:g} km 内{kv}变电站最大剩余容量 {_fmt(best[i])} MVA < 需 {_fmt(need)} MVA "
            f"(best spare {_fmt(best[i])} MVA < {_fmt(need)} MVA needed)"
        )

    def remedy(i: int) -> str:
        if np.isnan(best[i]):
            return f"需新建{kv}变电站或线路 (needs a new substation or line)"
        gap = _fmt(need - best[i])
        return f"需变电站扩容 {gap} MVA (needs a {gap} MVA substation upgrade)"

    return _check(
        "power",
        "电力容量 (power)",
        np.nan_to_num(margin, nan=-np.inf) >= 0,
        margin,
        "MVA",
        why,
        remedy,
    )


def _utility_why(
    best: FloatArray, need: float, unit: str, zh: str, reach: float
) -> Callable[[int], str]:
    def why(i: int) -> str:
        if np.isnan(best[i]):
            return f"{reach:g} km 内无{zh}设施 (no {zh} node within {reach:g} km)"
        return (
            f"{reach:g} km 内{zh}最大剩余能力 {_fmt(best[i])} {unit} < 需 {_fmt(need)} {unit} "
            f"(spare {_fmt(best[i])} < {_fmt(need)} {unit} needed)"
        )

    return why


def _utility_remedy(best: FloatArray, need: float, unit: str, zh: str) -> Callable[[int], str]:
    def remedy(i: int) -> str:
        if np.isnan(best[i]):
            return f"需新建{zh}设施或管线 (needs a new {zh} connection)"
        gap = _fmt(need - best[i])
        return f"需{zh}扩容 {gap} {unit} (needs {gap} {unit} more capacity)"

    return remedy


def _budget_texts(
    available: FloatArray, own: BoolArray, label: str, unit: str, en: str, need: float
) -> tuple[Callable[[int], str], Callable[[int], str]]:
    """Reason and remedy for a budget shortfall at site *i*."""

    def why(i: int) -> str:
        whose, whose_en = ("地块核定", "site") if own[i] else ("园区剩余", "park")
        if np.isnan(available[i]):
            return f"{whose}{label}未知, 需核实台账 ({whose_en} {en} unknown: check the ledger)"
        have = _fmt(available[i])
        return (
            f"{whose}{label} {have} {unit} < 需 {_fmt(need)} {unit} "
            f"({whose_en} {en} left {have} < {_fmt(need)})"
        )

    def remedy(i: int) -> str:
        gap = need - (0.0 if np.isnan(available[i]) else available[i])
        how = "市里调剂" if unit == "吨标准煤" else "排污权交易或省内调剂"
        amount = f"{_fmt(gap)} {unit}"
        return f"需{how} {amount} {label} (needs {amount} of {en} from elsewhere)"

    return why, remedy


def _budgets(request: ProjectRequest, zone: Zone, sites: Sites) -> list[Check]:
    budgets = sites.budgets
    needs = {"energy": request.energy_tce, **request.emissions_t}
    checks = []
    for key, need in needs.items():
        if not need:  # none stated, or zero: nothing to cover
            continue
        available, own = budgets[key]
        margin = available - need
        label, unit = (
            ("能耗指标", "吨标准煤")
            if key == "energy"
            else (f"{POLLUTANTS[key][0]}排放总量", "t/年")
        )
        en = "energy quota" if key == "energy" else f"{POLLUTANTS[key][1]} allowance"

        why, remedy = _budget_texts(available, own, label, unit, en, need)

        checks.append(
            _check(
                f"budget_{key}",
                f"{label} ({en})",
                np.nan_to_num(margin, nan=-np.inf) >= 0,
                margin,
                unit,
                why,
                remedy,
            )
        )
    return checks


def _logistics(request: ProjectRequest, sites: Sites) -> list[Check]:
    logistics = request.logistics
    nearest = sites.distances.nearest_m
    limits = [
        ("interchange", logistics.max_interchange_km, "高速出入口", "highway interchange"),
        (
            "rail",
            logistics.max_rail_km or (5.0 if logistics.rail_required else None),
            "铁路货运站",
            "rail freight",
        ),
        ("airport", logistics.max_airport_km, "机场", "airport"),
    ]
    checks = []
    for kind, limit_km, zh, en in limits:
        if limit_km is None:
            continue
        km = nearest[kind] / 1000.0
        margin = limit_km - km

        def why(
            i: int, km: FloatArray = km, limit_km: float = limit_km, zh: str = zh, en: str = en
        ) -> str:
            if np.isinf(km[i]):
                return f"无{zh} (no {en} in the data)"
            return f"距{zh} {km[i]:.1f} km > {limit_km:g} km (nearest {en} too far)"

        def remedy(i: int, km: FloatArray = km, limit_km: float = limit_km, en: str = en) -> str:
            return f"需放宽距离要求 {km[i] - limit_km:.1f} km (needs the limit relaxed; {en})"

        checks.append(_check(kind, f"{zh}距离 ({en})", margin >= 0, margin, "km", why, remedy))
    return checks


def committed_indicators(request: ProjectRequest, area_mu: FloatArray) -> dict[str, FloatArray]:
    """The project's standard-land figures per site: committed per-亩 values, or totals on
    the request divided by each site's area (so a larger site lowers the intensity)."""
    n = len(area_mu)
    c = request.committed
    with np.errstate(divide="ignore", invalid="ignore"):

        def per_mu(committed: float | None, total_yi: float | None) -> FloatArray:
            if committed is not None:
                return np.full(n, committed)
            if total_yi is not None:
                return total_yi * 10_000.0 / area_mu  # 亿元 → 万元
            return np.full(n, np.nan)

        return {
            "inv": per_mu(c.invest_wan_per_mu, request.investment_yi),
            "tax": per_mu(c.tax_wan_per_mu, request.annual_tax_yi),
            "out": per_mu(c.output_wan_per_mu, request.annual_output_yi),
            "egy": np.full(n, np.nan if c.energy_tce_per_wan is None else c.energy_tce_per_wan),
        }


def standard_land(request: ProjectRequest, frame: pd.DataFrame, area: FloatArray) -> list[Check]:
    """The project's committed indicators against each parcel's control-indicator bounds.

    A bound the project gives no figure for is not checked (and says so)."""
    figures = committed_indicators(request, area)
    checks = []
    for key, value in figures.items():
        lo = frame[f"{key}_lo"].to_numpy(dtype=float)
        hi = frame[f"{key}_hi"].to_numpy(dtype=float)
        if np.isnan(value).all() or (np.isnan(lo).all() and np.isnan(hi).all()):
            continue
        margin = np.fmin(value - lo, hi - value)  # NaN where the parcel sets no bound
        ok = np.isnan(margin) | (margin >= 0)
        zh, en, unit = INDICATORS[key]

        def why(
            i: int,
            value: FloatArray = value,
            lo: FloatArray = lo,
            hi: FloatArray = hi,
            zh: str = zh,
            unit: str = unit,
        ) -> str:
            bound = (f"≥ {_fmt(lo[i])}" if not np.isnan(lo[i]) else "") + (
                f"{' 且 ' if not np.isnan(lo[i]) and not np.isnan(hi[i]) else ''}≤ {_fmt(hi[i])}"
                if not np.isnan(hi[i])
                else ""
            )
            return f"{zh} {_fmt(value[i])} {unit} 不满足 {bound} {unit} (standard-land indicator)"

        def remedy(i: int, margin: FloatArray = margin, zh: str = zh, unit: str = unit) -> str:
            return f"需提高承诺{zh} {_fmt(-margin[i])} {unit} (needs a stronger commitment)"

        checks.append(_check(f"std_{key}", f"标准地·{zh} ({en})", ok, margin, unit, why, remedy))
    return checks


# -- factories -------------------------------------------------------------------------------
def factory_checks(request: ProjectRequest, zone: Zone) -> list[Check]:
    """Every hard constraint of a factory request over the zone's factories."""
    needs = request.factory
    if needs is None:
        raise ValueError("a factory request needs `factory`")  # the request model ensures it
    sites = zone.factories
    frame = sites.frame
    n = len(frame)
    checks = [_status_check(sites, FACTORY_STATUS_ZH, "idle")]
    floor = frame["floor_m2"].to_numpy(dtype=float)
    lo, hi = needs.floor.min_m2, needs.floor.max_m2
    margin = np.minimum(floor - lo, (hi - floor) if hi is not None else np.inf)
    checks.append(
        _check(
            "floor",
            "建筑面积 (floor area)",
            margin >= 0,
            margin,
            "m²",
            lambda i: (
                f"建筑面积 {_fmt(floor[i])} m² 不在 {_fmt(lo)}–{_fmt(hi) if hi else '∞'} m² 内 "
                "(floor area out of range)"
            ),
            lambda i: "需另寻厂房或拼合相邻厂房 (needs another building)",
        )
    )
    for key, column, need, zh, unit in [
        ("height", "height_m", needs.min_clear_height_m, "净高", "m"),
        ("load", "load_kn", needs.min_floor_load_kn, "楼面荷载", "kN/m²"),
        ("crane", "crane_t", needs.min_crane_t, "行车", "t"),
        (
            "factory_power",
            "power_kva",
            None if request.power_mva is None else request.power_mva * 1000.0,
            "供电容量",
            "kVA",
        ),
    ]:
        if need is None:
            continue
        have = np.nan_to_num(frame[column].to_numpy(dtype=float), nan=0.0)
        margin = have - need
        checks.append(
            _check(
                key,
                f"{zh} ({key})",
                margin >= 0,
                margin,
                unit,
                *_shortfall(have, need, zh, unit),
            )
        )
    if needs.fire_class is not None:
        rank = {c: r for r, c in enumerate(FIRE_CLASSES)}
        rated = frame["fire_cls"].to_numpy(dtype=object)
        ok = np.array([c in rank and rank[c] <= rank[needs.fire_class] for c in rated])
        checks.append(
            _check(
                "fire",
                "火灾危险性 (fire class)",
                ok,
                np.full(n, np.nan),
                "",
                lambda i: (
                    f"厂房按{rated[i] or '未知'}类设防, 项目为{needs.fire_class}类 "
                    "(building not rated for the project's fire class)"
                ),
                lambda i: f"需按{needs.fire_class}类改造消防 (needs fire-protection upgrade)",
            )
        )
    if needs.max_rent_yuan_m2_month is not None:
        rent = frame["rent_ym"].to_numpy(dtype=float)
        limit = needs.max_rent_yuan_m2_month
        margin = limit - rent
        checks.append(
            _check(
                "rent",
                "租金 (rent)",
                np.nan_to_num(margin, nan=-np.inf) >= 0,
                margin,
                "元/m²/月",
                lambda i: f"租金 {_fmt(rent[i])} 元/m²/月 > {_fmt(limit)} (rent above the limit)",
                lambda i: f"需议价降低 {_fmt(-margin[i])} 元/m²/月 (needs a lower rent)",
            )
        )
    if request.start_by is not None:
        start = request.start_by
        avail = frame["avail_from"].to_numpy(dtype=object)
        ok = np.array([d is None or d <= start for d in avail])
        checks.append(
            _check(
                "available",
                "可用日期 (available from)",
                ok,
                np.full(n, np.nan),
                "",
                lambda i: f"{avail[i]} 才可使用, 晚于 {start} (available only from {avail[i]})",
                lambda i: f"需提前腾退至 {start} (needs to be vacated earlier)",
            )
        )
    for column, need, zh in (
        ("water", request.water_m3d, "供水"),
        ("gas", request.gas_nm3h, "燃气"),
    ):
        if need:
            has = frame[column].to_numpy(dtype=object)
            ok = np.array([bool(v) if v is not None and v is not pd.NA else False for v in has])
            checks.append(
                _check(
                    f"factory_{column}",
                    f"已通{zh} ({column})",
                    ok,
                    np.full(n, np.nan),
                    "",
                    _const(f"未通{zh} (no {zh} connection)"),
                    _const(f"需接通{zh} (needs a {zh} connection)"),
                )
            )
    checks += _budgets(request, zone, sites)
    checks += _logistics(request, sites)
    return checks


def as_of(request: ProjectRequest) -> dt.date:
    """The date readiness is judged on: the start date, or today."""
    return request.start_by or dt.date.today()
