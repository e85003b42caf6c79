"""Vector tiles: the right features in the right place, the allow-list applied."""

from __future__ import annotations

import math
from collections.abc import Callable

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient

from geo_service import auth
from layers.catalog import LAYERS
from layers.demo import generate_zone
from layers.schema import Audience
from layers.store.store import Store
from layers.tiling import CELL, DETAIL_ZOOM, MIN_ZOOM
from maps.tiles import EXTENT, TILE_FIELDS, mercator_bounds
from tests.people import TESTER

SENTINEL = "SENTINEL-瓦片-51d0"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture
def zone(
    store: Store, demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]
) -> dict[str, gpd.GeoDataFrame]:
    frames = demo_zone(parcels=120)
    for name, frame in frames.items():
        for f in LAYERS[name].stored_fields:
            if f.audience is Audience.INTERNAL and f.kind == "str":
                frame[f.name] = SENTINEL
        store.features.write(LAYERS[name], frame, actor=TESTER)
    return frames


def _decode(data: bytes) -> list[dict[str, object]]:
    decoded = mapbox_vector_tile.decode(data)
    return list(decoded["parcels"]["features"]) if "parcels" in decoded else []


def test_public_tiles_hold_listed_sites_and_public_fields(
    client: TestClient, store: Store, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    parcels = store.features.read(LAYERS["parcels"])
    centre = parcels.geometry.union_all().centroid
    z = 13
    x, y = tile_of(centre.x, centre.y, z)
    public = client.get(f"/tiles/parcels/{z}/{x}/{y}.pbf")
    assert public.status_code == 200
    assert public.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert SENTINEL.encode() not in public.content
    features = _decode(public.content)
    assert features
    statuses = parcels["status"].to_dict()
    assert all(statuses[f["id"]] == "available" for f in features)
    assert all(set(f["properties"]) <= set(TILE_FIELDS["parcels"]) for f in features)
    key = auth.create_key(store, name="规划 测试", role="planner", actor=TESTER)[1]
    staff = _decode(
        client.get(f"/tiles/parcels/{z}/{x}/{y}.pbf", headers={"X-API-Key": key}).content
    )
    assert len(staff) > len(features)
    assert {statuses[f["id"]] for f in staff} > {"available"}


def test_tile_geometry_lands_where_the_parcel_is(
    client: TestClient, store: Store, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    parcels = store.features.read(LAYERS["parcels"])
    parcels = parcels[parcels["status"] == "available"]
    fid, parcel = next(iter(parcels.geometry.items()))
    z = 16
    point = parcel.representative_point()
    x, y = tile_of(point.x, point.y, z)
    features = {f["id"]: f for f in _decode(client.get(f"/tiles/parcels/{z}/{x}/{y}.pbf").content)}
    assert fid in features
    minx, miny, maxx, maxy = mercator_bounds(z, x, y)
    ring = np.array(features[fid]["geometry"]["coordinates"][0], dtype=float)
    # Tile units → Web Mercator metres → degrees.
    mx = minx + ring[:, 0] / EXTENT * (maxx - minx)
    my = miny + ring[:, 1] / EXTENT * (maxy - miny)
    lon = np.degrees(mx / 6378137.0)
    lat = np.degrees(2 * np.arctan(np.exp(my / 6378137.0)) - np.pi / 2)
    drawn = shapely.Polygon(np.column_stack([lon, lat]))
    assert drawn.intersection(parcel).area / parcel.area > 0.95


@pytest.mark.parametrize(("path", "status"), [
    ("/tiles/parcels/5/25/12.pbf", 400),      # too low a zoom: a whole region per tile
    ("/tiles/parcels/14/99999/1.pbf", 400),   # outside the zoom level
    ("/tiles/owners/14/1/1.pbf", 400),        # not a tiled layer (unknown path parameter)
    ("/tiles/parcels/14/0/0.pbf", 204),       # the middle of the Pacific: no features
])  # fmt: skip
def test_tile_errors(
    client: TestClient, zone: dict[str, gpd.GeoDataFrame], path: str, status: int
) -> None:
    assert client.get(path).status_code == status


def test_postgis_tiles_match_the_python_encoder(postgis_store: Store) -> None:
    """Two encoders (PostGIS ST_AsMVT, mapbox-vector-tile in Python) over the same data."""
    from maps.tiles import encode, tile_fields

    store = postgis_store
    frames = generate_zone(parcels=150)
    store.features.write(LAYERS["parcels"], frames["parcels"], replace=True, actor=TESTER)
    try:
        parcels = store.features.read(LAYERS["parcels"])
        centre = parcels.geometry.union_all().centroid
        spec = LAYERS["parcels"]
        for z in (10, 11):  # counts per cell: the same cells, the same counts
            x, y = tile_of(centre.x, centre.y, z)
            for public in (True, False):
                in_python = encode(parcels, spec, z, x, y, public=public)
                assert (
                    _cells(in_python)
                    == _cells(
                        store.tiles.vector(
                            spec, z, x, y, fields=[], status=None if not public else "available"
                        )
                    )
                    != {}
                )
        for z in (13, 15):
            x, y = tile_of(centre.x, centre.y, z)
            for public in (True, False):
                by_postgis = store.tiles.vector(
                    spec,
                    z,
                    x,
                    y,
                    fields=tile_fields(spec, public=public),
                    status="available" if public else None,
                )
                in_python = encode(parcels, spec, z, x, y, public=public)
                ours = {f["id"]: f for f in _decode(in_python)}
                theirs = {f["id"]: f for f in _decode(by_postgis)}
                assert ours.keys() == theirs.keys() and ours
                for fid, feature in ours.items():
                    mine, other = feature["properties"], theirs[fid]["properties"]
                    assert mine.keys() == other.keys()
                    for key, value in mine.items():
                        if isinstance(value, float):
                            assert other[key] == pytest.approx(value, abs=0.002), key
                        else:
                            assert other[key] == value, key
                    a = shapely.geometry.shape(feature["geometry"]).buffer(0)
                    b = shapely.geometry.shape(theirs[fid]["geometry"]).buffer(0)
                    assert a.intersection(b).area / a.union(b).area > 0.9
    finally:
        store.features.write(
            LAYERS["parcels"], frames["parcels"].iloc[:0], replace=True, actor=TESTER
        )


def _cells(data: bytes) -> dict[tuple[int, int], int]:
    """A low-zoom tile's counts by the cell's middle (tile units, y down)."""
    decoded = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    features = decoded["parcels"]["features"] if "parcels" in decoded else []
    return {
        tuple(f["geometry"]["coordinates"]): f["properties"]["sites"]  # type: ignore[misc]
        for f in features
    }


def test_low_zoom_tiles_count_the_sites_per_cell(
    client: TestClient, store: Store, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    """Below DETAIL_ZOOM a tile holds no site, only how many listed sites (all sites, for
    staff) have their centroid in each cell: every site counted once over the tiles."""
    parcels = store.features.read(LAYERS["parcels"])
    listed = int((parcels["status"] == "available").sum())
    key = auth.create_key(store, name="规划 测试", role="planner", actor=TESTER)[1]
    minx, miny, maxx, maxy = parcels.total_bounds
    for z in range(MIN_ZOOM, DETAIL_ZOOM):
        x0, y1 = tile_of(minx, miny, z)
        x1, y0 = tile_of(maxx, maxy, z)
        tiles = [(x, y) for x in range(x0 - 1, x1 + 2) for y in range(y0 - 1, y1 + 2)]
        for headers, expected in (({}, listed), ({"X-API-Key": key}, len(parcels))):
            counted = 0
            for x, y in tiles:
                data = client.get(f"/tiles/parcels/{z}/{x}/{y}.pbf", headers=headers).content
                assert SENTINEL.encode() not in data
                cells = _cells(data)
                assert all(c % CELL == CELL // 2 for xy in cells for c in xy)
                counted += sum(cells.values())
            assert counted == expected, (z, headers)


def _roads(data: bytes) -> dict[int, shapely.Geometry]:
    decoded = mapbox_vector_tile.decode(data)
    features = decoded["roads"]["features"] if "roads" in decoded else []
    return {f["id"]: shapely.geometry.shape(f["geometry"]) for f in features}


@pytest.mark.postgis
def test_postgis_queries_are_never_jit_compiled(postgis_url: str) -> None:
    """A transform and a centroid per site cost a low-zoom tile's query past PostgreSQL's
    JIT thresholds: compiling took 1.25 s of a zoom-10 tile that runs in 0.24 s without.
    Every connection of the store, the service's and the command line's, has JIT off."""
    for timeout in (None, 30_000):
        store = Store.open(postgis_url, statement_timeout_ms=timeout)
        try:
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("SHOW jit").scalar_one() == "off"
        finally:
            store.close()


def test_road_tiles_carry_roads_at_every_zoom_simplified(postgis_store: Store) -> None:
    """Roads are tiles too, at every zoom from MIN_ZOOM (lines, never counts), the same
    roads from both encoders; a low-zoom tile carries a few vertices per road, not the
    surveyed thousands."""
    from maps.tiles import encode

    store = postgis_store
    frames = generate_zone(parcels=150)
    spec = LAYERS["roads"]
    store.features.write(spec, frames["roads"], replace=True, actor=TESTER)
    try:
        roads = store.features.read(spec)
        centre = roads.geometry.union_all().centroid
        for z in (MIN_ZOOM, DETAIL_ZOOM - 1, 14):
            x, y = tile_of(centre.x, centre.y, z)
            ours = _roads(encode(roads, spec, z, x, y, public=True))
            theirs = _roads(store.tiles.vector(spec, z, x, y, fields=["grade"]))
            assert ours.keys() == theirs.keys() and ours, z
            for fid, line in ours.items():
                assert line.geom_type.endswith("LineString")
                assert line.hausdorff_distance(theirs[fid]) <= 8, (z, fid)  # tile units
            if z == MIN_ZOOM:
                vertices = sum(shapely.count_coordinates(g) for g in ours.values())
                assert vertices < int(shapely.count_coordinates(roads.geometry.values)) / 5
    finally:
        store.features.write(spec, frames["roads"].iloc[:0], replace=True, actor=TESTER)


def test_public_road_tiles_hold_the_grade_only(
    client: TestClient, store: Store, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    roads = store.features.read(LAYERS["roads"])
    centre = roads.geometry.union_all().centroid
    for z in (MIN_ZOOM, 15):
        x, y = tile_of(centre.x, centre.y, z)
        answer = client.get(f"/tiles/roads/{z}/{x}/{y}.pbf")
        assert answer.status_code == 200
        features = mapbox_vector_tile.decode(answer.content)["roads"]["features"]
        assert {f["id"] for f in features} <= set(roads.index)
        assert all(set(f["properties"]) <= {"grade"} for f in features)
        assert SENTINEL.encode() not in answer.content
