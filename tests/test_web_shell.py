"""The browser workspaces' shell and the planner's project form (issue 14, WEB.md): what a
person sees — the sign-in page and where it sends them, the navigation their role may use,
the language switch, the form's errors next to their fields, and the results beside the
map sharing one selection, clicked as a person clicks."""

from __future__ import annotations

import io
import json
import re

import geopandas as gpd
import openpyxl
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from geo_service.web import i18n
from geo_service.web.project_form import groups, leaves
from layers.demo import generate_zone
from layers.store.reservations import Needs
from layers.store.store import Store
from tests.browser import serve, sign_in, visible_pixel, visit
from tests.people import TESTER


@pytest.fixture(scope="module")
def zone() -> dict[str, gpd.GeoDataFrame]:
    return generate_zone(parcels=120)


def _key(store: Store, role: str) -> str:
    return auth.create_key(store, name="王芳", role=role, actor=TESTER)[1]


def _signed_in(client: TestClient, key: str) -> None:
    response = client.post(
        "/login", data={"key": key, "next": "/workspace"}, follow_redirects=False
    )
    assert response.status_code == 303


def test_every_message_of_the_pages_has_its_chinese() -> None:
    """Chinese is the default language: a message without its translation would show in
    English to a Chinese planner. (Update the catalog with pybabel, see babel.cfg.)"""
    web = i18n.CATALOGS.parent
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = {
        m[2] if isinstance(m[2], str) else m[2][0]
        for m in extract_from_dir(
            str(web),
            method_map,
            options,
            keywords={"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)},
        )
    }
    with i18n.catalog_path("zh").open("rb") as po:
        catalog = {  # a plural message by its singular, with its one Chinese form
            m.id if isinstance(m.id, str) else m.id[0]: m.string
            if isinstance(m.string, str)
            else m.string[0]
            for m in read_po(po)
            if m.id
        }
    assert found, "no messages found: the extraction is broken"
    assert sorted(m for m in found if not catalog.get(m)) == []


def test_the_form_has_every_field_of_the_request() -> None:
    """A field added to ProjectRequest must appear in the form (or this fails)."""
    shown = {f.name for g in groups({}) for f in g.fields}
    for path, _ in leaves():
        assert path in shown or any(name.startswith(f"{path}.") for name in shown), path


@pytest.mark.parametrize("path", ["/workspace", "/workspace/project"])
def test_a_staff_page_sends_a_browser_to_sign_in_and_a_script_gets_401(
    client: TestClient, loaded: Store, path: str
) -> None:
    page = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == f"/login?next={path}"
    script = client.get(path, follow_redirects=False)
    assert script.status_code == 401 and script.json()["code"] == "authentication_required"


def test_navigation_shows_what_the_role_may_use(client: TestClient, loaded: Store) -> None:
    public = client.get("/login").text
    assert "/workspace/project" not in public and "/maps/investor" in public
    _signed_in(client, _key(loaded, "land_bureau"))
    bureau = client.get("/workspace").text
    assert "自然资源局" in bureau and "/workspace/project" not in bureau
    assert 'href="None"' not in bureau  # a card with no page yet has no link
    assert client.get("/workspace/project").status_code == 403
    client.cookies.clear()
    _signed_in(client, _key(loaded, "planner"))
    planner = client.get("/workspace").text
    assert "已登录: 王芳 (招商部)" in planner and 'href="/workspace/project"' in planner


def test_the_language_switch_is_remembered(client: TestClient, loaded: Store) -> None:
    _signed_in(client, _key(loaded, "planner"))
    assert "Signed in as 王芳 (planner)" in client.get("/workspace?lang=en").text
    assert "Describe a project" in client.get("/workspace/project").text  # no ?lang: the cookie
    assert "填写项目需求" in client.get("/workspace/project?lang=zh").text


def test_a_wrong_key_gets_the_form_again_saying_so(client: TestClient, loaded: Store) -> None:
    response = client.post("/login", data={"key": "gsk_wrong", "next": "/workspace"})
    assert response.status_code == 200 and "gs_session" not in response.cookies
    assert "密钥无效或已被吊销" in response.text and 'aria-invalid="true"' in response.text


def test_form_errors_stand_next_to_their_fields_with_the_values_kept(
    client: TestClient, loaded: Store
) -> None:
    _signed_in(client, _key(loaded, "planner"))
    csrf = client.get("/session").json()["csrf_token"]
    form = {"csrf_token": csrf, "name": "轴承<script>", "industry": "装备", "site_kind": "land",
            "area.min_mu": "abc", "action": "match"}  # fmt: skip
    page = client.post("/workspace/project", data=form).text
    assert 'id="f-area-min_mu-error">请输入数字。' in page
    assert 'value="abc"' in page and "轴承&lt;script&gt;" in page and "轴承<script>" not in page
    # A rule of the request as a whole (a pollutant below zero) is shown at its field too.
    page = client.post(
        "/workspace/project", data=form | {"area.min_mu": "30", "emissions_t.so2": "-1"}
    ).text
    assert 'id="f-emissions_t-so2-error">须不小于 0。' in page


def test_the_request_downloads_as_the_api_takes_it(client: TestClient, loaded: Store) -> None:
    _signed_in(client, _key(loaded, "planner"))
    csrf = client.get("/session").json()["csrf_token"]
    form = {"csrf_token": csrf, "name": "轴承", "industry": "装备", "site_kind": "land",
            "area.min_mu": "30", "power_mw": "4", "action": "download"}  # fmt: skip
    response = client.post("/workspace/project", data=form)
    assert response.headers["content-disposition"].startswith("attachment")
    request = response.json()
    assert request == {
        "name": "轴承",
        "industry": "装备",
        "area": {"min_mu": 30.0},
        "power_mw": 4.0,
    }
    key = _key(loaded, "planner")
    assert client.post("/match", json=request, headers={"X-API-Key": key}).status_code == 200


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [(1440, 900)])
def test_a_planner_describes_a_project_and_picks_a_site_on_the_map(
    browser: Browser, loaded: Store, settings: Settings, viewport: tuple[int, int]
) -> None:
    key = _key(loaded, "planner")
    with (
        serve(create_app(settings)) as base,
        visit(browser, f"{base}/workspace/project", ready=None, viewport=viewport) as v,
    ):
        page = v.page
        sign_in(page, key)
        page.wait_for_url(f"{base}/workspace/project")
        page.get_by_label("项目名称").fill("华东精密轴承项目")
        page.get_by_role("textbox", name="产业", exact=True).fill("高端装备")
        page.get_by_label("最小面积").fill("30")
        page.get_by_label("年综合能耗").fill("2000")
        page.get_by_role("button", name="匹配选址").click()
        page.wait_for_selector("#ranked")
        assert "华东精密轴承项目 的选址结果" in page.inner_text("h1")
        assert "/workspace/matches/" in page.url  # saved: this address reopens it
        assert page.get_by_role("link", name="永久链接").is_visible()
        rows = page.locator("#ranked tbody tr")
        assert rows.count() >= 3
        page.mouse.click(*visible_pixel(page, "gs-site-3"))
        assert page.locator('tr[data-key="site-3"]').get_attribute("aria-selected") == "true"
        assert page.locator("#detail-site-3").is_visible()
        rows.nth(1).click()  # a row → its details, and only its
        assert page.locator("#detail-site-2").is_visible()
        assert not page.locator("#detail-site-3").is_visible()
        assert v.blocked == [] and v.console_errors == []


