"""The results of a match beside its map (``/workspace/project`` answers with it): the
ranked list, the map sharing one selection with it, a detail panel per site, the near
misses and the excluded sites counted by reason. Everything shown comes from the match's
own result (:meth:`matching.results.MatchResult.to_dict`), as the JSON API answers it."""

from __future__ import annotations

import json
from typing import Any

import shapely
from fastapi.responses import HTMLResponse

from geo_service.web.templating import PageContext, render
from layers.catalog import BUDGETS
from layers.store.matches import SavedMatch
from maps.dossier.view import near_miss_rows
from matching.compare import Comparison
from matching.connections import CONNECTION_LABELS
from matching.zone import Zone

DRAWN_SOURCES = ("power", "highway")
"""Connections drawn as lines: the substation and the interchange (the others are pipes
whose route the data does not hold)."""


def map_features(result: dict[str, Any], zone: Zone) -> dict[str, Any]:
    """What the results map draws, as GeoJSON (EPSG:4490): every ranked site, near miss,
    connection line and the infrastructure they connect to; each feature says which site
    it belongs to, so a click on it selects that site."""
    infra = zone.infrastructure.set_index("infra_id")
    features = _context(zone)
    used: set[str] = set()
    for site in result["sites"]:
        key = f"site-{site['rank']}"
        props = {
            "kind": site["kind"],
            "key": key,
            "rank": site["rank"],
            "label": site["name"] or "/".join(site["ids"]),
        }
        features.append({"type": "Feature", "geometry": site["geometry"], "properties": props})
        shape = shapely.geometry.shape(site["geometry"])
        for c in site["connections"]:
            target = infra.geometry.get(c["source_id"]) if c["source_id"] else None
            if c["utility"] not in DRAWN_SOURCES or target is None:
                continue
            used.add(c["source_id"])
            line = shapely.shortest_line(shape, target)
            props = {"kind": "line", "key": key, "utility": c["utility"], "label": c["source"]}
            features.append(
                {"type": "Feature", "geometry": shapely.geometry.mapping(line), "properties": props}
            )
    for i, miss in enumerate(result["near_misses"]):
        props = {"kind": "near", "key": f"near-{i}", "label": "/".join(miss["ids"])}
        features.append({"type": "Feature", "geometry": miss["geometry"], "properties": props})
    for infra_id in sorted(used):
        row = infra.loc[infra_id]
        props = {
            "kind": "infra",
            "key": f"infra-{infra_id}",
            "label": str(row.get("name") or infra_id),
            "infra_kind": str(row["kind"]),
        }
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(row.geometry),
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _context(zone: Zone) -> list[dict[str, Any]]:
    """The parks' outlines and the roads, drawn under the sites so the map can be read
    offline, without a basemap."""
    out = []
    for kind, frame, name in (("park", zone.parks, "name"), ("road", zone.roads, "name")):
        for i, (label, geometry) in enumerate(zip(frame[name], frame.geometry, strict=True)):
            props = {
                "kind": kind,
                "key": f"{kind}-{i}",
                "label": label if isinstance(label, str) else "",
            }
            out.append(
                {
                    "type": "Feature",
                    "geometry": shapely.geometry.mapping(geometry),
                    "properties": props,
                }
            )
    return out


def script_json(value: object) -> str:
    """JSON safe inside a ``<script type="application/json">`` block: no ``</script>``
    or comment opener can be spelt by a name in the data."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def budget_rows(site: dict[str, Any], request: dict[str, Any]) -> list[dict[str, Any]]:
    """The budgets this project draws at ``site`` (its park's, or the site's own quota):
    what is left before, what the project needs, and what is left after — from the
    site's budget checks, whose margin is what is left after."""
    rows = []
    checks = {c["key"]: c for c in site["checks"]}
    for budget in BUDGETS:
        check = checks.get(f"budget_{budget.check}")
        need = (
            request.get(budget.need_field)
            if budget.need_field
            else request.get("emissions_t", {}).get(budget.key)
        )
        if check is None or check["margin"] is None or not need:
            continue
        after = float(check["margin"])
        rows.append(
            {"name": check["name"], "unit": check["unit"], "before": after + need,
             "need": need, "after": after}
        )  # fmt: skip
    return rows


def weakest(site: dict[str, Any], n: int = 3) -> list[dict[str, Any]]:
    """The ``n`` checks a site passes with the least margin (what a change would break
    first), by margin in the check's own unit."""
    with_margin = [c for c in site["checks"] if c["margin"] is not None and c["ok"]]
    return sorted(with_margin, key=lambda c: c["margin"])[:n]


def results_page(
    page: PageContext,
    data: dict[str, Any],
    zone: Zone,
    *,
    saved: SavedMatch | None = None,
    comparison: Comparison | None = None,
) -> HTMLResponse:
    """The page of a match's result (``data``: as the API answered it); ``saved``: the
    saved match it is, whose permalink the page gives."""
    context = results_context(data, zone)
    return render(page, "results.html", saved=saved, comparison=comparison, **context)


def results_context(data: dict[str, Any], zone: Zone) -> dict[str, Any]:
    """What the results' templates show of a result: the page and the part a re-rank
    replaces (``_ranked.html``) read the same."""
    ids = zone.parks["park_id"].astype(str)
    parks = dict(zip(ids, zone.parks["name"].astype(str), strict=True))
    return {
        "result": data,
        "near_misses": near_miss_rows(data),
        "park_names": parks,
        "connection_labels": CONNECTION_LABELS,
        "weakest": weakest,
        "budget_rows": budget_rows,
        "top_score": max((s["score"] for s in data["sites"]), default=1.0) or 1.0,
        "features": script_json(map_features(data, zone)),
    }
