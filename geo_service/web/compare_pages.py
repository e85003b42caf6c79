"""Two to four sites of a saved match side by side (``/workspace/matches/{id}/compare``):
one table, a column per site, with every criterion and every check of the match; the
best value of each row marked, the rows where the sites differ marked, and a small map of
each site. Everything shown comes from the saved match's own result, as it was run."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from geo_service.deps import StoreDep, ZonesDep
from geo_service.routing import ServiceRoute
from geo_service.web.access import PlannerPage
from geo_service.web.i18n import N_
from geo_service.web.results import script_json
from geo_service.web.templating import PageContext, render
from layers.store.matches import SavedMatch
from matching.zone import Zone

router = APIRouter(route_class=ServiceRoute, include_in_schema=False)
MatchId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
FEWEST, MOST = 2, 4
"""How many sites a comparison takes: one is no comparison, five no longer fit a page."""
_RANK = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True)
class Cell:
    """One site's value in a row: ``value`` compared (rounded as shown), ``note`` said
    under it; ``ok`` for a check (passes or not); ``best`` if no other site does better."""

    value: float | None
    note: float | None = None
    ok: bool | None = None
    best: bool = False


@dataclass(frozen=True)
class Row:
    """A line of the table: a criterion, a check or one of the site's facts. ``digits``:
    how the values are shown, and so how closely they are compared."""

    key: str
    name: str
    unit: str
    digits: int
    cells: tuple[Cell, ...]
    differs: bool


def picked(ranks: Sequence[str], sites: Sequence[dict[str, Any]]) -> list[int]:
    """The ranks asked for, as numbers, in the order given and each once; those that name
    no ranked site raise :class:`KeyError` (with the first)."""
    known = {s["rank"] for s in sites}
    out: list[int] = []
    for text in ranks:
        rank = int(text) if _RANK.fullmatch(text) else None
        if rank is None or rank not in known:
            raise KeyError(text)
        if rank not in out:
            out.append(rank)
    return out


def _row(
    key: str,
    name: str,
    unit: str,
    digits: int,
    values: Sequence[float | None],
    *,
    better: Callable[[float], float] | None,
    notes: Sequence[float | None] | None = None,
    oks: Sequence[bool | None] | None = None,
) -> Row:
    """A row of ``values`` (one per site); ``better`` orders them (the largest is best),
    ``None`` for a row where no value is better than another."""
    shown = [None if v is None else round(v, digits) for v in values]
    oks = oks or [None] * len(values)
    notes = notes or [None] * len(values)
    cells = tuple(
        Cell(v, n, ok, best)
        for v, n, ok, best in zip(shown, notes, oks, _best(shown, better), strict=True)
    )
    differs = len({(v, ok) for v, ok in zip(shown, oks, strict=True)}) > 1
    return Row(key, name, unit, digits, cells, differs)


def _best(shown: Sequence[float | None], better: Callable[[float], float] | None) -> list[bool]:
    """Which values no other beats; none where they are all equal (or none is better)."""
    known = {better(v) for v in shown if v is not None} if better else set()
    if better is None or len(known) < 2:
        return [False] * len(shown)
    top = max(known)
    return [v is not None and better(v) == top for v in shown]


def _larger(v: float) -> float:
    return v


def _smaller(v: float) -> float:
    return -v


def criterion_rows(result: dict[str, Any], sites: Sequence[dict[str, Any]]) -> list[Row]:
    """A row per criterion of the match: each site's raw value (best in the criterion's
    direction) with its contribution to the score under it."""
    rows = []
    for c in result["criteria"]:
        key = c["key"]
        rows.append(
            _row(
                key,
                c["name"],
                c["unit"],
                0 if c["unit"] == "m" else 2,
                [s["criteria"].get(key) for s in sites],
                better=_larger if c["benefit"] else _smaller,
                notes=[s["contributions"].get(key) for s in sites],
            )
        )
    return rows


def check_rows(sites: Sequence[dict[str, Any]]) -> list[Row]:
    """A row per check any of the sites had, in the match's order: passed or not, and by
    how much (the largest margin is best)."""
    named: dict[str, dict[str, Any]] = {}
    for site in sites:
        for check in site["checks"]:
            named.setdefault(check["key"], check)
    rows = []
    for key, first in named.items():
        mine = [next((c for c in s["checks"] if c["key"] == key), None) for s in sites]
        rows.append(
            _row(
                key,
                first["name"],
                first["unit"],
                2,
                [c["margin"] if c and c["ok"] else None for c in mine],
                better=_larger,
                oks=[c["ok"] if c else None for c in mine],
            )
        )
    return rows


def fact_rows(sites: Sequence[dict[str, Any]]) -> list[Row]:
    """The sites' rank, size and score (a smaller rank, a larger score is better; a size
    is neither); their names are message ids."""
    unit = sites[0]["size_unit"]
    return [
        _row("rank", N_("Rank"), "", 0, [s["rank"] for s in sites], better=_smaller),
        _row("size", N_("Size"), unit, 2, [s["size"] for s in sites], better=None),
        _row("score", N_("Score"), "", 3, [s["score"] for s in sites], better=_larger),
    ]


def outlines(sites: Sequence[dict[str, Any]], zone: Zone) -> list[dict[str, Any]]:
    """What each small map draws (GeoJSON, EPSG:4490): the site and its park's outline."""
    parks = zone.parks.set_index("park_id")
    maps = []
    for s in sites:
        label = " + ".join(s["ids"])
        features = []
        if s["park_id"] in parks.index:
            park = parks.loc[s["park_id"]]
            features.append(_feature(shapely.geometry.mapping(park.geometry), "park", park["name"]))
        features.append(_feature(s["geometry"], "site", label, s["name"]))
        maps.append({"key": f"site-{s['rank']}", "features": features})
    return maps