def _form(csrf: str, **values: str) -> dict[str, str]:
    return {"csrf_token": csrf, "industry": "装备", "site_kind": "land", "area.min_mu": "30",
            "action": "match", **values}  # fmt: skip


def test_a_match_from_the_form_is_saved_listed_and_reopened_as_it_was(
    client: TestClient, loaded: Store
) -> None:
    _signed_in(client, _key(loaded, "planner"))
    csrf = client.get("/session").json()["csrf_token"]
    first = client.post("/workspace/project", data=_form(csrf, name="轴承一期", investor="恒远"))
    second = client.post("/workspace/project", data=_form(csrf, name="电机项目", investor="东辰"))
    assert first.url.path.startswith("/workspace/matches/") and first.url != second.url
    again = client.get("/workspace/project", params={"match": first.url.path.rsplit("/", 1)[1]})
    assert 'value="轴承一期"' in again.text and 'value="恒远"' in again.text  # a new start
    listed = client.get("/workspace/matches").text
    assert "轴承一期" in listed and "电机项目" in listed and "共 2 次匹配" in listed
    found = client.get("/workspace/matches", params={"investor": "恒远"}).text
    assert "轴承一期" in found and "电机项目" not in found and "共 1 次匹配" in found
    match_id = first.url.path.rsplit("/", 1)[1]
    top = loaded.matches.get(match_id).result["sites"][0]["ids"][0]
    loaded.reservations.reserve(layer="parcels", site_id=top, project="另一项目",
                                needs=Needs(), actor=TESTER)  # fmt: skip
    again = client.get(f"/workspace/matches/{match_id}").text
    assert again == first.text  # the permalink: as it was run, after the reservation
    rerun = client.post(f"/workspace/matches/{match_id}/rerun", data={"csrf_token": csrf})
    assert rerun.url.path != first.url.path and "与上次匹配相比的变化" in rerun.text
    changes = rerun.text.split('id="changes"')[1].split("</section>")[0]
    assert top in changes and "预留" in changes


