"""What every map shares: offline assets, the basemap, context layers, rendering with a CSP.

Pages load only Leaflet (from the ``xstatic-leaflet`` package) and this package's own
``maps.js``/``maps.css`` — served under ``/static`` by the service, or inlined into a
single ``--standalone`` file, which then also embeds its data (a ``file://`` page cannot
fetch). folium's CDN defaults (jQuery, Bootstrap, awesome-markers, Font Awesome) are
dropped: nothing here needs them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
import xstatic.pkg.leaflet
from branca.element import Element, MacroElement
from jinja2 import Template

from maps.gcj02 import shift_geometries
from maps.html import escape

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
_JS = ("leaflet/leaflet.js", "geo-service/maps.js")
_CSS = ("leaflet/leaflet.css", "geo-service/maps.css")
Popups = Literal["embed", "fetch"]
"""Popups in the page, or fetched from the service when opened (served pages only)."""
TILES_MIN_ZOOM = 12
"""Vector-tile layers draw from this zoom on (a tile about 10 km across)."""
PRECISION_DEG = 1e-6
"""Coordinates are rounded to 1e-6° (≈10 cm) for display: a third less page weight."""

TIANDITU = "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk="
GAODE = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"


@dataclass(frozen=True)
class Basemap:
    """The background of every map, chosen in settings.

    ``none`` (the default) draws the zone's parks and roads as vector context; ``local``
    uses a raster tile folder (``tiles_url``, e.g. ``/basemap/{z}/{x}/{y}.png`` when served);
    ``tianditu`` needs ``tianditu_key``; ``gaode`` is GCJ-02, so every overlay is shifted.
    """

    kind: Literal["none", "local", "tianditu", "gaode"] = "none"
    tiles_url: str | None = None
    tianditu_key: str | None = None

    @property
    def shifts(self) -> bool:
        return self.kind == "gaode"

    @property
    def hosts(self) -> tuple[str, ...]:
        """Hosts the page's images come from, for the CSP."""
        if self.kind == "tianditu":
            return ("https://*.tianditu.gov.cn",)
        if self.kind == "gaode":
            return ("https://*.is.autonavi.com",)
        return ()


def latlng(lon: float, lat: float) -> tuple[float, float]:
    """folium takes (lat, lon); shapely and GeoJSON take (lon, lat). Convert only here."""
    return (float(lat), float(lon))


def display_geometries(
    geometries: npt.NDArray[np.object_], basemap: Basemap
) -> npt.NDArray[np.object_]:
    """Geometries as drawn: rounded to :data:`PRECISION_DEG`, shifted for a GCJ-02 basemap."""
    shown = shift_geometries(geometries) if basemap.shifts else geometries
    return np.asarray(shapely.set_precision(shown, PRECISION_DEG, mode="pointwise"))


def feature_collection(
    geometries: npt.NDArray[np.object_], properties: list[dict[str, Any]], basemap: Basemap
) -> str:
    """GeoJSON text for ``geometries`` (EPSG:4490) with ``properties`` (already escaped).

    Serialised with ``shapely.to_geojson`` in one call; ``</`` is written as ``<\\/`` so
    the text can sit inside a ``<script>`` block whatever it contains.
    """
    shapes = shapely.to_geojson(display_geometries(geometries, basemap))
    parts = [
        f'{{"type":"Feature","geometry":{shape},"properties":'
        f"{json.dumps(props, ensure_ascii=False, allow_nan=False)}}}"
        for shape, props in zip(shapes, properties, strict=True)
    ]
    return ('{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}").replace(
        "</", "<\\/"
    )


class FeatureLayer(folium.map.Layer):
    """A GeoJSON layer drawn on canvas, styled by each feature's ``_cls``, with popups and
    labels taken from ``_popup``/``_label`` (built and escaped on the server)."""

    # The data sits in a JSON block (not executed) that the layer parses: V8 parses JSON text
    # far faster than the same data written as a JavaScript literal.
    _template = Template(
        """
        {% macro html(this, kwargs) %}
        <script type="application/json" id="{{ this.get_name() }}_data">{{ this.data }}</script>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = geoServiceLayer(JSON.parse(
            document.getElementById("{{ this.get_name() }}_data").textContent),
            {{ this.styles|tojson }}, {{ this.options|tojson }});
        {% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: str,
        styles: dict[str, dict[str, Any]],
        *,
        name: str,
        labels: bool = False,
        filterable: bool = False,
        show: bool = True,
        popup_url: str | None = None,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "FeatureLayer"
        self.data = data
        self.styles = styles
        self.options = {"labels": labels, "filterable": filterable, "popupUrl": popup_url}


class VectorTiles(folium.map.Layer):
    """Sites loaded as vector tiles from the service's ``/tiles/{layer}/…`` (served pages
    only), drawn on canvas by maps.js, styled by the ``cls_field`` property or one ``cls``,
    filterable by park, size and type like :class:`FeatureLayer`; a click fetches the
    popup of the site under it from ``popup_url``. Below ``min_zoom`` a hint says to zoom
    in: a tile there would hold thousands of sites, each a pixel or two."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = geoServiceTiles({{ this._parent.get_name() }},
            {{ this.options|tojson }});
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        layer: str,
        styles: dict[str, dict[str, Any]],
        *,
        name: str,
        popup_url: str,
        cls_field: str | None = None,
        cls: str | None = None,
        size: tuple[str, float] | None = None,
        filterable: bool = False,
        prefix: str = "",
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "VectorTiles"
        self.options = {
            "url": f"{prefix}/tiles/{layer}/{{z}}/{{x}}/{{y}}.pbf",
            "layer": layer,
            "styles": styles,
            "clsField": cls_field,
            "cls": cls,
            "type": cls,
            "size": size,
            "popupUrl": popup_url,
            "filterable": filterable,
            "minZoom": TILES_MIN_ZOOM,
        }


