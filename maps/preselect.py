"""Pre-selection map (预选址图) for a match: ranked sites, why, and what they connect to."""

from __future__ import annotations

from typing import Any

import folium
import numpy as np
import shapely

from layers.catalog import PARKS, ROADS
from layers.crs import STORAGE_EPSG, transformer
from layers.vocabulary import INFRA_KINDS
from maps.base import FeatureLayer, Script, feature_collection, finish, new_map
from maps.basemap import Basemap
from maps.html import escape, legend, table
from matching.results import MatchResult, NearMiss, RankedSite
from matching.zone import Zone

OUTLINE_CLOSE_M = 25.0  # half the widest road between assembled parcels
OUTLINE_HALO_M = 15.0
RANK_COLOURS = (("#08306b", 3), ("#2171b5", 6), ("#6baed6", 10**9))
GROUP = "#6a3d9a"
NEAR = "#969696"
INFRA_COLOURS = {
    "substation": "#e31a1c", "water": "#1f78b4", "gas": "#ff7f00", "heat": "#b15928",
    "sewage": "#33a02c", "interchange": "#000000", "rail": "#01665e", "airport": "#fb9a99",
    "logistics": "#f1b6da",
}  # fmt: skip


def _rank_class(rank: int) -> str:
    return next(f"rank{limit}" for _, limit in RANK_COLOURS if rank <= limit)


def preselect_map(
    result: MatchResult, zone: Zone, *, basemap: Basemap | None = None, labelled: int = 10
) -> folium.Map:
    """Candidate sites coloured by rank with the top ``labelled`` numbered; popups with the
    score breakdown, checks and connection plan; near misses apart; assembled groups
    outlined as one; infrastructure; lines to each top site's substation and interchange."""
    basemap = basemap or Basemap()
    m = new_map(
        _bounds(result, zone),
        title=f"预选址 Pre-selection — {result.request.name}",
        basemap=basemap,
        context={PARKS.name: zone.parks, ROADS.name: zone.roads},
    )
    styles = _styles()
    if result.near_misses:
        m.add_child(
            FeatureLayer(
                feature_collection(
                    np.array([n.geometry for n in result.near_misses]),
                    [_near(n) for n in result.near_misses],
                    basemap,
                ),
                styles,
                name="接近满足 Near misses",
            )
        )
    if result.sites:
        _add_sites(m, result, zone, styles, basemap=basemap, labelled=labelled)
    m.add_child(_infrastructure(zone, basemap))
    m.add_child(Script("geoServicePanel", _legend(), "bottomleft"))
    m.add_child(Script("geoServicePanel", _counts(result), "topright"))
    return finish(m)


def _bounds(result: MatchResult, zone: Zone) -> tuple[float, float, float, float]:
    """The sites and near misses (or the parks, when there are none), with a margin."""
    geoms = [s.geometry for s in result.sites] + [m.geometry for m in result.near_misses]
    extent = shapely.total_bounds(np.array(geoms)) if geoms else zone.parks.total_bounds
    minx, miny, maxx, maxy = (float(v) for v in extent)
    pad = 0.01
    return (minx - pad, miny - pad, maxx + pad, maxy + pad)


def _styles() -> dict[str, dict[str, Any]]:
    """Sites by rank class, assembled groups and near misses."""
    styles: dict[str, dict[str, Any]] = {
        f"rank{limit}": {"color": "#222", "weight": 1.5, "fillColor": colour, "fillOpacity": 0.8}
        for colour, limit in RANK_COLOURS
    }
    styles["group"] = {"color": GROUP, "weight": 4, "fillColor": GROUP, "fillOpacity": 0.35}
    styles["near"] = {
        "color": NEAR,
        "weight": 2,
        "dashArray": "5 4",
        "fillColor": NEAR,
        "fillOpacity": 0.25,
    }
    return styles


def _add_sites(
    m: folium.Map,
    result: MatchResult,
    zone: Zone,
    styles: dict[str, dict[str, Any]],
    *,
    basemap: Basemap,
    labelled: int,
) -> None:
    """The ranked sites, the outlines of assembled groups and the connection lines."""
    props = [_site(s, result, labelled) for s in result.sites]
    m.add_child(
        FeatureLayer(
            feature_collection(np.array([s.geometry for s in result.sites]), props, basemap),
            styles,
            name="推荐选址 Ranked sites",
            labels=True,
        )
    )
    groups = [(s, p) for s, p in zip(result.sites, props, strict=True) if s.kind == "group"]
    if groups:
        # The outline is drawn over its group and is the group to a person: same popup.
        m.add_child(
            FeatureLayer(
                feature_collection(
                    np.array([outline(s, zone) for s, _ in groups]),
                    [{"_cls": "outline", "_popup": p["_popup"]} for _, p in groups],
                    basemap,
                ),
                {"outline": {"color": GROUP, "weight": 3, "dashArray": "8 4", "fill": False}},
                name="拼合范围 Assembled outlines",
            )
        )
    m.add_child(_lines(result, zone, basemap, labelled))


def _legend() -> str:
    return legend(
        "预选址 Pre-selection",
        [
            (RANK_COLOURS[0][0], "第 1–3 名 (ranks 1–3)"),
            (RANK_COLOURS[1][0], "第 4–6 名"),
            (RANK_COLOURS[2][0], "第 7 名起"),
            (GROUP, "拼合地块 assembled parcels"),
            (NEAR, "接近满足 near miss"),
            *((INFRA_COLOURS[k], f"{zh} {en}") for k, (zh, en) in INFRA_KINDS.items()),
        ],
    )


