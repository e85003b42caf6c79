"""Standard-land readiness map (标准地净地条件图): parcels by readiness level, with the facts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from layers.catalog import PARCELS, PARKS, ROADS
from layers.frames import derive
from layers.readiness import ReadinessLevel
from layers.vocabulary import FACTS
from maps.base import (
    FeatureLayer,
    Popups,
    Script,
    VectorTiles,
    check_tiles,
    feature_collection,
    finish,
    new_map,
)
from maps.basemap import Basemap
from maps.html import escape, legend, table

COLOURS = {"ready": "#1a9850", "partly_ready": "#fdae61", "not_ready": "#d73027"}
STYLES = {
    level: {"color": "#333", "weight": 1, "fillColor": colour, "fillOpacity": 0.75}
    for level, colour in COLOURS.items()
}


def readiness_map(
    frames: Mapping[str, gpd.GeoDataFrame],
    *,
    park: str | None = None,
    basemap: Basemap | None = None,
    popups: Popups = "embed",
    tiles: bool = False,
) -> folium.Map:
    """Every parcel coloured by readiness, its facts and gaps in a popup, a park filter,
    and a summary of counts and 亩 per level and park.

    ``popups="fetch"`` (served pages) leaves the popups out of the page; each is fetched
    from ``/maps/popup/readiness/parcels/{fid}`` when opened, which keeps a 10,000-parcel
    page to a few MB. Standalone files embed them (a ``file://`` page cannot fetch).

    ``tiles=True`` (served pages of large zones) leaves the parcels out of the page too:
    they are drawn from the service's vector tiles, popups fetched on click. The summary
    still counts every parcel. Not with a GCJ-02 basemap: tiles are not shifted."""
    basemap = basemap or Basemap()
    if tiles:
        check_tiles(popups, basemap)
    parcels, parks = _in_park(frames, park)
    bounds = tuple((parks if len(parks) else parcels).total_bounds)
    m = new_map(
        bounds,
        title="标准地净地条件 Standard-land readiness",
        basemap=basemap,
        context={PARKS.name: parks, ROADS.name: frames[ROADS.name]},
        tiles=tiles,
    )
    if tiles:
        m.add_child(
            VectorTiles(
                PARCELS.name,
                STYLES,
                name="地块 Parcels",
                cls_field="readiness",
                popup_url=POPUP_URL,
                filterable=True,
                cells="宗地 parcels",
            )
        )
    else:
        m.add_child(_parcels_layer(parcels, popups=popups, basemap=basemap))
    m.add_child(Script("geoServicePanel", _legend(), "bottomleft"))
    m.add_child(Script("geoServicePanel", summary(parcels), "bottomright"))
    park_names = [
        (escape(p), escape(n)) for p, n in zip(parks["park_id"], parks["name"], strict=True)
    ]
    m.add_child(
        Script(
            "geoServiceFilter",
            # The filter panel's options (``parks`` is its option's name, not the layer's).
            dict(title="筛选 Filter", parks=park_names, parkLabel="园区", all="全部 all"),
        )
    )
    return finish(m)


def _in_park(
    frames: Mapping[str, gpd.GeoDataFrame], park: str | None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The derived parcels (store feature id kept as ``_fid``) and the parks, of one park
    when ``park`` is given."""
    parcels = derive(frames[PARCELS.name], PARCELS)
    parcels["_fid"] = parcels.index.to_numpy()
    parcels = parcels.reset_index(drop=True)
    parks = frames[PARKS.name].reset_index(drop=True)
    if park is not None:
        parcels = parcels[parcels["park_id"] == park].reset_index(drop=True)
        parks = parks[parks["park_id"] == park].reset_index(drop=True)
    return parcels, parks


def _parcels_layer(parcels: gpd.GeoDataFrame, *, popups: Popups, basemap: Basemap) -> FeatureLayer:
    """The parcels with their data in the page."""
    props = [_properties(row, popups) for row in parcels.to_dict("records")]
    return FeatureLayer(
        feature_collection(parcels.geometry.values.to_numpy(), props, basemap),
        STYLES,
        name="地块 Parcels",
        popup_url=POPUP_URL if popups == "fetch" else None,
        filterable=True,
    )


def _legend() -> str:
    return legend(
        "净地程度 Readiness",
        [
            (COLOURS[level.value], f"{level.zh} ({level.value.replace('_', ' ')})")
            for level in ReadinessLevel
        ],
    )


POPUP_URL = "/maps/popup/readiness/parcels/"


def _status_zh(row: Mapping[str, Any], key: str) -> str:
    """The Chinese label of a fact's status (its field's label), or 未填 when none."""
    label = PARCELS.field(f"{key}_st").label(row[f"{key}_st"])
    return label[0] if label else "未填"


def parcel_popup(row: Mapping[str, Any]) -> str:
    """The readiness popup of one derived parcel row: its facts and gaps (escaped)."""
    level = ReadinessLevel(str(row["readiness"]))
    facts = [
        (
            FACTS[key][0],
            f"{_status_zh(row, key)}" + (f" {row[f'{key}_dt']}" if row[f"{key}_dt"] else ""),
        )
        for key in FACTS
    ]
    return table(
        f"{row['parcel_id']} {row['name'] or ''}",
        [
            ("园区", row["park_id"]),
            ("面积 (亩)", row["area_mu"]),
            ("净地程度", level.zh),
            ("欠缺条件", row["gaps"] or "无"),
            *facts,
        ],
    )


def _properties(row: Mapping[str, Any], popups: Popups) -> dict[str, object]:
    # _park is only compared with the filter's value, never inserted as HTML: keep it raw.
    out: dict[str, object] = {"_cls": str(row["readiness"]), "_park": str(row["park_id"])}
    if popups == "fetch":
        out["_id"] = int(row["_fid"])
    else:
        out["_popup"] = parcel_popup(row)
    return out


def summary(parcels: pd.DataFrame) -> str:
    """Counts and 亩 per readiness level and park, as an HTML table (all values escaped)."""
    grouped = parcels.groupby(["park_id", "readiness"])["area_mu"].agg(["count", "sum"])
    levels = [level.value for level in ReadinessLevel]
    head = "".join(f"<th>{escape(ReadinessLevel(lv).zh)}</th>" for lv in levels)
    rows = []
    for park_id in sorted(parcels["park_id"].unique()):
        cells = []
        for level in levels:
            count, area = (
                grouped.loc[(park_id, level)] if (park_id, level) in grouped.index else (0, 0.0)
            )
            cells.append(f"<td>{int(count)} 宗<br>{area:,.0f} 亩</td>")
        rows.append(f"<tr><td>{escape(park_id)}</td>{''.join(cells)}</tr>")
    totals = "".join(
        f"<td>{int((parcels['readiness'] == lv).sum())} 宗<br>"
        f"{parcels.loc[parcels['readiness'] == lv, 'area_mu'].sum():,.0f} 亩</td>"
        for lv in levels
    )
    return (
        f"<b>汇总 Summary</b><table><tr><th>园区</th>{head}</tr>{''.join(rows)}"
        f"<tr><td>合计</td>{totals}</tr></table>"
    )
