"""The one table that maps the project's errors to HTTP, and the error body.

Every error body is ``{"code", "message", "details"}``; no stack trace or database text
ever reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg.errors import QueryCanceled
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

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
    503: "数据库暂不可用或查询超时 (the store is unavailable or the query took too long)",
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

    @app.exception_handler(DataError)
    async def _unstorable(_request: Request, exc: DataError) -> JSONResponse:
        # A value no validation refused but the database cannot hold: PostgreSQL text
        # cannot contain NUL, a number can overflow its column. The caller sent it.
        logger.warning("value refused by the store: %s", type(exc.orig).__name__)
        return error_response(
            400,
            InvalidInput.code,
            "请求中有数据库无法保存的值, 如 NUL 字符或超出范围的数 (a value the store "
            "cannot hold, such as a NUL character or a number out of range: remove it)",
        )

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
