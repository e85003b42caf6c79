"""Matching benchmark: distance precompute, the road network and one ranking request on a
large zone, with the same ranking done naively (geopandas joins per request) and as one
PostGIS query (all three on straight-line distances, as the naive and SQL ones measure).

Run on demand (not part of the test suite):

    .venv/bin/python -m benchmarks.bench_matching --parcels 100000 [--pg URL]

Times are medians; ratios are against the engine's median measured in the same run. The
three implementations must return the same top 10, or the run fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import statistics
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import geopandas as gpd
import numpy as np
import sqlalchemy as sa

from benchmarks.naive import rank_parcels
from layers.catalog import LAYERS
from layers.demo import generate_zone
from layers.frames import derive
from layers.store import rows
from matching.distances import NEAREST_KINDS, Distances
from matching.engine import match
from matching.request import parse_request
from matching.roadnet import RoadNetwork
from matching.zone import Zone, build_threads, build_zone

WEIGHTS = {"interchange": 0.4, "price": 0.3, "area_fit": 0.3}
REQUEST: dict[str, Any] = {
    "name": "基准项目 (benchmark project)",
    "industry": "装备制造",
    "area": {"min_mu": 60, "max_mu": 200},
    "pollution_class": 2,
    "power_mw": 9,
    "min_voltage_kv": 35,
    "energy_tce": 2000,
    # Straight-line, as the naive pipeline and the SQL query measure (road distance is the
    # engine's default; its build is timed on its own below).
    "logistics": {"max_interchange_km": 12, "distance": "straight"},
    "weights": {
        k: WEIGHTS.get(k, 0.0)
        for k in (
            "interchange",
            "rail",
            "airport",
            "substation",
            "readiness",
            "price",
            "area_fit",
            "park_fit",
        )
    },
}

SQL = """
WITH candidates AS (
    SELECT p.parcel_id, p.area_mu, p.price_wmu, p.geom
    FROM bench_parcels p LEFT JOIN bench_parks k ON k.park_id = p.park_id
    WHERE p.status = 'available' AND p.land_use = ANY(:uses)
      AND p.area_mu BETWEEN :area_lo AND :area_hi
      AND COALESCE(p.egy_tce, k.egy_left) >= :energy
      AND EXISTS (SELECT 1 FROM bench_infra s
                  WHERE s.kind = 'substation' AND s.voltage_kv >= :kv AND s.spare_mva >= :mva
                    AND ST_DWithin(p.geom, s.geom, :reach))
), measured AS (
    SELECT c.*, ic.d AS d_ic
    FROM candidates c
    CROSS JOIN LATERAL (SELECT ST_Distance(c.geom, i.geom) AS d FROM bench_infra i
                        WHERE i.kind = 'interchange' ORDER BY 1 LIMIT 1) ic
    WHERE ic.d <= :max_ic
), listed AS (
    SELECT MIN(price_wmu) AS lo, MAX(price_wmu) AS hi FROM bench_parcels
), scored AS (
    -- The engine's fixed scales (docs/matching.md): nothing depends on the other candidates.
    SELECT parcel_id,
      :w_ic * GREATEST(0, 1 - d_ic / 20000.0)
      + :w_price * CASE WHEN price_wmu IS NULL THEN 0 WHEN l.hi > l.lo
                        THEN GREATEST(0, LEAST(1, (l.hi - price_wmu) / (l.hi - l.lo))) ELSE 1 END
      + :w_area * GREATEST(0, 1 - ABS(area_mu - :area_lo) / :area_lo) AS score
    FROM measured CROSS JOIN listed l
)
SELECT parcel_id FROM scored ORDER BY score DESC, parcel_id LIMIT 10
"""


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def build_times(frames: dict[str, gpd.GeoDataFrame], repeat: int = 3) -> tuple[float, float]:
    """Median seconds of a zone build from ``frames`` after a first one, and CPU seconds
    per build (all threads)."""
    build_zone(frames)
    cpu = time.process_time()
    seconds, _ = timed(lambda: build_zone(frames), repeat)
    return seconds, (time.process_time() - cpu) / repeat


def as_read(frames: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """The frames as the store reads them back (:func:`layers.store.rows.as_read`):
    ``generate_zone`` makes an object per text or date cell (74,931 objects for three
    statuses at 100,000 parcels), which a build tells apart by value, where it tells the
    store's apart by pointer (``layers/distinct.py``)."""
    return {name: rows.as_read(LAYERS[name], frame) for name, frame in frames.items()}


