"""The audit log of one store: read newest first, and events that change nothing else.

The rows themselves are written by every change (:mod:`layers.store.change`), through
:func:`layers.store.audit.record`, in the change's own transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from layers.store import audit
from layers.store.audit import Actor
from layers.store.change import change


class AuditLog:
    """Who changed what, in one store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
        with change(self.engine, (), actor=actor) as work:
            work.record(action, target, before=before, after=after)

    def rows(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The newest audit rows first, with before/after decoded."""
        with self.engine.connect() as conn:
            return audit.audit_rows(conn, limit=limit)
