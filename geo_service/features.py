"""OGC API – Features (Part 1 core, GeoJSON) over every layer.

Properties are cut to the public allow-list for anonymous callers at the point where
they are serialised, so no route can leak an internal field by forgetting to.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import geopandas as gpd
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from geo_service import html_pages
from geo_service.deps import CallerDep, FeatureCacheDep, SettingsDep, StoreDep, get_caller
from geo_service.feature_cache import FeatureCache
from layers import geojson, output_crs
from layers.catalog import LAYERS
from layers.crs import STORAGE_EPSG, gk3_epsg, gk3_zone
from layers.errors import InvalidInput, NotFound, UnknownLayer
from layers.frames import derive
from layers.schema import FieldSpec, LayerSpec
from layers.store import filters
from layers.store.store import Store
from layers.store.tables import RELEASED

# Every route looks at the caller: a key sent is checked even where the answer is the
# same for everyone, so a client with a wrong key learns it at once (401), not later.
router = APIRouter(dependencies=[Depends(get_caller)])

GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
_ITEMS_PARAMS = frozenset(
    {"bbox", "bbox-crs", "crs", "limit", "offset", "f"}
    | {"filter", "filter-lang", "filter-crs", "sortby", "properties"}
)
MAX_ID = 2**31 - 1  # feature ids and offsets are 32-bit in both stores


def _spec(collection_id: str) -> LayerSpec:
    try:
        return LAYERS[collection_id]
    except KeyError:
        raise UnknownLayer(
            f"没有图层 {collection_id!r} (no collection {collection_id!r}); "
            f"collections: {', '.join(LAYERS)}"
        ) from None


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _wants_html(request: Request, f: str | None) -> bool:
    if f is not None:
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


HTML_OK = "^(json|html)$"
"""``f`` of the resources that are JSON or HTML; features are also ``geojson``."""
_AS_HTML: dict[int | str, dict[str, Any]] = {200: {"content": {html_pages.HTML: {}}}}


def _own_links(
    request: Request, *, html: bool, json_type: str = "application/json"
) -> list[dict[str, str]]:
    """The response's self link and its alternate in the other encoding (JSON or HTML)."""
    other = request.url.include_query_params(f="json" if html else "html")
    own_type, other_type = (html_pages.HTML, json_type) if html else (json_type, html_pages.HTML)
    return [
        {"href": str(request.url), "rel": "self", "type": own_type},
        {"href": str(other), "rel": "alternate", "type": other_type},
    ]


@router.get("/", summary="Landing page", response_model=None, responses=_AS_HTML)
def landing(
    request: Request, settings: SettingsDep, f: Annotated[str | None, Query()] = None
) -> Response:
    base = _base(request)
    as_html = _wants_html(request, f)
    links = [
        *_own_links(request, html=as_html),
        {
            "href": f"{base}/openapi.json",
            "rel": "service-desc",
            "type": "application/vnd.oai.openapi+json;version=3.0",
            "title": "OpenAPI",
        },
        {"href": f"{base}/docs", "rel": "service-doc", "type": "text/html", "title": "API 文档"},
        {
            "href": f"{base}/conformance",
            "rel": "conformance",
            "type": "application/json",
            "title": "一致性声明 (conformance)",
        },
        {
            "href": f"{base}/collections",
            "rel": "data",
            "type": "application/json",
            "title": "图层 (collections)",
        },
    ]
    body = {
        "title": settings.title,
        "description": "开发区可出让土地、闲置厂房与基础设施 (synthetic demo data "
        "where loaded by `geo-service demo`)",
        "links": links,
    }
    if as_html:
        examples = sorted(p.stem for p in settings.examples_dir.glob("*.json"))
        return html_pages.landing_page(body, base=base, examples=examples)
    return JSONResponse(body)


@router.get("/conformance", summary="Conformance classes", response_model=None, responses=_AS_HTML)
def conformance(
    request: Request, f: Annotated[str | None, Query(pattern=HTML_OK)] = None
) -> dict[str, list[str]] | Response:
    if _wants_html(request, f):
        links = _own_links(request, html=True)
        return html_pages.conformance_page(CONFORMANCE, base=_base(request), links=links)
    return {"conformsTo": CONFORMANCE}


