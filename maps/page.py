"""The page around a map: its offline assets, and its rendering with a Content-Security-Policy.

Pages load only Leaflet (from the ``xstatic-leaflet`` package) and this package's own
``maps.js``/``maps.css`` — served under ``/static`` by the service, or inlined into a
single ``--standalone`` file, which then also embeds its data (a ``file://`` page cannot
fetch). folium's CDN defaults (jQuery, Bootstrap, awesome-markers, Font Awesome) are
dropped: nothing here needs them.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import folium
import xstatic.pkg.leaflet

from maps.basemap import Basemap

STATIC = Path(__file__).with_name("static")
LEAFLET = Path(xstatic.pkg.leaflet.BASE_DIR)
ASSETS: dict[str, Path] = {
    "leaflet/leaflet.js": LEAFLET / "leaflet.js",
    "leaflet/leaflet.css": LEAFLET / "leaflet.css",
    **{f"leaflet/images/{p.name}": p for p in (LEAFLET / "images").glob("*.png")},
    "geo-service/maps.js": STATIC / "maps.js",
    "geo-service/maps.css": STATIC / "maps.css",
}
"""Every file a map page loads, by its path under ``/static``."""
JS = ("leaflet/leaflet.js", "geo-service/maps.js")
CSS = ("leaflet/leaflet.css", "geo-service/maps.css")


_META = '<meta http-equiv="Content-Security-Policy" content="'
# Inline scripts that run (data blocks of type application/json do not, and need no hash).
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src|type)=)[^>]*>(.*?)</script>", re.S)


def render(
    m: folium.Map, *, standalone: bool, basemap: Basemap, prefix: str = "/static"
) -> tuple[str, str]:
    """The page's HTML and its Content-Security-Policy.

    Served pages load assets from ``prefix``; standalone pages carry them inline. Every
    inline script is allowed by its SHA-256 only, so injected markup cannot run script;
    the policy is also put in a ``<meta>`` tag so a standalone file is protected too.
    """
    html = m.get_root().render()
    for name in JS:
        tag = f'<script src="{name}"></script>'
        replacement = (
            f"<script>{_read(name)}</script>"
            if standalone
            else f'<script src="{prefix}/{name}"></script>'
        )
        html = html.replace(tag, replacement)
    for name in CSS:
        tag = f'<link rel="stylesheet" href="{name}"/>'
        replacement = (
            f"<style>{_inline_css(name)}</style>"
            if standalone
            else f'<link rel="stylesheet" href="{prefix}/{name}"/>'
        )
        html = html.replace(tag, replacement)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _own_scripts(html, standalone)
    )
    images = " ".join(("'self'", "data:", *basemap.hosts))
    policy = (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; font-src 'self'; connect-src 'self'; base-uri 'none'; "
        "form-action 'none'"
    )
    # frame-ancestors works only as a header; browsers report it as an error in a <meta>.
    html = html.replace("<head>", f'<head>\n    {_META}{policy}">', 1)
    return html, header_policy(html)


def header_policy(html: str) -> str:
    """The Content-Security-Policy header for a page :func:`render` produced (read back
    from its ``<meta>``, so a cached page needs no second rendering)."""
    start = html.index(_META) + len(_META)
    return html[start : html.index('">', start)] + "; frame-ancestors 'none'"


def _own_scripts(html: str, standalone: bool) -> list[str]:
    """The inline scripts this module produced, and only those: folium's setup script, the
    map script and (standalone) our inlined assets. Anything else would be injected
    markup; rather than allow it by its hash, refuse to render the page."""
    assets = {_read(name) for name in JS} if standalone else set()
    scripts = _INLINE_SCRIPT.findall(html)
    foreign = [
        s for s in scripts if s not in assets and "L_NO_TOUCH" not in s and "L.map(" not in s
    ]
    if foreign or sum("L.map(" in s for s in scripts) != 1:
        raise ValueError(
            "the page holds a script this module did not write; refusing to "
            "render it (is some value not escaped?)"
        )
    return scripts


def _read(name: str) -> str:
    return ASSETS[name].read_text(encoding="utf-8")


def _inline_css(name: str) -> str:
    css = _read(name)
    folder = name.rsplit("/", 1)[0]

    def data_uri(match: re.Match[str]) -> str:
        path = ASSETS.get(f"{folder}/{match.group(1)}")
        if path is None:
            return match.group(0)
        return f"url(data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()})"

    return re.sub(r"url\((images/[^)]+)\)", data_uri, css)
