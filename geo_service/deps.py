"""Typed dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Cookie, Depends, Header, Request

from geo_service.auth import PUBLIC, Caller, Role, authenticate
from geo_service.feature_cache import FeatureCache
from geo_service.settings import Settings
from geo_service.worker import Worker
from geo_service.zones import ZoneCache
from layers.errors import AuthenticationRequired, Forbidden
from layers.store.store import Store


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


KEY_COOKIE = "gs_key"


def get_caller(
    store: StoreDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
    gs_key: Annotated[str | None, Cookie(include_in_schema=False)] = None,
) -> Caller:
    key = x_api_key
    if authorization and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    if key:
        return authenticate(store, key)  # a key sent on purpose must be valid
    if gs_key:
        # A browser sends the key kept by /login; if it was revoked or expired, the page
        # still works for the public, and staff pages answer 401 and sign-in again.
        try:
            return authenticate(store, gs_key)
        except AuthenticationRequired:
            return PUBLIC
    return PUBLIC


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
FeatureCacheDep = Annotated[FeatureCache, Depends(get_feature_cache)]
WorkerDep = Annotated[Worker, Depends(get_worker)]
PlannerDep = Annotated[Caller, Depends(require(Role.PLANNER, Role.ADMIN))]
StaffMapDep = Annotated[Caller, Depends(require(Role.PLANNER, Role.LAND_BUREAU, Role.ADMIN))]
