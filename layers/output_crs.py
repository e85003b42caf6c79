"""CRS by reference for readers (OGC API – Features Part 2): which CRSs the service
answers in, their URIs, and axis order done right.

Storage is CGCS2000 longitude/latitude (EPSG:4490). A reader may ask for CRS84 (the
default: longitude, latitude), EPSG:4490 or EPSG:4326 — which, as EPSG defines them, put
*latitude first* — or any CGCS2000 3-degree Gauss-Krüger zone (EPSG:4513–4554, northing
first, as EPSG defines them). Coordinates are written, and ``bbox-crs`` boxes read, in the
CRS's own axis order, which is what GDAL and QGIS expect from an OGC API.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS

from layers.crs import STORAGE_EPSG, transformer
from layers.errors import InvalidInput

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_EPSG_URI = re.compile(r"^http://www\.opengis\.net/def/crs/EPSG/0/(\d{4,5})$")
GAUSS_KRUGER = range(4513, 4555)
"""CGCS2000 3-degree Gauss-Krüger zones: 4513–4533 zone-prefixed, 4534–4554 not."""
Code = int | None
"""An EPSG code, or ``None`` for CRS84."""


def uri(code: Code) -> str:
    return CRS84 if code is None else f"http://www.opengis.net/def/crs/EPSG/0/{code}"


def parse(text: str | None, *, parameter: str = "crs") -> Code:
    """The CRS a reader names (CRS84 when none); :class:`InvalidInput` (400) for others."""
    if text is None or text == CRS84:
        return None
    match = _EPSG_URI.match(text.strip())
    code = int(match.group(1)) if match else None
    if code is None or not (code in (STORAGE_EPSG, 4326) or code in GAUSS_KRUGER):
        raise InvalidInput(
            f"不支持的坐标系 {parameter}={text!r} (unsupported CRS); supported: {CRS84}, "
            "EPSG:4490, EPSG:4326 and the CGCS2000 Gauss-Krüger zones EPSG:4513–4554, as "
            "http://www.opengis.net/def/crs/EPSG/0/{code}"
        )
    return code


@lru_cache(maxsize=64)
def north_first(code: Code) -> bool:
    """Whether the CRS's first axis is northing/latitude (EPSG:4326 and 4490 are)."""
    return code is not None and CRS.from_epsg(code).axis_info[0].direction in ("north", "south")


def to_output(geometries: npt.NDArray[np.object_], code: Code) -> npt.NDArray[np.object_]:
    """Storage geometries in the reader's CRS and its axis order."""
    if code is None:
        return geometries  # CGCS2000 and WGS 84 agree to well under a metre
    convert = transformer(STORAGE_EPSG, code)
    flip = north_first(code)

    def apply(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x, y = convert.transform(xy[:, 0], xy[:, 1])
        return np.column_stack((y, x) if flip else (x, y))

    return np.asarray(shapely.transform(geometries, apply))


def to_storage(geometry: shapely.Geometry, code: Code) -> shapely.Geometry:
    """A reader's geometry (in the CRS's axis order) in storage lon/lat."""
    if code is None:
        return geometry
    convert = transformer(code, STORAGE_EPSG)
    flip = north_first(code)

    def apply(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        a, b = (xy[:, 1], xy[:, 0]) if flip else (xy[:, 0], xy[:, 1])
        return np.column_stack(convert.transform(a, b))

    return shapely.transform(geometry, apply)


def bbox_to_storage(
    bbox: tuple[float, float, float, float], code: Code
) -> tuple[float, float, float, float]:
    """A reader's box (in the CRS's axis order) as a lon/lat box in storage.

    For the geographic CRSs it is the same box (CGCS2000 and WGS 84 agree to well under a
    metre), west edge above east edge when it crosses the antimeridian. A projected box
    becomes the lon/lat box that covers it, widened by ``COVER_PAD_DEG``: transformed
    back from coordinates given to a few decimals, its edges could otherwise fall a hair
    short of a feature that lies exactly on them.
    """
    if code is None:
        return bbox
    a, b, c, d = bbox
    minx, miny, maxx, maxy = (b, a, d, c) if north_first(code) else (a, b, c, d)
    if miny > maxy or (minx > maxx and not _geographic(code)):
        north = north_first(code)
        raise InvalidInput(
            f"bbox 的最小值大于最大值, 注意 {uri(code)} 的第一个轴朝{'北' if north else '东'} "
            f"(bbox minimum above maximum: {a},{b},{c},{d}; the first axis of {uri(code)} "
            f"points {'north' if north else 'east'})"
        )
    if _geographic(code):
        return minx, miny, maxx, maxy
    lon0, lat0, lon1, lat1 = transformer(code, STORAGE_EPSG).transform_bounds(
        minx, miny, maxx, maxy, densify_pts=21
    )
    pad = COVER_PAD_DEG
    return (
        max(float(lon0) - pad, -180.0),
        max(float(lat0) - pad, -90.0),
        min(float(lon1) + pad, 180.0),
        min(float(lat1) + pad, 90.0),
    )


COVER_PAD_DEG = 1e-7
"""How much a covering box is widened (about 1 cm)."""


@lru_cache(maxsize=64)
def _geographic(code: int) -> bool:
    return bool(CRS.from_epsg(code).is_geographic)
