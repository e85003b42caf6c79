"""R21: what is hidden from the public never reaches the public, by any route.

A sentinel goes into every internal column of every layer (text and numbers), into a
reservation's project and needs, the audit log (the actor), a ledger edit, an API key's
holder, a stock-list release's source file and report, and the public fields of a staged
(unpublished) release. Then every public GET route — taken from the app's router, so a new
route is covered the day it is added, with path parameters filled from the loaded zone —
and every other route called without a key, each route that also answers HTML asked for
it as a browser does, every page of every layer's items in every CRS the collection offers
(GeoJSON and HTML), the investor map (embedded and tiled), its popups, the vector
tiles covering the zone and the error bodies are searched for the sentinels, headers
included. Finally a public request that names an internal field in ``properties``,
``sortby``, ``filter`` or as a query parameter must get the very answer a made-up name
gets: no oracle for which hidden fields exist.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import product
from typing import Any, cast

import geopandas as gpd
import mapbox_vector_tile
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import LAYERS, ON_OFFER, PARCELS
from layers.schema import Audience, FieldSpec
from layers.store.audit import Actor
from layers.store.reservations import Needs
from layers.store.store import Store
from layers.tiling import COUNT, MIN_ZOOM
from maps.page import ASSETS

HIDDEN = "SENTINELq7f3a"
"""The ASCII core of the text sentinel: found whether a body escapes the rest as \\uXXXX,
HTML entities or percent-encoding."""
TEXT = f"内部{HIDDEN}机密"
UNPUBLISHED = "UNPUBLISHEDq51d0"
"""In public fields of a staged release: public once published, never before."""
NUMBER = 987654.321
USED = 987650.125
"""Allocated and used amounts: below ``NUMBER`` so a reservation still fits the budgets."""
DRAWN = (NUMBER, USED, NUMBER - 1.0, USED + 1.0)
"""The numeric sentinels and what a reservation of 1 unit makes of them when drawn down."""
NUMBERS = re.compile(r"(?<![0-9])98765[0-9](?:\.[0-9]+)?(?![0-9])|987,65[0-9]")
ACTOR = Actor(f"{TEXT} 审计员", "admin")
MISSING_FID = 2_000_000_000
TILE_ZOOMS = (MIN_ZOOM, 12, 14, 16)


def _sentinel(f: FieldSpec) -> object:
    if f.kind == "str":
        return TEXT
    if f.kind == "float":
        return USED if f.name.endswith(("_used", "_alloc")) else NUMBER
    if f.kind == "int":
        return round(NUMBER)
    raise AssertionError(f"R21: choose a sentinel for the internal {f.kind} field {f.name}")


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=60)


@dataclass(frozen=True)
class Hidden:
    """The store with every sentinel in place, and what the routes' parameters need."""

    store: Store
    frames: dict[str, gpd.GeoDataFrame]
    releases: list[int]
    staged: int
    reservation: int
    saved_match: str
    staff_key: str
    admin_key: str


@pytest.fixture
def hidden(store: Store, zone: dict[str, gpd.GeoDataFrame]) -> Hidden:
    marked: dict[str, gpd.GeoDataFrame] = {}
    for name, frame in zone.items():
        spec = LAYERS[name]
        marked[name] = frame.copy()
        for f in spec.stored_fields:
            if f.audience is Audience.INTERNAL:
                marked[name][f.name] = _sentinel(f)
        source = (f"{TEXT}.gpkg", TEXT.encode()) if name == PARCELS.name else None
        store.features.write(spec, marked[name], actor=ACTOR, source=source)
    frames = {name: store.features.read(spec) for name, spec in LAYERS.items()}

    parcels, infra = frames["parcels"], frames["infrastructure"]
    site = str(parcels.loc[parcels["status"] == ON_OFFER["parcels"], "parcel_id"].iloc[0])
    substation = str(infra.loc[infra["kind"] == "substation", "infra_id"].iloc[0])
    needs = Needs(energy_tce=1.0, emissions_t={"so2": 1.0}, power_mva=1.0,
                  substation_id=substation)  # fmt: skip
    held = store.reservations.reserve(
        layer="parcels", site_id=site, project=f"{TEXT} 项目", needs=needs, actor=ACTOR
    )

    park = str(frames["parks"]["park_id"].iloc[0])
    row = store.ledgers.row("parks", park)
    store.ledgers.update(
        "parks",
        park,
        {"note_int": f"{TEXT} 改"},
        version=row["version"],
        quarter="2026Q4",
        actor=ACTOR,
    )

    staged = marked["parcels"].copy()
    staged["name"] = UNPUBLISHED
    pending = store.releases.stage(
        staged,
        year=2030,
        source=(f"{TEXT}-2030.gpkg", TEXT.encode()),
        report={"note": TEXT},
        actor=ACTOR,
        base=store.releases.current_id(),
    )

    staff_key = auth.create_key(store, name=f"{TEXT} 规划", role="planner", actor=ACTOR)[1]
    admin_key = auth.create_key(store, name=f"{TEXT} 管理", role="admin", actor=ACTOR)[1]
    request = {"name": TEXT, "industry": TEXT, "investor": TEXT, "area": {"min_mu": 5}}
    result = {"request": request, "layer": "parcels", "sites": [], "note": TEXT}
    saved = store.matches.save(
        request, json.dumps(result), actor=ACTOR, versions={}, top=10, excluded_limit=0
    )
    return Hidden(
        store=store,
        frames=frames,
        releases=[r.id for r in store.releases.all()],
        staged=pending.id,
        reservation=held.id,
        saved_match=saved.id,
        staff_key=staff_key,
        admin_key=admin_key,
    )


