"""The store's engine: one SQLAlchemy engine per store URL, SQLite or PostgreSQL + PostGIS,
with the same behaviour on both (foreign keys, case-sensitive LIKE, a write lock taken
at the start of a change, and a deadline on every statement when asked)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from layers.errors import StoreError
from layers.store.change import WRITE_OPTION
from layers.store.relate import SQLITE_RELATE, sqlite_relate


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
    # The store's queries are small or simple scans, but a geometry function (a
    # transform, a centroid) or a correlated subquery (reserved status) inflates the
    # planner's cost past the JIT thresholds: compiling took 1.25 s of a zoom-10 tile
    # that runs in 0.24 s without, and 0.3–1.2 s of reading 100,000 parcels.
    options = ["-c jit=off"]
    if statement_timeout_ms is not None:
        # The service's queries are many and small: a parallel worker costs more to start
        # than it saves (a 1,000-parcel page: 49 → 30 ms on 2 cores).
        options += [
            f"-c statement_timeout={int(statement_timeout_ms)}",
            "-c max_parallel_workers_per_gather=0",
        ]
    # A hung server: give up connecting after a few seconds (503) instead of waiting on.
    connect_args = {"connect_timeout": 5, "options": " ".join(options)}
    return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


LONG_READ_OPTION = "geo_service_long_read"
"""Execution option of a connection whose statements are bounded by
:data:`LONG_READ_SECONDS`, not the store's deadline (see
:meth:`layers.store.features.Features.read`'s ``long_read``)."""
LONG_READ_SECONDS = 600
"""The bound of a whole layer's read for the zone: a million parcels take more than the
service's 30 s to read into a frame on SQLite; a hung read still ends."""
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
    filters (:func:`~layers.store.relate.sqlite_relate`) run between steps, so a
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
            long_read = conn.get_execution_options().get(LONG_READ_OPTION, False)
            deadline.at = time.monotonic() + (LONG_READ_SECONDS if long_read else seconds)

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