def _collection(
    request: Request,
    store: StoreDep,
    spec: LayerSpec,
    own: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A layer's description; its self and alternate links are ``own`` if given."""
    base = _base(request)
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


@router.get("/collections", summary="Layers", response_model=None, responses=_AS_HTML)
def collections(
    request: Request, store: StoreDep, f: Annotated[str | None, Query(pattern=HTML_OK)] = None
) -> dict[str, Any] | Response:
    as_html = _wants_html(request, f)
    body = {
        "links": _own_links(request, html=as_html),
        "collections": [_collection(request, store, spec) for spec in LAYERS.values()],
    }
    return html_pages.collections_page(body, base=_base(request)) if as_html else body


@router.get(
    "/collections/{collection_id}", summary="One layer", response_model=None, responses=_AS_HTML
)
def collection(
    collection_id: str,
    request: Request,
    store: StoreDep,
    f: Annotated[str | None, Query(pattern=HTML_OK)] = None,
) -> dict[str, Any] | Response:
    spec = _spec(collection_id)
    as_html = _wants_html(request, f)
    body = _collection(request, store, spec, _own_links(request, html=as_html))
    return html_pages.collection_page(body, base=_base(request)) if as_html else body


_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}


_GEOMETRY_SCHEMA = {"$ref": "https://geojson.org/schema/Geometry.json"}


def _field_schema(f: FieldSpec) -> dict[str, Any]:
    """JSON Schema of one field's values (``null`` allowed where the field may be empty)."""
    schema: dict[str, Any] = {"title": f"{f.zh} ({f.en})"}
    kind = "string" if f.kind == "date" else _JSON_TYPES[f.kind]
    # GDAL (3.6) reads only a single type name, not ["number", "null"]: empty values are
    # said with OpenAPI's "nullable" (which JSON Schema validators ignore).
    schema["type"] = kind
    if not f.required:
        schema["nullable"] = True
    if f.kind == "date":
        schema["format"] = "date"
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
        "$id": f"{_base(request)}/collections/{spec.name}/{what}",
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
    spec = _spec(collection_id)
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
    spec = _spec(collection_id)
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


