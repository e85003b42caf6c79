"""Soft criteria: what ranks the sites that meet every hard constraint.

Each :class:`Criterion` says how to read its raw value for any site, how to combine the
values of an assembled group's members, the fixed scale that turns the value into a
score (:mod:`matching.scales`) and its default weight. A new criterion is one entry here
plus its place in a profile's list (:mod:`matching.profiles`); how scores are combined
is :mod:`matching.scoring`'s alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from layers.readiness import day_number
from matching.assembly import Group
from matching.distances import REACH_M
from matching.factories import lease
from matching.scales import (
    Scale,
    falling,
    fit,
    larger,
    listed_range,
    per_request,
    rising,
    share,
    waiting,
)
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
    scale: Scale = field(repr=False, compare=False)
    """Raw value → score in [0, 1], the same whichever sites are candidates."""
    optional: bool = field(default=False, compare=False)
    """Weighs only when the request asks for what it measures or sets its weight."""


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
    d = s.access.nearest(rows)[1]
    return np.where(np.isfinite(d), d, np.nan)


def _floor(s: Situation, rows: IntArray) -> FloatArray:
    """The floor area a factory project would take: the leased part of a building that
    is let in part (:func:`matching.factories.lease`), else the whole floor."""
    if s.request.factory is None:
        return np.asarray(s.sites.column("floor_m2")[rows], dtype=float)
    return np.asarray(lease(s).leased_m2[rows], dtype=float)


def _availability(s: Situation, rows: IntArray) -> FloatArray:
    """Days from the start (or today) until the building is free; NaN: no date given."""
    start = as_of(s.request)
    available = s.sites.column("avail_from")[rows]
    return np.array(
        [max((d - start).days, 0) if d is not None else np.nan for d in available], dtype=float
    )


def _area_asked(s: Situation) -> float | None:
    return s.request.area.min_mu if s.request.area is not None else None


def _floor_asked(s: Situation) -> float | None:
    return s.request.factory.floor.min_m2 if s.request.factory is not None else None


def _area_scale(s: Situation) -> Scale:
    prefer_large = s.request.area is not None and s.request.area.prefer == "large"
    return larger(_area_asked, "亩") if prefer_large else fit(_area_asked, "亩")


def _group_area(_s: Situation, group: Member) -> float:
    return group.area_mu


def _column(name: str) -> Callable[[Situation, IntArray], FloatArray]:
    def values(s: Situation, rows: IntArray) -> FloatArray:
        return np.asarray(s.sites.column(name)[rows])

    return values


# -- the criteria -------------------------------------------------------------------------
# Reference distances of the distance scales: a site this far or farther scores 0.
INTERCHANGE_REFERENCE_M = 20_000.0
RAIL_REFERENCE_M = 20_000.0
AIRPORT_REFERENCE_M = 50_000.0
SUBSTATION_REFERENCE_M = REACH_M
WAIT_REFERENCE_DAYS = 180.0
HEIGHT_REFERENCE_M = 12.0
"""A clear height of 12 m (a hall with an overhead crane) or more scores 1."""

INTERCHANGE = Criterion(
    "interchange",
    "距高速出入口 (to highway interchange)",
    "m",
    False,
    0.15,
    _distance_to("interchange"),
    nearest,
    falling(INTERCHANGE_REFERENCE_M, "无高速出入口"),
)
RAIL = Criterion(
    "rail",
    "距铁路货运 (to rail freight)",
    "m",
    False,
    0.05,
    _distance_to("rail"),
    nearest,
    falling(RAIL_REFERENCE_M, "无铁路货运站"),
    optional=True,
)
AIRPORT = Criterion(
    "airport",
    "距机场 (to airport)",
    "m",
    False,
    0.05,
    _distance_to("airport"),
    nearest,
    falling(AIRPORT_REFERENCE_M, "无机场"),
    optional=True,
)
SUBSTATION = Criterion(
    "substation",
    "距可用变电站 (to a substation with headroom)",
    "m",
    False,
    0.15,
    _substation,
    nearest,
    falling(SUBSTATION_REFERENCE_M, "范围内无满足电压和余量的变电站"),
)
READINESS = Criterion(
    "readiness",
    "净地条件完成度 (readiness)",
    "",
    True,
    0.20,
    _readiness,
    area_weighted,
    share("条件未知"),
)
PRICE = Criterion(
    "price",
    "挂牌起始价 (listing price)",
    "万元/亩",
    False,
    0.15,
    _column("price_wmu"),
    area_weighted,
    listed_range("price_wmu", "万元/亩", "无挂牌价"),
)
AREA_FIT = Criterion(
    "area_fit",
    "面积匹配 (area fit)",
    "亩",
    True,
    0.15,
    _column("area_mu"),
    _group_area,
    per_request(_area_scale),
)
PARK_FIT = Criterion(
    "park_fit",
    "园区产业匹配 (park industry fit)",
    "",
    True,
    0.10,
    _park_fit,
    area_weighted,
    share("园区未知"),
)
RENT = Criterion(
    "rent",
    "租金 (rent)",
    "元/m²/月",
    False,
    0.30,
    _column("rent_ym"),
    area_weighted,
    listed_range("rent_ym", "元/m²/月", "未标租金"),
)
FLOOR_FIT = Criterion(
    "floor_fit",
    "面积匹配 (floor-area fit)",
    "m²",
    True,
    0.25,
    _floor,
    area_weighted,
    fit(_floor_asked, "m²"),
)
AVAILABILITY = Criterion(
    "availability",
    "等待天数 (days until available)",
    "天",
    False,
    0.10,
    _availability,
    area_weighted,
    waiting(WAIT_REFERENCE_DAYS),
)
HEIGHT = Criterion(
    "height",
    "净高 (clear height)",
    "m",
    True,
    0.10,
    _column("height_m"),
    area_weighted,
    rising(HEIGHT_REFERENCE_M, "m", "净高未知"),
)


def criteria_matrix(s: Situation, criteria: tuple[Criterion, ...], rows: IntArray) -> FloatArray:
    """Raw criterion values (rows: ``rows`` of the sites; columns: ``criteria``)."""
    return np.column_stack([c.values(s, rows) for c in criteria]).astype(float)


def group_rows(
    s: Situation,
    criteria: tuple[Criterion, ...],
    raw: Callable[[IntArray], FloatArray],
    groups: list[Group],
) -> FloatArray:
    """Raw criterion values of assembled groups, from their members' (``raw`` gives those
    of some sites' rows, one row of criteria each)."""
    area = s.sites.floats("area_mu")
    rows = []
    for g in groups:
        members = np.array(g.members)
        shares = area[members] / area[members].sum()
        known = raw(members)
        rows.append(
            [c.of_group(s, Member(known[:, j], shares, g.area_mu)) for j, c in enumerate(criteria)]
        )
    return np.array(rows, dtype=float).reshape(len(groups), len(criteria))


def scaled(s: Situation, criteria: tuple[Criterion, ...], raw: FloatArray) -> FloatArray:
    """Scores in [0, 1] of raw criterion values (columns: ``criteria``), each on its
    criterion's fixed scale."""
    if not len(criteria):
        return np.zeros((len(raw), 0))
    return np.column_stack([c.scale(s, raw[:, j]) for j, c in enumerate(criteria)])
