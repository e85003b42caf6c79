"""The HTML encoding of the OGC API – Features resources (Part 1, conformance class HTML),
on both stores.

Every resource answers HTML for ``f=html`` and for a browser's ``Accept``, with the
Content-Security-Policy header; the HTML holds every value of the JSON for the same request
(compared feature by feature and property by property, read back with the standard
library's HTML parser, an oracle that shares nothing with the page builder); the public's
pages hold nothing of the internal columns (R21, with the sentinel of
tests/test_sentinel.py); names carrying XSS payloads appear only escaped (R22); the pages'
next/prev links are the JSON's; and the pages open in a real headless Chromium with the
network cut off, without a console error, a dialog or a blocked request. Set
GEO_SERVICE_SCREENSHOTS to a folder to keep a screenshot of a page of parcels.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from playwright.sync_api import Browser

from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import LAYERS
from layers.schema import Audience, FieldSpec
from layers.store.store import Store
from tests.browser import screenshot, serve, visit
from tests.test_sentinel import HIDDEN, NUMBER, NUMBERS, TEXT, leaks

HTML_CONFORMANCE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PAYLOADS = {  # the payload and how it must appear in the page's source
    "<img src=x onerror=alert(1)>": "&lt;img src=x onerror=alert(1)&gt;",
    "`${alert(1)}`": "&#96;&#36;{alert(1)}&#96;",
    "</td></tr><script>alert(1)</script>": "&lt;/td&gt;&lt;/tr&gt;&lt;script&gt;alert(1)",
    '" onmouseover="alert(1)': "&quot; onmouseover=&quot;alert(1)",
}
SCREENSHOT = "items-html.png"
"""Kept in GEO_SERVICE_SCREENSHOTS when set (docs/maps holds the committed one)."""


def _sentinel(f: FieldSpec) -> object:
    if f.kind == "str":
        return TEXT
    if f.kind == "float":
        return NUMBER
    if f.kind == "int":
        return round(NUMBER)
    raise AssertionError(f"choose a sentinel for the internal {f.kind} field {f.name}")


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    """The demo zone with XSS payloads in the first parcels' and factories' names and a
    sentinel in every internal column."""
    zone = demo_zone(parcels=40)
    for name, frame in zone.items():
        for f in LAYERS[name].stored_fields:
            if f.audience is Audience.INTERNAL:
                frame[f.name] = _sentinel(f)
        if name in ("parcels", "factories"):
            for i, payload in enumerate(PAYLOADS):
                frame.loc[i, "name"] = payload
    return zone


@pytest.fixture
def staff(planner_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {planner_key}"}


# -- reading a page back -------------------------------------------------------------------


class Page(HTMLParser):
    """What a page shows, read with the standard library's parser: the cells of its tables
    by (row, field) with the text outside ``<small>`` (a unit or a gloss), its links and
    every tag, text and attribute value."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: dict[tuple[str | None, str], str] = {}
        self.columns: list[str] = []
        self.rows: list[str] = []
        self.links: list[dict[str, str]] = []
        self.tags: set[str] = set()
        self.texts: list[str] = []
        self._row: str | None = None
        self._cell: str | None = None
        self._small = 0
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        self.texts += found.values()
        if tag in ("a", "link") and "href" in found:
            self.links.append(found | {"tag": tag})
        elif tag == "tr" and found.get("id", "").startswith("f-"):
            self._row = found["id"].removeprefix("f-")
            self.rows.append(self._row)
        elif tag == "th" and "data-field" in found:
            self.columns.append(found["data-field"])
        elif tag == "td" and "data-field" in found:
            self._cell = found["data-field"]
            self.cells[(self._row, self._cell)] = ""
        elif tag == "small":
            self._small += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "small":
            self._small -= 1

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self._cell is not None and not self._small:
            self.cells[(self._row, self._cell)] += data

    def text(self) -> str:
        return "\n".join(self.texts)

    def link(self, rel: str) -> list[str]:
        return sorted({lk["href"] for lk in self.links if rel in lk.get("rel", "").split()})


