"""The matching engine: rank the sites that can take a project, and say why.

``match(request, zone)`` evaluates every hard constraint on every site, ranks the
feasible ones by the soft criteria, proposes assembled parcel groups when single parcels
are too small, and explains everything: per-criterion contributions, rank stability,
the connection plan, the near misses and the reasons every other site was excluded.
Pure and in memory; no database, no web.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import shapely

from layers.catalog import PARCELS
from layers.geojson import plain
from layers.readiness import day_number
from matching.assembly import Group, assemble
from matching.constraints import (
    Access,
    Check,
    as_of,
    committed_indicators,
    factory_checks,
    parcel_checks,
    substation_access,
)
from matching.request import ProjectRequest
from matching.scoring import (
    FACTORY_CRITERIA,
    LAND_CRITERIA,
    Criterion,
    normalise,
    score,
    stability,
    top,
    weights_for,
)
from matching.zone import Sites, Zone

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
SiteKind = Literal["parcel", "group", "factory"]

DEFAULT_TOP = 10
NEAR_MISSES = 5
# Checks whose outcome depends on the site's area: re-evaluated for an assembled group.
_AREA_DEPENDENT = re.compile(r"^(area|std_\w+)$")
_UTILITIES = (  # utility, node kind, site capacity column, node spare column, request need, unit
    ("power", "substation", "power_kva", "spare_mva", "power_kva", "kVA"),
    ("water", "water", "water_m3d", "spare_m3d", "water_m3d", "m³/日"),
    ("gas", "gas", "gas_nm3h", "spare_nm3h", "gas_nm3h", "Nm³/时"),
    ("heat", "heat", "heat_mw", "spare_mw", "heat_mw", "MW"),
    ("sewage", "sewage", "sewage_m3d", "spare_m3d", "sewage_m3d", "m³/日"),
)


@dataclass(frozen=True)
class CheckOutcome:
    key: str
    name: str
    ok: bool
    margin: float | None
    unit: str
    detail: str


@dataclass(frozen=True)
class Connection:
    """How a site would connect to one utility (水、电、气、路 配套方案)."""

    utility: str
    source: str | None
    source_id: str | None
    distance_m: float | None
    spare_after: float | None
    unit: str
    upgrade_needed: bool
    note: str


@dataclass(frozen=True)
class RankedSite:
    rank: int
    kind: SiteKind
    ids: tuple[str, ...]
    fids: tuple[int, ...]
    name: str
    park_id: str
    size: float
    size_unit: str
    score: float
    contributions: dict[str, float]
    criteria: dict[str, float | None]
    checks: tuple[CheckOutcome, ...]
    rank_range: tuple[int, int]
    connections: tuple[Connection, ...]
    geometry: shapely.Geometry


@dataclass(frozen=True)
class NearMiss:
    kind: SiteKind
    ids: tuple[str, ...]
    name: str
    park_id: str
    size: float
    score: float
    failed: CheckOutcome
    remedy: str
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
    _checks: list[Check] = field(repr=False, compare=False)
    _ids: npt.NDArray[np.object_] = field(repr=False, compare=False)

    def feasible_ids(self) -> set[str]:
        """Ids of the single sites that meet every hard constraint."""
        if not self._checks:
            return {str(i) for i in self._ids}
        failing = np.vstack([~c.ok for c in self._checks]).any(axis=0)
        return {str(i) for i in self._ids[~failing]}

    def excluded(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Every excluded site (or the first ``limit``) with all of its reasons."""
        failing = np.vstack([~c.ok for c in self._checks]) if self._checks else np.zeros((0, 0))
        rows = np.flatnonzero(failing.any(axis=0)) if failing.size else np.array([], dtype=int)
        out = []
        for i in rows[:limit]:
            reasons = [
                {"check": c.key, "name": c.name, "reason": c.why(int(i))}
                for c in self._checks
                if not c.ok[i]
            ]
            out.append({"id": str(self._ids[i]), "reasons": reasons})
        return out

    def to_dict(self, *, excluded_limit: int | None = None) -> dict[str, Any]:
        """A JSON-ready dictionary (geometry as GeoJSON in EPSG:4490)."""

        def site(s: RankedSite) -> dict[str, Any]:
            data = _asdict(s)
            data["geometry"] = json.loads(shapely.to_geojson(s.geometry))
            return data

        def miss(m: NearMiss) -> dict[str, Any]:
            data = _asdict(m)
            data["geometry"] = json.loads(shapely.to_geojson(m.geometry))
            return data

        return {
            "request": self.request.model_dump(mode="json"),
            "layer": self.layer,
            "method": self.method,
            "weights": self.weights,
            "criteria": [_asdict(c) for c in self.criteria],
            "as_of": self.as_of.isoformat(),
            "data_versions": self.versions,
            "counts": {
                "sites": self.n_sites,
                "feasible": self.n_feasible,
                "assembled_groups": self.n_groups,
            },
            "sites": [site(s) for s in self.sites],
            "near_misses": [miss(m) for m in self.near_misses],
            "excluded_counts": self.excluded_counts,
            "excluded": self.excluded(excluded_limit),
        }


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


