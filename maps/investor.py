"""Investor map (投资者地图, public): available land and idle factories, public fields only.

The data for the page is cut to the public allow-list *before* anything else touches it,
so no internal field can reach the page source, whatever a popup shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd

from layers.area import M2_PER_MU
from layers.catalog import FACTORIES, ON_OFFER, PARCELS, PARKS, ROADS
from layers.frames import derive
from layers.schema import LayerSpec
from layers.tiling import SIZE_M2
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

LAND, FACTORY = "#7fcdbb", "#fe9929"
STYLES = {
    "land": {"color": "#2c7fb8", "weight": 1, "fillColor": LAND, "fillOpacity": 0.6},
    "factory": {"color": "#8c2d04", "weight": 1, "fillColor": FACTORY, "fillOpacity": 0.8},
}


def public_frame(frame: gpd.GeoDataFrame, spec: LayerSpec) -> gpd.GeoDataFrame:
    """Derived fields added, then every non-public column dropped."""
    out = derive(frame, spec)
    return out[[*spec.field_names(spec.visible_fields(public=True)), "geometry"]]


def listed(frame: gpd.GeoDataFrame, spec: LayerSpec) -> gpd.GeoDataFrame:
    """What investors see of a layer: public fields of the features on offer, with the
    store's feature id kept as ``_fid``."""
    out = public_frame(frame, spec)
    out = out[out["status"] == ON_OFFER[spec.name]].copy()
    out["_fid"] = out.index.to_numpy()
    return out.reset_index(drop=True)


def investor_map(
    frames: Mapping[str, gpd.GeoDataFrame],
    *,
    basemap: Basemap | None = None,
    desk: str | None = None,
    popups: Popups = "embed",
    tiles: bool = False,
) -> folium.Map:
    """Available parcels and idle factories with bilingual popups, filters by park, area and
    type, and the zone's service-desk contact (``popups`` and ``tiles`` as for the
    readiness map)."""
    basemap = basemap or Basemap()
    if tiles:
        check_tiles(popups, basemap)
    parcels = listed(frames[PARCELS.name], PARCELS)
    factories = listed(frames[FACTORIES.name], FACTORIES)
    parks = frames[PARKS.name][
        ["park_id", "name", "name_en", "industries", "desk_tel", "geometry"]
    ].reset_index(drop=True)
    bounds = tuple(parks.total_bounds if len(parks) else parcels.total_bounds)
    m = new_map(
        bounds,
        title="可用土地与厂房 Available land and factories",
        basemap=basemap,
        context={PARKS.name: parks, ROADS.name: frames[ROADS.name]},
        tiles=tiles,
    )
    for frame, kind, layer, name in (
        (parcels, "land", PARCELS.name, "可出让地块 Land"),
        (factories, "factory", FACTORIES.name, "闲置厂房 Factories"),
    ):
        if tiles:
            m.add_child(_tiles_layer(kind, layer, name))
        else:
            m.add_child(_offer_layer(frame, kind, layer, name, popups=popups, basemap=basemap))
    m.add_child(Script("geoServicePanel", _legend(), "bottomleft"))
    m.add_child(Script("geoServicePanel", _desk(parks, desk), "bottomright"))
    m.add_child(Script("geoServiceFilter", _filter(parks)))
    return finish(m)


def _tiles_layer(kind: str, layer: str, name: str) -> VectorTiles:
    """One kind of offer drawn from the service's vector tiles."""
    return VectorTiles(
        layer,
        STYLES,
        name=name,
        cls=kind,
        size=SIZE_M2[layer],  # as the tiles' squares are filtered
        popup_url=f"{POPUP_URL}{layer}/",
        filterable=True,
        cells="宗地 parcels" if kind == "land" else "厂房 factories",
        cell_colour="#1c6a9c" if kind == "land" else "#8c2d04",  # white text on them: AA
        cell_foot=kind == "factory",
    )


def _offer_layer(
    frame: gpd.GeoDataFrame, kind: str, layer: str, name: str, *, popups: Popups, basemap: Basemap
) -> FeatureLayer:
    """One kind of offer (``land`` or ``factory``) with its data in the page."""
    props = [_properties(row, kind, popups) for row in frame.to_dict("records")]
    return FeatureLayer(
        feature_collection(frame.geometry.values.to_numpy(), props, basemap),
        STYLES,
        name=name,
        filterable=True,
        popup_url=f"{POPUP_URL}{layer}/" if popups == "fetch" else None,
    )


def _legend() -> str:
    return legend(
        "图例 Legend",
        [
            (LAND, "可出让地块 Land for transfer"),
            (FACTORY, "闲置厂房 Factories to lease or buy"),
        ],
    )


