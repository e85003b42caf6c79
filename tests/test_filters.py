"""Filtering (OGC API – Features Part 3, CQL2 text), sorting and property selection on
``/collections/{id}/items``, on both stores.

The oracle is pygeofilter's own GeoPandas backend evaluating the same CQL2 on the frame
the store holds — an evaluator we did not write, over data that never went through SQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pygeofilter.backends.geopandas.evaluate import to_filter
from pygeofilter.parsers.cql2_text import parse
from pyproj import Transformer

from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import LAYERS, ON_OFFER
from layers.store.store import Store

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=80)


@pytest.fixture
def staff(client: TestClient, planner_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {planner_key}"}


def _ids(client: TestClient, layer: str, headers: dict[str, str] | None = None, **params: Any):
    """Every feature id the service returns for ``params``, following ``next`` links."""
    ids: list[int] = []
    url: str | None = f"/collections/{layer}/items"
    query: dict[str, Any] | None = {"limit": 7, **params}
    while url is not None:
        response = client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        query = None
    return ids


def _bounds(loaded: Store, layer: str) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = loaded.features.read(LAYERS[layer]).total_bounds
    return float(minx), float(miny), float(maxx), float(maxy)


def _lower(value: Any) -> Any:
    return value.str.lower() if hasattr(value, "str") else value.lower()


def _oracle(frame: gpd.GeoDataFrame, text: str) -> list[int]:
    mask = to_filter(frame, parse(text), function_map={"lower": _lower})
    return sorted(int(i) for i in frame.index[np.asarray(mask, dtype=bool)])


@pytest.mark.read_only
def test_filters_select_what_an_independent_evaluator_selects(
    client: TestClient, loaded: Store, staff: dict[str, str]
) -> None:
    parcels = loaded.features.read(LAYERS["parcels"])
    minx, miny, maxx, maxy = _bounds(loaded, "parcels")
    midx, midy = (minx + maxx) / 2, (miny + maxy) / 2
    inner = shapely.box(minx, miny, midx, midy).wkt
    west = shapely.box(minx, miny, midx, maxy).wkt
    centre = parcels.geometry.iloc[3].representative_point().wkt
    cases = [  # (our filter, the oracle's, where it lacks the syntax)
        ("land_use = 'M1'", None),
        ("price_wmu < 30 AND status = 'available'", None),
        ("price_wmu >= 25.5 OR land_use IN ('A35', 'M2')", None),
        ("decl_mu BETWEEN 35 AND 40", None),
        ("name LIKE '%1号地块%'", None),
        ("CASEI(park_id) = CASEI('p01')", None),
        ("contact IS NULL", None),
        ("contact IS NOT NULL AND floor_wmu > 20", None),
        ("floor_wmu < price_wmu", None),  # property-property
        ("NOT (land_use = 'M1')", None),
        ("list_year = 2026 AND power_kva >= 3000", None),
        (f"S_INTERSECTS(geometry, {inner})", None),
        (f"S_INTERSECTS(geometry, BBOX({minx}, {miny}, {midx}, {maxy}))",
         f"S_INTERSECTS(geometry, {west})"),
        (f"S_WITHIN(geometry, {inner})", None),
        (f"S_CONTAINS(geometry, {centre})", None),
        (f"S_DISJOINT(geometry, {inner})", None),
        (f"S_INTERSECTS(geometry, {inner}) AND land_use <> 'M1'", None),
    ]  # fmt: skip
    checked = 0
    for text, oracle_text in cases:
        expected = _oracle(parcels, oracle_text or text)
        got = sorted(_ids(client, "parcels", staff, filter=text))
        assert got == expected, text
        checked += bool(expected) and len(expected) < len(parcels)
    assert checked >= 12  # the filters do select something, and not everything


@pytest.mark.read_only
def test_dates_and_the_public_allow_list(client: TestClient, loaded: Store) -> None:
    parcels = loaded.features.read(LAYERS["parcels"])
    parcels = parcels[parcels["status"] == ON_OFFER["parcels"]]  # what the public sees
    after = _oracle(parcels, "as_env_dt > DATE('2025-06-30')")
    assert 0 < len(after) < len(parcels)
    assert sorted(_ids(client, "parcels", filter="as_env_dt > DATE('2025-06-30')")) == after
    before = _oracle(parcels, "as_env_dt < DATE('2025-06-30')")
    assert sorted(_ids(client, "parcels", filter="as_env_dt < '2025-06-30'")) == before


@pytest.mark.read_only
def test_geometry_literals_in_another_crs(
    client: TestClient, loaded: Store, staff: dict[str, str]
) -> None:
    minx, miny, maxx, maxy = _bounds(loaded, "parcels")
    box = shapely.box(minx, miny, (minx + maxx) / 2, (miny + maxy) / 2)
    expected = _ids(client, "parcels", filter=f"S_INTERSECTS(geometry, {box.wkt})")
    # The same area in EPSG:4547 (northing first) and in EPSG:4326 (latitude first).
    to_gk = Transformer.from_crs(4490, 4547, always_xy=True)
    dense = shapely.segmentize(box, 0.0005)
    gk = shapely.transform(
        dense, lambda xy: np.column_stack(to_gk.transform(xy[:, 0], xy[:, 1]))[:, ::-1]
    )
    got = _ids(
        client,
        "parcels",
        filter=f"S_INTERSECTS(geometry, {gk.wkt})",
        **{"filter-crs": f"{EPSG}4547"},
    )
    assert got == expected and expected
    swapped = shapely.transform(box, lambda xy: xy[:, ::-1])
    got = _ids(
        client,
        "parcels",
        filter=f"S_INTERSECTS(geometry, {swapped.wkt})",
        **{"filter-crs": f"{EPSG}4326"},
    )
    assert got == expected
    wrong = client.get(
        "/collections/parcels/items",
        params={"filter": "land_use = 'M1'", "filter-crs": f"{EPSG}3857"},
    )
    assert wrong.status_code == 400 and "filter-crs" in wrong.json()["message"]


@pytest.mark.read_only
def test_sortby_orders_every_page_nulls_last(
    client: TestClient, loaded: Store, staff: dict[str, str]
) -> None:
    parcels = loaded.features.read(LAYERS["parcels"])
    got = _ids(client, "parcels", staff, sortby="-contact,+price_wmu")
    frame = parcels.reset_index()
    expected = frame.sort_values(
        ["contact", "price_wmu", "fid"],
        ascending=[False, True, True],
        na_position="last",
        kind="stable",
    )
    assert got == [int(i) for i in expected["fid"]]
    assert len(set(got)) == len(parcels)


@pytest.mark.read_only
def test_properties_selects_what_is_returned(client: TestClient, loaded: Store) -> None:
    body = client.get(
        "/collections/parcels/items", params={"properties": "name,area_mu", "limit": 3}
    ).json()
    assert [set(f["properties"]) for f in body["features"]] == [{"name", "area_mu"}] * 3
    none = client.get("/collections/parcels/items", params={"properties": "", "limit": 1}).json()
    assert none["features"][0]["properties"] == {}


@pytest.mark.read_only
def test_the_public_cannot_probe_internal_fields(client: TestClient, loaded: Store) -> None:
    """An internal field is answered exactly like a field that does not exist."""
    for parameter, template in [
        ("filter", "{} = 1"),
        ("filter", "{} IS NULL"),
        ("sortby", "-{}"),
        ("properties", "name,{}"),
    ]:
        hidden = client.get(
            "/collections/parcels/items", params={parameter: template.format("floor_wmu")}
        )
        made_up = client.get(
            "/collections/parcels/items", params={parameter: template.format("zzzz_wmu")}
        )
        assert hidden.status_code == made_up.status_code == 400
        assert json.loads(hidden.text.replace("floor_wmu", "zzzz_wmu")) == made_up.json()


@pytest.mark.read_only
def test_filter_errors_are_400_and_say_what(client: TestClient, loaded: Store) -> None:
    for text, says in [
        ("land_use = ", "语法错误"),
        ("land_use = 5", "land_use is of type str"),
        ("price_wmu LIKE 'a%'", "LIKE"),
        ("pg_sleep(10) = 1", "function"),
        ("S_INTERSECTS(name, POINT(1 2))", "geometry"),
        ("S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))", "invalid geometry"),
        ("area_mu > 10", "computed"),
        ("price_wmu + 1 > 2", "not supported"),
    ]:
        response = client.get("/collections/parcels/items", params={"filter": text})
        assert response.status_code == 400, text
        assert says in response.json()["message"], (text, response.json())
    lang = client.get(
        "/collections/parcels/items", params={"filter": "land_use = 'M1'", "filter-lang": "sql"}
    )
    assert lang.status_code == 400


def test_number_matched_is_left_out_past_the_count_limit(
    store_url: str, loaded: Store, tmp_path: Any
) -> None:
    settings = Settings(db_url=store_url, data_dir=tmp_path, count_limit=20)
    with TestClient(create_app(settings)) as client:
        body = client.get("/collections/parcels/items?limit=10").json()
        assert "numberMatched" not in body and body["numberReturned"] == 10
        small = client.get("/collections/parcels/items", params={"filter": "land_use = 'M1'"})
        assert small.json()["numberMatched"] == small.json()["numberReturned"] <= 20
        parcels = loaded.features.read(LAYERS["parcels"])
        on_offer = parcels[parcels["status"] == ON_OFFER["parcels"]]  # what the public sees
        assert len(_ids(client, "parcels")) == len(on_offer)


def test_a_reserved_site_is_filtered_as_readers_see_it(
    client: TestClient, loaded: Store, staff: dict[str, str]
) -> None:
    listed = _ids(client, "parcels", filter="status = 'available'")
    body = json.loads(client.get(f"/collections/parcels/items/{listed[0]}").text)
    parcel_id = body["properties"]["parcel_id"]
    response = client.post(
        "/reservations",
        headers=staff,
        json={"layer": "parcels", "site_id": parcel_id, "project": "测试项目"},
    )
    assert response.status_code in (200, 201), response.text
    assert listed[0] not in _ids(client, "parcels", filter="status = 'available'")
    assert listed[0] not in _ids(client, "parcels")  # no longer on offer: the public sees none
    assert listed[0] in _ids(client, "parcels", staff, filter="status = 'reserved'")


def test_prepared_literals_are_never_shared_between_threads() -> None:
    """A prepared GEOS geometry must not be used by two threads at once (item 7): the
    embedded store's relate function keeps each thread's prepared literals apart."""
    from concurrent.futures import ThreadPoolExecutor

    from layers.store.relate import prepared

    wkb = shapely.to_wkb(shapely.box(120.0, 30.0, 120.1, 30.1))
    here = prepared(wkb)
    assert prepared(wkb) is here  # cached within a thread
    with ThreadPoolExecutor(max_workers=1) as pool:
        there = pool.submit(prepared, wkb).result()
    assert there is not here
    assert shapely.equals(there, here)
