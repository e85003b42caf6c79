"""A real headless Chromium (Debian's, driven by Playwright) with the network cut off.

Every request that is not to this machine (loopback, ``file:``, ``data:``) is aborted and
counted; console errors, page errors and dialogs are recorded.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import shapely
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, Route

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
MAP_DRAWN = (
    "window.L !== undefined && window.geoServiceFeatureCount !== undefined "
    "&& window.geoServiceFeatureCount() > 0"
)
POPUP_READY = (
    "!!document.querySelector('.leaflet-popup-content') && "
    "document.querySelector('.leaflet-popup-content').textContent !== '…'"
)
"""A popup is open and holds its text (a fetched popup shows '…' until it arrives)."""
MAP = "Object.values(window).find(o => o instanceof L.Map)"
PICK_PX = 14
"""How far from a feature a click may still land on it: Leaflet's canvas tolerance
(4 px), a point's radius (7 px) and half the widest stroke."""


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError("Chromium is not installed: run scripts/test.sh, which installs it")
    return path


@dataclass
class Visit:
    page: Page
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def features(self) -> int:
        return int(self.page.evaluate("window.geoServiceFeatureCount()"))


@contextmanager
def visit(
    browser: Browser,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    viewport: tuple[int, int] = (1400, 900),
    ready: str | None = MAP_DRAWN,
    loaded: bool = True,
    touch: bool = False,
) -> Iterator[Visit]:
    """Open ``url`` with the network cut off; wait until ``ready`` is true in the page
    (by default: the map has drawn; ``None`` for a page without script), after the
    page's load event unless ``loaded`` is false (a person acts once they see the map).
    ``touch``: a touch screen, as a phone's (``locator.tap()``)."""
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]},
        extra_http_headers=headers or {},
        has_touch=touch,
    )
    page = context.new_page()
    result = Visit(page)

    def route(r: Route) -> None:
        parts = urlsplit(r.request.url)
        if parts.scheme in ("file", "data", "blob") or parts.hostname in LOCAL_HOSTS:
            r.continue_()
        else:
            result.blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page.on(
        "console", lambda m: result.console_errors.append(m.text) if m.type == "error" else None
    )
    page.on("pageerror", lambda e: result.console_errors.append(str(e)))

    def dialog(d: object) -> None:
        result.dialogs.append(getattr(d, "message", ""))
        d.dismiss()  # type: ignore[attr-defined]

    page.on("dialog", dialog)
    try:
        page.goto(url, wait_until="load" if loaded else "commit")
        if ready is not None:
            wait_until(page, ready)
        yield result
    finally:
        context.close()


