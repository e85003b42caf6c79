"""Coordinate reference systems: storage CRS, CGCS2000 Gauss-Krüger zones, transforms.

Everything is stored in CGCS2000 geographic coordinates (EPSG:4490). Areas and
distances are computed in the 3-degree Gauss-Krüger zone that holds the data.

CGCS2000 3-degree GK codes come in two series that differ only in the false easting:
EPSG:4513–4533 (zones 25–45) put the zone number in front of the easting
(38 396 733 m), EPSG:4534–4554 (central meridians 75°E–135°E) do not (396 733 m).
Both declare northing first; every transformer here is built with ``always_xy=True``
so that x is always easting/longitude.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from pyproj import CRS, Transformer

from layers.errors import CRSMismatch

STORAGE_EPSG = 4490
STORAGE_CRS = CRS.from_epsg(STORAGE_EPSG)

_PREFIXED_FIRST = 4513  # zone 25, central meridian 75°E
_UNPREFIXED_FIRST = 4534  # central meridian 75°E
_FIRST_ZONE, _LAST_ZONE = 25, 45


def gk3_zone(lon: float) -> int:
    """The 3-degree Gauss-Krüger zone number that holds a longitude.

    Zone *n* has central meridian 3·n degrees and spans ±1.5°.

    Examples
    --------
    >>> gk3_zone(112.8)
    38
    >>> gk3_zone(114.0)
    38
    """
    return int(gk3_zones(np.array([lon]))[0])


def gk3_zones(lon: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """:func:`gk3_zone` of each longitude, raising on the first outside China's zones."""
    zones = np.floor((lon + 1.5) / 3.0)
    outside = np.flatnonzero(~((zones >= _FIRST_ZONE) & (zones <= _LAST_ZONE)))
    if len(outside):
        raise CRSMismatch(
            f"longitude {lon[outside[0]]:.4f}° is outside China's CGCS2000 3-degree zones "
            f"({_FIRST_ZONE}–{_LAST_ZONE}, 73.5°E–136.5°E); are x and y swapped?"
        )
    return zones.astype(np.int64)


def gk3_epsg(zone: int, *, prefixed: bool = False) -> int:
    """EPSG code of a CGCS2000 3-degree GK zone, with or without the zone prefix.

    Examples
    --------
    >>> gk3_epsg(38, prefixed=True), gk3_epsg(38)
    (4526, 4547)
    """
    if not _FIRST_ZONE <= zone <= _LAST_ZONE:
        raise CRSMismatch(f"3-degree zone {zone} is outside {_FIRST_ZONE}–{_LAST_ZONE}")
    first = _PREFIXED_FIRST if prefixed else _UNPREFIXED_FIRST
    return first + zone - _FIRST_ZONE


def gk3_zone_of_epsg(epsg: int) -> tuple[int, bool] | None:
    """Zone number and whether eastings carry the prefix, or ``None`` if not a GK3 code.

    Examples
    --------
    >>> gk3_zone_of_epsg(4526), gk3_zone_of_epsg(4547), gk3_zone_of_epsg(4326)
    ((38, True), (38, False), None)
    """
    if _PREFIXED_FIRST <= epsg < _PREFIXED_FIRST + (_LAST_ZONE - _FIRST_ZONE + 1):
        return epsg - _PREFIXED_FIRST + _FIRST_ZONE, True
    if _UNPREFIXED_FIRST <= epsg < _UNPREFIXED_FIRST + (_LAST_ZONE - _FIRST_ZONE + 1):
        return epsg - _UNPREFIXED_FIRST + _FIRST_ZONE, False
    return None


def metric_epsg_for(lon: float) -> int:
    """The unprefixed GK3 code to measure areas and distances at a longitude."""
    return gk3_epsg(gk3_zone(lon))


def centroid_zones(geometries: npt.NDArray[np.object_]) -> npt.NDArray[np.int64]:
    """:func:`gk3_zones` of the centroids of ``geometries`` (EPSG:4490, none missing or
    empty), raising as it does; a centroid is computed only for a geometry whose box
    spans two zones (~0.7 s fewer per 1,000,000 parcels).

    Examples
    --------
    >>> import shapely
    >>> centroid_zones(np.array([shapely.box(113, 30, 114, 31), shapely.box(110, 30, 116, 31)]))
    array([38, 38])
    """
    zones = _centroid_zone_numbers(geometries)
    if not ((zones >= _FIRST_ZONE) & (zones <= _LAST_ZONE)).all():
        return gk3_zones(shapely.get_x(shapely.centroid(geometries)))  # names the first outside
    return zones.astype(np.int64)


def _centroid_zone_numbers(geometries: npt.NDArray[np.object_]) -> npt.NDArray[np.float64]:
    """The zone number (a float, NaN for none) of each centroid, from the geometry's box
    where one zone holds it: a centroid lies in its geometry's box (computed, it may
    stray from it by rounding, far less than the margin)."""
    west, _, east, _ = shapely.bounds(geometries).T
    zones, east_zones = np.floor((np.stack([west - 1e-9, east + 1e-9]) + 1.5) / 3.0)
    across = np.flatnonzero(zones != east_zones)  # and NaN: no box
    zones[across] = np.floor((shapely.get_x(shapely.centroid(geometries[across])) + 1.5) / 3.0)
    return np.asarray(zones)


