"""Reservations: a site held for a signed project, and the budgets it draws down.

While a reservation is active its site reads as ``reserved`` and its needs are drawn from
the park's energy quota and emission capacity and from the substation's spare capacity
— in what every reader gets from the store (matching, maps, the API), not in the stored
ledger values, so a release gives everything back. A reservation is a change like any
other (:mod:`layers.store.change`): it holds the locks of its site's layer and of the
parks and utilities, and its budgets are checked inside them, so of two reservations that
together would overdraw one, the second gets a :class:`Conflict` naming it — and a ledger
edit or a new list that would overdraw a budget or strand a reservation is refused the
same way.

A reservation may name the last day it holds (``expires_on``, in China's calendar). The
day after, :meth:`Reservations.expire` releases it like a person would, audited as
:data:`EXPIRY` with the reason; it runs before reservations are made or listed, and
before the service reads the zone (:mod:`geo_service.zones`), so an expired reservation
holds its site and budgets no longer.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from layers.catalog import BUDGETS, DRAWN, INFRASTRUCTURE, LAYERS, ON_OFFER, PARKS, POWER
from layers.errors import Conflict, InvalidInput, NotFound
from layers.schema import LayerSpec
from layers.store.audit import Actor
from layers.store.change import Change, change
from layers.store.reserved import active_reservations, by_park, by_substation, reserved_status
from layers.store.tables import LAYER_TABLES, in_force, reservations, saved_matches
from layers.vocabulary import POLLUTANTS

CHINA = dt.timezone(dt.timedelta(hours=8), "CST")
"""Whose calendar a reservation's expiry day is in (Asia/Shanghai keeps no summer time)."""
EXPIRY = Actor("到期 (expiry)", "system")
"""Who releases a reservation when its last day has passed."""


def today() -> dt.date:
    """Today in China."""
    return dt.datetime.now(CHINA).date()


@dataclass(frozen=True)
class Needs:
    """What a project takes from the zone's budgets."""

    energy_tce: float = 0.0
    emissions_t: Mapping[str, float] = field(default_factory=dict)
    power_mva: float = 0.0
    substation_id: str | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.emissions_t) - set(POLLUTANTS))
        if unknown:
            raise InvalidInput(f"未知污染物 (unknown pollutants): {', '.join(unknown)}")
        values = [self.energy_tce, self.power_mva, *self.emissions_t.values()]
        if any(not (v >= 0 and v < float("inf")) for v in values):
            raise InvalidInput("需求须为非负有限数 (needs must be finite and ≥ 0)")
        if self.power_mva > 0 and not self.substation_id:
            raise InvalidInput(
                "有用电需求时须指定变电站 (name the substation that will serve the power need)"
            )

    def draws(self) -> dict[str, float]:
        """What the project draws, by :class:`~layers.catalog.Budget` key: energy, then
        the pollutants it names."""
        own = {b.key: getattr(self, b.need_field) for b in BUDGETS if b.need_field is not None}
        return {**own, **self.emissions_t}


