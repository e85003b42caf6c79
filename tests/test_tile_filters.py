"""Tiles filtered as a map's filter panel filters: a park, a size range. Below zoom 12 a
tile counts only the sites kept, exactly as the sites drawn from zoom 12 are filtered."""

from __future__ import annotations

import math
from collections.abc import Callable

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pytest
from fastapi.testclient import TestClient

from geo_service import auth
from layers.catalog import FACTORIES, LAYERS, PARCELS
from layers.demo import generate_zone
from layers.store.store import Store
from layers.tiling import DETAIL_ZOOM, SIZE_M2, SiteFilter
from tests.people import TESTER
from tests.test_tiles import tile_of


@pytest.fixture
def zone(
    store: Store, demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]
) -> dict[str, gpd.GeoDataFrame]:
    frames = demo_zone(parcels=120)
    for name, frame in frames.items():
        store.features.write(LAYERS[name], frame, actor=TESTER)
    return frames


def _blocks(bounds: np.ndarray, z: int) -> list[tuple[int, int]]:
    """Every tile of zoom ``z`` over ``bounds`` (lon/lat), and a ring of tiles around."""
    x0, y1 = tile_of(bounds[0], bounds[1], z)
    x1, y0 = tile_of(bounds[2], bounds[3], z)
    return [(x, y) for x in range(x0 - 1, x1 + 2) for y in range(y0 - 1, y1 + 2)]


def _features(data: bytes, layer: str) -> list[dict[str, object]]:
    decoded = mapbox_vector_tile.decode(data) if data else {}
    return list(decoded[layer]["features"]) if layer in decoded else []


def _drawn(
    client: TestClient, layer: str, bounds: np.ndarray, headers: dict[str, str]
) -> dict[int, dict[str, object]]:
    """The sites the page draws from zoom 12 (unfiltered tiles), by id: what its filter
    tests, as the page reads it."""
    out = {}
    for x, y in _blocks(bounds, DETAIL_ZOOM):
        answer = client.get(f"/tiles/{layer}/{DETAIL_ZOOM}/{x}/{y}.pbf", headers=headers)
        for f in _features(answer.content, layer):
            out[int(f["id"])] = dict(f["properties"])  # type: ignore[call-overload]
    return out


def _counted(
    client: TestClient, layer: str, bounds: np.ndarray, z: int, query: str, headers: dict[str, str]
) -> int:
    """The sum of a low-zoom tile's counts over the zone, with the filter ``query``."""
    total = 0
    for x, y in _blocks(bounds, z):
        answer = client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf?{query}", headers=headers)
        assert answer.status_code in (200, 204), answer.text
        total += sum(int(f["properties"]["sites"]) for f in _features(answer.content, layer))  # type: ignore[index]
    return total


def _kept(sites: dict[int, dict[str, object]], layer: str, only: SiteFilter) -> int:
    """How many of the drawn ``sites`` the page's filter keeps (maps.js ``keep``)."""
    field, factor = SIZE_M2[layer]
    n = 0
    for p in sites.values():
        size = float(p[field]) * factor if field in p else math.nan  # type: ignore[arg-type]
        if only.park is not None and p.get("park_id") != only.park:
            continue
        if only.min_m2 is not None and size < only.min_m2:
            continue
        if only.max_m2 is not None and size > only.max_m2:
            continue
        n += 1
    return n


def _query(only: SiteFilter) -> str:
    parts = [f"park={only.park}"] if only.park is not None else []
    parts += [f"min_m2={only.min_m2!r}"] if only.min_m2 is not None else []
    parts += [f"max_m2={only.max_m2!r}"] if only.max_m2 is not None else []
    return "&".join(parts)