def match(
    request: ProjectRequest, zone: Zone, *, top_n: int = DEFAULT_TOP, near_misses: int = NEAR_MISSES
) -> MatchResult:
    """Rank the sites of ``zone`` for ``request``.

    Examples
    --------
    >>> from layers.demo import generate_zone
    >>> from matching.request import parse_request
    >>> from matching.zone import build_zone
    >>> zone = build_zone(generate_zone(parcels=120))
    >>> request = parse_request({"name": "示例", "industry": "装备制造",
    ...                          "area": {"min_mu": 40, "max_mu": 120}})
    >>> result = match(request, zone, top_n=3)
    >>> [s.rank for s in result.sites], all(s.size >= 40 for s in result.sites)
    ([1, 2, 3], True)
    """
    land = request.site_kind == "land"
    sites = zone.parcels if land else zone.factories
    access = substation_access(request, zone, sites) if land else None
    checks = parcel_checks(request, zone, access=access) if land else factory_checks(request, zone)
    criteria = LAND_CRITERIA if land else FACTORY_CRITERIA
    weights = weights_for(criteria, request.weights, rail_required=request.logistics.rail_required)
    n = len(sites)
    failing = np.vstack([~c.ok for c in checks]) if checks else np.zeros((0, n), dtype=bool)
    n_failed = failing.sum(axis=0)
    feasible = np.flatnonzero(n_failed == 0)
    # Criteria are needed only where a site can be ranked or shown: feasible sites, near
    # misses and (below) the parcels assembly may use. Everything else stays NaN.
    raw = np.full((n, len(criteria)), np.nan)
    filled = np.zeros(n, dtype=bool)

    def fill(rows: IntArray) -> None:
        todo = rows[~filled[rows]]
        if len(todo):
            raw[todo] = _criteria_matrix(request, zone, sites, criteria, todo, access)
            filled[todo] = True

    fill(np.flatnonzero(n_failed <= 1))
    benefit = np.array([c.benefit for c in criteria])

    groups: list[Group] = []
    group_raw = np.zeros((0, len(criteria)))
    wants_groups = request.assemble == "always" or (
        request.assemble == "auto" and len(feasible) == 0
    )
    if land and request.area is not None and wants_groups:
        groups, group_raw = _assembled(request, zone, checks, failing, raw, fill, criteria)

    candidates = np.vstack([raw[feasible], group_raw]) if len(groups) else raw[feasible]
    reference = candidates if len(candidates) else raw[n_failed == 1]
    norm = normalise(candidates, benefit, reference)
    scores = score(norm, weights, request.method)
    members_of = [(int(i),) for i in feasible] + [g.members for g in groups]
    keep = _distinct(scores, members_of, len(feasible))
    is_single = np.arange(len(members_of)) < len(feasible)
    norm, scores, candidates, is_single = (
        norm[keep],
        scores[keep],
        candidates[keep],
        is_single[keep],
    )
    members_of = [members_of[i] for i in np.flatnonzero(keep)]
    best = top(scores, top_n)
    low, high = stability(norm, weights, request.method, best)

    utilities = _utilities(request, zone, sites)
    ranked = []
    for rank, row in enumerate(best, start=1):
        ranked.append(
            _ranked_site(
                zone,
                sites,
                checks,
                members_of[row],
                utilities,
                rank=rank,
                kind=("parcel" if land else "factory") if is_single[row] else "group",
                score_=float(scores[row]),
                norm=norm[row],
                raw_row=candidates[row],
                weights=weights,
                criteria=criteria,
                rank_range=(int(low[rank - 1]), int(high[rank - 1])),
            )
        )
    misses = _near_misses(
        request, sites, checks, n_failed, raw, benefit, reference, weights, near_misses
    )
    return MatchResult(
        request=request,
        layer=sites.layer,
        method=request.method,
        weights={c.key: float(w) for c, w in zip(criteria, weights, strict=True)},
        criteria=criteria,
        sites=tuple(ranked),
        near_misses=tuple(misses),
        excluded_counts={c.name: int((~c.ok).sum()) for c in checks if (~c.ok).any()},
        n_sites=n,
        n_feasible=len(feasible),
        n_groups=len(groups),
        versions=dict(zone.versions),
        as_of=as_of(request),
        _checks=checks,
        _ids=sites.ids,
    )


