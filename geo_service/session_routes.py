"""Signing in: browser sessions (``/login``, ``/logout``, ``/session``) and OAuth2 access
tokens for desktop clients such as QGIS (``/oauth/token``).

The cookie a browser gets holds a session token, never the key; see
:mod:`geo_service.sessions` for how sessions end and how the CSRF token is made.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from geo_service import sessions
from geo_service.auth import PUBLIC
from geo_service.deps import (
    SESSION_COOKIE,
    CallerDep,
    SettingsDep,
    StoreDep,
    check_origin,
)
from geo_service.errors import error_responses
from geo_service.routing import ServiceRoute, keeps_zone
from geo_service.web.access import LOCAL_PATH
from geo_service.web.templating import page_context, render
from layers.errors import AuthenticationRequired

router = APIRouter(tags=["sign-in"], route_class=ServiceRoute)
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(
    request: Request,
    next_: Annotated[str, Query(alias="next", pattern=LOCAL_PATH)] = "/workspace",
) -> HTMLResponse:
    return render(page_context(request, PUBLIC), "login.html", next=next_, error=None)


@router.post("/login", include_in_schema=False)
@keeps_zone  # a session, not the layers
def login(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    key: Annotated[str, Form(max_length=200)],
    next_: Annotated[str, Form(alias="next", pattern=LOCAL_PATH)] = "/workspace",
) -> Response:
    """Open a session for the key's holder; the cookie holds the session's token. A wrong
    key gets the form again, saying so (200: a browser logs any 4xx page as an error)."""
    check_origin(request, settings)  # no other site signs a browser in to its own key
    try:
        opened = sessions.open_session(
            store,
            key,
            kind=sessions.BROWSER,
            lifetime_s=settings.session_ttl_s,
            request_id=request.state.request_id,
        )
    except AuthenticationRequired:
        page = page_context(request, PUBLIC)
        return render(page, "login.html", next=next_, error="unknown_key")
    response = RedirectResponse(next_, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        httponly=True,
        samesite="strict",
        path="/",
        max_age=settings.session_ttl_s,
        secure=request.url.scheme == "https" or settings.environment == "production",
    )
    return response


@router.get("/logout", include_in_schema=False)
def logout(
    request: Request,
    store: StoreDep,
    gs_session: Annotated[str | None, Cookie(include_in_schema=False)] = None,
) -> Response:
    """End the session on the server and forget the cookie. A GET, so that a link signs
    out; another site cannot make a browser send the SameSite=Strict cookie with it."""
    if gs_session:
        sessions.end_session(store, gs_session, request_id=request.state.request_id)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


class SessionInfo(BaseModel):
    """Who the browser (or client) is signed in as, and the CSRF token its pages send."""

    role: str = Field(description="public, planner, land_bureau or admin")
    name: str | None = Field(description="the key holder's name; null for the public")
    csrf_token: str | None = Field(
        description="for a browser signed in at /login: send it with every POST, PATCH, "
        "PUT or DELETE as the X-CSRF-Token header or the csrf_token form field; null "
        "otherwise (clients sending a key in a header need none)"
    )


@router.get(
    "/session",
    response_model=SessionInfo,
    summary="当前登录身份与 CSRF 令牌 (who is signed in, and the CSRF token)",
)
def session_info(caller: CallerDep) -> JSONResponse:
    info = SessionInfo(role=caller.role.value, name=caller.name, csrf_token=caller.csrf_token)
    return JSONResponse(info.model_dump(), headers={"Cache-Control": "no-store"})


class TokenResponse(BaseModel):
    """RFC 6749 §5.1."""

    access_token: str
    # A str, not Literal["Bearer"]: OpenAPI 3.0 has no "const".
    token_type: str = Field(default="Bearer", description='always "Bearer"')
    expires_in: int = Field(description="seconds the token is good for")


def _token_error(status: int, error: str, description: str) -> JSONResponse:
    headers = dict(_NO_STORE)
    if status == 401:  # RFC 6749 §5.2: say how the client may authenticate
        headers["WWW-Authenticate"] = 'Basic realm="geo-service"'
    # RFC 6749's fields for OAuth2 clients, and the service's error body for the rest.
    body: dict[str, object] = {"error": error, "error_description": description}
    body |= {"code": error, "message": description, "details": {}}
    return JSONResponse(body, status_code=status, headers=headers)


def _basic_secret(authorization: str | None) -> str | None:
    """The password of an HTTP Basic header (RFC 6749 §2.3.1 client authentication)."""
    if not authorization or authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] or None


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    summary="以密钥换取访问令牌 (OAuth2 token: exchange an API key for an access token)",
    responses=error_responses(400, 401),
)
@keeps_zone  # an access token, not the layers
async def oauth_token(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    grant_type: Annotated[str | None, Form()] = None,
    username: Annotated[str | None, Form()] = None,
    password: Annotated[str | None, Form(description="the API key (password grant)")] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[
        str | None, Form(description="the API key (client_credentials grant)")
    ] = None,
    scope: Annotated[str | None, Form()] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    """For clients that speak OAuth2 but cannot send an API key (QGIS): the ``password``
    grant takes the key as the password (any username), the ``client_credentials`` grant
    takes it as the client secret (form field or HTTP Basic). The token answers as the
    key would, as ``Authorization: Bearer <token>``, for ``expires_in`` seconds, and is
    revoked with the key. Errors carry RFC 6749 §5.2's ``error`` and ``error_description``
    (400 invalid_request, invalid_grant, unsupported_grant_type; 401 invalid_client)
    besides the service's error body."""
    del username, client_id, scope  # any value is accepted: the key says who it is
    if grant_type == "password":
        key, failure = password, (400, "invalid_grant")
    elif grant_type == "client_credentials":
        key, failure = client_secret or _basic_secret(authorization), (401, "invalid_client")
    elif not grant_type:
        return _token_error(400, "invalid_request", "缺少 grant_type (grant_type is missing)")
    else:
        return _token_error(
            400,
            "unsupported_grant_type",
            f"不支持的授权方式 {grant_type[:40]!r} (unsupported grant_type; use password or "
            "client_credentials)",
        )
    if not key:
        status, error = failure if failure[1] == "invalid_client" else (400, "invalid_request")
        field = "password" if grant_type == "password" else "client_secret"
        return _token_error(status, error, f"缺少密钥 (the API key is missing: send it as {field})")
    try:
        opened = await run_in_threadpool(
            sessions.open_session,
            store,
            key[:200],
            kind=sessions.OAUTH,
            lifetime_s=settings.token_ttl_s,
            request_id=request.state.request_id,
        )
    except AuthenticationRequired:
        return _token_error(*failure, "密钥无效或已吊销 (unknown or revoked API key)")
    body = TokenResponse(access_token=opened.token, expires_in=settings.token_ttl_s)
    return JSONResponse(body.model_dump(), headers=_NO_STORE)


__all__ = ["router"]
