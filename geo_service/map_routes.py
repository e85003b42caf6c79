"""Map pages (``/maps/…``), their assets (``/static/…``) and a local basemap (``/basemap/…``).

Pages carry a Content-Security-Policy header that allows only their own scripts (by hash)
and assets from this service; no page makes a request to another host unless the settings
choose an online basemap.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from typing import Annotated

import geopandas as gpd
import numpy as np
import shapely
from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from geo_service.deps import (
    CallerDep,
    PlannerDep,
    SettingsDep,
    StaffMapDep,
    StoreDep,
    ZonesDep,
)
from geo_service.errors import error_responses
from geo_service.pages import page_response, render_page
from geo_service.reservation_bodies import PRINTABLE
from geo_service.routing import ProjectRoute, keeps_zone
from geo_service.schemas import PROJECT_EXAMPLES
from geo_service.settings import Settings
from layers.catalog import FACTORIES, LAYERS, ON_OFFER, PARCELS, PARKS, ROADS
from layers.errors import InvalidInput, NotFound
from layers.frames import derive
from layers.schema import LayerSpec
from layers.tiling import MAX_ZOOM, MIN_ZOOM, SiteFilter, check, storage_bounds
from maps import tiles
from maps.base import context_popup
from maps.investor import factory_popup, investor_map, listed, parcel_popup
from maps.page import ASSETS
from maps.preselect import preselect_map
from maps.readiness import parcel_popup as readiness_parcel_popup
from maps.readiness import readiness_map
from matching.engine import match
from matching.request import ProjectRequest, load_request
from matching.zone import Zone

router = APIRouter(tags=["maps"], route_class=ProjectRoute)
MVT = "application/vnd.mapbox-vector-tile"


def _tiled(frames: Mapping[str, gpd.GeoDataFrame], settings: Settings, *layers: str) -> bool:
    """Whether a page draws its sites from vector tiles: too many to embed, and a basemap
    in true coordinates."""
    sites = sum(len(frames[layer]) for layer in layers)
    return sites > settings.map_tile_threshold and not settings.map_basemap.shifts


@router.get("/maps/investor", response_class=HTMLResponse, summary="投资者地图 (public)")
def investor_page(zones: ZonesDep, settings: SettingsDep) -> HTMLResponse:
    def build() -> str:
        frames = zones.frames()
        m = investor_map(
            frames,
            basemap=settings.map_basemap,
            desk=settings.service_desk,
            popups="fetch",
            tiles=_tiled(frames, settings, PARCELS.name, FACTORIES.name),
        )
        return render_page(m, settings)

    return page_response(zones.output(("investor",), build))


@router.get(
    "/maps/readiness",
    response_class=HTMLResponse,
    summary="标准地净地条件图 (staff)",
    responses=error_responses(404),
)
def readiness_page(
    zones: ZonesDep,
    settings: SettingsDep,
    _caller: StaffMapDep,
    park: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    if park is not None and park not in set(zones.frames()[PARKS.name][PARKS.id_field]):
        # Not an empty map: a mistyped park would look like a park without land.
        raise NotFound(f"园区 {park!r} 不存在 (no park {park!r}); see /collections/parks/items")

    def build() -> str:
        frames = zones.frames()
        m = readiness_map(
            frames,
            park=park,
            basemap=settings.map_basemap,
            popups="fetch",
            tiles=_tiled(frames, settings, PARCELS.name),
        )
        return render_page(m, settings)

    return page_response(zones.output(("readiness", park), build))


_FRAGMENT = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


@router.get(
    "/maps/popup/investor/{layer}/{fid}", response_class=HTMLResponse, include_in_schema=False
)
def investor_popup(
    store: StoreDep,
    layer: Annotated[str, Path(pattern=f"^({'|'.join(ON_OFFER)})$")],
    fid: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> HTMLResponse:
    spec = LAYERS[layer]
    row = listed(store.features.get(spec, fid), spec)
    if row.empty:  # not on offer: investors see only what is listed
        raise NotFound(f"{spec.zh} {fid} 不存在 ({spec.en} feature {fid} not found)")
    popup = parcel_popup if layer == PARCELS.name else factory_popup
    return HTMLResponse(popup(row.iloc[0].to_dict()), headers=_FRAGMENT)


@router.get(
    "/maps/popup/readiness/parcels/{fid}", response_class=HTMLResponse, include_in_schema=False
)
def readiness_popup(
    store: StoreDep, _caller: StaffMapDep, fid: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> HTMLResponse:
    spec = PARCELS
    row = derive(store.features.get(spec, fid), spec).iloc[0].to_dict()
    return HTMLResponse(readiness_parcel_popup(row), headers=_FRAGMENT)


@router.get("/maps/popup/roads/{fid}", response_class=HTMLResponse, include_in_schema=False)
def road_popup(store: StoreDep, fid: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> HTMLResponse:
    """A road's popup on a map whose roads are drawn from tiles (public fields only)."""
    row = store.features.get(ROADS, fid).iloc[0].to_dict()
    return HTMLResponse(context_popup(ROADS, row), headers=_FRAGMENT)


async def _preselect(
    request: ProjectRequest, zones: ZonesDep, settings: Settings, top: int
) -> HTMLResponse:
    zone = await run_in_threadpool(zones.get)
    result = await run_in_threadpool(match, request, zone, top_n=top)
    m = await run_in_threadpool(preselect_map, result, zone, basemap=settings.map_basemap)
    return page_response(await run_in_threadpool(render_page, m, settings))


