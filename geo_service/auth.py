"""Roles and API keys.

Callers without a key are the public (investors). Staff send an API key as
``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``). Keys are random 256-bit
tokens shown once at creation; only their SHA-256 is stored. A slow password hash
(argon2, bcrypt) buys nothing for keys of that entropy and would cost every request.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from enum import StrEnum

from layers.errors import AuthenticationRequired, InvalidInput
from layers.store.audit import Actor
from layers.store.credentials import Holder, StoredKey
from layers.store.store import Store

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


def _credential(stored: StoredKey) -> Credential:
    return Credential(
        stored.id, stored.name, Role(stored.role), stored.key_prefix, stored.created_at,
        stored.revoked_at,
    )  # fmt: skip


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
    stored = store.credentials.create(key, name=name.strip(), role=role.value, actor=actor)
    return _credential(stored), key


def list_keys(store: Store) -> list[Credential]:
    return [_credential(stored) for stored in store.credentials.listing()]


def revoke_key(store: Store, credential_id: int, *, actor: Actor) -> None:
    """Revoke a key and end every session and access token opened with it."""
    store.credentials.revoke(credential_id, actor=actor)


def caller_of(holder: Holder) -> Caller:
    """The caller a stored credential's holder is."""
    return Caller(Role(holder.role), holder.name, holder.credential_id)


def authenticate(store: Store, key: str | None) -> Caller:
    """The caller a key belongs to; no key means the public."""
    if not key:
        return PUBLIC
    holder = store.credentials.holder(key)
    if holder is None:
        raise AuthenticationRequired("密钥无效或已吊销 (unknown or revoked API key)")
    return caller_of(holder)
