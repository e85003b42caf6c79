"""The query planner's statistics, refreshed after a change moved many rows of a table.

Neither store refreshes them on its own in time: PostgreSQL's autovacuum analyzes a
table a minute or more after a publish, SQLite never. Until then the planner reads the
old list's statistics — a new release's id is one it has never seen, so it looks rare —
and a bounding-box page walks the release's index instead of the spatial one (measured:
``/items`` 3–4× slower after a publish until ``ANALYZE parcels``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)


def refresh(conn: Connection, tables: Iterable[str]) -> None:
    """``ANALYZE`` each of ``tables`` on ``conn``, in a transaction of its own (on SQLite it
    takes the write lock; readers go on reading).

    Called after the change that made them stale has committed: a failure here (the
    statement timeout, a lost connection) cannot undo it, so it is logged, not raised —
    the planner then waits for autovacuum (PostGIS) or the next change (SQLite).
    """
    names = sorted(set(tables))
    if not names:
        return
    quote = conn.dialect.identifier_preparer.quote
    try:
        with conn.begin():
            for name in names:
                conn.exec_driver_sql(f"ANALYZE {quote(name)}")
    except sa.exc.DBAPIError as exc:
        log.warning("ANALYZE %s failed; the planner's statistics stay stale: %s", names, exc)
