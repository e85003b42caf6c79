"""Vector tiles (Mapbox Vector Tile, ``.pbf``) of the site layers, for maps too large to
embed. PostGIS encodes them itself (``Store.vector_tile``); the embedded store's are
encoded here. Each tile carries only the few fields a map styles and filters by, cut to
what the caller may see, and the feature id, by which a popup is fetched when opened.
"""

from __future__ import annotations

import math

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import numpy.typing as npt
import shapely

from layers.catalog import FACTORIES, ON_OFFER, PARCELS, ROADS
from layers.crs import STORAGE_EPSG, transformer
from layers.errors import InvalidInput
from layers.frames import derive
from layers.schema import LayerSpec
from layers.tiling import (
    BUFFER,
    CELL,
    COUNT,
    DETAIL_ZOOM,
    EVERY_SITE,
    EXTENT,
    LINE_TOLERANCE,
    SIZE_M2,
    WEB_MERCATOR,
    SiteFilter,
    cell_middle,
    check,
    mercator_bounds,
)

TILE_FIELDS: dict[str, tuple[str, ...]] = {
    PARCELS.name: ("parcel_id", "park_id", "status", "land_use", "readiness", "area_mu"),
    FACTORIES.name: ("factory_id", "park_id", "status", "floor_m2"),
    ROADS.name: ("grade",),
}
"""The layers served as tiles, and the fields their tiles carry."""
LISTED = ON_OFFER
"""What the public sees of each site layer: the sites on offer. Roads are public context."""


def tile_fields(spec: LayerSpec, *, public: bool) -> list[str]:
    visible = set(spec.field_names(spec.visible_fields(public=public)))
    return [name for name in TILE_FIELDS[spec.name] if name in visible]


def encode(
    frame: gpd.GeoDataFrame,
    spec: LayerSpec,
    z: int,
    x: int,
    y: int,
    *,
    public: bool,
    only: SiteFilter = EVERY_SITE,
) -> bytes:
    """One tile of ``frame`` (canonical, or with its derived fields already; indexed by
    feature id, already selected by the tile's :func:`storage_bounds`): public callers get
    only listed sites and public fields; a site layer's tile holds only the sites ``only``
    keeps. Below :data:`DETAIL_ZOOM` a site layer's tile holds the number of sites per
    cell, not sites; a road tile holds the roads at every zoom, simplified to what it can
    show."""
    check(z, x, y)
    bounds = mercator_bounds(z, x, y)
    site = spec.name in LISTED
    if not (site or only.empty):
        raise InvalidInput(f"只筛选地块与厂房 ({spec.en} are not filtered)")
    if z < DETAIL_ZOOM and site:
        frame = frame[_kept(frame, spec, public=public, only=only)]
        return _encode(spec, _cells(_mercator(frame), bounds))
    out = frame if set(spec.field_names()) <= set(frame.columns) else derive(frame, spec)
    if site:
        out = out[_kept(out, spec, public=public, only=only)]
    pad = (bounds[2] - bounds[0]) * BUFFER / EXTENT
    clip = shapely.box(bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad)
    lines = spec.geometry_types[0].endswith("LineString")
    geoms = _on_grid(shapely.intersection(_mercator(out), clip), bounds, lines=lines)
    keep = ~shapely.is_empty(geoms)
    fields = tile_fields(spec, public=public)
    rows = out.loc[keep, fields].to_dict("records")
    features = [
        {"geometry": geom, "properties": _properties(row), "id": int(fid)}
        for fid, geom, row in zip(out.index[keep], geoms[keep], rows, strict=True)
    ]
    return _encode(spec, features)