def postgis(
    url: str, frames: dict[str, Any], epsg: int
) -> tuple[Callable[[], list[str]], Callable[[], None]]:
    """Load the zone into a scratch database (metric geometry, GiST indexes); return the query
    and a cleanup function."""
    base = sa.make_url(url)
    name = f"gs_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    # JIT off, as on the store's own connections (layers.store.engine): compiling made
    # this query a fifth slower (100,000 parcels: 331–364 against 271 ms), not a fair
    # baseline.
    engine = sa.create_engine(base.set(database=name), connect_args={"options": "-c jit=off"})
    parcels = derive(frames["parcels"], LAYERS["parcels"]).to_crs(epsg)
    parks = derive(frames["parks"], LAYERS["parks"])
    infra = frames["infrastructure"].to_crs(epsg)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION postgis"))
    parcels[
        [
            "parcel_id",
            "park_id",
            "status",
            "land_use",
            "area_mu",
            "price_wmu",
            "egy_tce",
            "geometry",
        ]
    ].rename_geometry("geom").to_postgis("bench_parcels", engine)
    parks[["park_id", "egy_left"]].to_sql("bench_parks", engine)
    infra[["kind", "voltage_kv", "spare_mva", "geometry"]].rename_geometry("geom").to_postgis(
        "bench_infra", engine
    )
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE INDEX ON bench_parcels USING gist (geom)"))
        conn.execute(sa.text("CREATE INDEX ON bench_infra USING gist (geom)"))
        conn.execute(sa.text("ANALYZE"))
    request = parse_request(REQUEST)
    params = {
        "uses": list(request.allowed_land_use or ()),
        "area_lo": request.area.min_mu,  # type: ignore[union-attr]
        "area_hi": request.area.max_mu,
        "energy": request.energy_tce,  # type: ignore[union-attr]
        "kv": request.min_voltage_kv,
        "mva": request.power_mva,
        "reach": request.power_reach_km * 1000,
        "max_ic": request.logistics.max_interchange_km * 1000,  # type: ignore[operator]
        "w_ic": WEIGHTS["interchange"],
        "w_price": WEIGHTS["price"],
        "w_area": WEIGHTS["area_fit"],
    }

    def query() -> list[str]:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.text(SQL), params)]

    def cleanup() -> None:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()

    return query, cleanup


def road_network(zone: Zone) -> RoadNetwork:
    """What build_zone adds for road distances: the graph, one shortest-path run per kind
    (distance and time), every parcel's access point and its distances."""
    lines = zone.roads.to_crs(zone.metric_epsg).geometry.to_numpy()
    network = RoadNetwork.build(lines, zone.roads["grade"].to_numpy(dtype=object))
    kinds = zone.infrastructure["kind"].to_numpy()
    nodes = zone.infrastructure.to_crs(zone.metric_epsg).geometry.to_numpy()
    access = network.access(zone.parcels.metric[:])
    straight = zone.parcels.distances
    for kind in NEAREST_KINDS:
        ids = np.flatnonzero(kinds == kind)
        reach = network.reach(nodes[ids])
        network.distances(access, reach, ids, partial(straight.straight_of, kind))
    return network


def graph_bytes(network: RoadNetwork) -> int:
    """The network's arrays (the segments' geometries and tree not counted)."""
    return sum(a.nbytes for a in (network.tail, network.head, network.length_m, network.speed_ms))


