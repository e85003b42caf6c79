"""OGC API – Features: the features of a layer (``/items``), and one feature.

Properties are cut to the public allow-list for anonymous callers at the point where
they are serialised, so no route can leak an internal field by forgetting to. Which
features a page holds is the store's (:meth:`layers.store.features.Features.page`);
this module reads the request and writes the answer.
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
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from geo_service import html_pages
from geo_service.deps import CallerDep, FeatureCacheDep, SettingsDep, StoreDep, get_caller
from geo_service.feature_cache import FeatureCache
from geo_service.ogc import (
    GEOJSON,
    MAX_ID,
    base_url,
    content_crs,
    layer_spec,
    own_links,
    wants_html,
)
from geo_service.routing import ServiceRoute
from geo_service.schemas import Feature, FeatureCollection, schema_ref
from layers import geojson, output_crs
from layers.errors import InvalidInput, NotFound
from layers.frames import derive
from layers.schema import FieldSpec, LayerSpec
from layers.store.feature_query import FeaturePage, FeatureQuery
from layers.store.store import Store

# Every route looks at the caller: a key sent is checked even where the answer is the
# same for everyone, so a client with a wrong key learns it at once (401), not later.
router = APIRouter(dependencies=[Depends(get_caller)], route_class=ServiceRoute)

_ITEMS_PARAMS = frozenset(
    {"bbox", "bbox-crs", "crs", "limit", "offset", "f"}
    | {"filter", "filter-lang", "filter-crs", "sortby", "properties"}
)


@dataclass(frozen=True)
class ItemsParams:
    """The query parameters of ``/items``, as sent."""

    bbox: str | None
    limit: int | None
    offset: int
    f: str | None
    crs: str | None
    bbox_crs: str | None
    filter: str | None
    filter_lang: str | None
    filter_crs: str | None
    sortby: str | None
    properties: str | None


def items_params(
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
) -> ItemsParams:
    return ItemsParams(
        bbox, limit, offset, f, crs, bbox_crs, filter_, filter_lang, filter_crs, sortby,
        properties,
    )  # fmt: skip


ItemsParamsDep = Annotated[ItemsParams, Depends(items_params)]


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


def _unknown_params(request: Request, known: frozenset[str]) -> None:
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise InvalidInput(f"未知查询参数 (unknown query parameters): {', '.join(unknown)}")


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a layer",
    response_class=Response,
    responses={
        200: {"content": {GEOJSON: {"schema": schema_ref(FeatureCollection)}, html_pages.HTML: {}}}
    },
)
def items(
    collection_id: str,
    request: Request,
    store: StoreDep,
    texts: FeatureCacheDep,
    settings: SettingsDep,
    caller: CallerDep,
    params: ItemsParamsDep,
) -> Response:
    spec = layer_spec(collection_id)
    _unknown_params(request, _ITEMS_PARAMS)
    limit = settings.default_limit if params.limit is None else params.limit
    if limit > settings.max_limit:
        raise InvalidInput(
            f"limit 最大为 {settings.max_limit} (limit must be ≤ {settings.max_limit})"
        )
    code = output_crs.parse(params.crs)
    page = store.features.page(
        FeatureQuery(
            spec,
            spec.visible_fields(public=not caller.sees_internal),
            limit,
            params.offset,
            bbox=_parse_bbox(params.bbox, output_crs.parse(params.bbox_crs, parameter="bbox-crs")),
            filter=params.filter,
            filter_lang=params.filter_lang or "cql2-text",
            filter_crs=output_crs.parse(params.filter_crs, parameter="filter-crs"),
            sortby=params.sortby,
            properties=_names(params.properties),
            on_offer_only=not caller.sees_internal,
            count_limit=settings.count_limit,
        )
    )
    features = _texts(store, texts, page, code)
    as_html = wants_html(request, params.f)
    head = _head(request, page, as_html=as_html)
    if as_html:
        return html_pages.items_page(spec, page.fields, head, features, base=base_url(request))
    body = b"".join(
        [json.dumps(head, ensure_ascii=False)[:-1].encode(), b', "features": [',
         b",".join(features), b"]}"]
    )  # fmt: skip
    return Response(body, media_type=GEOJSON, headers=content_crs(code))


def _names(properties: str | None) -> tuple[str, ...] | None:
    if properties is None:
        return None
    return tuple(n.strip() for n in properties.split(",") if n.strip())


def _head(request: Request, page: FeaturePage, *, as_html: bool) -> dict[str, Any]:
    """The FeatureCollection's members before its features: counts, time and links
    (self, alternate, and next and prev where there are such pages)."""
    query = page.query
    base = f"{base_url(request)}/collections/{query.layer.name}/items"
    kept = {k: v for k, v in request.query_params.items() if k != "offset"}
    links = own_links(request, html=as_html, json_type=GEOJSON)
    own_type = links[0]["type"]
    if page.has_next:
        params = urlencode({**kept, "offset": query.offset + query.limit})
        links.append({"href": f"{base}?{params}", "rel": "next", "type": own_type})
    if query.offset > 0:
        params = urlencode({**kept, "offset": max(query.offset - query.limit, 0)})
        links.append({"href": f"{base}?{params}", "rel": "prev", "type": own_type})
    head: dict[str, Any] = {"type": "FeatureCollection"}
    if page.number_matched is not None:  # more than count_limit: not counted (see Settings)
        head["numberMatched"] = page.number_matched
    return head | {
        "numberReturned": page.number_returned,
        "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "links": links,
    }


@router.get(
    "/collections/{collection_id}/items/{fid}",
    summary="One feature",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {"schema": schema_ref(Feature)}, html_pages.HTML: {}}}},
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
    spec = layer_spec(collection_id)
    _unknown_params(request, frozenset({"crs", "f"}))
    code = output_crs.parse(crs)
    # A site not on offer is not there for the public (404), as on the map.
    public_where = [] if caller.sees_internal else store.features.on_offer(spec)
    frame = store.features.get(spec, _feature_id(spec, fid), where=public_where)
    fields = spec.visible_fields(public=not caller.sees_internal)
    body = _features(spec, frame, fields, code)[0]
    as_html = wants_html(request, f)
    links = [
        *own_links(request, html=as_html, json_type=GEOJSON),
        {
            "href": f"{base_url(request)}/collections/{spec.name}",
            "rel": "collection",
            "type": "application/json",
        },
    ]
    body = f'{body[:-1]}, "links": {json.dumps(links, ensure_ascii=False)}}}'
    if as_html:
        return html_pages.item_page(spec, fields, json.loads(body), base=base_url(request))
    return Response(body, media_type=GEOJSON, headers=content_crs(code))


def _feature_id(spec: LayerSpec, text: str) -> int:
    """Feature ids are the integers 1…MAX_ID; any other id names no feature: 404, as for
    an id that is not there (an id is a string in the URL, so not a malformed request)."""
    if not (text.isascii() and text.isdigit() and len(text) <= 10 and 1 <= int(text) <= MAX_ID):
        raise NotFound(
            f"{spec.zh} {text[:20]!r} 不存在 ({spec.en} feature {text[:20]!r} not found)"
        )
    return int(text)


def _texts(
    store: Store, cache: FeatureCache, page: FeaturePage, code: output_crs.Code
) -> list[bytes]:
    """The page's features as GeoJSON (UTF-8): the text of each feature written once per
    set of layer versions (see :class:`FeatureCache`)."""
    spec, fields = page.query.layer, page.fields
    group = (spec.name, page.release, tuple(f.name for f in fields), code)
    texts = cache.get(page.versions, group, list(page.ids))
    missing = [fid for fid in page.ids if fid not in texts]
    written: dict[int, bytes] = {}
    if missing:
        frame = store.features.page_frame(page, missing)
        shown = _features(spec, frame, fields, code)
        written = dict(zip(map(int, frame.index), map(str.encode, shown), strict=True))
    # Versions only grow, and every change bumps one: unchanged after the reads means
    # the ids and every text are of the same layers.
    if len(written) == len(missing) and store.features.versions() == page.versions:
        cache.put(page.versions, group, written)
        return [texts.get(fid) or written[fid] for fid in page.ids]
    # Changed meanwhile: the page as it is now, in one read.
    frame = store.features.page_frame(page)
    return [text.encode() for text in _features(spec, frame, fields, code)]


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
