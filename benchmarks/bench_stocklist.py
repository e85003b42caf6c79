"""Stock-list benchmark: validate, diff, stage and publish next year's list of a large zone.

    .venv/bin/python -m benchmarks.bench_stocklist [--parcels 50000] [--format gpkg]
    .venv/bin/python -m benchmarks.bench_stocklist --db postgresql+psycopg://…/…bench  # WIPED

Setup (not timed): a zone of --parcels parcels from ``generate_zone`` is loaded into the
store (a temporary embedded SQLite file, or --db, emptied first: releases are kept for
ever, and an earlier run's would weigh on this one's pages); next year's list is made
from it (every ``list_year`` moved on, a few hundred prices changed, some parcels
withdrawn, some renamed, i.e. removed and added under a new id) and written as the land
bureau would send it.

Timed, once each: the baseline, ``pyogrio.read_dataframe`` of that same file (GDAL just
reading it); then the steps of an import one by one — ``validate`` (with the parks),
``store.features.read`` of the list in force, ``diff``, ``store.releases.stage``,
``store.releases.publish``; then, with the old list put back in force, the path a user
waits for: ``import_list`` + ``publish_release``. Around the steps, the bounding-box page
``/items?bbox=…&limit=1000`` reads (``store.features.read`` over the middle of the zone,
on an engine set up as the service's) is timed before the import and after the publish,
each in a fresh process (the import's own objects would slow the second's reads): the
median of 21 (a page takes about 40 ms, single reads vary by a quarter), and their ratio
(a publish must leave the planner its statistics); on PostGIS also the database's own
execution time of the page's query (``EXPLAIN ANALYZE``), which the client's noise does
not blur.
Seconds are wall-clock (``cpu s`` is this process's CPU time: on a busy machine the wall
time grows, the CPU time much less; a database server's work shows in wall time only).
Ratios are against the baseline read. The run fails (exit 1) if ``import_list`` + publish
takes longer than --budget seconds.

Memory: each of the three (baseline, steps, import + publish) runs in a fresh Python
process, so no step inherits another's heap. Peak memory is the process's peak resident
set (``VmHWM`` in ``/proc/self/status``), reset before each step (``/proc/self/clear_refs``,
after ``gc.collect()`` and ``malloc_trim`` hand freed memory back to the system): ``peak
MB`` is the whole process at its highest during the step (interpreter, libraries, the
step's inputs), ``+MB`` what the step added on top of what it started with.
``resource.getrusage().ru_maxrss`` is not used: it cannot be reset, and a process started
from a large parent reports at least the parent's peak (it inherits it at ``exec``).
``tracemalloc`` is not used either: it sees Python and numpy allocations but not GEOS,
GDAL, SQLite or psycopg memory, and it slows the per-row Python loops it would measure.
Linux only.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import geopandas as gpd
import numpy as np
import sqlalchemy as sa

from benchmarks.scratch import BENCH, wipe
from layers.catalog import LAYERS, PARCELS, PARKS
from layers.demo import generate_zone
from layers.io import write_layer_file
from layers.stocklist import import_list
from layers.stocklist_diff import diff
from layers.stocklist_validation import validate
from layers.store.features import BBox
from layers.store.store import Store

PRICE_CHANGES, WITHDRAWN, RENAMED = 300, 100, 100
# No zipped Shapefile: write_layer_file refuses it when a derived ``gaps`` text is longer
# than a DBF field holds, as some synthetic parcels' are.
FORMATS = ("gpkg", "geojson", "csv", "xlsx")
ROOT = Path(__file__).resolve().parent.parent


def touched(n: int) -> tuple[int, int, int]:
    """How many of ``n`` parcels get a new price, are withdrawn, are renamed."""
    return min(PRICE_CHANGES, n // 5), min(WITHDRAWN, n // 5), min(RENAMED, n // 5)


def next_year(parcels: gpd.GeoDataFrame, *, seed: int = 2027) -> tuple[gpd.GeoDataFrame, int]:
    """Next year's list made from this year's: every ``list_year`` moved on, some prices
    raised 5 %, some parcels withdrawn, some given new ids (see :func:`touched`)."""
    rng = np.random.default_rng(seed)
    picked = rng.permutation(len(parcels))
    k = touched(len(parcels))
    priced, dropped, renamed = np.split(picked[: sum(k)], np.cumsum(k)[:2])
    year = int(parcels["list_year"].max()) + 1
    out = parcels.copy()
    out["list_year"] = year
    column = out.columns.get_loc("price_wmu")
    out.iloc[priced, column] = (out["price_wmu"].iloc[priced] * 1.05).round(1)
    ids = out.columns.get_loc(PARCELS.id_field)
    out.iloc[renamed, ids] = [f"{pid}-{year}" for pid in out[PARCELS.id_field].iloc[renamed]]
    return out.drop(index=out.index[dropped]).reset_index(drop=True), year


# -- measuring (in the child process) ------------------------------------------------------
def _rss_mb() -> tuple[float, float]:
    """This process's resident set now and at its peak since the last reset, in MB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]


