"""A scratch database for a benchmark, and who a benchmark's changes are made by."""

from __future__ import annotations

import sqlalchemy as sa

from layers.store.audit import Actor

BENCH = Actor("benchmark", "admin")


def wipe(db: str) -> None:
    """An empty database with PostGIS; refuses one whose name does not say ``bench``."""
    url = sa.make_url(db)
    if "bench" not in (url.database or ""):
        raise SystemExit(f"refusing to wipe {url.database!r}: use a database named *bench*")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
        conn.execute(sa.text("CREATE EXTENSION postgis"))
    engine.dispose()
