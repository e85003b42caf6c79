"""The unit of work every change to a store goes through.

A change names the layers it may alter and the person making it. In one transaction it

1. takes the version rows of those layers first, in sorted order (on PostGIS the row locks
   every other change of those layers waits for; on SQLite the whole write lock, taken at
   ``BEGIN IMMEDIATE``) — so two changes can never hold each other's locks (no deadlock);
2. lets the caller lock rows and write;
3. checks again, inside the locks, what every change must keep true: no active reservation
   is stranded (its site gone from what is in force, moved to another park, its park or
   substation gone), and no budget the change touched is overdrawn by what is allocated plus
   what active reservations draw (unless the change carries an override with a reason,
   which is audited);
4. commits with its audit rows — or, if it recorded none, changed nothing and is rolled
   back, so no layer version moves and no cache is thrown away;
5. once committed, refreshes the planner's statistics of the tables it marked stale
   (:mod:`layers.store.statistics`).

Checking after the writes, still under the locks, is what makes races harmless: whichever
of a publish and a reservation takes the ``parcels`` version lock second sees the other's
committed work before it can commit its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from layers.catalog import BUDGETS, INFRASTRUCTURE, LAYERS, ON_OFFER, PARKS, POWER
from layers.errors import Conflict, InvalidInput, StoreError
from layers.store import audit, statistics
from layers.store.audit import Actor
from layers.store.reserved import active_reservations, by_park, by_substation
from layers.store.tables import LAYER_TABLES, in_force, layer_versions

WRITE_OPTION = "geo_service_write"
"""Execution option asking the SQLite engine to ``BEGIN IMMEDIATE`` (see ``create_engine``)."""
_EPS = 1e-9
ALL = "*"
"""A wildcard for :meth:`Change.touch_budget`: every row, or every budget of a row."""
SUBSTATION = POWER.node_kind


@dataclass
class Change:
    """One change in progress: its connection, its author, and what it touched."""

    conn: Connection
    actor: Actor
    layers: frozenset[str]
    override: str | None = None
    overridable: bool = False
    """Whether an overdrawn budget may be kept with a reason (ledger edits)."""
    recorded: int = 0
    budgets: set[tuple[str, str, str]] = field(default_factory=set)
    needs: dict[tuple[str, str, str], float] = field(default_factory=dict)
    sites: set[tuple[str, str]] = field(default_factory=set)
    stale: set[str] = field(default_factory=set)
    """Tables whose planner statistics this change makes stale (a layer replaced, a list
    published): analyzed once it has committed."""

    def record(self, action: str, target: str, *, before: Any = None, after: Any = None) -> None:
        """The audit row of this change (or one of its rows), in its own transaction; an
        override's reason goes with it."""
        if self.override:
            after = {"value": after} if not isinstance(after, dict) else dict(after)
            after["override"] = self.override
        audit.record(self.conn, self.actor, action, target, before=before, after=after)
        self.recorded += 1

    def touch_budget(self, layer: str, row_id: str, key: str, *, need: float = 0.0) -> None:
        """Check budget ``key`` of ``row_id`` (a park's :class:`~layers.catalog.Budget` key,
        or a substation's spare capacity; either may be :data:`ALL`) before committing;
        ``need`` is what this change draws from it."""
        self.budgets.add((layer, row_id, key))
        if need:
            self.needs[(layer, row_id, key)] = need

    def touch_site(self, layer: str, site_id: str) -> None:
        """Check before committing that the site's park exists."""
        self.sites.add((layer, site_id))


@contextmanager
def change(
    engine: Engine,
    layers: Iterable[str],
    *,
    actor: Actor,
    override: str | None = None,
    stored: bool = True,
) -> Iterator[Change]:
    """A unit of work on ``layers`` made by ``actor`` (see the module's docstring);
    ``stored=False`` for one that writes none of their stored rows, only what readers
    see of them (a reservation: its site reads ``reserved``, its budgets drawn down)."""
    if not isinstance(actor, Actor):  # an untyped caller passing None or a bare name
        raise InvalidInput("修改必须注明操作人 (a change needs the person making it)")
    names = frozenset(layers)
    unknown = sorted(names - set(LAYER_TABLES))
    if unknown:
        raise StoreError(f"unknown layers in a change: {unknown}")
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn:
        transaction = conn.begin()
        try:
            for name in sorted(names):
                bump_version(conn, name, rows=stored)
            work = Change(conn, actor, names, override=override)
            yield work
            if work.recorded == 0:
                transaction.rollback()
                return
            check_invariants(work)
            transaction.commit()
        except BaseException:
            if transaction.is_active:
                transaction.rollback()
            raise
        statistics.refresh(conn, work.stale)


