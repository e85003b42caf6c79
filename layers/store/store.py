"""The store: layers kept in SQLite (embedded) or PostgreSQL + PostGIS, one schema.

A :class:`Store` owns the engine and offers one repository per noun: ``features`` (every
layer's features), ``releases`` (the stock list's), ``tiles``, ``audit``, ``reservations``,
``ledgers``, ``matches`` (saved matches), ``credentials`` and ``sessions``. Every write
of theirs is a unit of work (:mod:`layers.store.change`). It knows SQL but not HTTP;
callers pass a SQLAlchemy URL.

Each repository is made, and its module imported, when first used: a command that only
lists API keys does not import geopandas or the CQL2 parser (tests/test_cli.py checks it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from layers.errors import StoreError
from layers.store import migrate
from layers.store.change import WRITE_OPTION
from layers.store.engine import create_engine

if TYPE_CHECKING:
    from layers.store.audit_log import AuditLog
    from layers.store.credentials import Credentials, Sessions
    from layers.store.features import Features
    from layers.store.ledgers import Ledgers
    from layers.store.matches import Matches
    from layers.store.releases import Releases
    from layers.store.reservations import Reservations
    from layers.store.tiles import Tiles


class Store:
    """Layers in a database, through one repository per noun."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # Repositories hold nothing but the engine, so two threads making the same one at
    # once make two equal ones, and either is kept.
    @cached_property
    def features(self) -> Features:
        from layers.store.features import Features

        return Features(self.engine)

    @cached_property
    def releases(self) -> Releases:
        from layers.store.releases import Releases

        return Releases(self.engine)

    @cached_property
    def tiles(self) -> Tiles:
        from layers.store.tiles import Tiles

        return Tiles(self.engine)

    @cached_property
    def audit(self) -> AuditLog:
        from layers.store.audit_log import AuditLog

        return AuditLog(self.engine)

    @cached_property
    def reservations(self) -> Reservations:
        from layers.store.reservations import Reservations

        return Reservations(self.engine)

    @cached_property
    def ledgers(self) -> Ledgers:
        from layers.store.ledgers import Ledgers

        return Ledgers(self.engine)

    @cached_property
    def matches(self) -> Matches:
        from layers.store.matches import Matches

        return Matches(self.engine)

    @cached_property
    def credentials(self) -> Credentials:
        from layers.store.credentials import Credentials

        return Credentials(self.engine)

    @cached_property
    def sessions(self) -> Sessions:
        from layers.store.credentials import Sessions

        return Sessions(self.engine)

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
        only (every change the service makes goes through
        :func:`layers.store.change.change`). On SQLite it
        holds the write lock from its start."""
        with self.engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            yield conn