# -- what counts as a leak ---------------------------------------------------------------

_PACKED = [struct.pack(fmt, v) for v in DRAWN for fmt in ("<d", "<f")]
_INTERNAL_ONLY = {f.name for spec in LAYERS.values() for f in spec.fields if not f.public} - {
    f.name for spec in LAYERS.values() for f in spec.fields if f.public
}


def leaks(response: Response, *, names: bool = True) -> list[str]:
    """What of the hidden data ``response`` (body and headers) gives away."""
    raw = response.content + b"\n" + str(response.headers.multi_items()).encode()
    text = raw.decode("utf-8", "replace")
    found = [s for s in (HIDDEN, UNPUBLISHED) if s in text]
    found += NUMBERS.findall(text)
    found += [f"packed {p.hex()}" for p in _PACKED if p in raw]
    if names:  # a hidden field's name as a JSON key or string: its existence
        found += [name for name in _INTERNAL_ONLY if f'"{name}"' in text]
    if response.headers.get("content-type", "").startswith("application/vnd.mapbox-vector-tile"):
        found += _tile_leaks(response.content)
    return found


def _tile_leaks(data: bytes) -> list[str]:
    found = []
    for layer, content in mapbox_vector_tile.decode(data).items():
        # A low-zoom tile's one property counts the sites the caller may see.
        public = {f.name for f in LAYERS[layer].fields if f.public} | {COUNT}
        for feature in content["features"]:
            for key, value in feature["properties"].items():
                if key not in public:
                    found.append(f"{layer}.{key}")
                elif isinstance(value, float) and 987_000 < value < 988_000:
                    found.append(f"{layer}.{key}={value}")
    return found


def assert_clean(label: str, response: Response, *, names: bool = True) -> None:
    assert response.status_code < 500, (label, response.status_code, response.text[:300])
    assert not leaks(response, names=names), (label, leaks(response, names=names))
    if response.status_code >= 400 and response.content:
        body = response.json()
        # The token endpoint adds what RFC 6749 (5.2) requires of its errors.
        oauth = {"error", "error_description"} if "/oauth/token" in label else set()
        assert set(body) - oauth == {"code", "message", "details"}, label
        if response.status_code == 401:
            assert body["code"] == "authentication_required", label


# -- every public response ---------------------------------------------------------------

_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def _tiles(frames: dict[str, gpd.GeoDataFrame]) -> list[tuple[int, int, int]]:
    """Every tile covering the zone's sites at each of ``TILE_ZOOMS``."""
    sites = pd.concat([frames[layer].geometry for layer in ON_OFFER])
    minx, miny, maxx, maxy = sites.total_bounds
    out = []
    for z in TILE_ZOOMS:
        (x0, y0), (x1, y1) = _tile_of(minx, maxy, z), _tile_of(maxx, miny, z)
        out += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return out


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def _fill(path: str, hidden: Hidden) -> list[str]:
    """``path`` with its parameters set to real values from the loaded zone (and a few
    that exist nowhere); a parameter this does not know fails the test, so a new route's
    parameters must be given values here."""
    params = set(_PARAM.findall(path))
    layer_param = {"collection_id", "layer"} & params
    # The layer: a parameter (every layer, and one that does not exist), or in the path.
    layer_values: list[dict[str, Any]] = [{}]
    if layer_param:
        (name,) = layer_param
        layer_values = [{name: layer} for layer in [*LAYERS, "nope"]]
    in_path = next((part for part in path.split("/") if part in LAYERS), None)
    tiles = _tiles(hidden.frames) if {"z", "x", "y"} <= params else []
    filled: list[dict[str, Any]] = []
    for given in layer_values:
        layer = next(iter(given.values()), in_path)
        frame = hidden.frames.get(str(layer))
        rest: dict[str, list[Any]] = {}
        for p in params - set(given):
            if p == "fid":
                rest[p] = [*(frame.index if frame is not None else []), MISSING_FID]
            elif p == "feature_id":
                ids = frame[LAYERS[str(layer)].id_field] if frame is not None else []
                rest[p] = [*ids, "nope"]
            elif p == "release_id":
                rest[p] = [*hidden.releases, MISSING_FID]
            elif p == "reservation_id":
                rest[p] = [hidden.reservation, MISSING_FID]
            elif p == "match_id":
                rest[p] = [hidden.saved_match, "nope"]
            elif p == "rank":
                rest[p] = [1, 99]
            elif p == "date":
                rest[p] = [dt.date.today().isoformat()]
            elif p == "name":
                rest[p] = [*ASSETS, "nope.js"]
            elif p not in ("z", "x", "y"):
                raise AssertionError(f"R21: give the sentinel test values for {{{p}}} of {path}")
        keys = sorted(rest)
        for values in product(*(rest[k] for k in keys)):
            combos = [given | dict(zip(keys, values, strict=True))]
            if tiles:
                combos = [c | {"z": z, "x": x, "y": y} for c in combos for z, x, y in tiles]
            filled += combos
    return [_format(path, values) for values in filled]