def _kept(
    frame: gpd.GeoDataFrame, spec: LayerSpec, *, public: bool, only: SiteFilter
) -> npt.NDArray[np.bool_]:
    """Which sites of ``frame`` a tile holds: listed ones for the public, those ``only``
    keeps, compared as the page compares them (:data:`SIZE_M2`)."""
    keep = np.ones(len(frame), dtype=bool)
    if public:
        keep &= (frame["status"] == LISTED[spec.name]).to_numpy(dtype=bool, na_value=False)
    if only.park is not None:
        keep &= (frame["park_id"] == only.park).to_numpy(dtype=bool, na_value=False)
    if only.min_m2 is None and only.max_m2 is None:
        return keep
    field, factor = SIZE_M2[spec.name]
    rest = frame[keep]  # sized only when still kept: deriving an area takes time
    values = rest[field] if field in rest.columns else derive(rest, spec)[field]
    # The value the tile carries (None when unknown: it passes, as on the page).
    carried = [_value(v) for v in values.tolist()]
    size = np.array([np.nan if v is None else v for v in carried], dtype=float) * factor
    sized = np.ones(len(rest), dtype=bool)
    if only.min_m2 is not None:
        sized &= ~(size < only.min_m2)
    if only.max_m2 is not None:
        sized &= ~(size > only.max_m2)
    keep[keep] = sized
    return keep


def _encode(spec: LayerSpec, features: list[dict[str, object]]) -> bytes:
    if not features:
        return b""
    # Geometries arrive on the tile grid, valid and wound as MVT wants: the library's
    # per-feature quantising and re-winding (most of its time) is switched off.
    return bytes(
        mapbox_vector_tile.encode(
            [{"name": spec.name, "features": features}],
            default_options={"extents": EXTENT, "check_winding_order": False},
        )
    )


def _mercator(frame: gpd.GeoDataFrame) -> npt.NDArray[np.object_]:
    to_mercator = transformer(STORAGE_EPSG, WEB_MERCATOR)
    return np.asarray(
        shapely.transform(
            frame.geometry.values.to_numpy(),
            lambda xy: np.column_stack(to_mercator.transform(xy[:, 0], xy[:, 1])),
        )
    )


def _cells(
    geoms: npt.NDArray[np.object_], bounds: tuple[float, float, float, float]
) -> list[dict[str, object]]:
    """A low-zoom tile's features: the number of sites whose centroid (in Web Mercator)
    lies in each :data:`CELL` of the tile, as a point at the cell's middle. Cells are
    counted from the north-west corner, as PostGIS's tiles count them."""
    minx, miny, maxx, maxy = bounds
    middle = shapely.centroid(geoms)
    column = np.floor((shapely.get_x(middle) - minx) / (maxx - minx) * EXTENT / CELL)
    row = np.floor((maxy - shapely.get_y(middle)) / (maxy - miny) * EXTENT / CELL)
    side = EXTENT // CELL
    inside = (column >= 0) & (column < side) & (row >= 0) & (row < side)
    cells, counts = np.unique(
        column[inside].astype(int) * side + row[inside].astype(int), return_counts=True
    )
    return [
        {
            # The encoder takes y up and flips it.
            "geometry": shapely.Point(cell_middle(c // side), EXTENT - cell_middle(c % side)),
            "properties": {COUNT: int(n)},
        }
        for c, n in zip(cells.tolist(), counts.tolist(), strict=True)
    ]


def _on_grid(
    geoms: npt.NDArray[np.object_], bounds: tuple[float, float, float, float], *, lines: bool
) -> npt.NDArray[np.object_]:
    """Web Mercator geometries in tile units (y up, as the encoder expects), snapped to the
    integer grid keeping them valid (parts that collapse drop out), exteriors clockwise.
    Lines are first simplified within :data:`LINE_TOLERANCE`, as PostGIS's tiles are."""
    minx, miny, maxx, maxy = bounds
    scale = np.array([EXTENT / (maxx - minx), EXTENT / (maxy - miny)])
    local = shapely.transform(geoms, lambda xy: (xy - (minx, miny)) * scale)
    if lines:
        local = shapely.simplify(local, LINE_TOLERANCE)
    return np.asarray(shapely.orient_polygons(shapely.set_precision(local, 1.0), exterior_cw=True))


def _properties(row: dict[str, object]) -> dict[str, object]:
    values = {key: _value(value) for key, value in row.items()}
    return {key: value for key, value in values.items() if value is not None}


def _value(value: object) -> object:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, float | np.floating):
        return round(float(value), 3)
    if isinstance(value, np.integer):
        return int(value)
    return str(value) if not isinstance(value, int | float | bool) else value
