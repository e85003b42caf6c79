"""Map benchmark in headless Chromium (network cut off): page size, load-to-paint and zoom.

    .venv/bin/python -m benchmarks.bench_maps --parcels 10000 50000 --tiles 100000
    .venv/bin/python -m benchmarks.bench_maps --parcels --tiles 100000 --db postgresql+psycopg://…

Embedded sites (``--parcels``): serves the readiness map (every parcel drawn) as the
service does (assets served, not inlined; popups fetched when opened) over HTTP, and times,
in the browser, navigation start → the features painted (two animation frames after the
layer is filled) and one zoom in → painted. Medians of --repeat runs.

Vector tiles (``--tiles``): runs the service on a zone of that many parcels (a temporary
embedded store, or ``--db``, whose layers are REPLACED) and times the readiness page to
paint its overview, then a jump to zoom 13 at the zone's centre until every tile is
painted — cold (the service encodes each tile) and warm (a new browser, the service's
tile cache filled) — and one zoom in from there; and what the public downloads: the
investor page's bytes, the parcels' tiles over the zone at zooms 8–12 (counts per cell
below 12) and the roads' tiles over the zone at zooms 8–11 and around its centre at 14.
"""

from __future__ import annotations

import argparse
import http.server
import math
import statistics
import threading
import time
from functools import partial
from pathlib import Path
from tempfile import TemporaryDirectory

from playwright.sync_api import Browser, sync_playwright

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import LAYERS
from layers.demo import generate_zone
from layers.store.audit import Actor
from layers.store.store import Store
from maps.basemap import Basemap
from maps.page import ASSETS, render
from maps.readiness import readiness_map
from tests.browser import CHROMIUM_ARGS, chromium_path, free_port, serve, visit, wait_until

PAINTED = """() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(
    () => done(performance.now()))))"""
ZOOM = """() => new Promise(done => {
    const map = Object.values(window).find(o => o instanceof L.Map);
    const start = performance.now();
    map.once('zoomend', () => requestAnimationFrame(() => requestAnimationFrame(
        () => done(performance.now() - start))));
    map.setZoom(map.getZoom() + 1, {animate: false});
})"""


BENCH = Actor("benchmark", "admin")
TILES_PAINTED = """([lat, lon, z]) => new Promise(done => {
    const map = Object.values(window).find(o => o instanceof L.Map);
    const layer = Object.values(window).find(o => o && o._gsCount
                                                  && o.options.gs.layer === 'parcels');
    const start = performance.now();
    layer.once('load', () => requestAnimationFrame(() => requestAnimationFrame(
        () => done([performance.now() - start, layer._gsCount()]))));
    setTimeout(() => done([NaN, -1]), 60000);  // reported, not waited for forever
    if (lat === null) { map.setZoom(map.getZoom() + 1, {animate: false}); }
    else { map.setView([lat, lon], z, {animate: false}); }
})"""


def tile_mode(browser: Browser, n: int, db: str | None, repeat: int) -> None:
    """Readiness map of ``n`` parcels drawn from vector tiles, served by the service."""
    with TemporaryDirectory() as tmp:
        url = db or f"sqlite:///{tmp}/bench.db"
        store = Store.open(url)
        for name, frame in generate_zone(parcels=n).items():
            store.features.write(LAYERS[name], frame, replace=True, actor=BENCH)
        key = auth.create_key(store, name="bench", role="planner", actor=BENCH)[1]
        store_bounds = tuple(store.features.read(LAYERS["parcels"]).total_bounds)
        road = store.features.read(LAYERS["roads"]).geometry.iloc[0]
        road = road.interpolate(0.5, normalized=True)
        backend = "PostGIS" if store.is_postgis else "embedded"
        store.close()
        settings = Settings(db_url=url, data_dir=Path(tmp))
        with serve(create_app(settings)) as base:
            page_url = f"{base}/maps/readiness"
            first = time.perf_counter()
            with visit(browser, page_url, headers={"X-API-Key": key}) as v:
                server_first = time.perf_counter() - first  # reads the zone, renders
                size = len(v.page.request.get(page_url).body()) / 1e6
            loads, colds, warms, zooms = [], [], [], []
            for i in range(repeat):
                with visit(browser, page_url, headers={"X-API-Key": key}) as v:
                    loads.append(v.page.evaluate(PAINTED))
                    centre = v.page.evaluate(
                        "(() => { const c = Object.values(window).find(o => o instanceof L.Map)"
                        ".getCenter(); return [c.lat, c.lng]; })()"
                    )
                    # A different view each run, so "cold" is cold: the service has not
                    # encoded these tiles yet.
                    lat, lon = centre[0] + 0.02 * i, centre[1] - 0.03 * i
                    cold, drawn = v.page.evaluate(TILES_PAINTED, [lat, lon, 13])
                    colds.append(cold)
                    zooms.append(v.page.evaluate(TILES_PAINTED, [None, None, None])[0])
                with visit(browser, page_url, headers={"X-API-Key": key}) as v:
                    wait_until(v.page, "window.geoServiceFeatureCount() > 0")
                    warms.append(v.page.evaluate(TILES_PAINTED, [lat, lon, 13])[0])
            weights = _public_weights(browser, base, store_bounds, (road.x, road.y))
            print(f"{n:>8,} parcels, {backend}: {weights}")
            print(
                f"{n:>8,} parcels, {backend}: page {size:.2f} MB; first page after an edit "
                f"{server_first * 1000:,.0f} ms (reads the zone); overview load→paint "
                f"{statistics.median(loads):,.0f} ms; jump to zoom 13 ({drawn:,} parcels) "
                f"cold {statistics.median(colds):,.0f} ms, warm "
                f"{statistics.median(warms):,.0f} ms; zoom in {statistics.median(zooms):,.0f} ms"
            )