def test_a_weight_change_re_ranks_without_saving(client: TestClient, loaded: Store) -> None:
    _signed_in(client, _key(loaded, "planner"))
    csrf = client.get("/session").json()["csrf_token"]
    first = client.post("/workspace/project", data=_form(csrf, name="轴承一期"))
    url = first.url.path
    order = first.text.split('id="ranked"')[1].split("</table>")[0]
    heavy = {"csrf_token": csrf, "weights.interchange": "50", "weights.area_fit": "0"}
    part = client.post(f"{url}/rerank", params={"part": "ranked"}, data=heavy)
    assert part.status_code == 200 and part.text.count('id="ranked-list"') == 1
    assert "<html" not in part.text and 'id="results-features"' in part.text
    assert part.text.split('id="ranked"')[1].split("</table>")[0] != order
    assert loaded.matches.listing().total == 1  # not saved
    wrong = client.post(
        f"{url}/rerank", params={"part": "ranked"}, data={**heavy, "weights.rail": "x"}
    )
    assert 'id="rerank-error"' in wrong.text and "weights.rail" in wrong.text
    saved = client.post(f"{url}/rerank", data={**heavy, "save": "1"})
    assert saved.url.path != url and loaded.matches.listing().total == 2


def test_a_saved_match_hands_over_its_dossier(client: TestClient, loaded: Store) -> None:
    """The PDF and the workbook of a saved match, from its page's links, as it was run."""
    _signed_in(client, _key(loaded, "planner"))
    csrf = client.get("/session").json()["csrf_token"]
    page = client.post("/workspace/project", data=_form(csrf, name="轴承一期"))
    match_id = page.url.path.rsplit("/", 1)[1]
    assert f'href="/matches/{match_id}/dossier.pdf"' in page.text
    workbook = client.get(f"/matches/{match_id}/dossier.xlsx")
    assert workbook.status_code == 200, workbook.text
    sheets = openpyxl.load_workbook(io.BytesIO(workbook.content), read_only=True)
    ranked = [row for row in sheets.worksheets[0].iter_rows(values_only=True)][1:]
    top = loaded.matches.get(match_id).result["sites"][0]["ids"][0]
    assert any(top in str(cell) for cell in ranked[0])


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)])
def test_every_workspace_page_opens_clean(
    browser: Browser, loaded: Store, settings: Settings, viewport: tuple[int, int]
) -> None:
    """Every page of the workspace, at a desktop's and a phone's size: no console error,
    no request to another host, and nothing wider than the window but what scrolls."""
    key = _key(loaded, "planner")
    with (
        serve(create_app(settings)) as base,
        visit(browser, f"{base}/login", ready=None, viewport=viewport) as v,
    ):
        sign_in(v.page, key)
        v.page.wait_for_url(f"{base}/workspace")
        v.page.get_by_role("link", name="项目匹配").first.click()
        v.page.get_by_role("combobox", name="从示例开始").select_option(index=1)
        v.page.get_by_role("button", name="填入表单").click()  # an example fills the form
        assert v.page.get_by_label("项目名称").input_value() != ""
        v.page.get_by_role("link", name="空白表单").click()
        v.page.get_by_label("项目名称").fill("轴承")
        v.page.get_by_role("textbox", name="产业", exact=True).fill("装备")
        v.page.get_by_label("最小面积").fill("20")
        v.page.get_by_role("button", name="匹配选址").click()
        v.page.wait_for_selector("#ranked")
        saved = v.page.url
        pages = ("/workspace", "/workspace/project", "/workspace/matches", saved,
                 f"{saved}/compare?site=1&site=2", f"{saved}/reserve/1",
                 "/workspace/reservations")  # fmt: skip
        for path in pages:
            v.page.goto(path if path.startswith("http") else f"{base}{path}")
            width = v.page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport[0] + 1, (path, width)
            assert v.console_errors == [], path
        assert v.console_errors == [] and v.blocked == []


