"""Typed dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Cookie, Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from geo_service import sessions
from geo_service.auth import PUBLIC, Caller, Role, authenticate
from geo_service.feature_cache import FeatureCache
from geo_service.settings import Settings
from geo_service.worker import Worker
from geo_service.zones import ZoneCache
from layers.errors import AuthenticationRequired, Forbidden
from layers.store.audit import Actor
from layers.store.store import Store


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


SESSION_COOKIE = "gs_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def identify(
    store: Store,
    authorization: str | None,
    x_api_key: str | None,
    session: str | None,
) -> Caller:
    """Who is calling, from the headers and the session cookie alone (no CSRF check, no
    body read): a key or access token sent on purpose, which must be valid, else the
    browser session, else the public. Asks the store: call it off the event loop."""
    if authorization is not None:
        return sessions.bearer(store, authorization)
    if x_api_key:
        return authenticate(store, x_api_key)
    if not session:
        return PUBLIC
    return sessions.lookup(store, session, kind=sessions.BROWSER) or PUBLIC


async def get_caller(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
    gs_session: Annotated[str | None, Cookie(include_in_schema=False)] = None,
) -> Caller:
    """Who is calling: a key or access token sent on purpose (which must be valid), else
    the browser session of the cookie, else the public.

    A state change made with the cookie must come from this site (``Origin``, or
    ``Referer`` without it) and carry the session's CSRF token; one made with a header
    needs neither, since no other site can make a browser send our headers.
    """
    caller = await run_in_threadpool(identify, store, authorization, x_api_key, gs_session)
    if authorization is not None or x_api_key or gs_session is None or caller is PUBLIC:
        # Expired, ended or its key revoked: the page still works for the public, and
        # staff pages answer 401 and sign-in again.
        return caller
    if request.method in MUTATING:
        check_origin(request, settings)
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.headers.get("content-type", "").startswith(_FORMS):
            # Parsed once: FastAPI has already read the form of a route that takes one.
            field = (await request.form()).get(CSRF_FIELD)
            sent = field if isinstance(field, str) else None
        if not sessions.csrf_matches(gs_session, sent):
            raise sessions.CsrfRefused(
                f"缺少或错误的 CSRF 令牌: 请在 {CSRF_HEADER} 请求头或 {CSRF_FIELD} 表单字段中"
                f"发送 GET /session 给出的令牌 (missing or wrong CSRF token: send the "
                f"csrf_token from GET /session in the {CSRF_HEADER} header or the "
                f"{CSRF_FIELD} form field)"
            )
    return replace(caller, csrf_token=sessions.csrf_token(gs_session))


def check_origin(request: Request, settings: Settings) -> None:
    """Refuse a browser's request sent from another site: its ``Origin`` (or, when a
    browser sent none, its ``Referer``) must be this service or a trusted origin.
    ``Origin: null`` (a sandboxed frame, a page with ``Referrer-Policy: no-referrer``)
    is refused too: it says nothing about where the request came from."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if referer is None:
            return  # not a browser's page (they send one or the other): the token decides
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    base = urlsplit(str(request.base_url))
    allowed = {f"{base.scheme}://{base.netloc}", *settings.trusted_origins}
    if origin.strip().rstrip("/").lower() not in {a.rstrip("/").lower() for a in allowed}:
        raise sessions.CsrfRefused(
            f"请求来自其他网站 {origin[:100]!r}, 已拒绝 (refused: a signed-in browser's change "
            f"sent from another site, {origin[:100]!r}; only {base.scheme}://{base.netloc} "
            "may make changes with this session)"
        )


CallerDep = Annotated[Caller, Depends(get_caller)]


class RoleCheck:
    """A dependency that lets only ``roles`` through: 401 without a key, 403 otherwise.

    A class rather than a closure so that the OpenAPI document can tell which routes
    check a role (see :mod:`geo_service.openapi`).
    """

    def __init__(self, *roles: Role) -> None:
        self.roles = roles

    def __call__(self, caller: CallerDep) -> Caller:
        if caller.role is Role.PUBLIC:
            raise AuthenticationRequired("需要密钥 (an API key is required)")
        if caller.role not in self.roles:
            raise Forbidden(
                f"角色 {caller.role.value} 无权访问 (role may not do this); "
                f"allowed: {', '.join(r.value for r in self.roles)}"
            )
        return caller


def actor_of(caller: Caller, request: Request) -> Actor:
    """The person behind a request, for the audit log."""
    return Actor(caller.name or caller.role.value, caller.role.value, request.state.request_id)


def require(*roles: Role) -> RoleCheck:
    """A dependency that lets only ``roles`` through: 401 without a key, 403 otherwise."""
    return RoleCheck(*roles)


def get_zones(request: Request) -> ZoneCache:
    zones: ZoneCache = request.app.state.zones
    return zones


def get_worker(request: Request) -> Worker:
    worker: Worker = request.app.state.worker
    return worker


def get_feature_cache(request: Request) -> FeatureCache:
    cache: FeatureCache = request.app.state.feature_texts
    return cache


ZonesDep = Annotated[ZoneCache, Depends(get_zones)]


def zone_change(zones: ZonesDep) -> Iterator[None]:
    """The route runs inside :meth:`ZoneCache.changing`: until its change is loaded, other
    readers keep the previous snapshot, and it is loaded before the answer is sent (a
    generator dependency: FastAPI enters and leaves it in a thread)."""
    with zones.changing():
        yield


ZoneChange = Depends(zone_change, scope="function")
"""The dependency every route that may change the layers has (:mod:`geo_service.routing`
adds it); ``function``: left when the route returns, before its answer is sent."""
FeatureCacheDep = Annotated[FeatureCache, Depends(get_feature_cache)]
WorkerDep = Annotated[Worker, Depends(get_worker)]
PlannerDep = Annotated[Caller, Depends(require(Role.PLANNER, Role.ADMIN))]
StaffMapDep = Annotated[Caller, Depends(require(Role.PLANNER, Role.LAND_BUREAU, Role.ADMIN))]
