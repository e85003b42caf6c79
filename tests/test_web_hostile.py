"""Hostile input in the planner's workspace (R22, R39): XSS payloads typed into every text
field of the project form, and carried by the names of the sites in the data, come back
escaped on every page that shows them; in Chromium no dialog fires, on hover either."""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from geo_service.web.project_form import groups
from layers.store.store import Store
from tests.browser import serve, sign_in, visit
from tests.people import TESTER

PAYLOADS = (
    "<img src=x onerror=alert(1)>",
    "</td></tr><script>alert(2)</script>",
    '" onmouseover="alert(3)',
    "`${alert(4)}`",
)
TEXT_FIELDS = [f.name for g in groups({}) for f in g.fields if f.widget == "text"]


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    """The demo zone with a payload in every parcel's and park's name."""
    zone = demo_zone(parcels=60)
    for name in ("parcels", "parks"):
        frame = zone[name]
        frame["name"] = [PAYLOADS[i % len(PAYLOADS)] for i in range(len(frame))]
    return zone


def _planner(client: TestClient, store: Store) -> str:
    key = auth.create_key(store, name="<b>王芳</b>", role="planner", actor=TESTER)[1]
    client.post("/login", data={"key": key, "next": "/workspace"})
    return str(client.get("/session").json()["csrf_token"])


def _clean(page: str) -> None:
    for payload in PAYLOADS[:3]:
        assert payload not in page
    assert "<script>alert" not in page and "<img src=x" not in page


def test_payloads_typed_and_stored_come_back_escaped(client: TestClient, loaded: Store) -> None:
    assert {"name", "investor", "industry", "chain"} <= set(TEXT_FIELDS)
    csrf = _planner(client, loaded)
    form = {field: PAYLOADS[i % len(PAYLOADS)] for i, field in enumerate(TEXT_FIELDS)}
    form |= {"csrf_token": csrf, "site_kind": "land", "area.min_mu": "5", "action": "match"}
    wrong = client.post("/workspace/project", data={**form, "area.min_mu": PAYLOADS[0]})
    _clean(wrong.text)  # the form again, every value kept and escaped
    assert "&lt;img src=x onerror=alert(1)&gt;" in wrong.text
    results = client.post("/workspace/project", data=form)
    assert results.url.path.startswith("/workspace/matches/")
    _clean(results.text)
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;script&gt;" in results.text  # a site's name, shown
    _clean(client.get("/workspace/matches").text)
    _clean(client.get("/workspace").text)


@pytest.mark.browser
def test_no_dialog_fires_in_a_browser(browser: Browser, loaded: Store, settings: Settings) -> None:
    key = auth.create_key(
        loaded, name="<img src=x onerror=alert(9)>", role="planner", actor=TESTER
    )[1]
    with (
        serve(create_app(settings)) as base,
        visit(browser, f"{base}/workspace/project", ready=None) as v,
    ):
        page = v.page
        sign_in(page, key)
        page.wait_for_url(f"{base}/workspace/project")
        for i, field in enumerate(TEXT_FIELDS):
            page.locator(f"[name='{field}']").fill(PAYLOADS[i % len(PAYLOADS)])
        page.get_by_label("最小面积").fill("5")
        page.get_by_role("button", name="匹配选址").click()
        page.wait_for_selector("#ranked")
        for path in page.locator("path.leaflet-interactive").all()[:40]:  # hover: tooltips
            box = path.bounding_box()
            if box and box["width"] > 2:
                page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.locator("#ranked tbody tr").first.click()
        page.get_by_role("link", name="项目库").click()
        page.wait_for_selector("#saved-matches")
        assert v.dialogs == [] and v.console_errors == [] and v.blocked == []
