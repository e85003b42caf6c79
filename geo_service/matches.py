"""``POST /match``: rank sites for a project (planners and admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.concurrency import run_in_threadpool

from geo_service.deps import PlannerDep, ZonesDep
from geo_service.routing import ProjectRoute, keeps_zone
from geo_service.schemas import PROJECT_EXAMPLES, Ranking
from matching.engine import match
from matching.request import ProjectRequest

router = APIRouter(tags=["matching"], route_class=ProjectRoute)


@router.post(
    "/match", response_model=Ranking, summary="为项目匹配地块或厂房 (rank sites for a project)"
)
@keeps_zone  # a query sent as a body
async def post_match(
    zones: ZonesDep,
    _caller: PlannerDep,
    request: Annotated[
        ProjectRequest,
        Body(
            description="a project request; see examples/requests",
            openapi_examples=PROJECT_EXAMPLES,
        ),
    ],
    top: Annotated[int, Query(ge=1, le=100)] = 10,
    excluded: Annotated[
        int | None, Query(ge=0, le=100_000, description="how many excluded sites to list")
    ] = 100,
) -> dict[str, Any]:
    # Matching is CPU work; keep the event loop free for other requests.
    zone = await run_in_threadpool(zones.get)
    result = await run_in_threadpool(match, request, zone, top_n=top)
    return result.to_dict(excluded_limit=excluded)
