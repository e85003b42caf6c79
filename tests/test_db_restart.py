"""R25: the database restarted under a running service → 503 at once, then the service
recovers by itself, with no restart and no new app.

The shared PostgreSQL other sessions test on is left alone: this module starts a
throwaway cluster of its own (``initdb`` into a temporary folder, a free loopback port)
and stops and starts that one. The service runs in a real server (uvicorn, in a thread).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import LAYERS
from layers.demo import generate_zone
from layers.store.store import Store
from tests.browser import free_port, serve
from tests.people import TESTER

pytestmark = pytest.mark.postgis

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "requests"
DOWN_WITHIN_S = 3.0
"""How long a request may take to say the store is down."""
ROLE, PASSWORD, DATABASE = "gs_restart", "gs_restart", "gs_restart"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def _pg_bin() -> Path:
    """The newest PostgreSQL whose PostGIS is installed; a skip outside CI, else a failure."""
    for pg_ctl in sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True):
        version = pg_ctl.parents[1].name
        if Path(f"/usr/share/postgresql/{version}/extension/postgis.control").is_file():
            return pg_ctl.parent
    message = "no PostgreSQL with PostGIS under /usr/lib/postgresql: run scripts/ensure-postgis.sh"
    if _in_ci():
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class Cluster:
    """A PostgreSQL cluster in a folder of its own, run as ``postgres`` when we are root
    (``initdb`` and ``postgres`` refuse to run as root)."""

    bin: Path
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def run(self, program: str, *args: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*as_postgres, str(self.bin / program), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (program, done.stdout, done.stderr, self.log())

    def log(self) -> str:
        path = self.folder / "postgres.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
        )
        log = str(self.folder / "postgres.log")
        self.run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, user: str = ROLE, database: str = DATABASE) -> str:
        password = f":{PASSWORD}" if user == ROLE else ""
        return f"postgresql+psycopg://{user}{password}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = DATABASE) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    folder = Path(tempfile.mkdtemp(prefix="geo-service-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    pg = Cluster(_pg_bin(), folder, free_port())
    try:
        pg.run("initdb", "-D", str(pg.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
               "--locale=C", "--no-sync")  # fmt: skip
        pg.start()
        with psycopg.connect(pg.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
            conn.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        with psycopg.connect(pg.dsn(), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        store = Store.open(pg.url())
        try:
            for name, frame in generate_zone(parcels=60).items():
                store.features.write(LAYERS[name], frame, actor=TESTER)
        finally:
            store.close()
        yield pg
    finally:
        if pg.running:
            pg.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def running(cluster: Cluster) -> Cluster:
    """The cluster, up (a test that failed mid-outage leaves it down)."""
    if not cluster.running:
        cluster.start()
    return cluster


@pytest.fixture
def base_url(running: Cluster, tmp_path: Path) -> Iterator[str]:
    settings = Settings(db_url=running.url(), data_dir=tmp_path)
    with serve(create_app(settings)) as base:
        yield base


@pytest.fixture
def planner_key(running: Cluster) -> str:
    store = Store.open(running.url())
    try:
        return auth.create_key(store, name="招商部 重启", role="planner", actor=TESTER)[1]
    finally:
        store.close()


def _requests(key: str, cluster: Cluster) -> list[tuple[str, str, dict[str, Any]]]:
    """Items, one feature, a collection, matching, the investor map, a popup and a tile."""
    project = json.loads((EXAMPLES / "daheng_crystal_pulling.json").read_text(encoding="utf-8"))
    store = Store.open(cluster.url())
    try:
        parcels = store.features.read(LAYERS["parcels"])
    finally:
        store.close()
    listed = int(parcels.index[parcels["status"] == "available"][0])
    centre = parcels.geometry.union_all().centroid
    z, n = 14, 2**14
    x = int((centre.x + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(centre.y))) / math.pi) / 2 * n)
    return [
        ("GET", "/collections/parcels/items?limit=5", {}),
        ("GET", f"/collections/parcels/items/{listed}", {}),
        ("GET", "/collections/factories", {}),
        ("POST", "/match?top=3", {"json": project, "headers": {"X-API-Key": key}}),
        ("GET", "/maps/investor", {}),
        ("GET", f"/maps/popup/investor/parcels/{listed}", {}),
        ("GET", f"/tiles/parcels/{z}/{x}/{y}.pbf", {}),
    ]


def _assert_unavailable(response: httpx.Response, cluster: Cluster) -> None:
    assert response.status_code == 503, response.text[:300]
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == "store_unavailable"
    assert int(response.headers["retry-after"]) > 0  # clients know to come back soon
    # Body and headers (but the Server header, which names uvicorn).
    headers = [value for name, value in response.headers.multi_items() if name != "server"]
    text = (response.text + str(headers)).lower()
    for hint in (
        "psycopg", "sqlalchemy", "postgres", "connection", "server", "socket", "refused",
        "select", "traceback", "127.0.0.1", str(cluster.port), DATABASE,
    ):  # fmt: skip
        assert hint not in text, hint


def test_a_restarted_database_gives_503_then_the_service_recovers(
    running: Cluster, base_url: str, planner_key: str
) -> None:
    calls = _requests(planner_key, running)
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for method, url, options in calls:
            response = http.request(method, url, **options)
            assert response.status_code == 200, (url, response.text[:300])

        running.stop()
        for method, url, options in calls * 2:  # and again: no slower the second time
            started = time.perf_counter()
            response = http.request(method, url, **options)
            assert time.perf_counter() - started < DOWN_WITHIN_S, url
            _assert_unavailable(response, running)
        # What needs no database still works: the service itself is up.
        assert http.get("/conformance").status_code == 200

        running.start()
        for method, url, options in calls:
            response = http.request(method, url, **options)
            assert response.status_code == 200, (url, response.text[:300])


def test_a_restart_while_the_service_is_idle_goes_unnoticed(
    running: Cluster, base_url: str, planner_key: str
) -> None:
    """The pooled connections died with the old server; no request saw it fail, so
    nothing has flushed the pool — the first request after the restart must still succeed
    (``pool_pre_ping`` replaces a dead connection before handing it out)."""
    calls = _requests(planner_key, running)
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for method, url, options in calls * 2:  # enough to leave several connections pooled
            assert http.request(method, url, **options).status_code == 200, url
        running.stop()
        running.start()
        for method, url, options in calls:
            response = http.request(method, url, **options)
            assert response.status_code == 200, (url, response.text[:300])


def test_a_request_in_flight_when_the_database_stops_gets_503(
    running: Cluster, base_url: str
) -> None:
    """A request waiting on the database (here: on a lock) when it is shut down fails
    with the same clean 503 — not a hang, not a 500 — and the next one after the restart
    succeeds."""
    url = "/collections/parks/items"
    with httpx.Client(base_url=base_url, timeout=30) as http, ThreadPoolExecutor(1) as pool:
        assert http.get(url).status_code == 200
        locker = psycopg.connect(running.dsn())
        try:
            locker.execute("LOCK TABLE parks IN ACCESS EXCLUSIVE MODE")
            in_flight = pool.submit(http.get, url)
            _wait_for_lock_waiter(running)
            assert not in_flight.done()
            started = time.perf_counter()
            running.stop()
            response = in_flight.result(timeout=30)
            assert time.perf_counter() - started < 15  # a fast shutdown, then the answer
        finally:
            _close_quietly(locker)
        _assert_unavailable(response, running)

        running.start()
        assert http.get(url).status_code == 200


def _wait_for_lock_waiter(cluster: Cluster, *, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(cluster.dsn(), autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = %s",
                (DATABASE,),
            ).fetchone()
            if waiting and waiting[0] > 0:
                return
            time.sleep(0.05)
    raise AssertionError("the request never waited on the lock")


def _close_quietly(conn: psycopg.Connection[Any]) -> None:
    with contextlib.suppress(psycopg.Error):  # it was cut off by the shutdown
        conn.close()