@router.post("/maps/preselect", response_class=HTMLResponse, summary="预选址图 (planners)")
@keeps_zone  # a query sent as a body
async def preselect_page(
    zones: ZonesDep,
    settings: SettingsDep,
    _caller: PlannerDep,
    request: Annotated[ProjectRequest, Body(openapi_examples=PROJECT_EXAMPLES)],
    top: Annotated[int, Query(ge=1, le=50)] = 10,
) -> HTMLResponse:
    return await _preselect(request, zones, settings, top)


@router.get(
    "/maps/preselect",
    response_class=HTMLResponse,
    summary="预选址图 for an example request (planners)",
    responses=error_responses(404),
)
async def preselect_example(
    zones: ZonesDep,
    settings: SettingsDep,
    _caller: PlannerDep,
    example: Annotated[str, Query(pattern=r"^[a-z0-9_]{1,60}$")],
    top: Annotated[int, Query(ge=1, le=50)] = 10,
) -> HTMLResponse:
    path = settings.examples_dir / f"{example}.json"
    if not path.is_file():
        raise NotFound(f"没有示例需求 {example!r} (no example request)")
    return await _preselect(load_request(path), zones, settings, top)


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.pbf",
    summary="矢量瓦片 (Mapbox vector tile)",
    response_class=Response,
    responses={
        200: {"content": {MVT: {}}},
        204: {"description": "瓦片内无要素 (no features in the tile)"},
    },
)
def tile(
    store: StoreDep,
    zones: ZonesDep,
    caller: CallerDep,
    layer: Annotated[str, Path(pattern=f"^({'|'.join(tiles.TILE_FIELDS)})$")],
    z: Annotated[int, Path(ge=MIN_ZOOM, le=MAX_ZOOM)],
    x: Annotated[int, Path(ge=0, le=2**MAX_ZOOM - 1)],
    y: Annotated[int, Path(ge=0, le=2**MAX_ZOOM - 1)],
    park: Annotated[
        str | None,
        Query(max_length=40, pattern=PRINTABLE, description="只含此园区的 (of this park only)"),
    ] = None,
    min_m2: Annotated[
        float | None, Query(allow_inf_nan=False, description="面积不小于 (size at least, m²)")
    ] = None,
    max_m2: Annotated[
        float | None, Query(allow_inf_nan=False, description="面积不大于 (size at most, m²)")
    ] = None,
) -> Response:
    """Public callers get listed sites and public fields only; staff get every site;
    roads are the same for everyone. ``park``, ``min_m2`` and ``max_m2`` keep only the
    sites (parcels: area, factories: floor area) a map's filter panel keeps: its squares
    of counts below zoom 12 then count only those. Tiles are encoded once per edit of the
    layers (PostGIS ``ST_AsMVT``, or in process from the zone held in memory on the
    embedded store)."""
    spec = LAYERS[layer]
    public = not caller.sees_internal
    check(z, x, y)
    only = SiteFilter(park=park, min_m2=min_m2, max_m2=max_m2)

    def build() -> bytes:
        if store.is_postgis:
            return store.tiles.vector(
                spec,
                z,
                x,
                y,
                fields=tiles.tile_fields(spec, public=public),
                status=tiles.LISTED.get(spec.name) if public else None,
                only=only,
            )
        return _encoded(zones.get(), spec, (z, x, y), public=public, only=only)

    data = zones.output(("tile", layer, public, z, x, y, only), build)
    # The service keeps each tile until the layers change; browsers and proxies must ask
    # again (a site reserved a moment ago is gone from the public's tiles at once), and
    # what they get depends on who asks.
    return Response(
        data,
        media_type=MVT,
        status_code=200 if data else 204,
        headers={
            "Cache-Control": "private, no-cache" if caller.sees_internal else "no-cache",
            "Vary": "Authorization, X-API-Key, Cookie",
        },
    )


def _encoded(
    zone: Zone, spec: LayerSpec, zxy: tuple[int, int, int], *, public: bool, only: SiteFilter
) -> bytes:
    """A tile encoded in process from the zone's frames: a site layer's has its areas and
    readiness already, which a tile would otherwise work out again (1.0 of 1.4 s for a
    zoom-8 tile of 100,000 parcels with an area filter)."""
    frame = zone.roads if spec.name == ROADS.name else zone.layer(spec.name).frame
    hits = frame.sindex.query(shapely.box(*storage_bounds(*zxy)), predicate="intersects")
    chosen = frame.iloc[np.sort(hits)].set_index("fid")
    return tiles.encode(chosen, spec, *zxy, public=public, only=only)


@router.get("/static/{name:path}", include_in_schema=False)
def static_asset(name: str) -> Response:
    path = ASSETS.get(name)  # only the files maps load; no path is ever joined
    if path is None:
        raise NotFound("no such asset")
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/basemap/{z}/{x}/{y}.png", include_in_schema=False)
def basemap_tile(
    settings: SettingsDep,
    z: Annotated[int, Path(ge=0, le=22)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
) -> Response:
    folder = settings.basemap_tiles
    if settings.basemap != "local" or folder is None:
        raise NotFound("本地底图未配置 (no local basemap configured)")
    if x >= 2**z or y >= 2**z:
        raise InvalidInput("tile outside the zoom level")
    tile = folder / str(z) / str(x) / f"{y}.png"
    if not tile.is_file():
        raise NotFound("tile not found")
    return FileResponse(tile, media_type="image/png")


__all__ = ["router"]