def _parse_bbox(
    text: str | None, code: output_crs.Code = None
) -> tuple[float, float, float, float] | None:
    """The box as lon/lat in storage; given in ``code`` (``bbox-crs``), in its axis order.

    West above east is a box across the antimeridian (OGC API – Features Part 1, bbox).
    """
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InvalidInput(f"bbox 须为 4 个数字 (bbox must be 4 numbers): {text!r}") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInput("bbox 须为 minx,miny,maxx,maxy (6-number 3D boxes are not supported)")
    a, b, c, d = values
    if code is not None:
        try:
            values = list(output_crs.bbox_to_storage((a, b, c, d), code))
        except InvalidInput:
            raise
        except Exception:
            raise InvalidInput(f"bbox 无法转换 (bbox outside its CRS's area): {text!r}") from None
    minx, miny, maxx, maxy = values
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInput(f"bbox 超出经纬度范围 (bbox outside lon/lat range): {text!r}")
    return minx, miny, maxx, maxy


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a layer",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}, html_pages.HTML: {}}}},
)
def items(
    collection_id: str,
    request: Request,
    store: StoreDep,
    texts: FeatureCacheDep,
    settings: SettingsDep,
    caller: CallerDep,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy (CRS84)")] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    f: Annotated[str | None, Query(pattern="^(json|geojson|html)$")] = None,
    crs: Annotated[str | None, Query(description="CRS of the response (URI)")] = None,
    bbox_crs: Annotated[
        str | None, Query(alias="bbox-crs", description="CRS of bbox (URI)")
    ] = None,
    filter_: Annotated[
        str | None,
        Query(
            alias="filter",
            description="CQL2 text, on the properties listed by /queryables, e.g. "
            "`land_use = 'M1' AND price_wmu < 30` or `S_INTERSECTS(geometry, POLYGON((…)))`",
        ),
    ] = None,
    filter_lang: Annotated[
        str | None, Query(alias="filter-lang", pattern="^cql2-text$", description="cql2-text")
    ] = None,
    filter_crs: Annotated[
        str | None, Query(alias="filter-crs", description="CRS of the filter's geometries (URI)")
    ] = None,
    sortby: Annotated[
        str | None, Query(description="properties to sort by, `-` for descending: `-price_wmu`")
    ] = None,
    properties: Annotated[
        str | None, Query(description="the properties to return, comma-separated")
    ] = None,
) -> Response:
    spec = _spec(collection_id)
    unknown = sorted(set(request.query_params) - _ITEMS_PARAMS)
    if unknown:
        raise InvalidInput(f"未知查询参数 (unknown query parameters): {', '.join(unknown)}")
    limit = settings.default_limit if limit is None else limit
    if limit > settings.max_limit:
        raise InvalidInput(
            f"limit 最大为 {settings.max_limit} (limit must be ≤ {settings.max_limit})"
        )
    code = output_crs.parse(crs)
    box = _parse_bbox(bbox, output_crs.parse(bbox_crs, parameter="bbox-crs"))
    fields = spec.visible_fields(public=not caller.sees_internal)
    scope = store.features.scope(spec, fields)
    filter_code = output_crs.parse(filter_crs, parameter="filter-crs")
    where = [] if filter_ is None else [filters.compile_filter(filter_, scope, crs=filter_code)]
    if not caller.sees_internal:
        where += store.features.on_offer(spec)  # the public sees what is on offer, as on the map
    order = filters.compile_sortby(sortby, scope) if sortby is not None else []
    if properties is not None:
        names = [n.strip() for n in properties.split(",") if n.strip()]
        for name in names:
            scope.field(name, "properties")  # 400 alike for hidden and unknown names
        fields = tuple(f for f in fields if f.name in names)
    # Features and count from one release even if a new one is published in between.
    release = store.releases.current_id() if spec.name in RELEASED else None
    page = Page(spec, box, where, order, limit, offset, release)
    features = _page(store, texts, page, fields, code)
    if 0 < len(features) < limit or (offset == 0 and not features):
        matched: int | None = offset + len(features)  # the last page: no count needed
    else:
        matched = store.features.count(
            spec, bbox=box, release=release, where=where, at_most=settings.count_limit
        )
    base = f"{_base(request)}/collections/{spec.name}/items"
    query = {k: v for k, v in request.query_params.items() if k != "offset"}
    as_html = _wants_html(request, f)
    links = _own_links(request, html=as_html, json_type=GEOJSON)
    own_type = links[0]["type"]
    more = len(features) == limit if matched is None else offset + len(features) < matched
    if more:
        params = urlencode({**query, "offset": offset + limit})
        links.append({"href": f"{base}?{params}", "rel": "next", "type": own_type})
    if offset > 0:
        params = urlencode({**query, "offset": max(offset - limit, 0)})
        links.append({"href": f"{base}?{params}", "rel": "prev", "type": own_type})
    head: dict[str, Any] = {"type": "FeatureCollection"}
    if matched is not None:  # more than count_limit: not counted (see Settings)
        head["numberMatched"] = matched
    head |= {
        "numberReturned": len(features),
        "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "links": links,
    }
    if as_html:
        return html_pages.items_page(spec, fields, head, features, base=_base(request))
    body = b"".join(
        [json.dumps(head, ensure_ascii=False)[:-1].encode(), b', "features": [',
         b",".join(features), b"]}"]
    )  # fmt: skip
    return Response(body, media_type=GEOJSON, headers=_content_crs(code))


def _content_crs(code: output_crs.Code) -> dict[str, str]:
    return {"Content-Crs": f"<{output_crs.uri(code)}>"}


