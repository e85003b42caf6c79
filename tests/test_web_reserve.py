"""Reserving from a match's results in the planner's workspace (issue 14 §6), on both
stores: the form filled from the saved match (MW → MVA at the power factor, the
substation of the connection plan, 30 days), each budget before and after, refusals said
on the form with the values kept, the reservations page by project with release and its
reason, and the JSON API's new fields. One browser test does it as a planner would."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from geo_service.web import i18n
from geo_service.web.reserve_pages import prefill, typed
from layers.catalog import PARCELS, PARKS
from layers.demo import generate_zone
from layers.store.matches import SavedMatch
from layers.store.reservations import Needs, today
from layers.store.store import Store
from tests.browser import serve, sign_in, visit
from tests.people import TESTER

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "requests"


@pytest.fixture(scope="module")
def zone() -> dict[str, gpd.GeoDataFrame]:
    return generate_zone(parcels=120)


def _signed_in(client: TestClient, store: Store, role: str = "planner") -> str:
    key = auth.create_key(store, name="王芳", role=role, actor=TESTER)[1]
    response = client.post("/login", data={"key": key, "next": "/workspace"},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303
    return str(client.get("/session").json()["csrf_token"])


def _match(client: TestClient, csrf: str, **values: str) -> str:
    """Run a match from the form; the saved match's id."""
    form = {"csrf_token": csrf, "name": "华东精密轴承项目", "industry": "装备",
            "site_kind": "land", "area.min_mu": "30", "energy_tce": "2000",
            "emissions_t.so2": "1.5", "power_mw": "4", "action": "match", **values}  # fmt: skip
    done = client.post("/workspace/project", data=form)
    assert done.url.path.startswith("/workspace/matches/"), done.text[:500]
    return done.url.path.rsplit("/", 1)[1]


def _left(store: Store, park_id: str) -> float:
    park = store.features.read(PARKS).set_index(PARKS.id_field).loc[park_id]
    return float(park["egy_total"] - park["egy_alloc"])


def test_a_site_is_reserved_from_the_results_with_the_figures_of_its_match(
    client: TestClient, loaded: Store
) -> None:
    csrf = _signed_in(client, loaded)
    match_id = _match(client, csrf)
    saved = loaded.matches.get(match_id)
    top = saved.result["sites"][0]
    (power,) = [c for c in top["connections"] if c["utility"] == "power"]
    results = client.get(f"/workspace/matches/{match_id}").text
    assert f'href="/workspace/matches/{match_id}/reserve/1"' in results

    form = client.get(f"/workspace/matches/{match_id}/reserve/1").text
    assert 'value="4.44"' in form and "4 MW ÷ 功率因数 0.9 = 4.44 MVA" in form
    assert f'value="{power["source_id"]}"' in form and 'value="2000"' in form
    assert 'value="1.5"' in form and "华东精密轴承项目" in form
    assert (today() + dt.timedelta(days=30)).isoformat() in form

    figures = {"project": "华东精密轴承项目", "energy_tce": "2000", "emissions_t.so2": "1.5",
               "power_mva": "4.44", "substation_id": power["source_id"],
               "expires_on": (today() + dt.timedelta(days=30)).isoformat()}  # fmt: skip
    park_id = top["park_id"]
    before = _left(loaded, park_id)
    confirm = client.post(f"/workspace/matches/{match_id}/reserve/1",
                          data={"csrf_token": csrf, **figures})  # fmt: skip
    assert "确认预留" in confirm.text and loaded.reservations.listing() == []  # not yet
    budgets = confirm.text.split('id="budgets"')[1].split("</table>")[0]
    assert i18n.number(before, "zh", digits=1) in budgets
    assert i18n.number(before - 2000, "zh", digits=1) in budgets
    assert "变电站" in budgets and ">−4.4<" in budgets  # shown at MVA's precision

    made = client.post(f"/workspace/matches/{match_id}/reserve/1",
                       data={"csrf_token": csrf, **figures, "confirm": "yes"})  # fmt: skip
    (held,) = loaded.reservations.listing()
    assert made.url.path == "/workspace/reservations" and made.url.params["new"] == str(held.id)
    assert (held.match_id, held.power_mva, held.substation_id) == (
        match_id,
        4.44,
        power["source_id"],
    )
    assert held.expires_on == today() + dt.timedelta(days=30) and held.emissions == {"so2": 1.5}
    assert _left(loaded, park_id) == pytest.approx(before - 2000)  # the park budget dropped
    row = made.text.split(f'id="r{held.id}"')[1].split("</tr>")[0]
    assert f'href="/workspace/matches/{match_id}"' in row and "4.4 MVA" in row
    assert "2,000 tce/年" in row and "王芳" in row

    refused = client.post(f"/workspace/reservations/{held.id}/release",
                          data={"csrf_token": csrf, "reason": " "})  # fmt: skip
    assert "须注明释放原因" in refused.text and loaded.reservations.get(held.id).status == "active"
    client.post(f"/workspace/reservations/{held.id}/release",
                data={"csrf_token": csrf, "reason": "投资方改选他处"})  # fmt: skip
    gone = loaded.reservations.get(held.id)
    assert gone.status == "released" and gone.release_reason == "投资方改选他处"
    assert _left(loaded, park_id) == pytest.approx(before)
    page = client.get("/workspace/reservations").text
    assert "投资方改选他处" in page and "由 王芳 释放" in page


