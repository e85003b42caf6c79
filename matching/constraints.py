"""Hard constraints: for every site, pass or fail, the margin, and why.

Each constraint is one vectorised :class:`Constraint` over all sites of a layer, built
by a rule (a function of the :class:`~matching.situation.Situation`). The rules of each
kind of site are listed in :mod:`matching.profiles`; those shared by land and factories
are here, the others in :mod:`matching.land` and :mod:`matching.factories`. Reasons and
remedies are rendered only for the sites a result shows, so a request over 100,000
parcels does array work only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from layers.catalog import BUDGETS
from layers.units import amount, compared
from matching.request import ProjectRequest
from matching.roadnet import DETOUR, RoadDistance
from matching.situation import Situation

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Text = Callable[[int], str]
RemedyKind = Literal["relax", "retrofit", "negotiate", "assemble"]
"""What a failure takes to put right: relax the request (a distance limit, an area range),
retrofit the site (substation, network, building), negotiate (rent, budgets, commitments,
planning), or assemble neighbouring sites (too small)."""
REMEDY_KINDS: dict[str, str] = {
    "relax": "放宽要求 (relax)",
    "retrofit": "改造扩容 (retrofit)",
    "negotiate": "协商调剂 (negotiate)",
    "assemble": "拼合相邻 (assemble)",
}
"""How each remedy kind is said."""
STATUS = "status"
"""The key of the constraint that says whether a site is on offer at all."""


def _kind(kind: RemedyKind) -> Callable[[int], RemedyKind]:
    return lambda _i: kind


def _relax(_i: int) -> RemedyKind:
    return "relax"


@dataclass(frozen=True)
class Constraint:
    """One hard constraint evaluated on every site of a layer."""

    key: str
    name: str
    ok: BoolArray
    margin: FloatArray
    """Slack in ``unit`` (negative: short by that much); NaN where not a quantity."""
    unit: str
    why: Text
    """Why site *i* fails (or, for a passing site, what was checked)."""
    remedy: Text
    """What it would take for site *i* to pass."""
    area_dependent: bool = False
    """The outcome depends on the site's area: an assembled group is judged on its total
    area instead of member by member."""
    actionable: BoolArray | None = None
    """Per site, whether a site failing only this constraint is a near miss a planner
    could act on (None: every site). Not so for a site that is not on offer, or a parcel
    far too small."""
    met: Text | None = None
    """What a passing site *i* shows instead of its margin, where that says more (a
    building leased in part); an empty text keeps the margin."""
    scale: FloatArray | None = None
    """Per site, the requirement its margin is measured against (the need, limit or
    bound it falls short of), in ``unit``; None for a yes/no constraint."""
    cost: float = 1.0
    """The relative shortfall a failure counts as where it has no measured margin: a
    yes/no constraint, or a value that is unknown or unreachable."""
    remedy_kind: Callable[[int], RemedyKind] = _relax
    """What kind of remedy site *i* needs."""

    def shortfall(self, rows: IntArray) -> FloatArray:
        """Per row, how much it lacks relative to the requirement: 0 where it passes,
        ``−margin / |scale|`` where that is a finite number, else :attr:`cost`."""
        margin = self.margin[rows]
        scale = np.full(len(rows), np.nan) if self.scale is None else self.scale[rows]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            relative = -margin / np.abs(scale)
        relative = np.where(np.isfinite(relative), relative, self.cost)
        return np.where(self.ok[rows], 0.0, relative)


ConstraintRule = Callable[[Situation], list["Constraint"]]
"""Builds the constraints of one kind (none when the request does not ask for it)."""


def constraint(
    key: str,
    name: str,
    ok: BoolArray,
    margin: FloatArray,
    unit: str,
    texts: tuple[Text, Text],
    *,
    area_dependent: bool = False,
    actionable: BoolArray | None = None,
    met: Text | None = None,
    scale: FloatArray | float | None = None,
    cost: float = 1.0,
    kind: RemedyKind | Callable[[int], RemedyKind] = "relax",
) -> Constraint:
    """A :class:`Constraint` from array-likes; ``texts`` are its ``why`` and ``remedy``,
    ``scale`` (an array or one number for all sites) its requirement, ``kind`` its remedy
    kind (one for all sites, or per site)."""
    why, remedy = texts
    ok = np.asarray(ok, dtype=bool)
    return Constraint(
        key,
        name,
        ok,
        np.asarray(margin, dtype=float),
        unit,
        why,
        remedy,
        area_dependent=area_dependent,
        actionable=actionable,
        met=met,
        scale=None if scale is None else np.broadcast_to(np.asarray(scale, dtype=float), ok.shape),
        cost=cost,
        remedy_kind=_kind(kind) if isinstance(kind, str) else kind,
    )


def unmeasured(n: int) -> FloatArray:
    """The margin of a yes/no constraint: no quantity at any site (a read-only view of
    one NaN, as a scalar ``scale`` is: nothing is written per site)."""
    return np.broadcast_to(np.float64(np.nan), (n,))


def fixed(text: str) -> Text:
    """The same text for every site."""
    return lambda _i: text


def status(labels: dict[str, str], wanted: str) -> ConstraintRule:
    """Only sites whose status is ``wanted`` are on offer; failing this is no near miss."""

    def rule(s: Situation) -> list[Constraint]:
        sites = s.sites
        values = sites.column("status")
        ok = sites.isin("status", [wanted])
        return [
            constraint(
                STATUS,
                "状态 (status)",
                ok,
                unmeasured(len(values)),
                "",
                (
                    lambda i: f"状态为{labels.get(values[i], values[i])} (status {values[i]})",
                    lambda i: (
                        f"需解除{labels.get(values[i], values[i])}状态 (needs to become {wanted})"
                    ),
                ),
                actionable=np.zeros(len(values), dtype=bool),
            )
        ]

    return rule


def _budget_texts(
    available: FloatArray, own: BoolArray, label: str, unit: str, en: str, need: float
) -> tuple[Text, Text]:
    """Reason and remedy for a budget shortfall at site *i*."""
    how = "市里调剂" if unit == "吨标准煤" else "排污权交易或省内调剂"

    def why(i: int) -> str:
        whose, whose_en = ("地块核定", "site") if own[i] else ("园区剩余", "park")
        if np.isnan(available[i]):
            return f"{whose}{label}未知, 需核实台账 ({whose_en} {en} unknown: check the ledger)"
        have, needed, gap = compared(available[i], need, unit)
        return (
            f"{whose}{label} {have} {unit} < 需 {needed} {unit} "
            f"({whose_en} {en} left {have} < {needed}; short {gap} {unit})"
        )

    def remedy(i: int) -> str:
        if np.isnan(available[i]):
            whole = amount(need, unit)
            return (
                f"需核实台账; 无余量时需{how} {whole} {unit} {label} "
                f"(check the ledger; without any left, needs {whole} {unit} of {en})"
            )
        gap = compared(available[i], need, unit).gap
        return f"需{how} {gap} {unit} {label} (needs {gap} {unit} of {en} from elsewhere)"

    return why, remedy


def budgets(s: Situation) -> list[Constraint]:
    """Energy quota and each pollutant's allowance: the site's own, or its park's left."""
    request = s.request
    by_key = {b.key: b for b in BUDGETS}
    needs = [(b, getattr(request, b.need_field)) for b in BUDGETS if b.need_field is not None]
    needs += [(by_key[key], need) for key, need in request.emissions_t.items()]  # as asked
    out = []
    for budget, need in needs:
        if not need:  # none stated, or zero: nothing to cover
            continue
        available, own = s.sites.budgets[budget.key]
        margin = available - need
        label, unit, en = budget.site_zh, budget.site_unit, budget.site_en
        out.append(
            constraint(
                f"budget_{budget.check}",
                f"{label} ({en})",
                margin >= 0,  # NaN (unknown) fails
                margin,
                unit,
                _budget_texts(available, own, label, unit, en, need),
                scale=need,
                cost=0.5,
                kind="negotiate",
            )
        )
    return out


