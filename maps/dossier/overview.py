"""The dossier's maps, drawn on the server as vector SVG (matplotlib, no browser, no tiles):
the zone's parks and roads, the ranked sites numbered, the substations and interchanges,
and each site's connection lines; a scale bar and a north arrow. Drawn in the zone's
Gauss-Krüger CRS, so metres on the map are metres on the ground.

Text stays text in the SVG (``svg.fonttype: none``), set in a CJK font installed on the
machine, so the PDF embeds the font and the labels can be searched and copied.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import shapely
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from shapely.geometry.base import BaseGeometry

from layers.crs import STORAGE_EPSG, transformer
from maps.dossier.view import UTILITY_ZH
from matching.zone import Zone

CJK_FONTS = ("Noto Sans CJK SC", "WenQuanYi Micro Hei", "Source Han Sans SC", "SimHei")
"""Families tried in order; scripts/setup.sh installs one (fonts-wqy-microhei)."""
LINE_COLOURS = {
    "power": "#d62728",
    "water": "#1f77b4",
    "gas": "#ff7f0e",
    "heat": "#8c564b",
    "sewage": "#7f7f7f",
    "highway": "#2ca02c",
}
OVERVIEW_LINES = ("power", "highway")
NICE_M = (50, 100, 200, 500, 1000, 2000, 5000, 10000)


@dataclass(frozen=True)
class MapLayers:
    """Everything the maps draw, projected once per dossier (metres)."""

    parks: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    nodes: gpd.GeoDataFrame
    sites: list[BaseGeometry]
    lines: list[list[tuple[str, shapely.LineString]]]
    """Per ranked site: (utility, line from the site to its source)."""


def map_layers(result: dict[str, Any], zone: Zone) -> MapLayers:
    """Project the zone's context and the result's sites into the zone's metric CRS."""
    epsg = zone.metric_epsg
    to_metric = transformer(STORAGE_EPSG, epsg)
    nodes = zone.infrastructure.to_crs(epsg)
    where = dict(zip(nodes["infra_id"], nodes.geometry, strict=True))
    sites, lines = [], []
    for site in result["sites"]:
        shape = shapely.transform(
            shapely.geometry.shape(site["geometry"]),
            lambda xy: np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1])),
        )
        anchor = shape.representative_point()
        sites.append(shape)
        lines.append(
            [
                (c["utility"], shapely.LineString([anchor, where[c["source_id"]]]))
                for c in site["connections"]
                if c["utility"] in LINE_COLOURS and c["source_id"] in where
            ]
        )
    parks: gpd.GeoDataFrame = zone.parks  # a GeoDataFrame, typed as the frame it extends
    return MapLayers(parks.to_crs(epsg), zone.roads.to_crs(epsg), nodes, sites, lines)


def _fonts() -> list[str]:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return [name for name in CJK_FONTS if name in installed] + ["sans-serif"]


def map_svg(layers: MapLayers, *, focus: int | None = None, size_cm: tuple[float, float]) -> str:
    """The overview (``focus`` None: every ranked site) or one site's inset, as SVG text."""
    with mpl.rc_context({"svg.fonttype": "none", "font.family": _fonts(), "font.size": 7}):
        figure = Figure(figsize=(size_cm[0] / 2.54, size_cm[1] / 2.54))
        # The overview keeps a strip on the right for its legend; an inset is all map.
        share = 1.0 if focus is not None else 0.74
        axes = figure.add_axes((0, 0, share, 1))
        x0, y0, x1, y1 = _fit(_extent(layers, focus), share * size_cm[0] / size_cm[1])
        _draw_context(axes, layers, labels=focus is None)
        _draw_sites(axes, layers, focus)
        axes.set_xlim(x0, x1)
        axes.set_ylim(y0, y1)
        axes.set_aspect("equal", adjustable="box")
        axes.set_axis_off()
        axes.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=0.8, ec="#444"))
        _scale_and_north(axes)
        if focus is None:
            _legend(figure)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _extent(layers: MapLayers, focus: int | None) -> tuple[float, float, float, float]:
    if focus is None:
        lines = [line for site in layers.lines for u, line in site if u in OVERVIEW_LINES]
        shapes = [*layers.parks.geometry, *layers.sites, *lines]
        pad = 0.04
    else:
        shapes = [layers.sites[focus], *(line for _u, line in layers.lines[focus])]
        pad = 0.15
    x0, y0, x1, y1 = shapely.total_bounds(np.array(shapes, dtype=object))
    grow = max(x1 - x0, y1 - y0, 400.0) * pad
    return x0 - grow, y0 - grow, x1 + grow, y1 + grow