def _feature(geometry: dict[str, Any], kind: str, label: str, name: str = "") -> dict[str, Any]:
    props = {"kind": kind, "label": str(label), "name": str(name or "")}
    return {"type": "Feature", "geometry": geometry, "properties": props}


def compare_page(
    page: PageContext, saved: SavedMatch, zone: Zone, asked: Sequence[str]
) -> HTMLResponse:
    """The comparison of the sites ranked ``asked`` in ``saved``; a page saying what to
    choose where they are not 2 to 4 ranked sites (400), or name a site not ranked (404)."""
    result = saved.result
    parks = dict(
        zip(zone.parks["park_id"].astype(str), zone.parks["name"].astype(str), strict=True)
    )
    context: dict[str, Any] = {"saved": saved, "result": result, "fewest": FEWEST, "most": MOST}
    try:
        ranks = picked(asked, result["sites"])
    except KeyError as unknown:
        return render(page, "compare.html", status=404, unknown=unknown.args[0], **context)
    if not FEWEST <= len(ranks) <= MOST:
        return render(page, "compare.html", status=400, unknown=None, count=len(ranks), **context)
    by_rank = {s["rank"]: s for s in result["sites"]}
    sites = [by_rank[r] for r in ranks]
    return render(
        page,
        "compare.html",
        unknown=None,
        sites=sites,
        parks=parks,
        facts=fact_rows(sites),
        criteria=criterion_rows(result, sites),
        checks=check_rows(sites),
        differs={
            "park": len({s["park_id"] for s in sites}) > 1,
            "range": len({tuple(s["rank_range"]) for s in sites}) > 1,
        },
        maps=script_json(outlines(sites, zone)),
        **context,
    )


@router.get("/workspace/matches/{match_id}/compare", response_class=HTMLResponse)
async def compare_sites(
    page: PlannerPage,
    store: StoreDep,
    zones: ZonesDep,
    match_id: MatchId,
    site: Annotated[list[str], Query()] = [],  # noqa: B006  # FastAPI copies its default
) -> HTMLResponse:
    """2 to 4 sites of a saved match side by side (``?site=1&site=3``: their ranks)."""
    saved = await run_in_threadpool(store.matches.get, match_id)
    zone = await run_in_threadpool(zones.get)
    return compare_page(page, saved, zone, site)
