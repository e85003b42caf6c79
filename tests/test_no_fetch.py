"""R26: no upload ever makes the server fetch anything.

GDAL reads a GeoJSON ``crs`` member leniently (any key order, ``\\u`` escapes, ``link``,
``url``, ``LINK``, a name that is a URL or a ``/vsicurl/`` path, inside a feature, the
last of duplicated keys) and fetches what it names. Every spelling is refused on the
parsed document before GDAL opens the file, and a loopback listener serving a valid CRS
sees no request — through the reader, the command line and ``POST /stock-lists``.
"""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_service import auth
from layers.catalog import PARCELS
from layers.errors import GeoServiceError, InvalidInput
from layers.io import read_layer_file, write_layer_file
from layers.store.rows import data_hash
from layers.store.store import Store
from tests.people import TESTER

# What the listener answers: a valid CRS whose name would show if it were ever read.
FETCHED = "FETCHED-CRS-7c1e"
WKT = (
    f'GEOGCS["{FETCHED}",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]],'
    'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]'
)


class _Listener(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = WKT.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(WKT)))
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def listener() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server answering every GET with a valid WKT CRS; records hits."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    # shutdown() waits for the loop's next poll: 0.5 s by default.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Listener.hits
    server.shutdown()


@pytest.fixture(autouse=True)
def _no_hits_yet() -> None:
    _Listener.hits.clear()


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=20)


