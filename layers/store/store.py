"""The store: layers kept in SQLite (embedded) or PostgreSQL + PostGIS, one schema.

``Store`` reads and writes layers as canonical frames (see :mod:`layers.frames`). It
knows SQL but not HTTP; callers pass a SQLAlchemy URL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from layers.area import M2_PER_MU
from layers.catalog import LAYERS, ON_OFFER
from layers.crs import STORAGE_EPSG
from layers.errors import Conflict, InvalidInput, NotFound, StoreError
from layers.frames import empty_frame
from layers.readiness import readiness_expression
from layers.schema import FieldSpec, LayerSpec
from layers.store import audit, filters, migrate
from layers.store.audit import Actor
from layers.store.change import ALL, WRITE_OPTION, Change, change
from layers.store.filters import SQLITE_RELATE, sqlite_relate
from layers.store.reservations import DRAWN, RESERVABLE, draw_down, reserved_status
from layers.store.tables import (
    BBOX_COLUMNS,
    LAYER_TABLES,
    LEDGERS,
    RELEASED,
    in_force,
    layer_versions,
    stock_current,
    stock_releases,
)
from layers.tiling import BUFFER, EXTENT, WEB_MERCATOR, check, storage_bounds

BBox = tuple[float, float, float, float]
_WRITE_CHUNK = 2_000


def create_engine(url: str, *, statement_timeout_ms: int | None = None) -> Engine:
    """An engine for a store URL; the SQLite file and its folder are created on first use.

    ``statement_timeout_ms`` bounds each statement, on both stores (the service sets it
    so no request can hold the database or a CPU for long; the CLI does not, so its long
    imports run to their end): PostgreSQL's ``statement_timeout`` cancels it; on SQLite
    a progress handler interrupts it (see :func:`_bound_sqlite_statements`).
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # transactions begin below, not in the driver
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            # Readers keep reading the last committed state while a publish writes.
            cursor.execute("PRAGMA journal_mode=WAL")
            # LIKE is case-sensitive in PostgreSQL; filters must match alike on both stores.
            cursor.execute("PRAGMA case_sensitive_like=ON")
            cursor.close()
            dbapi_conn.create_function(SQLITE_RELATE, 3, sqlite_relate, deterministic=True)

        if statement_timeout_ms is not None:
            _bound_sqlite_statements(engine, statement_timeout_ms / 1000)

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            # A change takes the write lock at once: two changes queue instead of both
            # reading, then one failing to upgrade its lock ("database is locked").
            write = conn.get_execution_options().get(WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    if parsed.get_backend_name() != "postgresql":
        raise StoreError(
            f"不支持的数据库 {parsed.get_backend_name()!r}: use sqlite:///FILE or "
            "postgresql+psycopg://USER:PASSWORD@HOST/DB"
        )
    # A hung server: give up connecting after a few seconds (503) instead of waiting on.
    connect_args: dict[str, Any] = {"connect_timeout": 5}
    if statement_timeout_ms is not None:
        # The service's queries are many and small: a parallel worker costs more to start
        # than it saves (a 1,000-parcel page: 49 → 30 ms on 2 cores).
        connect_args["options"] = (
            f"-c statement_timeout={int(statement_timeout_ms)} -c max_parallel_workers_per_gather=0"
        )
    return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


_PROGRESS_STEPS = 1_000
"""SQLite virtual-machine steps between two looks at the clock (microseconds of work)."""


class _Deadline:
    """When the statement running on one SQLite connection must stop, or ``None``."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at: float | None = None

    def passed(self) -> int:
        """The progress handler: non-zero makes SQLite abort the statement (``interrupted``)."""
        return int(self.at is not None and time.monotonic() > self.at)


def _bound_sqlite_statements(engine: Engine, seconds: float) -> None:
    """Stop any statement on ``engine`` that runs longer than ``seconds``, as PostgreSQL's
    ``statement_timeout`` does: SQLite has no such setting, but calls a progress handler
    every few thousand steps of its virtual machine, which aborts the statement when the
    handler answers non-zero. The clock starts when a statement is sent and runs while
    its rows are read; a commit or rollback is never stopped. The shapely predicates of
    filters (:func:`~layers.store.filters.sqlite_relate`) run between steps, so a
    statement evaluating them is stopped between two calls; each call is bounded by the
    filter's size caps."""

    @sa.event.listens_for(engine, "connect")
    def _install(dbapi_conn: Any, record: Any) -> None:
        deadline = record.info["deadline"] = _Deadline()
        dbapi_conn.set_progress_handler(deadline.passed, _PROGRESS_STEPS)

    def _deadline(conn: Connection) -> _Deadline | None:
        deadline: _Deadline | None = conn.connection.info.get("deadline")
        return deadline

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Connection, *_args: Any) -> None:
        if (deadline := _deadline(conn)) is not None:
            deadline.at = time.monotonic() + seconds

    @sa.event.listens_for(engine, "commit")
    @sa.event.listens_for(engine, "rollback")
    def _stop(conn: Connection) -> None:
        if (deadline := _deadline(conn)) is not None:
            deadline.at = None

    @sa.event.listens_for(engine, "reset")
    def _idle(_dbapi_conn: Any, record: Any, _state: Any) -> None:
        # Returned to the pool: the pool's own rollback must not be stopped either.
        if (deadline := record.info.get("deadline")) is not None:
            deadline.at = None