def _distinct(scores: FloatArray, members_of: list[tuple[int, ...]], n_single: int) -> BoolArray:
    """Which candidates to keep: every single site, and each assembled group unless a
    better-scoring single site inside it or a better group sharing half its parcels is
    already offered (near-duplicates are noise to a planner)."""
    keep = np.ones(len(scores), dtype=bool)
    single_score = {members_of[i][0]: scores[i] for i in range(n_single)}
    kept: list[set[int]] = []
    for row in sorted(range(n_single, len(scores)), key=lambda r: -scores[r]):
        members = set(members_of[row])
        inside = any(single_score.get(m, -1.0) >= scores[row] for m in members)
        shared = any(len(members & k) * 2 >= min(len(members), len(k)) for k in kept)
        if inside or shared:
            keep[row] = False
        else:
            kept.append(members)
    return keep


# -- criteria ----------------------------------------------------------------------------------
def _park_fit(request: ProjectRequest, zone: Zone, park: IntArray) -> FloatArray:
    tokens = [t for t in re.split(r"[/;；、,，\s]+", request.industry) if t]
    parks = zone.parks
    fit = np.zeros(len(parks))
    for j, (park_id, industries) in enumerate(
        zip(parks["park_id"], parks["industries"], strict=True)
    ):
        text = industries or ""
        if park_id in request.preferred_parks or any(t in text for t in tokens):
            fit[j] = 1.0
    return np.where(park >= 0, fit[np.maximum(park, 0)] if len(fit) else 0.0, 0.0)


def _criteria_matrix(
    request: ProjectRequest,
    zone: Zone,
    sites: Sites,
    criteria: tuple[Criterion, ...],
    rows: IntArray,
    access: Access | None,
) -> FloatArray:
    """Raw criterion values (rows: ``rows`` of ``sites``; columns: ``criteria``)."""
    column = sites.column
    nearest = sites.distances.nearest_m
    columns: dict[str, FloatArray] = {}
    for key in ("interchange", "rail", "airport"):
        d = nearest[key][rows]
        columns[key] = np.where(np.isfinite(d), d, np.nan)
    columns["park_fit"] = _park_fit(request, zone, sites.park[rows])
    if sites.layer == PARCELS.name:
        day = day_number(as_of(request))
        columns["readiness"] = (sites.condition_days[rows] <= day).mean(axis=1)
        columns["price"] = column("price_wmu")[rows]
        if access is not None:
            d = access.dist_m[rows]
            columns["substation"] = np.where(np.isfinite(d), d, np.nan)
        else:
            columns["substation"] = np.full(len(rows), np.nan)
        columns["area_fit"] = _area_fit(request, column("area_mu")[rows])
    else:
        needs = request.factory
        floor = column("floor_m2")[rows]
        target = needs.floor.min_m2 if needs else 1.0
        columns["rent"] = column("rent_ym")[rows]
        columns["floor_fit"] = 1.0 - np.abs(floor - target) / target
        columns["height"] = column("height_m")[rows]
        start = as_of(request)
        available = column("avail_from")[rows]
        columns["availability"] = np.array(
            [max((d - start).days, 0) if d is not None else 0 for d in available], dtype=float
        )
    return np.column_stack([columns[c.key] for c in criteria]).astype(float)


