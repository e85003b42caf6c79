"""What changed between a saved match and the same request run again: sites gained, lost,
and moved in rank, each with why where it can be told.

Pure: both results are their JSON (``MatchResult.to_dict()``, as saved), and what changed
in the data between them is gathered by the store (:meth:`layers.store.matches.Matches.changes`)
and passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from layers.catalog import BUDGETS, FACTORIES, INFRASTRUCTURE, PARCELS, PARKS

if TYPE_CHECKING:
    from layers.store.matches import DataChanges

ReasonKind = Literal["reservation", "list", "ledger", "method", "excluded"]
_BUDGET_OF = {name: b for b in BUDGETS for name in (b.total, b.allocated)}


@dataclass(frozen=True)
class Reason:
    """Why a site's place changed: ``kind`` says which change, ``text`` says it (中文 (en))."""

    kind: ReasonKind
    text: str


@dataclass(frozen=True)
class SiteChange:
    """One site gained, lost or moved; a rank is ``None`` where the site was not ranked."""

    site: str
    """Its ids joined by ``+`` (an assembled group has several)."""
    name: str
    old_rank: int | None
    new_rank: int | None
    reasons: tuple[Reason, ...] = ()


@dataclass
class Comparison:
    """A saved result against a new one of the same request."""

    gained: list[SiteChange] = field(default_factory=list)
    lost: list[SiteChange] = field(default_factory=list)
    moved: list[SiteChange] = field(default_factory=list)
    unchanged: int = 0
    """Sites ranked the same in both."""
    facts: list[Reason] = field(default_factory=list)
    """Every change in the data between the two, whichever sites it touched."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(old: Mapping[str, Any], new: Mapping[str, Any], changes: DataChanges) -> Comparison:
    """Sites gained, lost and moved from ``old`` to ``new`` (two match results' JSON),
    with the changes in ``changes`` that explain each.

    Examples
    --------
    >>> from layers.store.matches import DataChanges
    >>> def site(ids, rank):
    ...     return {"ids": ids, "name": "", "rank": rank, "park_id": "P1"}
    >>> old = {"layer": "parcels", "method": "topsis", "weights": {}, "excluded": [],
    ...        "sites": [site(["A"], 1), site(["B"], 2)]}
    >>> new = {**old, "sites": [site(["B"], 1)],
    ...        "excluded": [{"id": "A", "reasons": [{"reason": "已预留 (reserved)"}]}]}
    >>> out = compare(old, new, DataChanges("parcels", reserved={"A": "新项目"}))
    >>> [(c.site, c.old_rank, c.new_rank) for c in out.lost + out.moved]
    [('A', 1, None), ('B', 2, 1)]
    >>> [r.kind for r in out.lost[0].reasons]
    ['reservation', 'excluded']
    """
    before = {_key(s): s for s in old.get("sites", [])}
    after = {_key(s): s for s in new.get("sites", [])}
    facts = _facts(old, new, changes)
    method = [f for f in facts if f.kind == "method"]
    out = Comparison(facts=facts)
    for key, site in after.items():
        reasons = [*_site_reasons(site, changes, facts), *method]
        if key not in before:
            reasons += _excluded(key, old, "此前排除 (was excluded)")
            out.gained.append(_change(key, site, None, site["rank"], reasons))
        elif before[key]["rank"] != site["rank"]:
            out.moved.append(_change(key, site, before[key]["rank"], site["rank"], reasons))
        else:
            out.unchanged += 1
    for key, site in before.items():
        if key not in after:
            reasons = [*_site_reasons(site, changes, facts), *method]
            reasons += _excluded(key, new, "现被排除 (now excluded)")
            out.lost.append(_change(key, site, site["rank"], None, reasons))
    out.moved.sort(key=lambda c: c.new_rank or 0)
    out.lost.sort(key=lambda c: c.old_rank or 0)
    return out


def _key(site: Mapping[str, Any]) -> str:
    return "+".join(str(i) for i in site["ids"])


def _change(
    key: str, site: Mapping[str, Any], old: int | None, new: int | None, reasons: list[Reason]
) -> SiteChange:
    return SiteChange(key, str(site.get("name") or ""), old, new, tuple(dict.fromkeys(reasons)))


def _excluded(key: str, result: Mapping[str, Any], label: str) -> list[Reason]:
    """Why ``result`` excluded the site (each member of a group), as it said then."""
    members = set(key.split("+"))
    why = [
        r["reason"]
        for e in result.get("excluded", [])
        if str(e["id"]) in members
        for r in e["reasons"]
    ]
    return [Reason("excluded", f"{label}: {'; '.join(dict.fromkeys(why))}")] if why else []


def _site_reasons(
    site: Mapping[str, Any], changes: DataChanges, facts: list[Reason]
) -> list[Reason]:
    """The changes in the data that touch this site, its park or its ledger row."""
    out = []
    members = [str(i) for i in site["ids"]]
    for i in members:
        if i in changes.reserved:
            out.append(Reason("reservation", f"{i} 已为项目 {changes.reserved[i]} 预留 "
                              f"(reserved for {changes.reserved[i]})"))  # fmt: skip
        if i in changes.released:
            out.append(Reason("reservation", f"{i} 的预留已释放 (reservation released: "
                              f"{changes.released[i]})"))  # fmt: skip
        out += _list_reasons(i, changes)
    parks = str(site.get("park_id") or "").split("+")
    ledger_rows = [(PARKS.name, p) for p in parks]
    if changes.layer == FACTORIES.name:
        ledger_rows += [(FACTORIES.name, i) for i in members]
    for row in ledger_rows:
        if row in changes.ledger:
            out.append(_ledger_reason(row, changes.ledger[row]))
    if not out:  # a utility's capacity may have moved it: say so when nothing else can
        out = [f for f in facts if f.kind == "ledger" and INFRASTRUCTURE.name in f.text]
    return out


def _list_reasons(site_id: str, changes: DataChanges) -> list[Reason]:
    release = f"{changes.release_before} → {changes.release_after}"
    if site_id in changes.list_added:
        return [Reason("list", f"{site_id} 为新清单新增 (new in the list, release {release})")]
    if site_id in changes.list_removed:
        return [Reason("list", f"{site_id} 不在新清单中 (not in the new list, release {release})")]
    if site_id in changes.list_changed:
        fields = ", ".join(changes.list_changed[site_id])
        return [Reason("list", f"{site_id} 在新清单中有变更 (changed in the new list: {fields})")]
    return []


def _ledger_reason(row: tuple[str, str], fields: tuple[str, ...]) -> Reason:
    layer, row_id = row
    named = []
    for name in fields:
        budget = _BUDGET_OF.get(name)
        named.append(f"{budget.zh} {name} ({budget.en})" if budget else name)
    return Reason("ledger", f"台账变更 (ledger change) {layer} {row_id}: {', '.join(named)}")


def _facts(old: Mapping[str, Any], new: Mapping[str, Any], changes: DataChanges) -> list[Reason]:
    """Every change between the two, for the page to list whatever sites it touched."""
    out = []
    if old.get("method") != new.get("method") or old.get("weights") != new.get("weights"):
        out.append(Reason("method", f"权重或方法不同 (weights/method changed: "
                          f"{old.get('method')} → {new.get('method')})"))  # fmt: skip
    if changes.release_before != changes.release_after and changes.layer == PARCELS.name:
        out.append(Reason("list", f"新清单 (a new list): release {changes.release_before} → "
                          f"{changes.release_after}; 新增 {len(changes.list_added)}, 移除 "
                          f"{len(changes.list_removed)}, 变更 {len(changes.list_changed)} "
                          "(added, removed, changed)"))  # fmt: skip
    for site_id, project in changes.reserved.items():
        out.append(Reason("reservation", f"{site_id} 已为项目 {project} 预留 (reserved)"))
    for site_id, project in changes.released.items():
        out.append(Reason("reservation", f"{site_id} 的预留已释放 (released: {project})"))
    out += [_ledger_reason(row, fields) for row, fields in changes.ledger.items()]
    return out