@contextmanager
def measured(name: str, out: list[dict[str, Any]]) -> Iterator[None]:
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # freed heap back to the system: honest "+MB"
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS := RSS now (Linux ≥ 4.0)
    start_mb = _rss_mb()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_mb = _rss_mb()[1]
    out.append(
        {"step": name, "s": wall, "cpu": cpu, "peak_mb": peak_mb, "added_mb": peak_mb - start_mb}
    )


def page_ms(store: Store, box: BBox, repeat: int = 21) -> float:
    """Median milliseconds of the bounding-box page ``/items`` reads (after one warm-up)."""
    store.features.read(PARCELS, bbox=box, limit=1000)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        store.features.read(PARCELS, bbox=box, limit=1000)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def database_ms(store: Store, box: BBox, repeat: int = 21) -> float | None:
    """Median milliseconds PostgreSQL takes to run the page's query (``EXPLAIN ANALYZE``'s
    execution time: the plan's own cost, without the client's decoding); ``None`` on the
    embedded store."""
    if not store.is_postgis:
        return None
    sent: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, params: Any, *_rest: Any) -> None:
        sent.append((statement, params))

    sa.event.listen(store.engine, "before_cursor_execute", keep)
    try:
        store.features.read(PARCELS, bbox=box, limit=1000)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", keep)
    statement, params = next((s, p) for s, p in sent if "ST_Intersects" in s)
    times = []
    with store.engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        for _ in range(repeat):
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
            times.append(cursor.fetchone()[0][0]["Execution Time"])
    return statistics.median(times)


def middle(store: Store) -> BBox:
    """A box over the middle tenth of the zone's extent (thousands of parcels)."""
    extent = store.features.extent(PARCELS)
    assert extent is not None
    minx, miny, maxx, maxy = extent
    w, h = maxx - minx, maxy - miny
    return (minx + 0.3 * w, miny + 0.3 * h, minx + 0.6 * w, miny + 0.6 * h)


def child(step: str, db: str, path: Path, year: int) -> dict[str, Any]:
    """One of the measured runs (the page read, the baseline, the steps, the import), in
    this (fresh) process."""
    out: list[dict[str, Any]] = []
    info: dict[str, Any] = {"rss_after_imports_mb": _rss_mb()[0]}
    if step == "baseline":
        # Imported only now: importing pyogrio registers GDAL's drivers, and importing
        # layers first switches the VRT driver off (layers.io refuses to read otherwise).
        import pyogrio

        # A CSV's geometry is a WKT column; let GDAL parse it, as the import does.
        options = {"GEOM_POSSIBLE_NAMES": "wkt", "KEEP_GEOM_COLUMNS": "NO"}
        with measured("baseline: pyogrio.read_dataframe (GDAL)", out):
            frame = pyogrio.read_dataframe(path, **(options if path.suffix == ".csv" else {}))
        info["features"] = len(frame)
        return {"steps": out, "info": info}
    if step == "page":
        served = Store.open(db, statement_timeout_ms=30_000)  # as the service's engine
        box = middle(served)
        info["page_ms"], info["database_ms"] = page_ms(served, box), database_ms(served, box)
        served.close()
        return {"steps": out, "info": info}
    store = Store.open(db)
    if step == "steps":
        parks = store.features.read(PARKS)
        source = (path.name, path.read_bytes())
        with measured("validate (with the parks)", out):
            staged, report = validate(path, year=year, parks=parks)
        assert staged is not None, report.summary()
        with measured("store.features.read(PARCELS), list in force", out):
            current = store.features.read(PARCELS)
        with measured("diff", out):
            changes = diff(current, staged)
        full = {"validation": report.as_dict(), "diff": changes.as_dict()}
        with measured("store.releases.stage", out):
            release = store.releases.stage(
                staged,
                year=year,
                source=source,
                report=full,
                actor=BENCH,
                base=store.releases.current_id(),
            )
        with measured("store.releases.publish", out):
            store.releases.publish(release.id, actor=BENCH)
        priced = sum(1 for c in changes.changed if set(c["fields"]) != {"list_year"})
        info.update(
            warnings=len(report.warnings),
            added=len(changes.added),
            removed=len(changes.removed),
            changed=len(changes.changed),
            changed_beyond_year=priced,
            report_json_mb=len(json.dumps(full, ensure_ascii=False, default=str)) / 2**20,
        )
    else:
        with measured("import_list", out):
            result = import_list(store, path, year=year, actor=BENCH)
        assert result.release is not None, result.report.summary()
        with measured("publish_release", out):
            store.releases.publish(result.release.id, actor=BENCH)
        info["peak_whole_process_mb"] = max(s["peak_mb"] for s in out)
    store.close()
    return {"steps": out, "info": info}