def test_refusals_are_said_on_the_form_with_the_values_kept(
    client: TestClient, loaded: Store
) -> None:
    csrf = _signed_in(client, loaded)
    match_id = _match(client, csrf)
    url = f"/workspace/matches/{match_id}/reserve/1"
    top = loaded.matches.get(match_id).result["sites"][0]
    figures = {"csrf_token": csrf, "project": "轴承", "energy_tce": "两千", "power_mva": "0"}
    typo = client.post(url, data=figures)
    assert typo.headers["content-type"].startswith("text/html")
    assert "请输入数字" in typo.text and 'value="两千"' in typo.text
    huge = {**figures, "energy_tce": "1e9"}
    warned = client.post(url, data=huge).text
    assert "有指标将超支" in warned and 'name="confirm"' not in warned
    over = client.post(url, data={**huge, "confirm": "yes"})  # confirmed all the same
    assert "能耗指标不足" in over.text and 'value="1e9"' in over.text
    assert loaded.reservations.listing() == []
    loaded.reservations.reserve(layer="parcels", site_id=top["ids"][0], project="另一项目",
                                needs=Needs(), actor=TESTER)  # fmt: skip
    taken = client.post(url, data={**figures, "energy_tce": "10"})
    assert "已为项目 另一项目 预留" in taken.text and 'value="轴承"' in taken.text
    no_substation = client.post(url, data={**figures, "energy_tce": "10", "power_mva": "2"})
    assert "须指定变电站" in no_substation.text


def test_the_reservations_page_by_role(client: TestClient, loaded: Store) -> None:
    """Planners reach it from the navigation and release; the land bureau reads it from
    its home's card, without a release button."""
    parcels = loaded.features.read(PARCELS)
    site = str(parcels[parcels["status"] == "available"].iloc[0][PARCELS.id_field])
    held = loaded.reservations.reserve(layer="parcels", site_id=site, project="大恒",
                                       needs=Needs(energy_tce=5.0), actor=TESTER)  # fmt: skip
    _signed_in(client, loaded, "land_bureau")
    page = client.get("/workspace/reservations")
    assert page.status_code == 200 and f'id="r{held.id}"' in page.text
    assert "/release" not in page.text
    assert 'href="/workspace/reservations"' in client.get("/workspace").text  # the home card
    client.cookies.clear()
    _signed_in(client, loaded)
    nav = client.get("/workspace").text.split("</nav>")[0]
    assert '<a href="/workspace/reservations">预留</a>' in nav
    page = client.get("/workspace/reservations")
    assert f'action="/workspace/reservations/{held.id}/release"' in page.text


