"""OGC API – Features: the landing page and the conformance classes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from geo_service import html_pages
from geo_service.deps import SettingsDep, get_caller
from geo_service.ogc import AS_HTML, HTML_OK, base_url, own_links, wants_html
from geo_service.routing import ServiceRoute

# Every route looks at the caller: a key sent is checked even where the answer is the
# same for everyone, so a client with a wrong key learns it at once (401), not later.
router = APIRouter(dependencies=[Depends(get_caller)], route_class=ServiceRoute)

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


@router.get("/", summary="Landing page", response_model=None, responses=AS_HTML)
def landing(
    request: Request, settings: SettingsDep, f: Annotated[str | None, Query()] = None
) -> Response:
    base = base_url(request)
    as_html = wants_html(request, f)
    links = [
        *own_links(request, html=as_html),
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


@router.get("/conformance", summary="Conformance classes", response_model=None, responses=AS_HTML)
def conformance(
    request: Request, f: Annotated[str | None, Query(pattern=HTML_OK)] = None
) -> dict[str, list[str]] | Response:
    if wants_html(request, f):
        links = own_links(request, html=True)
        return html_pages.conformance_page(CONFORMANCE, base=base_url(request), links=links)
    return {"conformsTo": CONFORMANCE}
