"""Sign-in for desktop clients (item 14): an ``Authorization`` header the service does not
accept is refused, not answered as the public; ``/oauth/token`` exchanges a key for a
short-lived bearer token (RFC 6749 password and client-credentials grants), stored hashed
and revoked with its key. (QGIS itself drives it in tests/test_qgis_client.py.)"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable

import geopandas as gpd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from geo_service import auth
from layers.catalog import PARCELS
from layers.store.store import Store
from layers.store.tables import sessions
from tests.people import TESTER

ITEMS = "/collections/parcels/items?limit=1"
INTERNAL = "floor_wmu"  # a parcel field only staff see


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=10)


@pytest.fixture
def key(loaded: Store) -> str:
    return auth.create_key(loaded, name="规划 QGIS", role="planner", actor=TESTER)[1]


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _fields(client: TestClient, headers: dict[str, str]) -> set[str]:
    response = client.get(ITEMS, headers=headers)
    assert response.status_code == 200, response.text
    return set(response.json()["features"][0]["properties"])


def test_an_authorization_header_we_do_not_accept_is_refused(
    client: TestClient, loaded: Store, key: str
) -> None:
    assert INTERNAL not in _fields(client, {})
    assert PARCELS.field(INTERNAL)  # the field exists; staff see it
    assert INTERNAL in _fields(client, {"Authorization": f"Bearer {key}"})
    for header in (
        _basic("qgis", key),  # what QGIS's Basic method sends
        f"EsriToken {key}",
        f"Token {key}",
        "Bearer",
        "Bearer gsk_made-up",
        "Bearer gst_made-up",
        "",
    ):
        response = client.get(ITEMS, headers={"Authorization": header})
        assert response.status_code == 401, (header, response.text)
        assert response.json()["code"] == "authentication_required"
        assert response.headers["www-authenticate"] == "Bearer"


def _token(client: TestClient, **data: str) -> dict[str, object]:
    response = client.post("/oauth/token", data=data)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"  # noqa: S105  # a token type, not a password
    assert body["expires_in"] == 3600
    return dict(body)


def test_a_key_is_exchanged_for_a_bearer_token(client: TestClient, loaded: Store, key: str) -> None:
    tokens = [
        _token(client, grant_type="password", username="anyone", password=key),
        _token(client, grant_type="client_credentials", client_id="qgis", client_secret=key),
    ]
    basic = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": _basic("qgis", key)},
    )
    assert basic.status_code == 200, basic.text
    tokens.append(basic.json())
    for token in tokens:
        access = str(token["access_token"])
        assert key not in access
        assert INTERNAL in _fields(client, {"Authorization": f"Bearer {access}"})
    with loaded.engine.connect() as conn:  # only hashes are stored
        stored = [tuple(map(str, row)) for row in conn.execute(sa.select(sessions))]
    assert len(stored) == 3
    assert not any(str(t["access_token"]) in value for t in tokens for row in stored
                   for value in row)  # fmt: skip


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        ({"grant_type": "password", "username": "x", "password": "gsk_wrong"}, 400,
         "invalid_grant"),
        ({"grant_type": "password", "username": "x"}, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "client_secret": "gsk_wrong"}, 401,
         "invalid_client"),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
        ({"grant_type": "authorization_code", "code": "x"}, 400, "unsupported_grant_type"),
        ({}, 400, "invalid_request"),
    ],
)  # fmt: skip
def test_token_errors_follow_rfc_6749(
    client: TestClient, loaded: Store, data: dict[str, str], status: int, error: str
) -> None:
    response = client.post("/oauth/token", data=data)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert "error_description" in response.json()
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize("how", ["key revoked", "expired"])
def test_a_token_ends_with_its_key_and_its_hour(
    client: TestClient, loaded: Store, key: str, how: str
) -> None:
    token = _token(client, grant_type="password", username="x", password=key)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert INTERNAL in _fields(client, headers)
    if how == "key revoked":
        credential = next(c for c in auth.list_keys(loaded) if c.name == "规划 QGIS")
        auth.revoke_key(loaded, credential.id, actor=TESTER)
    else:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        with loaded.transaction() as conn:  # a test's clock: the hour is over
            conn.execute(sa.update(sessions).values(expires_at=past))
    response = client.get(ITEMS, headers=headers)
    assert response.status_code == 401
    assert "/oauth/token" in response.json()["message"]
