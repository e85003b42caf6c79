"""Who changed what: the actor every change needs, and the audit row it leaves.

Every mutation of a store takes an :class:`Actor` and writes exactly one ``audit_log`` row
in its own transaction, so the change and its record commit or fail together. The row
names the real person (the credential's holder on HTTP, the operating-system account on
the command line), never the database role; a change without one is refused here and,
should code forget, by the table's ``CHECK``. The table is append-only (triggers refuse
``UPDATE``/``DELETE``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from layers.errors import InvalidInput
from layers.store.tables import audit_log


@dataclass(frozen=True)
class Actor:
    """The person behind a change, their role, and the request it came in (HTTP)."""

    name: str
    role: str
    request_id: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip() or not self.role.strip():
            raise InvalidInput("修改必须注明操作人 (a change needs the person making it)")


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    target: str,
    *,
    before: Any = None,
    after: Any = None,
) -> None:
    """Write the audit row of one change on the change's own connection (transaction)."""
    if not isinstance(actor, Actor):  # an untyped caller passing None or a bare name
        raise InvalidInput("修改必须注明操作人 (a change needs the person making it)")
    conn.execute(
        audit_log.insert().values(
            at=dt.datetime.now(dt.UTC),
            actor=actor.name,
            role=actor.role,
            action=action,
            target=target,
            before=_json(before),
            after=_json(after),
            request_id=actor.request_id,
        )
    )


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def audit_rows(conn: Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    """The newest audit rows first, with before/after decoded."""
    rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit))
    out = []
    for row in rows.mappings():
        item = dict(row)
        for key in ("before", "after"):
            item[key] = json.loads(item[key]) if item[key] is not None else None
        out.append(item)
    return out
