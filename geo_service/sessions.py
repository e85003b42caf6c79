"""Staff sessions: a browser's after ``/login``, and OAuth2 access tokens (``/oauth/token``).

Both are random 256-bit tokens handed to the client once; only their SHA-256 is stored
(table ``sessions``), with the credential they were opened with, when they expire and
when they ended. A session is good only while its key is: revoking a key ends its
sessions in the same unit of work (:func:`geo_service.auth.revoke_key`), and every lookup
checks the key as well, so a session of a revoked key is refused at once even if it was
opened while the revocation was committing.

The CSRF token of a browser session is an HMAC of the session's token: the server computes
it again from the cookie on every state change, so nothing more is stored, it cannot be
derived from what the database holds, and a page reads it from ``/session`` while the
cookie itself stays HttpOnly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from geo_service.auth import Caller, authenticate, caller_of
from layers.errors import AuthenticationRequired, Forbidden
from layers.store.audit import Actor
from layers.store.store import Store

Kind = Literal["browser", "oauth"]
BROWSER: Kind = "browser"
OAUTH: Kind = "oauth"
# A prefix says what a token is, so that a log line or a leaked string can be recognised
# (and an access token sent as a bearer is looked up as one, not as a key).
TOKEN_PREFIX: dict[Kind, str] = {BROWSER: "gss_", OAUTH: "gst_"}
_CSRF_LABEL = b"geo-service csrf v1"


class CsrfRefused(Forbidden):
    """A cookie-authenticated state change without the session's CSRF token, or sent
    from another site."""

    code = "csrf_refused"


@dataclass(frozen=True)
class Opened:
    """A session or access token just opened: the token (shown once) and its expiry."""

    token: str
    expires_at: dt.datetime
    caller: Caller


def csrf_token(session_token: str) -> str:
    """The CSRF token a browser session must send with every state change."""
    return hmac.new(session_token.encode(), _CSRF_LABEL, hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(
        sent.encode(), csrf_token(session_token).encode()
    )


def open_session(
    store: Store, key: str, *, kind: Kind, lifetime_s: int, request_id: str | None = None
) -> Opened:
    """Open a session (or issue an access token) for the holder of ``key``; refuses an
    unknown or revoked key with :class:`AuthenticationRequired`."""
    caller = authenticate(store, key)
    token = TOKEN_PREFIX[kind] + secrets.token_urlsafe(32)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lifetime_s)
    actor = Actor(caller.name or caller.role.value, caller.role.value, request_id)
    store.sessions.open(
        token, kind=kind, credential_id=caller.credential_id, expires_at=expires, actor=actor
    )
    return Opened(token, expires, caller)


def lookup(store: Store, token: str, *, kind: Kind) -> Caller | None:
    """The caller whose session (or access token) ``token`` is, if it is open, not expired
    and its key not revoked; else None."""
    if not token.startswith(TOKEN_PREFIX[kind]) or len(token) > 200:
        return None  # not one of ours: no query
    holder = store.sessions.holder(token, kind=kind)
    return None if holder is None else caller_of(holder)


def end_session(store: Store, token: str, *, request_id: str | None = None) -> bool:
    """End a browser session (logout); whether one was open."""
    caller = lookup(store, token, kind=BROWSER)
    if caller is None:
        return False
    actor = Actor(caller.name or caller.role.value, caller.role.value, request_id)
    return store.sessions.end(token, actor=actor)


def bearer(store: Store, authorization: str) -> Caller:
    """The caller an ``Authorization`` header names: ``Bearer`` with an API key or an
    access token from ``/oauth/token``. Any other scheme, or a bearer we do not know, is
    refused (401) rather than answered as the public: a client that sent credentials
    must learn that they did not work (QGIS sending Basic saw 78 fields, not 89)."""
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        shown = scheme[:20] or "(empty)"
        raise AuthenticationRequired(
            f"不支持的认证方式 {shown!r}: 请用 Authorization: Bearer <密钥或访问令牌> "
            f"(unsupported Authorization scheme {shown!r}: send 'Authorization: Bearer "
            "<API key or access token>'; a token comes from POST /oauth/token)"
        )
    if value.startswith(TOKEN_PREFIX[OAUTH]):
        caller = lookup(store, value, kind=OAUTH)
        if caller is None:
            raise AuthenticationRequired(
                "访问令牌无效、已过期或其密钥已吊销 (unknown or expired access token, or its "
                "key was revoked): get a new one from POST /oauth/token"
            )
        return caller
    return authenticate(store, value)