# -- the run (in the parent process) ------------------------------------------------------
def run_child(step: str, db: str, path: Path, year: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.bench_stocklist", "--child", step]
    command += ["--db", db, "--file", str(path), "--year", str(year)]
    # Our own interpreter and module; the URL and path are the user's own arguments.
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)  # noqa: S603
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def reload_parcels(db: str, parcels: gpd.GeoDataFrame) -> None:
    """Put this year's list back in force (as a new release) for the next measured run."""
    store = Store.open(db)
    store.features.write(PARCELS, parcels, actor=BENCH, replace=True)
    store.close()


def prepare(db: str, zone: dict[str, gpd.GeoDataFrame], year: int) -> str:
    store = Store.open(db)
    for name, frame in zone.items():
        store.features.write(LAYERS[name], frame, actor=BENCH, replace=True)
    # A list of that year left staged by an interrupted run would refuse ours.
    for release in store.releases.all():
        if release.staged and release.year == year:
            store.releases.discard(release.id, actor=BENCH)
    backend = "PostGIS" if store.is_postgis else "embedded SQLite (temporary file)"
    store.close()
    return backend


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parcels", type=int, default=50_000)
    parser.add_argument(
        "--db",
        help="a PostGIS database whose name contains 'bench' (WIPED); default a temporary "
        "embedded SQLite file",
    )
    parser.add_argument("--format", choices=FORMATS, default="gpkg")
    parser.add_argument(
        "--budget", type=float, default=60.0, help="seconds for import_list + publish"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--year", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.db, args.file, args.year)))
        return

    load = os.getloadavg()[0]
    with TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/bench.db"
        if args.db:
            wipe(db)
        started = time.perf_counter()
        zone = generate_zone(parcels=args.parcels)
        listed, year = next_year(zone["parcels"])
        backend = prepare(db, zone, year)
        path = Path(tmp) / f"stock_list_{year}.{args.format}"
        write_layer_file(listed, PARCELS, path)
        priced, withdrawn, renamed = touched(args.parcels)
        print(
            f"setup {time.perf_counter() - started:.0f} s: {args.parcels:,} parcels in "
            f"{backend}; the {year} list has {len(listed):,} ({priced} prices changed, "
            f"{withdrawn} withdrawn, {renamed} renamed), {path.name} "
            f"{path.stat().st_size / 2**20:.1f} MB; load average {load:.1f} on "
            f"{os.cpu_count()} CPUs"
        )
        base = run_child("baseline", db, path, year)
        before = run_child("page", db, path, year)["info"]
        steps = run_child("steps", db, path, year)
        after = run_child("page", db, path, year)["info"]
        reload_parcels(db, zone["parcels"])
        whole = run_child("import", db, path, year)

    read_s = base["steps"][0]["s"]
    info = steps["info"]
    expected = (renamed, withdrawn + renamed, priced)
    found = (info["added"], info["removed"], info["changed_beyond_year"])
    assert found == expected, f"the diff found {found} added/removed/repriced, not {expected}"
    print(
        f"diff: {info['added']:,} added, {info['removed']:,} removed, {info['changed']:,} "
        f"changed ({info['changed_beyond_year']:,} beyond list_year); "
        f"{info['warnings']:,} warnings; release report JSON {info['report_json_mb']:.1f} MB"
    )
    for label, key in (("bbox page (limit 1,000, middle of the zone)", "page_ms"),
                       ("  of which the database's execution", "database_ms")):  # fmt: skip
        if before[key] is not None:
            print(
                f"{label}: {before[key]:.1f} ms before the import, {after[key]:.1f} ms "
                f"after the publish ({after[key] / before[key]:.2f}× before)"
            )
    print(f"{'':<45} {'wall s':>7} {'× read':>7} {'cpu s':>7} {'peak MB':>8} {'+MB':>6}")

    def row(step: dict[str, Any], label: Callable[[str], str] = str) -> None:
        print(
            f"{label(step['step']):<45} {step['s']:>7.2f} {step['s'] / read_s:>6.1f}× "
            f"{step['cpu']:>7.2f} {step['peak_mb']:>8.0f} {step['added_mb']:>6.0f}"
        )

    row(base["steps"][0])
    for step in steps["steps"]:
        row(step, lambda s: f"  {s}")
    sum_s = sum(s["s"] for s in steps["steps"])
    print(f"{'  sum of the steps':<45} {sum_s:>7.2f} {sum_s / read_s:>6.1f}×")
    for step in whole["steps"]:
        row(step)
    total_s = sum(s["s"] for s in whole["steps"])
    peak = whole["info"]["peak_whole_process_mb"]
    print(
        f"{'import_list + publish':<45} {total_s:>7.2f} {total_s / read_s:>6.1f}× "
        f"{'':>7} {peak:>8.0f}   (Python + libraries alone: "
        f"{whole['info']['rss_after_imports_mb']:.0f} MB)"
    )
    verdict = "within" if total_s <= args.budget else "OVER"
    print(
        f"import_list + publish: {total_s:.1f} s, {verdict} the budget of {args.budget:g} s "
        f"(load average {os.getloadavg()[0]:.1f} at the end)"
    )
    if total_s > args.budget:
        sys.exit(1)


if __name__ == "__main__":
    main()
