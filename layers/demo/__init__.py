"""A synthetic demo zone (合成演示数据): every layer of a realistic but fake development zone.

The zone imitates the Jinzhong development zone (山西转型综改示范区晋中开发区) east of Yuci:
a grid of trunk, main and branch roads; the blocks between them are cut into parcels set
back by half a road width, so parcels across a road are one road width apart while
neighbours inside a block touch (useful for parcel assembly). Every seventh block is
built-up land holding the idle and standard factories and the utility nodes. Parks are
rectangles of blocks bounded by road centre lines, so together they cover the zone.

Geometry is laid out in metres in CGCS2000 3-degree GK zone 38 (EPSG:4547) and only
transformed to the storage CRS (EPSG:4490) at the end. Everything is drawn from one
``numpy.random.default_rng(seed)`` stream in a fixed order, so a seed and a size always
give the same zone. Names say 演示 and internal notes say "synthetic", so nobody takes
the data for a real stock list.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from layers.catalog import FACTORIES, INFRASTRUCTURE, LAYERS, PARCELS, PARKS, ROADS
from layers.crs import STORAGE_EPSG, transformer
from layers.demo import built, land
from layers.demo.draw import park_rects, road_grid
from layers.demo.setting import METRIC_EPSG, ORIGIN, Columns
from layers.frames import conform


def _storage(cols: Columns) -> gpd.GeoDataFrame:
    """A frame laid out in metres, transformed to the storage CRS."""
    geometry = cols.pop("geometry")
    return gpd.GeoDataFrame(cols, geometry=geometry, crs=METRIC_EPSG).to_crs(STORAGE_EPSG)


def generate_zone(*, seed: int = 20260101, parcels: int = 300) -> dict[str, gpd.GeoDataFrame]:
    """Generate a synthetic development zone (合成演示开发区) with every layer filled.

    The zone imitates the Jinzhong development zone in Yuci, Shanxi: 4 parks (more in
    large zones) for new-energy vehicles, equipment manufacturing, photovoltaics,
    information technology and bio-medicine; a road grid; parcels with a realistic mix
    of sizes (10–600 亩), readiness, control indicators and utilities; idle and standard
    factories; utility nodes, highway interchanges, rail freight and the airport. Every
    park and parcel note says the data is synthetic, and names say 演示.

    Parameters
    ----------
    seed
        Seed of the random generator; the same seed and size give identical frames.
    parcels
        Number of parcels. Larger zones extend the road grid to the east and north
        (100 000 parcels cover about 100 km × 70 km); parks, factories and
        infrastructure grow mildly with it.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        One frame per layer of :data:`layers.catalog.LAYERS`, in canonical form (stored
        fields only, EPSG:4490), as returned by :func:`layers.frames.conform`.

    Raises
    ------
    ValueError
        If ``parcels`` is less than 1.

    Examples
    --------
    >>> zone = generate_zone(parcels=20)
    >>> len(zone["parcels"]), len(zone["parks"]), zone["roads"].crs.to_epsg()
    (20, 4, 4490)
    """
    if parcels < 1:
        raise ValueError(f"parcels must be at least 1, got {parcels}")
    rng = np.random.default_rng(seed)
    ox, oy = transformer(STORAGE_EPSG, METRIC_EPSG).transform(*ORIGIN)
    grid = road_grid(rng, parcels, (round(ox, 2), round(oy, 2)))
    rects = park_rects(len(grid.xs) - 1, len(grid.ys) - 1, 4 + parcels // 10_000)
    # Parks are bounded by road centre lines, so every block lies in exactly one park.
    col, row = grid.col[:, None], grid.row[:, None]
    inside = (rects[:, 0] <= col) & (col < rects[:, 2]) & (rects[:, 1] <= row) & (row < rects[:, 3])
    park_of_block = np.argmax(inside, axis=1)
    parks, park_names = land.parks(rng, grid, rects)
    plots = land.expansion_area(land.parcels(rng, grid, parcels, park_of_block, park_names))
    buildings = built.factories(rng, grid, 25 + parcels // 2_000, park_of_block)
    infrastructure = built.infrastructure(rng, grid, parcels)
    # Drawn last, so that adding these fields left every earlier value of a seed as it was.
    plots, buildings = land.planning_limits(rng, plots), built.leases(rng, buildings)
    frames = {
        PARKS.name: _storage(parks),
        PARCELS.name: _storage(plots),
        FACTORIES.name: _storage(buildings),
        INFRASTRUCTURE.name: infrastructure,
        ROADS.name: _storage(built.roads(grid)),
    }
    return {name: conform(frames[name], spec, source="demo") for name, spec in LAYERS.items()}
