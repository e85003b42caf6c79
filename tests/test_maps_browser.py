"""Every map in a real headless Chromium with the network cut off: served and standalone.

Zero blocked requests, zero console errors, no dialog (XSS payloads are in the data),
Leaflet running and the expected number of features drawn, and every kind of feature drawn
opens its popup when clicked where it is drawn. Set GEO_SERVICE_SCREENSHOTS to a folder to
keep a screenshot of each map (docs/maps holds the committed ones).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from playwright.sync_api import Browser

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from geo_service.zones import ZoneCache
from layers.catalog import FACTORIES, LAYERS, ON_OFFER, PARCELS, PARKS, ROADS
from layers.schema import Audience
from layers.store.store import Store
from layers.vocabulary import INFRA_KINDS
from maps.basemap import Basemap
from maps.investor import investor_map
from maps.page import render
from maps.preselect import outline, preselect_map
from maps.readiness import readiness_map
from matching.engine import match
from matching.request import load_request
from matching.results import MatchResult, RankedSite
from matching.zone import Zone, build_zone
from tests.browser import (
    Drawn,
    Visit,
    click_each_kind,
    screenshot,
    serve,
    visit,
    wait_until,
)
from tests.people import TESTER

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "requests"
PAYLOADS = ("<img src=x onerror=alert(1)>", "`${alert(1)}`",
            "</script><script>alert(1)</script>")  # fmt: skip
SENTINEL = "SENTINEL-内部-93c1"


@pytest.fixture(scope="module")
def hostile_zone(
    demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]],
) -> dict[str, gpd.GeoDataFrame]:
    """The demo zone with XSS payloads in names and a sentinel in every internal column."""
    zone = demo_zone()
    for layer in ("parcels", "factories", "parks"):
        frame = zone[layer]
        for i, payload in enumerate(PAYLOADS):
            frame.loc[i, "name"] = payload
        for f in LAYERS[layer].stored_fields:
            if f.audience is Audience.INTERNAL and f.kind == "str":
                frame[f.name] = SENTINEL
    return zone


def _shots(name: str, v: Visit) -> None:
    folder = os.environ.get("GEO_SERVICE_SCREENSHOTS")
    if folder:
        screenshot(v, Path(folder) / f"{name}.png")


def _assert_clean(v: Visit, expected: int, html: str) -> None:
    assert v.blocked == [], v.blocked
    assert v.console_errors == [], v.console_errors
    assert v.dialogs == []
    assert v.features() == expected
    for payload in PAYLOADS:
        assert payload not in html


def _counts(zone: dict[str, gpd.GeoDataFrame]) -> dict[str, int]:
    context = len(zone["parks"]) + len(zone["roads"])
    return {
        "investor": context
        + int((zone["parcels"]["status"] == "available").sum())
        + int((zone["factories"]["status"] == "idle").sum()),
        "readiness": context + len(zone["parcels"]),
    }


PRESELECT = ("daheng_crystal_pulling", "jinko_like_base")
"""Between them every kind the pre-selection map draws: sites, near misses (the first),
assembled groups and their outlines (the second), connection lines, infrastructure."""


def _frames(store: Store) -> dict[str, gpd.GeoDataFrame]:
    return {name: store.features.read(spec) for name, spec in LAYERS.items()}


def _match(example: str, zone: Zone) -> MatchResult:
    return match(load_request(EXAMPLES / f"{example}.json"), zone, top_n=10)


def _context_drawn(frames: dict[str, gpd.GeoDataFrame]) -> list[Drawn]:
    """The parks (a popup naming the park) and roads (named, or by id) under every map."""
    parks, roads = frames[PARKS.name], frames[ROADS.name]
    return [
        *(Drawn("park", g, (str(n),)) for g, n in zip(parks.geometry, parks["name"], strict=True)),
        *(
            Drawn("road", g, (n if isinstance(n, str) and n else str(i),))
            for g, n, i in zip(roads.geometry, roads["name"], roads[ROADS.id_field], strict=True)
        ),
    ]


def _investor_drawn(frames: dict[str, gpd.GeoDataFrame]) -> list[Drawn]:
    out = _context_drawn(frames)
    for kind, spec in (("land", PARCELS), ("factory", FACTORIES)):
        frame = frames[spec.name]
        listed = frame[frame["status"] == ON_OFFER[spec.name]]
        out += [
            Drawn(kind, g, (str(i), "园区 Park"))
            for g, i in zip(listed.geometry, listed[spec.id_field], strict=True)
        ]
    return out


def _readiness_drawn(frames: dict[str, gpd.GeoDataFrame]) -> list[Drawn]:
    parcels = frames[PARCELS.name]
    return _context_drawn(frames) + [
        Drawn("parcel", g, (str(i),))
        for g, i in zip(parcels.geometry, parcels["parcel_id"], strict=True)
    ]


def _click_every_kind(v: Visit, drawn: list[Drawn]) -> dict[str, str]:
    """Click each kind drawn: every kind but infrastructure must be in the window, and
    of infrastructure (often outside the sites' view) at least substations or interchanges."""
    texts = click_each_kind(v, drawn)
    infra = set(INFRA_KINDS)
    assert set(texts) >= {d.kind for d in drawn} - infra, sorted(texts)
    if infra & {d.kind for d in drawn}:
        assert set(texts) & {"substation", "interchange"}, sorted(texts)
    return texts


def _says(site: RankedSite) -> tuple[str, ...]:
    return (f"#{site.rank} {site.ids[0]}", "得分 score")


def _preselect_drawn(result: MatchResult, zone: Zone, *, labelled: int = 10) -> list[Drawn]:
    """What the pre-selection map draws, bottom to top: context, near misses, sites,
    outlines of assembled groups, lines to substations and interchanges, infrastructure."""
    infra = zone.infrastructure.set_index("infra_id")
    lines = [
        Drawn(
            f"{c.utility} line",
            shapely.shortest_line(site.geometry, infra.geometry[c.source_id]),
            (f"#{site.rank} → {c.source}", "距离 distance"),
        )
        for site in result.sites[:labelled]
        for c in site.connections
        if c.utility in ("power", "highway") and c.source_id in infra.index
    ]
    return [
        *_context_drawn({PARKS.name: zone.parks, ROADS.name: zone.roads}),
        *(
            Drawn("near miss", n.geometry, (f"near miss: {', '.join(n.ids)}", n.failed.detail))
            for n in result.near_misses
        ),
        *(
            Drawn("group" if s.kind == "group" else "site", s.geometry, _says(s))
            for s in result.sites
        ),
        *(Drawn("outline", outline(s, zone), _says(s)) for s in result.sites if s.kind == "group"),
        *lines,
        *(
            Drawn(k, g, (str(n), INFRA_KINDS[k][0]))
            for g, k, n in zip(infra.geometry, infra["kind"], infra["name"], strict=True)
        ),
    ]


def test_served_maps_work_offline(
    browser: Browser, store: Store, settings: Settings, hostile_zone: dict[str, gpd.GeoDataFrame]
) -> None:
    for name, frame in hostile_zone.items():
        store.features.write(LAYERS[name], frame, actor=TESTER)
    key = auth.create_key(store, name="招商部 测试", role="planner", actor=TESTER)[1]
    counts = _counts(hostile_zone)
    frames = _frames(store)
    zone = ZoneCache(store).get()
    app = create_app(settings)
    with serve(app) as base:
        pages = [
            ("investor", "investor", {}, counts["investor"], _investor_drawn(frames)),
            ("readiness", "readiness", {"X-API-Key": key}, counts["readiness"],
             _readiness_drawn(frames)),
            *((f"preselect-{example}", f"preselect?example={example}", {"X-API-Key": key}, None,
               _preselect_drawn(_match(example, zone), zone)) for example in PRESELECT),
        ]  # fmt: skip
        for name, path, headers, expected, drawn in pages:
            url = f"{base}/maps/{path}"
            with visit(browser, url, headers=headers) as v:
                response = v.page.request.get(url, headers=headers)
                assert "script-src 'self' 'sha256-" in response.headers["content-security-policy"]
                html = response.text()
                if expected is None:  # pre-selection: sites, misses, lines, infrastructure
                    expected = v.page.evaluate("window.geoServiceFeatureCount()")
                    assert expected > counts["readiness"] - len(hostile_zone["parcels"])
                _assert_clean(v, expected, html)
                if not name.startswith("preselect"):  # served pages fetch sites' popups
                    context = len(hostile_zone["parks"]) + len(hostile_zone["roads"])
                    assert html.count('"_popup"') == context
                texts = _click_every_kind(v, drawn)
                assert SENTINEL not in "".join(texts.values())
                assert v.console_errors == [] and v.dialogs == []
                _shots(name, v)
        public = browser.new_context().request
        assert public.get(f"{base}/maps/readiness").status == 401
        assert public.get(f"{base}/maps/popup/readiness/parcels/1").status == 401
        fids = store.features.read(LAYERS["parcels"]).reset_index()
        taken = int(fids.loc[fids["status"] != "available", "fid"].iloc[0])
        assert public.get(f"{base}/maps/popup/investor/parcels/{taken}").status == 404
        listed = int(fids.loc[fids["status"] == "available", "fid"].iloc[0])
        fragment = public.get(f"{base}/maps/popup/investor/parcels/{listed}").text()
        assert SENTINEL not in fragment and "<table>" in fragment


def test_large_zones_are_drawn_from_vector_tiles(
    browser: Browser, store: Store, settings: Settings, hostile_zone: dict[str, gpd.GeoDataFrame]
) -> None:
    """Above the threshold the served maps hold no sites: Chromium fetches the tiles, decodes
    them, draws every site, opens a popup on click and filters by park."""
    for name, frame in hostile_zone.items():
        store.features.write(LAYERS[name], frame, actor=TESTER)
    key = auth.create_key(store, name="规划 测试", role="planner", actor=TESTER)[1]
    counts = _counts(hostile_zone)
    parcels, factories = hostile_zone["parcels"], hostile_zone["factories"]
    listed = parcels[parcels["status"] == "available"]
    park = str(parcels["park_id"].mode()[0])
    pages = [
        ("investor", {}, counts["investor"], listed,
         int((listed["park_id"] == park).sum())
         + int(((factories["status"] == "idle") & (factories["park_id"] == park)).sum())),
        ("readiness", {"X-API-Key": key}, counts["readiness"], parcels,
         int((parcels["park_id"] == park).sum())),
    ]  # fmt: skip
    context = len(hostile_zone["parks"]) + len(hostile_zone["roads"])
    with serve(create_app(settings.model_copy(update={"map_tile_threshold": 0}))) as base:
        for name, headers, expected, sites, in_park in pages:
            url = f"{base}/maps/{name}"
            with visit(browser, url, headers=headers) as v:
                html = v.page.request.get(url, headers=headers).text()
                assert "/tiles/parcels/{z}/{x}/{y}.pbf" in html and "_fid" not in html
                assert SENTINEL not in html
                wait_until(v.page, f"window.geoServiceFeatureCount() === {expected}")
                _assert_clean(v, expected, html)
                _shots(f"{name}-tiles", v)
                _decoder_agrees_with_mapbox_vector_tile(v, base, sites)
                # The sites are drawn above the parks: a click on a site opens the site.
                site_ids = sites[PARCELS.id_field].astype(str)
                texts = _click_every_kind(
                    v,
                    [
                        *_context_drawn(hostile_zone),
                        *(
                            Drawn("site", g, (i, "园区"))
                            for g, i in zip(sites.geometry, site_ids, strict=True)
                        ),
                    ],
                )
                assert SENTINEL not in "".join(texts.values())
                v.page.select_option('[data-f="park"]', park)
                wait_until(v.page, f"window.geoServiceFeatureCount() === {context + in_park}")
                assert v.console_errors == [] and v.dialogs == []


def _decoder_agrees_with_mapbox_vector_tile(v: Visit, base: str, sites: gpd.GeoDataFrame) -> None:
    """The page's decoder reads a tile as the reference Python decoder does: ids, values,
    vertices."""
    import mapbox_vector_tile

    centre = sites.geometry.union_all().centroid
    x, y = _tile_of(centre.x, centre.y, 14)
    url = f"{base}/tiles/parcels/14/{x}/{y}.pbf"
    ours = v.page.evaluate(
        "async url => { const r = await fetch(url, {credentials: 'same-origin'});"
        " const t = geoServiceDecodeTile(await r.arrayBuffer(), 'parcels');"
        " return t.features.map(f => [f.id, f.properties, f.rings]); }",
        url,
    )
    data = v.page.request.get(url).body()
    reference = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    expected = [
        [f["id"], f["properties"], [_flat(ring) for ring in _rings(f["geometry"])]]
        for f in reference["parcels"]["features"]
    ]
    assert len(ours) > 10
    assert ours == expected


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    return [ring[:-1] for polygon in polygons for ring in polygon]  # MVT leaves rings open


def _flat(ring: list[list[float]]) -> list[float]:
    return [c for point in ring for c in point]


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_standalone_and_exported_files_work_offline(
    browser: Browser, hostile_zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    zone = build_zone(hostile_zone)
    request = load_request(EXAMPLES / "jinko_like_base.json")
    result = match(request.model_copy(update={"name": PAYLOADS[2] + PAYLOADS[0]}), zone)
    assert any(site.kind == "group" for site in result.sites)
    counts = _counts(hostile_zone)
    maps = {
        "investor": (investor_map(hostile_zone), counts["investor"]),
        "readiness": (readiness_map(hostile_zone), counts["readiness"]),
        "preselect": (preselect_map(result, zone), None),
    }
    drawn = {
        "investor": _investor_drawn(hostile_zone),
        "readiness": _readiness_drawn(hostile_zone),
        "preselect": _preselect_drawn(result, zone),
    }
    for name, (m, expected) in maps.items():
        html, _ = render(m, standalone=True, basemap=Basemap())
        path = tmp_path / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        with visit(browser, path.as_uri()) as v:
            _assert_clean(v, expected or v.features(), html)
            _click_every_kind(v, drawn[name])
            assert v.console_errors == [] and v.dialogs == []
            _shots(f"{name}-standalone", v)


def test_exported_files_with_assets_beside_them_work(
    browser: Browser,
    store: Store,
    store_url: str,
    tmp_path: Path,
    hostile_zone: dict[str, gpd.GeoDataFrame],
) -> None:
    """Maps written by the CLI (popups in the page): every kind drawn opens on a click."""
    import subprocess
    import sys

    for name, frame in hostile_zone.items():
        store.features.write(LAYERS[name], frame, actor=TESTER)
    frames = _frames(store)
    zone = ZoneCache(store).get()
    counts = _counts(hostile_zone)
    example = PRESELECT[0]
    maps = [
        ("readiness", [], counts["readiness"], _readiness_drawn(frames)),
        ("investor", [], counts["investor"], _investor_drawn(frames)),
        ("preselect", [str(EXAMPLES / f"{example}.json")], None,
         _preselect_drawn(_match(example, zone), zone)),
    ]  # fmt: skip
    for name, args, expected, drawn in maps:
        output = tmp_path / "out" / f"{name}.html"
        command = ["map", name, *args, "-o", str(output), "--db", store_url]
        subprocess.run(
            [sys.executable, "-m", "geo_service", *command],
            check=True,
            capture_output=True,
            timeout=120,
        )
        assert (output.parent / "static" / "leaflet" / "leaflet.js").is_file()
        with visit(browser, output.as_uri()) as v:
            _assert_clean(v, expected or v.features(), output.read_text(encoding="utf-8"))
            _click_every_kind(v, drawn)
            assert v.console_errors == [] and v.dialogs == []


def test_investor_page_source_has_no_internal_data(
    store: Store, settings: Settings, hostile_zone: dict[str, gpd.GeoDataFrame]
) -> None:
    from fastapi.testclient import TestClient

    for name, frame in hostile_zone.items():
        store.features.write(LAYERS[name], frame, actor=TESTER)
    with TestClient(create_app(settings)) as client:
        served = client.get("/maps/investor").text
    standalone, _ = render(investor_map(hostile_zone), standalone=True, basemap=Basemap())
    internal = {f.name for spec in LAYERS.values() for f in spec.fields if not f.public}
    public = {f.name for spec in LAYERS.values() for f in spec.fields if f.public}
    for html in (served, standalone):
        assert SENTINEL not in html
        for column in internal - public:
            assert f'"{column}"' not in html
        assert "合成演示数据" not in html  # internal notes of the demo data


def test_gaode_basemap_shifts_overlays_and_reports_blocked_tiles(
    browser: Browser, hostile_zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    from maps.gcj02 import wgs84_to_gcj02

    plain, _ = render(readiness_map(hostile_zone), standalone=True, basemap=Basemap())
    gaode = Basemap(kind="gaode")
    shifted, csp = render(
        readiness_map(hostile_zone, basemap=gaode), standalone=True, basemap=gaode
    )
    assert "https://*.is.autonavi.com" in csp
    path = tmp_path / "gaode.html"
    path.write_text(shifted, encoding="utf-8")
    with visit(browser, path.as_uri()) as v:
        # Offline, every Gaode tile is blocked: the page says so, and still draws the data.
        assert v.blocked and all("autonavi.com" in url for url in v.blocked)
        v.page.wait_for_selector(".gs-message", timeout=10_000)
        assert "rate-limited" in v.page.inner_text(".gs-message")
        first = v.page.evaluate(
            "(() => { var f = null; window.L && Object.values(window).forEach(function (o) {"
            " if (!f && o && o._gsAll && o._gsAll.length && o._gsAll[0].geometry.type === "
            "'Polygon' && o._gsFilterable) { f = o._gsAll[0].geometry.coordinates[0][0]; } });"
            " return f; })()"
        )
    parcel = hostile_zone["parcels"].geometry.iloc[0]
    lon, lat = parcel.exterior.coords[0]
    expected = wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    assert first == pytest.approx([expected[0][0], expected[1][0]], abs=2e-6)
    assert plain != shifted


def test_tianditu_without_a_key_says_so(hostile_zone: dict[str, gpd.GeoDataFrame]) -> None:
    html, _ = render(
        readiness_map(hostile_zone, basemap=Basemap(kind="tianditu")),
        standalone=True,
        basemap=Basemap(kind="tianditu"),
    )
    assert "Tianditu key not set" in html and "tianditu.gov.cn/vec_w" not in html


def test_render_refuses_a_page_with_a_script_it_did_not_write(
    hostile_zone: dict[str, gpd.GeoDataFrame],
) -> None:
    from branca.element import Element

    m = readiness_map(hostile_zone)
    m.get_root().html.add_child(Element("<script>alert('injected')</script>"))
    with pytest.raises(ValueError, match="did not write"):
        render(m, standalone=False, basemap=Basemap())