class Store:
    """Layers in a database, read and written as canonical GeoDataFrames."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(
        cls, url: str, *, upgrade: bool = True, statement_timeout_ms: int | None = None
    ) -> Store:
        """Open a store, bringing its schema to the newest migration when ``upgrade``."""
        engine = create_engine(url, statement_timeout_ms=statement_timeout_ms)
        try:
            if upgrade:
                migrate.upgrade(engine)
            elif migrate.current_revision(engine) != migrate.head_revision():
                raise StoreError(
                    "数据库结构不是最新版本 (the store's schema is not up to date); "
                    "run `geo-service migrate`"
                )
        except OperationalError as exc:
            engine.dispose()
            raise StoreError(
                f"无法打开数据库 (cannot open the store): {sa.make_url(url)!r}"
            ) from exc
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def is_postgis(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A raw write transaction, outside the unit of work: for tests and maintenance
        only (every change the service makes goes through :meth:`change`). On SQLite it
        holds the write lock from its start."""
        with self.engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            yield conn

    # -- reading -------------------------------------------------------------------
    def count(
        self,
        spec: LayerSpec,
        *,
        bbox: BBox | None = None,
        release: int | None = None,
        where: Sequence[sa.ColumnElement[bool]] = (),
        at_most: int | None = None,
    ) -> int | None:
        """Number of features, or of those whose geometry intersects ``bbox`` and that
        meet ``where`` (parcels: of ``release``, else of the release in force).

        With ``at_most``, counting stops there and ``None`` says "more than that": the
        cost of a count is bounded on large tables.
        """
        table = LAYER_TABLES[spec.name]
        rows = self._select(
            spec, [table.c.fid], bbox=bbox, release=release, where=where, ordered=False,
            limit=None if at_most is None else at_most + 1,
        )  # fmt: skip
        query = sa.select(sa.func.count()).select_from(rows.subquery())
        with self.engine.connect() as conn:
            n = int(conn.execute(query).scalar_one())
        return None if at_most is not None and n > at_most else n

    def extent(self, spec: LayerSpec) -> BBox | None:
        """Bounding box of the whole layer in EPSG:4490, or ``None`` when it is empty."""
        table = LAYER_TABLES[spec.name]
        query = sa.select(
            sa.func.min(table.c.minx),
            sa.func.min(table.c.miny),
            sa.func.max(table.c.maxx),
            sa.func.max(table.c.maxy),
        ).where(*in_force(table))
        with self.engine.connect() as conn:
            row = conn.execute(query).one()
        return None if row[0] is None else (row[0], row[1], row[2], row[3])

    def read_layer(
        self,
        spec: LayerSpec,
        *,
        bbox: BBox | None = None,
        limit: int | None = None,
        offset: int = 0,
        fids: Sequence[int] | None = None,
        release: int | None = None,
        as_stored: bool | None = None,
        where: Sequence[sa.ColumnElement[bool]] = (),
        order_by: Sequence[sa.ColumnElement[Any]] = (),
    ) -> gpd.GeoDataFrame:
        """Features ordered by ``order_by`` then ``fid`` (the frame's index), optionally
        those meeting ``bbox`` and ``where`` (see :meth:`filter_scope`).

        ``bbox`` (minx, miny, maxx, maxy in EPSG:4490) keeps features whose geometry
        intersects the box. Parcels are those of the release in force, or of ``release``.
        Readers of what is in force see active reservations (sites reserved, budgets
        drawn down); ``as_stored`` gives the values as stored (the default for a
        ``release`` asked for by id).
        """
        as_stored = (release is not None) if as_stored is None else as_stored
        if release is None and spec.name in RELEASED:
            # One release for the whole read, even across the two queries below.
            current = self.current_release_id()
            release = current if current is not None else -1
        table = LAYER_TABLES[spec.name]
        columns = [
            table.c.fid,
            *(self._column(spec, f.name, as_stored=as_stored) for f in spec.stored_fields),
        ]
        # The geometry as plain WKB, decoded for all rows at once in _frame.
        if self.is_postgis:
            columns.append(sa.func.ST_AsBinary(table.c.geom, type_=sa.LargeBinary))
        else:
            columns.append(sa.type_coerce(table.c.geom, sa.LargeBinary))
        query = self._select(
            spec, columns, bbox=bbox, release=release, where=where, order_by=order_by,
            limit=limit, offset=offset, fids=fids,
        )  # fmt: skip
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            frame = self._frame(spec, rows)
            if spec.name in DRAWN and not as_stored:
                frame = draw_down(conn, spec, frame)
        return frame

    def feature_ids(
        self,
        spec: LayerSpec,
        *,
        bbox: BBox | None = None,
        limit: int | None = None,
        offset: int = 0,
        release: int | None = None,
        where: Sequence[sa.ColumnElement[bool]] = (),
        order_by: Sequence[sa.ColumnElement[Any]] = (),
    ) -> list[int]:
        """The ids of the features :meth:`read_layer` would return for the same arguments,
        in the same order, without reading them."""
        table = LAYER_TABLES[spec.name]
        query = self._select(
            spec, [table.c.fid], bbox=bbox, release=release, where=where, order_by=order_by,
            limit=limit, offset=offset,
        )  # fmt: skip
        with self.engine.connect() as conn:
            return [int(fid) for fid in conn.execute(query).scalars()]

    def _select(
        self,
        spec: LayerSpec,
        columns: Sequence[sa.ColumnElement[Any]],
        *,
        bbox: BBox | None = None,
        release: int | None = None,
        where: Sequence[sa.ColumnElement[bool]] = (),
        order_by: Sequence[sa.ColumnElement[Any]] = (),
        limit: int | None = None,
        offset: int = 0,
        fids: Sequence[int] | None = None,
        ordered: bool = True,
    ) -> sa.Select[Any]:
        """``columns`` of the features readers see (see :meth:`read_layer`), in order
        unless not ``ordered``."""
        table = LAYER_TABLES[spec.name]
        query = sa.select(*columns).where(*in_force(table, release), *where)
        if bbox is not None:
            query = query.where(self._bbox_clause(spec, bbox))
        if fids is not None:
            query = query.where(table.c.fid.in_(list(fids)))
        if ordered:
            query = query.order_by(*order_by, table.c.fid)
        return query.offset(offset).limit(limit)

    def filter_scope(self, spec: LayerSpec, fields: Sequence[FieldSpec]) -> filters.Scope:
        """What a reader's filter or sort order on ``spec`` may name: ``fields``, read
        as readers of what is in force see them (a reserved site reads ``reserved``)."""
        table = LAYER_TABLES[spec.name]
        return filters.Scope(
            spec=spec,
            fields=fields,
            column=lambda name: self._column(spec, name),
            geometry=table.c.geom,
            bbox=(table.c.minx, table.c.miny, table.c.maxx, table.c.maxy),
            postgis=self.is_postgis,
        )

    @classmethod
    def on_offer(cls, spec: LayerSpec) -> list[sa.ColumnElement[bool]]:
        """Conditions keeping the sites on offer (a site layer's listed status, read as
        readers see it: a reserved site is not on offer); none for other layers.

        What the public is shown of a site layer, everywhere: items, maps, tiles."""
        if spec.name not in ON_OFFER:
            return []
        return [cls._column(spec, "status") == ON_OFFER[spec.name]]

    def get_feature(
        self, spec: LayerSpec, fid: int, *, where: Sequence[sa.ColumnElement[bool]] = ()
    ) -> gpd.GeoDataFrame:
        """The feature ``fid`` if it meets ``where``; 404 otherwise."""
        frame = self.read_layer(spec, fids=[fid], where=where)
        if frame.empty:
            raise NotFound(f"{spec.zh} {fid} 不存在 ({spec.en} feature {fid} not found)")
        return frame

    @staticmethod
    def _column(spec: LayerSpec, name: str, *, as_stored: bool = False) -> sa.ColumnElement[Any]:
        """A stored column as readers see it: a site with an active reservation is
        ``reserved`` whatever its stored status (unless ``as_stored``)."""
        table = LAYER_TABLES[spec.name]
        if name == "status" and spec.name in RESERVABLE and not as_stored:
            return reserved_status(table, spec.id_field).label("status")
        return table.c[name]

    def _bbox_clause(self, spec: LayerSpec, bbox: BBox) -> sa.ColumnElement[bool]:
        """Geometry intersects ``bbox``; west above east is a box across the antimeridian."""
        table = LAYER_TABLES[spec.name]
        minx, miny, maxx, maxy = bbox
        if minx > maxx:
            return sa.or_(
                self._bbox_clause(spec, (minx, miny, 180.0, maxy)),
                self._bbox_clause(spec, (-180.0, miny, maxx, maxy)),
            )
        if self.is_postgis:
            # ST_MakeEnvelope of a zero-width box (a map click) is an empty polygon that
            # intersects nothing; a Box2D cast degenerates to a point or a line instead.
            corner = sa.func.ST_Point(minx, miny)
            box = sa.func.ST_SetSRID(
                sa.cast(
                    sa.func.ST_MakeBox2D(corner, sa.func.ST_Point(maxx, maxy)), table.c.geom.type
                ),
                STORAGE_EPSG,
            )
            return sa.func.ST_Intersects(table.c.geom, box)
        near = sa.and_(
            table.c.maxx >= minx, table.c.minx <= maxx, table.c.maxy >= miny, table.c.miny <= maxy
        )
        # No spatial SQL on SQLite: the exact test is shapely's, on the rows near the box.
        wkb = sa.literal(shapely.to_wkb(shapely.box(*bbox)), sa.LargeBinary())
        relate = getattr(sa.func, SQLITE_RELATE)
        return sa.and_(near, relate(table.c.geom, wkb, sa.literal("intersects")) == 1)

    def _frame(self, spec: LayerSpec, rows: Sequence[sa.Row[Any]]) -> gpd.GeoDataFrame:
        if not rows:
            frame = empty_frame(spec)
            frame.index = pd.Index([], dtype="int64", name="fid")
            return frame
        fid, *values, geometries = zip(*rows, strict=True)  # one tuple per column
        index = pd.Index(np.array(fid, dtype="int64"), name="fid")
        data: dict[str, Any] = {}
        for f, column in zip(spec.stored_fields, values, strict=True):
            if f.kind == "float":  # None becomes NaN
                data[f.name] = pd.Series(np.array(column, dtype="float64"), index=index)
            elif f.kind == "int":
                data[f.name] = pd.Series(pd.array(column, dtype="Int64"), index=index)
            elif f.kind == "bool":
                data[f.name] = pd.Series(pd.array(column, dtype="boolean"), index=index)
            else:
                data[f.name] = pd.Series(np.array(column, dtype=object), index=index, dtype=object)
        shapes = shapely.from_wkb(np.array([bytes(g) for g in geometries], dtype=object))
        geometry = gpd.GeoSeries(shapes, index=index, crs=STORAGE_EPSG)
        return gpd.GeoDataFrame(data, geometry=geometry, crs=STORAGE_EPSG)

    # -- writing -------------------------------------------------------------------
    def write_layer(
        self,
        spec: LayerSpec,
        frame: gpd.GeoDataFrame,
        *,
        actor: Actor,
        replace: bool = False,
        progress: Callable[[int], None] | None = None,
        source: tuple[str, bytes] | None = None,
    ) -> int:
        """Store a canonical frame as the layer's content, in one transaction.

        A layer that already holds features is only overwritten with ``replace=True``;
        otherwise :class:`InvalidInput` is raised and nothing changes. Parcels are never
        overwritten: they become a new release, published at once (the stock-list
        workflow stages, diffs and publishes instead; see :mod:`layers.stocklist`), and
        ``source`` (file name and bytes) is kept with it. ``progress`` is called with the
        number of features written after each chunk.
        """
        table = LAYER_TABLES[spec.name]
        records = _records(spec, frame)
        with self.change({spec.name}, actor=actor) as work:
            conn = work.conn
            existing = conn.execute(
                sa.select(sa.func.count()).select_from(table).where(*in_force(table))
            ).scalar_one()
            if existing and not replace:
                raise InvalidInput(
                    f"图层 {spec.name} 已有 {existing} 条要素; 如需整体替换请加 --replace "
                    f"(layer {spec.name} already holds {existing} features; pass --replace)"
                )
            after: dict[str, Any] = {"features": len(records)}
            if spec.name in RELEASED:
                name, data = source or ("(geo-service load)", b"")
                years = pd.to_numeric(frame.get("list_year"), errors="coerce")
                year = int(years.max()) if years is not None and years.notna().any() else None
                release = self._stage(
                    conn, spec, records, frame, year=year or dt.date.today().year,
                    source=(name, data), report={}, actor=actor, progress=progress,
                )  # fmt: skip
                self._switch(conn, release, actor)
                after["release"] = release
            else:
                if spec.name in LEDGERS:
                    # Versions go on from the replaced rows': an edit made from an old
                    # version must stay stale, never match a restarted count.
                    newest = conn.execute(sa.select(sa.func.max(table.c.row_version))).scalar()
                    for record in records:
                        record["row_version"] = int(newest or 0) + 1
                if spec.name in DRAWN:  # the new rows must still carry what is reserved
                    work.touch_budget(spec.name, ALL, ALL)
                conn.execute(table.delete())
                self._insert(conn, table, records, progress)
            work.record("layer.load", spec.name, before={"features": existing}, after=after)
        return len(records)

    def change(
        self, layers: Iterable[str], *, actor: Actor, override: str | None = None
    ) -> AbstractContextManager[Change]:
        """The unit of work every change goes through (see :mod:`layers.store.change`):
        the version locks of ``layers`` first, in sorted order, then the caller's rows, then
        the invariants checked again inside the locks; audited, or rolled back if it
        recorded nothing."""
        return change(self.engine, layers, actor=actor, override=override)

    def record(
        self,
        actor: Actor,
        action: str,
        target: str,
        *,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """An audit row for an event that changes nothing else (a refused import)."""
        with self.change((), actor=actor) as work:
            work.record(action, target, before=before, after=after)

    def audit_log(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The newest audit rows first."""
        with self.engine.connect() as conn:
            return audit.audit_rows(conn, limit=limit)

    @staticmethod
    def _insert(
        conn: Connection,
        table: sa.Table,
        records: list[dict[str, Any]],
        progress: Callable[[int], None] | None,
    ) -> None:
        for start in range(0, len(records), _WRITE_CHUNK):
            Store._insert_chunk(conn, table, records[start : start + _WRITE_CHUNK])
            if progress is not None:
                progress(min(start + _WRITE_CHUNK, len(records)))

    @staticmethod
    def _insert_chunk(conn: Connection, table: sa.Table, chunk: list[dict[str, Any]]) -> None:
        conn.execute(table.insert(), chunk)

    # -- releases of the stock list -------------------------------------------------
    def stage_release(
        self,
        frame: gpd.GeoDataFrame,
        *,
        year: int,
        source: tuple[str, bytes],
        report: dict[str, Any],
        actor: Actor,
        base: int | None,
        progress: Callable[[int], None] | None = None,
    ) -> Release:
        """Keep a validated stock list (canonical parcels) as a staged release: stored,
        invisible to readers until published. One release per year may be staged at a
        time; a second gets :class:`Conflict`. ``base`` is the release in force the
        caller compared the list with; if another was published since, :class:`Conflict`
        (its diff would be stale)."""
        spec = LAYERS[RELEASED[0]]
        records = _records(spec, frame)
        try:
            # Staging changes nothing readers see: no layer version moves. The pointer row
            # is held so that no publish slips in between the check and the commit.
            with self.change((), actor=actor) as work:
                conn = work.conn
                current = conn.execute(
                    sa.select(stock_current.c.release_id)
                    .where(stock_current.c.id == 1)
                    .with_for_update()
                ).scalar_one_or_none()
                if current != base:
                    raise Conflict(
                        f"导入期间现行清单已变为 {current}; 请重新导入 (the list in force "
                        f"changed to release {current} during the import: import again)"
                    )
                release = self._stage(
                    conn, spec, records, frame, year=year, source=source, report=report,
                    actor=actor, progress=progress,
                )  # fmt: skip
                work.record(
                    "stock_list.stage", f"release {release}",
                    after={"year": year, "features": len(records), "source": source[0],
                           "source_sha256": hashlib.sha256(source[1]).hexdigest()},
                )  # fmt: skip
        except sa.exc.IntegrityError as exc:
            staged = next((r for r in self.releases() if r.year == year and r.staged), None)
            if staged is None:
                raise
            raise Conflict(
                f"{year} 年已有一份待发布的清单 (release {staged.id}, {staged.staged_by}); "
                f"请先发布或放弃 (a list for {year} is already staged: publish or discard "
                "it first)",
                details={"release": staged.id},
            ) from exc
        return self.release(release)

    def _stage(
        self,
        conn: Connection,
        spec: LayerSpec,
        records: list[dict[str, Any]],
        frame: gpd.GeoDataFrame,
        *,
        year: int,
        source: tuple[str, bytes],
        report: dict[str, Any],
        actor: Actor,
        progress: Callable[[int], None] | None,
    ) -> int:
        name, data = source
        base = conn.execute(
            sa.select(stock_current.c.release_id).where(stock_current.c.id == 1)
        ).scalar_one_or_none()
        release = conn.execute(
            stock_releases.insert()
            .values(
                year=year,
                status="staged",
                base_id=base,
                source_name=name,
                source_sha256=hashlib.sha256(data).hexdigest(),
                source=data,
                features=len(records),
                data_sha256=data_hash(frame, spec),
                report=json.dumps(report, ensure_ascii=False, sort_keys=True, default=str),
                staged_by=actor.name,
                staged_at=dt.datetime.now(dt.UTC),
            )
            .returning(stock_releases.c.id)
        ).scalar_one()
        for record in records:
            record["release_id"] = release
        self._insert(conn, LAYER_TABLES[spec.name], records, progress)
        return int(release)

    def publish_release(self, release: int, *, actor: Actor) -> Release:
        """Put a staged release in force: its status and the one-row pointer switch in one
        transaction, so readers see the old list or the new, never a mix. Refused with
        :class:`Conflict` if it is not staged, or if another list was published since it
        was staged (its diff would be stale)."""
        with self.change({RELEASED[0]}, actor=actor) as work:
            conn = work.conn
            row = self._locked_release(conn, release)
            if row.status != "staged":
                raise Conflict(f"清单 {release} 的状态是 {row.status}, 不能发布 "
                               f"(release {release} is {row.status}, not staged)")  # fmt: skip
            current = conn.execute(
                sa.select(stock_current.c.release_id)
                .where(stock_current.c.id == 1)
                .with_for_update()
            ).scalar_one_or_none()
            if current != row.base_id:
                raise Conflict(
                    f"清单 {release} 暂存后, 现行清单已变为 {current}; 请重新导入以核对差异 "
                    f"(the list in force changed to release {current} after release "
                    f"{release} was staged: import it again to see the right diff)",
                    details={"release": release, "current": current},
                )
            self._switch(conn, release, actor)
            # A reservation this list would strand refuses the publish (checked by the
            # change, inside the parcels lock every reservation of a parcel also takes).
            work.record(
                "stock_list.publish", f"release {release}",
                before={"current": current}, after={"current": release},
            )  # fmt: skip
        return self.release(release)

    def _switch(self, conn: Connection, release: int, actor: Actor) -> None:
        now = dt.datetime.now(dt.UTC)
        conn.execute(
            stock_releases.update()
            .where(stock_releases.c.id == release)
            .values(status="published", decided_by=actor.name, decided_at=now)
        )
        moved = conn.execute(
            stock_current.update()
            .where(stock_current.c.id == 1)
            .values(release_id=release, switched_at=now)
        )
        if moved.rowcount == 0:
            conn.execute(stock_current.insert().values(id=1, release_id=release, switched_at=now))

    def discard_release(self, release: int, *, actor: Actor) -> Release:
        """Drop a staged release's rows; the release itself stays in the history."""
        with self.change((), actor=actor) as work:
            conn = work.conn
            row = self._locked_release(conn, release)
            if row.status != "staged":
                raise Conflict(f"清单 {release} 的状态是 {row.status}, 不能放弃 "
                               f"(release {release} is {row.status}, not staged)")  # fmt: skip
            table = LAYER_TABLES[RELEASED[0]]
            dropped = conn.execute(table.delete().where(table.c.release_id == release)).rowcount
            conn.execute(
                stock_releases.update()
                .where(stock_releases.c.id == release)
                .values(
                    status="discarded", decided_by=actor.name, decided_at=dt.datetime.now(dt.UTC)
                )
            )
            work.record(
                "stock_list.discard", f"release {release}",
                before={"status": "staged", "features": dropped}, after={"status": "discarded"},
            )  # fmt: skip
        return self.release(release)

    @staticmethod
    def _locked_release(conn: Connection, release: int) -> sa.Row[Any, Any]:
        row = conn.execute(  # not the source file: it can be large
            sa.select(stock_releases.c.status, stock_releases.c.base_id)
            .where(stock_releases.c.id == release)
            .with_for_update()
        ).one_or_none()
        if row is None:
            raise NotFound(f"清单 {release} 不存在 (no release {release})")
        return row

    def releases(self) -> list[Release]:
        """Every release, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(*_RELEASE_COLUMNS).order_by(stock_releases.c.id)
            ).mappings()
            return [Release.of(row) for row in rows]

    def release(self, release: int) -> Release:
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(*_RELEASE_COLUMNS).where(stock_releases.c.id == release))
                .mappings()
                .one_or_none()
            )
        if row is None:
            raise NotFound(f"清单 {release} 不存在 (no release {release})")
        return Release.of(row)

    def release_source(self, release: int) -> tuple[str, bytes]:
        """The file a release was imported from, byte for byte."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(stock_releases.c.source_name, stock_releases.c.source).where(
                    stock_releases.c.id == release
                )
            ).one_or_none()
        if row is None:
            raise NotFound(f"清单 {release} 不存在 (no release {release})")
        return str(row[0]), bytes(row[1])

    def current_release_id(self) -> int | None:
        with self.engine.connect() as conn:
            current = conn.execute(
                sa.select(stock_current.c.release_id).where(stock_current.c.id == 1)
            ).scalar_one_or_none()
        return None if current is None else int(current)

    def current_release(self) -> Release | None:
        with self.engine.connect() as conn:
            current = conn.execute(
                sa.select(stock_current.c.release_id).where(stock_current.c.id == 1)
            ).scalar_one_or_none()
        return None if current is None else self.release(int(current))

    def release_as_of(self, when: dt.datetime) -> Release | None:
        """The release in force at ``when``: the last one published by then."""
        published = [r for r in self.releases() if r.status == "published" and r.decided_at]
        before = [r for r in published if r.decided_at is not None and r.decided_at <= when]
        return max(before, key=lambda r: (r.decided_at, r.id)) if before else None

    def versions(self) -> dict[str, int]:
        """The version of every layer (0 for a layer never written)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(layer_versions.c.layer, layer_versions.c.version))
            known = {str(layer): int(version) for layer, version in rows}
        return {name: known.get(name, 0) for name in LAYER_TABLES}

    def vector_tile(
        self,
        spec: LayerSpec,
        z: int,
        x: int,
        y: int,
        *,
        fields: Sequence[str],
        status: str | None = None,
    ) -> bytes:
        """Tile z/x/y of a layer encoded by PostGIS (``ST_AsMVT``), with ``fields`` (stored
        fields, or the derived ``readiness`` and ``area_mu``) and the feature id; only
        features with ``status`` when given. The embedded store has no encoder."""
        if not self.is_postgis:
            raise StoreError(
                "ST_AsMVT needs PostGIS; the embedded store encodes tiles in Python (maps.tiles)"
            )
        check(z, x, y)
        table = LAYER_TABLES[spec.name]
        columns = []
        for name in fields:
            if name == "readiness":
                columns.append(readiness_expression(table).label(name))
            elif name == "area_mu":
                # Each parcel in its own 3-degree Gauss-Krüger zone, as layers.area does.
                zone_srid = sa.cast(
                    4509
                    + sa.func.floor((sa.func.ST_X(sa.func.ST_Centroid(table.c.geom)) + 1.5) / 3),
                    sa.Integer,
                )
                area = sa.func.ST_Area(sa.func.ST_Transform(table.c.geom, zone_srid))
                columns.append(
                    sa.cast(
                        sa.func.round(sa.cast(area / M2_PER_MU, sa.Numeric), 3), sa.Float
                    ).label(name)
                )
            else:
                columns.append(self._column(spec, name))
        envelope = sa.func.ST_TileEnvelope(z, x, y)
        mvt_geom = sa.func.ST_AsMVTGeom(
            sa.func.ST_Transform(table.c.geom, WEB_MERCATOR), envelope, EXTENT, BUFFER, True
        )
        rows = sa.select(mvt_geom.label("geom"), table.c.fid.label("id"), *columns).where(
            self._bbox_clause(spec, storage_bounds(z, x, y)), *in_force(table)
        )
        if status is not None:
            rows = rows.where(self._column(spec, "status") == status)
        mvt = rows.subquery("mvt")
        query = (
            sa.select(sa.func.ST_AsMVT(sa.literal_column("mvt"), spec.name, EXTENT, "geom", "id"))
            .select_from(mvt)
            .where(mvt.c.geom.isnot(None))
        )
        with self.engine.connect() as conn:
            data = conn.execute(query).scalar_one_or_none()
        return bytes(data or b"")

    def layer_version(self, spec: LayerSpec) -> int:
        with self.engine.connect() as conn:
            version = conn.execute(
                sa.select(layer_versions.c.version).where(layer_versions.c.layer == spec.name)
            ).scalar_one_or_none()
        return int(version or 0)


@dataclass(frozen=True)
class Release:
    """One version of the stock list: staged, published (in force or superseded) or
    discarded."""

    id: int
    year: int
    status: str
    base_id: int | None
    source_name: str
    source_sha256: str
    features: int
    data_sha256: str
    report: dict[str, Any]
    staged_by: str
    staged_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None

    @property
    def staged(self) -> bool:
        return self.status == "staged"

    @classmethod
    def of(cls, row: sa.RowMapping) -> Release:
        values = dict(row)
        values["report"] = json.loads(values["report"])
        for key in ("staged_at", "decided_at"):
            stamp = values[key]
            if stamp is not None and stamp.tzinfo is None:  # SQLite keeps no zone: UTC
                values[key] = stamp.replace(tzinfo=dt.UTC)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "report"}
        for key in ("staged_at", "decided_at"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


_RELEASE_COLUMNS = [c for c in stock_releases.c if c.name != "source"]


def data_hash(frame: gpd.GeoDataFrame, spec: LayerSpec) -> str:
    """SHA-256 of a canonical dump of a frame's features (sorted by id, stored fields and
    WKB): equal for equal data whichever store or file it came from."""
    order = np.argsort(frame[spec.id_field].astype(str).to_numpy(), kind="stable")
    columns = [_plain_column(frame[f.name], f.kind)[order] for f in spec.stored_fields]
    wkb = shapely.to_wkb(frame.geometry.values.to_numpy()[order], hex=True)
    digest = hashlib.sha256()
    for row in zip(*columns, wkb, strict=True):
        digest.update(json.dumps(row, ensure_ascii=False, default=str).encode())
    return digest.hexdigest()


def _plain_column(series: pd.Series, kind: str) -> npt.NDArray[np.object_]:
    """A column as plain Python values (None for missing), whatever dtype it came in."""
    values = series.astype(float) if kind == "float" else series
    out = values.astype(object).to_numpy().copy()
    out[pd.isna(values).to_numpy()] = None
    if kind == "int":
        out = np.array([None if v is None else int(v) for v in out], dtype=object)
    return out


def _records(spec: LayerSpec, frame: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    geoms = frame.geometry.values.to_numpy()
    bounds = shapely.bounds(geoms)
    columns: dict[str, list[Any]] = {}
    for f in spec.stored_fields:
        series = frame[f.name] if f.name in frame.columns else pd.Series([None] * len(frame))
        values = series.astype(object).to_numpy()
        columns[f.name] = [_plain(v, f.kind) for v in values]
    out: list[dict[str, Any]] = []
    for i in range(len(frame)):
        record = {name: col[i] for name, col in columns.items()}
        record["geom"] = geoms[i]
        record.update(zip(BBOX_COLUMNS, map(float, bounds[i]), strict=True))
        out.append(record)
    return out


def _plain(value: Any, kind: str) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    return value
