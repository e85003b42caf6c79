"""The store: layers kept in SQLite (embedded) or PostgreSQL + PostGIS, one schema.

A :class:`Store` owns the engine and offers one repository per noun: ``features`` (every
layer's features), ``releases`` (the stock list's), ``tiles``, ``audit``, ``reservations``,
``ledgers``, ``credentials`` and ``sessions``. Every write of theirs is a unit of work
(:mod:`layers.store.change`). It knows SQL but not HTTP; callers pass a SQLAlchemy URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from layers.errors import StoreError
from layers.store import migrate
from layers.store.audit_log import AuditLog
from layers.store.change import WRITE_OPTION
from layers.store.credentials import Credentials, Sessions
from layers.store.engine import create_engine
from layers.store.features import Features
from layers.store.ledgers import Ledgers
from layers.store.releases import Releases
from layers.store.reservations import Reservations
from layers.store.tiles import Tiles


class Store:
    """Layers in a database, through one repository per noun."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.features = Features(engine)
        self.releases = Releases(engine)
        self.tiles = Tiles(engine)
        self.audit = AuditLog(engine)
        self.reservations = Reservations(engine)
        self.ledgers = Ledgers(engine)
        self.credentials = Credentials(engine)
        self.sessions = Sessions(engine)

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
