"""Saved matches in the planner's workspace: the list, searchable (``/workspace/matches``),
one saved match at its permalink exactly as it was run, and "run again on today's data",
which saves the new match and shows what changed since and why."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from geo_service.deps import StoreDep, ZonesDep, actor_of
from geo_service.match_runs import rerun, save_result
from geo_service.routing import ServiceRoute, keeps_zone
from geo_service.web.access import PlannerPage
from geo_service.web.project_form import typed_number
from geo_service.web.results import results_context, results_page
from geo_service.web.templating import render
from layers.errors import InvalidInput
from matching.compare import compare
from matching.engine import match
from matching.request import parse_request

router = APIRouter(route_class=ServiceRoute, include_in_schema=False)
MatchId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
PAGE = 50


@router.get("/workspace/matches", response_class=HTMLResponse)
async def saved_matches(
    page: PlannerPage,
    store: StoreDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    investor: Annotated[str | None, Query(max_length=200)] = None,
    person: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[dt.date | None, Query()] = None,
    until: Annotated[dt.date | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    """Every match run from the workspace, newest first, searched by project, investor,
    person and date."""
    found = await run_in_threadpool(
        store.matches.listing,
        q=q or None,
        investor=investor or None,
        person=person or None,
        since=since,
        until=until,
        limit=PAGE,
        offset=offset,
    )
    search = {"q": q or "", "investor": investor or "", "person": person or "",
              "since": since or "", "until": until or ""}  # fmt: skip
    return render(page, "matches.html", listing=found, search=search, offset=offset, size=PAGE)


@router.get("/workspace/matches/{match_id}", response_class=HTMLResponse)
async def saved_match(
    page: PlannerPage, store: StoreDep, zones: ZonesDep, match_id: MatchId
) -> HTMLResponse:
    """A saved match exactly as it was run (its permalink), whatever changed since; a
    match run again says what changed from the one it repeats, and why."""
    saved = await run_in_threadpool(store.matches.get, match_id)
    comparison = None
    if saved.rerun_of:
        old = await run_in_threadpool(store.matches.get, saved.rerun_of)
        changes = await run_in_threadpool(store.matches.changes, old, saved)
        comparison = compare(old.result, saved.result, changes)
    zone = await run_in_threadpool(zones.get)
    return results_page(page, saved.result, zone, saved=saved, comparison=comparison)


@router.post("/workspace/matches/{match_id}/rerun")
@keeps_zone  # a match saved, not the layers
async def run_again(
    request: Request, page: PlannerPage, store: StoreDep, zones: ZonesDep, match_id: MatchId
) -> RedirectResponse:
    """Run a saved match's request on today's data, save it, and show it with what
    changed."""
    new, _ = await run_in_threadpool(
        rerun, store, zones, match_id, actor=actor_of(page.caller, request)
    )
    return RedirectResponse(f"/workspace/matches/{new.id}", status_code=303)


@router.post("/workspace/matches/{match_id}/rerank", response_class=HTMLResponse)
@keeps_zone  # a query sent as a form
async def rerank(
    request: Request,
    page: PlannerPage,
    store: StoreDep,
    zones: ZonesDep,
    match_id: MatchId,
    part: Annotated[Literal["ranked"] | None, Query()] = None,
) -> Response:
    """The saved match's request ranked again with the weights of the form, on today's
    data: the part of the page a re-rank replaces (``part=ranked``, for the page's
    script), the whole page, or — with ``save=1`` — saved as a new match."""
    saved = await run_in_threadpool(store.matches.get, match_id)
    form = await request.form()
    weights = {
        str(k).removeprefix("weights."): typed_number(str(v).strip())
        for k, v in form.items()
        if str(k).startswith("weights.") and str(v).strip()
    }
    zone = await run_in_threadpool(zones.get)
    try:
        project = parse_request({**saved.request, "weights": weights})
    except InvalidInput as exc:
        context = results_context(saved.result, zone)
        return render(page, "_ranked.html" if part else "results.html", status=200,
                      saved=saved, comparison=None, error=exc.message, **context)  # fmt: skip
    result = await run_in_threadpool(match, project, zone, top_n=saved.top)
    if form.get("save") == "1":
        new = await run_in_threadpool(
            save_result, store, project, result, actor=actor_of(page.caller, request),
            top=saved.top, excluded=saved.excluded_limit,
        )  # fmt: skip
        return RedirectResponse(f"/workspace/matches/{new.id}", status_code=303)
    data = result.to_dict(excluded_limit=saved.excluded_limit)
    context = results_context(data, zone)
    template = "_ranked.html" if part else "results.html"
    return render(page, template, saved=saved, comparison=None, error=None, **context)