def _format(path: str, values: dict[str, Any]) -> str:
    return _PARAM.sub(lambda m: str(values[m.group(1)]), path)


def _routes(client: TestClient) -> Iterator[tuple[str, str]]:
    """(method, path) of every route of the app, included routers expanded (the way
    FastAPI offers for this since routers are included lazily)."""
    app = cast(FastAPI, client.app)
    for route in iter_route_contexts(app.routes):
        for method in sorted(route.methods or ()):
            if method != "HEAD" and route.path_format:
                yield method, route.path_format


def _negotiated(client: TestClient) -> set[str]:
    """Paths of the routes that answer HTML as well as their own type when asked (their
    documented 200 response lists ``text/html`` besides it): the OGC API resources."""
    found = set()
    for route in iter_route_contexts(cast(FastAPI, client.app).routes):
        documented = getattr(route.original_route, "responses", {}).get(200, {})
        if "text/html" in documented.get("content", {}):
            found.add(route.path_format)
    return found


def public_responses(client: TestClient, hidden: Hidden) -> Iterator[tuple[str, Response]]:
    routes = list(_routes(client))
    assert ("GET", "/collections/{collection_id}/items") in routes
    assert ("GET", "/tiles/{layer}/{z}/{x}/{y}.pbf") in routes
    html = _negotiated(client)
    assert "/collections/{collection_id}/items/{fid}" in html
    for method, path in routes:
        for url in _fill(path, hidden):
            if method == "GET":
                yield url, client.get(url, follow_redirects=False)
                if path in html:  # the HTML encoding, as a browser asks for it (R21, R22)
                    yield (
                        f"{url} (Accept: text/html)",
                        client.get(url, headers={"Accept": "text/html"}, follow_redirects=False),
                    )
            else:  # every other route without a key: refused, and refused cleanly
                yield f"{method} {url}", client.request(method, url, json={})
    yield "/?f=html", client.get("/?f=html")
    yield "/ (Accept html)", client.get("/", headers={"Accept": "text/html"})
    for name in LAYERS:
        yield from _all_pages(client, name)
        for fid in hidden.frames[name].index[:3]:
            for crs in client.get(f"/collections/{name}").json()["crs"]:
                url = f"/collections/{name}/items/{fid}?crs={crs}"
                yield url, client.get(url)
        for fmt in ("csv", "xlsx", "html", "gpkg", "shp"):  # exports, once there are any
            url = f"/collections/{name}/items?f={fmt}&limit=10000"
            yield url, client.get(url)
    for url in (
        "/collections/parcels/items?bbox=1,2,3",
        "/collections/parcels/items?bbox=a,b,c,d",
        "/collections/parcels/items?bbox=200,0,201,1",
        "/collections/parcels/items?crs=EPSG:999999",
        "/collections/parcels/items?limit=0",
        "/collections/parcels/items?limit=100000",
        "/collections/parcels/items?colour=red",
        "/collections/parcels/items/abc",
        "/tiles/parcels/25/1/1.pbf",
        "/no/such/path",
    ):
        yield url, client.get(url)
    made_up_key = {"Authorization": "Bearer gsk_made-up"}
    yield "made-up key", client.get("/collections/parks/items", headers=made_up_key)


def _all_pages(client: TestClient, name: str) -> Iterator[tuple[str, Response]]:
    """Every page of a layer's items in every CRS the collection offers, and its HTML."""
    for crs in client.get(f"/collections/{name}").json()["crs"]:
        url: str | None = f"/collections/{name}/items?limit=7&crs={crs}"
        pages = 0
        while url is not None:
            response = client.get(url)
            yield url, response
            links = response.json()["links"]
            (html,) = [lk["href"] for lk in links if lk["type"] == "text/html"]
            yield html, client.get(html)
            url = next((lk["href"] for lk in links if lk["rel"] == "next"), None)
            pages += 1
        assert pages >= 1


