"""Request bodies: who sends one is checked before a byte of it is read, and its size is
bounded per route.

FastAPI reads a request's body — and spools a multipart upload to disk — before it runs
the route's dependencies, so a role check (:class:`geo_service.deps.RoleCheck`) alone
comes after the whole upload has been stored. :class:`BodyGuard` is a pure ASGI
middleware that runs first: it finds the route the way the router will, and

- for a route that checks a role, checks the caller's key from the headers alone and
  answers 401/403 at once, the body unread;
- refuses a body larger than the route's cap with 413 (``body_too_large``): at once from
  ``Content-Length``, and while the body streams in (a chunked body has no length), so
  nothing beyond the cap is ever buffered or spooled.

Which routes check a role and which take a file is derived from the routes themselves,
as the OpenAPI document does (:mod:`geo_service.openapi`), so a new route is covered
without thought. Starlette's ``RequestBodyLimitMiddleware`` (FastAPI's ``max_body_size``)
counts the same way, but its limit is fixed when the route is declared, not taken from
the settings, it knows nothing of roles, and it replaces any answer to an over-long body
with a plain-text 413 rather than the error body; hence this one.

:class:`OffLoopJSONRoute` decodes JSON bodies in a worker thread: decoding a megabyte on
the event loop would stall every other request meanwhile.
"""

from __future__ import annotations

import json
import json.scanner
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi import params as fastapi_params
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geo_service.auth import PUBLIC
from geo_service.deps import MUTATING, SESSION_COOKIE, RoleCheck, check_origin, identify
from geo_service.errors import error_response, status_code_for
from geo_service.openapi import dependency_calls
from geo_service.settings import Settings
from layers.errors import BodyTooLarge, GeoServiceError


@dataclass(frozen=True)
class BodyRule:
    """What a route that takes a body requires before it is read."""

    path: re.Pattern[str]
    methods: frozenset[str]
    checks: tuple[RoleCheck, ...]
    limit_bytes: int
    upload: bool


def body_rules(app: FastAPI, settings: Settings) -> list[BodyRule]:
    """A rule for every route of ``app`` that reads a body, or changes something (a
    browser's body-less POST may still carry a form with its CSRF token, which is read),
    in the router's order."""
    rules = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or context.path is None or context.methods is None:
            continue  # not a route that answers requests itself
        if route.body_field is None and not context.methods & MUTATING:
            continue  # reads no body
        upload = any(
            isinstance(field.field_info, fastapi_params.File)
            for field in route.dependant.body_params
        )
        calls = dependency_calls(route.dependant)
        rules.append(
            BodyRule(
                path=compile_path(context.path)[0],
                methods=frozenset(context.methods),
                checks=tuple(call for call in calls if isinstance(call, RoleCheck)),
                limit_bytes=settings.upload_max_bytes if upload else settings.json_max_bytes,
                upload=upload,
            )
        )
    return rules


def too_large(limit_bytes: int) -> BodyTooLarge:
    shown = f"{limit_bytes / 2**20:g} MiB" if limit_bytes >= 2**20 else f"{limit_bytes} B"
    return BodyTooLarge(
        f"请求体超过上限 {shown}, 请缩小后重试 (the request body is larger than this "
        f"route's limit of {shown} = {limit_bytes} bytes; send less)",
        details={"limit_bytes": limit_bytes},
    )


class BodyGuard:
    """See the module's docstring; ``rules`` from :func:`body_rules`."""

    def __init__(self, app: ASGIApp, *, rules: list[BodyRule]) -> None:
        self.app = app
        self.rules = rules

    def _rule(self, scope: Scope) -> BodyRule | None:
        for rule in self.rules:
            if scope["method"] in rule.methods and rule.path.match(scope["path"]):
                return rule
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self._rule(scope) if scope["type"] == "http" else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        try:
            if rule.checks:
                await _check_caller(scope, rule.checks)
        except GeoServiceError as exc:
            await _refuse(exc, scope, receive, send)
            return
        except (OperationalError, InterfaceError):
            pass  # the store is down: the route's own check answers 503 as everywhere
        try:
            length = _content_length(scope)
            if length is not None and length > rule.limit_bytes:
                raise too_large(rule.limit_bytes)
        except GeoServiceError as exc:
            await _refuse(exc, scope, receive, send)
            return
        await _Counted(self.app, rule.limit_bytes)(scope, receive, send)


class _Counted:
    """The app, given a body that stops at ``limit_bytes``: one byte more and the request
    is answered 413 instead of whatever the app was about to answer."""

    def __init__(self, app: ASGIApp, limit_bytes: int) -> None:
        self.app = app
        self.limit_bytes = limit_bytes
        self.received = 0
        self.refused = False
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted_receive() -> Message:
            if self.refused:  # the app asks again after its error: the body is over
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit_bytes:
                    self.refused = True
                    raise too_large(self.limit_bytes)
            return message

        async def guarded_send(message: Message) -> None:
            if self.refused:
                if message["type"] == "http.response.start" and not self.started:
                    self.started = True
                    await _refuse(too_large(self.limit_bytes), scope, receive, send)
                return  # the app's own answer to the cut body is dropped
            self.started = self.started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not self.refused or self.started:
                raise
            await _refuse(too_large(self.limit_bytes), scope, receive, send)


async def _check_caller(scope: Scope, checks: tuple[RoleCheck, ...]) -> None:
    """The route's role checks on the key in the headers (or the sign-in cookie); the
    store is asked in a thread, as the route's own dependency would be."""
    request = Request(scope)  # headers and cookies only: no receive, the body untouched
    store = request.app.state.store
    caller = await run_in_threadpool(
        identify,
        store,
        request.headers.get("authorization"),
        request.headers.get("x-api-key"),
        request.cookies.get(SESSION_COOKIE),
    )
    for check in checks:
        check(caller)
    signed_in_by_cookie = not request.headers.get("authorization") and not (
        request.headers.get("x-api-key")
    )
    if signed_in_by_cookie and caller is not PUBLIC and request.method in MUTATING:
        # A browser's change from another site is refused before its body is read; the
        # session's CSRF token (maybe a form field) is checked by the route, once it is.
        check_origin(request, request.app.state.settings)


async def _refuse(exc: GeoServiceError, scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(status_code_for(exc), exc.code, exc.message, exc.details)
    # The unread body stays in the connection: the server must not read it as the next
    # request, so the connection is closed after this answer.
    response.headers["Connection"] = "close"
    await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _decode(body: bytes) -> Any:
    """``json.loads(body)``, by the standard library's pure-Python scanner.

    The C scanner holds the GIL for the whole document, so in a thread it stalls the
    event loop just as much; the Python one lets the loop run between values, at some
    cost in speed that the body's cap keeps small (about 0.1 s for 1 MiB)."""
    decoder = json.JSONDecoder()
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]  # the documented fallback
    return decoder.decode(body.decode(json.detect_encoding(body), "surrogatepass"))


class _OffLoopJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = await run_in_threadpool(_decode, await self.body())
        return self._json


class OffLoopJSONRoute(APIRoute):
    """A route whose JSON body is decoded in a worker thread, not on the event loop."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            return await handler(_OffLoopJSONRequest(request.scope, request.receive))

        return route_handler
