"""Near misses: the sites that lack least, and what it would take for each to qualify.

Sites are ordered by the shortfall of their failures relative to the requirements
(docs/matching.md, "Near misses"), never by score: a site 1 tce short of a budget comes
before one 40 % short of the area asked for.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from layers.units import amount
from matching.constraints import REMEDY_KINDS, STATUS, Constraint
from matching.results import (
    BoolArray,
    ConstraintOutcome,
    Evaluation,
    Failure,
    IntArray,
    NearMiss,
    finite,
)


def _actionable(constraints: list[Constraint], rows: IntArray) -> BoolArray:
    """Of sites failing a few constraints, those a planner could act on."""
    keep = np.ones(len(rows), dtype=bool)
    for c in constraints:
        if c.actionable is not None:
            keep &= c.ok[rows] | c.actionable[rows]
    return keep


def near_misses_of(
    ev: Evaluation, n_failed: npt.NDArray[np.uint8], *, limit: int
) -> list[NearMiss]:
    """The sites that lack least, by the shortfall of their failures relative to the
    requirements (docs/matching.md, "Near misses").

    Sites failing one constraint a planner could act on come first, then (when fewer than
    ``limit`` fail one) those failing two, each by their relative shortfall added up.
    When no site is feasible, the closest of the other sites on offer fill the list."""
    if limit <= 0:
        return []
    constraints = ev.constraints
    picked = np.array([], dtype=np.int64)
    for count in (1, 2):  # all that fail one before any that fail two
        if len(picked) == limit:
            break
        rows = np.flatnonzero(n_failed == count)
        rows = rows[_actionable(constraints, rows)]
        picked = np.concatenate([picked, _closest(constraints, rows, limit - len(picked))])
    if len(picked) < limit and not (n_failed == 0).any():
        on_offer = np.ones(len(n_failed), dtype=bool)
        for c in constraints:
            if c.key == STATUS:
                on_offer &= c.ok
        on_offer[picked] = False
        rest = _closest(constraints, np.flatnonzero(on_offer), limit - len(picked))
        picked = np.concatenate([picked, rest])
    return [_near_miss(ev, int(i)) for i in picked]


def _closest(constraints: list[Constraint], rows: IntArray, limit: int) -> IntArray:
    """The ``limit`` rows that lack least: by relative shortfall added up, then by row."""
    if not len(rows) or limit <= 0:
        return rows[:0]
    total = np.zeros(len(rows))
    for c in constraints:
        # Rows that pass add 0: measure only the few that fail (a row fails one or two).
        failing = np.flatnonzero(~c.ok[rows])
        total[failing] += c.shortfall(rows[failing])
    if len(rows) > limit:  # only the rows that can be among the closest are sorted
        near = total <= np.partition(total, limit - 1)[limit - 1]
        rows, total = rows[near], total[near]
    return rows[np.lexsort((rows, total))[:limit]]


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
        finite(margin),
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