def _shows(shown: str, value: Any) -> bool:
    """Whether the text of a cell is ``value`` (a JSON property value), read as a person
    would: numbers with thousands separators, booleans in words, null as nothing."""
    if value is None:
        return shown == ""
    if isinstance(value, bool):
        return shown == ("是 yes" if value else "否 no")
    if isinstance(value, int | float):
        return shown != "" and float(shown.replace(",", "")) == value
    return shown == value


def _html(response: Response) -> Page:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy, policy
    assert response.headers["x-content-type-options"] == "nosniff"
    return Page(response.text)


def _scalars(value: Any) -> Iterator[str]:
    """Every string and number in a JSON document."""
    if isinstance(value, dict):
        for v in value.values():
            yield from _scalars(v)
    elif isinstance(value, list):
        for v in value:
            yield from _scalars(v)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield str(value)


def _resources(client: TestClient) -> list[str]:
    """Every resource of OGC API – Features Part 1: landing page, conformance, the
    collections, each collection, its items and one of its features."""
    urls = ["/", "/conformance", "/collections"]
    for name in LAYERS:
        first = client.get(f"/collections/{name}/items?limit=1").json()["features"][0]["id"]
        urls += [
            f"/collections/{name}",
            f"/collections/{name}/items",
            f"/collections/{name}/items/{first}",
        ]
    return urls


def _with(url: str, **params: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}" + "&".join(f"{k}={v}" for k, v in params.items())


# -- the tests -----------------------------------------------------------------------------


def test_every_resource_answers_html_by_f_and_by_accept(client: TestClient, loaded: Store) -> None:
    assert HTML_CONFORMANCE in client.get("/conformance").json()["conformsTo"]
    for url in _resources(client):
        by_f = _html(client.get(_with(url, f="html")))
        by_accept = _html(client.get(url, headers={"Accept": BROWSER_ACCEPT}))
        assert by_f.columns == by_accept.columns and by_f.cells == by_accept.cells, url
        # A client that asks for JSON gets JSON, whatever else it accepts.
        for accept in ("application/json", "application/geo+json", f"{BROWSER_ACCEPT},*/json"):
            response = client.get(url, headers={"Accept": accept})
            assert "json" in response.headers["content-type"], (url, accept)
        assert (
            "json"
            in client.get(_with(url, f="json"), headers={"Accept": BROWSER_ACCEPT}).headers[
                "content-type"
            ]
        )
        # The JSON names its HTML alternate (the conformance declaration has no links),
        # and the HTML its JSON one: each leads there.
        if url != "/conformance":
            links = client.get(url).json()["links"]
            (to_html,) = [lk["href"] for lk in links if lk["rel"] == "alternate"]
            assert {lk["type"] for lk in links if lk["rel"] == "alternate"} == {"text/html"}
            _html(client.get(to_html))
        for href in by_f.link("alternate"):
            assert "json" in client.get(href).headers["content-type"], (url, href)
        assert by_f.link("alternate"), url


def test_html_holds_everything_the_json_holds(client: TestClient, loaded: Store) -> None:
    """Landing page, conformance and collections: every string and number of the JSON."""
    for url in ("/", "/conformance", "/collections", *(f"/collections/{n}" for n in LAYERS)):
        body = client.get(url).json()
        shown = _html(client.get(_with(url, f="html"))).text()
        # The JSON's self link is the HTML's alternate, and the other way round.
        missing = [v for v in _scalars(body) if v not in shown and "f=html" not in v]
        assert missing == [], (url, missing[:5])


ITEM_QUERIES = [
    {},
    {"limit": "7", "offset": "7"},
    {"properties": "name,status,area_mu,price_wmu", "sortby": "-price_wmu"},
    {"filter": "status = 'available'", "sortby": "name"},
    {"crs": "http://www.opengis.net/def/crs/EPSG/0/4490", "limit": "5"},
]


