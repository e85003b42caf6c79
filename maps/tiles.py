"""Vector tiles (Mapbox Vector Tile, ``.pbf``) of the site layers, for maps too large to
embed. The embedded store encodes them here; each tile carries only the few fields a map
styles and filters by, cut to what the caller may see, and the feature id, by which a
popup is fetched when opened.
"""

from __future__ import annotations

import math

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import shapely

from layers.catalog import FACTORIES, PARCELS
from layers.crs import STORAGE_EPSG, transformer
from layers.errors import InvalidInput
from layers.frames import derive
from layers.schema import LayerSpec

EXTENT = 4096
BUFFER = 64  # tile units beyond the edge, so strokes do not break at tile borders
MIN_ZOOM, MAX_ZOOM = 10, 20
"""Below zoom 10 a tile would hold a whole region; such views are refused, not thinned."""
WEB_MERCATOR = 3857
_HALF = 20037508.342789244  # half the Web Mercator world width, m
TILE_FIELDS: dict[str, tuple[str, ...]] = {
    PARCELS.name: ("parcel_id", "park_id", "status", "land_use", "readiness", "area_mu"),
    FACTORIES.name: ("factory_id", "park_id", "status", "floor_m2"),
}
LISTED = {PARCELS.name: "available", FACTORIES.name: "idle"}
"""What the public sees of each layer: the sites on offer."""


def mercator_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Bounds of tile z/x/y in Web Mercator metres (XYZ scheme, y down from the north).

    Examples
    --------
    >>> [round(v) for v in mercator_bounds(0, 0, 0)]
    [-20037508, -20037508, 20037508, 20037508]
    """
    check(z, x, y, min_zoom=0)
    size = 2 * _HALF / 2**z
    minx = -_HALF + x * size
    maxy = _HALF - y * size
    return minx, maxy - size, minx + size, maxy


def check(z: int, x: int, y: int, *, min_zoom: int = MIN_ZOOM) -> None:
    if not min_zoom <= z <= MAX_ZOOM:
        raise InvalidInput(
            f"缩放级别须在 {min_zoom}–{MAX_ZOOM} (zoom must be {min_zoom}–{MAX_ZOOM})"
        )
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidInput(f"瓦片 {z}/{x}/{y} 超出范围 (tile outside zoom level {z})")


def storage_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Bounds of the tile (with its buffer) in EPSG:4490 degrees, to select features."""
    minx, miny, maxx, maxy = mercator_bounds(z, x, y)
    pad = (maxx - minx) * BUFFER / EXTENT
    lon, lat = transformer(WEB_MERCATOR, STORAGE_EPSG).transform(
        np.array([minx - pad, maxx + pad]), np.array([miny - pad, maxy + pad])
    )
    return float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1])


def tile_fields(spec: LayerSpec, *, public: bool) -> list[str]:
    visible = set(spec.field_names(spec.visible_fields(public=public)))
    return [name for name in TILE_FIELDS[spec.name] if name in visible]


def encode(
    frame: gpd.GeoDataFrame, spec: LayerSpec, z: int, x: int, y: int, *, public: bool
) -> bytes:
    """One tile of ``frame`` (canonical, indexed by feature id, already selected by the
    tile's :func:`storage_bounds`): public callers get only listed sites and public fields."""
    check(z, x, y)
    out = derive(frame, spec)
    if public:
        out = out[out["status"] == LISTED[spec.name]]
    bounds = mercator_bounds(z, x, y)
    pad = (bounds[2] - bounds[0]) * BUFFER / EXTENT
    clip = shapely.box(bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad)
    to_mercator = transformer(STORAGE_EPSG, WEB_MERCATOR)
    geoms = shapely.transform(
        out.geometry.values.to_numpy(),
        lambda xy: np.column_stack(to_mercator.transform(xy[:, 0], xy[:, 1])),
    )
    geoms = shapely.intersection(geoms, clip)
    fields = tile_fields(spec, public=public)
    features = []
    for fid, geom, row in zip(out.index, geoms, out[fields].to_dict("records"), strict=True):
        if shapely.is_empty(geom):
            continue
        props = {k: _value(v) for k, v in row.items() if _value(v) is not None}
        features.append({"geometry": geom, "properties": props, "id": int(fid)})
    if not features:
        return b""
    return bytes(
        mapbox_vector_tile.encode(
            [{"name": spec.name, "features": features}],
            default_options={"extents": EXTENT, "quantize_bounds": bounds},
        )
    )


def _value(value: object) -> object:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, float | np.floating):
        return round(float(value), 3)
    if isinstance(value, np.integer):
        return int(value)
    return str(value) if not isinstance(value, int | float | bool) else value
