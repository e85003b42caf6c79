"""What active reservations do to readers: a reserved site reads ``reserved``, and the
budgets of parks and substations are read drawn down by what reservations take.

Used by every reader (:mod:`layers.store.features`) and by the unit of work
(:mod:`layers.store.change`), which checks budgets against what is reserved.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from layers.catalog import BUDGETS, INFRASTRUCTURE, PARKS, POWER
from layers.schema import LayerSpec
from layers.store.tables import reservations

if TYPE_CHECKING:
    import geopandas as gpd


def reserved_status(table: sa.Table, id_field: str) -> sa.ColumnElement[Any]:
    """The status column as readers see it: ``reserved`` while a reservation is active."""
    active = sa.exists().where(
        reservations.c.status == "active",
        reservations.c.layer == table.name,
        reservations.c.site_id == table.c[id_field],
    )
    return sa.case((active, "reserved"), else_=table.c.status)


def draw_down(conn: Connection, spec: LayerSpec, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Parks with active reservations' energy and emissions added to what is allocated
    and used; substations with their reserved power taken from the spare capacity."""
    active = active_reservations(conn)
    if not active or frame.empty:
        return frame
    out = frame.copy()
    if spec.name == PARKS.name:
        for park_id, needs in by_park(active).items():
            rows = out[PARKS.id_field] == park_id
            for budget in BUDGETS:
                if budget.key in needs:
                    column = budget.allocated
                    out.loc[rows, column] = out.loc[rows, column].fillna(0) + needs[budget.key]
    else:
        for substation, power in by_substation(active).items():
            rows = out[INFRASTRUCTURE.id_field] == substation
            out.loc[rows, POWER.spare_column] = out.loc[rows, POWER.spare_column] - power
    return out


def active_reservations(conn: Connection) -> list[sa.RowMapping]:
    """Every active reservation, as stored."""
    query = sa.select(reservations).where(reservations.c.status == "active")
    return list(conn.execute(query).mappings())


def by_park(active: list[sa.RowMapping]) -> dict[str, dict[str, float]]:
    """What reservations draw, by park and :class:`~layers.catalog.Budget` key: energy
    (tce) always, and each pollutant (t) a reservation names."""
    out: dict[str, dict[str, float]] = {}
    for row in active:
        park = out.setdefault(row["park_id"], {})
        for budget in BUDGETS:
            if budget.need_field is not None:
                park[budget.key] = park.get(budget.key, 0.0) + row[budget.need_field]
        for key, amount in json.loads(row["emissions"]).items():
            park[key] = park.get(key, 0.0) + amount
    return out


def by_substation(active: list[sa.RowMapping]) -> dict[str, float]:
    """Power (MVA) that reservations draw, by substation."""
    out: dict[str, float] = {}
    for row in active:
        if row["substation_id"] and row["power_mva"]:
            out[row["substation_id"]] = out.get(row["substation_id"], 0.0) + row["power_mva"]
    return out