def _public_weights(
    browser: Browser,
    base: str,
    bounds: tuple[float, float, float, float],
    road: tuple[float, float],
) -> str:
    """What the public downloads: the investor page, the parcels' tiles over the zone at
    zooms 8–12 and the roads' at 8–11 and 14 (a 5 × 5 block around a ``road``'s middle):
    largest and median, and the median time to serve one, cold."""
    request = browser.new_context().request
    out = [f"investor page {len(request.get(f'{base}/maps/investor').body()) / 1e6:.2f} MB"]
    centre = _tile(*road, 14)
    for layer, zooms in (("parcels", (8, 9, 10, 11, 12)), ("roads", (8, 9, 10, 11, 14))):
        for z in zooms:
            (x0, y0), (x1, y1) = _tile(bounds[0], bounds[3], z), _tile(bounds[2], bounds[1], z)
            if z == 14:
                (x0, y0), (x1, y1) = (centre[0] - 2, centre[1] - 2), (centre[0] + 2, centre[1] + 2)
            sizes, times = [], []
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    start = time.perf_counter()
                    sizes.append(len(request.get(f"{base}/tiles/{layer}/{z}/{x}/{y}.pbf").body()))
                    times.append(time.perf_counter() - start)
            out.append(
                f"{layer} zoom {z} tiles max {max(sizes) / 1e3:,.1f} KB, median "
                f"{statistics.median(sizes) / 1e3:,.1f} KB, "
                f"{statistics.median(times) * 1e3:,.0f} ms"
            )
    return "\n    ".join(out)


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def site(folder: Path) -> tuple[str, http.server.ThreadingHTTPServer]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parcels", type=int, nargs="*", default=[10_000, 50_000])
    parser.add_argument("--tiles", type=int, nargs="*", default=[])
    parser.add_argument("--db", help="PostGIS URL for --tiles (its layers are replaced)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for n in args.tiles:
            tile_mode(browser, n, args.db, args.repeat)
        if args.parcels:
            print(f"{'parcels':>8} {'HTML MB':>8} {'load→paint ms':>14} {'zoom ms':>8}")
        folder = Path(tmp)
        for name, path in ASSETS.items():
            (folder / "static" / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / "static" / name).write_bytes(path.read_bytes())
        base, server = site(folder)
        for n in args.parcels:
            html, _ = render(
                readiness_map(generate_zone(parcels=n), popups="fetch"),
                standalone=False,
                basemap=Basemap(),
                prefix="/static",
            )
            (folder / f"map{n}.html").write_text(html, encoding="utf-8")
            loads, zooms = [], []
            for _ in range(args.repeat):
                with visit(browser, f"{base}/map{n}.html") as v:
                    if v.blocked or v.console_errors:
                        raise RuntimeError(f"page not clean: {v.blocked} {v.console_errors}")
                    loads.append(v.page.evaluate(PAINTED))
                    zooms.append(v.page.evaluate(ZOOM))
            size = len(html.encode()) / 1e6
            print(
                f"{n:>8,} {size:>8.2f} {statistics.median(loads):>14.0f} "
                f"{statistics.median(zooms):>8.0f}"
            )
        browser.close()
        server.shutdown()


if __name__ == "__main__":
    main()
