"""Hostile query parameters (R18) and heavy queries (R24) on /collections/{id}/items, on
both stores: injection attempts over ``filter`` / ``sortby`` / ``properties`` / ``bbox`` /
``limit`` / ``offset`` are a 400 in under a second that shows no database text and
changes nothing; the heaviest queries a reader may send are bounded."""

from __future__ import annotations

import http.client
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import geopandas as gpd
import pytest
import shapely
import sqlalchemy as sa
from fastapi.testclient import TestClient
from psycopg.errors import QueryCanceled
from sqlalchemy.exc import OperationalError

from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import LAYERS
from layers.errors import InvalidInput
from layers.store.filters import compile_filter
from layers.store.rows import data_hash
from layers.store.store import Store
from tests.browser import serve

# Words that only a database, a driver or a traceback would put in an error body.
DATABASE_TEXT = (
    "psycopg", "sqlite", "sqlalchemy", "postgres", "SELECT", "FROM ", "syntax error at or near",
    "LINE 1", "relation", "Traceback", 'File "', "lark", "pygeofilter", "0x", "/work/",
)  # fmt: skip

CORPUS: list[tuple[str, str]] = [
    ("filter", "1=1; DROP TABLE parcels"),
    ("filter", "land_use = 'M1'; DELETE FROM parcels"),
    ("filter", "land_use = 'x' OR 1=1 --"),
    ("filter", "land_use = '' OR ''1''=''1'"),
    ("filter", "land_use = 'x'' OR ''1''=''1'"),
    ("filter", "pg_sleep(5) = 1"),
    ("filter", "land_use = pg_sleep(5)"),
    ("filter", "CASEI(land_use) = lo_import('/etc/passwd')"),
    ("filter", "S_INTERSECTS(geometry, ST_GeomFromText('POINT(1 2)'))"),
    ("filter", "S_INTERSECTS(geometry, POINT(1 2)) OR sqlite_version() = 1"),
    ("filter", '"land_use"; DROP TABLE parcels; --" = \'x\''),
    ("filter", "parcel_id = 'a' UNION SELECT key_hash FROM credentials"),
    ("filter", "land_use IN (SELECT key_hash FROM credentials)"),
    ("filter", "EXISTS(SELECT 1)"),
    ("filter", "land_use EXISTS"),
    ("filter", "release_id = 1"),  # a database column, not a property
    ("filter", "geom IS NULL"),
    ("filter", "fid = 1"),
    ("filter", "minx > 0"),
    ("filter", "floor_wmu > 0"),  # internal: unknown to the public
    ("filter", "contact LIKE '%'"),
    ("filter", "land_use = '\x00'"),
    ("filter", "${jndi:ldap://127.0.0.1/x}"),
    ("filter", "exec('import os')"),
    ("filter", "((((((((((" * 10),
    ("filter", "NOT (" * 70 + "land_use = 'x'" + ")" * 70),
    ("filter", " AND ".join(["land_use = 'x'"] * 1200)),
    ("filter", "land_use IN (" + ",".join(["'x'"] * 1500) + ")"),
    ("filter", "S_INTERSECTS(geometry, POLYGON((0 0, 1e400 0, 1 1, 0 0)))"),
    ("filter", "S_INTERSECTS(geometry, POINT(500 500))"),
    ("filter", "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))"),
    ("filter", "S_DWITHIN(geometry, POINT(1 2), 10, meters)"),
    ("filter", "price_wmu > 1e400"),
    ("filter", "price_wmu / 0 > 1"),
    ("filter", "list_year = 99999999999999999999999"),
    ("filter", "as_env_dt > DATE('2025-13-45')"),
    ("filter", "T_AFTER(as_env_dt, DATE('2020-01-01'))"),
    ("filter", ""),
    ("filter-lang", "sql"),
    ("filter-crs", "EPSG:4326; DROP TABLE parcels"),
    ("sortby", "price_wmu; DROP TABLE parcels"),
    ("sortby", "price_wmu DESC"),
    ("sortby", "(SELECT 1)"),
    ("sortby", "1"),
    ("sortby", "-"),
    ("sortby", ","),
    ("sortby", "floor_wmu"),
    ("sortby", "geom"),
    ("sortby", "fid"),
    ("sortby", "area_mu"),
    ("sortby", ",".join(["price_wmu"] * 20)),
    ("properties", "*"),
    ("properties", "name,(select 1)"),
    ("properties", "floor_wmu"),
    ("properties", "../../etc/passwd"),
    ("properties", "name;drop table parcels"),
    ("bbox", "1,2,3"),
    ("bbox", "a,b,c,d"),
    ("bbox", "1,2,3,4,5,6"),
    ("bbox", "nan,0,1,1"),
    ("bbox", "inf,0,1,1"),
    ("bbox", "1e309,0,1,1"),
    ("bbox", "0,0,1,1);DROP TABLE parcels;--"),
    ("bbox", "181,0,182,1"),
    ("bbox", "1,1,0,0"),
    ("bbox-crs", "' OR 1=1"),
    ("crs", "http://www.opengis.net/def/crs/EPSG/0/4326' OR '1'='1"),
    ("limit", "0"),
    ("limit", "-1"),
    ("limit", "abc"),
    ("limit", "1e3"),
    ("limit", "10001"),
    ("limit", "99999999999999999999"),
    ("limit", "1;DROP TABLE parcels"),
    ("offset", "-1"),
    ("offset", "2147483648"),
    ("offset", "x"),
    ("f", "xml"),
    ("unknown", "1"),
]


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=60)


