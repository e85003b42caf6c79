"""The stock list over HTTP, on both stores: roles, upload, refusal, publish, history,
audit with the key's holder and the request id, and readers during a publish."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
from fastapi.testclient import TestClient

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import LAYERS, PARCELS
from layers.io import write_layer_file
from layers.store.rows import data_hash
from layers.store.store import Store
from tests.browser import serve
from tests.people import TESTER

GEOJSON = "application/geo+json"


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=60)


@pytest.fixture
def keys(store: Store, zone: dict[str, gpd.GeoDataFrame]) -> dict[str, dict[str, str]]:
    for name, frame in zone.items():
        store.features.write(LAYERS[name], frame, actor=TESTER)
    out = {}
    for role, holder in (("land_bureau", "国土局 王五"), ("planner", "招商部 赵六")):
        key = auth.create_key(store, name=holder, role=role, actor=TESTER)[1]
        out[role] = {"X-API-Key": key}
    return out


def _list_file(zone: dict[str, gpd.GeoDataFrame], tmp_path: Path, **changes: object) -> Path:
    frame = zone["parcels"].assign(list_year=2027, **changes)
    path = tmp_path / "清单2027.gpkg"
    write_layer_file(frame, PARCELS, path)
    return path


def _upload(client: TestClient, path: Path, headers: dict[str, str], name: str | None = None):  # type: ignore[no-untyped-def]
    with path.open("rb") as handle:
        return client.post(
            "/stock-lists?year=2027",
            files={"file": (name or path.name, handle, "application/octet-stream")},
            headers=headers,
        )


def test_land_bureau_imports_and_publishes_over_http(
    client: TestClient,
    store: Store,
    keys: dict[str, dict[str, str]],
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
) -> None:
    path = _list_file(zone, tmp_path, price_wmu=88.0)
    assert _upload(client, path, {}).status_code == 401
    assert _upload(client, path, keys["planner"]).status_code == 403
    headers = {**keys["land_bureau"], "X-Request-ID": "req-2027-import"}
    staged = _upload(client, path, headers)
    assert staged.status_code == 201, staged.text
    body = staged.json()
    release = body["release"]["id"]
    assert body["release"]["status"] == "staged" and body["release"]["source_name"] == path.name
    assert len(body["diff"]["changed"]) == len(zone["parcels"]) and not body["diff"]["added"]
    # A second list for the year is refused in the worker process; the error, with its
    # details, reaches the caller.
    twice = _upload(client, path, keys["land_bureau"])
    assert twice.status_code == 409 and twice.json()["details"] == {"release": release}
    # Not in force yet: the public items are unchanged.
    items = client.get("/collections/parcels/items?limit=1000").json()["features"]
    assert {f["properties"]["price_wmu"] for f in items} != {88.0}

    published = client.post(f"/stock-lists/{release}/publish", headers=keys["land_bureau"])
    assert published.status_code == 200 and published.json()["status"] == "published"
    items = client.get("/collections/parcels/items?limit=1000").json()["features"]
    assert {f["properties"]["price_wmu"] for f in items} == {88.0}
    again = client.post(f"/stock-lists/{release}/publish", headers=keys["land_bureau"])
    assert again.status_code == 409 and again.json()["code"] == "conflict"

    history = client.get("/stock-lists", headers=keys["planner"]).json()
    assert history["current"] == release and len(history["releases"]) == 2
    source = client.get(f"/stock-lists/{release}/source", headers=keys["planner"])
    assert source.content == path.read_bytes()
    old = history["releases"][0]["id"]
    old_items = client.get(f"/stock-lists/{old}/items", headers=keys["planner"]).json()
    assert len(old_items["features"]) == len(zone["parcels"])
    decided = dt.datetime.fromisoformat(published.json()["decided_at"])
    china_day = decided.astimezone(dt.timezone(dt.timedelta(hours=8))).date()  # the zone's day
    today = client.get(f"/stock-lists/as-of/{china_day}", headers=keys["planner"])
    assert today.status_code == 200 and today.json()["id"] == release
    far = client.get("/stock-lists/as-of/9999-12-31", headers=keys["planner"])
    assert far.status_code == 400
    # The answers' models (/docs) show the bodies the routes built, unchanged: every
    # field of the release in its order, then its links (only the items link has a type).
    for answer in (published.json(), today.json(), *history["releases"]):
        stored = store.releases.get(answer["id"]).as_dict()
        assert json.dumps(answer) == json.dumps({**stored, "links": answer["links"]})
        assert [link.get("type") for link in answer["links"]] == [None, GEOJSON, None, None]
    one = client.get(f"/stock-lists/{release}", headers=keys["planner"]).json()
    stored_one = store.releases.get(release)
    assert json.dumps(one) == json.dumps(
        {**stored_one.as_dict(), "links": one["links"], "report": stored_one.report}
    )

    assert client.get("/audit", headers=keys["planner"]).status_code == 403
    log = client.get("/audit", headers=keys["land_bureau"]).json()["rows"]
    by_action = {row["action"]: row for row in log}
    assert by_action["stock_list.stage"]["actor"] == "国土局 王五"
    assert by_action["stock_list.stage"]["request_id"] == "req-2027-import"
    assert by_action["stock_list.publish"]["role"] == "land_bureau"


def test_a_refused_upload_names_its_problems_and_changes_nothing(
    client: TestClient,
    store: Store,
    keys: dict[str, dict[str, str]],
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
) -> None:
    before = data_hash(store.features.read(PARCELS), PARCELS), len(store.releases.all())
    bad = zone["parcels"].assign(list_year=2026)
    path = tmp_path / "bad.gpkg"
    write_layer_file(bad, PARCELS, path)
    refused = _upload(client, path, keys["land_bureau"], name="../../etc/清单.gpkg")
    assert refused.status_code == 422
    problems = refused.json()["details"]["problems"]
    assert len(problems) == len(bad)
    assert problems[0]["file"] == "清单.gpkg" and problems[0]["field"] == "list_year"
    assert problems[0]["row"] == 1
    wrong = _upload(client, path, keys["land_bureau"], name="list.exe")
    assert wrong.status_code == 400
    # Not a GeoPackage at all: refused by the worker process that reads it, and named.
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"PK\x03\x04 not a GeoPackage " * 100)
    unreadable = _upload(client, junk, keys["land_bureau"], name="清单.gpkg")
    assert unreadable.status_code in (400, 422), unreadable.text
    assert "清单.gpkg" in unreadable.json()["message"]
    assert (data_hash(store.features.read(PARCELS), PARCELS), len(store.releases.all())) == before
    assert not Path("/etc/清单.gpkg").exists()


def test_readers_over_http_during_a_publish_see_one_list(
    store: Store,
    settings: Settings,
    keys: dict[str, dict[str, str]],
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
) -> None:
    path = _list_file(zone, tmp_path, price_wmu=77.0)
    with serve(create_app(settings)) as base:
        with path.open("rb") as handle:
            staged = httpx.post(
                f"{base}/stock-lists?year=2027",
                files={"file": (path.name, handle)},
                headers=keys["land_bureau"],
                timeout=60,
            )
        release = staged.json()["release"]["id"]
        seen: set[frozenset[float]] = set()
        failures: list[str] = []
        done = threading.Event()

        def read() -> None:
            with httpx.Client(base_url=base, timeout=30) as http:
                while not done.is_set():
                    r = http.get("/collections/parcels/items?limit=1000")
                    if r.status_code != 200:
                        failures.append(f"{r.status_code} {r.text[:200]}")
                        continue
                    prices = {f["properties"]["price_wmu"] for f in r.json()["features"]}
                    seen.add(frozenset(p == 77.0 for p in prices))

        readers = [threading.Thread(target=read) for _ in range(3)]
        for r in readers:
            r.start()
        published = httpx.post(
            f"{base}/stock-lists/{release}/publish", headers=keys["land_bureau"], timeout=60
        )
        assert published.status_code == 200
        for _ in range(100):
            if frozenset({True}) in seen:
                break
            threading.Event().wait(0.05)
        done.set()
        for r in readers:
            r.join(timeout=60)
    assert failures == []
    # All old (no parcel at 77) or all new (every parcel at 77): never a mix.
    assert seen <= {frozenset({False}), frozenset({True})} and frozenset({True}) in seen
