"""What a match returns: ranked sites, near misses and every exclusion with its reasons,
and how they are built from the evaluated constraints and criteria."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from layers.geojson import plain
from layers.units import amount, shown
from matching.connections import Connection, Link, connection_plan
from matching.constraints import REMEDY_KINDS, STATUS, Constraint, RemedyKind
from matching.criteria import Criterion
from matching.profiles import CandidateKind, SiteProfile
from matching.request import ProjectRequest
from matching.situation import Situation

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ConstraintOutcome:
    """How one site fares on one hard constraint."""

    key: str
    name: str
    ok: bool
    margin: float | None
    unit: str
    detail: str


@dataclass(frozen=True)
class RankedSite:
    rank: int
    kind: CandidateKind
    ids: tuple[str, ...]
    fids: tuple[int, ...]
    name: str
    park_id: str
    size: float
    size_unit: str
    score: float
    contributions: dict[str, float]
    criteria: dict[str, float | None]
    checks: tuple[ConstraintOutcome, ...]
    rank_range: tuple[int, int]
    connections: tuple[Connection, ...]
    geometry: shapely.Geometry


@dataclass(frozen=True)
class Failure:
    """One constraint a near miss fails: why, what it would take, and how much it lacks."""

    key: str
    name: str
    margin: float | None
    unit: str
    detail: str
    remedy: str
    remedy_kind: RemedyKind
    remedy_label: str
    shortfall: float
    """What it lacks relative to the requirement (0.007: 0.7 % short); for a failure
    with no measured margin, the constraint's documented cost."""
    lacks: str
    """The shortfall as a planner reads it ("差 0.7 % (0.7 % short)")."""


@dataclass(frozen=True)
class NearMiss:
    """A site that fails few constraints, by how little it lacks; ``failed`` and
    ``remedy`` are its first failure's."""

    kind: CandidateKind
    ids: tuple[str, ...]
    name: str
    park_id: str
    size: float
    failed: ConstraintOutcome
    remedy: str
    remedy_kind: RemedyKind
    failures: tuple[Failure, ...]
    shortfall: float
    """The failures' relative shortfalls added up: what the near misses are ordered by."""
    geometry: shapely.Geometry


