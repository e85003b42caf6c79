"""Areas of geometries stored in EPSG:4490, computed in their own Gauss-Krüger zone."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.crs import STORAGE_EPSG, centroid_zones, gk3_epsg, stored_corners_in

M2_PER_MU = 10_000.0 / 15.0
"""One 亩 in square metres (1 ha = 15 亩)."""

AREA_TOLERANCE = 0.01
"""Relative difference between declared and computed area that gets a parcel flagged."""

RING_MAX = 256
"""Corners of the longest ring :func:`_ring_areas` measures; polygons with longer ones (or
with holes, or of several parts) are projected and measured by GEOS."""


def mu_from_m2(area_m2: float | np.ndarray) -> float | np.ndarray:
    """Convert square metres to 亩.

    Examples
    --------
    >>> round(mu_from_m2(20_000.0), 3)
    30.0
    """
    return area_m2 / M2_PER_MU


def area_m2(
    geometries: gpd.GeoSeries, *, measured: tuple[int, np.ndarray] | None = None
) -> np.ndarray:
    """Area in m² of each geometry, each measured in the 3-degree GK zone of its centre.

    ``geometries`` must be in the storage CRS (EPSG:4490). Missing geometries give NaN.
    ``measured``, an EPSG code and the areas of the same geometries already measured in
    that GK zone, spares projecting and measuring again those whose zone it is.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> square = gpd.GeoSeries([shapely.box(396_000, 4_170_000, 396_100, 4_170_200)],
    ...                        crs=4547).to_crs(4490)
    >>> round(float(area_m2(square)[0]), 1)
    20000.0
    """
    if geometries.crs is None or geometries.crs.to_epsg() != STORAGE_EPSG:
        raise ValueError(f"area_m2 expects EPSG:{STORAGE_EPSG} geometries, got {geometries.crs}")
    out = np.full(len(geometries), np.nan)
    values = geometries.values
    present = ~(shapely.is_missing(values) | shapely.is_empty(values))
    if not present.any():
        return out
    index = np.flatnonzero(present)
    zones = centroid_zones(np.asarray(values[present]))
    for zone in np.unique(zones):
        rows = index[zones == zone]
        epsg = gk3_epsg(int(zone))
        if measured is not None and measured[0] == epsg:
            out[rows] = measured[1][rows]
        else:
            out[rows] = _projected_areas(np.asarray(values[rows]), epsg)
    return out


def _projected_areas(geometries: np.ndarray, epsg: int) -> np.ndarray:
    """``shapely.area`` of EPSG:4490 ``geometries`` projected to ``epsg``, to the bit.

    Polygons of one ring (most parcels) are measured from their projected corners
    (:func:`_ring_areas`), with no geometry made: making a million of them holds Python's
    lock for ~0.5 s, which a zone build's other threads wait for (1,000,000 parcels, a
    fifth of them in a second Gauss-Krüger zone). The others are projected and measured
    by GEOS."""
    single = (shapely.get_type_id(geometries) == shapely.GeometryType.POLYGON) & (
        shapely.get_num_interior_rings(geometries) == 0
    )
    corners = shapely.get_num_coordinates(geometries)
    single &= (corners > 0) & (corners <= RING_MAX)
    out = np.empty(len(geometries))
    xy, owner = stored_corners_in(geometries[single], epsg)
    count = np.bincount(owner, minlength=int(single.sum()))
    out[single] = _ring_areas(xy[:, 0], xy[:, 1], np.cumsum(count) - count, count)
    other = gpd.GeoSeries(geometries[~single], crs=STORAGE_EPSG)
    out[~single] = shapely.area(np.asarray(other.values.to_crs(epsg)))
    return out


def _ring_areas(x: np.ndarray, y: np.ndarray, start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The area of each closed ring whose corners are ``x[start[k]:start[k] + count[k]]``
    (and ``y``), as GEOS measures it (``Area::ofRing``): the shoelace sum of
    ``(x[i] - x[0]) * (y[i - 1] - y[i + 1])`` for i = 1 … n - 2, added in that order,
    halved, without sign. Rings are added position by position, the longest first, so each
    ring's terms add up in GEOS's order (NumPy's sums add in pairs, to other bits)."""
    order = np.argsort(-count, kind="stable")
    ranked_start, ranked_count = start[order], count[order]
    x0 = x[ranked_start]
    total = np.zeros(len(count))
    for i in range(1, int(count.max(initial=0)) - 1):
        on = int(np.searchsorted(-ranked_count, -(i + 2), side="right"))  # count ≥ i + 2
        k = ranked_start[:on] + i
        total[:on] += (x[k] - x0[:on]) * (y[k - 1] - y[k + 1])
    out = np.empty(len(count))
    out[order] = np.abs(total / 2.0)
    return out


def area_mismatch(
    declared_mu: pd.Series, computed_mu: np.ndarray, *, tolerance: float = AREA_TOLERANCE
) -> np.ndarray:
    """True where a declared area differs from the computed one by more than ``tolerance``."""
    declared = declared_mu.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(declared - computed_mu) / computed_mu
    return np.asarray(~np.isnan(declared) & (rel > tolerance))
