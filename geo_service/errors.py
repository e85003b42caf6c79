"""The one table that maps the project's errors to HTTP, and the error body.

Every error body is ``{"code", "message", "details"}``; no stack trace or database text
ever reaches a client.
"""

from __future__ import annotations

import copy
import logging
import re
import sqlite3
import traceback
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg.errors import QueryCanceled
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo_service.web.access import is_navigation, to_sign_in
from geo_service.worker import WorkerFailed
from layers.errors import (
    AuthenticationRequired,
    BodyTooLarge,
    Conflict,
    CRSMismatch,
    Forbidden,
    GeoServiceError,
    InvalidInput,
    LayerValidationError,
    NotFound,
    StoreError,
    UnknownLayer,
)

logger = logging.getLogger(__name__)

STATUS_CODES: dict[type[GeoServiceError], int] = {
    InvalidInput: 400,
    CRSMismatch: 400,
    LayerValidationError: 422,
    UnknownLayer: 404,
    NotFound: 404,
    AuthenticationRequired: 401,
    Forbidden: 403,
    Conflict: 409,
    BodyTooLarge: 413,
    StoreError: 503,
    WorkerFailed: 503,  # and ImportTimeout: nothing changed, a fresh process next time
}


class ErrorBody(BaseModel):
    """The body of every error response."""

    code: str = Field(description="stable and machine-readable: not_found, forbidden, …")
    message: str = Field(description="for people, in Chinese and English; says how to fix it")
    details: dict[str, Any] = Field(description="structured data, e.g. the list of problems")


ERROR_SCHEMA = "ErrorBody"
"""The name of :class:`ErrorBody` among the OpenAPI document's schemas."""

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "请求无效 (invalid request: a parameter or the body; details.problems names them)",
    401: "需要密钥, 或密钥无效 (an API key is required, or the key sent is unknown or revoked)",
    403: "角色无权访问 (the key's role may not do this)",
    404: "不存在 (no such resource)",
    409: "与现有数据冲突 (conflicts with the data as it is now; details say what changed)",
    413: "请求体超过上限 (the body is larger than the route's limit; details.limit_bytes)",
    422: "数据未通过校验 (the data failed validation; details.problems lists every problem)",
    503: "数据库或后台进程暂不可用, 或超时 (the store or the import worker is unavailable, "
    "or the query or import took too long; Retry-After says when to retry)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for ``statuses``, each with the error body, for a route's
    ``responses=``; the common ones are declared for every route by
    :func:`geo_service.openapi.document_errors`."""
    return {
        status: {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}
            },
        }
        for status in statuses
    }


def status_code_for(exc: GeoServiceError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return 500


def error_response(status: int, code: str, message: str, details: object = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if status == 503:
        headers["Retry-After"] = "5"  # the store is restarting or busy: seconds, not minutes
    return JSONResponse(
        {"code": code, "message": message, "details": details or {}},
        status_code=status,
        headers=headers,
    )


def log_error(request: Request, status: int, code: str, cause: str = "") -> None:
    """One line for an error answered, with the request's id, bounded in length: never
    the query string, the body or a traceback (a 64 KiB filter would be logged whole)."""
    rid = getattr(request.state, "request_id", "-")
    level = logging.INFO if status < 500 else logging.ERROR if status == 500 else logging.WARNING
    logger.log(
        level,
        "request %s: %s %s -> %d %s%s",
        rid, request.method, request.url.path[:200], status, code, f" ({cause})" if cause else "",
    )  # fmt: skip


ACCESS_ARG_CHARS = 300
"""What an access-log line keeps of each of its parts (the path with its query)."""


# A key, session or access token (geo_service.auth, geo_service.sessions) someone put in
# a URL: the request is refused, and the log must not keep the secret either.
_SECRET = re.compile(r"(gs[kst]_)[A-Za-z0-9_-]+")


class ShortAccessLine(logging.Filter):
    """Bounds uvicorn's access-log line, one per request: a path and query longer than
    :data:`ACCESS_ARG_CHARS` (a 64 KiB filter) is cut, saying how much was left out, and
    a key or token in it is written as its prefix only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_short(a) if isinstance(a, str) else a for a in record.args)
        return True


def _short(text: str) -> str:
    text = _SECRET.sub(r"\1…", text)
    if len(text) > ACCESS_ARG_CHARS:
        return f"{text[:ACCESS_ARG_CHARS]}…(+{len(text) - ACCESS_ARG_CHARS} chars)"
    return text


def server_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, with every access line bounded."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["short_access"] = {"()": ShortAccessLine}
    config["handlers"]["access"]["filters"] = ["short_access"]
    return config


def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """The 500 for an exception nothing expected: logged as one line naming the exception
    and where it was raised, so the log says where to look and stays bounded."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    log_error(request, 500, "internal_error", f"{type(exc).__name__}{where}")
    return error_response(500, "internal_error", "服务器内部错误 (internal server error)")


async def domain_error(request: Request, exc: GeoServiceError) -> Response:
    """The error body for a refusal of the domain; a person's browser refused for want of
    a session gets the sign-in page instead, and comes back after it."""
    if isinstance(exc, AuthenticationRequired) and is_navigation(request):
        return to_sign_in(request)
    status = status_code_for(exc)
    log_error(request, status, exc.code)
    return error_response(status, exc.code, exc.message, exc.details)


def add_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GeoServiceError, domain_error)  # type: ignore[arg-type]

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # OGC API - Features wants 400, not FastAPI's 422, for bad query parameters.
        problems = [
            {"field": ".".join(str(p) for p in err.get("loc", ())[1:]), "message": err.get("msg")}
            for err in exc.errors()
        ]
        log_error(request, 400, "invalid_parameter")
        return error_response(
            400, "invalid_parameter", "请求参数无效 (invalid parameter)", {"problems": problems}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        log_error(request, exc.status_code, code)
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # A value no validation refused but the database cannot hold: PostgreSQL text
        # cannot contain NUL, a number can overflow its column. The caller sent it.
        log_error(
            request, 400, InvalidInput.code, f"refused by the store: {type(exc.orig).__name__}"
        )
        return error_response(
            400,
            InvalidInput.code,
            "请求中有数据库无法保存的值, 如 NUL 字符或超出范围的数 (a value the store "
            "cannot hold, such as a NUL character or a number out of range: remove it)",
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _store_down(request: Request, exc: Exception) -> JSONResponse:
        if timed_out(exc):
            log_error(request, 503, "query_timeout")
            return error_response(
                503,
                "query_timeout",
                "查询超时, 请缩小范围后重试 (the query took too long; narrow it and retry)",
            )
        log_error(request, 503, StoreError.code, f"store unavailable: {type(exc).__name__}")
        return error_response(
            503,
            StoreError.code,
            "数据库暂不可用, 请稍后重试 (the store is unavailable; retry later)",
        )

    # The request-id middleware answers what escapes the routes (geo_service.app), so
    # that Starlette does not re-raise it for the server to log with its traceback;
    # this answers what escapes a middleware.
    app.add_exception_handler(Exception, unexpected_error)


def timed_out(exc: Exception) -> bool:
    """Whether the store stopped the statement for running too long: PostgreSQL's
    ``statement_timeout``, or the embedded store's progress handler (``interrupted``)."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, QueryCanceled):
        return True
    return (
        isinstance(orig, sqlite3.OperationalError)
        and getattr(orig, "sqlite_errorcode", None) == sqlite3.SQLITE_INTERRUPT
    )