def wait_until(page: Page, expression: str, *, timeout_s: float = 20.0) -> None:
    """Poll ``expression`` in the page until it is truthy.

    Playwright's ``wait_for_function`` polls with ``eval``, which our pages' CSP forbids (as
    it should); ``evaluate`` goes through the DevTools protocol instead.
    """
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true after {timeout_s} s: {expression}")
        page.wait_for_timeout(50)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` on a loopback port in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def screenshot(v: Visit, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    v.page.wait_for_timeout(300)  # let the canvas settle
    v.page.screenshot(path=str(path))


@dataclass(frozen=True)
class Drawn:
    """A feature as a map draws it (EPSG:4490, listed in drawing order: the last on top),
    its kind, and the texts its popup must show."""

    kind: str
    geometry: shapely.Geometry
    says: tuple[str, ...]


def click_each_kind(v: Visit, drawn: Sequence[Drawn]) -> dict[str, str]:
    """Click, as a person would, one feature of each kind at a pixel where it is drawn on
    top in the window; assert its popup shows what it ``says``; return the popup text of
    each kind clicked (a kind drawn only outside the window, or only under other
    features, is not: the caller says which kinds it expects).

    The pixel is found from the feature's geometry and the map's projection; the click is
    ``page.mouse.click`` there, and the popup is closed with the Escape key. A popup
    pans the map to fit: the view is put back before the next click (and, for vector
    tiles, the tiles drawn again), so each click starts from the view the page opened with.
    """
    # Leaflet drops a click made during a zoom animation: start from a still map.
    wait_until(v.page, f"!{MAP}._animatingZoom")
    view = v.page.evaluate(f"(m => [m.getCenter().lat, m.getCenter().lng, m.getZoom()])({MAP})")
    clear_deg = PICK_PX * 360 / (256 * 2 ** view[2])
    drawn_count = v.features()
    tree = shapely.STRtree([d.geometry for d in drawn])
    texts = {}
    for kind in dict.fromkeys(d.kind for d in drawn):
        text = _click_kind(v, drawn, tree, kind, clear_deg)
        if text is None:
            continue
        texts[kind] = text
        v.page.evaluate(f"v => void {MAP}.setView([v[0], v[1]], v[2], {{animate: false}})", view)
        wait_until(v.page, f"window.geoServiceFeatureCount() === {drawn_count}")
    return texts


def _click_kind(
    v: Visit, drawn: Sequence[Drawn], tree: shapely.STRtree, kind: str, clear_deg: float
) -> str | None:
    for i, d in enumerate(drawn):
        if d.kind != kind:
            continue
        point = _uncovered_point(drawn, tree, i, clear_deg)
        xy = None if point is None else _pixel(v, point)
        if xy is None:
            continue
        v.page.mouse.click(*xy)
        try:
            wait_until(v.page, POPUP_READY, timeout_s=5)
        except TimeoutError:
            raise AssertionError(f"a click on a {kind} at {xy} opened nothing") from None
        text = str(v.page.inner_text(".leaflet-popup-content"))
        assert all(s in text for s in d.says), (kind, d.says, text)
        v.page.wait_for_timeout(400)  # the map pans to show the popup
        v.page.keyboard.press("Escape")  # the close button may lie under a control
        wait_until(v.page, "!document.querySelector('.leaflet-popup')")
        return text
    return None


def _uncovered_point(
    drawn: Sequence[Drawn], tree: shapely.STRtree, i: int, clear_deg: float
) -> shapely.Point | None:
    """A point of feature ``i`` at least ``clear_deg`` from every feature drawn above it
    with another popup (well inside it, for a polygon), or None."""
    d = drawn[i]
    above = [
        drawn[j].geometry
        for j in tree.query(d.geometry, predicate="dwithin", distance=clear_deg)
        if j > i and drawn[j].says != d.says
    ]
    region = d.geometry
    if above:
        region = region.difference(shapely.union_all(above).buffer(clear_deg))
    parts = shapely.get_parts(region)
    if d.geometry.geom_type.endswith("Polygon"):
        parts = shapely.get_parts(shapely.buffer(parts, -clear_deg / 3))
        sizes = shapely.area(parts)
    elif d.geometry.geom_type.endswith("LineString"):
        sizes = shapely.length(parts) - clear_deg
    else:
        sizes = np.ones(len(parts))
    if not len(parts) or sizes.max() <= 0:
        return None
    best = parts[int(np.argmax(sizes))]
    if best.geom_type == "LineString":
        return shapely.line_interpolate_point(best, 0.5, normalized=True)
    point: shapely.Point = shapely.point_on_surface(best)
    return point


def _pixel(v: Visit, point: shapely.Point) -> tuple[float, float] | None:
    """Where ``point`` is drawn in the window, if a click there reaches the map (inside
    it, not on a control)."""
    xy = v.page.evaluate(
        "p => { const map = " + MAP + ";"
        " const c = map.latLngToContainerPoint([p[1], p[0]]);"
        " const r = map.getContainer().getBoundingClientRect();"
        " const x = r.left + c.x, y = r.top + c.y;"
        " if (x < r.left + 8 || y < r.top + 8 || x > r.right - 8 || y > r.bottom - 8)"
        " { return null; }"
        " const el = document.elementFromPoint(x, y);"
        " return el && el.closest('.leaflet-map-pane') ? [x, y] : null; }",
        [point.x, point.y],
    )
    return None if xy is None else (float(xy[0]), float(xy[1]))


def visible_pixel(page: Page, cls: str) -> tuple[float, float]:
    """A pixel where a person sees the feature classed ``cls`` (on top, not hidden under
    another): looked up, not clicked, in the page."""
    box = page.locator(f"path.{cls}").first.bounding_box()
    assert box is not None, cls
    for i in range(1, 10):
        for j in range(1, 10):
            x, y = box["x"] + box["width"] * i / 10, box["y"] + box["height"] * j / 10
            if page.evaluate(f"document.elementFromPoint({x}, {y})?.classList.contains('{cls}')"):
                return x, y
    raise AssertionError(f"{cls} is drawn nowhere a person could click it")


def sign_in(page: Page, key: str) -> None:
    """Sign in on the sign-in page shown, as a person does: type the key, press the
    button; returns once the browser has left the sign-in page."""
    page.get_by_label("API 密钥").fill(key)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)
