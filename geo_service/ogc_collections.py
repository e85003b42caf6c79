"""OGC API – Features: the layers (collections), and the schema and queryables of each."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from geo_service import html_pages
from geo_service.deps import CallerDep, StoreDep, get_caller
from geo_service.ogc import (
    AS_HTML,
    CRS84,
    CRS4490,
    GEOJSON,
    HTML_OK,
    base_url,
    layer_spec,
    own_links,
    wants_html,
)
from geo_service.routing import ServiceRoute
from layers import output_crs
from layers.catalog import LAYERS
from layers.crs import STORAGE_EPSG, gk3_epsg, gk3_zone
from layers.schema import FieldSpec, LayerSpec
from layers.values import field_type

# Every route looks at the caller: a key sent is checked even where the answer is the
# same for everyone, so a client with a wrong key learns it at once (401), not later.
router = APIRouter(dependencies=[Depends(get_caller)], route_class=ServiceRoute)


def _collection(
    request: Request,
    store: StoreDep,
    spec: LayerSpec,
    own: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A layer's description; its self and alternate links are ``own`` if given."""
    base = base_url(request)
    url = f"{base}/collections/{spec.name}"
    own = own or [
        {"href": url, "rel": "self", "type": "application/json"},
        {"href": f"{url}?f=html", "rel": "alternate", "type": html_pages.HTML},
    ]
    extent = _outward(store.features.extent(spec))
    described: dict[str, Any] = {
        "id": spec.name,
        "title": f"{spec.zh} ({spec.en})",
        "description": spec.description,
        "itemType": "feature",
        "crs": _crs_list(extent),
        "storageCrs": CRS4490,
    }
    if extent is not None:  # an empty layer has no extent (a bbox needs 4 numbers)
        described["extent"] = {"spatial": {"bbox": [list(extent)], "crs": CRS84}}
    return described | {
        "links": [
            *own,
            {"href": f"{url}/items", "rel": "items", "type": GEOJSON},
            {"href": f"{url}/items?f=html", "rel": "items", "type": html_pages.HTML},
            {
                "href": f"{base}/collections/{spec.name}/schema",
                "rel": "describedBy",
                "type": "application/schema+json",
                "title": "要素结构 (feature schema)",
            },
            {
                "href": f"{base}/collections/{spec.name}/queryables",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "title": "可筛选属性 (queryables)",
            },
        ],
    }


def _outward(
    extent: tuple[float, float, float, float] | None,
) -> tuple[float, float, float, float] | None:
    """The extent rounded outward to 7 decimals of a degree (about 1 cm), so that a bbox
    written from it to 7 decimals, as the OGC test suite and many clients do, still holds
    every feature: rounded to nearest, a feature on the edge would fall outside."""
    if extent is None:
        return None
    minx, miny, maxx, maxy = extent
    return (
        max(math.floor(minx * 1e7) / 1e7, -180.0),
        max(math.floor(miny * 1e7) / 1e7, -90.0),
        min(math.ceil(maxx * 1e7) / 1e7, 180.0),
        min(math.ceil(maxy * 1e7) / 1e7, 90.0),
    )


def _crs_list(extent: tuple[float, float, float, float] | None) -> list[str]:
    """CRS84, 4490, 4326 and the Gauss-Krüger zone of the layer (both numberings);
    any CGCS2000 3-degree zone (EPSG:4513–4554) is accepted."""
    codes: list[output_crs.Code] = [None, STORAGE_EPSG, 4326]
    if extent is not None:
        zone = gk3_zone((extent[0] + extent[2]) / 2)
        codes += [gk3_epsg(zone, prefixed=True), gk3_epsg(zone)]
    return [output_crs.uri(code) for code in codes]


