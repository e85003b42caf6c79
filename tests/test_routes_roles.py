"""Who may call what: a routes × roles matrix derived from the router (R23).

Every (method, path) the application answers — its API routes, the pages and assets it
serves, the API docs and their static files — must have a row in :data:`POLICY`, naming
the roles allowed; a new route without one fails the suite, and so does a row whose route
is gone. Then every route is called as every role, on a loaded demo zone: a role not
allowed gets 401 (the public) or 403 (staff) with the error body, and a refused change
changes nothing; an allowed role is never refused.
"""

from __future__ import annotations

import ast
import datetime as dt
import importlib.util
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from geo_service import auth
from geo_service.app import create_app
from geo_service.auth import Role
from geo_service.deps import zone_change
from geo_service.match_runs import save_result
from geo_service.openapi import dependency_calls
from geo_service.routing import ServiceRoute
from geo_service.settings import Settings
from geo_service.zones import ZoneCache
from layers.catalog import LAYERS, PARCELS, ROADS
from layers.io import write_layer_file
from layers.store.rows import data_hash
from layers.store.store import Store
from matching.engine import match
from matching.request import parse_request
from tests.activity import stage_and_reserve, tile_of
from tests.people import TESTER

ANYONE = frozenset(Role)
STAFF = frozenset({Role.PLANNER, Role.LAND_BUREAU, Role.ADMIN})
PLANNERS = frozenset({Role.PLANNER, Role.ADMIN})
BUREAU = frozenset({Role.LAND_BUREAU, Role.ADMIN})
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Demo:
    """Values that exist in the loaded zone, to fill path parameters and bodies."""

    parcel_fid: int
    listed_parcel_fid: int
    road_fid: int
    free_parcel: str
    park_id: str
    park_version: int
    release_id: int
    reservation_id: int
    saved_match_id: str
    tile: str
    static_asset: str
    planner_key: str
    list_file: Path
    daheng: dict[str, Any]


