"""Roles and API keys.

Callers without a key are the public (investors). Staff send an API key as
``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``). Keys are random 256-bit
tokens shown once at creation; only their SHA-256 is stored. A slow password hash
(argon2, bcrypt) buys nothing for keys of that entropy and would cost every request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa

from layers.errors import AuthenticationRequired, InvalidInput, NotFound
from layers.store.audit import Actor
from layers.store.store import Store
from layers.store.tables import credentials, sessions

KEY_PREFIX = "gsk_"


class Role(StrEnum):
    PUBLIC = "public"
    PLANNER = "planner"
    LAND_BUREAU = "land_bureau"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self is not Role.PUBLIC


STAFF_ROLES = (Role.PLANNER, Role.LAND_BUREAU, Role.ADMIN)


@dataclass(frozen=True)
class Caller:
    role: Role
    name: str | None = None
    credential_id: int | None = None
    csrf_token: str | None = None
    """Set when the caller signed in with a browser session (the cookie): the token every
    state change of theirs must carry (see :mod:`geo_service.sessions`)."""

    @property
    def sees_internal(self) -> bool:
        """Staff see every field; the public sees the allow-list only."""
        return self.role.is_staff


PUBLIC = Caller(Role.PUBLIC)


@dataclass(frozen=True)
class Credential:
    id: int
    name: str
    role: Role
    key_prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    store: Store, *, name: str, role: Role | str, actor: Actor
) -> tuple[Credential, str]:
    """Create a credential; returns it and the key, which is not stored and shown once."""
    role = Role(role)
    if not role.is_staff:
        raise InvalidInput(
            "公众无需密钥 (the public role needs no key); "
            f"choose one of {[r.value for r in STAFF_ROLES]}"
        )
    if not name.strip():
        raise InvalidInput("密钥需要持有人名称 (a key needs the holder's name)")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    with store.change((), actor=actor) as work:
        new_id = work.conn.execute(
            credentials.insert()
            .values(
                name=name.strip(),
                role=role.value,
                key_prefix=key[:10],
                key_hash=_hash(key),
                created_at=now,
            )
            .returning(credentials.c.id)
        ).scalar_one()
        work.record(
            "credential.create",
            f"credential {new_id}",
            after={"name": name.strip(), "role": role.value, "key_prefix": key[:10]},
        )
    return Credential(new_id, name.strip(), role, key[:10], now, None), key


def list_keys(store: Store) -> list[Credential]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(credentials).order_by(credentials.c.id)).all()
    return [
        Credential(r.id, r.name, Role(r.role), r.key_prefix, r.created_at, r.revoked_at)
        for r in rows
    ]


def revoke_key(store: Store, credential_id: int, *, actor: Actor) -> None:
    """Revoke a key and end every session and access token opened with it."""
    now = dt.datetime.now(dt.UTC)
    with store.change((), actor=actor) as work:
        done = work.conn.execute(
            credentials.update()
            .where(credentials.c.id == credential_id, credentials.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        if done.rowcount == 0:
            raise NotFound(f"没有有效的密钥 {credential_id} (no active credential {credential_id})")
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


def authenticate(store: Store, key: str | None) -> Caller:
    """The caller a key belongs to; no key means the public."""
    if not key:
        return PUBLIC
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(credentials.c.id, credentials.c.name, credentials.c.role).where(
                credentials.c.key_hash == _hash(key), credentials.c.revoked_at.is_(None)
            )
        ).first()
    if row is None:
        raise AuthenticationRequired("密钥无效或已吊销 (unknown or revoked API key)")
    return Caller(Role(row.role), row.name, row.id)
