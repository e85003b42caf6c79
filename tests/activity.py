"""A loaded zone with something in every table the service changes — a stock list staged
for 2027 and a site reserved — so that routes naming a release or a reservation have one;
and the map tile that shows the zone."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely

from layers.catalog import PARCELS
from layers.io import write_layer_file
from layers.stocklist import import_list
from layers.store.reservations import Needs
from layers.store.store import Store
from tests.people import TESTER


@dataclass(frozen=True)
class Activity:
    release_id: int
    reservation_id: int
    reserved_site: str


def stage_and_reserve(store: Store, zone: dict[str, gpd.GeoDataFrame], folder: Path) -> Activity:
    """Stage the zone's parcels as the 2027 list and reserve the first site on offer."""
    path = folder / "清单2027.gpkg"
    write_layer_file(zone["parcels"].assign(list_year=2027), PARCELS, path)
    staged = import_list(store, path, year=2027, actor=TESTER, name=path.name)
    assert staged.release is not None, staged.report.problems
    parcels = store.features.read(PARCELS)
    site = str(parcels.loc[parcels["status"] == "available", "parcel_id"].iloc[0])
    needs = Needs()
    reservation = store.reservations.reserve(
        layer="parcels", site_id=site, project="预留 测试", needs=needs, actor=TESTER
    )
    return Activity(staged.release.id, reservation.id, site)


def tile_of(point: shapely.Point, z: int = 14) -> tuple[int, int, int]:
    """The web-mercator tile at zoom ``z`` holding a lon/lat ``point``."""
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(point.y))) / math.pi) / 2 * n
    return z, int((point.x + 180) / 360 * n), int(y)
