"""A real headless Chromium (Debian's, driven by Playwright) with the network cut off.

Every request that is not to this machine (loopback, ``file:``, ``data:``) is aborted and
counted; console errors, page errors and dialogs are recorded.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

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
) -> Iterator[Visit]:
    """Open ``url`` with the network cut off; wait until ``ready`` is true in the page
    (by default: the map has drawn; ``None`` for a page without script)."""
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, extra_http_headers=headers or {}
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
        page.goto(url, wait_until="load")
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