def check_tiles(popups: Popups, basemap: Basemap) -> None:
    """Vector tiles need a served page (the tiles and popups are fetched) and a basemap in
    true coordinates: tiles are not shifted to GCJ-02."""
    if popups != "fetch" or basemap.shifts:
        raise ValueError("vector tiles need popups='fetch' and a basemap other than gaode")


class Script(MacroElement):
    """A call into maps.js with the map, e.g. ``geoServicePanel(map, html)``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.function }}({{ this._parent.get_name() }}
            {%- for a in this.args %}, {{ a|tojson }}{% endfor %});
        {% endmacro %}
        """
    )

    def __init__(self, function: str, *args: Any) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca leaves it untyped
        self._name = "Script"
        self.function = function
        self.args = args


def new_map(
    bounds: tuple[float, float, float, float],
    *,
    title: str,
    basemap: Basemap,
    context: dict[str, gpd.GeoDataFrame] | None = None,
) -> folium.Map:
    """A map fitted to ``bounds`` (EPSG:4490) with the basemap, scale, layer control comes
    last (see :func:`finish`), fullscreen, and the parks and roads as context."""
    empty = not np.isfinite(bounds).all()
    if empty:  # nothing loaded yet: show China, and say so
        bounds = (73.5, 18.0, 135.0, 53.5)
    minx, miny, maxx, maxy = bounds
    m = folium.Map(
        location=latlng((minx + maxx) / 2, (miny + maxy) / 2),
        zoom_start=13,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
    )
    m.default_js = [(name, name) for name in _JS]
    m.default_css = [(name, name) for name in _CSS]
    root: Any = m.get_root()  # a branca Figure; typed as its base Element
    root.header.add_child(Element(f"<title>{escape(title)}</title>"))
    m.fit_bounds([latlng(minx, miny), latlng(maxx, maxy)])
    _basemap(m, basemap)
    if context:
        _context(m, context, basemap)
    m.add_child(Script("geoServiceFullscreen"))
    if empty:
        m.add_child(
            Script(
                "geoServicePanel",
                "<div class='gs-message'>暂无数据 (no data loaded yet)</div>",
                "bottomleft",
            )
        )
    return m


def _basemap(m: folium.Map, basemap: Basemap) -> None:
    if basemap.kind == "local" and basemap.tiles_url:
        folium.TileLayer(
            basemap.tiles_url, attr="本地底图 (local basemap)", name="底图 basemap", max_zoom=18
        ).add_to(m)
    elif basemap.kind == "tianditu":
        if basemap.tianditu_key:
            folium.TileLayer(
                TIANDITU + basemap.tianditu_key,
                attr="天地图 Tianditu",
                name="天地图 Tianditu",
                subdomains="01234567",
                max_zoom=18,
            ).add_to(m)
        else:
            m.add_child(
                Script(
                    "geoServicePanel",
                    "<div class='gs-message'>天地图密钥未配置, "
                    "未显示底图 (Tianditu key not set: no basemap)</div>",
                    "bottomleft",
                )
            )
    elif basemap.kind == "gaode":
        folium.TileLayer(
            GAODE, attr="高德地图 Gaode (GCJ-02)", name="高德 Gaode", subdomains="1234", max_zoom=18
        ).add_to(m)
    if basemap.kind == "gaode" or (basemap.kind == "tianditu" and basemap.tianditu_key):
        m.add_child(
            Script(
                "geoServiceTileErrors",
                "底图服务不可用或被限流, 仅显示矢量数据 "
                "(basemap unavailable or rate-limited; vector data only)",
            )
        )


def _context(m: folium.Map, context: dict[str, gpd.GeoDataFrame], basemap: Basemap) -> None:
    parks = context.get("parks")
    if parks is not None and len(parks):
        props = [{"_cls": "park", "_label": escape(name)} for name in parks["name"]]
        m.add_child(
            FeatureLayer(
                feature_collection(parks.geometry.values.to_numpy(), props, basemap),
                {
                    "park": {
                        "color": "#4a6fa5",
                        "weight": 2,
                        "fillColor": "#dfe8f5",
                        "fillOpacity": 0.35,
                        "dashArray": "6 4",
                    }
                },
                name="园区 Parks",
            )
        )
    roads = context.get("roads")
    if roads is not None and len(roads):
        props = [{"_cls": str(grade or "branch")} for grade in roads["grade"]]
        m.add_child(
            FeatureLayer(
                feature_collection(roads.geometry.values.to_numpy(), props, basemap),
                {
                    "trunk": {"color": "#9a9a9a", "weight": 5},
                    "main": {"color": "#b0b0b0", "weight": 4},
                    "branch": {"color": "#c8c8c8", "weight": 2.5},
                },
                name="道路 Roads",
            )
        )


def finish(m: folium.Map) -> folium.Map:
    """Add the layer control (it lists the layers added before it)."""
    folium.LayerControl(collapsed=False).add_to(m)
    return m


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
    for name in _JS:
        tag = f'<script src="{name}"></script>'
        replacement = (
            f"<script>{_read(name)}</script>"
            if standalone
            else f'<script src="{prefix}/{name}"></script>'
        )
        html = html.replace(tag, replacement)
    for name in _CSS:
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
    assets = {_read(name) for name in _JS} if standalone else set()
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