@dataclass(frozen=True)
class MatchResult:
    """Everything a planner needs to read, print, map or reproduce a match."""

    request: ProjectRequest
    layer: str
    method: str
    weights: dict[str, float]
    criteria: tuple[Criterion, ...]
    sites: tuple[RankedSite, ...]
    near_misses: tuple[NearMiss, ...]
    excluded_counts: dict[str, int]
    n_sites: int
    n_feasible: int
    n_groups: int
    versions: dict[str, int]
    as_of: dt.date
    _constraints: list[Constraint] = field(repr=False, compare=False)
    _ids: npt.NDArray[np.object_] = field(repr=False, compare=False)

    def feasible_ids(self) -> set[str]:
        """Ids of the single sites that meet every hard constraint."""
        if not self._constraints:
            return {str(i) for i in self._ids}
        failing = np.vstack([~c.ok for c in self._constraints]).any(axis=0)
        return {str(i) for i in self._ids[~failing]}

    def excluded(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Every excluded site (or the first ``limit``) with all of its reasons."""
        constraints = self._constraints
        failing = np.vstack([~c.ok for c in constraints]) if constraints else np.zeros((0, 0))
        rows = np.flatnonzero(failing.any(axis=0)) if failing.size else np.array([], dtype=int)
        out = []
        for i in rows[:limit]:
            reasons = [
                {
                    "check": c.key,
                    "name": c.name,
                    "reason": c.why(int(i)),
                    "margin": _finite(float(c.margin[i])),
                    "unit": c.unit,
                }
                for c in constraints
                if not c.ok[i]
            ]
            out.append({"id": str(self._ids[i]), "reasons": reasons})
        return out

    def to_dict(self, *, excluded_limit: int | None = None) -> dict[str, Any]:
        """A JSON-ready dictionary (geometry as GeoJSON in EPSG:4490)."""
        return {
            "request": self.request.model_dump(mode="json"),
            "layer": self.layer,
            "method": self.method,
            "weights": self.weights,
            "criteria": [c.describe(self.request, self.weights[c.key]) for c in self.criteria],
            "as_of": self.as_of.isoformat(),
            "data_versions": self.versions,
            "counts": {
                "sites": self.n_sites,
                "feasible": self.n_feasible,
                "assembled_groups": self.n_groups,
            },
            "sites": [_with_geometry(s) for s in self.sites],
            "near_misses": [_with_geometry(m) for m in self.near_misses],
            "excluded_counts": self.excluded_counts,
            "excluded": self.excluded(excluded_limit),
        }


def _with_geometry(item: RankedSite | NearMiss) -> dict[str, Any]:
    data = _asdict(item)
    data["geometry"] = json.loads(shapely.to_geojson(item.geometry))
    return data


def _asdict(obj: object) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in dataclasses.fields(obj):  # type: ignore[arg-type]  # any result dataclass
        name = spec.name
        value = getattr(obj, name)
        if name == "geometry":
            continue
        if hasattr(value, "__dataclass_fields__"):
            out[name] = _asdict(value)
        elif isinstance(value, tuple) and value and hasattr(value[0], "__dataclass_fields__"):
            out[name] = [_asdict(v) for v in value]
        elif isinstance(value, dict):
            out[name] = {k: plain(v) for k, v in value.items()}
        elif isinstance(value, tuple):
            out[name] = [plain(v) for v in value]
        else:
            out[name] = plain(value)
    return out


# -- building them ------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """One request evaluated on one kind of site: what the results are built from."""

    situation: Situation
    profile: SiteProfile
    constraints: list[Constraint]
    weights: FloatArray
    links: list[Link]

    @property
    def benefit(self) -> BoolArray:
        return np.array([c.benefit for c in self.profile.criteria])


@dataclass(frozen=True)
class Candidate:
    """One scored row of the ranking: a single site or an assembled group."""

    members: tuple[int, ...]
    """Rows of the situation's sites."""
    single: bool
    score: float
    normalised: FloatArray
    raw: FloatArray


def _or_inf(value: float) -> float:
    return math.inf if math.isnan(value) else value


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def outcomes(
    constraints: list[Constraint], members: tuple[int, ...], *, group_area: float | None
) -> tuple[ConstraintOutcome, ...]:
    """Each constraint's outcome for a site; an assembled group (``group_area`` set) is
    judged on its whole area instead of member by member on what depends on area."""
    out = []
    for c in constraints:
        if group_area is not None and c.area_dependent:
            continue
        # The member that meets it worst speaks for the site (NaN margin: no quantity).
        worst = min(members, key=lambda i: (bool(c.ok[i]), _or_inf(float(c.margin[i]))))
        margin = float(c.margin[worst])
        finite = math.isfinite(margin)
        detail = "满足 (met)" if c.ok[worst] else c.why(worst)
        if c.ok[worst] and finite:
            detail = f"满足, 余量 {amount(margin, c.unit, with_unit=True)} (met with margin)"
        out.append(
            ConstraintOutcome(
                c.key, c.name, bool(c.ok[worst]), margin if finite else None, c.unit, detail
            )
        )
    if group_area is not None:
        n = len(members)
        out.append(
            ConstraintOutcome(
                "area",
                "面积 (area)",
                True,
                None,
                "亩",
                f"{n} 宗相邻地块合计 {shown(group_area, '亩')} ({n} adjacent parcels)",
            )
        )
    return tuple(out)


def ranked_site(
    ev: Evaluation, candidate: Candidate, *, rank: int, rank_range: tuple[int, int]
) -> RankedSite:
    """A ranked site for a candidate, with its outcomes and connection plan."""
    s, profile, members = ev.situation, ev.profile, candidate.members
    sites, rows = s.sites, list(members)
    size = float(sites.column(profile.size_column)[rows].sum())
    names = [str(v) for v in sites.column("name")[rows] if v]
    geometries = sites.column("geometry")[rows]
    more = f" 等 {len(members)} 宗 (+{len(members) - 1})" if len(members) > 1 else ""
    criteria = profile.criteria
    return RankedSite(
        rank=rank,
        kind=profile.single if candidate.single else "group",
        ids=tuple(str(v) for v in sites.ids[rows]),
        fids=tuple(int(v) for v in sites.column("fid")[rows]),
        name=names[0] + more if names else "",
        park_id="+".join(dict.fromkeys(str(p) for p in sites.column("park_id")[rows])),
        size=size,
        size_unit=profile.size_unit,
        score=candidate.score,
        contributions={
            c.key: float(w * v)
            for c, w, v in zip(criteria, ev.weights, candidate.normalised, strict=True)
        },
        criteria={
            c.key: (None if np.isnan(v) else float(v))
            for c, v in zip(criteria, candidate.raw, strict=True)
        },
        checks=outcomes(ev.constraints, members, group_area=None if candidate.single else size),
        rank_range=rank_range,
        connections=connection_plan(s, members, ev.links, has_access=profile.has_access),
        geometry=shapely.union_all(geometries) if len(rows) > 1 else geometries[0],
    )


def _actionable(constraints: list[Constraint], rows: IntArray) -> BoolArray:
    """Of sites failing a few constraints, those a planner could act on."""
    keep = np.ones(len(rows), dtype=bool)
    for c in constraints:
        if c.actionable is not None:
            keep &= c.ok[rows] | c.actionable[rows]
    return keep


def near_misses(ev: Evaluation, n_failed: IntArray, *, limit: int) -> list[NearMiss]:
    """The sites that lack least, by the shortfall of their failures relative to the
    requirements (docs/matching.md, "Near misses").

    Sites failing one constraint a planner could act on come first, then (when fewer than
    ``limit`` fail one) those failing two, each by their relative shortfall added up.
    When no site is feasible, the closest of the other sites on offer fill the list."""
    if limit <= 0:
        return []
    constraints = ev.constraints
    few = np.flatnonzero((n_failed == 1) | (n_failed == 2))
    few = few[_actionable(constraints, few)]
    picked = _closest(constraints, few, n_failed[few], limit)
    if len(picked) < limit and not (n_failed == 0).any():
        on_offer = np.ones(len(n_failed), dtype=bool)
        for c in constraints:
            if c.key == STATUS:
                on_offer &= c.ok
        on_offer[picked] = False
        rest = _closest(constraints, np.flatnonzero(on_offer), None, limit - len(picked))
        picked = np.concatenate([picked, rest])
    return [_near_miss(ev, int(i)) for i in picked]


def _closest(
    constraints: list[Constraint], rows: IntArray, n_failed: IntArray | None, limit: int
) -> IntArray:
    """The ``limit`` rows that lack least: by number of failures (when given), then by
    relative shortfall added up, then by row."""
    if not len(rows):
        return rows
    total = np.zeros(len(rows))
    for c in constraints:
        total += c.shortfall(rows)
    if n_failed is None:
        n_failed = np.zeros(len(rows), dtype=np.int64)
        if len(rows) > limit:  # only the rows that can be among the closest are sorted
            near = total <= np.partition(total, limit - 1)[limit - 1]
            rows, total, n_failed = rows[near], total[near], n_failed[near]
    return rows[np.lexsort((rows, total, n_failed))[:limit]]


def _failure(c: Constraint, i: int) -> Failure:
    margin = float(c.margin[i])
    shortfall = float(c.shortfall(np.array([i]))[0])
    scale = math.nan if c.scale is None else float(c.scale[i])
    percent = amount(100.0 * shortfall, "%")
    measured = math.isfinite(margin) and math.isfinite(scale) and scale != 0
    lacks = (
        f"差 {percent} % ({percent} % short)"
        if measured
        else f"按差 {percent} % 计 (yes/no or unknown: counted as {percent} % short)"
    )
    kind = c.remedy_kind(i)
    return Failure(
        c.key,
        c.name,
        _finite(margin),
        c.unit,
        c.why(i),
        c.remedy(i),
        kind,
        REMEDY_KINDS[kind],
        shortfall,
        lacks,
    )


def _near_miss(ev: Evaluation, i: int) -> NearMiss:
    sites = ev.situation.sites
    failures = tuple(_failure(c, i) for c in ev.constraints if not c.ok[i])
    first = failures[0]
    return NearMiss(
        kind=ev.profile.single,
        ids=(str(sites.ids[i]),),
        name=str(sites.column("name")[i] or ""),
        park_id=str(sites.column("park_id")[i]),
        size=float(sites.column(ev.profile.size_column)[i]),
        failed=ConstraintOutcome(
            first.key, first.name, False, first.margin, first.unit, first.detail
        ),
        remedy=first.remedy,
        remedy_kind=first.remedy_kind,
        failures=failures,
        shortfall=sum(f.shortfall for f in failures),
        geometry=sites.column("geometry")[i],
    )