@router.get(
    "/collections/{collection_id}/items/{fid}",
    summary="One feature",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}, html_pages.HTML: {}}}},
)
def item(
    collection_id: str,
    fid: str,
    request: Request,
    store: StoreDep,
    caller: CallerDep,
    crs: Annotated[str | None, Query(description="CRS of the response (URI)")] = None,
    f: Annotated[str | None, Query(pattern="^(json|geojson|html)$")] = None,
) -> Response:
    spec = _spec(collection_id)
    unknown = sorted(set(request.query_params) - {"crs", "f"})
    if unknown:
        raise InvalidInput(f"未知查询参数 (unknown query parameters): {', '.join(unknown)}")
    code = output_crs.parse(crs)
    # A site not on offer is not there for the public (404), as on the map.
    public_where = [] if caller.sees_internal else store.features.on_offer(spec)
    frame = store.features.get(spec, _feature_id(spec, fid), where=public_where)
    fields = spec.visible_fields(public=not caller.sees_internal)
    body = _features(spec, frame, fields, code)[0]
    as_html = _wants_html(request, f)
    links = [
        *_own_links(request, html=as_html, json_type=GEOJSON),
        {
            "href": f"{_base(request)}/collections/{spec.name}",
            "rel": "collection",
            "type": "application/json",
        },
    ]
    body = f'{body[:-1]}, "links": {json.dumps(links, ensure_ascii=False)}}}'
    if as_html:
        return html_pages.item_page(spec, fields, json.loads(body), base=_base(request))
    return Response(body, media_type=GEOJSON, headers=_content_crs(code))


def _feature_id(spec: LayerSpec, text: str) -> int:
    """Feature ids are the integers 1…MAX_ID; any other id names no feature: 404, as for
    an id that is not there (an id is a string in the URL, so not a malformed request)."""
    if not (text.isascii() and text.isdigit() and len(text) <= 10 and 1 <= int(text) <= MAX_ID):
        raise NotFound(
            f"{spec.zh} {text[:20]!r} 不存在 ({spec.en} feature {text[:20]!r} not found)"
        )
    return int(text)


@dataclass(frozen=True)
class Page:
    """Which features a page of ``/items`` holds."""

    spec: LayerSpec
    bbox: tuple[float, float, float, float] | None
    where: list[sa.ColumnElement[bool]]
    order_by: list[sa.ColumnElement[Any]]
    limit: int
    offset: int
    release: int | None

    def read(self, store: Store) -> gpd.GeoDataFrame:
        return store.features.read(
            self.spec, bbox=self.bbox, where=self.where, order_by=self.order_by,
            limit=self.limit, offset=self.offset, release=self.release, as_stored=False,
        )  # fmt: skip

    def ids(self, store: Store) -> list[int]:
        return store.features.ids(
            self.spec, bbox=self.bbox, where=self.where, order_by=self.order_by,
            limit=self.limit, offset=self.offset, release=self.release,
        )  # fmt: skip


def _page(
    store: Store,
    cache: FeatureCache,
    page: Page,
    fields: Sequence[FieldSpec],
    code: output_crs.Code,
) -> list[bytes]:
    """The page's features as GeoJSON (UTF-8): its ids from the store, and the text of each
    feature written once per set of layer versions (see :class:`FeatureCache`)."""
    spec = page.spec
    versions = store.features.versions()
    fids = page.ids(store)
    group = (spec.name, page.release, tuple(f.name for f in fields), code)
    texts = cache.get(versions, group, fids)
    missing = [fid for fid in fids if fid not in texts]
    written: dict[int, bytes] = {}
    if missing:
        frame = store.features.read(spec, fids=missing, release=page.release, as_stored=False)
        shown = _features(spec, frame, fields, code)
        written = dict(zip(map(int, frame.index), map(str.encode, shown), strict=True))
    # Versions only grow, and every change bumps one: unchanged after the reads means
    # the ids and every text are of the same layers.
    if len(written) == len(missing) and store.features.versions() == versions:
        cache.put(versions, group, written)
        return [texts.get(fid) or written[fid] for fid in fids]
    # Changed meanwhile: the page as it is now, in one read.
    return [text.encode() for text in _features(spec, page.read(store), fields, code)]


def _features(
    spec: LayerSpec,
    frame: gpd.GeoDataFrame,
    fields: Sequence[FieldSpec],
    code: output_crs.Code = None,
) -> list[str]:
    derived = derive(frame, spec)  # areas from the stored geometry, before any transform
    if code is not None:
        shown = output_crs.to_output(derived.geometry.values.to_numpy(), code)
        derived = derived.set_geometry(gpd.GeoSeries(shown, index=derived.index), crs=None)
    return geojson.features(derived, fields, ids=list(frame.index))
