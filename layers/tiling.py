"""Tile arithmetic shared by the two tile encoders (Web Mercator, XYZ scheme)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layers.area import M2_PER_MU
from layers.catalog import FACTORIES, PARCELS
from layers.crs import STORAGE_EPSG, transformer
from layers.errors import InvalidInput

EXTENT = 4096
BUFFER = 64  # tile units beyond the edge, so strokes do not break at tile borders
MIN_ZOOM, MAX_ZOOM = 8, 20
"""Below zoom 8 a tile would hold a whole province; such views are refused, not thinned.
Zoom 8 is where a large zone (100,000 parcels, 100 km across) opens on a phone: its tiles
carry counts per cell and simplified roads, a few KB each."""
WEB_MERCATOR = 3857
DETAIL_ZOOM = 12
"""From this zoom on a tile carries each site; below it, a parcel is a pixel or two and a
tile would hold tens of thousands of them (800 KB at zoom 10 on 100,000 parcels): it
carries the number of sites per :data:`CELL` instead, a few tens of KB at most."""
CELL = 64
"""Tile units per side of a low-zoom cell (4 px of a 256 px tile); its count is drawn at
its middle, as a point with the one property :data:`COUNT`."""
LINE_TOLERANCE = 4
"""Tile units (a quarter of a pixel) within which a tile's lines are simplified: a
zoom-8 tile draws a road with a few vertices, not the surveyed thousands."""
COUNT = "sites"
"""A low-zoom cell's property: how many of the sites the caller may see lie in it."""
SIZE_M2: dict[str, tuple[str, float]] = {
    PARCELS.name: ("area_mu", M2_PER_MU),
    FACTORIES.name: ("floor_m2", 1.0),
}
"""A site's size in m² as a map's filter compares it: a field its tile carries times a
factor, the very arithmetic the page does (on the value as rounded in the tile), so a
bound filters the counts of a low-zoom tile exactly as it filters the sites drawn."""
_HALF = 20037508.342789244  # half the Web Mercator world width, m


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


def cell_middle(index: int) -> int:
    """Tile units (from the tile's west or north edge) of the middle of cell ``index``."""
    return index * CELL + CELL // 2


def storage_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Bounds of the tile (with its buffer) in EPSG:4490 degrees, to select features."""
    minx, miny, maxx, maxy = mercator_bounds(z, x, y)
    pad = (maxx - minx) * BUFFER / EXTENT
    lon, lat = transformer(WEB_MERCATOR, STORAGE_EPSG).transform(
        np.array([minx - pad, maxx + pad]), np.array([miny - pad, maxy + pad])
    )
    return float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1])


@dataclass(frozen=True)
class SiteFilter:
    """The sites a tile holds, as a map's filter panel chooses them: of ``park``, of a size
    (:data:`SIZE_M2`) from ``min_m2`` to ``max_m2``, both included. A site whose size is
    unknown passes a size bound, as it does on the page (which cannot tell).

    Examples
    --------
    >>> SiteFilter().empty, SiteFilter(min_m2=0.0).empty
    (True, False)
    """

    park: str | None = None
    min_m2: float | None = None
    max_m2: float | None = None

    @property
    def empty(self) -> bool:
        """Whether it keeps every site."""
        return self.park is None and self.min_m2 is None and self.max_m2 is None


EVERY_SITE = SiteFilter()
"""The filter that keeps every site."""
