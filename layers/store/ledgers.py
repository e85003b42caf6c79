"""Quarterly ledgers: park energy quota and environmental capacity, utility spare
capacities, idle factories — edited row by row with optimistic concurrency.

Each ledger row carries ``row_version``. An edit names the version it was made from; if
the row changed since, it is refused with :class:`Conflict` carrying the current values
and version (HTTP 409), so no edit silently overwrites another. Edited rows are validated
like a file (the layer's own rules), stamped with the quarter, kept in ``ledger_history``
with the values before and after, and audited — all in one transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from layers.catalog import LAYERS
from layers.errors import Conflict, InvalidInput, LayerValidationError, NotFound, Problem
from layers.frames import GEOMETRY, conform
from layers.geojson import plain as _plain
from layers.schema import LayerSpec
from layers.store import audit
from layers.store.audit import Actor
from layers.store.tables import LAYER_TABLES, LEDGERS, ledger_history

if TYPE_CHECKING:
    from layers.store.store import Store

QUARTER = re.compile(r"^(19|20)\d{2}Q[1-4]$")


def ledger_row(store: Store, layer: str, feature_id: str) -> dict[str, Any]:
    """A ledger row as stored (reservations not drawn), with its version."""
    spec = _ledger(layer)
    table = LAYER_TABLES[layer]
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(table).where(table.c[spec.id_field] == feature_id)
        ).mappings().one_or_none()  # fmt: skip
    if row is None:
        raise NotFound(f"{spec.zh} {feature_id} 不存在 (no {spec.en.lower()} {feature_id})")
    return _public_row(row, spec.name)


def update_ledger(
    store: Store,
    layer: str,
    feature_id: str,
    values: dict[str, Any],
    *,
    version: int,
    quarter: str,
    actor: Actor,
) -> dict[str, Any]:
    """Change some fields of one ledger row made from ``version``; returns the new row."""
    spec = _ledger(layer)
    _check_edit(spec, quarter, values)
    with store.transaction() as conn:
        store._bump_version(conn, spec)  # lock order: layer versions first, then rows
        _apply(store, conn, spec, feature_id, values, version, quarter, actor)
    return ledger_row(store, layer, feature_id)


def update_ledger_file(
    store: Store,
    layer: str,
    path: Path,
    *,
    quarter: str,
    actor: Actor,
    encoding: str | None = None,
    name: str | None = None,
) -> int:
    """Apply a ledger file (CSV or XLSX: the id column, ``version`` — the row version the
    values were edited from — and the fields to set) whole, in one transaction, or refuse
    it naming every stale row and every bad value; returns the number of rows changed."""
    from layers.tables import read_table_columns

    spec = _ledger(layer)
    source = name or path.name  # an upload's own name, not our temporary file's
    columns, n = read_table_columns(path, spec, encoding=encoding)
    missing = [c for c in (spec.id_field, "version") if c not in columns]
    if missing:
        raise InvalidInput(f"{source}: 缺少列 (missing columns): {', '.join(missing)}")
    ids = [str(v) if v is not None else "" for v in columns.pop(spec.id_field)]
    versions = columns.pop("version")
    _check_edit(spec, quarter, dict.fromkeys(columns))
    problems: list[Problem] = []
    stale: list[dict[str, Any]] = []
    with store.transaction() as conn:
        store._bump_version(conn, spec)  # lock order: layer versions first, then rows
        for i in sorted(range(n), key=lambda i: ids[i]):  # rows in one order everywhere
            values = {name: column[i] for name, column in columns.items()}
            try:
                version = int(str(versions[i]))
            except ValueError:
                problems.append(Problem("版本号不是整数 (version is not a whole number)",
                                        source, i + 1, ids[i], "version"))  # fmt: skip
                continue
            try:
                _apply(store, conn, spec, ids[i], values, version, quarter, actor)
            except Conflict as exc:
                stale.append({"row": i + 1, **exc.details["current"]})
            except LayerValidationError as exc:
                problems += [dataclasses.replace(p, file=source, row=i + 1) for p in exc.problems]
            except NotFound as exc:
                problems.append(Problem(exc.message, source, i + 1, ids[i], spec.id_field))
        if problems:
            raise LayerValidationError(
                f"{source}: {len(problems)} 个问题, 台账未更新 (ledger not updated)", problems
            )
        if stale:
            raise Conflict(
                f"{source}: {len(stale)} 行已被他人修改, 台账未更新 (rows changed by "
                "someone else since the file was made; nothing updated)",
                details={"stale": stale},
            )
    return n


def _check_edit(spec: LayerSpec, quarter: str, values: dict[str, Any]) -> None:
    if not QUARTER.match(quarter):
        raise InvalidInput(f"季度格式应为 2026Q4 (quarter must look like 2026Q4): {quarter!r}")
    editable = {f.name for f in spec.stored_fields} - {spec.id_field}
    unknown = sorted(set(values) - editable)
    if unknown:
        raise InvalidInput(
            f"不可修改的字段 (fields that cannot be edited here): {', '.join(unknown)}",
            details={"editable": sorted(editable)},
        )


def _apply(
    store: Store,
    conn: Connection,
    spec: LayerSpec,
    feature_id: str,
    values: dict[str, Any],
    version: int,
    quarter: str,
    actor: Actor,
) -> None:
    layer = spec.name
    table = LAYER_TABLES[layer]
    row = (
        conn.execute(sa.select(table).where(table.c[spec.id_field] == feature_id).with_for_update())
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFound(f"{spec.zh} {feature_id} 不存在 (no {spec.en.lower()} {feature_id})")
    if row["row_version"] != version:
        raise Conflict(
            f"{spec.zh} {feature_id} 已被他人修改 (version {row['row_version']}, not "
            f"{version}): 请基于最新数据重新修改 (changed by someone else: edit the "
            "current values)",
            details={"current": _public_row(row, layer)},
        )
    # Validate the edited row exactly as a file row: the layer's own rules.
    edited = {f.name: row[f.name] for f in spec.stored_fields} | values
    frame = gpd.GeoDataFrame(
        [{**edited, GEOMETRY: row["geom"]}], geometry=GEOMETRY, crs="EPSG:4490"
    )
    canonical = conform(frame, spec, source=f"{layer}/{feature_id}")
    after = {name: _plain(canonical[name].iloc[0]) for name in values}
    before = {name: _plain(row[name]) for name in values}
    changed = {k: v for k, v in after.items() if before[k] != v}
    if not changed:
        return  # the same values again: no new version, no history, no audit row
    new_version = version + 1
    conn.execute(
        table.update()
        .where(table.c[spec.id_field] == feature_id)
        .values(**changed, row_version=new_version)
    )
    conn.execute(
        ledger_history.insert().values(
            layer=layer,
            feature_id=feature_id,
            quarter=quarter,
            version=new_version,
            before=json.dumps({k: before[k] for k in changed}, ensure_ascii=False),
            after=json.dumps(changed, ensure_ascii=False),
            changed_by=actor.name,
            changed_at=dt.datetime.now(dt.UTC),
        )
    )
    audit.record(
        conn, actor, "ledger.update", f"{layer} {feature_id} {quarter}",
        before={k: before[k] for k in changed} | {"version": version},
        after=changed | {"version": new_version},
    )  # fmt: skip


def history(store: Store, layer: str, feature_id: str) -> list[dict[str, Any]]:
    """Every edit of one ledger row, oldest first."""
    _ledger(layer)
    query = (
        sa.select(ledger_history)
        .where(ledger_history.c.layer == layer, ledger_history.c.feature_id == feature_id)
        .order_by(ledger_history.c.id)
    )
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for row in rows:
        row["before"], row["after"] = json.loads(row["before"]), json.loads(row["after"])
    return rows


def _ledger(layer: str) -> LayerSpec:
    if layer not in LEDGERS:
        raise InvalidInput(
            f"不是台账图层 (not a ledger layer): {layer}; choose {', '.join(LEDGERS)}"
        )
    return LAYERS[layer]


def _public_row(row: sa.RowMapping, layer: str) -> dict[str, Any]:
    spec = LAYERS[layer]
    return {
        "layer": layer,
        "id": row[spec.id_field],
        "version": row["row_version"],
        "values": {f.name: _plain(row[f.name]) for f in spec.stored_fields},
    }
