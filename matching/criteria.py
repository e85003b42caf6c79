"""Soft criteria: what ranks the sites that meet every hard constraint.

Each :class:`Criterion` says how to read its raw value for any site, how to combine the
values of an assembled group's members, and its default weight. A new criterion is one
entry here plus its place in a profile's list (:mod:`matching.profiles`); how values are
normalised and scored is :mod:`matching.scoring`'s alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from layers.errors import InvalidInput
from layers.readiness import day_number
from matching.assembly import Group
from matching.request import ProjectRequest
from matching.situation import Situation, as_of

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Member:
    """The members of an assembled group, as a group criterion combines them."""

    values: FloatArray
    """The criterion's raw value of each member (NaN: unknown)."""
    shares: FloatArray
    """Each member's share of the group's area."""
    area_mu: float
    """The group's total area."""


@dataclass(frozen=True)
class Criterion:
    key: str
    name: str
    unit: str
    benefit: bool
    """Larger is better (else smaller is)."""
    weight: float = field(repr=False, compare=False)
    """Default weight, before a request's overrides and normalising (docs/matching.md)."""
    values: Callable[[Situation, IntArray], FloatArray] = field(repr=False, compare=False)
    """Raw values at rows ``rows`` of the situation's sites."""
    of_group: Callable[[Situation, Member], float] = field(repr=False, compare=False)
    """The value of an assembled group from its members'."""

    def describe(self, request: ProjectRequest, weight: float) -> dict[str, object]:
        """What a result shows of it: its normalised ``weight`` in this match, whether it
        scores at all and why (planners asked why rail scored for a project without rail)."""
        return {
            "key": self.key,
            "name": self.name,
            "unit": self.unit,
            "benefit": self.benefit,
            "weight": weight,
            "in_play": weight > 0,
            "why": why_scored(self, request, weight),
        }


# -- combining a group's members ----------------------------------------------------------
def nearest(_s: Situation, group: Member) -> float:
    """A distance: the group is as near as its nearest member."""
    values = group.values
    return float(np.nanmin(values)) if np.isfinite(values).any() else np.nan


def area_weighted(_s: Situation, group: Member) -> float:
    """Area-weighted over the members that have a value."""
    known = ~np.isnan(group.values)
    if not known.any():
        return np.nan
    shares = group.shares[known]
    return float(np.sum(group.values[known] * shares) / shares.sum())


# -- raw values ---------------------------------------------------------------------------
def _distance_to(kind: str) -> Callable[[Situation, IntArray], FloatArray]:
    def values(s: Situation, rows: IntArray) -> FloatArray:
        d = s.sites.distances.to(kind, s.request.logistics.distance)[0][rows]
        return np.where(np.isfinite(d), d, np.nan)

    return values


def _park_fit(s: Situation, rows: IntArray) -> FloatArray:
    request, parks, park = s.request, s.zone.parks, s.sites.park[rows]
    tokens = [t for t in re.split(r"[/;；、,，\s]+", request.industry) if t]
    fit = np.zeros(len(parks))
    for j, (park_id, industries) in enumerate(
        zip(parks["park_id"], parks["industries"], strict=True)
    ):
        text = industries or ""
        if park_id in request.preferred_parks or any(t in text for t in tokens):
            fit[j] = 1.0
    return np.where(park >= 0, fit[np.maximum(park, 0)] if len(fit) else 0.0, 0.0)


def _readiness(s: Situation, rows: IntArray) -> FloatArray:
    day = day_number(as_of(s.request))
    return np.asarray((s.sites.condition_days[rows] <= day).mean(axis=1))


def _substation(s: Situation, rows: IntArray) -> FloatArray:
    if s.access is None:
        return np.full(len(rows), np.nan)
    d = s.access.dist_m[rows]
    return np.where(np.isfinite(d), d, np.nan)