def _compare_items(
    client: TestClient, layer: str, query: dict[str, str], headers: dict[str, str]
) -> None:
    response = client.get(f"/collections/{layer}/items", params=query, headers=headers)
    if response.status_code == 400:  # a field this layer does not have, or the caller may not see
        assert (
            client.get(
                f"/collections/{layer}/items", params={**query, "f": "html"}, headers=headers
            ).status_code
            == 400
        )
        return
    body = response.json()
    page = _html(
        client.get(f"/collections/{layer}/items", params={**query, "f": "html"}, headers=headers)
    )
    where = (layer, query)
    assert page.rows == [str(f["id"]) for f in body["features"]], where
    names = list(body["features"][0]["properties"]) if body["features"] else None
    if names is not None:
        assert page.columns == ["id", *names], where  # nothing more, nothing less
    for feature in body["features"]:
        fid = str(feature["id"])
        assert page.cells[(fid, "id")] == fid
        for name, value in feature["properties"].items():
            assert _shows(page.cells[(fid, name)], value), (
                where,
                fid,
                name,
                value,
                page.cells[(fid, name)],
            )
    text = page.text()
    for key in ("numberMatched", "numberReturned"):
        if key in body:
            assert str(body[key]) in text, (where, key)
    # The page was made by a request of its own: its time is the JSON's, give or take.
    (stamp,) = re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", text)
    seconds = dt.datetime.fromisoformat(stamp) - dt.datetime.fromisoformat(body["timeStamp"])
    assert abs(seconds.total_seconds()) < 60, (where, stamp)


def test_items_and_items_pages_show_every_property_of_the_json(
    client: TestClient, loaded: Store, staff: dict[str, str]
) -> None:
    for headers in ({}, staff):
        for layer in LAYERS:
            for query in ITEM_QUERIES:
                _compare_items(client, layer, query, headers)
            features = client.get(f"/collections/{layer}/items?limit=3", headers=headers).json()
            for feature in features["features"]:
                url = f"/collections/{layer}/items/{feature['id']}"
                body = client.get(url, headers=headers).json()
                page = _html(client.get(_with(url, f="html"), headers=headers))
                assert page.cells[(None, "id")] == str(body["id"])
                shown = {field for row, field in page.cells if row is None} - {"id"}
                assert shown == set(body["properties"]), url
                for name, value in body["properties"].items():
                    assert _shows(page.cells[(None, name)], value), (url, name, value)


def _public_html(client: TestClient) -> Iterator[tuple[str, Response]]:
    for url in _resources(client):
        yield url, client.get(_with(url, f="html"))
        yield f"{url} (Accept)", client.get(url, headers={"Accept": BROWSER_ACCEPT})
    for name in LAYERS:
        url = f"/collections/{name}/items?f=html&limit=10000"
        yield url, client.get(url)
        for fid in client.get(f"/collections/{name}/items?limit=10000").json()["features"]:
            url = f"/collections/{name}/items/{fid['id']}?f=html"
            yield url, client.get(url)


def test_the_public_html_holds_nothing_internal(
    client: TestClient, loaded: Store, staff: dict[str, str]
) -> None:
    for url, response in _public_html(client):
        _html(response)
        assert not leaks(response), (url, leaks(response))
    # Staff do see the sentinels, so the search above would have found them.
    for name, spec in LAYERS.items():
        if any(f.audience is Audience.INTERNAL for f in spec.stored_fields):
            text = client.get(f"/collections/{name}/items?f=html&limit=10000", headers=staff).text
            assert HIDDEN in text and NUMBERS.search(text), name


def test_xss_payloads_appear_only_escaped(
    client: TestClient, loaded: Store, staff: dict[str, str]
) -> None:
    hostile = next(iter(PAYLOADS))
    pages = []
    for layer in ("parcels", "factories"):
        for headers in ({}, staff):
            pages.append(
                client.get(f"/collections/{layer}/items?f=html&limit=10000", headers=headers)
            )
            ids = client.get(
                f"/collections/{layer}/items?limit=4&sortby=name", headers=headers
            ).json()
            pages += [
                client.get(f"/collections/{layer}/items/{f['id']}?f=html", headers=headers)
                for f in ids["features"]
            ]
        # A payload in a query parameter, echoed in the page's self and next links.
        pages.append(
            client.get(
                f"/collections/{layer}/items",
                params={"f": "html", "limit": "1", "filter": f"name <> '{hostile}'"},
            )
        )
    names_seen = set()
    for response in pages:
        page = _html(response)
        assert not {"script", "img", "iframe", "object"} & page.tags, page.tags
        assert not any(a.startswith("on") for lk in page.links for a in lk), page.links
        names_seen |= {v for (_, field), v in page.cells.items() if field == "name"}
        for payload in PAYLOADS:
            assert payload not in response.text, payload
    assert set(PAYLOADS) <= names_seen  # the parser reads each name back as it was stored
    every = "".join(r.text for r in pages)
    for escaped in PAYLOADS.values():
        assert escaped in every, escaped


