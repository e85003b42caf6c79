"""What every map shares: the basemap, the layers drawn by maps.js, and the context layers.

The page around a map — its offline assets and its rendering with a Content-Security-Policy —
is :mod:`maps.page`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from layers.catalog import PARKS, ROADS
from layers.geojson import plain
from layers.schema import LayerSpec
from layers.tiling import COUNT, DETAIL_ZOOM, MIN_ZOOM
from maps.basemap import GAODE, TIANDITU, Basemap
from maps.gcj02 import shift_geometries
from maps.html import escape, table
from maps.page import CSS, JS

Popups = Literal["embed", "fetch"]
"""Popups in the page, or fetched from the service when opened (served pages only)."""
TILES_MIN_ZOOM = DETAIL_ZOOM
"""Vector-tile layers draw each site from this zoom on (a tile about 10 km across): the
first zoom whose tiles carry each site rather than counts per cell. From :data:`MIN_ZOOM`
to here they draw the counts, and roads are drawn from tiles at every zoom from
:data:`MIN_ZOOM` on."""
ROAD_STYLES = {
    "trunk": {"color": "#9a9a9a", "weight": 5},
    "main": {"color": "#b0b0b0", "weight": 4},
    "branch": {"color": "#c8c8c8", "weight": 2.5},
}
ROAD_STYLES["default"] = ROAD_STYLES["branch"]  # a road without a grade
ROADS_POPUP_URL = "/maps/popup/roads/"
PRECISION_DEG = 1e-6
"""Coordinates are rounded to 1e-6° (≈10 cm) for display: a third less page weight."""


def latlng(lon: float, lat: float) -> tuple[float, float]:
    """folium takes (lat, lon); shapely and GeoJSON take (lon, lat). Convert only here."""
    return (float(lat), float(lon))


def display_geometries(
    geometries: npt.NDArray[np.object_], basemap: Basemap
) -> npt.NDArray[np.object_]:
    """Geometries as drawn: rounded to :data:`PRECISION_DEG`, shifted for a GCJ-02 basemap."""
    shown = shift_geometries(geometries) if basemap.shifts else geometries
    return np.asarray(shapely.set_precision(shown, PRECISION_DEG, mode="pointwise"))


def outlines(geometries: gpd.GeoSeries) -> npt.NDArray[np.object_]:
    """The parks' and roads' geometries without the vertices a map cannot show: those
    within :data:`PRECISION_DEG` of the line through their neighbours. Surveyed and
    densified linework is mostly such vertices (the 100,000-parcel demo zone's roads:
    109k vertices, 2.5 MB in the page; 11k and 0.28 MB without them)."""
    return np.asarray(shapely.simplify(geometries.values.to_numpy(), PRECISION_DEG))


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
        var {{ this.get_name() }} = geoServiceLayer({{ this._parent.get_name() }}, JSON.parse(
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
    popup of the site under it from ``popup_url``. Below :data:`TILES_MIN_ZOOM` a site
    there would be a pixel or two: the layer draws the number of sites per square,
    labelled ``cells`` (Chinese and English) on ``cell_colour`` (at the square's foot
    with ``cell_foot``, under another layer's count), and a click on a square zooms in;
    below :data:`MIN_ZOOM` a hint says to zoom in. A layer without ``cells`` (roads) draws
    its features at every zoom, in a pane under the sites."""

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
        cells: str | None = None,
        cell_colour: str = "#1c6a9c",
        cell_foot: bool = False,
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
            "minZoom": MIN_ZOOM,
            "detailZoom": TILES_MIN_ZOOM if cells else MIN_ZOOM,
            "cells": cells
            and {"label": cells, "color": cell_colour, "count": COUNT, "foot": cell_foot},
            "pane": "gsSites" if cells else "gsContext",
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
    tiles: bool = False,
) -> folium.Map:
    """A map fitted to ``bounds`` (EPSG:4490) with the basemap, scale, layer control comes
    last (see :func:`finish`), fullscreen, and the parks and roads as context (the roads
    drawn from the service's tiles when ``tiles``, so the page does not grow with them)."""
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
    # The map's own lowest zoom: without one Leaflet takes the layers' lowest (vector tiles
    # draw from zoom 12) and jumps there, so a large zone would never open whole.
    m.options["minZoom"] = 0
    m.default_js = [(name, name) for name in JS]
    m.default_css = [(name, name) for name in CSS]
    root: Any = m.get_root()  # a branca Figure; typed as its base Element
    root.header.add_child(Element(f"<title>{escape(title)}</title>"))
    # Fitted at once, not animated from zoom_start: Leaflet drops a zoom asked for during
    # an animation, so a person zooming as the map appeared was put back where it opened.
    fit = folium.map.FitBounds([latlng(minx, miny), latlng(maxx, maxy)])
    fit.options["animate"] = False
    m.add_child(fit)
    _basemap(m, basemap)
    if context:
        _context(m, context, basemap, tiles=tiles)
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