def _tables(store: Store) -> set[str]:
    return set(sa.inspect(store.engine).get_table_names())


def _state(store: Store) -> tuple[set[str], dict[str, str], int]:
    hashes = {name: data_hash(store.features.read(spec), spec) for name, spec in LAYERS.items()}
    return _tables(store), hashes, len(store.audit.rows(limit=10_000))


def test_injection_corpus_is_refused_quickly_without_database_text(
    client: TestClient, loaded: Store
) -> None:
    before = _state(loaded)
    for parameter, value in CORPUS:
        # Slow on both of two tries: an input that costs time, not a stall of the machine
        # (a CI run once took 4.2 s for a value refused in 0.1 s on its own).
        elapsed = []
        for _ in range(2):
            started = time.perf_counter()
            response = client.get("/collections/parcels/items", params={parameter: value})
            elapsed.append(time.perf_counter() - started)
            if elapsed[-1] < 1.0:
                break
        assert response.status_code == 400, (parameter, value, response.text)
        assert min(elapsed) < 1.0, (parameter, value, elapsed)
        body = response.json()
        assert set(body) == {"code", "message", "details"}, (parameter, value)
        for word in DATABASE_TEXT:
            if word.lower() not in value.lower():  # the message may quote the input
                assert word not in response.text, (parameter, value, word, response.text)
    assert _state(loaded) == before


def test_a_million_vertex_filter_geometry_is_refused_before_parsing(
    settings: Settings, loaded: Store
) -> None:
    ring = ",".join(f"{112 + i * 1e-7:.7f} 37.6" for i in range(1_000_000))
    text = f"S_INTERSECTS(geometry, POLYGON(({ring},112 37.6)))"
    # Over HTTP, as a client would send it (a 24 MB URL): refused by the server at once.
    with serve(create_app(settings)) as base:
        host, port = base.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        started = time.perf_counter()
        try:
            connection.request("GET", "/collections/parcels/items?" + urlencode({"filter": text}))
            status = connection.getresponse().status
        except (ConnectionResetError, BrokenPipeError):
            status = None  # the server hung up on the oversized request line
        finally:
            connection.close()
        assert status in (None, 400, 413, 414, 431)
        assert time.perf_counter() - started < 5.0
        # The service is still there for everyone else.
        with urllib.request.urlopen(f"{base}/collections/parcels/items?limit=1") as ok:  # noqa: S310
            assert ok.status == 200
    # And the service itself refuses it before the parser sees it.
    scope = loaded.features.scope(LAYERS["parcels"], LAYERS["parcels"].fields)
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="too long"):
        compile_filter(text, scope)
    assert time.perf_counter() - started < 0.1


def test_heaviest_allowed_queries_are_bounded(client: TestClient, loaded: Store) -> None:
    # A filter polygon near the size limit (~2,800 vertices) around the whole zone.
    minx, miny, maxx, maxy = (
        float(v) for v in loaded.features.read(LAYERS["parcels"]).total_bounds
    )
    ring = shapely.segmentize(shapely.box(minx - 0.01, miny - 0.01, maxx + 0.01, maxy + 0.01), 6e-5)
    wkt = shapely.to_wkt(ring, rounding_precision=5)
    assert len(wkt) < 60_000 and shapely.get_num_coordinates(ring) > 2_500
    started = time.perf_counter()
    response = client.get(
        "/collections/parcels/items", params={"filter": f"S_INTERSECTS(geometry, {wkt})"}
    )
    on_offer = loaded.features.count(
        LAYERS["parcels"], where=loaded.features.on_offer(LAYERS["parcels"])
    )
    assert response.status_code == 200 and response.json()["numberMatched"] == on_offer
    assert time.perf_counter() - started < 5.0

    # The world at the largest page: every feature, no more than the limit allows.
    started = time.perf_counter()
    world = client.get("/collections/parcels/items?bbox=-180,-90,180,90&limit=10000")
    assert world.status_code == 200 and world.json()["numberReturned"] == on_offer
    assert time.perf_counter() - started < 5.0

    # The deepest offset there is: nothing, at once.
    started = time.perf_counter()
    deep = client.get("/collections/parcels/items?offset=2147483647&limit=10000")
    assert deep.status_code == 200 and deep.json()["features"] == []
    assert time.perf_counter() - started < 2.0


@pytest.mark.postgis
def test_the_service_bounds_every_statement_on_postgis(postgis_url: str, tmp_path: Path) -> None:
    """The service's connections carry ``statement_timeout``: a runaway statement is
    cancelled by PostgreSQL, and the client gets a 503 that says so, without SQL."""
    store = Store.open(postgis_url, statement_timeout_ms=300)
    try:
        started = time.perf_counter()
        with pytest.raises(OperationalError) as raised, store.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_sleep(5)"))
        assert isinstance(raised.value.orig, QueryCanceled)
        assert time.perf_counter() - started < 2.0
    finally:
        store.close()
    settings = Settings(db_url=postgis_url, data_dir=tmp_path, statement_timeout_ms=300)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        served: Store = client.app.state.store  # type: ignore[attr-defined]

        def runaway(*_args: object, **_kwargs: object) -> None:
            with served.engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_sleep(5)"))

        served.features.ids = runaway  # type: ignore[method-assign]  # every page asks
        response = client.get("/collections/parcels/items")
    assert response.status_code == 503 and response.json()["code"] == "query_timeout"
    assert "pg_" not in response.text and "statement" not in response.text
