"""The planner's journey, end to end, as a person does it (issue 14, "Done when"; WEB.md
§Testing): real clicks and typing in Chromium with the network cut off, on both stores.

Sign in → describe a new project in the form → results → click a site on the map and see
its row selected → change a weight and see the order change → compare two sites →
download the PDF (its text names the project, the top sites and a check's margin) and the
Excel workbook (its ranked sheet reads back) → reserve the top site with the figures
filled in → the park's budget shown drops → after a ledger change the permalink shows the
match unchanged → run it again and see what changed.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import openpyxl
import pytest
from playwright.sync_api import Browser, Page

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import PARKS
from layers.store.store import Store
from layers.units import shown
from tests.browser import serve, sign_in, visible_pixel, visit
from tests.people import TESTER

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=200)


def _ranked_ids(page: Page) -> list[str]:
    return page.locator("#ranked tbody tr td:nth-child(3) strong").all_inner_texts()


def _describe_a_project(page: Page) -> None:
    page.get_by_label("项目名称").fill("华东精密轴承二期")
    page.get_by_label("投资方").fill("恒远机械集团")
    page.get_by_role("textbox", name="产业", exact=True).fill("高端装备")
    page.get_by_label("最小面积").fill("30")
    page.get_by_label("最大面积").fill("150")
    page.get_by_label("年综合能耗").fill("2000")
    page.get_by_label("用电负荷 (MW)").fill("4")
    page.get_by_label("二氧化硫").fill("1.5")
    page.get_by_role("button", name="匹配选址").click()
    page.wait_for_selector("#ranked")


def _allocated(store: Store, park_id: str) -> float:
    """The park's energy quota allocated so far (tce), as the store holds it."""
    parks = store.features.read(PARKS).set_index(PARKS.id_field)
    return float(parks.loc[park_id, "egy_alloc"])


def _pdf_text(path: Path) -> str:
    assert shutil.which("pdftotext"), "pdftotext is missing: apt-get install poppler-utils"
    run = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True)
    return run.stdout


def test_a_planner_matches_compares_hands_over_and_reserves(
    browser: Browser, loaded: Store, settings: Settings, tmp_path: Path
) -> None:
    key = auth.create_key(loaded, name="王芳", role="planner", actor=TESTER)[1]
    with (
        serve(create_app(settings)) as base,
        visit(browser, f"{base}/workspace", ready=None, viewport=(1440, 900)) as v,
    ):
        page = v.page
        sign_in(page, key)
        page.get_by_role("link", name="项目匹配").first.click()
        _describe_a_project(page)
        permalink = page.url
        match_id = permalink.rsplit("/", 1)[1]
        saved = loaded.matches.get(match_id).result
        assert len(saved["sites"]) >= 3
        first = _ranked_ids(page)

        # A site clicked on the map: its row is selected, its details open.
        page.mouse.click(*visible_pixel(page, "gs-site-2"))
        assert page.locator('tr[data-key="site-2"]').get_attribute("aria-selected") == "true"
        assert page.locator("#detail-site-2").is_visible()

        # A weight changed on the page re-ranks in place.
        page.get_by_label("距高速出入口 (to highway interchange)").fill("20")
        page.get_by_label("面积匹配 (area fit)").fill("0")
        page.get_by_role("button", name="重新排序").click()
        page.locator("#rerank-status", has_text="已按这些权重重新排序").wait_for()
        assert _ranked_ids(page) != first and page.url == permalink

        # Two sites side by side.
        page.goto(permalink)
        page.get_by_label("对比 #1", exact=True).check()
        page.get_by_label("对比 #2", exact=True).check()
        page.get_by_role("button", name="对比所选").click()
        page.wait_for_selector("#compare")
        head = page.locator("#compare thead").inner_text()
        assert first[0] in head and first[1] in head
        page.goto(permalink)

        # The dossier: the PDF and the workbook.
        with page.expect_download() as pdf_download:
            page.get_by_role("link", name="选址报告 (PDF)").click()
        pdf = tmp_path / "dossier.pdf"
        pdf_download.value.save_as(pdf)
        assert page.locator("#download-status").inner_text() == "已下载。"
        text = _pdf_text(pdf)
        top = saved["sites"][0]
        checks = [c for c in top["checks"] if c["margin"] is not None and c["unit"]]
        margin = checks[0]
        assert "华东精密轴承二期" in text and first[0] in text and first[1] in text
        assert shown(margin["margin"], margin["unit"]) in text, margin
        with page.expect_download() as xlsx_download:
            page.get_by_role("link", name="数据表 (Excel)").click()
        xlsx = tmp_path / "dossier.xlsx"
        xlsx_download.value.save_as(xlsx)
        book = openpyxl.load_workbook(xlsx, read_only=True)
        ranked = list(book["排名"].iter_rows(values_only=True))
        assert any(first[0] in str(cell) for cell in ranked[1])

        # Reserve the top site: the figures come filled in; the park budget drops.
        park_id = top["park_id"]
        before = float(
            loaded.features.read(PARKS).set_index(PARKS.id_field).loc[park_id, "egy_alloc"]
        )
        page.locator('tr[data-key="site-1"]').get_by_role("link", name="预留").click()
        page.wait_for_selector("form.reserve")
        assert page.get_by_label("从变电站取用的容量").input_value() == "4.44"
        page.get_by_role("button", name="核对指标").click()
        budgets = page.inner_text("#budgets")
        assert "能耗指标" in budgets and "−2,000" in budgets
        page.get_by_role("button", name="确认预留").click()
        page.wait_for_url("**/workspace/reservations?new=*")
        assert "华东精密轴承二期" in page.inner_text("main")  # reservations by project
        assert first[0] in page.locator("tr.new").inner_text()
        after = float(
            loaded.features.read(PARKS).set_index(PARKS.id_field).loc[park_id, "egy_alloc"]
        )
        assert after == pytest.approx(before + 2000)

        # A ledger change later: the permalink still shows the match as it was run.
        page.goto(permalink)
        as_run = page.inner_text("#ranked-list")
        row = loaded.ledgers.row(PARKS.name, park_id)
        total = row["values"]["egy_total"]
        loaded.ledgers.update(PARKS.name, park_id, {"egy_total": total * 2},
                              version=row["version"], quarter="2026Q4", actor=TESTER)  # fmt: skip
        page.goto(permalink)
        assert page.inner_text("#ranked-list") == as_run

        # Run again on today's data: what changed, and why.
        page.get_by_role("button", name="按今日数据重新运行").click()
        page.wait_for_selector("#changes")
        changes = page.inner_text("#changes")
        assert first[0] in changes and "预留" in changes
        assert v.blocked == [] and v.console_errors == []
