"""Weights: which criteria score in a match, how much, and why.

Defaults are each criterion's own (:mod:`matching.criteria`); an optional criterion (rail,
airport) weighs only when the request asks for what it measures; a request's own
weights override either. Results state every criterion's weight and why.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from layers.errors import InvalidInput
from matching.criteria import RAIL, Criterion, FloatArray
from matching.request import ProjectRequest

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


def asked_for(criterion: Criterion, request: ProjectRequest) -> bool:
    """Whether the request says what ``criterion`` measures (see :data:`ASKED`)."""
    _, asked = ASKED.get(criterion.key, (criterion.name, lambda _r: True))
    return bool(asked(request))


def why_scored(criterion: Criterion, request: ProjectRequest, weight: float) -> str:
    """Why a criterion scores (or not) in a match: the weight's origin and whether the
    project asked for what it measures.

    Examples
    --------
    >>> from matching.criteria import AIRPORT, INTERCHANGE
    >>> request = ProjectRequest(name="x", industry="光伏", area={"min_mu": 100})
    >>> why_scored(AIRPORT, request, 0.0)
    '项目未提机场距离上限, 不计分 (not asked for by the project: not scored)'
    >>> why_scored(INTERCHANGE, request, 0.15)
    '默认权重, 项目未提高速出入口距离上限 (default weight; not asked for by the project)'
    """
    what = ASKED.get(criterion.key, (criterion.name, None))[0]
    if criterion.key in request.weights:
        if weight <= 0:
            return "项目设权重为 0, 不计分 (weight set to 0 by the project: not scored)"
        return "项目指定权重 (weight set by the project)"
    if weight <= 0:
        return f"项目未提{what}, 不计分 (not asked for by the project: not scored)"
    if criterion.key == RAIL.key and request.logistics.rail_required:
        return "项目需要铁路货运, 权重提高 (the project needs rail: weight raised)"
    if asked_for(criterion, request):
        return f"默认权重, 项目提出了{what} (default weight; the project asked for it)"
    return f"默认权重, 项目未提{what} (default weight; not asked for by the project)"


def weights_for(criteria: tuple[Criterion, ...], request: ProjectRequest) -> FloatArray:
    """Normalised weights for ``criteria``: defaults (an optional criterion the request
    does not ask for weighs 0), then the request's own weights."""
    overrides = request.weights
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

    def default(c: Criterion) -> float:
        if c.optional and not asked_for(c, request):
            return 0.0
        if c.key == RAIL.key and request.logistics.rail_required:
            return RAIL_REQUIRED_WEIGHT
        return c.weight

    w = np.array([overrides.get(c.key, default(c)) for c in criteria], dtype=float)
    if w.sum() <= 0:
        raise InvalidInput("权重之和须大于 0 (weights must not all be zero)")
    return np.asarray(w / w.sum())


def describe(
    criterion: Criterion,
    request: ProjectRequest,
    weight: float,
    *,
    rule: str = "",
    constant: bool = False,
) -> dict[str, object]:
    """What a result shows of a criterion: its normalised ``weight`` in this match,
    whether it scores at all and why (planners asked why rail scored for a project
    without rail), its scale's ``rule`` and whether it was the same for every candidate
    (``constant``: then it tells no site apart)."""
    return {
        "key": criterion.key,
        "name": criterion.name,
        "unit": criterion.unit,
        "benefit": criterion.benefit,
        "weight": weight,
        "in_play": weight > 0,
        "why": why_scored(criterion, request, weight),
        "rule": rule,
        "constant": constant,
    }
