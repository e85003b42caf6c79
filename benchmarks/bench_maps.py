"""Map benchmark in headless Chromium (network cut off): page size, load-to-paint and zoom.

    .venv/bin/python -m benchmarks.bench_maps --parcels 10000 50000

Serves the readiness map (every parcel drawn) as the service does (assets served, not
inlined; popups fetched when opened) over HTTP,
and times, in the browser, navigation start → the features painted (two animation frames
after the layer is filled) and one zoom in → painted. Medians of --repeat runs.
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import threading
from functools import partial
from pathlib import Path
from tempfile import TemporaryDirectory

from playwright.sync_api import sync_playwright

from layers.demo import generate_zone
from maps.base import ASSETS, Basemap, render
from maps.readiness import readiness_map
from tests.browser import CHROMIUM_ARGS, chromium_path, free_port, visit

PAINTED = """() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(
    () => done(performance.now()))))"""
ZOOM = """() => new Promise(done => {
    const map = Object.values(window).find(o => o instanceof L.Map);
    const start = performance.now();
    map.once('zoomend', () => requestAnimationFrame(() => requestAnimationFrame(
        () => done(performance.now() - start))));
    map.setZoom(map.getZoom() + 1, {animate: false});
})"""


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
    parser.add_argument("--parcels", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'parcels':>8} {'HTML MB':>8} {'load→paint ms':>14} {'zoom ms':>8}")
    with TemporaryDirectory() as tmp, sync_playwright() as playwright:
        folder = Path(tmp)
        for name, path in ASSETS.items():
            (folder / "static" / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / "static" / name).write_bytes(path.read_bytes())
        base, server = site(folder)
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
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
