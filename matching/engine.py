"""The matching engine: rank the sites that can take a project, and say why.

``match(request, zone)`` evaluates every hard constraint on every site, ranks the
feasible ones by the soft criteria, proposes assembled parcel groups when single parcels
are too small, and explains everything: per-criterion contributions, rank stability,
the connection plan, the near misses and the reasons every other site was excluded.
Pure and in memory; no database, no web.

What differs between land and factories is in :mod:`matching.profiles`; the hard
constraints are in :mod:`matching.constraints` (with :mod:`matching.land` and
:mod:`matching.factories`), the soft criteria in :mod:`matching.criteria`, scoring in
:mod:`matching.scoring`, the connection plan in :mod:`matching.connections` and the
result types in :mod:`matching.results`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching.assembly import Group, assemble
from matching.buildable import group_allows
from matching.connections import links
from matching.criteria import Criterion, criteria_matrix, group_rows, scaled
from matching.land import group_meets_indicators
from matching.near_misses import near_misses_of
from matching.profiles import PROFILES
from matching.request import ProjectRequest
from matching.results import Candidate, Evaluation, MatchResult, ranked_site
from matching.scoring import score, stability, top
from matching.situation import as_of
from matching.weights import weights_for
from matching.zone import Zone

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_TOP = 10
NEAR_MISSES = 5


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
    ev = evaluate(request, zone)
    table = _Table.of(ev)
    wants_groups = request.assemble == "always" or (
        request.assemble == "auto" and len(table.feasible) == 0
    )
    groups: list[Group] = []
    if ev.profile.can_assemble and request.area is not None and wants_groups:
        groups = _groups(ev, table)
    ranking = _rank(ev, table, groups)
    best = top(ranking.scores, top_n)
    low, high = stability(ranking.normalised, ev.weights, request.method, best)
    ranked = [
        ranked_site(
            ev,
            ranking.candidate(row),
            rank=rank,
            rank_range=(int(low[rank - 1]), int(high[rank - 1])),
        )
        for rank, row in enumerate(best, start=1)
    ]
    misses = near_misses_of(ev, table.n_failed, limit=near_misses)
    sites, criteria, constraints = ev.situation.sites, ev.profile.criteria, ev.constraints
    return MatchResult(
        request=request,
        layer=sites.layer,
        method=request.method,
        weights={c.key: float(w) for c, w in zip(criteria, ev.weights, strict=True)},
        criteria=criteria,
        rules={c.key: c.scale.rule(ev.situation) for c in criteria},
        constant=_constant(criteria, ranking.normalised),
        sites=tuple(ranked),
        near_misses=tuple(misses),
        excluded_counts={
            c.name: int(np.count_nonzero(~c.ok)) for c in constraints if not c.ok.all()
        },
        n_sites=len(sites),
        n_feasible=len(table.feasible),
        n_groups=len(groups),
        versions=dict(zone.versions),
        as_of=as_of(request),
        _constraints=constraints,
        _ids=sites.ids,
    )


def evaluate(request: ProjectRequest, zone: Zone) -> Evaluation:
    """The request's profile, its constraints over every site of that kind, its
    normalised weights and what the connection plans need."""
    profile = PROFILES[request.site_kind]
    s = profile.situation(request, zone)
    constraints = [c for rule in profile.constraints for c in rule(s)]
    weights = weights_for(profile.criteria, request)
    return Evaluation(s, profile, constraints, weights, links(s, profile.networks))


@dataclass
class _Table:
    """Per site, how many constraints it fails; the raw criterion values of some.

    Criteria are needed only where a site can be ranked: feasible sites and the parcels
    assembly may use (near misses are ordered by their shortfall, not scored). They are
    kept for those ``rows`` only (ascending), a few hundred of 100,000 sites."""

    ev: Evaluation
    n_failed: npt.NDArray[np.uint8]
    feasible: IntArray
    rows: IntArray
    values: FloatArray
    """The raw criteria of ``rows`` (rows × criteria)."""

    @classmethod
    def of(cls, ev: Evaluation) -> _Table:
        # Counted in bytes (a request has tens of constraints): a sum of booleans into
        # 64-bit integers costs several times as much at 100,000 sites.
        failed = np.zeros(len(ev.situation.sites), dtype=np.uint8)
        for c in ev.constraints:
            failed += ~c.ok
        feasible = np.flatnonzero(failed == 0)
        none = np.zeros((0, len(ev.profile.criteria)))
        table = cls(ev, failed, feasible, np.array([], dtype=np.int64), none)
        table.fill(feasible)
        return table

    def raw(self, rows: IntArray) -> FloatArray:
        """The raw criteria of ``rows``, all filled."""
        return self.values[np.searchsorted(self.rows, rows)]

    def fill(self, rows: IntArray) -> None:
        """Work out the criteria of ``rows`` not yet known."""
        todo = np.setdiff1d(rows, self.rows)
        if len(todo):
            known = criteria_matrix(self.ev.situation, self.ev.profile.criteria, todo)
            rows = np.concatenate([self.rows, todo])
            order = np.argsort(rows)
            self.rows, self.values = rows[order], np.vstack([self.values, known])[order]


def _groups(ev: Evaluation, table: _Table) -> list[Group]:
    """Groups of parcels that pass every constraint but those that depend on area, and
    pass those too as one site."""
    request, sites = ev.situation.request, ev.situation.sites
    if request.area is None:
        raise ValueError("assembly needs a land request with an area")
    kept = [c.ok for c in ev.constraints if not c.area_dependent]
    pool = np.flatnonzero(np.logical_and.reduce(kept)) if kept else np.arange(len(sites))
    area = sites.floats("area_mu")
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
    groups = [
        g
        for g in groups
        if group_meets_indicators(request, sites, g) and group_allows(request, sites, g)
    ]
    if groups:
        table.fill(np.unique(np.concatenate([np.array(g.members) for g in groups])))
    return groups


@dataclass(frozen=True)
class _Ranking:
    """The candidates (feasible single sites, then distinct groups), scored."""

    sites: IntArray
    """The rows of the single sites: the first candidates."""
    groups: list[tuple[int, ...]]
    """The members of the groups: the candidates after them."""
    raw: FloatArray
    normalised: FloatArray
    scores: FloatArray

    def candidate(self, row: int) -> Candidate:
        single = row < len(self.sites)
        members = (int(self.sites[row]),) if single else self.groups[row - len(self.sites)]
        return Candidate(
            members, single, float(self.scores[row]), self.normalised[row], self.raw[row]
        )


def _rank(ev: Evaluation, table: _Table, groups: list[Group]) -> _Ranking:
    feasible = table.feasible
    raw = table.raw(feasible)
    if groups:
        raw = np.vstack([raw, group_rows(ev.situation, ev.profile.criteria, table.raw, groups)])
    norm = scaled(ev.situation, ev.profile.criteria, raw)
    scores = score(norm, ev.weights, ev.situation.request.method)
    n = len(feasible)
    kept = _distinct(feasible, scores[:n], [g.members for g in groups], scores[n:])
    keep = np.r_[np.arange(n), n + np.array(kept, dtype=np.int64)]
    return _Ranking(
        sites=feasible,
        groups=[groups[k].members for k in kept],
        raw=raw[keep],
        normalised=norm[keep],
        scores=scores[keep],
    )


def _constant(criteria: tuple[Criterion, ...], normalised: FloatArray) -> tuple[str, ...]:
    """The criteria that score the same for every candidate (at least two): they add
    the same to every score and tell no site apart."""
    if len(normalised) < 2:
        return ()
    same = np.ptp(normalised, axis=0) < 1e-12
    return tuple(c.key for c, flat in zip(criteria, same, strict=True) if flat)


def _distinct(
    sites: IntArray, site_scores: FloatArray, groups: list[tuple[int, ...]], scores: FloatArray
) -> list[int]:
    """Which assembled groups to offer beside every single site (``sites``, scored
    ``site_scores``): each unless a better-scoring single site inside it or a
    better group sharing half its parcels is already offered (near-duplicates are noise
    to a planner)."""
    by_site = np.argsort(sites, kind="stable")
    kept: list[int] = []
    for g in sorted(range(len(groups)), key=lambda g: -scores[g]):
        members, inside = set(groups[g]), False
        if len(sites):
            wanted = np.array(groups[g])
            found = np.minimum(np.searchsorted(sites, wanted, sorter=by_site), len(sites) - 1)
            at = by_site[found]
            inside = bool(((sites[at] == wanted) & (site_scores[at] >= scores[g])).any())
        shared = any(
            len(members & set(groups[k])) * 2 >= min(len(members), len(groups[k])) for k in kept
        )
        if not (inside or shared):
            kept.append(g)
    return sorted(kept)  # in the order they were found, as the singles


__all__ = ["DEFAULT_TOP", "NEAR_MISSES", "evaluate", "match"]
