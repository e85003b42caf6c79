"""Bring a store to the newest schema with the project's Alembic migrations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def objects_for(dialect: str) -> Callable[..., bool]:
    """An Alembic ``include_object`` filter that skips objects made for other dialects.

    Alembic's comparison does not honour ``ddl_if``; without this, the embedded store
    would seem to miss the PostGIS-only spatial index and validity check.
    """

    def include(
        obj: object, _name: object, _type: object, _reflected: bool, _compare_to: object
    ) -> bool:
        condition = getattr(obj, "_ddl_if", None)
        return condition is None or condition.dialect in (None, dialect)

    return include


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration not yet applied (a no-op on an up-to-date store)."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
