"""Sites of a saved match side by side (issue 14 §3): one table with every criterion and
check, the best of each line and the lines that differ marked, a small map per site; what
to choose when 2 to 4 sites are not chosen; ticked and opened in a browser as a planner
does.

GEO_SERVICE_SCREENSHOTS names a folder to keep the browser test's screenshots in
(docs/screenshots holds the committed ones)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from geo_service.app import create_app
from geo_service.match_runs import save_result
from geo_service.settings import Settings
from geo_service.web.compare_pages import criterion_rows
from geo_service.zones import ZoneCache
from layers.demo import generate_zone
from layers.store.store import Store
from matching.engine import match
from matching.request import parse_request
from tests.browser import screenshot, serve, sign_in, visit
from tests.people import TESTER

REQUEST = {"name": "精密轴承", "industry": "装备", "site_kind": "land", "area": {"min_mu": 30}}


@pytest.fixture(scope="module")
def zone() -> dict[str, gpd.GeoDataFrame]:
    return generate_zone(parcels=120)


def _saved(store: Store) -> tuple[str, list[dict[str, Any]]]:
    """A saved match of at least five sites: its id and its ranked sites."""
    project = parse_request(REQUEST)
    result = match(project, ZoneCache(store).get())
    saved = save_result(store, project, result, actor=TESTER, top=10)
    assert len(saved.result["sites"]) >= 5
    return saved.id, saved.result["sites"]


def _compare(client: TestClient, key: str, match_id: str, *ranks: object) -> Any:
    params = [("site", str(r)) for r in ranks]
    return client.get(
        f"/workspace/matches/{match_id}/compare", params=params, headers={"X-API-Key": key}
    )


def _cells(html: str, key: str) -> list[str]:
    """The cells of the table's line ``key`` (``criterion-price``, ``check-power``)."""
    line = re.search(rf'<tr[^>]*data-key="{key}">(.*?)</tr>', html, re.S)
    assert line is not None, key
    return re.findall(r"<td[^>]*>.*?</td>", line.group(1), re.S)


def test_two_sites_side_by_side(client: TestClient, loaded: Store, planner_key: str) -> None:
    match_id, sites = _saved(loaded)
    first, third = sites[0], sites[2]
    page = _compare(client, planner_key, match_id, 1, 3)
    assert page.status_code == 200, page.text
    head = page.text.split("</thead>")[0].split("<thead>")[1]
    assert " + ".join(first["ids"]) in head and " + ".join(third["ids"]) in head
    result = loaded.matches.get(match_id).result
    for c in result["criteria"]:
        cells = _cells(page.text, f"criterion-{c['key']}")
        values = [first["criteria"][c["key"]], third["criteria"][c["key"]]]
        digits = 0 if c["unit"] == "m" else 2
        shown = [round(v, digits) for v in values]
        if shown[0] == shown[1]:
            assert not any('class="n best"' in cell for cell in cells), c["key"]
            continue
        # The oracle: the better value in the criterion's direction, worked out here.
        winner = shown.index(max(shown) if c["benefit"] else min(shown))
        assert ['class="n best"' in cell for cell in cells] == [i == winner for i in (0, 1)]
        assert f'class="differs" data-key="criterion-{c["key"]}"' in page.text, c["key"]
    for check, other in zip(first["checks"], third["checks"], strict=True):
        cells = _cells(page.text, f"check-{check['key']}")
        margins = [check["margin"], other["margin"]]
        if None in margins or round(margins[0], 2) == round(margins[1], 2):
            assert not any('best"' in cell for cell in cells), check["key"]
        else:  # the larger margin is the better
            winner = margins.index(max(margins))
            assert ['best"' in cell for cell in cells] == [i == winner for i in (0, 1)]
    assert page.text.count('<div class="compare-map"') == 2
    assert f'href="/workspace/matches/{match_id}"' in page.text  # back to the results


def test_the_results_page_offers_the_comparison(
    client: TestClient, loaded: Store, planner_key: str
) -> None:
    match_id, sites = _saved(loaded)
    page = client.get(f"/workspace/matches/{match_id}", headers={"X-API-Key": planner_key})
    assert f'action="/workspace/matches/{match_id}/compare"' in page.text
    assert page.text.count('type="checkbox" name="site"') == len(sites)
    assert "对比所选" in page.text