def _fit(
    bounds: tuple[float, float, float, float], ratio: float
) -> tuple[float, float, float, float]:
    """``bounds`` grown on one axis to the width/height ``ratio`` of the drawing area, so
    that equal scales in x and y fill it."""
    x0, y0, x1, y1 = bounds
    width, height = x1 - x0, y1 - y0
    if width / height < ratio:
        grow = (height * ratio - width) / 2
        return x0 - grow, y0, x1 + grow, y1
    grow = (width / ratio - height) / 2
    return x0, y0 - grow, x1, y1 + grow


def _draw_context(axes: Axes, layers: MapLayers, *, labels: bool) -> None:
    layers.parks.plot(ax=axes, color="#e8f3e0", edgecolor="#5b8c3a", linewidth=0.8)
    layers.roads.plot(ax=axes, color="#9a9a9a", linewidth=1.2)
    kinds = layers.nodes["kind"].astype(str)
    for kind, marker, colour in (("substation", "^", "#6a3d9a"), ("interchange", "s", "#2ca02c")):
        points = layers.nodes[kinds == kind]
        axes.scatter(points.geometry.x, points.geometry.y, marker=marker, s=28, c=colour, zorder=5)
    if labels:
        for name, point in zip(layers.parks["name"], layers.parks.geometry, strict=True):
            x0, _y0, _x1, y1 = point.bounds  # the park's name in its top-left corner
            axes.annotate(
                str(name), (x0, y1), xytext=(3, -3), textcoords="offset points",
                ha="left", va="top", color="#3d6b22", fontsize=7, zorder=2.5,
            )  # fmt: skip  # no alpha: WeasyPrint drops part of a text drawn with opacity


def _draw_sites(axes: Axes, layers: MapLayers, focus: int | None) -> None:
    for k, (shape, lines) in enumerate(zip(layers.sites, layers.lines, strict=True)):
        mine = focus is None or k == focus
        colour = "#e6550d" if mine else "#fdd0a2"
        gpd.GeoSeries([shape]).plot(
            ax=axes, color=colour, edgecolor="#7f2704", linewidth=0.6, zorder=3
        )  # above the parks' names
        # The overview would drown in lines: it draws power and highway, an inset all.
        shown = OVERVIEW_LINES if focus is None else LINE_COLOURS
        if mine:
            for utility, line in (ul for ul in lines if ul[0] in shown):
                x, y = line.xy
                axes.plot(x, y, ls="--", lw=0.9, color=LINE_COLOURS[utility], zorder=4)
        spot = shape.representative_point()
        axes.annotate(
            str(k + 1),
            (spot.x, spot.y),
            ha="center",
            va="center",
            fontsize=7,
            color="white",
            bbox={"boxstyle": "circle,pad=0.2", "fc": "#7f2704", "ec": "none"},
            zorder=6,
        )


def _scale_and_north(axes: Axes) -> None:
    """A scale bar of a round length (about a fifth of the map) and a north arrow."""
    x0, x1 = axes.get_xlim()
    y0, y1 = axes.get_ylim()
    length = max((m for m in NICE_M if m <= (x1 - x0) / 5), default=NICE_M[0])
    left, bottom = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.05
    axes.plot([left, left + length], [bottom, bottom], color="black", lw=2.5)
    label = f"{length // 1000} km" if length >= 1000 else f"{length} m"
    axes.annotate(label, (left + length / 2, bottom), xytext=(0, 3), textcoords="offset points",
                  ha="center", fontsize=7)  # fmt: skip
    tip = (x1 - (x1 - x0) * 0.05, y1 - (y1 - y0) * 0.05)
    axes.annotate(
        "北 N",
        tip,
        xytext=(tip[0], tip[1] - (y1 - y0) * 0.1),
        ha="center",
        va="top",
        fontsize=8,
        bbox={"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none"},
        arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.2},
        zorder=7,
    )


def _legend(figure: Figure) -> None:
    handles = [
        Patch(fc="#e8f3e0", ec="#5b8c3a", label="园区 (park)"),
        Patch(fc="#e6550d", ec="#7f2704", label="推荐选址 (ranked site, 编号=名次)"),
        Line2D([], [], color="#9a9a9a", lw=1.2, label="道路 (road)"),
        Line2D([], [], ls="", marker="^", color="#6a3d9a", label="变电站 (substation)"),
        Line2D([], [], ls="", marker="s", color="#2ca02c", label="高速出入口 (interchange)"),
    ]
    handles += [
        Line2D([], [], ls="--", color=colour, label=f"接入{UTILITY_ZH[utility]} ({utility})")
        for utility, colour in LINE_COLOURS.items()
    ]
    figure.legend(handles=handles, loc="center right", fontsize=6, frameon=False)