def _counts(result: MatchResult) -> str:
    """The request's name, how many sites were weighed and how many are feasible."""
    return (
        f"<b>{escape(result.request.name)}</b><div>{result.n_sites} 个候选, "
        f"{result.n_feasible} 个满足全部约束 (feasible)"
        + (f", {result.n_groups} 组拼合地块" if result.n_groups else "")
        + f"</div><div>方法 method: {escape(result.method)}; as of {result.as_of}</div>"
    )


def outline(site: RankedSite, zone: Zone) -> shapely.Geometry:
    """One outline around an assembled group: the parcels and the roads between them
    (closed in metres by half the widest road, drawn just outside, back in EPSG:4490)."""
    to_metric = transformer(STORAGE_EPSG, zone.metric_epsg)
    back = transformer(zone.metric_epsg, STORAGE_EPSG)
    metric = shapely.transform(
        site.geometry, lambda xy: np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1]))
    )
    opened = shapely.buffer(metric, OUTLINE_CLOSE_M, join_style="mitre")
    # Close back, but stay OUTLINE_HALO_M outside so the outline shows beside the parcels.
    closed = shapely.buffer(opened, OUTLINE_HALO_M - OUTLINE_CLOSE_M, join_style="mitre")
    outline: shapely.Geometry = shapely.transform(
        closed, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1]))
    )
    return outline


def _site(site: RankedSite, result: MatchResult, labelled: int) -> dict[str, Any]:
    names = {c.key: c.name for c in result.criteria}
    rows: list[tuple[str, Any]] = [
        ("名次 rank", f"{site.rank} (±20% 权重: {site.rank_range[0]}–{site.rank_range[1]})"),
        ("得分 score", f"{site.score:.3f}"),
        ("园区 park", site.park_id),
        ("面积 size", f"{site.size:,.1f} {site.size_unit}"),
        *(
            (f"· {names[k]}", f"{v:.3f}")
            for k, v in sorted(site.contributions.items(), key=lambda kv: -kv[1])
        ),
        *((f"✓ {c.name}" if c.ok else f"✗ {c.name}", c.detail) for c in site.checks),
        *(
            (
                f"→ {c.utility}",
                f"{c.source or '无'}"
                + (f" {c.distance_m / 1000:.1f} km" if c.distance_m is not None else "")
                + f"; {c.note}",
            )
            for c in site.connections
        ),
    ]
    title = f"#{site.rank} {', '.join(site.ids[:6])}{' …' if len(site.ids) > 6 else ''}"
    return {
        "_cls": "group" if site.kind == "group" else _rank_class(site.rank),
        "_popup": table(title, rows),
        "_label": escape(site.rank) if site.rank <= labelled else "",
    }


def _near(miss: NearMiss) -> dict[str, Any]:
    popup = table(
        f"接近满足 near miss: {', '.join(miss.ids)}",
        [
            ("园区 park", miss.park_id),
            ("面积 size", f"{miss.size:,.1f}"),
            ("差距 lacks", "; ".join(f.lacks for f in miss.failures)),
            ("未满足 fails", "; ".join(f.detail for f in miss.failures)),
            ("需要 would take", "; ".join(f"[{f.remedy_label}] {f.remedy}" for f in miss.failures)),
        ],
    )
    return {"_cls": "near", "_popup": popup}


def _lines(result: MatchResult, zone: Zone, basemap: Basemap, labelled: int) -> FeatureLayer:
    """A line from each labelled site to its substation and interchange, with the distance."""
    infra = zone.infrastructure.set_index("infra_id")
    lines, props = [], []
    for site in result.sites[:labelled]:
        for connection in site.connections:
            if connection.utility not in ("power", "highway") or connection.source_id is None:
                continue
            target = infra.geometry.get(connection.source_id)
            if target is None:
                continue
            lines.append(shapely.shortest_line(site.geometry, target))
            km = (connection.distance_m or 0.0) / 1000
            props.append(
                {
                    "_cls": connection.utility,
                    "_label": escape(f"{km:.1f} km"),
                    "_popup": table(
                        f"#{site.rank} → {connection.source}", [("距离 distance", f"{km:.2f} km")]
                    ),
                }
            )
    return FeatureLayer(
        feature_collection(np.array(lines, dtype=object), props, basemap),
        {
            "power": {"color": INFRA_COLOURS["substation"], "weight": 2, "dashArray": "4 4"},
            "highway": {"color": INFRA_COLOURS["interchange"], "weight": 2, "dashArray": "2 6"},
        },
        name="接入线 Connections",
    )


def _infrastructure(zone: Zone, basemap: Basemap) -> FeatureLayer:
    infra = zone.infrastructure
    props = []
    for row in infra.to_dict("records"):
        kind = str(row["kind"])
        label = ""
        details: list[tuple[str, Any]] = [("类型 kind", INFRA_KINDS[kind][0])]
        if kind == "substation":
            label = " ".join(
                f"{v:g}{unit}"
                for v, unit in ((row["voltage_kv"], "kV"), (row["spare_mva"], "MVA"))
                if v == v
            )
            details += [
                ("电压 voltage (kV)", row["voltage_kv"]),
                ("剩余容量 spare (MVA)", row["spare_mva"]),
            ]
        for column, name in (
            ("spare_m3d", "剩余 spare (m³/日)"),
            ("spare_nm3h", "剩余 (Nm³/时)"),
            ("spare_mw", "剩余 (MW)"),
        ):
            details.append((name, row[column]))
        props.append(
            {"_cls": kind, "_label": escape(label), "_popup": table(str(row["name"]), details)}
        )
    styles = {
        kind: {"color": "#222", "weight": 1, "fillColor": colour, "fillOpacity": 0.95, "radius": 7}
        for kind, colour in INFRA_COLOURS.items()
    }
    return FeatureLayer(
        feature_collection(infra.geometry.values.to_numpy(), props, basemap),
        styles,
        name="基础设施 Infrastructure",
        labels=True,
    )