def _area_fit(request: ProjectRequest, area: FloatArray) -> FloatArray:
    if request.area is None:
        return np.zeros(len(area))
    if request.area.prefer == "large":
        return area
    target = request.area.min_mu
    return np.asarray(1.0 - np.abs(area - target) / target)


# -- assembly ----------------------------------------------------------------------------------
def _assembled(
    request: ProjectRequest,
    zone: Zone,
    checks: list[Check],
    failing: BoolArray,
    raw: FloatArray,
    fill: Callable[[IntArray], None],
    criteria: tuple[Criterion, ...],
) -> tuple[list[Group], FloatArray]:
    """Groups of parcels that pass every check but those that depend on area, and pass
    those too as one site; with their criteria rows."""
    if request.area is None:
        raise ValueError("assembly needs a land request with an area")
    sites = zone.parcels
    area_checks = np.array([bool(_AREA_DEPENDENT.match(c.key)) for c in checks])
    pool = (
        np.flatnonzero(~failing[~area_checks].any(axis=0)) if len(checks) else np.arange(len(sites))
    )
    area = sites.frame["area_mu"].to_numpy(dtype=float)
    found = assemble(
        sites.metric[pool],
        area[pool],
        min_mu=request.area.min_mu,
        max_mu=request.area.max_mu,
        gap_m=request.assembly_gap_m,
    )
    groups = [
        Group(tuple(int(pool[m]) for m in g.members), g.area_mu)
        for g in found
        if len(g.members) > 1  # a lone parcel is ranked as itself
    ]
    groups = [g for g in groups if _group_meets_indicators(request, sites, g)]
    if groups:
        fill(np.unique(np.concatenate([np.array(g.members) for g in groups])))
    rows = []
    keys = [c.key for c in criteria]
    for g in groups:
        members = np.array(g.members)
        weights = area[members] / area[members].sum()
        row = {}
        for j, key in enumerate(keys):
            values = raw[members, j]
            if key in ("interchange", "rail", "airport", "substation"):
                row[key] = np.nanmin(values) if np.isfinite(values).any() else np.nan
            elif key == "area_fit":
                row[key] = float(_area_fit(request, np.array([g.area_mu]))[0])
            else:  # area-weighted over the members that have a value
                known = ~np.isnan(values)
                row[key] = (
                    float(np.sum(values[known] * weights[known]) / weights[known].sum())
                    if known.any()
                    else np.nan
                )
        rows.append([row[k] for k in keys])
    return groups, np.array(rows, dtype=float).reshape(len(groups), len(keys))


def _group_meets_indicators(request: ProjectRequest, sites: Sites, group: Group) -> bool:
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


# -- results -----------------------------------------------------------------------------------
def _or_inf(value: float) -> float:
    return math.inf if math.isnan(value) else value


def _outcomes(
    checks: list[Check], members: tuple[int, ...], group_area: float | None
) -> tuple[CheckOutcome, ...]:
    out = []
    for c in checks:
        if group_area is not None and _AREA_DEPENDENT.match(c.key):
            continue  # judged on the group as a whole, not per member
        # The member that meets the check worst speaks for the site (NaN margin: no quantity).
        worst = min(members, key=lambda i: (bool(c.ok[i]), _or_inf(float(c.margin[i]))))
        margin = float(c.margin[worst])
        finite = math.isfinite(margin)
        detail = "满足 (met)" if c.ok[worst] else c.why(worst)
        if c.ok[worst] and finite:
            detail = f"满足, 余量 {margin:,.1f} {c.unit} (met with margin)"
        out.append(
            CheckOutcome(
                c.key, c.name, bool(c.ok[worst]), margin if finite else None, c.unit, detail
            )
        )
    if group_area is not None:
        out.append(
            CheckOutcome(
                "area",
                "面积 (area)",
                True,
                None,
                "亩",
                f"{len(members)} 宗相邻地块合计 {group_area:,.1f} 亩 "
                f"({len(members)} adjacent parcels)",
            )
        )
    return tuple(out)