def bump_version(conn: Connection, layer: str, *, rows: bool = True) -> None:
    """Move a layer's version on (and its rows version, when the change writes its
    stored ``rows``), creating its row the first time; the statement takes the row's
    lock, held to the end of the transaction."""
    now = dt.datetime.now(dt.UTC)
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(layer_versions).values(
        layer=layer, version=1, rows_version=int(rows), updated_at=now
    )
    moved: dict[str, Any] = {"version": layer_versions.c.version + 1, "updated_at": now}
    if rows:
        moved["rows_version"] = layer_versions.c.rows_version + 1
    conn.execute(
        statement.on_conflict_do_update(index_elements=[layer_versions.c.layer], set_=moved)
    )


# -- invariants ----------------------------------------------------------------------
def check_invariants(work: Change) -> None:
    """Raise :class:`Conflict` (rolling the change back) if it broke an invariant."""
    conn = work.conn
    active = active_reservations(conn)
    stranded = _stranded(conn, active)
    if stranded:
        raise Conflict(
            f"此修改会使 {len(stranded)} 项有效预留失去地块、园区或变电站, 请先释放 "
            f"(this change would strand active reservations: {', '.join(stranded)}; "
            "release them first)",
            details={"reservations": stranded},
        )
    _check_sites(conn, work.sites)
    _check_park_budgets(work, active)
    _check_substations(work, active)


def _stranded(conn: Connection, active: list[sa.RowMapping]) -> list[str]:
    """Active reservations whose site is no longer in force in their park, whose park is
    gone, or whose substation is gone."""
    if not active:
        return []
    park_of: dict[tuple[str, str], str] = {}
    for layer in ON_OFFER:
        ids = [r["site_id"] for r in active if r["layer"] == layer]
        if not ids:
            continue
        table = LAYER_TABLES[layer]
        id_column = table.c[LAYERS[layer].id_field]
        rows = conn.execute(
            sa.select(id_column, table.c.park_id).where(id_column.in_(ids), *in_force(table))
        )
        park_of.update({(layer, str(site)): str(park) for site, park in rows})
    parks = LAYER_TABLES[PARKS.name]
    known_parks = {
        str(p)
        for p in conn.execute(
            sa.select(parks.c.park_id).where(parks.c.park_id.in_({r["park_id"] for r in active}))
        ).scalars()
    }
    infra = LAYER_TABLES[INFRASTRUCTURE.name]
    wanted = {r["substation_id"] for r in active if r["substation_id"] and r["power_mva"]}
    substations = {
        str(s)
        for s in conn.execute(
            sa.select(infra.c.infra_id).where(
                infra.c.infra_id.in_(wanted), infra.c.kind == SUBSTATION
            )
        ).scalars()
    }
    out = []
    for r in active:
        lost = park_of.get((r["layer"], r["site_id"])) != r["park_id"]
        lost = lost or r["park_id"] not in known_parks
        lost = lost or bool(r["power_mva"] and r["substation_id"] not in substations)
        if lost:
            out.append(f"{r['id']} ({r['site_id']}, {r['project']})")
    return out