Body = Callable[[Demo], dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    """Who may call a route, and how this test calls it.

    ``url`` is the path with its parameters filled from :class:`Demo` (``{d.park_id}``);
    ``body`` a valid request (httpx keyword arguments), so that a refusal is seen to
    protect something; ``invalid`` a well-formed request that fails validation, which
    must be refused all the same: who may call is decided before what was sent.

    (The key is checked before a byte of the body is read — :mod:`geo_service.bodies` —
    so a body that cannot be parsed at all is refused 401/403 all the same.)
    """

    roles: frozenset[Role]
    url: str | None = None
    body: Body | None = None
    invalid: dict[str, Any] | None = None


def _json(make: Callable[[Demo], object]) -> Body:
    return lambda d: {"json": make(d)}


def _list_upload(d: Demo) -> dict[str, Any]:
    return {"files": {"file": (d.list_file.name, d.list_file.read_bytes())}}


def _ledger_upload(d: Demo) -> dict[str, Any]:
    table = f"park_id,version,so2_cap\n{d.park_id},{d.park_version},50001\n".encode()
    return {"files": {"file": ("台账.csv", table, "text/csv")}}


NOT_A_REQUEST = {"json": {"unexpected": ["not", "a", "request"]}}
NO_FILE = {"data": {"note": "no file"}}

POLICY: dict[tuple[str, str], Rule] = {
    # The API docs, which FastAPIOffline serves with their assets.
    ("GET", "/openapi.json"): Rule(ANYONE),
    ("HEAD", "/openapi.json"): Rule(ANYONE),
    ("GET", "/docs"): Rule(ANYONE),
    ("GET", "/docs/oauth2-redirect"): Rule(ANYONE),
    ("GET", "/redoc"): Rule(ANYONE),
    ("GET", "/static-offline-docs/{path}"): Rule(ANYONE, "/static-offline-docs/favicon.png"),
    ("HEAD", "/static-offline-docs/{path}"): Rule(ANYONE, "/static-offline-docs/favicon.png"),
    # OGC API – Features: public; what each role sees is cut in the response.
    ("GET", "/"): Rule(ANYONE),
    ("GET", "/conformance"): Rule(ANYONE),
    ("GET", "/collections"): Rule(ANYONE),
    ("GET", "/collections/{collection_id}"): Rule(ANYONE, "/collections/parcels"),
    ("GET", "/collections/{collection_id}/queryables"): Rule(
        ANYONE, "/collections/parcels/queryables"
    ),
    ("GET", "/collections/{collection_id}/schema"): Rule(ANYONE, "/collections/parcels/schema"),
    ("GET", "/collections/{collection_id}/items"): Rule(ANYONE, "/collections/parcels/items"),
    ("GET", "/collections/{collection_id}/items/{fid}"): Rule(
        ANYONE, "/collections/parcels/items/{d.parcel_fid}"
    ),
    # Matching.
    ("POST", "/match"): Rule(PLANNERS, body=_json(lambda d: d.daheng), invalid=NOT_A_REQUEST),
    ("POST", "/matches"): Rule(PLANNERS, body=_json(lambda d: d.daheng), invalid=NOT_A_REQUEST),
    ("GET", "/matches"): Rule(PLANNERS),
    ("GET", "/matches/{match_id}"): Rule(PLANNERS, "/matches/{d.saved_match_id}"),
    ("POST", "/matches/{match_id}/rerun"): Rule(PLANNERS, "/matches/{d.saved_match_id}/rerun"),
    ("GET", "/matches/{match_id}/dossier.pdf"): Rule(
        PLANNERS, "/matches/{d.saved_match_id}/dossier.pdf"
    ),
    ("GET", "/matches/{match_id}/dossier.xlsx"): Rule(
        PLANNERS, "/matches/{d.saved_match_id}/dossier.xlsx"
    ),
    ("POST", "/match.pdf"): Rule(PLANNERS, body=_json(lambda d: d.daheng), invalid=NOT_A_REQUEST),
    ("POST", "/match.xlsx"): Rule(PLANNERS, body=_json(lambda d: d.daheng), invalid=NOT_A_REQUEST),
    # Maps, their popups, tiles and assets.
    ("GET", "/maps/investor"): Rule(ANYONE),
    ("GET", "/maps/readiness"): Rule(STAFF),
    ("GET", "/maps/popup/investor/{layer}/{fid}"): Rule(
        ANYONE, "/maps/popup/investor/parcels/{d.listed_parcel_fid}"
    ),
    ("GET", "/maps/popup/readiness/parcels/{fid}"): Rule(
        STAFF, "/maps/popup/readiness/parcels/{d.parcel_fid}"
    ),
    ("GET", "/maps/popup/roads/{fid}"): Rule(ANYONE, "/maps/popup/roads/{d.road_fid}"),
    ("POST", "/maps/preselect"): Rule(
        PLANNERS, body=_json(lambda d: d.daheng), invalid=NOT_A_REQUEST
    ),
    ("GET", "/maps/preselect"): Rule(PLANNERS, "/maps/preselect?example=daheng_crystal_pulling"),
    ("GET", "/tiles/{layer}/{z}/{x}/{y}.pbf"): Rule(ANYONE, "/tiles/parcels/{d.tile}.pbf"),
    ("GET", "/static/{name:path}"): Rule(ANYONE, "/static/{d.static_asset}"),
    ("GET", "/basemap/{z}/{x}/{y}.png"): Rule(ANYONE, "/basemap/12/3300/1550.png"),
    # Signing in takes a key in the form, whoever the caller is.
    ("GET", "/login"): Rule(ANYONE),
    ("POST", "/login"): Rule(
        ANYONE, body=lambda d: {"data": {"key": d.planner_key, "next": "/"}}, invalid={}
    ),
    ("GET", "/logout"): Rule(ANYONE),
    # The browser workspaces' shell.
    ("GET", "/workspace"): Rule(STAFF),
    ("GET", "/assets/{name}"): Rule(ANYONE, "/assets/web.css"),
    ("GET", "/favicon.ico"): Rule(ANYONE),
    ("GET", "/workspace/project"): Rule(PLANNERS),
    ("GET", "/workspace/matches"): Rule(PLANNERS),
    ("GET", "/workspace/matches/{match_id}"): Rule(
        PLANNERS, "/workspace/matches/{d.saved_match_id}"
    ),
    ("POST", "/workspace/matches/{match_id}/rerank"): Rule(
        PLANNERS,
        "/workspace/matches/{d.saved_match_id}/rerank?part=ranked",
        body=lambda d: {"data": {"weights.rail": "0.5"}},
    ),
    ("POST", "/workspace/matches/{match_id}/rerun"): Rule(
        PLANNERS, "/workspace/matches/{d.saved_match_id}/rerun"
    ),
    ("GET", "/workspace/matches/{match_id}/compare"): Rule(
        PLANNERS, "/workspace/matches/{d.saved_match_id}/compare?site=1&site=2"
    ),
    ("POST", "/workspace/project"): Rule(
        PLANNERS, body=lambda d: {"data": {"name": "x", "industry": "y", "area.min_mu": "5"}}
    ),
    ("POST", "/workspace/project/upload"): Rule(
        PLANNERS, body=lambda d: {"files": {"file": ("r.json", b'{"name": "x"}')}}
    ),
    ("GET", "/workspace/matches/{match_id}/reserve/{rank}"): Rule(
        PLANNERS, "/workspace/matches/{d.saved_match_id}/reserve/1"
    ),
    ("POST", "/workspace/matches/{match_id}/reserve/{rank}"): Rule(
        PLANNERS,
        "/workspace/matches/{d.saved_match_id}/reserve/1",
        body=lambda d: {"data": {"project": "测试", "confirm": "yes"}},
    ),
    ("GET", "/session"): Rule(ANYONE),
    # OAuth2 (QGIS): a key exchanged for an access token, whoever the caller is.
    ("POST", "/oauth/token"): Rule(
        ANYONE,
        body=lambda d: {"data": {"grant_type": "password", "password": d.planner_key}},
    ),
    # The stock list: the land bureau changes it, staff read it.
    ("POST", "/stock-lists"): Rule(
        BUREAU, "/stock-lists?year=2028", body=_list_upload, invalid=NO_FILE
    ),
    ("GET", "/stock-lists"): Rule(STAFF),
    ("GET", "/stock-lists/as-of/{date}"): Rule(STAFF, "/stock-lists/as-of/{today}"),
    ("GET", "/stock-lists/{release_id}"): Rule(STAFF, "/stock-lists/{d.release_id}"),
    ("GET", "/stock-lists/{release_id}/diff"): Rule(STAFF, "/stock-lists/{d.release_id}/diff"),
    ("GET", "/stock-lists/{release_id}/diff/map"): Rule(
        STAFF, "/stock-lists/{d.release_id}/diff/map"
    ),
    ("GET", "/stock-lists/{release_id}/items"): Rule(STAFF, "/stock-lists/{d.release_id}/items"),
    ("GET", "/stock-lists/{release_id}/source"): Rule(STAFF, "/stock-lists/{d.release_id}/source"),
    ("POST", "/stock-lists/{release_id}/publish"): Rule(
        BUREAU, "/stock-lists/{d.release_id}/publish"
    ),
    ("POST", "/stock-lists/{release_id}/discard"): Rule(
        BUREAU, "/stock-lists/{d.release_id}/discard"
    ),
    ("GET", "/audit"): Rule(BUREAU),
    # Reservations: planners hold sites; ledgers: the land bureau keeps them.
    ("POST", "/reservations"): Rule(
        PLANNERS,
        body=_json(lambda d: {"layer": "parcels", "site_id": d.free_parcel, "project": "测试"}),
        invalid={"json": {"layer": "parcels", "site_id": "x", "project": "测试", "extra": 1}},
    ),
    ("GET", "/reservations"): Rule(STAFF),
    ("POST", "/reservations/{reservation_id}/release"): Rule(
        PLANNERS, "/reservations/{d.reservation_id}/release"
    ),
    ("GET", "/workspace/reservations"): Rule(STAFF),
    ("POST", "/workspace/reservations/{reservation_id}/release"): Rule(
        PLANNERS,
        "/workspace/reservations/{d.reservation_id}/release",
        body=lambda d: {"data": {"reason": "测试"}},  # released above already: said on the page
    ),
    ("GET", "/ledgers/{layer}/{feature_id}"): Rule(STAFF, "/ledgers/parks/{d.park_id}"),
    ("PATCH", "/ledgers/{layer}/{feature_id}"): Rule(
        BUREAU,
        "/ledgers/parks/{d.park_id}",
        body=_json(
            lambda d: {
                "version": d.park_version,
                "quarter": "2026Q4",
                "values": {"so2_cap": 50000.0},
            }
        ),
        invalid={"json": {"version": 0, "quarter": "next year", "values": {}}},
    ),
    ("GET", "/ledgers/{layer}/{feature_id}/history"): Rule(
        STAFF, "/ledgers/parks/{d.park_id}/history"
    ),
    ("POST", "/ledgers/{layer}"): Rule(
        BUREAU, "/ledgers/parks?quarter=2026Q4", body=_ledger_upload, invalid=NO_FILE
    ),
    # Downloads.
    ("GET", "/downloads/zone.gpkg"): Rule(STAFF),
}


def routes_of(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) ``app`` answers, included routers flattened; a mounted app
    (static files) as ``{mount}/{path}`` for the methods it serves."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            found |= {(method, f"{context.path}/{{path}}") for method in ("GET", "HEAD")}
        elif isinstance(route, Route):  # APIRoute and plain Starlette routes
            assert context.path is not None and context.methods is not None
            found |= {(method, context.path) for method in context.methods}
        else:
            pytest.fail(f"{type(route).__name__} {context.path}: a kind of route this test "
                        "does not know how to call; teach routes_of() about it")  # fmt: skip
    return found


def test_every_route_has_a_policy_and_every_policy_a_route() -> None:
    app = create_app(Settings(db_url="sqlite://"))  # only built: no store is opened
    routes = routes_of(app)
    undeclared = sorted(routes - set(POLICY))
    assert not undeclared, (
        "routes without a policy: declare who may call each in POLICY in "
        f"tests/test_routes_roles.py (and how to call it): {undeclared}"
    )
    gone = sorted(set(POLICY) - routes)
    assert not gone, f"POLICY rows for routes the app no longer has; remove them: {gone}"


def test_routes_of_sees_a_new_route() -> None:
    app = create_app(Settings(db_url="sqlite://"))
    before = routes_of(app)
    app.get("/secret/{thing}")(lambda thing: thing)
    assert routes_of(app) - before == {("GET", "/secret/{thing}")}


KEEPS_ZONE = {
    ("POST", "/match"),  # queries sent as a body
    ("POST", "/matches"),  # a saved match is no layer
    ("POST", "/matches/{match_id}/rerun"),
    ("POST", "/workspace/project"),  # a query sent as a form
    ("POST", "/workspace/project/upload"),  # a request read from a file
    ("POST", "/workspace/matches/{match_id}/rerun"),  # a match saved
    ("POST", "/workspace/matches/{match_id}/rerank"),  # a query sent as a form
    ("POST", "/match.pdf"),
    ("POST", "/match.xlsx"),
    ("POST", "/maps/preselect"),
    ("POST", "/login"),  # a session or an access token, not the layers
    ("POST", "/oauth/token"),
    ("POST", "/stock-lists"),  # a staged list is not in force: no layer version moves
    ("POST", "/stock-lists/{release_id}/discard"),
}
"""The writes that change no layer in force (:func:`geo_service.routing.keeps_zone`)."""


def test_every_write_goes_through_the_zone_change() -> None:
    """Every route that may change something (POST, PUT, PATCH, DELETE) runs inside
    ``ZoneCache.changing`` (its caller's next request sees the change) by its route class,
    not by its own code — but for those listed in :data:`KEEPS_ZONE`. A new write route
    of a service router gets it without asking."""
    app = create_app(Settings(db_url="sqlite://"))
    writes: dict[tuple[str, str], bool] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        for method in (context.methods or set()) & MUTATING:
            assert isinstance(route, APIRoute), (method, context.path)
            calls = set(dependency_calls(route.dependant))
            writes[(method, str(context.path))] = zone_change in calls
    assert {key for key, changes in writes.items() if not changes} == KEEPS_ZONE

    router = APIRouter(route_class=ServiceRoute)
    router.patch("/new/{thing}")(lambda thing: thing)
    router.get("/new/{thing}")(lambda thing: thing)
    write, read = router.routes
    assert isinstance(write, APIRoute) and isinstance(read, APIRoute)
    assert zone_change in set(dependency_calls(write.dependant))
    assert zone_change not in set(dependency_calls(read.dependant))


def test_route_modules_do_not_import_each_other() -> None:
    """A module whose routes the app serves imports no other such module: what routes
    share lives in a module of its own (deps, uploads, pages, schemas, routing)."""
    app = create_app(Settings(db_url="sqlite://"))
    route_modules = {
        context.original_route.endpoint.__module__
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and context.original_route.endpoint.__module__.startswith("geo_service.")
    }
    assert {"geo_service.matches", "geo_service.stock_routes"} <= route_modules
    for name in sorted(route_modules):
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None
        imported: set[str] = set()
        for node in ast.walk(ast.parse(Path(spec.origin).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        assert not imported & (route_modules - {name}), name


def test_the_openapi_document_says_which_keys_each_operation_takes() -> None:
    """What the document declares (security, the roles named) is what :data:`POLICY`
    says the service enforces: a client or the API docs' "Authorize" can trust it."""
    app = create_app(Settings(db_url="sqlite://"))
    document = app.openapi()
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            roles = POLICY[(method.upper(), path)].roles
            security = operation.get("security")
            if roles == ANYONE:
                assert security is None or {} in security, (method, path)
                assert "角色 (roles)" not in operation.get("description", ""), (method, path)
            else:
                assert security and {} not in security, (method, path)
                named = operation["description"].rsplit("角色 (roles): ", 1)[1]
                assert set(named.split(", ")) == {r.value for r in roles}, (method, path)


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=30)


@pytest.fixture
def demo(loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path) -> Demo:
    done = stage_and_reserve(loaded, zone, tmp_path)
    parcels = loaded.features.read(PARCELS)
    available = parcels[(parcels["status"] == "available")]
    list_2028 = tmp_path / "清单2028.gpkg"
    write_layer_file(zone["parcels"].assign(list_year=2028), PARCELS, list_2028)
    park_id = str(zone["parks"]["park_id"].iloc[0])
    centre = parcels.geometry.union_all().centroid
    examples = Path(__file__).resolve().parents[1] / "examples" / "requests"
    daheng = json.loads((examples / "daheng_crystal_pulling.json").read_text("utf-8"))
    project = parse_request(daheng)
    saved = save_result(
        loaded, project, match(project, ZoneCache(loaded).get()), actor=TESTER, top=10
    )
    return Demo(
        parcel_fid=int(parcels.index[0]),
        listed_parcel_fid=int(available.index[0]),
        road_fid=int(loaded.features.read(ROADS).index[0]),
        free_parcel=str(available["parcel_id"].iloc[0]),
        park_id=park_id,
        park_version=int(loaded.ledgers.row("parks", park_id)["version"]),
        release_id=done.release_id,
        reservation_id=done.reservation_id,
        saved_match_id=saved.id,
        tile="/".join(map(str, tile_of(centre))),
        static_asset="leaflet/leaflet.js",
        planner_key=auth.create_key(loaded, name="招商部 登录", role="planner", actor=TESTER)[1],
        list_file=list_2028,
        daheng=daheng,
    )


def _state(store: Store) -> dict[str, object]:
    """Everything a request could change: the layers, releases, reservations, keys and
    the audit log."""
    return {
        "layers": {
            name: data_hash(store.features.read(spec), spec) for name, spec in LAYERS.items()
        },
        "versions": store.features.versions(),
        "releases": [r.as_dict() for r in store.releases.all()],
        "reservations": [r.as_dict() for r in store.reservations.listing()],
        "keys": auth.list_keys(store),
        "audit": len(store.audit.rows(limit=1_000_000)),
    }


def _headers(store: Store, role: Role) -> dict[str, str]:
    if role is Role.PUBLIC:
        return {}
    key = auth.create_key(store, name=f"{role.value} 测试", role=role, actor=TESTER)[1]
    return {"Authorization": f"Bearer {key}"}


def _calls(demo: Demo) -> Iterator[tuple[str, str, Rule, str]]:
    for (method, path), rule in POLICY.items():
        url = (rule.url or path).format(d=demo, today=dt.date.today().isoformat())
        yield method, path, rule, url


def _assert_refused(response: Any, role: Role, what: str) -> None:
    expected = (401, "authentication_required") if role is Role.PUBLIC else (403, "forbidden")
    assert (response.status_code, response.json().get("code")) == expected, (what, response.text)
    assert set(response.json()) == {"code", "message", "details"}, what
    assert response.headers["content-type"] == "application/json", what
    if role is Role.PUBLIC:
        assert response.headers["www-authenticate"] == "Bearer", what


CHANGES = {
    ("POST", "/login"),  # a session opened, and audited
    ("POST", "/oauth/token"),  # an access token issued, and audited
    ("POST", "/stock-lists"),
    ("POST", "/stock-lists/{release_id}/publish"),
    ("POST", "/reservations"),
    ("POST", "/reservations/{reservation_id}/release"),
    ("PATCH", "/ledgers/{layer}/{feature_id}"),
    ("POST", "/matches"),  # a match saved, and audited
    ("POST", "/matches/{match_id}/rerun"),
    ("POST", "/workspace/project"),  # a match run from the form is saved
    ("POST", "/workspace/matches/{match_id}/rerun"),
    ("POST", "/workspace/matches/{match_id}/reserve/{rank}"),  # confirmed: the top site held
}
"""What the admin's calls change, in POLICY's order (the discard comes after the publish
and the ledger file after the edit, so both are refused as stale: 409). Seeing these
change shows that ``_state``, compared around refused calls, notices a change."""


@pytest.mark.parametrize("role", list(Role))
def test_every_route_answers_every_role_as_its_policy_says(
    client: TestClient, loaded: Store, demo: Demo, role: Role
) -> None:
    headers = _headers(loaded, role)
    changed = set()
    zones = client.app.state.zones  # type: ignore[attr-defined]  # a FastAPI app
    zones.get()
    for method, path, rule, url in _calls(demo):
        what = f"{role.value}: {method} {url}"
        body = rule.body(demo) if rule.body else {}
        client.cookies.clear()  # POST /login sets a cookie; each call is only its key
        before = _state(loaded) if method in MUTATING else None
        response = client.request(method, url, headers=headers, follow_redirects=False, **body)
        if before is not None and _state(loaded) != before:
            changed.add((method, path))
        if role in rule.roles:
            assert response.status_code not in (401, 403), (what, response.text)
            assert response.status_code < 500, (what, response.text)
            # A change is in the zone held in memory (matching, maps) when answered.
            assert zones.versions == loaded.features.versions(), f"{what}: use ZoneCache.changing"
            if rule.invalid is not None:  # once let in, what was sent matters
                client.cookies.clear()
                invalid = client.request(method, url, headers=headers, **rule.invalid)
                assert invalid.status_code == 400, (what, invalid.text)
                assert invalid.json()["code"] in ("invalid_parameter", "invalid_input"), what
            continue
        _assert_refused(response, role, what)
        assert (method, path) not in changed, f"{what} was refused but changed the store"
        if rule.invalid is not None:
            invalid = client.request(method, url, headers=headers, **rule.invalid)
            _assert_refused(invalid, role, what)
    if role is Role.ADMIN:
        assert changed == CHANGES
