"""The planner's pages, server time: each page against its JSON twin measured in the same
run (issue 14's targets: every staff page < 300 ms on the demo zone; the results page of a
top 10 < 1 s and a re-rank < 300 ms at 100,000 parcels; the dossier PDF < 5 s).

Run on demand (not part of the test suite):

    .venv/bin/python -m benchmarks.bench_pages [--parcels 300 100000] [--repeat 7]

Each zone is generated, stored in a fresh embedded store (a temporary file) and served
in process (FastAPI's TestClient: server time, no network). Times are medians of
--repeat requests after one warm-up; a page's ratio is against its twin's median:
the results page against ``GET /matches/ID`` (the saved JSON), a re-rank against
``POST /match`` with the same weights (the engine alone), the staff home and the form
against ``GET /session``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import LAYERS
from layers.demo import generate_zone
from layers.store.audit import Actor
from layers.store.store import Store

BENCH = Actor("benchmark", "admin", "bench")
FORM = {"name": "基准项目 (benchmark)", "industry": "装备制造", "site_kind": "land",
        "area.min_mu": "60", "area.max_mu": "200", "power_mw": "9", "energy_tce": "2000",
        "action": "match"}  # fmt: skip
WEIGHTS = {"weights.interchange": "0.6", "weights.area_fit": "0.1"}


def median_ms(call: Callable[[], Any], repeat: int) -> float:
    call()  # warm-up: caches, the zone
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code < 400, response.text[:300]
    return statistics.median(times)


def run(parcels: int, repeat: int, folder: Path) -> list[tuple[str, float, str, float]]:
    url = f"sqlite:///{folder / f'bench-{parcels}.db'}"
    store = Store.open(url)
    for name, frame in generate_zone(parcels=parcels).items():
        store.features.write(LAYERS[name], frame, actor=BENCH)
    key = auth.create_key(store, name="基准 planner", role="planner", actor=BENCH)[1]
    store.close()
    rows = []
    with TestClient(create_app(Settings(db_url=url))) as client:
        client.post("/login", data={"key": key, "next": "/workspace"})
        csrf = client.get("/session").json()["csrf_token"]
        saved = client.post("/workspace/project", data={**FORM, "csrf_token": csrf})
        page = saved.url.path
        match_id = page.rsplit("/", 1)[1]
        answer = client.get(f"/matches/{match_id}").json()
        request = answer["result"]["request"]
        weighted = {**request, "weights": {"interchange": 0.6, "area_fit": 0.1}}
        session = median_ms(lambda: client.get("/session"), repeat)
        twin = median_ms(lambda: client.get(f"/matches/{match_id}"), repeat)
        csrf_header = {"X-CSRF-Token": csrf}
        engine = median_ms(
            lambda: client.post("/match", json=weighted, headers=csrf_header), repeat
        )
        home = median_ms(lambda: client.get("/workspace"), repeat)
        form = median_ms(lambda: client.get("/workspace/project"), repeat)
        listing = median_ms(lambda: client.get("/workspace/matches"), repeat)
        results = median_ms(lambda: client.get(page), repeat)
        rerank = median_ms(
            lambda: client.post(
                f"{page}/rerank", params={"part": "ranked"}, data={**WEIGHTS, "csrf_token": csrf}
            ),
            repeat,
        )
        rows += [
            ("staff home /workspace", home, "GET /session", session),
            ("project form", form, "GET /session", session),
            ("saved matches list", listing, "GET /session", session),
            ("results page (top 10)", results, "GET /matches/ID", twin),
            ("re-rank (part)", rerank, "POST /match", engine),
        ]
        if parcels <= 10_000:
            pdf = median_ms(lambda: client.get(f"/matches/{match_id}/dossier.pdf"), 3)
            xlsx = median_ms(lambda: client.get(f"/matches/{match_id}/dossier.xlsx"), repeat)
            rows += [("dossier PDF", pdf, "GET /matches/ID", twin),
                     ("dossier XLSX", xlsx, "GET /matches/ID", twin)]  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parcels", type=int, nargs="*", default=[300])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for parcels in args.parcels:
            print(f"\n{parcels:,} parcels (median of {args.repeat}, ms; ratio to the twin)")
            for name, ms, twin, twin_ms in run(parcels, args.repeat, Path(tmp)):
                print(f"  {name:<26} {ms:9.1f}   {twin:<16} {twin_ms:8.1f}   ×{ms / twin_ms:6.2f}")


if __name__ == "__main__":
    main()