@pytest.mark.parametrize("audience", ["public", "staff"])
def test_low_zoom_tiles_count_the_sites_the_filter_keeps(
    client: TestClient, store: Store, zone: dict[str, gpd.GeoDataFrame], audience: str
) -> None:
    """The counts below zoom 12 add up to the sites the page's filter keeps from zoom 12:
    a park, a size range in m² (exact at its bounds: a site exactly at a bound is kept,
    one a hair below the minimum is not), both; parcels and factories."""
    headers = {}
    if audience == "staff":
        key = auth.create_key(store, name="规划 测试", role="planner", actor=TESTER)[1]
        headers = {"X-API-Key": key}
    for spec in (PARCELS, FACTORIES):
        bounds = store.features.read(spec).total_bounds
        sites = _drawn(client, spec.name, bounds, headers)
        field, factor = SIZE_M2[spec.name]
        sizes = sorted(float(p[field]) * factor for p in sites.values())  # type: ignore[arg-type]
        middle = sizes[len(sizes) // 2]
        park = str(next(iter(sites.values()))["park_id"])
        filters = [
            SiteFilter(park=park),
            SiteFilter(min_m2=middle),  # the site exactly at the bound is kept
            SiteFilter(min_m2=float(np.nextafter(middle, math.inf))),  # not a hair below
            SiteFilter(max_m2=middle),
            SiteFilter(max_m2=float(np.nextafter(middle, -math.inf))),
            SiteFilter(park=park, min_m2=sizes[1], max_m2=sizes[-2]),
            SiteFilter(park="no-such-park"),
        ]
        assert _kept(sites, spec.name, filters[1]) == _kept(sites, spec.name, filters[2]) + 1
        for only in filters:
            expected = _kept(sites, spec.name, only)
            for z in (8, 10, DETAIL_ZOOM - 1):
                counted = _counted(client, spec.name, bounds, z, _query(only), headers)
                assert counted == expected, (spec.name, only, z)
        assert 0 < _kept(sites, spec.name, filters[0]) < len(sites)


def test_a_bad_filter_is_refused(client: TestClient, zone: dict[str, gpd.GeoDataFrame]) -> None:
    assert client.get("/tiles/roads/10/843/388.pbf?park=P1").status_code == 400
    assert client.get("/tiles/parcels/10/843/388.pbf?min_m2=inf").status_code == 400
    assert client.get("/tiles/parcels/10/843/388.pbf?park=" + "x" * 41).status_code == 400
    assert client.get("/tiles/parcels/10/843/388.pbf?park=P%00").status_code == 400  # NUL


def test_postgis_filtered_tiles_match_the_python_encoder(postgis_store: Store) -> None:
    """Both encoders count the same sites in the same cells under a filter (size bounds
    kept clear of every site's size: the two measure areas a few cm² apart)."""
    from maps.tiles import encode

    store = postgis_store
    frames = generate_zone(parcels=150)
    spec = LAYERS["parcels"]
    store.features.write(spec, frames["parcels"], replace=True, actor=TESTER)
    try:
        parcels = store.features.read(spec)
        centre = parcels.geometry.union_all().centroid
        park = str(parcels["park_id"].iloc[0])
        filters = [SiteFilter(park=park), SiteFilter(min_m2=50_000.5, max_m2=150_000.5)]
        filters.append(SiteFilter(park=park, min_m2=40_000.5))
        for z in (10, 11, 13):
            x, y = tile_of(centre.x, centre.y, z)
            for public in (True, False):
                status = "available" if public else None
                for only in filters:
                    ours = encode(parcels, spec, z, x, y, public=public, only=only)
                    theirs = store.tiles.vector(
                        spec, z, x, y, fields=["parcel_id"], status=status, only=only
                    )
                    assert _summary(ours) == _summary(theirs), (z, public, only)
                    assert _summary(ours) != _summary(encode(parcels, spec, z, x, y, public=public))
    finally:
        store.features.write(spec, frames["parcels"].iloc[:0], replace=True, actor=TESTER)


def _summary(data: bytes) -> dict[object, object]:
    """A tile's features: counts by cell below zoom 12, else the ids."""
    decoded = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    features = decoded["parcels"]["features"] if "parcels" in decoded else []
    return {
        tuple(f["geometry"]["coordinates"]) if "sites" in f["properties"] else f["id"]: f[
            "properties"
        ].get("sites")
        for f in features
    }
