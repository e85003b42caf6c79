"""Areas of geometries stored in EPSG:4490, computed in their own Gauss-Krüger zone."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.crs import STORAGE_EPSG, centroid_zones, gk3_epsg

M2_PER_MU = 10_000.0 / 15.0
"""One 亩 in square metres (1 ha = 15 亩)."""

AREA_TOLERANCE = 0.01
"""Relative difference between declared and computed area that gets a parcel flagged."""


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
            out[rows] = shapely.area(np.asarray(values[rows].to_crs(epsg)))
    return out


def area_mismatch(
    declared_mu: pd.Series, computed_mu: np.ndarray, *, tolerance: float = AREA_TOLERANCE
) -> np.ndarray:
    """True where a declared area differs from the computed one by more than ``tolerance``."""
    declared = declared_mu.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(declared - computed_mu) / computed_mu
    return np.asarray(~np.isnan(declared) & (rel > tolerance))
