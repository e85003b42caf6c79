"""What the OGC API – Features routes share: media types, the layer a path names, and
the links every response carries (its own, and its alternate encoding)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from geo_service import html_pages
from layers import output_crs
from layers.catalog import LAYERS
from layers.errors import UnknownLayer
from layers.schema import LayerSpec

GEOJSON = "application/geo+json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
MAX_ID = 2**31 - 1  # feature ids and offsets are 32-bit in both stores
HTML_OK = "^(json|html)$"
"""``f`` of the resources that are JSON or HTML; features are also ``geojson``."""
AS_HTML: dict[int | str, dict[str, Any]] = {200: {"content": {html_pages.HTML: {}}}}


def layer_spec(collection_id: str) -> LayerSpec:
    """The layer a collection id names; 404 naming every collection otherwise."""
    try:
        return LAYERS[collection_id]
    except KeyError:
        raise UnknownLayer(
            f"没有图层 {collection_id!r} (no collection {collection_id!r}); "
            f"collections: {', '.join(LAYERS)}"
        ) from None


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def wants_html(request: Request, f: str | None) -> bool:
    if f is not None:
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def own_links(
    request: Request, *, html: bool, json_type: str = "application/json"
) -> list[dict[str, str]]:
    """The response's self link and its alternate in the other encoding (JSON or HTML)."""
    other = request.url.include_query_params(f="json" if html else "html")
    own_type, other_type = (html_pages.HTML, json_type) if html else (json_type, html_pages.HTML)
    return [
        {"href": str(request.url), "rel": "self", "type": own_type},
        {"href": str(other), "rel": "alternate", "type": other_type},
    ]


def content_crs(code: output_crs.Code) -> dict[str, str]:
    """The ``Content-Crs`` header of a response in ``code``."""
    return {"Content-Crs": f"<{output_crs.uri(code)}>"}
