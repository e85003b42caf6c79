"""The HTTP service: OGC API – Features reads, roles, the public allow-list, error bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from pydantic import TypeAdapter

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import LAYERS
from layers.errors import InvalidInput
from layers.schema import Audience
from layers.store.store import Store
from matching.engine import match
from matching.request import parse_request
from tests.people import TESTER

SENTINEL_TEXT = "SENTINEL-内部-7f3a"
SENTINEL_NUMBER = 987654.321


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    """The demo zone with a sentinel in every internal column of every layer."""
    zone = demo_zone(parcels=60)
    for name, frame in zone.items():
        for f in LAYERS[name].stored_fields:
            if f.audience is Audience.INTERNAL:
                frame[f.name] = SENTINEL_TEXT if f.kind == "str" else SENTINEL_NUMBER
    return zone


@pytest.mark.read_only
def test_planner_sees_everything(client: TestClient, loaded: Store, planner_key: str) -> None:
    headers = {"Authorization": f"Bearer {planner_key}"}
    for name, spec in LAYERS.items():
        queryable = client.get(f"/collections/{name}/queryables", headers=headers)
        assert queryable.headers["content-type"] == "application/schema+json"
        # Queryable: what can be filtered on (not what is computed from the geometry).
        stored = spec.stored_fields
        assert set(queryable.json()["properties"]) == {"geometry", *(f.name for f in stored)}
        public = client.get(f"/collections/{name}/queryables").json()["properties"]
        assert set(public) == {"geometry", *(f.name for f in stored if f.public)}
        body = client.get(f"/collections/{name}/items?limit=5", headers=headers).json()
        properties = body["features"][0]["properties"]
        assert set(properties) == {f.name for f in spec.fields}
        for f in spec.stored_fields:
            if not f.public:
                expected = SENTINEL_TEXT if f.kind == "str" else SENTINEL_NUMBER
                assert properties[f.name] == expected, (name, f.name)


@pytest.mark.read_only
def test_public_properties_are_the_allow_list(client: TestClient, loaded: Store) -> None:
    feature = client.get("/collections/parcels/items?limit=1").json()["features"][0]
    assert set(feature["properties"]) == {f.name for f in LAYERS["parcels"].fields if f.public}
    assert feature["properties"]["readiness"] in ("ready", "partly_ready", "not_ready")
    assert feature["properties"]["area_mu"] > 0


@pytest.mark.read_only
def test_items_page_and_links(client: TestClient, loaded: Store) -> None:
    parcels = loaded.features.read(LAYERS["parcels"])
    total = int((parcels["status"] == "available").sum())  # the public sees what is on offer
    first = client.get("/collections/parcels/items?limit=25")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/geo+json")
    body = first.json()
    assert body["numberMatched"] == total and body["numberReturned"] == 25
    seen = [f["id"] for f in body["features"]]
    while (nxt := next((lk for lk in body["links"] if lk["rel"] == "next"), None)) is not None:
        body = client.get(nxt["href"]).json()
        seen += [f["id"] for f in body["features"]]
    assert len(seen) == len(set(seen)) == total
    one = client.get(f"/collections/parcels/items/{seen[3]}").json()
    assert one["id"] == seen[3] and one["type"] == "Feature"


@pytest.mark.read_only
def test_bbox_filters_items(client: TestClient, loaded: Store) -> None:
    parcels = loaded.features.read(LAYERS["parcels"])
    minx, miny, maxx, maxy = parcels.total_bounds
    box = f"{minx},{miny},{(minx + maxx) / 2},{(miny + maxy) / 2}"
    body = client.get(f"/collections/parcels/items?bbox={box}&limit=10000").json()
    assert 0 < body["numberReturned"] == body["numberMatched"] < len(parcels)


@pytest.mark.read_only
@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/collections/parcels/items?limit=0", 400, "invalid_parameter"),
        ("/collections/parcels/items?limit=abc", 400, "invalid_parameter"),
        ("/collections/parcels/items?limit=10001", 400, "invalid_input"),
        ("/collections/parcels/items?colour=red", 400, "invalid_input"),
        ("/collections/parcels/items?bbox=1,2,3", 400, "invalid_input"),
        ("/collections/parcels/items?bbox=a,b,c,d", 400, "invalid_input"),
        ("/collections/unknown/items", 404, "unknown_layer"),
        ("/collections/parcels/items/123456789", 404, "not_found"),
        ("/collections/parcels/items/2147483648", 404, "not_found"),
        ("/collections/parcels/items/100000000000000000000", 404, "not_found"),
        ("/collections/parcels/items?offset=100000000000000000000", 400, "invalid_parameter"),
        ("/collections/parcels/items?bbox=0,0,1,nan", 400, "invalid_input"),
        ("/no/such/path", 404, "not_found"),
    ],
)
def test_errors_are_clear_and_stable(
    client: TestClient, loaded: Store, url: str, status: int, code: str
) -> None:
    response = client.get(url)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert "Traceback" not in response.text and "sqlalchemy" not in response.text.lower()


def test_keys_authenticate_and_revoke(client: TestClient, loaded: Store) -> None:
    credential, key = auth.create_key(loaded, name="土地局 测试", role="land_bureau", actor=TESTER)
    ok = client.get("/collections/parks/items", headers={"X-API-Key": key})
    assert ok.status_code == 200
    assert "egy_total" in ok.json()["features"][0]["properties"]
    auth.revoke_key(loaded, credential.id, actor=TESTER)
    refused = client.get("/collections/parks/items", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401
    assert refused.json()["code"] == "authentication_required"
    assert refused.headers["www-authenticate"] == "Bearer"
    listed = auth.list_keys(loaded)
    assert listed[0].revoked_at is not None
    assert all(key not in (c.key_prefix, c.name) for c in listed)


@pytest.mark.read_only
def test_public_role_gets_no_key(loaded: Store) -> None:
    with pytest.raises(ValueError, match="public"):
        auth.create_key(loaded, name="x", role="public", actor=TESTER)


def test_a_store_that_goes_away_answers_503(
    postgis_url: str, scratch_postgis_url: str, tmp_path: Path
) -> None:
    scratch = str(sa.make_url(scratch_postgis_url).database)
    admin = sa.create_engine(postgis_url, isolation_level="AUTOCOMMIT")  # another database
    settings = Settings(db_url=scratch_postgis_url, data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:  # the app migrates the new database
        assert client.get("/collections/parks/items").status_code == 200
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{scratch}" WITH (FORCE)'))
        response = client.get("/collections/parks/items")
    admin.dispose()
    assert response.status_code == 503
    assert response.json()["code"] == "store_unavailable"
    assert scratch not in response.text and "psycopg" not in response.text


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_work_offline(client: TestClient, page: str) -> None:
    html = client.get(page).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    assert assets
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from another host"
        assert client.get(asset).status_code == 200, asset


def _daheng() -> dict[str, object]:
    path = Path(__file__).resolve().parents[1] / "examples" / "requests"
    return json.loads((path / "daheng_crystal_pulling.json").read_text(encoding="utf-8"))


def test_match_is_for_planners(client: TestClient, loaded: Store, planner_key: str) -> None:
    anonymous = client.post("/match", json=_daheng())
    assert anonymous.status_code == 401
    bureau_key = auth.create_key(loaded, name="土地局", role="land_bureau", actor=TESTER)[1]
    bureau = client.post("/match", json=_daheng(), headers={"X-API-Key": bureau_key})
    assert bureau.status_code == 403 and bureau.json()["code"] == "forbidden"
    response = client.post(
        "/match?top=3", json=_daheng(), headers={"Authorization": f"Bearer {planner_key}"}
    )
    assert response.status_code == 200
    body = response.json()
    assert 0 < len(body["sites"]) <= 3
    assert body["data_versions"] == loaded.features.versions()
    assert body["sites"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert all(entry["reasons"] for entry in body["excluded"])
    # The answer's model (/docs) shows the body the engine built, unchanged: the same
    # keys in the same order, the same numbers (1 stays 1, not 1.0).
    zone = client.app.state.zones.get()  # type: ignore[attr-defined]  # the app's own
    built = match(parse_request(_daheng()), zone, top_n=3).to_dict(excluded_limit=100)
    assert response.content == TypeAdapter(Any).dump_json(built)


def test_match_sees_new_data_once_the_zone_is_built_and_never_waits_for_it(
    client: TestClient, loaded: Store, planner_key: str, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    """A layer replaced outside the service (the command line, another process): the
    next match is answered from the zone in memory while the new one is built aside,
    and the matches after that from the new one."""
    headers = {"X-API-Key": planner_key}
    request = {"name": "小项目", "industry": "装备制造", "area": {"min_mu": 20, "max_mu": 200}}
    first = client.post("/match", json=request, headers=headers).json()
    taken = [site["ids"] for site in first["sites"] if len(site["ids"]) == 1]
    assert taken
    parcels = loaded.features.read(LAYERS["parcels"]).reset_index(drop=True)
    parcels.loc[parcels["parcel_id"] == taken[0][0], "status"] = "transferred"
    loaded.features.write(LAYERS["parcels"], parcels, replace=True, actor=TESTER)
    meanwhile = client.post("/match", json=request, headers=headers).json()
    assert meanwhile["data_versions"]["parcels"] in (
        first["data_versions"]["parcels"],
        first["data_versions"]["parcels"] + 1,
    )
    client.app.state.zones.settle(30)  # type: ignore[attr-defined]
    again = client.post("/match", json=request, headers=headers).json()
    assert taken[0] not in [site["ids"] for site in again["sites"]]
    assert again["data_versions"]["parcels"] == first["data_versions"]["parcels"] + 1


@pytest.mark.read_only
def test_invalid_match_request_names_the_field(
    client: TestClient, loaded: Store, planner_key: str
) -> None:
    body = {**_daheng(), "area": {"min_mu": "lots"}}
    response = client.post("/match", json=body, headers={"X-API-Key": planner_key})
    assert response.status_code == 400
    assert response.json()["details"]["problems"][0]["field"] == "area.min_mu"


@pytest.mark.read_only
def test_a_bad_match_request_is_refused_as_before(
    client: TestClient, loaded: Store, planner_key: str
) -> None:
    """/match takes the typed request, and answers a wrong one as the command line does:
    400 with the error body, the message of parse_request, naming every wrong field."""
    headers = {"X-API-Key": planner_key}
    body = {**_daheng(), "power_mw": -1, "area": {"min_mu": "lots"}}
    response = client.post("/match", json=body, headers=headers)
    with pytest.raises(InvalidInput) as refused:
        parse_request(body)
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_input",
        "message": refused.value.message,
        "details": refused.value.details,
    }
    problems = response.json()["details"]["problems"]
    assert {p["field"] for p in problems} == {"power_mw", "area.min_mu"}
    assert response.json()["message"].startswith("request: 项目需求无效 (invalid request): ")
    # Wrong as a whole: a land request without its area, which is named.
    response = client.post("/match", json={"name": "x", "industry": "y"}, headers=headers)
    assert response.status_code == 400 and response.json()["code"] == "invalid_input"
    assert response.json()["details"]["problems"][0]["field"] == "area.min_mu"
    # A bad parameter is named as one, before the body's problems; so is a body that is
    # no request at all.
    response = client.post("/match?top=0", json=body, headers=headers)
    assert response.status_code == 400 and response.json()["code"] == "invalid_parameter"
    assert [p["field"] for p in response.json()["details"]["problems"]] == ["top"]
    response = client.post("/match", json=["not", "a", "request"], headers=headers)
    assert response.status_code == 400 and response.json()["code"] == "invalid_parameter"


@pytest.mark.read_only
def test_landing_page_links_to_every_map(client: TestClient, loaded: Store) -> None:
    page = client.get("/", headers={"Accept": "text/html"}).text
    assert "/maps/investor" in page and "/maps/readiness" in page
    assert "/maps/preselect?example=daheng_crystal_pulling" in page
    assert "synthetic" in page


@pytest.mark.read_only
def test_static_serves_only_the_map_assets(client: TestClient, loaded: Store) -> None:
    assert client.get("/static/leaflet/leaflet.js").status_code == 200
    for bad in (
        "/static/../pyproject.toml",
        "/static/leaflet/../../../etc/passwd",
        "/static/geo_service.db",
    ):
        assert client.get(bad).status_code == 404


def test_local_basemap_tiles_are_served(settings: Settings, tmp_path: Path) -> None:
    tiles = tmp_path / "tiles"
    (tiles / "12" / "3300").mkdir(parents=True)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    (tiles / "12" / "3300" / "1550.png").write_bytes(png)
    local = settings.model_copy(update={"basemap": "local", "basemap_tiles": tiles})
    with TestClient(create_app(local)) as client:
        tile = client.get("/basemap/12/3300/1550.png")
        assert tile.status_code == 200 and tile.content == png
        assert client.get("/basemap/12/3300/1551.png").status_code == 404
        assert client.get("/basemap/1/5/0.png").status_code == 400
        assert client.get("/basemap/12/..%2F..%2Fetc/1.png").status_code in (400, 404)
        page = client.get("/maps/investor").text
        assert "/basemap/{z}/{x}/{y}.png" in page
    with TestClient(create_app(settings)) as client:
        assert client.get("/basemap/12/3300/1550.png").status_code == 404


@pytest.mark.read_only
@pytest.mark.parametrize(
    "target", ["//evil.example/phish", "/\\evil.example", "https://evil.example"]
)
def test_login_never_redirects_off_site(
    client: TestClient, loaded: Store, planner_key: str, target: str
) -> None:
    response = client.post(
        "/login", data={"key": planner_key, "next": target}, follow_redirects=False
    )
    assert response.status_code == 400


def test_login_cookie_opens_staff_maps_and_a_stale_one_is_ignored(
    client: TestClient, loaded: Store, planner_key: str
) -> None:
    response = client.post(
        "/login", data={"key": planner_key, "next": "/maps/readiness"}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/maps/readiness"
    assert "httponly" in response.headers["set-cookie"].lower()
    assert client.get("/maps/readiness").status_code == 200
    client.cookies.set("gs_session", "gss_expired-or-made-up")
    assert client.get("/collections/parks/items").status_code == 200  # public still works
    assert client.get("/maps/readiness").status_code == 401
    client.get("/logout")


def test_the_openapi_document_is_valid_openapi_3_0(client: TestClient) -> None:
    """As /conformance declares (oas30), checked by an OpenAPI validator we did not
    write; limit and bbox as OGC API – Features defines them, read by clients from it."""
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.0.")
    validate(document)  # raises on any 3.1-only form
    items = document["paths"]["/collections/{collection_id}/items"]["get"]["parameters"]
    by_name = {p["name"]: p for p in items}
    assert by_name["limit"]["schema"] == {
        "type": "integer", "minimum": 1, "maximum": 10_000, "default": 100,
    }  # fmt: skip
    assert by_name["bbox"]["schema"]["type"] == "array"
    assert by_name["bbox"]["explode"] is False
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30" in client.get(
        "/conformance").json()["conformsTo"]  # fmt: skip


@pytest.mark.read_only
def test_shared_caches_never_serve_one_callers_answer_to_another(
    client: TestClient, planner_key: str
) -> None:
    items = "/collections/parcels/items?limit=5"
    staff = client.get(items, headers={"X-API-Key": planner_key})
    public = client.get(items)
    for response in (staff, public, client.get("/collections", headers={"Accept": "text/html"})):
        vary = {v.strip().lower() for v in response.headers["vary"].split(",")}
        assert {"accept", "authorization", "x-api-key", "cookie"} <= vary
        assert "no-cache" in response.headers["cache-control"]
    assert "private" in staff.headers["cache-control"]
    assert "private" not in public.headers["cache-control"]
    assert (
        client.get("/collections", headers={"Accept": "text/html"}).headers["vary"].count("Accept")
        == 1
    )  # the page's own Vary merged, not repeated
    css = client.get("/static/leaflet/leaflet.css")
    assert css.status_code == 200 and css.headers["cache-control"] == "public, max-age=86400"
