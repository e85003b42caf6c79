"""The stock-list diff map in a real headless Chromium with the network cut off, on both
stores: served (``/stock-lists/{id}/diff/map``) and written by ``stock-list diff --map``.

A 2027 list made by hand from 2026's: one parcel's price changed and an XSS payload put
in its name, two withdrawn, the land of one of them offered again under a new id (parcels
near the middle of the zone, so that the screenshot shows them). Set
GEO_SERVICE_SCREENSHOTS to a folder to keep a screenshot (docs/maps holds the committed one).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from playwright.sync_api import Browser
from typer.testing import Result

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import LAYERS, PARCELS
from layers.io import write_layer_file
from layers.stocklist import import_list
from layers.store.releases import Release
from layers.store.store import Store
from tests.browser import Visit, screenshot, serve, visit
from tests.people import TESTER

PAYLOAD = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
NEW_ID = "JZ2027-NEW"
CHANGED, WITHDRAWN = 89, (77, 96)  # row numbers in generate_zone(parcels=120)


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=120)


def _next_year(parcels: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = parcels.copy()
    out["list_year"] = 2027
    out.loc[CHANGED, "price_wmu"] = float(out.loc[CHANGED, "price_wmu"]) + 7.5
    out.loc[CHANGED, "name"] = PAYLOAD
    out.loc[WITHDRAWN[0], "parcel_id"] = NEW_ID
    return out.drop(index=[WITHDRAWN[1]]).reset_index(drop=True)


@pytest.fixture
def staged(store: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path) -> Release:
    for name, frame in zone.items():
        store.features.write(LAYERS[name], frame, actor=TESTER)
    path = tmp_path / "stock_2027.gpkg"
    write_layer_file(_next_year(zone["parcels"]), PARCELS, path)
    result = import_list(store, path, year=2027, actor=TESTER)
    assert result.release is not None, result.report.summary()
    return result.release


def _expected(zone: dict[str, gpd.GeoDataFrame]) -> dict[str, int]:
    n = len(zone["parcels"])
    return {
        "context": len(zone["parks"]) + len(zone["roads"]),
        "added": 1,
        "changed": 1,
        "removed": 2,
        "unchanged": n - 3,  # of the n - 1 staged parcels, one is new and one changed
    }


def _drawn(v: Visit) -> dict[str, int]:
    """Features drawn per class, as the page holds them."""
    counts: dict[str, int] = v.page.evaluate(
        "() => { const n = {}; Object.values(window).forEach(o => {"
        " if (o instanceof L.GeoJSON) { o.eachLayer(l => {"
        " const c = l.feature.properties._cls; n[c] = (n[c] || 0) + 1; }); } });"
        " return n; }"
    )
    return counts


def _open_changed_popup(v: Visit) -> str:
    """Open the changed parcel's popup, as a click would; its text as a person reads it."""
    v.page.evaluate(
        "void Object.values(window).forEach(o => { if (o instanceof L.GeoJSON) {"
        " o.eachLayer(l => { if (l.feature.properties._cls === 'changed') l.openPopup(); });"
        " } })"
    )
    v.page.wait_for_selector(".leaflet-popup-content")
    return str(v.page.inner_text(".leaflet-popup-content"))


def _assert_clean(v: Visit, zone: dict[str, gpd.GeoDataFrame], html: str) -> None:
    expected = _expected(zone)
    assert v.blocked == [], v.blocked
    assert v.console_errors == [], v.console_errors
    assert v.features() == sum(expected.values())
    drawn = _drawn(v)
    assert {cls: drawn[cls] for cls in ("added", "changed", "removed", "unchanged")} == {
        cls: n for cls, n in expected.items() if cls != "context"
    }
    assert PAYLOAD not in html and ESCAPED in html
    legend = v.page.inner_text(".gs-legend")
    assert "新增 added: 1 宗" in legend and "移除 removed: 2 宗" in legend
    assert "变更 changed: 1 宗" in legend
    assert f"未变 unchanged: {expected['unchanged']} 宗" in legend

    text = _open_changed_popup(v)
    price = zone["parcels"].loc[CHANGED, "price_wmu"]
    assert "挂牌起始价 price_wmu" in text and f"{price:g} → {price + 7.5:g}" in text
    assert "变更 changed" in text
    # The payload is shown as text, and nothing it names became an element or ran.
    assert PAYLOAD in text
    assert v.page.evaluate("document.querySelectorAll('.leaflet-popup-content img').length") == 0
    assert v.dialogs == []


def test_served_diff_map_shows_what_changed_offline(
    browser: Browser,
    store: Store,
    settings: Settings,
    staged: Release,
    zone: dict[str, gpd.GeoDataFrame],
) -> None:
    key = auth.create_key(store, name="国土局 测试", role="land_bureau", actor=TESTER)[1]
    headers = {"X-API-Key": key}
    with serve(create_app(settings)) as base:
        url = f"{base}/stock-lists/{staged.id}/diff/map"
        with visit(browser, url, headers=headers) as v:
            response = v.page.request.get(url, headers=headers)
            assert response.status == 200
            policy = response.headers["content-security-policy"]
            assert "script-src 'self' 'sha256-" in policy and "frame-ancestors 'none'" in policy
            assert response.headers["x-content-type-options"] == "nosniff"
            html = response.text()
            assert f"清单 {staged.id} (2027 年)" in html
            _assert_clean(v, zone, html)
            folder = os.environ.get("GEO_SERVICE_SCREENSHOTS")
            if folder:
                screenshot(v, Path(folder) / "stocklist-diff.png")
        public = browser.new_context().request
        assert public.get(url).status == 401
        assert public.get(f"{base}/stock-lists/99999/diff/map", headers=headers).status == 404


def test_cli_writes_the_diff_map(
    browser: Browser,
    store_url: str,
    staged: Release,
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    cli: Callable[..., Result],
) -> None:
    output = tmp_path / "out" / "diff.html"
    done = cli("stock-list", "diff", str(staged.id), "--db", store_url, "--format", "json",
               "--map", str(output), "--standalone")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert [a["parcel_id"] for a in json.loads(done.stdout)["added"]] == [NEW_ID]
    assert "地图已写入" in done.stderr
    assert not (output.parent / "static").exists()
    with visit(browser, output.as_uri()) as v:
        _assert_clean(v, zone, output.read_text(encoding="utf-8"))
