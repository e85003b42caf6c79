"""Match results for people: a Chinese table in the terminal, and GeoJSON for GIS."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table

from layers.catalog import PARCELS
from layers.units import amount
from matching.results import MatchResult, RankedSite


def print_match(console: Console, result: MatchResult) -> None:
    """Print a match as a planner reads it: ranked sites, why, near misses, exclusions."""
    console.print(_heading(result))
    console.print(_criteria_table(result))
    console.print(_sites_table(result))
    if result.near_misses:
        console.print(_near_misses_table(result))
    if result.excluded_counts:
        console.print(_excluded_table(result))


def _heading(result: MatchResult) -> str:
    """The request's name, the counts, the method and the data it ran on."""
    title = rich_escape(result.request.name)  # a name like "[/x]" is not console markup
    noun = "地块" if result.layer == PARCELS.name else "厂房"
    return (
        f"[bold]{title}[/bold] — {result.n_sites} 个{noun}, "
        f"{result.n_feasible} 个满足全部硬约束"
        + (f", 另拼合 {result.n_groups} 组相邻地块" if result.n_groups else "")
        + f" (method {result.method}; as of {result.as_of}; data versions "
        f"{result.versions})"
    )


def _criteria_table(result: MatchResult) -> Table:
    """Which criteria score in this match, with what weight, and why."""
    table = Table(title="评分项 (criteria in play)")
    table.add_column("评分项 (criterion)", overflow="fold")
    table.add_column("权重 (weight)", justify="right")
    table.add_column("原因 (why)", overflow="fold")
    table.add_column("计分规则 (scale)", overflow="fold")
    for shown in result.described():
        why = str(shown["why"])
        if shown["constant"] and shown["in_play"]:
            why += "; 各候选相同, 不区分名次 (the same for every candidate)"
        table.add_row(
            rich_escape(str(shown["name"])),
            f"{shown['weight']:.2f}",
            rich_escape(why),
            rich_escape(str(shown["rule"])),
        )
    return table


def _sites_table(result: MatchResult) -> Table:
    """One row per ranked site: where, how big, its score and rank range, its three best
    criteria and its connection plan."""
    table = Table(title="推荐选址 (ranked sites)", show_lines=True)
    # A parcel id is what a planner types next: never cut. Its column is as wide as the
    # longest id; every other column wraps (folds) to fit a narrow terminal.
    widest = max((len(i) for site in result.sites for i in site.ids[:4]), default=0)
    for column in (
        "名次",
        "选址",
        "园区",
        "面积",
        "得分 / 名次区间±20%权重",
        "主要得分项",
        "接入方案",
    ):
        table.add_column(column, overflow="fold", min_width=widest if column == "选址" else None)
    names = {c.key: c.name.split(" (")[0] for c in result.criteria}
    for site in result.sites:
        best = result.leading(site)
        ids = "\n".join(site.ids[:4]) + (f"\n等{len(site.ids)}宗" if len(site.ids) > 4 else "")
        table.add_row(
            *map(
                rich_escape,
                (
                    str(site.rank),
                    f"{ids}\n{site.name}",
                    site.park_id,
                    f"{site.size:,.0f} {site.size_unit}"
                    + (f"\n可分租, 共 {site.whole:,.0f}" if site.whole else ""),
                    f"{site.score:.3f}\n{site.rank_range[0]}–{site.rank_range[1]}",
                    "\n".join(f"{names[k]} {v:.3f}" for k, v in best),
                    _plan(site),
                ),
            )
        )
    return table


def _plan(site: RankedSite) -> str:
    """A site's power, water and road connections, with distance and any upgrade needed."""
    return "; ".join(
        f"{c.utility}: {c.source or '无'}"
        + (f" {c.distance_m / 1000:.1f}km" if c.distance_m is not None else "")
        + (" ⚠需增容" if c.upgrade_needed else "")
        for c in site.connections
        if c.utility in ("power", "water", "road")
    )


def _near_misses_table(result: MatchResult) -> Table:
    misses = Table(title="接近满足的候选 (near misses: by how little they lack)")
    for column in ("选址", "面积", "差距", "未满足", "需要 (what it would take)"):
        misses.add_column(column, overflow="fold", no_wrap=column == "选址")
    for miss in result.near_misses:
        misses.add_row(
            *map(
                rich_escape,
                (
                    ", ".join(miss.ids),
                    f"{miss.size:,.0f}",
                    f"{amount(100.0 * miss.shortfall, '%')} %",
                    "\n".join(
                        f.detail + (f" · {f.lacks}" if len(miss.failures) > 1 else "")
                        for f in miss.failures
                    ),
                    "\n".join(f"[{f.remedy_label}] {f.remedy}" for f in miss.failures),
                ),
            )
        )
    return misses


def _excluded_table(result: MatchResult) -> Table:
    """How many sites each constraint excluded, most first."""
    excluded = Table(title="排除原因统计 (sites excluded, per constraint)")
    excluded.add_column("约束 (constraint)", overflow="fold")
    excluded.add_column("排除数 (sites)", justify="right")
    for name, count in sorted(result.excluded_counts.items(), key=lambda kv: -kv[1]):
        excluded.add_row(rich_escape(name), str(count))
    return excluded


def match_geojson(result: MatchResult) -> dict[str, Any]:
    """Ranked sites and near misses as one GeoJSON FeatureCollection (EPSG:4490)."""
    data = result.to_dict(excluded_limit=0)
    features = []
    for site in data["sites"]:
        geometry = site.pop("geometry")
        features.append(
            {"type": "Feature", "geometry": geometry, "properties": {"role": "ranked", **site}}
        )
    for miss in data["near_misses"]:
        geometry = miss.pop("geometry")
        features.append(
            {"type": "Feature", "geometry": geometry, "properties": {"role": "near_miss", **miss}}
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            k: data[k]
            for k in ("request", "method", "weights", "counts", "data_versions", "excluded_counts")
        },
    }
