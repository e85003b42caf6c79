"""Downloads for staff (``/downloads/…``): the whole zone as one GeoPackage, for QGIS.

The file is built in a temporary folder of our own naming, opened, and the folder removed
before the first byte is sent: the open file is streamed, so nothing is left on disk even
when the client goes away mid-download. Downloads are reads; nothing is audited.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from geo_service.auth import Caller, Role
from geo_service.deps import SettingsDep, StoreDep, require
from geo_service.routing import ServiceRoute
from layers.catalog import LAYERS
from layers.io import write_zone_file
from layers.store.store import Store

router = APIRouter(tags=["downloads"], route_class=ServiceRoute)
StaffDep = Annotated[Caller, Depends(require(Role.PLANNER, Role.LAND_BUREAU, Role.ADMIN))]
GPKG = "application/geopackage+sqlite3"
_CHUNK = 1 << 20


def zone_file(store: Store, *, folder: Path | None = None) -> BinaryIO:
    """Every layer as in force (stored values, as ``geo-service export`` writes them), all
    fields, in EPSG:4490, as an open GeoPackage whose file is already removed (built in a
    temporary folder in ``folder``; unset: the system's temporary folder)."""
    folder = Path(tempfile.mkdtemp(prefix="geo-service-download-", dir=folder))
    try:
        path = folder / "zone.gpkg"
        frames = {name: store.features.read(spec, as_stored=True) for name, spec in LAYERS.items()}
        write_zone_file(frames, LAYERS, path)
        return path.open("rb")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


@router.get(
    "/downloads/zone.gpkg",
    summary="整个开发区 GeoPackage (the whole zone as one GeoPackage; staff)",
    response_class=StreamingResponse,
    responses={200: {"content": {GPKG: {}}}},
)
def zone_gpkg(store: StoreDep, settings: SettingsDep, _caller: StaffDep) -> StreamingResponse:
    """One GeoPackage with a table per layer (parks, parcels, factories, infrastructure,
    roads): the features in force with every field, in CGCS2000 (EPSG:4490)."""
    handle = zone_file(store, folder=settings.tmp_dir)
    return StreamingResponse(
        _chunks(handle),
        media_type=GPKG,
        headers={
            "Content-Disposition": 'attachment; filename="zone.gpkg"',
            "Content-Length": str(os.fstat(handle.fileno()).st_size),
            "Cache-Control": "private, no-store",  # internal fields: never in a shared cache
        },
    )
