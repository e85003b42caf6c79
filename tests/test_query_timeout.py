"""Every statement of the service is bounded in time, on both stores (R30): a filter that
keeps the database busy is stopped after ``statement_timeout_ms`` and answered 503
``query_timeout``; the next request is answered as usual. Only the service sets the
limit: the CLI's long imports run to the end."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import geopandas as gpd
import pytest
import shapely
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from geo_service.app import create_app
from geo_service.settings import Settings
from geo_service.zones import ZoneCache
from layers.catalog import LAYERS, PARCELS
from layers.store import engine, rows
from layers.store.store import Store
from tests.people import TESTER

ITEMS = "/collections/parcels/items"
# A statement that runs for minutes unless stopped: counting to a billion.
RUNAWAY = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) "
    "SELECT count(*) FROM n"
)


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=400)


def _balanced_or(terms: list[str]) -> str:
    """``terms`` joined by OR in a balanced tree: nested within the depth cap."""
    if len(terms) == 1:
        return terms[0]
    half = len(terms) // 2
    return f"({_balanced_or(terms[:half])} OR {_balanced_or(terms[half:])})"


def heavy_filter(loaded: Store) -> str:
    """ORs of 200 spatial predicates that are false for every parcel but whose boxes
    cover them all (frames with the zone in their hole), so each is evaluated for every
    parcel: within every cap (64 KiB, depth 64, 1,000 values), seconds of work on both
    stores."""
    minx, miny, maxx, maxy = (
        float(v) for v in loaded.features.read(LAYERS["parcels"]).total_bounds
    )
    hole = shapely.box(minx - 0.01, miny - 0.01, maxx + 0.01, maxy + 0.01).exterior.coords
    terms = []
    for i in range(200):
        d = 1e-4 * i  # each frame differs: no cache serves the next one
        outer = shapely.box(minx - 0.02 - d, miny - 0.02, maxx + 0.02 + d, maxy + 0.02)
        frame = shapely.Polygon(outer.exterior.coords, [hole])
        relation = ("S_OVERLAPS", "S_TOUCHES")[i % 2]
        terms.append(f"{relation}(geometry, {shapely.to_wkt(frame, rounding_precision=4)})")
    text = _balanced_or(terms)
    assert len(text) < 65_536 and len(quote_plus(text)) < 65_536  # what a client can send
    return text


def test_a_heavy_filter_is_stopped_and_the_next_request_answered(
    store_url: str, loaded: Store, tmp_path: Path
) -> None:
    text = heavy_filter(loaded)
    settings = Settings(db_url=store_url, data_dir=tmp_path, statement_timeout_ms=150)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get(ITEMS, params={"limit": 1}).status_code == 200
        started = time.perf_counter()
        response = client.get(ITEMS, params={"filter": text})
        elapsed = time.perf_counter() - started
        assert response.status_code == 503, response.text[:300]
        assert response.json()["code"] == "query_timeout"
        assert "interrupted" not in response.text and "sqlite" not in response.text
        assert elapsed < 10.0  # stopped, instead of running on for seconds or minutes
        # Three at once: each is stopped too.
        started = time.perf_counter()
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda _: client.get(ITEMS, params={"filter": text}), range(3)))
        assert [a.status_code for a in answers] == [503] * 3
        assert {a.json()["code"] for a in answers} == {"query_timeout"}
        assert time.perf_counter() - started < 15.0
        # The connections that were stopped serve the next requests as usual.
        for _ in range(5):
            ok = client.get(ITEMS, params={"filter": "price_wmu > 0", "limit": 1})
            assert ok.status_code == 200, ok.text[:300]


def test_without_a_timeout_the_heavy_filter_is_answered(client: TestClient, loaded: Store) -> None:
    """The oracle for the test above: the same filter, without the limit, selects nothing
    — it was stopped for its cost, not refused for its form."""
    response = client.get(ITEMS, params={"filter": heavy_filter(loaded)})
    assert response.status_code == 200 and response.json()["numberMatched"] == 0


def test_the_store_stops_a_runaway_statement_only_when_asked(store_url: str, store: Store) -> None:
    bounded = Store.open(store_url, statement_timeout_ms=200)
    try:
        started = time.perf_counter()
        with pytest.raises(OperationalError) as raised, bounded.engine.connect() as conn:
            conn.execute(sa.text(RUNAWAY if not bounded.is_postgis else "SELECT pg_sleep(30)"))
        assert time.perf_counter() - started < 10.0
        if not bounded.is_postgis:
            assert isinstance(raised.value.orig, sqlite3.OperationalError)
            assert raised.value.orig.sqlite_errorcode == sqlite3.SQLITE_INTERRUPT
        # The same pool answers the next statement, however long after the last began.
        time.sleep(0.3)
        with bounded.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    finally:
        bounded.close()
    # The CLI's store has no limit: a statement longer than 200 ms runs to its end.
    long = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) "
        "SELECT count(*) FROM n"
    )
    with store.engine.connect() as conn:
        assert conn.execute(sa.text(long)).scalar_one() == 3_000_000


def test_the_zone_is_read_whole_however_long_its_read_takes(
    tmp_path: Path, zone: dict[str, gpd.GeoDataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deadline stops a request's statement; the service's read of a whole layer for
    its zone has a longer bound of its own (on SQLite the deadline runs while the rows
    are read, and a million parcels take longer than 30 s to read into a frame). Here the
    read is slowed so that 400 parcels take longer than the deadline."""
    url = f"sqlite:///{tmp_path / 'zone.db'}"
    writer = Store.open(url)
    for name, frame in zone.items():
        writer.features.write(LAYERS[name], frame, actor=TESTER)
    writer.close()
    column_add = rows._Column.add

    def slow_add(self: Any, values: Any) -> None:
        time.sleep(0.002)
        column_add(self, values)

    monkeypatch.setattr(rows, "READ_CHUNK", 50)
    monkeypatch.setattr(rows._Column, "add", slow_add)  # 8 chunks × 87 columns × 2 ms
    bounded = Store.open(url, statement_timeout_ms=200)
    try:
        with pytest.raises(OperationalError):  # a request's read of them is stopped
            bounded.features.read(PARCELS)
        assert len(bounded.features.read(PARCELS, long_read=True)) == len(zone["parcels"])
        served = ZoneCache(bounded).get()
        assert len(served.parcels) == len(zone["parcels"])
        monkeypatch.setattr(engine, "LONG_READ_SECONDS", 0.2)  # a long read has its bound
        with pytest.raises(OperationalError):
            bounded.features.read(PARCELS, long_read=True)
    finally:
        bounded.close()
