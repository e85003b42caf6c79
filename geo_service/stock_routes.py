"""The land bureau's stock list over HTTP (``/stock-lists``) and the audit log (``/audit``).

Uploads (:mod:`geo_service.uploads`) are read through the same validation as the command
line.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response

from geo_service.auth import Caller, Role
from geo_service.deps import SettingsDep, StoreDep, WorkerDep, actor_of, require
from geo_service.errors import error_responses
from geo_service.pages import page_response, render_page
from geo_service.routing import ServiceRoute, keeps_zone
from geo_service.schemas import StockListImport, StockRelease, StockReleaseDetail, StockReleases
from geo_service.uploads import upload_label, uploaded
from layers import geojson
from layers.catalog import PARCELS
from layers.errors import LayerValidationError
from layers.frames import derive
from layers.io import DRIVERS
from layers.stocklist import import_list, release_frames, staged_diff
from layers.store.releases import Release
from maps.diff import release_diff_map

router = APIRouter(tags=["stock list"], route_class=ServiceRoute)
BureauDep = Annotated[Caller, Depends(require(Role.LAND_BUREAU, Role.ADMIN))]
StaffDep = Annotated[Caller, Depends(require(Role.PLANNER, Role.LAND_BUREAU, Role.ADMIN))]
ReleaseId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
GEOJSON = "application/geo+json"


def _release(release: Release, request: Request) -> dict[str, Any]:
    base = f"{str(request.base_url).rstrip('/')}/stock-lists/{release.id}"
    return {
        **release.as_dict(),
        "links": [
            {"href": base, "rel": "self"},
            {"href": f"{base}/items", "rel": "items", "type": GEOJSON},
            {"href": f"{base}/diff", "rel": "diff"},
            {"href": f"{base}/source", "rel": "enclosure"},
        ],
    }


@router.post(
    "/stock-lists",
    status_code=201,
    response_model=StockListImport,
    summary="导入清单 (import a stock list)",
    responses=error_responses(409, 422),
)
@keeps_zone  # staged, not in force: no layer version moves until it is published
async def import_stock_list(
    request: Request,
    worker: WorkerDep,
    caller: BureauDep,
    file: UploadFile,
    year: Annotated[int, Query(ge=1990, le=2100)],
    settings: SettingsDep,
    repair: Annotated[bool, Query(description="repair invalid geometry, reported")] = False,
    confirm_removals: Annotated[
        bool,
        Query(
            description="stage the list even if it removes more than the allowed share "
            "of the parcels in force (GEO_SERVICE_MAX_REMOVED_SHARE, 20 %)"
        ),
    ] = False,
) -> Any:
    """Validate the uploaded list and stage it with its diff (201), or refuse it with
    the full report (422: also an empty list); one removing more than the allowed share
    of the parcels in force is refused (409 ``removals_unconfirmed``, naming how many of
    how many) unless ``confirm_removals=true``. Nothing is published until ``/publish``."""
    label = upload_label(file)
    async with uploaded(file, allowed=tuple(DRIVERS), folder=settings.tmp_dir) as path:
        result = await worker.run(
            import_list, path, year=year, actor=actor_of(caller, request), name=label,
            repair=repair, max_removed_share=settings.max_removed_share,
            confirm_removals=confirm_removals,
        )  # fmt: skip
    if result.release is None or result.diff is None:
        raise LayerValidationError(
            f"{label}: {len(result.report.problems)} 个问题, 清单未导入 "
            f"({len(result.report.problems)} problems; the list was not imported)",
            result.report.problems,
        )
    return {
        "release": _release(result.release, request),
        "report": result.report.as_dict(),
        "diff": result.diff.as_dict(),
    }


@router.get("/stock-lists", response_model=StockReleases, summary="清单历史 (every release)")
def list_releases(request: Request, store: StoreDep, _caller: StaffDep) -> dict[str, Any]:
    current = store.releases.current()
    return {
        "current": current.id if current else None,
        "releases": [_release(r, request) for r in store.releases.all()],
    }


@router.get(
    "/stock-lists/as-of/{date}",
    response_model=StockRelease,
    summary="某日有效的清单 (the list in force on a day)",
)
def as_of(
    request: Request,
    store: StoreDep,
    _caller: StaffDep,
    date: Annotated[str, PathParam(pattern=r"^\d{4}-\d{2}-\d{2}$")],
) -> dict[str, Any]:
    return _release(store.releases.on(date), request)


@router.get(
    "/stock-lists/{release_id}",
    response_model=StockReleaseDetail,
    summary="一版清单 (one release, with its report)",
)
def get_release(
    request: Request, store: StoreDep, _caller: StaffDep, release_id: ReleaseId
) -> dict[str, Any]:
    release = store.releases.get(release_id)
    return {**_release(release, request), "report": release.report}


@router.get(
    "/stock-lists/{release_id}/diff", summary="与现行清单的差异 (diff against the list in force)"
)
def get_diff(store: StoreDep, _caller: StaffDep, release_id: ReleaseId) -> dict[str, Any]:
    return staged_diff(store, store.releases.get(release_id)).as_dict()


@router.get(
    "/stock-lists/{release_id}/diff/map",
    response_class=HTMLResponse,
    summary="差异图 (the diff as a map: added, removed, changed, unchanged)",
)
def get_diff_map(
    store: StoreDep, settings: SettingsDep, _caller: StaffDep, release_id: ReleaseId
) -> HTMLResponse:
    release = store.releases.get(release_id)
    m = release_diff_map(
        release,
        **release_frames(store, release),
        basemap=settings.map_basemap,
    )
    return page_response(render_page(m, settings))


@router.get(
    "/stock-lists/{release_id}/items",
    summary="一版清单的地块 (the parcels of one release)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def release_items(store: StoreDep, _caller: StaffDep, release_id: ReleaseId) -> Response:
    store.releases.get(release_id)  # 404 for an unknown release
    frame = store.features.read(PARCELS, release=release_id)
    features = geojson.features(derive(frame, PARCELS), PARCELS.fields, ids=list(frame.index))
    body = '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"
    return Response(body, media_type=GEOJSON)


@router.get(
    "/stock-lists/{release_id}/source",
    summary="导入的原始文件 (the file, byte for byte)",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def release_source(store: StoreDep, _caller: StaffDep, release_id: ReleaseId) -> Response:
    name, data = store.releases.source(release_id)
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_")
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{ascii_name}"'},
    )


@router.post(
    "/stock-lists/{release_id}/publish",
    response_model=StockRelease,
    summary="发布 (publish a staged release)",
    responses=error_responses(409),
)
def publish(
    request: Request, store: StoreDep, caller: BureauDep, release_id: ReleaseId
) -> dict[str, Any]:
    """The list is in force for matching and maps when this answers."""
    published = store.releases.publish(release_id, actor=actor_of(caller, request))
    return _release(published, request)


@router.post(
    "/stock-lists/{release_id}/discard",
    response_model=StockRelease,
    summary="放弃 (discard a staged release)",
    responses=error_responses(409),
)
@keeps_zone  # a staged list was never in force
def discard(
    request: Request, store: StoreDep, caller: BureauDep, release_id: ReleaseId
) -> dict[str, Any]:
    return _release(store.releases.discard(release_id, actor=actor_of(caller, request)), request)


AuditDep = Annotated[Caller, Depends(require(Role.LAND_BUREAU, Role.ADMIN))]


@router.get("/audit", summary="审计日志 (the audit log, newest first)")
def audit(
    store: StoreDep, _caller: AuditDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> JSONResponse:
    rows = store.audit.rows(limit=limit)
    body = json.dumps({"rows": rows}, ensure_ascii=False, default=str)
    return JSONResponse(content=json.loads(body))