def _ranked_site(
    zone: Zone,
    sites: Sites,
    checks: list[Check],
    members: tuple[int, ...],
    utilities: list[_Utility],
    *,
    rank: int,
    kind: SiteKind,
    score_: float,
    norm: FloatArray,
    raw_row: FloatArray,
    weights: FloatArray,
    criteria: tuple[Criterion, ...],
    rank_range: tuple[int, int],
) -> RankedSite:
    rows = list(members)
    land = sites.layer == PARCELS.name
    size = float(sites.column("area_mu" if land else "floor_m2")[rows].sum())
    names = [str(v) for v in sites.column("name")[rows] if v]
    geometries = sites.column("geometry")[rows]
    return RankedSite(
        rank=rank,
        kind=kind,
        ids=tuple(str(v) for v in sites.ids[rows]),
        fids=tuple(int(v) for v in sites.column("fid")[rows]),
        name=names[0] + (f" 等 {len(members)} 宗 (+{len(members) - 1})" if len(members) > 1 else "")
        if names
        else "",
        park_id="+".join(dict.fromkeys(str(p) for p in sites.column("park_id")[rows])),
        size=size,
        size_unit="亩" if land else "m²",
        score=score_,
        contributions={
            c.key: float(w * v) for c, w, v in zip(criteria, weights, norm, strict=True)
        },
        criteria={
            c.key: (None if np.isnan(v) else float(v))
            for c, v in zip(criteria, raw_row, strict=True)
        },
        checks=_outcomes(checks, members, size if kind == "group" else None),
        rank_range=rank_range,
        connections=connection_plan(zone, sites, members, utilities),
        geometry=shapely.union_all(geometries) if len(rows) > 1 else geometries[0],
    )


@dataclass(frozen=True)
class _Utility:
    """What the connection plan needs for one utility, prepared once per match."""

    name: str
    kind: str
    unit: str
    need: float | None
    spare: FloatArray
    qualifies: BoolArray
    reach_km: float
    capacity: FloatArray


def _utilities(request: ProjectRequest, zone: Zone, sites: Sites) -> list[_Utility]:
    infra = zone.infrastructure
    kinds = infra["kind"].to_numpy(dtype=object)
    land = sites.layer == PARCELS.name
    out = []
    for utility, kind, site_col, spare_col, need_attr, unit in _UTILITIES:
        if not land and utility != "power":
            continue  # a building's water and gas are facts of the building
        need = getattr(request, need_attr)
        spare = infra[spare_col].to_numpy(dtype=float)
        if utility == "power":
            mva = request.power_mva
            need = None if mva is None else mva * 1000.0
            spare = spare * 1000.0  # MVA → kVA, the unit of site capacities
        qualifies = (kinds == kind) & (spare >= (need or 0.0))  # unknown spare never qualifies
        if utility == "power" and request.min_voltage_kv:
            voltage = np.nan_to_num(infra["voltage_kv"].to_numpy(dtype=float))
            qualifies &= voltage >= request.min_voltage_kv
        reach_km = request.power_reach_km if utility == "power" else request.utility_reach_km
        capacity = sites.frame[site_col].to_numpy(dtype=float)
        out.append(_Utility(utility, kind, unit, need, spare, qualifies, reach_km, capacity))
    return out