@pytest.mark.parametrize(("ranks", "status", "says"), [
    ((2,), 400, "请选择 2 至 4 处选址进行对比 (已选 1 处)"),
    ((1, 2, 3, 4, 5), 400, "(已选 5 处)"),
    ((1, 1), 400, "(已选 1 处)"),
    ((), 400, "(已选 0 处)"),
    ((1, 99), 404, "没有排名为“99”的选址"),
    ((1, "x"), 404, "没有排名为“x”的选址"),
    ((1, "²"), 404, "没有排名为“²”的选址"),
])  # fmt: skip
def test_a_wrong_choice_gets_a_page_saying_what_to_choose(
    client: TestClient,
    loaded: Store,
    planner_key: str,
    ranks: tuple[object, ...],
    status: int,
    says: str,
) -> None:
    match_id, _ = _saved(loaded)
    page = _compare(client, planner_key, match_id, *ranks)
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert says in page.text and 'id="compare"' not in page.text


def test_the_best_of_a_line_is_the_better_in_its_direction() -> None:
    result = {"criteria": [
        {"key": "near", "name": "d", "unit": "m", "benefit": False},
        {"key": "fit", "name": "f", "unit": "", "benefit": True},
        {"key": "same", "name": "s", "unit": "", "benefit": True},
    ]}  # fmt: skip
    sites = [
        {"criteria": {"near": 900.2, "fit": 0.5, "same": 1.0}, "contributions": {}},
        {"criteria": {"near": 300.4, "fit": 0.9, "same": 1.0}, "contributions": {}},
        {"criteria": {"near": 300.1, "fit": None, "same": 1.0}, "contributions": {}},
    ]
    near, fit, same = criterion_rows(result, sites)
    assert [c.best for c in near.cells] == [False, True, True]  # equal as shown: 300 m
    assert [c.best for c in fit.cells] == [False, True, False] and fit.differs
    assert not any(c.best for c in same.cells) and not same.differs


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)])
def test_a_planner_ticks_two_sites_and_compares_them(
    browser: Browser,
    loaded: Store,
    settings: Settings,
    planner_key: str,
    viewport: tuple[int, int],
) -> None:
    match_id, sites = _saved(loaded)
    with (
        serve(create_app(settings)) as base,
        visit(browser, f"{base}/workspace/matches/{match_id}", ready=None, viewport=viewport) as v,
    ):
        page = v.page
        sign_in(page, planner_key)
        page.wait_for_url(f"{base}/workspace/matches/{match_id}")
        folder = os.environ.get("GEO_SERVICE_SCREENSHOTS")
        page.get_by_label("对比 #1", exact=True).click()
        page.get_by_label("对比 #3", exact=True).click()
        if folder:
            screenshot(v, Path(folder) / f"compare-ticked-{viewport[0]}x{viewport[1]}.png")
        page.get_by_role("button", name="对比所选").click()
        page.wait_for_selector("#compare")
        assert page.url.endswith(f"/workspace/matches/{match_id}/compare?site=1&site=3")
        head = page.locator("#compare thead").inner_text()
        assert sites[0]["ids"][0] in head and sites[2]["ids"][0] in head
        assert page.locator("#compare td.best").count() > 0
        if folder:
            name = f"compare-{viewport[0]}x{viewport[1]}"
            screenshot(v, Path(folder) / f"{name}.png")
            page.screenshot(path=str(Path(folder) / f"{name}-full.png"), full_page=True)
        for rank in (1, 3):
            outline = page.locator(f"#map-site-{rank} path.gs-site")
            outline.wait_for()  # drawn once the page's script has run
            assert outline.count() == 1
            outline.scroll_into_view_if_needed()
            box = outline.bounding_box()
            assert box is not None and box["width"] > 20 and box["height"] > 20  # fitted
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            popup = page.locator(f"#map-site-{rank} .leaflet-popup-content")
            assert sites[rank - 1]["ids"][0] in popup.inner_text()
        assert v.blocked == [] and v.console_errors == []
