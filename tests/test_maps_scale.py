"""Maps of a zone too large to embed, as a person uses them in Chromium (network cut off):
a zoom made the moment the map appears is kept and its sites drawn."""

from __future__ import annotations

import io
from collections.abc import Callable

import geopandas as gpd
import shapely
from PIL import Image
from playwright.sync_api import Browser

from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import FACTORIES, ON_OFFER, PARCELS, PARKS, ROADS
from layers.tiling import DETAIL_ZOOM, MIN_ZOOM
from tests.browser import (
    MAP,
    MAP_DRAWN,
    POPUP_READY,
    Drawn,
    Visit,
    click_each_kind,
    serve,
    visit,
    wait_until,
)

VISITS = 16
"""Visits per way of zooming: the old page lost a zoom in about half of them."""
SITES = (
    "Object.values(window).filter(o => o && o._gsCount && o.options.gs.layer !== 'roads')"
    ".reduce((n, layer) => n + layer._gsCount(), 0)"
)
"""Sites drawn from vector tiles in the view."""


def _zoom_in_button(browser: Browser, url: str) -> tuple[int, tuple[float, float]]:
    """The zoom the page opens at, once it is still, and the middle of its + button."""
    with visit(browser, url) as v:
        wait_until(v.page, f"!{MAP}._animatingZoom")
        v.page.wait_for_timeout(500)
        box = v.page.locator(".leaflet-control-zoom-in").bounding_box()
        assert box is not None
        opened = int(v.page.evaluate(f"{MAP}.getZoom()"))
        return opened, (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_a_zoom_right_after_the_map_appears_is_kept(browser: Browser, tiled: Settings) -> None:
    """A person presses + the moment the map appears. The map must end one zoom level in,
    with the sites drawn. The page used to animate to its data after loading, and Leaflet
    drops a zoom asked for during an animation: the map stayed where it opened, no sites."""
    with serve(create_app(tiled)) as base:
        url = f"{base}/maps/investor"
        opened, (x, y) = _zoom_in_button(browser, url)
        lost = []
        for _ in range(VISITS):
            with visit(browser, url, ready=None, loaded=False) as v:
                while not v.page.evaluate(MAP_DRAWN):  # as soon as it is drawn, not 50 ms on
                    pass
                v.page.mouse.click(x, y)
                v.page.wait_for_timeout(1000)
                wait_until(v.page, f"!{MAP}._animatingZoom")
                zoom = v.page.evaluate(f"{MAP}.getZoom()")
                if zoom != opened + 1:
                    lost.append(zoom)
                    continue
                wait_until(v.page, f"{SITES} > 0")
                assert v.console_errors == [] and v.blocked == []
        assert lost == [], f"the zoom to {opened + 1} was lost in {len(lost)} of {VISITS} visits"


def test_zooming_out_below_the_tiles_says_to_zoom_in(browser: Browser, tiled: Settings) -> None:
    """Sites are drawn from zoom 12, counts of them from zoom 8; below it the map still
    zooms (a large zone opens whole) and says to zoom in. Leaflet would otherwise take the
    tiles' lowest zoom as the map's: a 100,000-parcel zone opened at zoom 12, and − stopped
    there."""
    with serve(create_app(tiled)) as base, visit(browser, f"{base}/maps/investor") as v:
        opened = _settled(v)
        hint = v.page.get_by_text("放大地图以显示地块与厂房")
        assert hint.count() == 0
        assert _press(v, "out", opened - DETAIL_ZOOM + 1) == DETAIL_ZOOM - 1
        assert hint.count() == 0 and v.page.evaluate(SITES) == 0  # counts, not sites
        assert _press(v, "out", DETAIL_ZOOM - 1 - MIN_ZOOM + 1) == MIN_ZOOM - 1
        assert hint.is_visible()
        assert v.page.locator(".gs-cell").count() == 0
        v.page.locator(".leaflet-control-zoom-in").click()
        wait_until(v.page, f"{MAP}.getZoom() === {MIN_ZOOM} && !{MAP}._animatingZoom")
        assert hint.count() == 0
        assert v.console_errors == [] and v.blocked == []


ROAD_GREYS = (
    """(points) => {
    const map = """
    + MAP
    + """, box = map.getContainer().getBoundingClientRect();
    const pills = Array.from(document.querySelectorAll('.gs-cell span, .leaflet-control'))
        .map(e => e.getBoundingClientRect());
    return points.map(p => {
        const c = map.latLngToContainerPoint([p[1], p[0]]);
        const x = box.left + c.x, y = box.top + c.y;
        const hidden = x < box.left + 8 || y < box.top + 8 || x > box.right - 8
            || y > box.bottom - 8
            || pills.some(r => x >= r.left - 3 && x <= r.right + 3 && y >= r.top - 3
                               && y <= r.bottom + 3);
        return hidden ? null : [Math.round(x), Math.round(y)];
    });
}"""
)
"""Where each road's middle is drawn in the window, unless under a label or a control."""


def _roads_drawn(v: Visit, roads: gpd.GeoDataFrame) -> int:
    """How many of the roads in view are drawn, as a person sees them: a grey stroke at
    the road's middle in a screenshot (the background, parks, parcels and squares of
    counts are not grey). Asserts that most roads in view are."""
    middles = shapely.line_interpolate_point(roads.geometry.values, 0.5, normalized=True)
    points = [[p.x, p.y] for p in middles]
    pixels = [xy for xy in v.page.evaluate(ROAD_GREYS, points) if xy is not None]
    shot = Image.open(io.BytesIO(v.page.screenshot())).convert("RGB")
    grey = 0
    for x, y in pixels:
        near = [shot.getpixel((x + dx, y + dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
        grey += any(max(c) - min(c) < 10 and max(c) < 212 for c in near)
    assert pixels and grey >= 0.8 * len(pixels), (grey, len(pixels))
    return grey


def _press(v: Visit, button: str, times: int) -> int:
    for _ in range(times):
        v.page.locator(f".leaflet-control-zoom-{button}").click()
        v.page.wait_for_timeout(400)  # one press per zoom animation, as a person
    return _settled(v)


def _settled(v: Visit) -> int:
    """The zoom once the map is still and its tiles loaded (the level left behind pruned)."""
    wait_until(v.page, f"!{MAP}._animatingZoom")
    v.page.wait_for_timeout(300)
    wait_until(v.page, TILES_LOADED)
    v.page.wait_for_timeout(400)  # Leaflet prunes the level left behind 250 ms after load
    return int(v.page.evaluate(f"{MAP}.getZoom()"))


TILES_LOADED = (
    "Object.values(window).filter(o => o && o._gsCount && o._map)"
    ".every(layer => layer._tileZoom === undefined || !layer._loading)"
)
"""Every tile layer has drawn the view (or has no tiles at this zoom)."""


def test_roads_are_drawn_from_tiles_at_every_zoom(
    browser: Browser, tiled: Settings, demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]
) -> None:
    """On a tiled map the page carries no road: they come as tiles, like the sites, and
    are drawn at every zoom a person goes to (− buttons down to the squares of counts,
    the mouse wheel up to streets), and a click on one opens its popup."""
    roads = demo_zone()[ROADS.name]
    with serve(create_app(tiled)) as base, visit(browser, f"{base}/maps/investor") as v:
        html = v.page.request.get(f"{base}/maps/investor").text()
        assert "/tiles/roads/{z}/{x}/{y}.pbf" in html
        assert not any(name in html for name in roads["name"].dropna())
        opened = _settled(v)
        assert v.page.evaluate(ROADS_DRAWN) == len(roads)
        _roads_drawn(v, roads)
        assert _press(v, "out", opened - (DETAIL_ZOOM - 1)) == DETAIL_ZOOM - 1
        assert v.page.locator(".gs-cell").count() > 0  # counts, and the roads under them
        _roads_drawn(v, roads)
        box = v.page.locator(".leaflet-container").bounding_box()
        assert box is not None
        v.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        while v.page.evaluate(f"{MAP}.getZoom()") < opened + 2:
            v.page.mouse.wheel(0, -120)
            v.page.wait_for_timeout(400)
        _settled(v)
        assert _roads_drawn(v, roads) >= 1
        texts = click_each_kind(
            v,
            [
                Drawn("road", g, (n if isinstance(n, str) and n else str(i),))
                for g, n, i in zip(
                    roads.geometry, roads["name"], roads[ROADS.id_field], strict=True
                )
            ],
        )
        assert "road id" in texts["road"]
        assert v.console_errors == [] and v.blocked == []


ROADS_DRAWN = (
    "Object.values(window).filter(o => o && o._gsCount && o.options.gs.layer === 'roads')"
    ".reduce((n, layer) => n + layer._gsCount(), 0)"
)
"""Roads drawn from vector tiles in the view."""


SQUARES = """sel => Array.from(document.querySelectorAll(sel)).map(e => {
    const r = e.getBoundingClientRect();
    return [e.innerText.replace(/\\s+/g, ' '), r.left + r.width / 2, r.top + r.height / 2,
            r.width];
})"""
"""Each square of counts a person sees: its text, where its middle is, how wide it is."""


def _squares(v: Visit, word: str) -> list[tuple[int, float, float, float]]:
    """The squares whose label ends in ``word``: their count, middle (x, y) and width."""
    out = []
    for text, x, y, width in v.page.evaluate(SQUARES, ".gs-cell"):
        count, _, label = text.partition(" ")
        if label.endswith(word):
            out.append((int(count.replace(",", "")), x, y, width))
    return out


def test_squares_of_counts_below_the_sites_zoom_in_when_clicked(
    browser: Browser, tiled: Settings, demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]
) -> None:
    """Zoomed out below the sites (− button), the map shows how many parcels and factories
    on offer lie in each square, in Chinese and English; together they count every one.
    A click on a square zooms into it, to its sites."""
    zone = demo_zone()
    listed = int((zone[PARCELS.name]["status"] == ON_OFFER[PARCELS.name]).sum())
    idle = int((zone[FACTORIES.name]["status"] == ON_OFFER[FACTORIES.name]).sum())
    with serve(create_app(tiled)) as base, visit(browser, f"{base}/maps/investor") as v:
        opened = _settled(v)
        assert v.page.locator(".gs-cell").count() == 0  # sites, not counts, where it opens
        assert _press(v, "out", opened - (DETAIL_ZOOM - 1)) == DETAIL_ZOOM - 1
        land, factories = _squares(v, "宗地 parcels"), _squares(v, "厂房 factories")
        assert sum(n for n, *_ in land) == listed and len(land) > 1
        assert sum(n for n, *_ in factories) == idle
        _, x, y, _ = max(land)
        target = v.page.evaluate(AT_PIXEL, [x, y])
        v.page.mouse.click(x, y)
        assert _settled(v) >= DETAIL_ZOOM
        # The square clicked fills the view: its middle is the map's middle.
        assert v.page.evaluate(FROM_CENTRE_PX, target) < 10
        wait_until(v.page, f"{SITES} > 0")
        assert v.page.locator(".gs-cell").count() == 0
        assert v.console_errors == [] and v.blocked == []


AT_PIXEL = (
    f"([x, y]) => {{ const m = {MAP}, r = m.getContainer().getBoundingClientRect();"
    " const p = m.containerPointToLatLng([x - r.left, y - r.top]); return [p.lat, p.lng]; }"
)
FROM_CENTRE_PX = (
    f"([lat, lng]) => {{ const m = {MAP}, a = m.latLngToContainerPoint([lat, lng]),"
    " c = m.latLngToContainerPoint(m.getCenter()); return Math.hypot(a.x - c.x, a.y - c.y); }"
)


def test_on_a_phone_the_layer_list_is_folded_away_from_a_popup(
    browser: Browser, tiled: Settings, demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]
) -> None:
    """At 390 px the layer list, the filter and the panels below the map start folded, and
    a parcel's popup opened by a tap is under no control, however near the top the parcel
    lies. A tap on the button opens the list, a tap on a panel's title the panel."""
    parcels, parks = demo_zone()[PARCELS.name], demo_zone()[PARKS.name]
    listed = parcels[parcels["status"] == ON_OFFER[PARCELS.name]]
    with (
        serve(create_app(tiled)) as base,
        visit(browser, f"{base}/maps/investor", viewport=(390, 844), touch=True) as v,
    ):
        _settled(v)
        control = v.page.locator(".leaflet-control-layers")
        assert "leaflet-control-layers-expanded" not in (control.get_attribute("class") or "")
        assert not v.page.get_by_text("道路 Roads").is_visible()
        park = v.page.locator('.gs-filter [data-f="park"]')  # the filter: folded to its title
        filter_box = v.page.locator(".gs-filter").bounding_box()
        assert not park.is_visible() and filter_box is not None and filter_box["height"] < 40
        while v.page.evaluate(SITES) == 0:  # squares of counts: tap one to zoom in
            _, x, y, _ = max(_squares(v, "宗地 parcels"))
            v.page.mouse.click(x, y)
            _settled(v)
        inside = shapely.point_on_surface(listed.geometry.values)
        pixels = v.page.evaluate(ROAD_GREYS, [[p.x, p.y] for p in inside])
        # A parcel near the top: its popup opens above it, and the map pans to show it.
        x, y = min((xy for xy in pixels if xy is not None), key=lambda xy: xy[1])
        v.page.mouse.click(x, y)
        wait_until(v.page, POPUP_READY)
        v.page.wait_for_timeout(800)  # the map pans to show the popup
        popup = v.page.locator(".leaflet-popup-content-wrapper").bounding_box()
        button = control.bounding_box()
        assert popup is not None and button is not None
        assert button["width"] < 60, "the layer list is open over the map"
        for over in v.page.locator(".leaflet-control").all():
            box = over.bounding_box()
            assert box is not None
            apart = (
                box["x"] + box["width"] <= popup["x"]
                or popup["x"] + popup["width"] <= box["x"]
                or box["y"] + box["height"] <= popup["y"]
                or popup["y"] + popup["height"] <= box["y"]
            )
            assert apart, (over.get_attribute("class"), box, popup)
        v.page.locator(".leaflet-control-layers-toggle").tap()
        v.page.wait_for_timeout(300)  # as long as a person takes to look
        assert v.page.get_by_text("道路 Roads").is_visible()
        # The service desk's list of parks, a third of the screen, is folded to its title.
        tel = v.page.get_by_text(str(parks["desk_tel"].iloc[0]))
        assert not tel.is_visible()
        v.page.get_by_text("招商服务 Investment service desk").tap()
        assert tel.is_visible()
        v.page.get_by_text("筛选 Filter").tap()
        assert park.is_visible()
        assert v.console_errors == [] and v.blocked == []


def test_the_first_page_a_browser_opens_has_no_console_error(
    browser: Browser, tiled: Settings
) -> None:
    """A browser asks for /favicon.ico on the first page it opens: the service answers
    with its icon, not a 404 reported in the console."""
    with serve(create_app(tiled)) as base, visit(browser, f"{base}/maps/investor") as v:
        _settled(v)
        v.page.wait_for_timeout(1000)  # the icon is asked for after the page's load
        assert v.console_errors == [] and v.blocked == []
        icon = v.page.request.get(f"{base}/favicon.ico")
        assert icon.status == 200 and icon.headers["content-type"].startswith("image/")
        assert Image.open(io.BytesIO(icon.body())).size >= (16, 16)