def metric_epsg_of(geometries: npt.NDArray[np.object_]) -> int:
    """The unprefixed GK3 code at the median longitude of the centroids of ``geometries``
    (EPSG:4490), at 114°E when they have none or one is empty."""
    if (
        len(geometries)
        and not (shapely.is_missing(geometries) | shapely.is_empty(geometries)).any()
    ):
        # Zones grow with longitude: the median's is the middle zone (when the two
        # middle ones of an even count agree).
        zones = np.sort(_centroid_zone_numbers(geometries))
        middle = zones[[(len(zones) - 1) // 2, len(zones) // 2]]
        if middle[0] == middle[1] and _FIRST_ZONE <= middle[0] <= _LAST_ZONE:
            return gk3_epsg(int(middle[0]))
    lon = float(np.median(shapely.get_x(shapely.centroid(geometries))))
    return metric_epsg_for(lon if np.isfinite(lon) else 114.0)


@lru_cache(maxsize=64)
def transformer(src: int | str, dst: int | str) -> Transformer:
    """A cached ``always_xy`` transformer; building one costs far more than using it."""
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def epsg_of(crs: pyproj.CRS | str | int | None) -> int | None:
    """The EPSG code of a CRS, or ``None`` when it has none (or no CRS was given)."""
    if crs is None:
        return None
    code = CRS.from_user_input(crs).to_epsg(min_confidence=70)
    return int(code) if code is not None else None


def transverse_mercator(epsg: int) -> tuple[float, float, str] | None:
    """Central meridian (°), false easting (m) and name of a transverse-Mercator CRS.

    ``None`` for any other CRS. Works for every Gauss-Krüger system (CGCS2000, Xian 1980,
    Beijing 1954; 3- and 6-degree zones) from the CRS definition itself.

    Examples
    --------
    >>> transverse_mercator(4526)[:2], transverse_mercator(2383)[:2], transverse_mercator(4490)
    ((114.0, 38500000.0), (114.0, 500000.0), None)
    """
    crs = CRS.from_epsg(epsg)
    operation = crs.coordinate_operation
    if operation is None or operation.method_name != "Transverse Mercator":
        return None
    params = {p.name: float(p.value) for p in operation.params}
    return params["Longitude of natural origin"], params["False easting"], str(crs.name)


def check_zone_extent(bounds: tuple[float, float, float, float], epsg: int) -> None:
    """Refuse projected data whose extent does not fit the Gauss-Krüger zone its CRS names.

    This catches the silent errors of Chinese survey data: eastings without the zone
    prefix declared with a prefixed code (or the reverse), swapped axes, and data far
    from the zone's central meridian. ``bounds`` are (minx, miny, maxx, maxy) in the
    source CRS. A wrong zone whose eastings still fit (unprefixed eastings mean the same
    in every zone) is caught by the park check at load time instead.
    """
    tm = transverse_mercator(epsg)
    if tm is None:
        return
    lon0, false_easting, name = tm
    minx, miny, maxx, maxy = bounds
    # A 3-degree zone spans ~±140 km at China's latitudes, a 6-degree one ~±280 km; allow
    # a margin for data that straddles a zone edge.
    half_width = 250_000.0 if "3-degree" in name else 400_000.0
    zone_base = false_easting - 500_000.0  # the zone prefix × 10⁶, or 0
    ok_x = false_easting - half_width <= minx and maxx <= false_easting + half_width
    ok_y = miny >= 1_500_000.0 and maxy <= 6_000_000.0  # 13.5°N–54°N
    if ok_x and ok_y:
        return
    hint = ""
    if not ok_x and zone_base > 0 and minx >= 100_000.0 and maxx <= 900_000.0:
        hint = " 东坐标没有带号, 请改用不带带号的坐标系 (eastings lack the zone prefix"
        zone = gk3_zone(lon0) if "3-degree" in name else None
        hint += f": use EPSG:{gk3_epsg(zone)})." if zone and "CGCS2000" in name else ")."
    elif not ok_x and zone_base == 0 and minx > 10_000_000.0:
        guess = int(minx // 1_000_000)
        hint = f" 东坐标带有 {guess} 带号 (eastings carry the zone prefix {guess}"
        if _FIRST_ZONE <= guess <= _LAST_ZONE and "CGCS2000" in name:
            hint += f": use EPSG:{gk3_epsg(guess, prefixed=True)}"
        hint += ")."
    elif not ok_y and minx >= 1_500_000.0 and maxy < 1_500_000.0 + zone_base + 1_000_000.0:
        hint = " x 与 y 可能颠倒 (x and y look swapped)."
    raise CRSMismatch(
        f"数据范围 ({minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}) 不在 EPSG:{epsg} "
        f"({name}, 中央经线 {lon0:g}°) 的范围内 — the data extent does not fit the declared "
        f"CRS.{hint}"
    )


def to_storage_xy(x: np.ndarray, y: np.ndarray, src_epsg: int) -> tuple[np.ndarray, np.ndarray]:
    """Transform coordinate arrays from ``src_epsg`` to the storage CRS (lon, lat)."""
    if src_epsg == STORAGE_EPSG:
        return x, y
    lon, lat = transformer(src_epsg, STORAGE_EPSG).transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def stored_corners_in(
    geometries: npt.NDArray[np.object_], epsg: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Every corner of EPSG:4490 (2D) ``geometries`` in the CRS ``epsg``, in order, and the
    geometry each belongs to: the corners read and projected by PROJ, point by point, as
    geopandas' ``to_crs`` projects them (to the bit), with no geometry made."""
    xy, owner = shapely.get_coordinates(geometries, return_index=True)
    x, y = transformer(STORAGE_EPSG, epsg).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y]), owner
