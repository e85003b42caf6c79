"""The FastAPI application."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi_offline import FastAPIOffline

from geo_service.bodies import BodyGuard, body_rules
from geo_service.dossier_routes import router as dossier_router
from geo_service.download_routes import router as download_router
from geo_service.errors import add_exception_handlers, unexpected_error
from geo_service.feature_cache import FeatureCache
from geo_service.ledger_routes import router as ledger_router
from geo_service.map_routes import router as maps_router
from geo_service.matches import router as matches_router
from geo_service.ogc_collections import router as collections_router
from geo_service.ogc_items import router as items_router
from geo_service.ogc_landing import router as landing_router
from geo_service.openapi import document_errors
from geo_service.session_routes import router as session_router
from geo_service.settings import Settings
from geo_service.stock_routes import router as stock_router
from geo_service.web.compare_pages import router as compare_router
from geo_service.web.match_pages import router as match_pages_router
from geo_service.web.project_pages import router as project_router
from geo_service.web.reserve_pages import router as reserve_pages_router
from geo_service.web.routes import router as web_router
from geo_service.worker import Worker
from geo_service.zones import ZoneCache
from layers.store.store import Store


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service for ``settings``; the lifespan opens and closes the store."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = Store.open(
            settings.store_url, statement_timeout_ms=settings.statement_timeout_ms
        )
        app.state.zones = ZoneCache(app.state.store)
        app.state.feature_texts = FeatureCache()
        app.state.worker = Worker(
            settings.store_url,
            niceness=settings.import_niceness,
            timeout_s=settings.import_timeout_s,
        )
        try:
            yield
        finally:
            app.state.worker.close()
            app.state.store.close()

    # FastAPIOffline serves the API docs' assets itself: many users have no internet.
    app: FastAPI = FastAPIOffline(title=settings.title, version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    add_exception_handlers(app)
    for router in (
        landing_router, collections_router, items_router, matches_router, dossier_router,
        maps_router,
        stock_router, ledger_router, download_router, session_router, web_router,
        project_router, match_pages_router, compare_router, reserve_pages_router,
    ):  # fmt: skip
        app.include_router(router)
    document_errors(app, settings)
    # Added before the request id, so that it runs inside it: its refusals get an id too.
    app.add_middleware(BodyGuard, rules=body_rules(app, settings))

    @app.middleware("http")
    async def request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Every request gets an id (the caller's X-Request-ID if sane), recorded with the
        audit rows it causes and returned in the response."""
        given = request.headers.get("x-request-id", "")
        rid = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        request.state.request_id = rid
        try:
            response = await call_next(request)
        except Exception as exc:  # answered and logged as one line, not re-raised
            response = unexpected_error(request, exc)
        response.headers["X-Request-ID"] = rid
        _cache_policy(request, response)
        _frame_policy(response)
        return response

    return app


def _cache_policy(request: Request, response: Response) -> None:
    """What a shared cache (a proxy between an office and the service) may do with an
    answer whose route did not say: answers differ by caller and by ``Accept``, so they
    vary on both; what a caller with a key got is never shared; and nothing is reused
    without asking again, since a reservation changes what readers see at once."""
    if "cache-control" in response.headers:
        return  # static files, tiles, downloads: the route knows better
    vary = [v.strip() for v in response.headers.get("vary", "").split(",") if v.strip()]
    response.headers["Vary"] = ", ".join(dict.fromkeys([*vary, *_VARY]))
    credentials = any(name in request.headers for name in _CREDENTIALS)
    response.headers["Cache-Control"] = "private, no-cache" if credentials else "no-cache"


def _frame_policy(response: Response) -> None:
    """No other site may frame a page of ours (clickjacking a signed-in planner into a
    click): ``frame-ancestors 'none'`` on every HTML answer, the API docs' included."""
    if not response.headers.get("content-type", "").startswith("text/html"):
        return
    policy = response.headers.get("content-security-policy")
    if policy is None:
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    elif "frame-ancestors" not in policy:
        response.headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'none'"


_VARY = ("Accept", "Authorization", "X-API-Key", "Cookie")
_CREDENTIALS = ("authorization", "x-api-key", "cookie")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