@dataclass(frozen=True)
class Reservation:
    id: int
    layer: str
    site_id: str
    park_id: str
    project: str
    energy_tce: float
    emissions: dict[str, float]
    power_mva: float
    substation_id: str | None
    status: str
    reserved_by: str
    reserved_at: dt.datetime
    released_by: str | None
    released_at: dt.datetime | None
    expires_on: dt.date | None
    match_id: str | None
    release_reason: str | None

    @classmethod
    def of(cls, row: sa.RowMapping) -> Reservation:
        values = dict(row)
        values["emissions"] = json.loads(values["emissions"])
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("reserved_at", "released_at", "expires_on"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


@dataclass(frozen=True)
class Draw:
    """What a reservation would take from one budget: what is left before and after
    (``None`` where the budget is not recorded, so nothing limits it)."""

    zh: str
    en: str
    unit: str
    need: float
    before: float | None

    @property
    def after(self) -> float | None:
        return None if self.before is None else self.before - self.need


class Reservations:
    """The reservations of one store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def reserve(
        self,
        *,
        layer: str,
        site_id: str,
        project: str,
        needs: Needs,
        actor: Actor,
        expires_on: dt.date | None = None,
        match_id: str | None = None,
    ) -> Reservation:
        """Hold a listed site for a signed project and draw its needs from the budgets,
        until released or until the day ``expires_on`` has passed; ``match_id``: the saved
        match it was chosen from.

        Raises :class:`Conflict` if the site is not on offer or already reserved, or if a
        budget (the park's energy quota or a pollutant's capacity, the substation's spare
        capacity) would be overdrawn — naming the budget, what is needed and what is left.
        """
        _check_request(layer, project, expires_on)
        self.expire()
        spec = LAYERS[layer]
        try:
            with change(self.engine, {layer, *DRAWN}, actor=actor, stored=False) as work:
                park_id = _check_site(work.conn, spec, site_id)
                _check_exists(work.conn, PARKS, park_id)
                if match_id is not None:
                    _check_match(work.conn, match_id)
                _draw(work, park_id, needs)
                new_id = _insert(work, {
                    "layer": layer, "site_id": site_id, "park_id": park_id,
                    "project": project.strip(), "energy_tce": needs.energy_tce,
                    "emissions": json.dumps(dict(needs.emissions_t), sort_keys=True),
                    "power_mva": needs.power_mva, "substation_id": needs.substation_id,
                    "expires_on": expires_on, "match_id": match_id,
                })  # fmt: skip
        except sa.exc.IntegrityError as exc:  # the same site reserved at the same moment
            raise Conflict(
                f"{spec.zh} {site_id} 已被预留 ({spec.en} {site_id} is already reserved)"
            ) from exc
        return self.get(new_id)

    def release(
        self, reservation_id: int, *, actor: Actor, reason: str | None = None
    ) -> Reservation:
        """End an active reservation: the site is on offer again and the budgets come back;
        ``reason`` is kept with it and in the audit row."""
        reason = reason.strip() if reason and reason.strip() else None
        layer = self.get(reservation_id).layer  # never changes: read before taking locks
        with change(self.engine, {layer, *DRAWN}, actor=actor, stored=False) as work:
            row = (
                work.conn.execute(
                    sa.select(reservations)
                    .where(reservations.c.id == reservation_id)
                    .with_for_update()
                )
                .mappings()
                .one_or_none()
            )
            if row is None:
                raise NotFound(f"预留 {reservation_id} 不存在 (no reservation {reservation_id})")
            if row["status"] != "active":
                raise Conflict(f"预留 {reservation_id} 已释放 (reservation already released)")
            work.conn.execute(
                reservations.update()
                .where(reservations.c.id == reservation_id)
                .values(
                    status="released",
                    released_by=actor.name,
                    released_at=dt.datetime.now(dt.UTC),
                    release_reason=reason,
                )
            )
            work.record(
                "reservation.release", f"{row['layer']} {row['site_id']}",
                before={"status": "reserved", "reservation": reservation_id},
                after={"status": ON_OFFER[row["layer"]], "reason": reason},
            )  # fmt: skip
        return self.get(reservation_id)

    def expire(self, *, on: dt.date | None = None) -> list[Reservation]:
        """Release every active reservation whose last day is before ``on`` (today in
        China), as :data:`EXPIRY`, saying so; returns them. Reads one small query when
        none has expired."""
        day = on or today()
        query = sa.select(reservations.c.id, reservations.c.expires_on).where(
            reservations.c.status == "active", reservations.c.expires_on < day
        )
        with self.engine.connect() as conn:
            due = list(conn.execute(query))
        out = []
        for reservation_id, last_day in due:
            reason = f"{last_day.isoformat()} 到期 (expired after {last_day.isoformat()})"
            try:
                out.append(self.release(reservation_id, actor=EXPIRY, reason=reason))
            except Conflict:  # released meanwhile, by a person or another expiry run
                continue
        return out

    def preview(self, *, layer: str, site_id: str, needs: Needs) -> list[Draw]:
        """What reserving ``site_id`` for ``needs`` would draw, budget by budget, as the
        store holds them now (active reservations drawn): the park's energy quota and
        pollutant capacities, then the substation's spare capacity. Nothing is written."""
        if layer not in ON_OFFER:
            raise InvalidInput(f"只能预留地块或厂房 (only parcels or factories): {layer}")
        with self.engine.connect() as conn:
            park_id = _check_site(conn, LAYERS[layer], site_id)
            active = active_reservations(conn)
            parks = LAYER_TABLES[PARKS.name]
            park = conn.execute(
                sa.select(parks).where(parks.c.park_id == park_id)
            ).mappings().one_or_none()  # fmt: skip
            if park is None:
                raise NotFound(f"园区 {park_id} 不存在 (no park {park_id})")
            taken = by_park(active).get(park_id, {})
            out = []
            for budget in BUDGETS:
                need = needs.draws().get(budget.key, 0.0)
                if need <= 0:
                    continue
                total = park[budget.total]
                before = None if total is None else (
                    total - (park[budget.allocated] or 0.0) - taken.get(budget.key, 0.0)
                )  # fmt: skip
                out.append(Draw(f"园区 {park_id} {budget.zh}", f"park {park_id}: {budget.en}",
                                budget.unit, need, before))  # fmt: skip
            if needs.power_mva > 0 and needs.substation_id:
                out.append(_substation_draw(conn, needs, by_substation(active)))
        return out

    def get(self, reservation_id: int) -> Reservation:
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(reservations).where(reservations.c.id == reservation_id))
                .mappings()
                .one_or_none()
            )
        if row is None:
            raise NotFound(f"预留 {reservation_id} 不存在 (no reservation {reservation_id})")
        return Reservation.of(row)

    def listing(self, *, active_only: bool = False) -> list[Reservation]:
        """Every reservation, oldest first (expired ones released first)."""
        self.expire()
        query = sa.select(reservations).order_by(reservations.c.id)
        if active_only:
            query = query.where(reservations.c.status == "active")
        with self.engine.connect() as conn:
            return [Reservation.of(row) for row in conn.execute(query).mappings()]


