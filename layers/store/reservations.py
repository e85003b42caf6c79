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
from layers.store.change import change
from layers.store.reserved import reserved_status
from layers.store.tables import LAYER_TABLES, in_force, reservations
from layers.vocabulary import POLLUTANTS


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

    @classmethod
    def of(cls, row: sa.RowMapping) -> Reservation:
        values = dict(row)
        values["emissions"] = json.loads(values["emissions"])
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("reserved_at", "released_at"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


class Reservations:
    """The reservations of one store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def reserve(
        self, *, layer: str, site_id: str, project: str, needs: Needs, actor: Actor
    ) -> Reservation:
        """Hold a listed site for a signed project and draw its needs from the budgets.

        Raises :class:`Conflict` if the site is not on offer or already reserved, or if a
        budget (the park's energy quota or a pollutant's capacity, the substation's spare
        capacity) would be overdrawn — naming the budget, what is needed and what is left.
        """
        if layer not in ON_OFFER:
            raise InvalidInput(
                f"只能预留地块或厂房 (only parcels or factories can be reserved): {layer}"
            )
        if not project.strip():
            raise InvalidInput("须注明项目名称 (name the project)")
        spec = LAYERS[layer]
        try:
            with change(self.engine, {layer, *DRAWN}, actor=actor) as work:
                conn = work.conn
                park_id = _check_site(conn, spec, site_id)
                _check_exists(conn, PARKS, park_id)
                for key, amount in needs.draws().items():
                    if amount > 0:
                        work.touch_budget(PARKS.name, park_id, key, need=amount)
                if needs.power_mva > 0:
                    substation = str(needs.substation_id)
                    _check_exists(conn, INFRASTRUCTURE, substation)
                    work.touch_budget(
                        INFRASTRUCTURE.name, substation, POWER.spare_column, need=needs.power_mva
                    )
                new_id = conn.execute(
                    reservations.insert()
                    .values(
                        layer=layer,
                        site_id=site_id,
                        park_id=park_id,
                        project=project.strip(),
                        energy_tce=needs.energy_tce,
                        emissions=json.dumps(dict(needs.emissions_t), sort_keys=True),
                        power_mva=needs.power_mva,
                        substation_id=needs.substation_id,
                        status="active",
                        reserved_by=actor.name,
                        reserved_at=dt.datetime.now(dt.UTC),
                    )
                    .returning(reservations.c.id)
                ).scalar_one()
                work.record(
                    "reservation.create", f"{layer} {site_id}",
                    before={"status": ON_OFFER[layer]},
                    after={"status": "reserved", "reservation": new_id, "project": project,
                           "energy_tce": needs.energy_tce, "emissions_t": dict(needs.emissions_t),
                           "power_mva": needs.power_mva, "substation": needs.substation_id},
                )  # fmt: skip
        except sa.exc.IntegrityError as exc:  # the same site reserved at the same moment
            raise Conflict(
                f"{spec.zh} {site_id} 已被预留 ({spec.en} {site_id} is already reserved)"
            ) from exc
        return self.get(int(new_id))

    def release(self, reservation_id: int, *, actor: Actor) -> Reservation:
        """End an active reservation: the site is on offer again and the budgets come back."""
        layer = self.get(reservation_id).layer  # never changes: read before taking locks
        with change(self.engine, {layer, *DRAWN}, actor=actor) as work:
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
                    status="released", released_by=actor.name, released_at=dt.datetime.now(dt.UTC)
                )
            )
            work.record(
                "reservation.release", f"{row['layer']} {row['site_id']}",
                before={"status": "reserved", "reservation": reservation_id},
                after={"status": ON_OFFER[row["layer"]]},
            )  # fmt: skip
        return self.get(reservation_id)

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
