"""Staff sessions in the browser (R35): the cookie holds a session, never the key; sessions
end on logout, on expiry and with their key; every state change a signed-in browser makes
carries the session's CSRF token and comes from this site; no other site frames a page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import PARCELS
from layers.io import write_layer_file
from layers.store.store import Store
from tests.activity import Activity, stage_and_reserve
from tests.browser import MAP_DRAWN, serve, visit, wait_until
from tests.people import TESTER

SITE = "http://testserver"  # the TestClient's own origin
FOREIGN = "https://evil.example"


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=30)


@pytest.fixture
def admin_key(loaded: Store) -> str:
    return auth.create_key(loaded, name="管委会 管理员", role="admin", actor=TESTER)[1]


@pytest.fixture
def activity(loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path) -> Activity:
    return stage_and_reserve(loaded, zone, tmp_path)


def sign_in(client: TestClient, key: str) -> str:
    """Sign in at /login; the CSRF token the session's pages send."""
    response = client.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    session = client.get("/session")
    assert session.status_code == 200
    token = session.json()["csrf_token"]
    assert isinstance(token, str) and len(token) >= 32
    return token


def _csrf(token: str, origin: str | None = SITE) -> dict[str, str]:
    headers = {"X-CSRF-Token": token}
    if origin is not None:
        headers["Origin"] = origin
    return headers