def area_fit(request: ProjectRequest, area: FloatArray) -> FloatArray:
    """1 at the area asked for, falling with the relative gap (or the area itself when
    the request prefers large sites)."""
    if request.area is None:
        return np.zeros(len(area))
    if request.area.prefer == "large":
        return area
    target = request.area.min_mu
    return np.asarray(1.0 - np.abs(area - target) / target)


def _floor_fit(s: Situation, rows: IntArray) -> FloatArray:
    needs = s.request.factory
    floor = s.sites.column("floor_m2")[rows]
    target = needs.floor.min_m2 if needs else 1.0
    return np.asarray(1.0 - np.abs(floor - target) / target)


def _availability(s: Situation, rows: IntArray) -> FloatArray:
    start = as_of(s.request)
    available = s.sites.column("avail_from")[rows]
    return np.array(
        [max((d - start).days, 0) if d is not None else 0 for d in available], dtype=float
    )


def _column(name: str) -> Callable[[Situation, IntArray], FloatArray]:
    def values(s: Situation, rows: IntArray) -> FloatArray:
        return np.asarray(s.sites.column(name)[rows])

    return values


# -- the criteria -------------------------------------------------------------------------
INTERCHANGE = Criterion(
    "interchange",
    "距高速出入口 (to highway interchange)",
    "m",
    False,
    0.15,
    _distance_to("interchange"),
    nearest,
)
RAIL = Criterion(
    "rail", "距铁路货运 (to rail freight)", "m", False, 0.05, _distance_to("rail"), nearest
)
AIRPORT = Criterion(
    "airport", "距机场 (to airport)", "m", False, 0.05, _distance_to("airport"), nearest
)
SUBSTATION = Criterion(
    "substation",
    "距可用变电站 (to a substation with headroom)",
    "m",
    False,
    0.15,
    _substation,
    nearest,
)
READINESS = Criterion(
    "readiness", "净地条件完成度 (readiness)", "", True, 0.20, _readiness, area_weighted
)
PRICE = Criterion(
    "price",
    "挂牌起始价 (listing price)",
    "万元/亩",
    False,
    0.15,
    _column("price_wmu"),
    area_weighted,
)
AREA_FIT = Criterion(
    "area_fit",
    "面积匹配 (area fit)",
    "",
    True,
    0.15,
    lambda s, rows: area_fit(s.request, s.sites.column("area_mu")[rows]),
    lambda s, group: float(area_fit(s.request, np.array([group.area_mu]))[0]),
)
PARK_FIT = Criterion(
    "park_fit", "园区产业匹配 (park industry fit)", "", True, 0.10, _park_fit, area_weighted
)
RENT = Criterion("rent", "租金 (rent)", "元/m²/月", False, 0.30, _column("rent_ym"), area_weighted)
FLOOR_FIT = Criterion(
    "floor_fit", "面积匹配 (floor-area fit)", "", True, 0.25, _floor_fit, area_weighted
)
AVAILABILITY = Criterion(
    "availability",
    "等待天数 (days until available)",
    "天",
    False,
    0.10,
    _availability,
    area_weighted,
)
HEIGHT = Criterion(
    "height", "净高 (clear height)", "m", True, 0.10, _column("height_m"), area_weighted
)

RAIL_REQUIRED_WEIGHT = 0.15
"""The default weight of rail freight for a project that needs rail."""