def _check_site(conn: Connection, spec: LayerSpec, site_id: str) -> str:
    table = LAYER_TABLES[spec.name]
    status = reserved_status(table, spec.id_field)
    query = sa.select(table.c.park_id, status.label("status")).where(
        table.c[spec.id_field] == site_id, *in_force(table)
    )
    row = conn.execute(query).one_or_none()
    if row is None:
        raise NotFound(f"{spec.zh} {site_id} 不存在 (no {spec.en.lower()} {site_id})")
    if row.status == "reserved":
        holder = conn.execute(
            sa.select(reservations.c.project).where(
                reservations.c.status == "active",
                reservations.c.layer == spec.name,
                reservations.c.site_id == site_id,
            )
        ).scalar_one_or_none()
        raise Conflict(
            f"{spec.zh} {site_id} 已为项目 {holder} 预留 (already reserved for {holder})"
        )
    if row.status != ON_OFFER[spec.name]:
        raise Conflict(f"{spec.zh} {site_id} 状态为 {row.status}, 不可预留 (not on offer)")
    return str(row.park_id)


def _substation_draw(conn: Connection, needs: Needs, reserved: dict[str, float]) -> Draw:
    infra = LAYER_TABLES[INFRASTRUCTURE.name]
    substation = str(needs.substation_id)
    spare = conn.execute(
        sa.select(infra.c[POWER.spare_column]).where(
            infra.c.infra_id == substation, infra.c.kind == POWER.node_kind
        )
    ).one_or_none()
    if spare is None:
        raise NotFound(f"变电站 {substation} 不存在 (no substation {substation})")
    before = (spare[0] or 0.0) - reserved.get(substation, 0.0)
    return Draw(f"变电站 {substation} 剩余容量", f"substation {substation}: spare capacity",
                "MVA", needs.power_mva, before)  # fmt: skip


def _check_request(layer: str, project: str, expires_on: dt.date | None) -> None:
    if expires_on is not None and expires_on < today():
        raise InvalidInput(
            f"到期日 {expires_on} 已过, 请选今天或以后 (the expiry day {expires_on} has "
            "passed: choose today or later)"
        )
    if layer not in ON_OFFER:
        raise InvalidInput(
            f"只能预留地块或厂房 (only parcels or factories can be reserved): {layer}"
        )
    if not project.strip():
        raise InvalidInput("须注明项目名称 (name the project)")


def _draw(work: Change, park_id: str, needs: Needs) -> None:
    """The budgets a reservation draws from, checked before the change commits."""
    for key, amount in needs.draws().items():
        if amount > 0:
            work.touch_budget(PARKS.name, park_id, key, need=amount)
    if needs.power_mva > 0:
        substation = str(needs.substation_id)
        _check_exists(work.conn, INFRASTRUCTURE, substation)
        work.touch_budget(INFRASTRUCTURE.name, substation, POWER.spare_column,
                          need=needs.power_mva)  # fmt: skip


def _insert(work: Change, row: dict[str, Any]) -> int:
    """Store an active reservation made by the change's actor, and audit it."""
    new_id = work.conn.execute(
        reservations.insert()
        .values(**row, status="active", reserved_by=work.actor.name,
                reserved_at=dt.datetime.now(dt.UTC))
        .returning(reservations.c.id)
    ).scalar_one()  # fmt: skip
    expires_on = row["expires_on"]
    work.record(
        "reservation.create", f"{row['layer']} {row['site_id']}",
        before={"status": ON_OFFER[row["layer"]]},
        after={"status": "reserved", "reservation": new_id, "project": row["project"],
               "energy_tce": row["energy_tce"], "emissions_t": json.loads(row["emissions"]),
               "power_mva": row["power_mva"], "substation": row["substation_id"],
               "expires_on": expires_on and expires_on.isoformat(), "match": row["match_id"]},
    )  # fmt: skip
    return int(new_id)


def _check_match(conn: Connection, match_id: str) -> None:
    query = sa.select(saved_matches.c.id).where(saved_matches.c.id == match_id)
    if conn.execute(query).first() is None:
        raise NotFound(f"匹配 {match_id} 不存在 (no saved match {match_id})")


def _check_exists(conn: Connection, spec: LayerSpec, row_id: str) -> None:
    """The park, or the substation, a reservation draws from exists."""
    table = LAYER_TABLES[spec.name]
    if spec is PARKS:
        query = sa.select(table.c.park_id).where(table.c.park_id == row_id)
        missing = f"园区 {row_id} 不存在 (no park {row_id})"
    else:
        query = sa.select(table.c.infra_id).where(
            table.c.infra_id == row_id, table.c.kind == POWER.node_kind
        )
        missing = f"变电站 {row_id} 不存在 (no substation {row_id})"
    if conn.execute(query).first() is None:
        raise NotFound(missing)