def test_no_public_response_gives_anything_hidden_away(
    client: TestClient, hidden: Hidden, settings: Settings
) -> None:
    statuses: dict[int, int] = {}
    for label, response in public_responses(client, hidden):
        assert_clean(label, response)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    # The walk reached real content, staff routes and errors alike.
    assert statuses[200] > 300 and statuses[401] > 10 and statuses[404] > 10, statuses
    assert statuses[400] > 10, statuses

    # The investor map drawn from vector tiles, as it is for a zone of many sites.
    tiled = settings.model_copy(update={"map_tile_threshold": 0})
    with TestClient(create_app(tiled)) as tiled_client:
        page = tiled_client.get("/maps/investor")
        assert page.status_code == 200 and "/tiles/" in page.text
        assert_clean("/maps/investor (tiled)", page)


def test_the_sentinels_are_there_for_staff(client: TestClient, hidden: Hidden) -> None:
    """The public test above proves something only if staff do find every sentinel."""
    staff = {"X-API-Key": hidden.staff_key}
    admin = {"X-API-Key": hidden.admin_key}
    for name in LAYERS:
        if any(not f.public for f in LAYERS[name].stored_fields):
            body = client.get(f"/collections/{name}/items?limit=10000", headers=staff).text
            assert HIDDEN in body and NUMBERS.search(body), name
    assert HIDDEN in client.get("/reservations", headers=staff).text
    assert HIDDEN in client.get("/audit", headers=admin).text
    park = str(hidden.frames["parks"]["park_id"].iloc[0])
    assert HIDDEN in client.get(f"/ledgers/parks/{park}/history", headers=staff).text
    staged = hidden.staged
    assert hidden.store.releases.current_id() not in (staged, None)
    assert HIDDEN.encode() in client.get(f"/stock-lists/{staged}/source", headers=staff).content
    assert UNPUBLISHED in client.get(f"/stock-lists/{staged}/items", headers=staff).text
    parks = client.get("/collections/parks/items", headers=staff).json()["features"]
    # A reservation of 1 tce drew the quota down: staff see the sum, the public nothing.
    assert any(p["properties"]["egy_alloc"] == pytest.approx(USED + 1.0) for p in parks)


# -- no oracle for hidden field names ----------------------------------------------------

MADE_UP = "zq_nofield"


def _oracle_urls(name: str) -> dict[str, str]:
    """Requests that name the field ``name``, by the parameter they use."""
    return {
        "properties": f"properties={name}",
        "properties (with a public one)": f"properties=name,{name}",
        "sortby": f"sortby={name}",
        "sortby descending": f"sortby=-{name}",
        "filter (compare)": f"filter={name} > 0",
        "filter (text)": f"filter={name} = 'x'",
        "filter (null)": f"filter={name} IS NULL",
        "filter (property-property)": f"filter=name = {name}",
        "filter (in a conjunction)": f"filter=S_INTERSECTS(geometry, POINT(0 0)) AND {name} < 1",
        "filter (like)": f"filter={name} LIKE 'S%25'",
        "query parameter": f"{name}=1",
    }


def _without(body: bytes, name: str) -> str:
    return re.sub(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", "<name>", body.decode())


@pytest.mark.parametrize("layer", [name for name, spec in LAYERS.items() if any(
    f.audience is Audience.INTERNAL for f in spec.stored_fields)])  # fmt: skip
def test_a_hidden_field_answers_like_a_made_up_one(
    client: TestClient, loaded: Store, layer: str
) -> None:
    names = [f.name for f in LAYERS[layer].stored_fields if f.audience is Audience.INTERNAL]
    for field, (use, query) in product(names, _oracle_urls(MADE_UP).items()):
        url = f"/collections/{layer}/items?{_oracle_urls(field)[use]}"
        named = client.get(url)
        made_up = client.get(f"/collections/{layer}/items?{query}")
        assert named.status_code == made_up.status_code == 400, (url, named.text[:300])
        assert _without(named.content, field) == _without(made_up.content, MADE_UP), url
        assert_clean(url, named, names=False)


def test_public_fields_do_work_in_those_parameters(client: TestClient, loaded: Store) -> None:
    """The 400s above are about hidden names, not parameters that never work."""
    for query in ("properties=name", "sortby=-price_wmu", "filter=price_wmu > 0"):
        response = client.get(f"/collections/parcels/items?{query}")
        assert response.status_code == 200, (query, response.text[:300])
        assert_clean(query, response)