def test_the_cookie_holds_a_session_never_the_key(
    client: TestClient, loaded: Store, admin_key: str
) -> None:
    response = client.post(
        "/login", data={"key": admin_key, "next": "/maps/readiness"}, follow_redirects=False
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert admin_key not in cookie and admin_key[4:20] not in cookie
    name, _, rest = cookie.partition("=")
    assert name == "gs_session"
    flags = {part.strip().split("=")[0].lower(): part for part in rest.split(";")}
    assert {"httponly", "path", "max-age"} <= set(flags)
    assert "samesite=strict" in cookie.lower() and "path=/" in cookie.lower()
    assert "secure" not in flags  # plain http in development: a Secure cookie would be lost
    assert all(admin_key not in v for v in client.cookies.values())
    assert client.get("/maps/readiness").status_code == 200
    me = client.get("/session").json()
    assert me["role"] == "admin" and me["name"] == "管委会 管理员"


def test_the_cookie_is_secure_over_https(settings: Settings, loaded: Store, admin_key: str) -> None:
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        response = client.post("/login", data={"key": admin_key}, follow_redirects=False)
        assert "; secure" in response.headers["set-cookie"].lower()


def _expire_all(store: Store) -> None:
    from layers.store.tables import metadata

    sessions = metadata.tables["sessions"]
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with store.transaction() as conn:  # a test's clock: the session's 8 hours are over
        conn.execute(sa.update(sessions).values(expires_at=past))


@pytest.mark.parametrize("how", ["expired", "key revoked", "logged out"])
def test_an_ended_session_is_refused(
    client: TestClient, loaded: Store, admin_key: str, how: str
) -> None:
    sign_in(client, admin_key)
    cookie = client.cookies["gs_session"]
    assert client.get("/maps/readiness").status_code == 200
    if how == "expired":
        _expire_all(loaded)
    elif how == "key revoked":
        credential = next(k for k in auth.list_keys(loaded) if k.role is auth.Role.ADMIN)
        auth.revoke_key(loaded, credential.id, actor=TESTER)
    else:
        assert client.get("/logout", follow_redirects=False).status_code == 303
        client.cookies.set("gs_session", cookie)  # a copy kept by someone: still refused
    assert client.get("/maps/readiness").status_code == 401
    assert client.get("/stock-lists").status_code == 401
    assert client.get("/session").json() == {"role": "public", "name": None, "csrf_token": None}
    assert client.get("/collections/parks/items").status_code == 200  # the public's view


def _publish(client: TestClient, activity: Activity, headers: dict[str, str]) -> Any:
    return client.post(f"/stock-lists/{activity.release_id}/publish", headers=headers)


def _release(client: TestClient, activity: Activity, headers: dict[str, str]) -> Any:
    return client.post(f"/reservations/{activity.reservation_id}/release", headers=headers)


def _upload(
    client: TestClient, zone: dict[str, gpd.GeoDataFrame], folder: Path, **kwargs: Any
) -> Any:
    path = folder / "清单2028.gpkg"
    write_layer_file(zone["parcels"].assign(list_year=2028), PARCELS, path)
    return client.post(
        "/stock-lists?year=2028", files={"file": (path.name, path.read_bytes())}, **kwargs
    )


def _state(store: Store) -> tuple[object, ...]:
    releases = [(r.id, r.status) for r in store.releases.all()]
    return releases, [(r.id, r.status) for r in store.reservations.listing()]


REFUSED_HEADERS = {
    "no token": {"Origin": SITE},
    "no token, no origin": {},
    "wrong token": {"Origin": SITE, "X-CSRF-Token": "0" * 64},
    "foreign origin": "token+" + FOREIGN,
    "null origin": "token+null",
    "foreign referer": "token+referer",
}


def _refused_headers(kind: str, token: str) -> dict[str, str]:
    spec = REFUSED_HEADERS[kind]
    if isinstance(spec, dict):
        return spec
    if spec == "token+referer":
        return {"X-CSRF-Token": token, "Referer": f"{FOREIGN}/page"}
    return _csrf(token, spec.removeprefix("token+"))


@pytest.mark.parametrize("kind", list(REFUSED_HEADERS))
def test_a_cookie_change_without_token_or_from_another_site_is_refused(
    client: TestClient,
    loaded: Store,
    admin_key: str,
    activity: Activity,
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    kind: str,
) -> None:
    token = sign_in(client, admin_key)
    before = _state(loaded)
    headers = _refused_headers(kind, token)
    answers = {
        "publish": _publish(client, activity, headers),
        "release": _release(client, activity, headers),
        "upload": _upload(client, zone, tmp_path, headers=headers),
    }
    for what, response in answers.items():
        assert response.status_code == 403, (what, response.text)
        assert response.json()["code"] == "csrf_refused", what
        assert "CSRF" in response.json()["message"] or "其他网站" in response.json()["message"]
    assert _state(loaded) == before  # nothing published, released or staged


def test_a_cookie_change_with_token_from_this_site_is_accepted(
    client: TestClient,
    loaded: Store,
    admin_key: str,
    activity: Activity,
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
) -> None:
    token = sign_in(client, admin_key)
    assert _release(client, activity, _csrf(token)).status_code == 200
    # A form post (no header): the token in the csrf_token field, the Referer of our page.
    publish = client.post(
        f"/stock-lists/{activity.release_id}/publish",
        data={"csrf_token": token},
        headers={"Referer": f"{SITE}/stock-lists"},
    )
    assert publish.status_code == 200, publish.text
    upload = _upload(client, zone, tmp_path, data={"csrf_token": token}, headers={"Origin": SITE})
    assert upload.status_code == 201, upload.text
    releases = {r.id: r.status for r in loaded.releases.all()}
    assert releases[activity.release_id] == "published" and "staged" in releases.values()


def test_clients_sending_a_key_in_a_header_need_no_token(
    client: TestClient,
    loaded: Store,
    admin_key: str,
    activity: Activity,
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
) -> None:
    for headers in ({"Authorization": f"Bearer {admin_key}"}, {"X-API-Key": admin_key}):
        assert client.get("/session", headers=headers).json()["csrf_token"] is None
    headers = {"Authorization": f"Bearer {admin_key}", "Origin": FOREIGN}
    assert _release(client, activity, headers).status_code == 200
    assert _publish(client, activity, {"X-API-Key": admin_key}).status_code == 200
    assert _upload(client, zone, tmp_path, headers=headers).status_code == 201


def test_login_from_another_site_is_refused(
    client: TestClient, loaded: Store, admin_key: str
) -> None:
    response = client.post(
        "/login", data={"key": admin_key}, headers={"Origin": FOREIGN}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "gs_session" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/login", "text/html"),
        ("/maps/investor", "text/html"),
        ("/collections", "text/html"),
        ("/docs", "text/html"),
    ],
)
def test_no_page_may_be_framed(client: TestClient, loaded: Store, path: str, accept: str) -> None:
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)])
def test_a_person_signs_in_with_the_form_and_out_again(
    browser: Browser, loaded: Store, settings: Settings, viewport: tuple[int, int]
) -> None:
    """In Chromium, as a land-bureau officer would: open a staff page, get the sign-in
    form, type the key into the labelled field, press the button, land on the page asked
    for; the browser holds a session, never the key; signing out ends it."""
    key = auth.create_key(loaded, name="国土局 王五", role="land_bureau", actor=TESTER)[1]
    with (
        serve(create_app(settings)) as base,
        visit(browser, f"{base}/login?next=/maps/readiness", ready=None, viewport=viewport) as v,
    ):
        v.page.get_by_label("API 密钥").fill(key)
        v.page.get_by_role("button", name="登录").click()
        v.page.wait_for_url(f"{base}/maps/readiness")
        wait_until(v.page, MAP_DRAWN)
        assert v.page.get_by_text("净地程度 Readiness").is_visible()
        cookies = {c["name"]: c["value"] for c in v.page.context.cookies()}
        assert set(cookies) == {"gs_session"} and key not in cookies["gs_session"]
        me = v.page.request.get(f"{base}/session").json()
        assert (me["role"], me["name"]) == ("land_bureau", "国土局 王五")
        v.page.goto(f"{base}/logout")
        assert v.page.request.get(f"{base}/session").json()["role"] == "public"
        assert v.blocked == [] and v.dialogs == []