def test_a_site_shows_its_budgets_before_and_after_the_project(
    client: TestClient, loaded: Store
) -> None:
    _signed_in(client, _key(loaded, "planner"))
    csrf = client.get("/session").json()["csrf_token"]
    page = client.post("/workspace/project", data=_form(csrf, name="轴承", energy_tce="2000"))
    detail = page.text.split('id="detail-site-1"')[1].split("</article>")[0]
    assert "本项目前后的指标余量" in detail and "−2,000" in detail
    match_id = page.url.path.rsplit("/", 1)[1]
    site = loaded.matches.get(match_id).result["sites"][0]
    energy = next(c for c in site["checks"] if c["key"] == "budget_energy")
    assert f"{round(energy['margin'] + 2000):,}" in detail  # what is left before it


def test_a_request_file_fills_the_form_and_what_it_cannot_hold_is_said(
    client: TestClient, loaded: Store
) -> None:
    _signed_in(client, _key(loaded, "planner"))
    csrf = client.get("/session").json()["csrf_token"]
    request = {"name": "轴承: 二期", "industry": "装备", "area": {"min_mu": 30}, "power_mv": 4}
    upload = {"file": ("轴承.json", json.dumps(request, ensure_ascii=False).encode())}
    page = client.post("/workspace/project/upload", data={"csrf_token": csrf}, files=upload).text
    assert "已从 轴承.json 填入" in page
    assert 'value="轴承: 二期"' in page and 'value="30"' in page
    assert "power_mv" in page and "是否应为 power_mw?" in page
    wrong = {"file": ("图.png", b"\\x89PNG not json")}
    page = client.post("/workspace/project/upload", data={"csrf_token": csrf}, files=wrong).text
    assert "图.png 不是需求文件 (JSON)" in page


def test_a_sites_connection_plan_names_its_networks_in_the_pages_language(
    client: TestClient, loaded: Store
) -> None:
    """The plan listed its rows by key ("power", "highway") on a Chinese page."""
    _signed_in(client, _key(loaded, "planner"))
    csrf = client.get("/session").json()["csrf_token"]
    page = client.post("/workspace/project", data=_form(csrf, name="轴承"))
    plan = page.text.split('id="detail-site-1"')[1].split('class="connections"')[1]
    plan = plan.split("</table>")[0]
    for zh in ("电力", "供水", "高速出入口"):
        assert f"<td>{zh}</td>" in plan
    assert "<td>power</td>" not in plan and "<td>highway</td>" not in plan
    english = client.get(page.url.path, params={"lang": "en"}).text
    plan = english.split('id="detail-site-1"')[1].split('class="connections"')[1]
    assert "<td>highway interchange</td>" in plan.split("</table>")[0]


def test_score_contributions_give_distances_from_a_kilometre_in_km(
    client: TestClient, loaded: Store
) -> None:
    """The panel said "3,274 m" where a planner reads 3.27 km."""
    _signed_in(client, _key(loaded, "planner"))
    csrf = client.get("/session").json()["csrf_token"]
    page = client.post("/workspace/project", data=_form(csrf, name="轴承"))
    panel = page.text.split('id="detail-site-1"')[1].split('class="contrib"')[1]
    panel = panel.split("</table>")[0]
    site = loaded.matches.get(page.url.path.rsplit("/", 1)[1]).result["sites"][0]
    metres = site["criteria"]["interchange"]
    assert metres >= 1000, "the demo's top site is more than a kilometre from an interchange"
    shown = re.search(
        r"高速出入口 \(to highway interchange\)\s*<br><small>([\d.]+) km</small>", panel
    )
    assert shown and abs(float(shown[1]) - metres / 1000) <= 0.005
    assert re.search(r"<small>\d+,\d{3} m</small>", panel) is None  # nothing ≥ 1,000 m