def _params(href: str) -> dict[str, str]:
    parts = urlsplit(href)
    return {k: v for k, v in parse_qsl(parts.query) if k != "f"} | {"path": parts.path}


def test_next_and_prev_links_follow_the_json(client: TestClient, loaded: Store) -> None:
    for query in (
        {"limit": "7"},
        {"limit": "6", "sortby": "-price_wmu", "filter": "price_wmu > 0"},
    ):
        json_url: str | None = (
            f"/collections/parcels/items?{'&'.join(f'{k}={v}' for k, v in query.items())}"
        )
        html_url: str | None = _with(str(json_url), f="html")
        pages = 0
        while json_url is not None and html_url is not None:
            links = client.get(json_url).json()["links"]
            page = _html(client.get(html_url))
            for rel in ("next", "prev"):
                wanted = [_params(lk["href"]) for lk in links if lk["rel"] == rel]
                assert [_params(h) for h in page.link(rel)] == wanted, (json_url, rel)
                # The HTML's own links stay HTML.
                assert all("f=html" in h for h in page.link(rel))
            json_url = next((lk["href"] for lk in links if lk["rel"] == "next"), None)
            html_url = next(iter(page.link("next")), None)
            pages += 1
        assert json_url is None and html_url is None and pages > 2, query
    # Half way through, prev goes back a page.
    page = _html(client.get("/collections/parcels/items?f=html&limit=7&offset=14"))
    assert [_params(h)["offset"] for h in page.link("prev")] == ["7"]


@pytest.mark.browser
def test_pages_open_offline_in_a_browser(
    browser: Browser, client: TestClient, loaded: Store, settings: Settings, tmp_path: Path
) -> None:
    urls = _resources(client)
    with serve(create_app(settings)) as base:
        for url in urls:
            for address in (f"{base}{_with(url, f='html')}", f"{base}{url}"):  # f=html; Accept
                with visit(browser, address, ready=None) as v:
                    assert v.blocked == [] and v.console_errors == [] and v.dialogs == [], (
                        address,
                        v.blocked,
                        v.console_errors,
                        v.dialogs,
                    )
                    assert v.page.evaluate("document.contentType") == "text/html", address
                    assert v.page.locator("h1").count() == 1, address
        # Every parcel on one page: the payloads in names are shown as text, not run.
        with visit(browser, f"{base}/collections/parcels/items?limit=100", ready=None) as v:
            names = v.page.locator('tr[id^="f-"] td[data-field="name"]').all_inner_texts()
            assert len(names) == len(
                client.get("/collections/parcels/items?limit=100").json()["features"]
            )
            assert set(PAYLOADS) <= set(names)
            assert v.dialogs == [] and v.console_errors == [] and v.blocked == []
        # The screenshot for the docs: a page of ordinary parcels, with both page links.
        items = f"{base}/collections/parcels/items?limit=12&offset={len(PAYLOADS)}"
        with visit(browser, items, ready=None, viewport=(1400, 820)) as v:
            assert v.page.locator('tr[id^="f-"]').count() == 12
            assert v.dialogs == [] and v.console_errors == [] and v.blocked == []
            folder = os.environ.get("GEO_SERVICE_SCREENSHOTS")
            screenshot(v, (Path(folder) if folder else tmp_path) / SCREENSHOT)


def test_json_keeps_working_next_to_html(client: TestClient, loaded: Store) -> None:
    """Not about HTML pages themselves: ``f`` outside the known formats is still a 400."""
    for url in ("/conformance?f=xml", "/collections?f=csv", "/collections/parcels/items?f=xml"):
        assert client.get(url).status_code == 400, url
    body = json.loads(client.get("/collections/parcels/items?f=geojson&limit=2").text)
    assert body["type"] == "FeatureCollection"