def test_the_json_api_takes_and_answers_the_expiry_the_match_and_the_reason(
    client: TestClient, loaded: Store
) -> None:
    csrf = _signed_in(client, loaded)
    match_id = _match(client, csrf)
    client.cookies.clear()
    headers = {"X-API-Key": auth.create_key(loaded, name="脚本", role="planner", actor=TESTER)[1]}
    site = loaded.matches.get(match_id).result["sites"][0]["ids"][0]
    last = (today() + dt.timedelta(days=7)).isoformat()
    body = {"layer": "parcels", "site_id": site, "project": "大恒", "expires_on": last,
            "match_id": match_id}  # fmt: skip
    assert client.post("/reservations", json={**body, "match_id": "nope"},
                       headers=headers).status_code == 404  # fmt: skip
    made = client.post("/reservations", json=body, headers=headers)
    assert made.status_code == 201, made.text
    answer = made.json()
    assert (answer["expires_on"], answer["match_id"], answer["release_reason"]) == (
        last,
        match_id,
        None,
    )
    released = client.post(f"/reservations/{answer['id']}/release",
                           json={"reason": "合同未签"}, headers=headers)  # fmt: skip
    assert released.json()["release_reason"] == "合同未签"


def test_a_factory_with_its_own_supply_draws_no_substation() -> None:
    request = json.loads((EXAMPLES / "cleaning_robot_factory.json").read_text(encoding="utf-8"))
    saved = cast(SavedMatch, SimpleNamespace(result={"layer": "factories", "request": request}))
    own = {"connections": [{"utility": "power", "source_id": "S01", "upgrade_needed": False}]}
    values, power = prefill(saved, own)
    assert power.own_supply and power.mva == pytest.approx(0.8) and power.kva == 800
    assert (values["power_mva"], values["substation_id"]) == ("0", "")
    short = {"connections": [{"utility": "power", "source_id": "S01", "upgrade_needed": True}]}
    values, power = prefill(saved, short)
    assert not power.own_supply and (values["power_mva"], values["substation_id"]) == ("0.8", "S01")
    assert typed(4 / 0.9, "MVA") == "4.44" and typed(2000.0, "tce") == "2000"


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


@pytest.mark.browser
def test_a_planner_reserves_the_top_site_and_sees_the_budget_drop(
    browser: Browser, loaded: Store, settings: Settings
) -> None:
    key = auth.create_key(loaded, name="王芳", role="planner", actor=TESTER)[1]
    with (
        serve(create_app(settings)) as base,
        visit(browser, f"{base}/workspace/project", ready=None, viewport=(1440, 900)) as v,
    ):
        page = v.page
        sign_in(page, key)
        page.wait_for_url(f"{base}/workspace/project")
        page.get_by_label("项目名称").fill("华东精密轴承项目")
        page.get_by_role("textbox", name="产业", exact=True).fill("高端装备")
        page.get_by_label("最小面积").fill("30")
        page.get_by_label("年综合能耗").fill("2000")
        page.get_by_label("用电负荷 (MW)").fill("4")
        page.get_by_role("button", name="匹配选址").click()
        page.wait_for_selector("#ranked")
        page.locator('tr[data-key="site-1"]').get_by_role("link", name="预留").click()
        page.wait_for_selector("form.reserve")
        assert page.get_by_label("从变电站取用的容量").input_value() == "4.44"
        assert page.get_by_label("变电站", exact=True).input_value() != ""
        page.get_by_role("button", name="核对指标").click()
        page.wait_for_selector("#budgets")
        budgets = page.inner_text("#budgets")
        assert "能耗指标" in budgets and "−2,000" in budgets
        _shot(page, "reserve-confirm-1440.png")
        page.set_viewport_size({"width": 390, "height": 844})
        _shot(page, "reserve-confirm-390.png")
        page.set_viewport_size({"width": 1440, "height": 900})
        page.get_by_role("button", name="确认预留").click()
        page.wait_for_url("**/workspace/reservations?new=*")
        row = page.locator("tr.new")
        assert "华东精密轴承项目" in page.inner_text("main") and "4.4 MVA" in row.inner_text()
        _shot(page, "reservations-1440.png")
        assert v.blocked == [] and v.console_errors == []
