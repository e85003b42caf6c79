"""Two service processes on one PostGIS: a change made through one is in the other's
zone at its next request (issue 16, item 6). Each process reads the layer versions from
the database on every request, patches its zone for a reservation or a ledger edit before
answering, and serves its previous zone while it builds one anew for anything else."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import httpx
import pytest

from geo_service import auth
from layers.catalog import LAYERS, PARCELS, ROADS
from layers.store.store import Store
from tests.browser import free_port
from tests.people import TESTER

PROJECT = {"name": "两进程 (two processes)", "industry": "装备制造", "area": {"min_mu": 1}}


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=300)


@contextmanager
def _process(store: Store, folder: Path) -> Iterator[httpx.Client]:
    """The service in a process of its own (uvicorn, as deployed) on ``store``."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_SERVICE_")}
    env |= {
        "GEO_SERVICE_DB_URL": store.engine.url.render_as_string(hide_password=False),
        "GEO_SERVICE_DATA_DIR": str(folder),
    }
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "geo_service.app:create_app",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                if client.get("/conformance").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        yield client
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def _excluded(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text[:500]
    return {e["id"] for e in response.json()["excluded"]}


def test_a_reservation_through_one_process_is_in_the_others_next_match(
    postgis_store: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    loaded = postgis_store
    for name, frame in zone.items():
        loaded.features.write(LAYERS[name], frame, actor=TESTER)
    _, key = auth.create_key(loaded, name="招商部 两进程", role="planner", actor=TESTER)
    _, admin = auth.create_key(loaded, name="管理员 两进程", role="admin", actor=TESTER)
    planner, bureau = {"X-API-Key": key}, {"X-API-Key": admin}
    with _process(loaded, tmp_path / "a") as a, _process(loaded, tmp_path / "b") as b:
        before = b.post("/match", json=PROJECT, headers=planner)
        free = sorted(set(loaded.features.read(PARCELS)["parcel_id"]) - _excluded(before))
        body = {"layer": "parcels", "site_id": free[0], "project": "大恒 一期"}
        held = a.post("/reservations", json=body, headers=planner)
        assert held.status_code == 201, held.text
        after = b.post("/match", json=PROJECT, headers=planner)
        assert free[0] in _excluded(after)
        assert after.json()["data_versions"] == loaded.features.versions()

        # A ledger edit through B is in A's zone at once: the park's energy quota.
        row = b.get("/ledgers/parks/P01", headers=bureau).json()
        values = {"egy_total": row["values"]["egy_total"] + 1234.0}
        edit = {"version": row["version"], "quarter": "2026Q4", "values": values}
        assert b.patch("/ledgers/parks/P01", json=edit, headers=bureau).status_code == 200
        matched = a.post("/match", json=PROJECT, headers=planner).json()
        assert matched["data_versions"] == loaded.features.versions()

        # A road changed through the store: B answers at once with the zone it has, and
        # has the new one within the time a rebuild takes.
        roads = loaded.features.read(ROADS)
        loaded.features.write(ROADS, roads.iloc[1:], replace=True, actor=TESTER)
        started = time.monotonic()
        first = b.post("/match", json=PROJECT, headers=planner)
        assert first.status_code == 200 and time.monotonic() - started < 5
        deadline = time.monotonic() + 30
        while (
            b.post("/match", json=PROJECT, headers=planner).json()["data_versions"]
            != loaded.features.versions()
        ):
            assert time.monotonic() < deadline, "process B never caught up"
            time.sleep(0.2)
