"""Staff credentials (API keys) and their sessions (browser sessions, OAuth2 access
tokens), as stored: only the SHA-256 of a key or token is kept.

What a role may do, and how a key or token reaches the service, is the web layer's
(:mod:`geo_service.auth`, :mod:`geo_service.sessions`); this module keeps the rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from layers.errors import NotFound
from layers.store.audit import Actor
from layers.store.change import change
from layers.store.tables import credentials, sessions


@dataclass(frozen=True)
class Holder:
    """Whom a valid key or session belongs to: the credential's id, holder and role."""

    credential_id: int
    name: str
    role: str


@dataclass(frozen=True)
class StoredKey:
    """A credential as listed: never its key."""

    id: int
    name: str
    role: str
    key_prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def digest(secret: str) -> str:
    """What is stored of a key or token: its SHA-256 (a slow hash buys nothing for
    random 256-bit secrets and would cost every request)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Credentials:
    """The API keys of one store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, key: str, *, name: str, role: str, actor: Actor) -> StoredKey:
        """Keep a new key (its hash and its first 10 characters) for ``name``."""
        now = dt.datetime.now(dt.UTC)
        with change(self.engine, (), actor=actor) as work:
            new_id = work.conn.execute(
                credentials.insert()
                .values(name=name, role=role, key_prefix=key[:10], key_hash=digest(key),
                        created_at=now)
                .returning(credentials.c.id)
            ).scalar_one()  # fmt: skip
            work.record(
                "credential.create",
                f"credential {new_id}",
                after={"name": name, "role": role, "key_prefix": key[:10]},
            )
        return StoredKey(int(new_id), name, role, key[:10], now, None)

    def listing(self) -> list[StoredKey]:
        """Every credential, oldest first."""
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(credentials).order_by(credentials.c.id)).all()
        return [
            StoredKey(r.id, r.name, r.role, r.key_prefix, r.created_at, r.revoked_at) for r in found
        ]

    def revoke(self, credential_id: int, *, actor: Actor) -> None:
        """Revoke a key and end every session and access token opened with it."""
        now = dt.datetime.now(dt.UTC)
        with change(self.engine, (), actor=actor) as work:
            done = work.conn.execute(
                credentials.update()
                .where(credentials.c.id == credential_id, credentials.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            if done.rowcount == 0:
                raise NotFound(
                    f"没有有效的密钥 {credential_id} (no active credential {credential_id})"
                )
            ended = work.conn.execute(
                sessions.update()
                .where(sessions.c.credential_id == credential_id, sessions.c.ended_at.is_(None))
                .values(ended_at=now)
            ).rowcount
            work.record(
                "credential.revoke",
                f"credential {credential_id}",
                before={"revoked": False},
                after={"revoked": True, "sessions_ended": ended},
            )

    def holder(self, key: str) -> Holder | None:
        """Whom an unrevoked ``key`` belongs to, if anyone."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(credentials.c.id, credentials.c.name, credentials.c.role).where(
                    credentials.c.key_hash == digest(key), credentials.c.revoked_at.is_(None)
                )
            ).first()
        return None if row is None else Holder(row.id, row.name, row.role)


class Sessions:
    """The open sessions and access tokens of one store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open(
        self,
        token: str,
        *,
        kind: str,
        credential_id: int | None,
        expires_at: dt.datetime,
        actor: Actor,
    ) -> None:
        """Keep a new session (or access token) opened with a credential, until
        ``expires_at``."""
        action = "session.open" if kind == "browser" else "token.issue"
        with change(self.engine, (), actor=actor) as work:
            session_id = work.conn.execute(
                sessions.insert()
                .values(
                    kind=kind,
                    token_hash=digest(token),
                    credential_id=credential_id,
                    created_at=dt.datetime.now(dt.UTC),
                    expires_at=expires_at,
                )
                .returning(sessions.c.id)
            ).scalar_one()
            work.record(
                action,
                f"session {session_id}",
                after={"credential": credential_id, "kind": kind, "expires_at": expires_at},
            )

    def holder(self, token: str, *, kind: str) -> Holder | None:
        """Whom ``token`` is a session of, if it is open, not expired and its key not
        revoked."""
        now = dt.datetime.now(dt.UTC)
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(credentials.c.id, credentials.c.name, credentials.c.role)
                .join(sessions, sessions.c.credential_id == credentials.c.id)
                .where(
                    sessions.c.token_hash == digest(token),
                    sessions.c.kind == kind,
                    sessions.c.ended_at.is_(None),
                    sessions.c.expires_at > now,
                    credentials.c.revoked_at.is_(None),
                )
            ).first()
        return None if row is None else Holder(row.id, row.name, row.role)

    def end(self, token: str, *, actor: Actor) -> bool:
        """End an open session; whether this call ended it."""
        with change(self.engine, (), actor=actor) as work:
            done = work.conn.execute(
                sessions.update()
                .where(sessions.c.token_hash == digest(token), sessions.c.ended_at.is_(None))
                .values(ended_at=dt.datetime.now(dt.UTC))
                .returning(sessions.c.id)
            ).scalar_one_or_none()
            if done is not None:  # else a concurrent logout ended it: nothing to record
                work.record("session.end", f"session {done}", before={"open": True})
        return done is not None
