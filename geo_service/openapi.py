"""The OpenAPI document: the errors each operation can answer, declared from its routes.

FastAPI declares a 422 with its own body for every operation with parameters; the
service answers bad parameters with 400 and the error body instead
(:mod:`geo_service.errors`), and more besides. The statuses every route may give are
found from what the route depends on — its parameters (400, and 404 for a path that
names something), a body (413: bodies have a cap), the caller (401), a role check (401,
403), the store (503) — so a new
route is documented without thought; errors particular to a route (409, 422) are
declared on it with :func:`geo_service.errors.error_responses`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from geo_service.deps import MUTATING, RoleCheck, get_caller, get_store, get_zones
from geo_service.errors import ERROR_SCHEMA, ErrorBody, error_responses
from geo_service.schemas import GEOJSON_ANSWERS
from geo_service.settings import Settings

_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def document_errors(app: FastAPI, settings: Settings | None = None) -> None:
    """Make ``app.openapi()`` declare on every operation the errors it can answer, the
    items' ``limit`` and ``bbox`` as OGC API – Features defines them, in OpenAPI 3.0."""
    build = app.openapi
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = build()  # FastAPI's, cached until the routes change
        if not documented or documented[0] is not document:
            _declare_errors(app, document)
            _declare_security(app, document)
            _declare_items_parameters(document, settings or Settings())
            _to_openapi_30(document)
            documented[:] = [document]
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way


def _declare_errors(app: FastAPI, document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_SCHEMA] = ErrorBody.model_json_schema()
    for model in GEOJSON_ANSWERS:
        answer = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(answer.pop("$defs", {}))
        schemas[model.__name__] = answer
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        calls = set(dependency_calls(route.dependant))
        for method in context.methods or ():
            operation = document["paths"][context.path_format][method.lower()]
            responses = operation["responses"]
            if _FASTAPI_422 in json.dumps(responses.get("422")):
                del responses["422"]  # bad parameters are answered 400 (geo_service.errors)
            statuses = _statuses(operation, calls, changes=method in MUTATING)
            for status, response in error_responses(*statuses).items():
                responses.setdefault(str(status), response)
            operation["responses"] = dict(sorted(responses.items()))
    if _FASTAPI_422 not in json.dumps(document["paths"]):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)


SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "密钥 (API key) from `geo-service key create`: Authorization: Bearer KEY",
    },
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
"""The ways a client sends a key (see :func:`geo_service.deps.get_caller`); any one will
do. (Browsers also send the cookie ``/login`` sets, which the API docs cannot.)"""


def _declare_security(app: FastAPI, document: dict[str, Any]) -> None:
    """The keys each operation takes: required where a role is checked (with the roles
    named), optional where the public is answered too; none for the rest."""
    document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    any_key: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        calls = set(dependency_calls(route.dependant))
        checks = [call for call in calls if isinstance(call, RoleCheck)]
        for method in context.methods or ():
            operation = document["paths"][context.path_format][method.lower()]
            if checks:
                roles = sorted({role.value for check in checks for role in check.roles})
                operation["security"] = any_key
                note = f"角色 (roles): {', '.join(roles)}"
                operation["description"] = "\n\n".join(
                    part for part in (operation.get("description"), note) if part
                )
            elif get_caller in calls:
                operation["security"] = [{}, *any_key]  # {}: no key, the public's answer


def dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every callable ``dependant`` depends on, its own included, however deep."""
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from dependency_calls(sub)


def _statuses(
    operation: dict[str, Any], calls: set[Callable[..., Any]], *, changes: bool
) -> list[int]:
    where = {parameter["in"] for parameter in operation.get("parameters", ())}
    statuses = []
    if where or "requestBody" in operation:
        statuses.append(400)
    if "requestBody" in operation or changes:
        statuses.append(413)  # geo_service.bodies: every body has a cap, a change's too
    if get_caller in calls:
        statuses.append(401)
    if any(isinstance(call, RoleCheck) for call in calls):
        statuses.append(403)
    if "path" in where:
        statuses.append(404)
    if calls & {get_store, get_zones, get_caller}:
        statuses.append(503)
    return statuses


def _declare_items_parameters(document: dict[str, Any], settings: Settings) -> None:
    """``limit`` with its minimum, maximum and default, and ``bbox`` as 4 numbers, as
    OGC API – Features (Part 1, /req/core/fc-limit-definition and fc-bbox-definition)
    requires: clients and the OGC test suite read them from the document."""
    operation = document["paths"]["/collections/{collection_id}/items"]["get"]
    for parameter in operation["parameters"]:
        if parameter["name"] == "limit":
            parameter["schema"] = {
                "type": "integer",
                "minimum": 1,
                "maximum": settings.max_limit,
                "default": settings.default_limit,
            }
        elif parameter["name"] == "bbox":
            parameter |= {"style": "form", "explode": False}
            parameter["schema"] = {
                "type": "array",
                "minItems": 4,
                "maxItems": 4,
                "items": {"type": "number"},
            }


def _to_openapi_30(document: dict[str, Any]) -> None:
    """FastAPI writes OpenAPI 3.1 (JSON Schema 2020-12); OGC API – Features declares
    OpenAPI 3.0, which GDAL, QGIS and the OGC test suite read. The few 3.1 forms in our
    document are rewritten: ``anyOf [X, null]`` → ``X`` + ``nullable``, schema
    ``examples`` → ``example``, ``contentMediaType`` → ``format: binary``, a number
    ``exclusiveMinimum`` (``exclusiveMaximum``) → ``minimum`` (``maximum``) + ``true``."""
    document["openapi"] = "3.0.3"

    def rewrite(node: Any, in_schema: bool) -> Any:
        if isinstance(node, list):
            return [rewrite(item, in_schema) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            # Below these keys are schemas; below media types and parameters, examples
            # are a map of named examples (3.0 too) and stay.
            child_in_schema = in_schema or key in ("schema", "schemas")
            if in_schema and key == "properties" and isinstance(value, dict):
                out[key] = {name: rewrite(sub, True) for name, sub in value.items()}
            else:
                out[key] = rewrite(value, child_in_schema)
        if in_schema:
            options = out.get("anyOf")
            if isinstance(options, list) and {"type": "null"} in options:
                rest = [o for o in options if o != {"type": "null"}]
                del out["anyOf"]
                if len(rest) == 1 and "$ref" not in rest[0]:
                    out = {**rest[0], **out}
                else:
                    out["anyOf" if len(rest) > 1 else "allOf"] = rest
                out["nullable"] = True
            if isinstance(out.get("examples"), list):
                examples = out.pop("examples")
                if examples:
                    out["example"] = examples[0]
            if out.pop("contentMediaType", None) is not None:
                out["format"] = "binary"
            for exclusive, bound in (
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ):
                if not isinstance(out.get(exclusive), bool) and exclusive in out:
                    out[bound], out[exclusive] = out[exclusive], True
        return out

    document.update(rewrite(document, False))
