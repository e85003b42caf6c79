"""What a match returns: ranked sites, near misses and every exclusion with its reasons,
and how ranked sites are built from the evaluated constraints and criteria (near misses:
:mod:`matching.near_misses`)."""

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
from matching.constraints import Constraint, RemedyKind
from matching.criteria import Criterion
from matching.profiles import CandidateKind, SiteProfile
from matching.request import ProjectRequest
from matching.situation import Situation
from matching.weights import describe

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
    """Raw values, in each criterion's unit (None: missing)."""
    notes: dict[str, str]
    """Per criterion whose value is missing: how it was scored (its scale's policy)."""
    checks: tuple[ConstraintOutcome, ...]
    rank_range: tuple[int, int]
    connections: tuple[Connection, ...]
    geometry: shapely.Geometry
    whole: float | None = None
    """The whole site's size where only part of it is offered (a building leased in
    part: ``size`` is the part), in ``size_unit``; None otherwise."""


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
    rules: dict[str, str]
    """Each criterion's scale as this match applied it."""
    constant: tuple[str, ...]
    """Criteria that scored the same for every candidate: they tell no site apart."""
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

    def described(self) -> list[dict[str, Any]]:
        """Every criterion as the result states it: weight, why, rule, whether constant."""
        return [
            describe(
                c,
                self.request,
                self.weights[c.key],
                rule=self.rules.get(c.key, ""),
                constant=c.key in self.constant,
            )
            for c in self.criteria
        ]

    def leading(self, site: RankedSite, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` criteria that add most to a site's score, leaving out those that
        were the same for every candidate (they explain nothing) and those adding 0."""
        telling = [
            (key, value)
            for key, value in site.contributions.items()
            if key not in self.constant and value > 0
        ]
        return sorted(telling, key=lambda kv: -kv[1])[:k]

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
                    "margin": finite(float(c.margin[i])),
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
            "criteria": self.described(),
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


def finite(value: float) -> float | None:
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
        measured = math.isfinite(margin)
        detail = "满足 (met)" if c.ok[worst] else c.why(worst)
        if c.ok[worst] and measured:
            detail = f"满足, 余量 {amount(margin, c.unit, with_unit=True)} (met with margin)"
        if c.ok[worst] and c.met is not None:
            detail = c.met(worst) or detail
        out.append(
            ConstraintOutcome(
                c.key, c.name, bool(c.ok[worst]), margin if measured else None, c.unit, detail
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
    size = float(profile.sizes(s)[rows].sum())
    whole = float(sites.column(profile.size_column)[rows].sum())
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
        notes={
            c.key: c.scale.missing_text(s)
            for c, v in zip(criteria, candidate.raw, strict=True)
            if np.isnan(v)
        },
        checks=outcomes(ev.constraints, members, group_area=None if candidate.single else size),
        rank_range=rank_range,
        connections=connection_plan(s, members, ev.links, has_access=profile.has_access),
        geometry=shapely.union_all(geometries) if len(rows) > 1 else geometries[0],
        whole=whole if whole != size else None,
    )