@pytest.fixture(scope="module")
def plain_geojson(
    zone: dict[str, gpd.GeoDataFrame], tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A valid stock list as GDAL writes it, without its ``crs`` member (RFC 7946)."""
    path = tmp_path_factory.mktemp("plain") / "list.geojson"
    write_layer_file(zone["parcels"].assign(list_year=2027), PARCELS, path)
    text = path.read_text(encoding="utf-8")
    start = text.index('"crs"')
    end = text.index("\n", start)
    return text[:start] + text[end + 1 :]


def esc(text: str) -> str:
    """Every character as a JSON ``\\u`` escape."""
    return "".join(f"\\u{ord(c):04x}" for c in text)


def _top(member: str) -> Callable[[str], str]:
    return lambda doc: doc.replace(
        '"type": "FeatureCollection",', f'"type": "FeatureCollection", {member},', 1
    )


def _in_feature(member: str) -> Callable[[str], str]:
    return lambda doc: doc.replace('{ "type": "Feature",', f'{{ "type": "Feature", {member},', 1)


# Each spelling is a member text with {url} in it, and where it goes.
SPELLINGS: dict[str, tuple[str, str]] = {
    "link": (
        '"crs": {"type": "link", "properties": {"href": "{url}/a.wkt", "type": "wkt"}}',
        "top",
    ),
    "link, keys reordered": (
        '"crs": {"properties": {"type": "wkt", "href": "{url}/b.wkt"}, "type": "link"}',
        "top",
    ),
    "escaped key": (
        f'"{esc("crs")}": {{"type": "link", "properties": {{"href": "{{url}}/c.wkt"}}}}',
        "top",
    ),
    "escaped one letter of the key": (
        '"\\u0063rs": {"type": "link", "properties": {"href": "{url}/d.wkt"}}',
        "top",
    ),
    "escaped value": (
        f'"crs": {{"type": "{esc("link")}", "properties": {{"href": "{{url}}/e.wkt"}}}}',
        "top",
    ),
    "a NUL after the key (GDAL ends the key there)": (
        '"crs\\u0000": {"type": "link", "properties": {"href": "{url}/n.wkt"}}',
        "top",
    ),
    "a NUL and more after the key": (
        '"crs\\u0000x": {"type": "link", "properties": {"href": "{url}/o.wkt"}}',
        "top",
    ),
    "a NUL key after a plain crs": (
        '"crs": {"type": "name", "properties": {"name": "EPSG:4490"}}, '
        '"CRS\\u0000": {"type": "link", "properties": {"href": "{url}/p.wkt"}}',
        "top",
    ),
    "type url": ('"crs": {"type": "url", "properties": {"url": "{url}/f.wkt"}}', "top"),
    "type URL": ('"crs": {"type": "URL", "properties": {"url": "{url}/g.wkt"}}', "top"),
    "type LINK": ('"crs": {"type": "LINK", "properties": {"href": "{url}/h.wkt"}}', "top"),
    "name is a URL": ('"crs": {"type": "name", "properties": {"name": "{url}/i.wkt"}}', "top"),
    "name is /vsicurl/": (
        '"crs": {"type": "name", "properties": {"name": "/vsicurl/{url}/j.wkt"}}',
        "top",
    ),
    "escaped URL in a name": (
        '"crs": {"type": "name", "properties": {"name": "{escaped_url}/k.wkt"}}',
        "top",
    ),
    "upper-case key": ('"CRS": {"type": "link", "properties": {"href": "{url}/l.wkt"}}', "top"),
    "whitespace": (
        '"crs"\n :\t{ "type"\r\n:  "link" , "properties":{"href":"{url}/m.wkt"}}',
        "top",
    ),
    "in a feature": ('"crs": {"type": "link", "properties": {"href": "{url}/n.wkt"}}', "feature"),
    "name URL in a feature": (
        '"crs": {"type": "name", "properties": {"name": "{url}/o.wkt"}}',
        "feature",
    ),
    "duplicated, link last": (
        '"crs": {"type": "name", "properties": {"name": "EPSG:4490"}}, '
        '"crs": {"type": "link", "properties": {"href": "{url}/p.wkt"}}',
        "top",
    ),
    "duplicated, link first": (
        '"crs": {"type": "link", "properties": {"href": "{url}/q.wkt"}}, '
        '"crs": {"type": "name", "properties": {"name": "EPSG:4490"}}',
        "top",
    ),
    "duplicated properties": (
        '"crs": {"type": "name", "properties": {"name": "EPSG:4490"}, '
        '"properties": {"name": "{url}/r.wkt"}}',
        "top",
    ),
    "duplicated name": (
        '"crs": {"type": "name", "properties": {"name": "EPSG:4490", "name": "{url}/s.wkt"}}',
        "top",
    ),
    "known name plus href": (
        '"crs": {"type": "name", "properties": {"name": "EPSG:4490", "href": "{url}/t.wkt"}}',
        "top",
    ),
    "type EPSG": ('"crs": {"type": "EPSG", "properties": {"code": "{url}/u.wkt"}}', "top"),
    "type ogc": ('"crs": {"type": "ogc", "properties": {"urn": "{url}/v.wkt"}}', "top"),
    "type proj4": ('"crs": {"type": "proj4", "properties": {"href": "{url}/w.wkt"}}', "top"),
    "linked name": ('"crs": {"type": "name", "properties": {"name": "{url}/x.wkt"}}', "top"),
    "escaped /vsicurl/": (
        f'"crs": {{"type": "name", "properties": {{"name": "{esc("/vsicurl/")}{{url}}/y.wkt"}}}}',
        "top",
    ),
}


def hostile(doc: str, spelling: str, url: str) -> str:
    member, where = SPELLINGS[spelling]
    member = member.replace("{url}", url).replace("{escaped_url}", esc(url))
    return (_top(member) if where == "top" else _in_feature(member))(doc)


def _refused(path: Path, hits: list[str]) -> GeoServiceError | None:
    """The reader's refusal (``None`` if it read the file), once no request was seen."""
    refused: GeoServiceError | None = None
    try:
        read_layer_file(path, PARCELS)
    except GeoServiceError as exc:
        refused = exc
    assert hits == []
    assert refused is None or FETCHED not in str(refused)
    return refused


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_a_crs_that_names_anything_but_a_known_crs_is_refused_unfetched(
    spelling: str, plain_geojson: str, listener: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, hits = listener
    path = tmp_path / "清单.geojson"
    path.write_text(hostile(plain_geojson, spelling, url), encoding="utf-8")
    refused = _refused(path, hits)
    assert isinstance(refused, InvalidInput)
    assert "清单.geojson" in refused.message and "crs" in refused.message.lower()
    assert FETCHED not in refused.message


@pytest.mark.parametrize(
    "name",
    [
        "EPSG:4490",
        "urn:ogc:def:crs:EPSG::4490",
        "http://www.opengis.net/def/crs/EPSG/0/4490",
        "urn:ogc:def:crs:OGC:1.3:CRS84",
    ],
)
def test_a_plain_known_crs_name_is_read(
    name: str, plain_geojson: str, listener: tuple[str, list[str]], tmp_path: Path
) -> None:
    path = tmp_path / "list.geojson"
    member = f'"crs": {{"type": "name", "properties": {{"name": "{name}"}}}}'
    path.write_text(_top(member)(plain_geojson), encoding="utf-8")
    frame = read_layer_file(path, PARCELS)
    assert len(frame) == 20
    assert listener[1] == []


def test_the_message_names_the_json_path_of_the_member(
    plain_geojson: str, listener: tuple[str, list[str]], tmp_path: Path
) -> None:
    path = tmp_path / "list.geojson"
    path.write_text(hostile(plain_geojson, "in a feature", listener[0]), encoding="utf-8")
    refused = _refused(path, listener[1])
    assert refused is not None and "$.features[0].crs" in refused.message


def _case(text: str, flips: list[bool]) -> str:
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=True))