def _context(
    m: folium.Map, context: dict[str, gpd.GeoDataFrame], basemap: Basemap, *, tiles: bool
) -> None:
    parks = context.get(PARKS.name)
    if parks is not None and len(parks):
        props = [
            {"_cls": "park", "_label": escape(row["name"]), "_popup": context_popup(PARKS, row)}
            for row in parks.to_dict("records")
        ]
        m.add_child(
            FeatureLayer(
                feature_collection(outlines(parks.geometry), props, basemap),
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
    roads = context.get(ROADS.name)
    if roads is not None and len(roads) and tiles:
        m.add_child(
            VectorTiles(
                ROADS.name,
                ROAD_STYLES,
                name="道路 Roads",
                cls_field="grade",
                popup_url=ROADS_POPUP_URL,
            )
        )
    elif roads is not None and len(roads):
        props = [
            {"_cls": str(row["grade"] or "branch"), "_popup": context_popup(ROADS, row)}
            for row in roads.to_dict("records")
        ]
        m.add_child(
            FeatureLayer(
                feature_collection(outlines(roads.geometry), props, basemap),
                ROAD_STYLES,
                name="道路 Roads",
            )
        )


CONTEXT_FIELDS = {
    PARKS.name: ("name_en", "park_id", "industries", "desk_tel"),
    ROADS.name: ("road_id", "grade", "width_m"),
}
"""What the popup of a park or road shows under its name: public fields only."""


def context_popup(spec: LayerSpec, row: dict[str, Any]) -> str:
    """A park's or road's popup: its name (or id), then :data:`CONTEXT_FIELDS`, labelled
    as the catalog labels them (escaped)."""
    rows = [
        (f"{f.zh} {f.en}" + (f" ({f.unit})" if f.unit else ""), row.get(f.name))
        for f in (spec.field(name) for name in CONTEXT_FIELDS[spec.name])
    ]
    return table(str(plain(row.get("name")) or row[spec.id_field]), rows)


PHONE = "(max-width: 600px)"
"""Screens on which map controls start collapsed (WEB.md: map controls collapse on phones)."""


class LayerControl(folium.LayerControl):
    """folium's layer control, open on wide screens and collapsed to its button on
    :data:`PHONE` screens, where the open list would cover a popup: a tap on the button
    opens it, a tap on the map closes it. Not by hovering: a tap's emulated mouse
    events opened the list under the finger and closed it again at once."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }}_phone = window.matchMedia({{ this.phone|tojson }}).matches;
        var {{ this.get_name() }} = L.control.layers({
            {%- for key, val in this.base_layers.items() %}{{ key|tojson }}: {{ val }},{% endfor %}
        }, {
            {%- for key, val in this.overlays.items() %}{{ key|tojson }}: {{ val }},{% endfor %}
        }, Object.assign({{ this.options|tojson }}, {collapsed: {{ this.get_name() }}_phone})
        ).addTo({{ this._parent.get_name() }});
        if ({{ this.get_name() }}_phone) {
            L.DomEvent.off({{ this.get_name() }}.getContainer(), "mouseenter mouseleave");
        }
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__(collapsed=False)
        self.phone = PHONE


def finish(m: folium.Map) -> folium.Map:
    """Put tiled roads after the sites, then add the layer control (it lists the layers
    added before it). A layer asks for its tiles in the order it was added, and a browser
    opens six connections to a host: the sites, which a person waits for, go first."""
    for key, child in list(m._children.items()):
        if isinstance(child, VectorTiles) and child.options["pane"] == "gsContext":
            m._children.move_to_end(key)
    LayerControl().add_to(m)
    return m