@router.get("/collections", summary="Layers", response_model=None, responses=AS_HTML)
def collections(
    request: Request, store: StoreDep, f: Annotated[str | None, Query(pattern=HTML_OK)] = None
) -> dict[str, Any] | Response:
    as_html = wants_html(request, f)
    body = {
        "links": own_links(request, html=as_html),
        "collections": [_collection(request, store, spec) for spec in LAYERS.values()],
    }
    return html_pages.collections_page(body, base=base_url(request)) if as_html else body


@router.get(
    "/collections/{collection_id}", summary="One layer", response_model=None, responses=AS_HTML
)
def collection(
    collection_id: str,
    request: Request,
    store: StoreDep,
    f: Annotated[str | None, Query(pattern=HTML_OK)] = None,
) -> dict[str, Any] | Response:
    spec = layer_spec(collection_id)
    as_html = wants_html(request, f)
    body = _collection(request, store, spec, own_links(request, html=as_html))
    return html_pages.collection_page(body, base=base_url(request)) if as_html else body


_GEOMETRY_SCHEMA = {"$ref": "https://geojson.org/schema/Geometry.json"}


def _field_schema(f: FieldSpec) -> dict[str, Any]:
    """JSON Schema of one field's values (``null`` allowed where the field may be empty)."""
    schema: dict[str, Any] = {"title": f"{f.zh} ({f.en})"}
    ft = field_type(f)
    # GDAL (3.6) reads only a single type name, not ["number", "null"]: empty values are
    # said with OpenAPI's "nullable" (which JSON Schema validators ignore).
    schema["type"] = ft.json_type
    if not f.required:
        schema["nullable"] = True
    if ft.json_format:
        schema["format"] = ft.json_format
    if f.choices:
        schema["enum"] = list(f.choices)
    if f.minimum is not None:
        schema["minimum"] = f.minimum
    if f.maximum is not None:
        schema["maximum"] = f.maximum
    if f.unit:
        schema["x-unit"] = f.unit
    return schema


def _schema_response(
    request: Request, spec: LayerSpec, what: str, body: dict[str, Any]
) -> JSONResponse:
    head = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base_url(request)}/collections/{spec.name}/{what}",
        "type": "object",
        "title": f"{spec.zh} ({spec.en})",
    }
    return JSONResponse(head | body, media_type="application/schema+json")


@router.get(
    "/collections/{collection_id}/queryables",
    summary="Queryable properties (for the caller's role)",
    response_class=JSONResponse,
    responses={200: {"content": {"application/schema+json": {}}}},
)
def queryables(collection_id: str, request: Request, caller: CallerDep) -> JSONResponse:
    """The properties a caller may filter and sort by: of the public allow-list for the
    public, of every field for staff — never a hint of the others. Fields computed from
    the geometry (areas, readiness) are returned with features but are not queryable."""
    spec = layer_spec(collection_id)
    fields = spec.visible_fields(public=not caller.sees_internal)
    properties = {"geometry": _GEOMETRY_SCHEMA} | {
        f.name: _field_schema(f) for f in fields if not f.derived
    }
    return _schema_response(
        request, spec, "queryables", {"properties": properties, "additionalProperties": False}
    )


@router.get(
    "/collections/{collection_id}/schema",
    summary="Schema of a feature (for the caller's role)",
    response_class=JSONResponse,
    responses={200: {"content": {"application/schema+json": {}}}},
)
def feature_schema(collection_id: str, request: Request, caller: CallerDep) -> JSONResponse:
    """A feature as the caller receives it: every field it may see, with its type, so a
    client (GDAL, QGIS) knows each field's type before reading any feature. Linked from
    the collection as ``describedBy``."""
    spec = layer_spec(collection_id)
    fields = spec.visible_fields(public=not caller.sees_internal)
    body = {
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer", "minimum": 1},
            "geometry": _GEOMETRY_SCHEMA,
            "properties": {
                "type": "object",
                "properties": {f.name: _field_schema(f) for f in fields},
                "additionalProperties": False,
            },
        },
    }
    return _schema_response(request, spec, "schema", body)