@st.composite
def spellings(draw: st.DrawFn, url: str) -> str:
    """A ``crs`` member GDAL might act on: any case, any characters ``\\u``-escaped, a NUL
    and more after the key (GDAL reads the key up to the NUL), any key order, any
    whitespace, any type, URL in any of the members GDAL reads, inside a feature or not,
    after a plain one or not."""

    def text(value: str) -> str:
        value = _case(
            value, draw(st.lists(st.booleans(), min_size=len(value), max_size=len(value)))
        )
        mask = draw(st.lists(st.booleans(), min_size=len(value), max_size=len(value)))
        return "".join(f"\\u{ord(c):04x}" if m else c for c, m in zip(value, mask, strict=True))

    space = st.sampled_from(["", " ", "\n", "\t", "\r\n  "])
    kind = draw(st.sampled_from(["link", "url", "name", "ogc", "proj4", "EPSG", "esri", "urn"]))
    target = draw(st.sampled_from([f"{url}/g.wkt", f"/vsicurl/{url}/g.wkt", f"{url}/g.prj"]))
    members = [
        (text("type"), text(kind)),
        *(
            (text(key), target)
            for key in draw(
                st.sets(st.sampled_from(["href", "url", "name", "code", "urn"]), min_size=1)
            )
        ),
    ]
    inner = f",{draw(space)}".join(f'"{k}"{draw(space)}:{draw(space)}"{v}"' for k, v in members[1:])
    pairs = [
        f'"{members[0][0]}":{draw(space)}"{members[0][1]}"',
        f'"{text("properties")}": {{{inner}}}',
    ]
    pairs = draw(st.permutations(pairs))
    tail = draw(st.sampled_from(["", "\\u0000", "\\u0000x", "\\u0000\\u0000crs"]))
    member = f'"{text("crs")}{tail}"{draw(space)}:{draw(space)}{{{", ".join(pairs)}}}'
    if draw(st.booleans()):
        member = f'"crs": {{"type": "name", "properties": {{"name": "EPSG:4490"}}}}, {member}'
    return member


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_generated_spellings_are_refused_unfetched(
    data: st.DataObject, plain_geojson: str, listener: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, hits = listener
    member = data.draw(spellings(url))
    place = data.draw(st.sampled_from([_top, _in_feature]))
    path = tmp_path / "list.geojson"
    path.write_text(place(member)(plain_geojson), encoding="utf-8")
    refused = _refused(path, hits)
    assert refused is not None and FETCHED not in refused.message


# The few spellings that go through the whole service, where a fetch would be SSRF.
THROUGH_SERVICE = [
    "link, keys reordered",
    "escaped key",
    "escaped value",
    "type url",
    "type LINK",
    "upper-case key",
    "name is /vsicurl/",
    "duplicated, link last",
]


def test_the_command_line_fetches_nothing(
    store: Store,
    store_url: str,
    plain_geojson: str,
    listener: tuple[str, list[str]],
    tmp_path: Path,
) -> None:
    url, hits = listener
    cli = [sys.executable, "-m", "geo_service", "stock-list", "import", "--db", store_url]
    for spelling in ("escaped key", "type url", "duplicated, link last"):  # a process each
        path = tmp_path / "清单.geojson"
        path.write_text(hostile(plain_geojson, spelling, url), encoding="utf-8")
        refused = subprocess.run(
            [*cli, str(path), "--year", "2027"], capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip
        assert refused.returncode == 1, (spelling, refused.stdout, refused.stderr)
        assert "crs" in refused.stdout.lower() and FETCHED not in refused.stdout + refused.stderr
        assert hits == [], spelling
    assert store.releases.all() == []


def test_post_stock_lists_fetches_nothing(
    client: TestClient,
    loaded: Store,
    plain_geojson: str,
    listener: tuple[str, list[str]],
    tmp_path: Path,
) -> None:
    url, hits = listener
    key = auth.create_key(loaded, name="国土局 李四", role="land_bureau", actor=TESTER)[1]
    before = data_hash(loaded.features.read(PARCELS), PARCELS), len(loaded.releases.all())
    for spelling in THROUGH_SERVICE:
        body = hostile(plain_geojson, spelling, url).encode()
        refused = client.post(
            "/stock-lists?year=2027",
            files={"file": ("清单.geojson", body, "application/geo+json")},
            headers={"X-API-Key": key},
        )
        assert refused.status_code == 422, (spelling, refused.text)
        problems = refused.json()["details"]["problems"]
        assert problems[0]["file"] == "清单.geojson" and "crs" in problems[0]["message"].lower()
        assert FETCHED not in refused.text
        assert hits == [], spelling
    assert (data_hash(loaded.features.read(PARCELS), PARCELS), len(loaded.releases.all())) == before