def _distance_texts(
    km: FloatArray, limit_km: float, road: RoadDistance | None, zh: str, en: str
) -> tuple[Text, Text]:
    """Reason and remedy for a site too far from ``en``; ``road`` None: straight line."""

    def how(i: int) -> tuple[str, str]:
        """How site *i*'s distance was measured: (中文, English)."""
        if road is None:
            return "直线距离", "straight line"
        if road.estimated[i]:
            return "估算道路距离", f"road estimated: straight line × {DETOUR:g}, no road reaches it"
        minutes = f"{road.minutes[i]:.0f}"
        return "道路距离", f"road, 约 {minutes} 分钟 / about {minutes} min"

    def why(i: int) -> str:
        if np.isinf(km[i]):
            return f"无{zh} (no {en} in the data)"
        have, limit, gap = compared(km[i], limit_km, "km")
        zh_how, en_how = how(i)
        return f"距{zh} {zh_how} {have} km > {limit} km ({en_how}; nearest {en} {gap} km too far)"

    def remedy(i: int) -> str:
        if np.isinf(km[i]):
            return f"需取消{zh}距离要求 (needs the {en} limit dropped: none in the data)"
        have, _, gap = compared(km[i], limit_km, "km")
        return f"需放宽距离要求 {gap} km, 至 {have} km (needs the {en} limit relaxed by {gap} km)"

    return why, remedy


def logistics(s: Situation) -> list[Constraint]:
    """The greatest distance to a highway interchange, rail freight and the airport, along
    the road network or in a straight line as the request says."""
    asked = s.request.logistics
    limits = [
        ("interchange", asked.max_interchange_km, "高速出入口", "highway interchange"),
        (
            "rail",
            asked.max_rail_km or (5.0 if asked.rail_required else None),
            "铁路货运站",
            "rail freight",
        ),
        ("airport", asked.max_airport_km, "机场", "airport"),
    ]
    out = []
    for kind, limit_km, zh, en in limits:
        if limit_km is None:
            continue
        km = s.sites.distances.to(kind, asked.distance)[0] / 1000.0
        road = s.sites.distances.road[kind] if asked.distance == "road" else None
        margin = limit_km - km
        out.append(
            constraint(
                kind,
                f"{zh}距离 ({en})",
                margin >= 0,
                margin,
                "km",
                _distance_texts(km, limit_km, road, zh, en),
                scale=limit_km,
            )
        )
    return out


def committed_indicators(request: ProjectRequest, area_mu: FloatArray) -> dict[str, FloatArray]:
    """The project's standard-land figures per site, for each indicator it gives a figure
    for: committed per-亩 values, or totals on the request divided by each site's area (so
    a larger site lowers the intensity). An indicator without one is left out, not NaN at
    every site: it is checked nowhere."""
    c = request.committed
    given = {
        "inv": (c.invest_wan_per_mu, request.investment_yi),
        "tax": (c.tax_wan_per_mu, request.annual_tax_yi),
        "out": (c.output_wan_per_mu, request.annual_output_yi),
        "egy": (c.energy_tce_per_wan, None),
    }
    figures = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for key, (committed, total_yi) in given.items():
            if committed is not None:
                figures[key] = np.full(len(area_mu), committed)
            elif total_yi is not None:
                figures[key] = total_yi * 10_000.0 / area_mu  # 亿元 → 万元
    return figures