def _check_sites(conn: Connection, sites: set[tuple[str, str]]) -> None:
    """Every site the change wrote lies in a park that exists (parks are few: read once)."""
    if not sites:
        return
    parks = LAYER_TABLES[PARKS.name]
    known = {str(p) for p in conn.execute(sa.select(parks.c.park_id)).scalars()}
    for layer in sorted({layer for layer, _ in sites}):
        spec = LAYERS[layer]
        table = LAYER_TABLES[layer]
        id_column = table.c[spec.id_field]
        ids = sorted(site for name, site in sites if name == layer)
        rows = conn.execute(  # a site gone (a replace) has nothing to refer to
            sa.select(id_column, table.c.park_id).where(id_column.in_(ids), *in_force(table))
        )
        for site_id, park in rows:
            if park is not None and str(park) not in known:
                raise Conflict(
                    f"{spec.zh} {site_id} 所属园区 {park} 不存在 "
                    f"({spec.en.lower()} {site_id}: no park {park})",
                    details={"layer": layer, "id": site_id, "field": "park_id", "value": park},
                )


def _touched(work: Change, layer: str, row_id: str, key: str) -> bool:
    return any((layer, r, k) in work.budgets for r in (row_id, ALL) for k in (key, ALL))


def _check_park_budgets(work: Change, active: list[sa.RowMapping]) -> None:
    if not any(layer == PARKS.name for layer, _, _ in work.budgets):
        return
    parks = LAYER_TABLES[PARKS.name]
    reserved = by_park(active)
    for row in work.conn.execute(sa.select(parks)).mappings():
        park_id = str(row[PARKS.id_field])
        taken = reserved.get(park_id, {})
        for b in BUDGETS:
            if not _touched(work, PARKS.name, park_id, b.key):
                continue
            total = row[b.total]
            if total is None:
                continue  # no budget recorded for this park: nothing to draw from
            used = row[b.allocated] or 0.0
            _check_budget(
                work, (PARKS.name, park_id, b.key), f"园区 {park_id} {b.zh}",
                f"park {park_id}: {b.en}", b.unit, total=total, used=used,
                reserved=taken.get(b.key, 0.0),
            )  # fmt: skip


def _check_substations(work: Change, active: list[sa.RowMapping]) -> None:
    if not any(layer == INFRASTRUCTURE.name for layer, _, _ in work.budgets):
        return
    infra = LAYER_TABLES[INFRASTRUCTURE.name]
    reserved = by_substation(active)
    rows = work.conn.execute(
        sa.select(infra.c.infra_id, infra.c[POWER.spare_column]).where(infra.c.kind == SUBSTATION)
    )
    for substation, spare in rows:
        if not _touched(work, INFRASTRUCTURE.name, str(substation), POWER.spare_column):
            continue
        _check_budget(
            work, (INFRASTRUCTURE.name, str(substation), POWER.spare_column),
            f"变电站 {substation} 剩余容量", f"substation {substation}: spare capacity", "MVA",
            total=spare or 0.0, used=0.0, reserved=reserved.get(str(substation), 0.0),
        )  # fmt: skip


def _check_budget(
    work: Change,
    budget: tuple[str, str, str],
    zh: str,
    en: str,
    unit: str,
    *,
    total: float,
    used: float,
    reserved: float,
) -> None:
    left = total - used - reserved
    if left >= -_EPS:
        return
    need = work.needs.get(budget)
    if need is None and work.overridable and work.override:
        return  # an edit made on purpose, with its reason in the audit row
    label = f"{budget[1]}.{budget[2]}"
    if need is not None:
        before = left + need
        message = (
            f"{zh}不足: 需要 {need:,.2f} {unit}, 剩余 {max(before, 0):,.2f} "
            f"({en} would be overdrawn)"
        )
        details = {"budget": label, "needed": need, "left": before}
    else:
        message = (
            f"{zh}将超支 {-left:,.2f} {unit}: 总量 {total:,.2f}, "
            f"已分配 {used:,.2f}, 有效预留 {reserved:,.2f}"
            + ("; 如确需如此, 请注明原因 (override)" if work.overridable else "")
            + f" ({en} would be overdrawn by {-left:,.2f} {unit}: total {total:,.2f}, "
            f"allocated {used:,.2f}, reserved {reserved:,.2f}"
            + ("; give the reason to keep it so as an override)" if work.overridable else ")")
        )
        details = {"budget": label, "total": total, "allocated": used, "reserved": reserved,
                   "left": left}  # fmt: skip
    raise Conflict(message, details=details)
