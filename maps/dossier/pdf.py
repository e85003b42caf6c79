"""The dossier as a PDF: A4, Chinese fonts embedded, maps as vectors, made on the server.

HTML from a Jinja2 template with a print stylesheet (``templates/``), laid out by
WeasyPrint (Pango finds the CJK font through fontconfig and embeds a subset); the maps
are SVG from :mod:`maps.dossier.overview`.
"""

from __future__ import annotations

import base64
from functools import cache
from typing import Any

import jinja2

from layers.units import shown
from maps.dossier.meta import DossierMeta
from maps.dossier.overview import map_layers, map_svg
from maps.dossier.view import (
    METHOD_TEXT,
    METHOD_ZH,
    check_groups,
    connection_rows,
    criteria_rows,
    criterion_values,
    ids_text,
    near_miss_rows,
)
from matching.zone import Zone

OVERVIEW_CM = (18.0, 13.5)
INSET_CM = (7.8, 6.4)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("maps.dossier", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def dossier_html(result: dict[str, Any], zone: Zone, meta: DossierMeta) -> str:
    """The dossier's HTML (maps inline), as WeasyPrint lays it out."""
    layers = map_layers(result, zone)
    sites = [
        _site(site, result, inset=_data_uri(map_svg(layers, focus=k, size_cm=INSET_CM)))
        for k, site in enumerate(result["sites"])
    ]
    size_unit = result["sites"][0]["size_unit"] if result["sites"] else ""
    near_misses = [
        {**m, "size_shown": shown(m["size"], size_unit, with_unit=False)}
        for m in near_miss_rows(result)
    ]
    return (
        _environment()
        .get_template("dossier.html")
        .render(
            r=result,
            meta=meta,
            method_zh=METHOD_ZH.get(result["method"], result["method"]),
            method_text=METHOD_TEXT,
            overview=_data_uri(map_svg(layers, size_cm=OVERVIEW_CM)),
            sites=sites,
            size_unit=size_unit,
            near_misses=near_misses,
            excluded_counts=sorted(result["excluded_counts"].items(), key=lambda kv: -kv[1]),
            criteria=criteria_rows(result),
        )
    )


def _site(site: dict[str, Any], result: dict[str, Any], *, inset: str) -> dict[str, Any]:
    readiness = site["criteria"].get("readiness")
    upgrades = [c["utility"] for c in connection_rows(site) if c["upgrade"]]
    return {
        **site,
        "ids_text": ids_text(site["ids"]),
        "size_shown": shown(site["size"], site["size_unit"], with_unit=False)
        + (
            f" / {shown(site['whole'], site['size_unit'], with_unit=False)}"
            if site.get("whole")
            else ""
        ),
        "score_shown": shown(site["score"], ""),
        "readiness": None if readiness is None else f"{readiness:.0%} 的条件已完成",
        "upgrades": "、".join(upgrades),
        "inset": inset,
        "check_groups": check_groups(site),
        "connections": connection_rows(site),
        "criterion_values": criterion_values(site, result),
    }


def dossier_pdf(result: dict[str, Any], zone: Zone, meta: DossierMeta) -> bytes:
    """The dossier of a match as PDF bytes (A4, fonts embedded).

    ``result`` is :meth:`~matching.results.MatchResult.to_dict` (or a saved match's
    stored copy of it); ``zone`` gives the overview map its parks, roads and
    infrastructure."""
    import weasyprint  # loads Pango: only when a PDF is made

    html = dossier_html(result, zone, meta)
    document: bytes = weasyprint.HTML(string=html).write_pdf()  # no target: the bytes
    return document