ASKED: dict[str, tuple[str, Callable[[ProjectRequest], bool]]] = {
    "interchange": ("高速出入口距离上限", lambda r: r.logistics.max_interchange_km is not None),
    "rail": (
        "铁路货运",
        lambda r: r.logistics.rail_required or r.logistics.max_rail_km is not None,
    ),
    "airport": ("机场距离上限", lambda r: r.logistics.max_airport_km is not None),
    "substation": ("用电负荷", lambda r: r.power_mva is not None),
    "readiness": ("开工日期", lambda r: r.start_by is not None),
    "availability": ("开工日期", lambda r: r.start_by is not None),
    "area_fit": ("用地面积", lambda r: r.area is not None),
    "floor_fit": ("厂房面积", lambda r: r.factory is not None),
    "park_fit": ("产业方向", lambda r: bool(r.industry or r.preferred_parks)),
    "price": ("用地需求", lambda r: r.site_kind == "land"),
    "rent": (
        "租金上限",
        lambda r: r.factory is not None and r.factory.max_rent_yuan_m2_month is not None,
    ),
    "height": (
        "净高",
        lambda r: r.factory is not None and r.factory.min_clear_height_m is not None,
    ),
}
"""Per criterion: what in a request it answers to, and whether the request says it."""


def why_scored(criterion: Criterion, request: ProjectRequest, weight: float) -> str:
    """Why a criterion scores (or not) in a match: the weight's origin and whether the
    project asked for what it measures. Scores are unchanged by this: it explains them.

    Examples
    --------
    >>> request = ProjectRequest(name="x", industry="光伏", area={"min_mu": 100})
    >>> why_scored(AIRPORT, request, 0.05)
    '默认权重, 项目未提机场距离上限 (default weight; not asked for by the project)'
    >>> why_scored(AIRPORT, request, 0.0)
    '权重为 0, 不计分 (weight 0: not scored)'
    """
    if weight <= 0:
        return "权重为 0, 不计分 (weight 0: not scored)"
    if criterion.key in request.weights:
        return "项目指定权重 (weight set by the project)"
    what, asked = ASKED.get(criterion.key, (criterion.name, lambda _r: True))
    if criterion.key == RAIL.key and request.logistics.rail_required:
        return "项目需要铁路货运, 权重提高 (the project needs rail: weight raised)"
    if asked(request):
        return f"默认权重, 项目提出了{what} (default weight; the project asked for it)"
    return f"默认权重, 项目未提{what} (default weight; not asked for by the project)"


def criteria_matrix(s: Situation, criteria: tuple[Criterion, ...], rows: IntArray) -> FloatArray:
    """Raw criterion values (rows: ``rows`` of the sites; columns: ``criteria``)."""
    return np.column_stack([c.values(s, rows) for c in criteria]).astype(float)


def group_rows(
    s: Situation, criteria: tuple[Criterion, ...], raw: FloatArray, groups: list[Group]
) -> FloatArray:
    """Raw criterion values of assembled groups, from their members' rows of ``raw``."""
    area = s.sites.frame["area_mu"].to_numpy(dtype=float)
    rows = []
    for g in groups:
        members = np.array(g.members)
        shares = area[members] / area[members].sum()
        rows.append(
            [
                c.of_group(s, Member(raw[members, j], shares, g.area_mu))
                for j, c in enumerate(criteria)
            ]
        )
    return np.array(rows, dtype=float).reshape(len(groups), len(criteria))


def weights_for(
    criteria: tuple[Criterion, ...], overrides: Mapping[str, float], *, rail_required: bool = False
) -> FloatArray:
    """Normalised weights for ``criteria``: defaults, then the request's overrides."""
    keys = {c.key for c in criteria}
    unknown = sorted(set(overrides) - keys)
    if unknown:
        raise InvalidInput(
            f"未知权重 {unknown} (unknown weights); 可用 (valid): {sorted(keys)}",
            details={
                "problems": [
                    {"field": f"weights.{k}", "message": "unknown criterion"} for k in unknown
                ]
            },
        )
    base = {c.key: c.weight for c in criteria}
    if rail_required and RAIL.key in base:
        base[RAIL.key] = RAIL_REQUIRED_WEIGHT
    w = np.array([overrides.get(c.key, base[c.key]) for c in criteria], dtype=float)
    if w.sum() <= 0:
        raise InvalidInput("权重之和须大于 0 (weights must not all be zero)")
    return np.asarray(w / w.sum())
