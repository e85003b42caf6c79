"""OGC API – Features Part 2 (CRS by reference), on both stores: the CRSs offered, axis
order as EPSG defines it, Content-Crs, bbox-crs, and 400 for what is not supported."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer

from layers.store.store import Store

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=30)


def _first_coordinate(body: dict[str, Any]) -> list[float]:
    """The first vertex of the first feature (or of the feature) as the server wrote it."""
    feature = body["features"][0] if "features" in body else body
    geometry = shapely.from_geojson(json.dumps(feature["geometry"]))
    return [float(v) for v in shapely.get_coordinates(geometry)[0]]


def test_coordinates_come_in_the_crs_asked_for_in_its_axis_order(
    client: TestClient, loaded: Store, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    collection = client.get("/collections/parcels").json()
    assert CRS84 in collection["crs"] and f"{EPSG}4326" in collection["crs"]
    assert f"{EPSG}4526" in collection["crs"] and f"{EPSG}4547" in collection["crs"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in client.get(
        "/conformance").json()["conformsTo"]  # fmt: skip

    plain = client.get("/collections/parcels/items?limit=1")
    assert plain.headers["content-crs"] == f"<{CRS84}>"
    lon, lat = _first_coordinate(plain.json())

    geographic = client.get(f"/collections/parcels/items?limit=1&crs={EPSG}4326")
    assert geographic.headers["content-crs"] == f"<{EPSG}4326>"
    assert _first_coordinate(geographic.json()) == pytest.approx([lat, lon], abs=1e-9)

    gk = client.get(f"/collections/parcels/items?limit=1&crs={EPSG}4526").json()
    east, north = Transformer.from_crs(4490, 4526, always_xy=True).transform(lon, lat)
    assert _first_coordinate(gk) == pytest.approx([north, east], abs=1e-3)  # northing first
    assert east > 38_000_000  # zone-prefixed easting

    fid = plain.json()["features"][0]["id"]
    one = client.get(f"/collections/parcels/items/{fid}?crs={EPSG}4547")
    assert one.headers["content-crs"] == f"<{EPSG}4547>"
    assert _first_coordinate(one.json())[1] == pytest.approx(east - 38_000_000, abs=1e-3)


def test_bbox_in_another_crs_selects_the_same_features(client: TestClient, loaded: Store) -> None:
    whole = client.get("/collections/parcels/items?limit=1000").json()["features"]
    parcels = gpd.GeoDataFrame.from_features(whole, crs=4490)
    minx, miny, maxx, maxy = parcels.total_bounds
    lon0, lat0 = minx + (maxx - minx) * 0.3, miny + (maxy - miny) * 0.3
    lon1, lat1 = minx + (maxx - minx) * 0.6, miny + (maxy - miny) * 0.6
    crs84 = client.get(f"/collections/parcels/items?limit=1000&bbox={lon0},{lat0},{lon1},{lat1}")
    ids = {f["id"] for f in crs84.json()["features"]}
    assert 0 < len(ids) < len(whole)
    swapped = client.get(
        f"/collections/parcels/items?limit=1000&bbox={lat0},{lon0},{lat1},{lon1}"
        f"&bbox-crs={EPSG}4326"
    )
    assert {f["id"] for f in swapped.json()["features"]} == ids
    to_gk = Transformer.from_crs(4490, 4547, always_xy=True)
    (e0, e1), (n0, n1) = to_gk.transform([lon0, lon1], [lat0, lat1])
    gk = client.get(
        f"/collections/parcels/items?limit=1000&bbox={min(n0, n1)},{min(e0, e1)},"
        f"{max(n0, n1)},{max(e0, e1)}&bbox-crs={EPSG}4547"
    )
    assert ids <= {f["id"] for f in gk.json()["features"]}  # a GK box covers a bit more


@pytest.mark.parametrize(
    "query",
    [
        f"crs={EPSG}3857",
        "crs=EPSG:4326",
        f"bbox=1,2,3,4&bbox-crs={EPSG}3857",
        "crs=http://example.com/crs",
        f"bbox=4000000,38000000,4100000,38100000&bbox-crs={EPSG}4490",
    ],
)
def test_unsupported_crs_is_a_400(client: TestClient, loaded: Store, query: str) -> None:
    response = client.get(f"/collections/parcels/items?{query}")
    assert response.status_code == 400, response.text