def _filter(parks: gpd.GeoDataFrame) -> dict[str, object]:
    """The filter panel's options: parks (escaped), area (typed in m² or 亩: land is
    reckoned in 亩, floor space in m²), and land or factory (the panel's option names,
    not layer names)."""
    return dict(
        title="筛选 Filter",
        parks=[
            (escape(p), escape(f"{n} {e or ''}"))
            for p, n, e in zip(parks["park_id"], parks["name"], parks["name_en"], strict=True)
        ],
        parkLabel="园区 Park",
        all="全部 all",
        area=True,
        areaLabel="面积 Area",
        unitLabel="面积单位 Unit",
        units=[("m²", 1.0), ("亩 mu", M2_PER_MU)],  # sizes compared in m² (SIZE_M2)
        types=[("land", "土地 land"), ("factory", "厂房 factory")],
    )


POPUP_URL = "/maps/popup/investor/"


def _zh(name: str, row: Mapping[str, Any], otherwise: Any) -> Any:
    """The Chinese label of a parcel's coded value (its field's label), or ``otherwise``."""
    label = PARCELS.field(name).label(row[name])
    return label[0] if label else otherwise


def _both(name: str, row: Mapping[str, Any]) -> Any:
    """A parcel's coded value as its labels, "中文 (English)" (an investor may read
    either), or as it is when its field has no label for it."""
    label = PARCELS.field(name).label(row[name])
    return f"{label[0]} ({label[1]})" if label else row[name]


def parcel_popup(row: Mapping[str, Any]) -> str:
    """The investor's popup of one public parcel row (bilingual, escaped)."""
    return table(
        f"{row['parcel_id']} {row['name'] or ''}",
        [
            ("园区 Park", row["park_id"]),
            ("面积 Area", f"{row['area_mu']:,.1f} 亩 / {float(row['area_m2']):,.0f} m²"),
            ("用地性质 Land use", f"{row['land_use']} {_zh('land_use', row, '')}"),
            ("类别 Category", _zh("stock_cat", row, row["stock_cat"])),
            ("挂牌起始价 Listing price (万元/亩)", row["price_wmu"]),
            ("投资强度 Investment (≥ 万元/亩)", row["inv_lo"]),
            ("亩均税收 Tax (≥ 万元/亩)", row["tax_lo"]),
            ("容积率 Plot ratio", _range(row["far_lo"], row["far_hi"])),
            ("建筑密度上限 Building density (≤ %)", row.get("dens_hi")),
            ("建筑退线 Setback (m)", row.get("setback_m")),
            ("净地程度 Readiness", _both("readiness", row)),
            ("可接电力 Power (kVA)", row["power_kva"]),
            ("可供水 Water (m³/d)", row["water_m3d"]),
        ],
    )


def factory_popup(row: Mapping[str, Any]) -> str:
    """The investor's popup of one public factory row (bilingual, escaped)."""
    return table(
        f"{row['factory_id']} {row['name']}",
        [
            ("园区 Park", row["park_id"]),
            ("产权单位 Owner", row["owner"]),
            ("建筑面积 Floor area (m²)", row["floor_m2"]),
            ("最小分租单元 Leased in parts of (m²)", row.get("unit_m2")),
            ("层数 Floors", row["floors"]),
            ("净高 Clear height (m)", row["height_m"]),
            ("楼面荷载 Floor load (kN/m²)", row["load_kn"]),
            ("行车 Crane (t)", row["crane_t"]),
            ("供电 Power (kVA)", row["power_kva"]),
            ("火灾危险性 Fire class", row["fire_cls"]),
            ("租金 Rent (元/m²/月)", row["rent_ym"]),
            ("售价 Price (万元)", row["price_w"]),
            ("可用日期 Available from", row["avail_from"]),
        ],
    )


def _properties(row: Mapping[str, Any], kind: str, popups: Popups) -> dict[str, object]:
    size = float(row["area_m2"] if kind == "land" else row["floor_m2"])
    out: dict[str, object] = {
        "_cls": kind,
        "_type": kind,
        "_park": str(row["park_id"]),  # only compared, never inserted as HTML
        "_size": round(size),
    }
    if popups == "fetch":
        out["_id"] = int(row["_fid"])
    else:
        out["_popup"] = parcel_popup(row) if kind == "land" else factory_popup(row)
    return out


def _range(lo: object, hi: object) -> str | None:
    parts = [f"{v:g}" for v in (lo, hi) if isinstance(v, float) and v == v]
    return "–".join(parts) or None


def _desk(parks: gpd.GeoDataFrame, desk: str | None) -> str:
    lines = [
        f"<div>{escape(name)}: {escape(tel)}</div>"
        for name, tel in zip(parks["name"], parks["desk_tel"], strict=True)
        if tel
    ]
    head = "<div><b>招商服务 Investment service desk</b></div>"
    main = f"<div>{escape(desk)}</div>" if desk else ""
    return head + main + "".join(lines)


__all__ = ["investor_map", "public_frame"]
