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
from pathlib import Path
from typing import Any

import geopandas as gpd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from layers.catalog import BUDGETS, INFRASTRUCTURE, LAYERS, LEDGERS, PARKS, POWER
from layers.errors import Conflict, InvalidInput, LayerValidationError, NotFound, Problem
from layers.frames import GEOMETRY, conform
from layers.geojson import plain as _plain
from layers.schema import LayerSpec
from layers.store.audit import Actor
from layers.store.change import Change, change
from layers.store.ledger_checks import check_edit, typed_problems, whole_number
from layers.store.tables import LAYER_TABLES, ledger_history


class Ledgers:
    """The ledgers of one store: rows read as stored, edited with their versions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def row(self, layer: str, feature_id: str) -> dict[str, Any]:
        """A ledger row as stored (reservations not drawn), with its version."""
        spec = _ledger(layer)
        table = LAYER_TABLES[layer]
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(table).where(table.c[spec.id_field] == feature_id)
            ).mappings().one_or_none()  # fmt: skip
        if row is None:
            raise NotFound(f"{spec.zh} {feature_id} 不存在 (no {spec.en.lower()} {feature_id})")
        return _public_row(row, spec.name)

    def update(
        self,
        layer: str,
        feature_id: str,
        values: dict[str, Any],
        *,
        version: int,
        quarter: str,
        actor: Actor,
        override: str | None = None,
    ) -> dict[str, Any]:
        """Change some fields of one ledger row made from ``version``; returns the new row.

        ``values`` are taken as they are typed (JSON): a boolean, an object, a text, NaN or
        infinity where the field wants a number, or a number where it wants a text, is
        refused, never coerced. ``override`` is
        the reason for leaving a park or substation budget overdrawn (audited); without it
        such an edit is refused with :class:`Conflict`.
        """
        spec = _ledger(layer)
        check_edit(spec, quarter, values)
        source = f"{layer}/{feature_id}"
        problems = [
            Problem(reason, source, None, feature_id, name)
            for name, reason in typed_problems(spec, values).items()
        ]
        if problems:
            raise LayerValidationError(
                f"{source}: 值的类型不对 (values of the wrong type)", problems
            )
        with self.engine.connect() as conn:
            current = _stored_rows(conn, spec)
        if feature_id not in current:
            raise NotFound(f"{spec.zh} {feature_id} 不存在 (no {spec.en.lower()} {feature_id})")
        edit = _validated(spec, current[feature_id], values, version, quarter, source=source)
        _commit(self.engine, spec, [edit], quarter=quarter, actor=actor, override=override)
        return self.row(layer, feature_id)

    def update_file(
        self,
        layer: str,
        path: Path,
        *,
        quarter: str,
        actor: Actor,
        encoding: str | None = None,
        name: str | None = None,
        override: str | None = None,
    ) -> int:
        """Apply a ledger file (CSV or XLSX: the id column, ``version`` — the row version the
        values were edited from — and the fields to set) whole, in one transaction, or refuse
        it naming every stale row and every bad value; returns the number of rows changed.

        The whole file is checked before any lock is taken; the locks are held only to check
        the versions again and write.
        """
        from layers.sheets import read_table_columns

        spec = _ledger(layer)
        source = name or path.name  # an upload's own name, not our temporary file's
        columns, n = read_table_columns(path, spec, encoding=encoding, source=source)
        missing = [c for c in (spec.id_field, "version") if c not in columns]
        if missing:
            raise InvalidInput(f"{source}: 缺少列 (missing columns): {', '.join(missing)}")
        if n == 0:
            raise InvalidInput(f"{source}: 文件没有数据行 (the file has no rows); 台账未更新")
        ids = [str(v).strip() if v is not None else "" for v in columns.pop(spec.id_field)]
        versions = columns.pop("version")
        check_edit(spec, quarter, dict.fromkeys(columns))
        with self.engine.connect() as conn:
            current = _stored_rows(conn, spec)
        edits = _file_edits(spec, current, ids, versions, columns, quarter=quarter, source=source)
        return _commit(
            self.engine, spec, edits, quarter=quarter, actor=actor, override=override, source=source
        )

    def history(self, layer: str, feature_id: str) -> list[dict[str, Any]]:
        """Every edit of one ledger row, oldest first."""
        _ledger(layer)
        query = (
            sa.select(ledger_history)
            .where(ledger_history.c.layer == layer, ledger_history.c.feature_id == feature_id)
            .order_by(ledger_history.c.id)
        )
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        for row in rows:
            row["before"], row["after"] = json.loads(row["before"]), json.loads(row["after"])
        return rows


@dataclasses.dataclass(frozen=True)
class _Edit:
    """One checked row edit: what it changes, made from which version."""

    feature_id: str
    version: int
    before: dict[str, Any]
    after: dict[str, Any]
    row: int | None = None


def _stored_rows(
    conn: Connection, spec: LayerSpec, ids: list[str] | None = None
) -> dict[str, sa.RowMapping]:
    """Rows of a ledger by id, as stored: those of ``ids``, or all (ledgers are small:
    parks, substations, factories)."""
    table = LAYER_TABLES[spec.name]
    query = sa.select(table)
    if ids is not None:
        query = query.where(table.c[spec.id_field].in_(ids))
    return {str(r[spec.id_field]): r for r in conn.execute(query).mappings()}


def _file_edits(
    spec: LayerSpec,
    current: dict[str, sa.RowMapping],
    ids: list[str],
    versions: list[Any],
    columns: dict[str, list[Any]],
    *,
    quarter: str,
    source: str,
) -> list[_Edit]:
    """The checked edits of a ledger file's rows; every bad value and every stale row
    refused at once (:class:`LayerValidationError`, :class:`Conflict`)."""
    problems: list[Problem] = []
    stale: list[dict[str, Any]] = []
    edits: list[_Edit] = []
    first_row: dict[str, int] = {}
    for i in range(len(ids)):
        row, feature_id = i + 1, ids[i]
        if feature_id in first_row:
            problems.append(Problem(
                f"编号重复, 与第 {first_row[feature_id]} 行相同 (the same id as row "
                f"{first_row[feature_id]}: give each row once)", source, row, feature_id,
                spec.id_field,
            ))  # fmt: skip
            continue
        first_row[feature_id] = row
        if feature_id not in current:
            problems.append(Problem(f"{spec.zh}不存在 (no such {spec.en.lower()})", source, row,
                                    feature_id, spec.id_field))  # fmt: skip
            continue
        version = whole_number(versions[i])
        if version is None:
            problems.append(Problem("版本号不是整数 (version is not a whole number)",
                                    source, row, feature_id, "version"))  # fmt: skip
            continue
        values = {name: column[i] for name, column in columns.items()}
        try:
            edits.append(_validated(spec, current[feature_id], values, version, quarter,
                                    source=source, row=row))  # fmt: skip
        except Conflict as exc:
            stale.append({"row": row, **exc.details["current"]})
        except LayerValidationError as exc:
            problems += [dataclasses.replace(p, file=source, row=row) for p in exc.problems]
    if problems:
        raise LayerValidationError(
            f"{source}: {len(problems)} 个问题, 台账未更新 (ledger not updated)", problems
        )
    if stale:
        raise _stale(source, stale)
    return edits


def _validated(
    spec: LayerSpec,
    stored: sa.RowMapping,
    values: dict[str, Any],
    version: int,
    quarter: str,
    *,
    source: str,
    row: int | None = None,
) -> _Edit:
    """The edit of a ``stored`` row by ``values``, checked by the layer's own rules exactly
    as a file row; :class:`Conflict` with the current values if the row is no longer at
    ``version``."""
    feature_id = str(stored[spec.id_field])
    if stored["row_version"] != version:
        raise _changed_since(spec, stored, version)
    edited = {f.name: stored[f.name] for f in spec.stored_fields} | values
    frame = gpd.GeoDataFrame(
        [{**edited, GEOMETRY: stored["geom"]}], geometry=GEOMETRY, crs="EPSG:4490"
    )
    canonical = conform(frame, spec, source=source)
    after = {name: _plain(canonical[name].iloc[0]) for name in values}
    before = {name: _plain(stored[name]) for name in values}
    changed = {k: v for k, v in after.items() if before[k] != v}
    if changed and "ledger_q" in spec.field_names() and stored["ledger_q"] != quarter:
        changed["ledger_q"] = quarter  # the row now reads as of the edit's quarter
        before["ledger_q"] = _plain(stored["ledger_q"])
    return _Edit(feature_id, version, {k: before[k] for k in changed}, changed, row)


def _commit(
    engine: Engine,
    spec: LayerSpec,
    edits: list[_Edit],
    *,
    quarter: str,
    actor: Actor,
    override: str | None,
    source: str | None = None,
) -> int:
    """Write checked edits in one unit of work: versions checked again under the lock,
    then each row updated, kept in the history and audited. Returns the rows changed;
    edits that change nothing write nothing (no version, history or audit row)."""
    edits = sorted((e for e in edits if e.after), key=lambda e: e.feature_id)
    if not edits:
        return 0
    layer = spec.name
    table = LAYER_TABLES[layer]
    id_column = table.c[spec.id_field]
    with change(engine, {layer}, actor=actor, override=override) as work:
        work.overridable = True
        # Every writer of this ledger holds its version lock: the versions read here stay
        # true until the commit.
        rows = work.conn.execute(sa.select(id_column, table.c.row_version))
        versions = {str(feature_id): int(version) for feature_id, version in rows}
        stale = [e for e in edits if versions.get(e.feature_id) != e.version]
        if stale:  # changed by someone else between the checks and the lock
            current = _stored_rows(work.conn, spec, [e.feature_id for e in stale])
            if source is None:  # one row, edited by hand
                raise _changed_since(spec, current[stale[0].feature_id], stale[0].version)
            raise _stale(source, [
                {"row": e.row, **_public_row(current[e.feature_id], layer)} for e in stale
            ])  # fmt: skip
        now = dt.datetime.now(dt.UTC)
        for e in edits:
            new_version = e.version + 1
            work.conn.execute(
                table.update()
                .where(id_column == e.feature_id)
                .values(**e.after, row_version=new_version)
            )
            work.conn.execute(
                ledger_history.insert().values(
                    layer=layer,
                    feature_id=e.feature_id,
                    quarter=quarter,
                    version=new_version,
                    before=json.dumps(e.before, ensure_ascii=False),
                    after=json.dumps(e.after, ensure_ascii=False),
                    changed_by=actor.name,
                    changed_at=now,
                )
            )
            work.record(
                "ledger.update", f"{layer} {e.feature_id} {quarter}",
                before=e.before | {"version": e.version},
                after=e.after | {"version": new_version},
            )  # fmt: skip
            _touch(work, layer, e)
    return len(edits)


def _touch(work: Change, layer: str, edit: _Edit) -> None:
    """What the change must check before it commits, for the fields an edit set."""
    for name in edit.after:
        if layer == PARKS.name:
            for budget in BUDGETS:
                if name in (budget.total, budget.allocated):
                    work.touch_budget(layer, edit.feature_id, budget.key)
        elif layer == INFRASTRUCTURE.name and name in (POWER.spare_column, "kind"):
            work.touch_budget(layer, edit.feature_id, POWER.spare_column)
        elif name == "park_id":
            work.touch_site(layer, edit.feature_id)


def _changed_since(spec: LayerSpec, stored: sa.RowMapping, version: int) -> Conflict:
    feature_id = stored[spec.id_field]
    return Conflict(
        f"{spec.zh} {feature_id} 已被他人修改 (version {stored['row_version']}, not "
        f"{version}): 请基于最新数据重新修改 (changed by someone else: edit the current values)",
        details={"current": _public_row(stored, spec.name)},
    )


def _stale(source: str, stale: list[dict[str, Any]]) -> Conflict:
    shown = stale[:MAX_REPORTED]
    return Conflict(
        f"{source}: {len(stale)} 行已被他人修改, 台账未更新 (rows changed by someone else "
        "since the file was made; nothing updated)",
        details={"stale": shown, "stale_count": len(stale)},
    )


MAX_REPORTED = 200
"""Stale rows listed in a refusal (all are counted)."""


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
