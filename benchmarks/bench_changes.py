"""What a planner waits for after a change, over HTTP, on a large zone: the first match
(the zone loaded cold), a reservation and the match after it, a release, a ledger edit,
a change of the road layer and a new stock list put in force (both build the zone anew,
aside: the time until matches use it is given too); and the memory the served zone takes.

Run on demand (not part of the test suite), on the embedded store or PostGIS:

    .venv/bin/python -m benchmarks.bench_changes --parcels 100000 [--db URL] [--repeat 5]

The database (--db, whose name must contain ``bench``; default a new SQLite file in a
temporary folder) is filled with a zone of --parcels parcels from ``generate_zone`` (not
timed). The app runs in this process behind Starlette's test client, so the times are the
server's own (no network). Each change is answered only once the zone has it (the zone
cache's ``changing``), so its time includes bringing the zone up to date; the match that
follows shows the zone the change left.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
from fastapi.testclient import TestClient
from rich.progress import track

from benchmarks.bench_matching import rss_mib
from benchmarks.scratch import BENCH, wipe
from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from geo_service.zones import ZoneCache, give_back_memory
from layers.catalog import LAYERS, PARCELS, ROADS
from layers.demo import generate_zone
from layers.store.store import Store

REQUEST = {
    "name": "基准项目 (benchmark project)",
    "industry": "装备制造",
    "area": {"min_mu": 60, "max_mu": 200},
    "energy_tce": 2000,
    "power_mw": 9,
}


def timed(call: Callable[..., Any], *args: Any, status: int = 200, **kwargs: Any) -> float:
    """Seconds ``call(*args, **kwargs)`` takes; its response must have ``status``."""
    start = time.perf_counter()
    response = call(*args, **kwargs)
    seconds = time.perf_counter() - start
    assert response.status_code == status, response.text[:500]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", help="a database URL whose name contains 'bench' (wiped)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_changes_"))
    db = args.db or f"sqlite:///{folder / 'bench.db'}"
    if args.db:
        wipe(db)
    # Filled by another process: what generating and storing the zone leaves in this
    # one's heap would otherwise take in part of the served zone, and flatter its memory.
    filler = multiprocessing.get_context("spawn").Process(target=fill, args=(db, args.parcels))
    filler.start()
    filler.join()
    if filler.exitcode:
        raise SystemExit(f"filling {db} failed ({filler.exitcode})")
    store = Store.open(db)
    _, key = auth.create_key(store, name="benchmark planner", role="planner", actor=BENCH)
    _, admin = auth.create_key(store, name="benchmark admin", role="admin", actor=BENCH)
    planner, bureau = {"X-API-Key": key}, {"X-API-Key": admin}
    settings = Settings(db_url=db, data_dir=folder, environment="production")
    rows: list[tuple[str, list[float]]] = []
    with TestClient(create_app(settings)) as client:

        def matched() -> float:
            return timed(client.post, "/match", json=REQUEST, headers=planner)

        gc.collect()
        give_back_memory()  # what the set-up freed is not counted either
        started_mib = rss_mib()
        rows.append(("first match (zone loaded cold)", [matched()]))
        gc.collect()
        loaded_mib = rss_mib()
        give_back_memory()  # the heap the match freed (glibc keeps it for the next ones)
        trimmed_mib = rss_mib()
        rows.append(("match, zone in memory", [matched() for _ in range(args.repeat)]))
        parcels = store.features.read(PARCELS)
        free = parcels.loc[parcels["status"] == "available", "parcel_id"][: args.repeat]
        reserve, after, release = [], [], []
        for site in free:
            body = {"layer": "parcels", "site_id": site, "project": "基准", "energy_tce": 100}
            reserve.append(timed(client.post, "/reservations", json=body, headers=planner,
                                 status=201))  # fmt: skip
            after.append(matched())
            held = client.get("/reservations?active=true", headers=planner).json()[0]["id"]
            path = f"/reservations/{held}/release"
            body = {"reason": "基准测试 (benchmark)"}
            release.append(timed(client.post, path, json=body, headers=planner))
        rows += [("reservation (zone patched before the answer)", reserve),
                 ("match after a reservation", after), ("release", release)]  # fmt: skip
        edit, after_edit = [], []
        for _ in range(args.repeat):
            row = client.get("/ledgers/parks/P01", headers=bureau).json()
            values = {"egy_total": row["values"]["egy_total"] + 10}
            body = {"version": row["version"], "quarter": "2026Q4", "values": values}
            edit.append(timed(client.patch, "/ledgers/parks/P01", json=body, headers=bureau))
            after_edit.append(matched())
        rows += [("ledger edit (a park's energy quota)", edit),
                 ("match after a ledger edit", after_edit)]  # fmt: skip
        roads = store.features.read(ROADS)
        meanwhile, ready = [], []
        for i in range(min(args.repeat, 2)):
            store.features.write(ROADS, roads.iloc[i + 1 :], replace=True, actor=BENCH)
            meanwhile.append(matched())  # answered from the zone in memory
            ready.append(until_used(client, store, planner) + meanwhile[-1])
        rows += [("match right after a road change (previous zone)", meanwhile),
                 ("…until matches use the zone built anew", ready)]  # fmt: skip
        listed, listed_ready = [], []
        for i in range(min(args.repeat, 2)):
            publish_list(store, parcels.iloc[i + 1 :], year=2030 + i)
            listed.append(matched())
            listed_ready.append(until_used(client, store, planner) + listed[-1])
        rows += [("match right after a new stock list (previous zone)", listed),
                 ("…until matches use the new list's zone", listed_ready)]  # fmt: skip
    print(f"{args.parcels:,} parcels, {db.split(':')[0]}; server time, median (min–max) of runs")
    for label, seconds in rows:
        ms = [s * 1000 for s in seconds]
        print(f"{label:<48} {statistics.median(ms):>9.1f} ms  ({min(ms):.1f}–{max(ms):.1f})")
    served, zone = ((mib - started_mib) * 2**20 / args.parcels for mib in (loaded_mib, trimmed_mib))
    print(f"memory: the served zone {served / 1024:.2f} KiB per parcel (resident, after the "
          f"first match; the process {loaded_mib:.0f} MiB), {zone / 1024:.2f} KiB once the "
          "heap the match freed is given back")  # fmt: skip


def fill(db: str, parcels: int) -> None:
    """The database ``db`` filled with a zone of ``parcels`` parcels (in a process of its
    own: see ``main``)."""
    store = Store.open(db)
    for name, frame in track(generate_zone(parcels=parcels).items(), description="storing"):
        store.features.write(LAYERS[name], frame, actor=BENCH)


def until_used(client: TestClient, store: Store, planner: dict[str, str]) -> float:
    """Seconds until matches are made on the layers now in the store, once a match has
    started the zone's rebuild: the served zone's versions are watched (a match each time
    would take the interpreter from the rebuild), then a match shows it is used."""
    start = time.perf_counter()
    versions = store.features.versions()
    zones = cast(ZoneCache, client.app.state.zones)  # type: ignore[attr-defined]
    while zones.versions != versions:
        time.sleep(0.01)
    used = client.post("/match", json=REQUEST, headers=planner).json()["data_versions"]
    assert used == versions, (used, versions)
    return time.perf_counter() - start


def publish_list(store: Store, parcels: gpd.GeoDataFrame, *, year: int) -> None:
    """A new stock list put in force outside the service (as another process would)."""
    listed = parcels.assign(list_year=year)
    source = ("bench.gpkg", b"benchmark")
    current = store.releases.current_id()
    staged = store.releases.stage(
        listed, year=year, source=source, report={}, actor=BENCH, base=current
    )
    store.releases.publish(staged.id, actor=BENCH)


if __name__ == "__main__":
    main()