def rss_mib(field: str = "VmRSS") -> float:
    """This process's resident memory (Linux), MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith(f"{field}:"))
    return kib / 1024


def peak_rss_mib() -> float:
    """This process's peak resident memory (Linux), MiB."""
    return rss_mib("VmHWM")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--pg",
        default=os.environ.get("GEO_SERVICE_TEST_PG_URL"),
        help="PostGIS URL (a scratch database is created there)",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    frames = generate_zone(parcels=args.parcels)
    print(f"zone: {args.parcels:,} parcels generated in {time.perf_counter() - started:.1f} s")
    generated_mib = rss_mib()
    zone = build_zone(frames)
    zone_mib = rss_mib() - generated_mib  # the zone, beside the frames it was built from
    build_s, build_cpu_s = build_times(frames)
    read_build_s, read_build_cpu_s = build_times(as_read(frames))
    kinds = zone.infrastructure["kind"].to_numpy()
    nodes = zone.infrastructure.to_crs(zone.metric_epsg).geometry.to_numpy()
    precompute_s, _ = timed(
        lambda: Distances.build(zone.parcels.metric[:], zone.parcels.metric, nodes, kinds), 3
    )

    def straight_lines() -> None:
        distances = dataclasses.replace(zone.parcels.distances)  # none cached, as on a first
        for kind in NEAREST_KINDS:
            distances.straight(kind)

    straight_s, _ = timed(straight_lines, 3)
    before = rss_mib()
    network_s, network = timed(lambda: road_network(zone), 3)
    network_mib = rss_mib() - before  # the last network built, still held, and its garbage
    request = parse_request(REQUEST)
    gc.collect()  # the networks built above leave garbage; a served zone is long built
    match(request, zone)  # warm-up
    engine_s, result = timed(lambda: match(request, zone), args.repeat)
    engine_top = [s.ids[0] for s in result.sites]
    by_road = parse_request({**REQUEST, "logistics": {"max_interchange_km": 12}})
    road_s, _ = timed(lambda: match(by_road, zone), args.repeat)
    naive_s, naive_top = timed(
        lambda: rank_parcels(request, frames, WEIGHTS, 10, zone.metric_epsg), 3
    )
    rows = [
        ("engine: one ranking request (median)", engine_s),
        ("naive: geopandas joins per request", naive_s),
    ]
    if args.pg:
        query, cleanup = postgis(args.pg, frames, zone.metric_epsg)
        try:
            pg_s, pg_top = timed(query, 5)
        finally:
            cleanup()
        rows.append(("PostGIS: one SQL query", pg_s))
        assert pg_top == engine_top, f"PostGIS ranks differently: {pg_top} vs {engine_top}"
    else:
        print("(no --pg URL: PostGIS comparison skipped)")
    assert naive_top == engine_top, f"naive ranks differently: {naive_top} vs {engine_top}"
    print(f"feasible parcels: {result.n_feasible:,}; the three agree on the top 10")
    print(
        f"{'zone build (areas, readiness, distances)':<45} {build_s * 1000:>10.1f} ms "
        f"(CPU {build_cpu_s * 1000:,.0f} ms on {build_threads()} threads)"
    )
    print(f"{'  of which utility pairs (one thread)':<45} {precompute_s * 1000:>10.1f} ms")
    print(
        f"{'  the same, frames as the store reads them':<45} {read_build_s * 1000:>10.1f} ms "
        f"(CPU {read_build_cpu_s * 1000:,.0f} ms)"
    )
    print(f"{'straight lines, on the first straight request':<45} {straight_s * 1000:>10.1f} ms")
    print(f"{'road network (graph, 4 kinds, parcel access)':<45} {network_s * 1000:>10.1f} ms")
    print(
        f"  graph: {network.n_vertices:,} vertices, {len(network.tail):,} edges, "
        f"{graph_bytes(network) / 2**20:.1f} MiB of arrays, "
        f"process memory +{network_mib:.0f} MiB with segments and tree"
    )
    print(
        f"memory: the built zone +{zone_mib:,.0f} MiB "
        f"({zone_mib * 2**20 / args.parcels / 1024:.1f} KiB per parcel); "
        f"process peak {peak_rss_mib():,.0f} MiB"
    )
    print(f"{'engine, distances by road (median)':<45} {road_s * 1000:>10.1f} ms")
    print(f"{'':<45} {'median':>10}   ratio to engine")
    for label, seconds in rows:
        print(f"{label:<45} {seconds * 1000:>8.1f} ms   {seconds / engine_s:>8.1f}×")


if __name__ == "__main__":
    main()
