"""Matching for planners and admins: ``POST /match`` ranks sites for a project; the
``/matches`` routes run a match and save it, list and reopen saved matches exactly as
they were answered, and run one again on today's data, saying what changed and why.

The matching itself is :mod:`geo_service.match_runs`, which the routes, the pages and
the command line call.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from geo_service.deps import PlannerDep, StoreDep, ZonesDep, actor_of
from geo_service.match_runs import rerun, run_and_save
from geo_service.routing import ProjectRoute, keeps_zone
from geo_service.schemas import (
    PROJECT_EXAMPLES,
    Ranking,
    RerunAnswer,
    SavedMatchAnswer,
    SavedMatches,
)
from layers.store.matches import SavedMatch, SavedMatchEntry
from matching.engine import match
from matching.request import ProjectRequest

router = APIRouter(tags=["matching"], route_class=ProjectRoute)
JSON = "application/json"

Top = Annotated[int, Query(ge=1, le=100, description="how many sites to rank")]
Excluded = Annotated[
    int | None, Query(ge=0, le=100_000, description="how many excluded sites to list")
]
ProjectBody = Annotated[
    ProjectRequest,
    Body(description="a project request; see examples/requests", openapi_examples=PROJECT_EXAMPLES),
]


def entry_json(saved: SavedMatchEntry, permalink: str) -> dict[str, Any]:
    """A saved match as listed (:class:`geo_service.schemas.SavedMatchInfo`)."""
    return {**saved.as_dict(), "permalink": permalink}


def answer_bytes(saved: SavedMatch, permalink: str, **more: Any) -> bytes:
    """A saved match as answered (:class:`geo_service.schemas.SavedMatchAnswer`): the
    result's saved text is spliced in as is, so its bytes are those that were saved."""
    head = {**entry_json(saved, permalink), "request": saved.request, "top": saved.top,
            "excluded_limit": saved.excluded_limit, **more}  # fmt: skip
    text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
    return f'{text[:-1]},"result":{saved.result_json}}}'.encode()


def _permalink(http: Request, match_id: str) -> str:
    return str(http.url_for("get_saved_match", match_id=match_id))


@router.post(
    "/match", response_model=Ranking, summary="为项目匹配地块或厂房 (rank sites for a project)"
)
@keeps_zone  # a query sent as a body
async def post_match(
    zones: ZonesDep,
    _caller: PlannerDep,
    request: ProjectBody,
    top: Top = 10,
    excluded: Excluded = 100,
) -> dict[str, Any]:
    # Matching is CPU work; keep the event loop free for other requests.
    zone = await run_in_threadpool(zones.get)
    result = await run_in_threadpool(match, request, zone, top_n=top)
    return result.to_dict(excluded_limit=excluded)


@router.post(
    "/matches",
    response_model=SavedMatchAnswer,
    status_code=201,
    summary="匹配并保存 (rank sites for a project and save the match)",
)
@keeps_zone  # a saved match is no layer: the zone in force does not change
async def post_saved_match(
    http: Request,
    store: StoreDep,
    zones: ZonesDep,
    caller: PlannerDep,
    request: ProjectBody,
    top: Top = 10,
    excluded: Excluded = 100,
    investor: Annotated[str | None, Query(max_length=200, description="the investor")] = None,
) -> Response:
    saved = await run_in_threadpool(
        run_and_save, store, zones, request, actor=actor_of(caller, http), top=top,
        excluded=excluded, investor=investor,
    )  # fmt: skip
    link = _permalink(http, saved.id)
    return Response(answer_bytes(saved, link), 201, {"Location": link}, media_type=JSON)


@router.get(
    "/matches",
    response_model=SavedMatches,
    summary="保存的匹配 (saved matches, newest first; search)",
)
async def list_saved_matches(
    http: Request,
    store: StoreDep,
    _caller: PlannerDep,
    q: Annotated[str | None, Query(max_length=200, description="in the project's name")] = None,
    investor: Annotated[str | None, Query(max_length=200, description="in the investor")] = None,
    person: Annotated[str | None, Query(max_length=200, description="who ran it")] = None,
    since: Annotated[dt.date | None, Query(description="run on or after (UTC+8 day)")] = None,
    until: Annotated[dt.date | None, Query(description="run on or before (UTC+8 day)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    found = await run_in_threadpool(
        store.matches.listing, q=q, investor=investor, person=person, since=since,
        until=until, limit=limit, offset=offset,
    )  # fmt: skip
    return {
        "matches": [entry_json(e, _permalink(http, e.id)) for e in found.entries],
        "total": found.total,
        "limit": limit,
        "offset": offset,
    }


MatchId = Annotated[str, Path(max_length=64, description="the saved match's id")]


@router.get(
    "/matches/{match_id}",
    response_model=SavedMatchAnswer,
    summary="保存的匹配, 与当时完全一致 (a saved match, exactly as it was answered)",
)
async def get_saved_match(
    http: Request, store: StoreDep, _caller: PlannerDep, match_id: MatchId
) -> Response:
    saved = await run_in_threadpool(store.matches.get, match_id)
    return Response(answer_bytes(saved, _permalink(http, saved.id)), media_type=JSON)


@router.post(
    "/matches/{match_id}/rerun",
    response_model=RerunAnswer,
    status_code=201,
    summary="按今天的数据重新匹配 (run a saved match again on today's data: what changed)",
)
@keeps_zone  # a saved match is no layer
async def rerun_saved_match(
    http: Request, store: StoreDep, zones: ZonesDep, caller: PlannerDep, match_id: MatchId
) -> Response:
    new, comparison = await run_in_threadpool(
        rerun, store, zones, match_id, actor=actor_of(caller, http)
    )
    link = _permalink(http, new.id)
    body = answer_bytes(new, link, comparison=comparison.as_dict())
    return Response(body, 201, {"Location": link}, media_type=JSON)
