"""The one table that maps the project's errors to HTTP, and the error body.

Every error body is ``{"code", "message", "details"}``; no stack trace or database text
ever reaches a client.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg.errors import QueryCanceled
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from layers.errors import (
    AuthenticationRequired,
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
    StoreError: 503,
}


def status_code_for(exc: GeoServiceError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return 500


def error_response(status: int, code: str, message: str, details: object = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"code": code, "message": message, "details": details or {}},
        status_code=status,
        headers=headers,
    )


def add_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(GeoServiceError)
    async def _domain(_request: Request, exc: GeoServiceError) -> JSONResponse:
        return error_response(status_code_for(exc), exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # OGC API - Features wants 400, not FastAPI's 422, for bad query parameters.
        problems = [
            {"field": ".".join(str(p) for p in err.get("loc", ())[1:]), "message": err.get("msg")}
            for err in exc.errors()
        ]
        return error_response(
            400, "invalid_parameter", "请求参数无效 (invalid parameter)", {"problems": problems}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _store_down(_request: Request, exc: Exception) -> JSONResponse:
        logger.warning("store unavailable: %s", type(exc).__name__)
        if isinstance(getattr(exc, "orig", None), QueryCanceled):  # statement_timeout
            return error_response(
                503,
                "query_timeout",
                "查询超时, 请缩小范围后重试 (the query took too long; narrow it and retry)",
            )
        return error_response(
            503,
            StoreError.code,
            "数据库暂不可用, 请稍后重试 (the store is unavailable; retry later)",
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error", exc_info=exc)
        return error_response(500, "internal_error", "服务器内部错误 (internal server error)")
