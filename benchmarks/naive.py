"""The same land ranking done naively: geopandas nearest joins and pandas, per request.

Used two ways: as the independent oracle for the engine's feasibility in the tests (it
shares no code with ``matching/`` beyond the layer definitions and derived fields), and
as the baseline the benchmark measures the engine against.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.catalog import PARCELS, PARKS
from layers.frames import derive
from layers.readiness import readiness_table
from matching.request import ProjectRequest


def _nearest_within(sites: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, reach_m: float) -> pd.Series:
    """Distance from each site to the nearest node within reach (NaN if none)."""
    if nodes.empty:
        return pd.Series(np.nan, index=sites.index)
    joined = gpd.sjoin_nearest(
        sites[["geometry"]],
        nodes[["geometry"]],
        how="left",
        max_distance=reach_m,
        distance_col="dist",
    )
    return joined.groupby(level=0)["dist"].min().reindex(sites.index)


def feasible_parcels(
    request: ProjectRequest, frames: dict[str, gpd.GeoDataFrame], metric_epsg: int = 4547
) -> pd.Series:
    """Boolean per parcel_id: does the parcel meet every hard constraint of ``request``?"""
    parcels = derive(frames["parcels"], PARCELS).reset_index(drop=True)
    parks = derive(frames["parks"], PARKS).set_index("park_id")
    infra = frames["infrastructure"].reset_index(drop=True).to_crs(metric_epsg)
    sites = parcels.to_crs(metric_epsg)
    ok = pd.Series(True, index=parcels.index)
    ok &= parcels["status"] == "available"
    if request.allowed_land_use is not None:
        ok &= parcels["land_use"].isin(request.allowed_land_use)
    if request.area is not None:
        ok &= parcels["area_mu"] >= request.area.min_mu
        if request.area.max_mu is not None:
            ok &= parcels["area_mu"] <= request.area.max_mu
    if request.start_by is not None:
        levels, _ = readiness_table(parcels, as_of=request.start_by)
        ok &= pd.Series(levels == "ready", index=parcels.index)
    if request.power_mva is not None or request.min_voltage_kv is not None:
        subs = infra[
            (infra["kind"] == "substation")
            & (infra["voltage_kv"].fillna(0) >= (request.min_voltage_kv or 0))
            & (infra["spare_mva"].fillna(-1) >= (request.power_mva or 0))
        ]
        ok &= _nearest_within(sites, subs, request.power_reach_km * 1000).notna()
    for kind, need, column in (
        ("water", request.water_m3d, "spare_m3d"),
        ("gas", request.gas_nm3h, "spare_nm3h"),
        ("heat", request.heat_mw, "spare_mw"),
        ("sewage", request.sewage_m3d, "spare_m3d"),
    ):
        if need is not None:
            nodes = infra[(infra["kind"] == kind) & (infra[column].fillna(-1) >= need)]
            ok &= _nearest_within(sites, nodes, request.utility_reach_km * 1000).notna()
    park_rows = parks.reindex(parcels["park_id"])
    for key, need in {"energy": request.energy_tce, **request.emissions_t}.items():
        if need is None:
            continue
        own, left = ("egy_tce", "egy_left") if key == "energy" else (f"{key}_t", f"{key}_left")
        available = parcels[own].fillna(pd.Series(park_rows[left].to_numpy(), index=parcels.index))
        ok &= available.fillna(-np.inf) >= need
    logistics = request.logistics
    rail_km = logistics.max_rail_km or (5.0 if logistics.rail_required else None)
    for kind, limit_km in (
        ("interchange", logistics.max_interchange_km),
        ("rail", rail_km),
        ("airport", logistics.max_airport_km),
    ):
        if limit_km is not None:
            nodes = infra[infra["kind"] == kind]
            ok &= _nearest_within(sites, nodes, limit_km * 1000).notna()
    committed = request.committed
    area = parcels["area_mu"]
    figures = {
        "inv": committed.invest_wan_per_mu
        if committed.invest_wan_per_mu is not None
        else (request.investment_yi * 1e4 / area if request.investment_yi is not None else None),
        "tax": committed.tax_wan_per_mu
        if committed.tax_wan_per_mu is not None
        else (request.annual_tax_yi * 1e4 / area if request.annual_tax_yi is not None else None),
        "out": committed.output_wan_per_mu
        if committed.output_wan_per_mu is not None
        else (
            request.annual_output_yi * 1e4 / area if request.annual_output_yi is not None else None
        ),
        "egy": committed.energy_tce_per_wan,
    }
    for key, value in figures.items():
        if value is None:
            continue
        lo, hi = parcels[f"{key}_lo"], parcels[f"{key}_hi"]
        ok &= (lo.isna() | (value >= lo)) & (hi.isna() | (value <= hi))
    return pd.Series(ok.to_numpy(), index=parcels["parcel_id"])


def rank_parcels(
    request: ProjectRequest,
    frames: dict[str, gpd.GeoDataFrame],
    weights: dict[str, float],
    top_n: int = 10,
    metric_epsg: int = 4547,
) -> list[str]:
    """Feasible parcels ranked by a weighted sum of distance, price and area fit on the
    engine's fixed scales (docs/matching.md), recomputing every nearest join for this
    request (the naive way)."""
    feasible = feasible_parcels(request, frames, metric_epsg)
    parcels = derive(frames["parcels"], PARCELS).reset_index(drop=True)
    keep = parcels[feasible.to_numpy()].to_crs(metric_epsg)
    infra = frames["infrastructure"].to_crs(metric_epsg)
    reference_m = {"interchange": 20_000.0, "rail": 20_000.0, "airport": 50_000.0}
    scaled = pd.DataFrame(index=keep.index)
    for kind, reference in reference_m.items():
        distance = _nearest_within(keep, infra[infra["kind"] == kind], 1e9)
        scaled[kind] = (1 - distance / reference).clip(0, 1)
    lo, hi = parcels["price_wmu"].min(), parcels["price_wmu"].max()
    scaled["price"] = ((hi - keep["price_wmu"]) / (hi - lo)).clip(0, 1) if hi > lo else 1.0
    target = request.area.min_mu if request.area else 1.0
    scaled["area_fit"] = (1 - (keep["area_mu"] - target).abs() / target).clip(0, 1)
    total = pd.Series(0.0, index=scaled.index)
    for column, weight in weights.items():
        total += weight * scaled[column].fillna(0.0)
    # Ties keep the layer's order, as the engine's do.
    order = sorted(total.index, key=lambda i: (-total[i], i))
    return list(keep.loc[order[:top_n], "parcel_id"])


__all__ = ["feasible_parcels", "rank_parcels"]