def connection_plan(
    zone: Zone, sites: Sites, members: tuple[int, ...], utilities: list[_Utility]
) -> tuple[Connection, ...]:
    """For power, water, gas, heat, sewage and road: where the site would connect, how far,
    the headroom left after the project, and whether the boundary connection needs more.

    Looks only at the pairs of the site's own parcels, so it costs little per site."""
    names = zone.infrastructure["name"].to_numpy(dtype=object)
    ids = zone.infrastructure["infra_id"].to_numpy(dtype=object)
    out = []
    for u in utilities:
        found: tuple[float, int] | None = None
        for member in members:
            nodes, dists = sites.distances.pairs[u.kind].of_site(member)
            usable = np.flatnonzero((dists <= u.reach_km * 1000) & u.qualifies[nodes])
            if len(usable) and (found is None or dists[usable[0]] < found[0]):
                found = (float(dists[usable[0]]), int(nodes[usable[0]]))
        capacity = u.capacity[list(members)]
        have = float(np.nanmax(capacity)) if not np.isnan(capacity).all() else float("nan")
        if found is None:
            out.append(
                Connection(
                    u.name,
                    None,
                    None,
                    None,
                    None,
                    u.unit,
                    u.need is not None,
                    f"{u.reach_km:g} km 内无有余量的接入点, 需新建或扩容 "
                    f"(no source with headroom within {u.reach_km:g} km)",
                )
            )
            continue
        distance, node = found
        short = u.need is not None and not have >= u.need
        if u.need is None:
            note = "项目未提需求 (no demand stated)"
        elif not short:
            note = "红线处容量满足 (boundary capacity suffices)"
        elif np.isnan(have):
            note = "红线处容量未知, 需核实 (boundary capacity unknown)"
        else:
            note = (
                f"红线处可接 {have:,.0f} {u.unit}, 需增容接入 (boundary connection needs upgrading)"
            )
        out.append(
            Connection(
                u.name,
                str(names[node]),
                str(ids[node]),
                distance,
                float(u.spare[node] - (u.need or 0.0)),
                u.unit,
                short,
                note,
            )
        )
    rows = np.array(members)
    road, road_dist = zone.nearest_road(sites.metric[rows])
    k = int(np.argmin(road_dist))
    if road[k] >= 0:
        on_road = road_dist[k] <= 30  # within half the widest road of its centre line
        if sites.layer != PARCELS.name:
            note, needs_road = "现有厂房, 已有出入口 (existing building with access)", False
        elif on_road:
            note, needs_road = "临路 (fronts the road)", False
        else:
            note, needs_road = "需修建连接道路 (needs an access road)", True
        out.append(
            Connection(
                "road",
                str(zone.roads["name"].iloc[int(road[k])]),
                str(zone.roads["road_id"].iloc[int(road[k])]),
                float(road_dist[k]),
                None,
                "m",
                needs_road,
                note,
            )
        )
    interchange = sites.distances.nearest_node["interchange"][rows]
    gap = sites.distances.nearest_m["interchange"][rows]
    k = int(np.argmin(gap))
    if interchange[k] >= 0:
        out.append(
            Connection(
                "highway",
                str(names[interchange[k]]),
                str(ids[interchange[k]]),
                float(gap[k]),
                None,
                "m",
                False,
                "最近高速出入口 (nearest interchange)",
            )
        )
    return tuple(out)


NEAR_MISS_AREA = 0.5
"""A parcel with less than half the area asked for is not "one step" from taking a project."""


def _within_reach(request: ProjectRequest, checks: list[Check], rows: IntArray) -> BoolArray:
    """Of sites failing one check, those a planner could act on: not sites that are not on
    offer (transferred, withdrawn, reserved, leased), nor parcels far too small."""
    keep = np.ones(len(rows), dtype=bool)
    for c in checks:
        failed = ~c.ok[rows]
        if c.key == "status":
            keep &= ~failed
        elif c.key == "area" and request.area is not None:
            far = c.margin[rows] < -NEAR_MISS_AREA * request.area.min_mu
            keep &= ~(failed & far)
    return keep


def _near_misses(
    request: ProjectRequest,
    sites: Sites,
    checks: list[Check],
    n_failed: IntArray,
    raw: FloatArray,
    benefit: BoolArray,
    reference: FloatArray,
    weights: FloatArray,
    limit: int,
) -> list[NearMiss]:
    rows = np.flatnonzero(n_failed == 1)
    rows = rows[_within_reach(request, checks, rows)]
    if not len(rows) or limit <= 0:
        return []
    scores = score(
        normalise(raw[rows], benefit, reference if len(reference) else None),
        weights,
        request.method,
    )
    land = sites.layer == PARCELS.name
    out = []
    for k in top(scores, limit):
        i = int(rows[k])
        failed = next(c for c in checks if not c.ok[i])
        margin = failed.margin[i]
        name = sites.column("name")[i]
        out.append(
            NearMiss(
                kind="parcel" if land else "factory",
                ids=(str(sites.ids[i]),),
                name=str(name or ""),
                park_id=str(sites.column("park_id")[i]),
                size=float(sites.column("area_mu" if land else "floor_m2")[i]),
                score=float(scores[k]),
                failed=CheckOutcome(
                    failed.key,
                    failed.name,
                    False,
                    float(margin) if np.isfinite(margin) else None,
                    failed.unit,
                    failed.why(i),
                ),
                remedy=failed.remedy(i),
                geometry=sites.column("geometry")[i],
            )
        )
    return out


__all__ = ["MatchResult", "NearMiss", "RankedSite", "match"]
