"""``POST /match``: rank sites for a project (planners and admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.openapi.models import Example
from starlette.concurrency import run_in_threadpool

from geo_service.bodies import OffLoopJSONRoute
from geo_service.deps import PlannerDep, ZonesDep
from matching.engine import match
from matching.request import parse_request

router = APIRouter(tags=["matching"], route_class=OffLoopJSONRoute)

PROJECT_EXAMPLES: dict[str, Example] = {
    "land": {
        "summary": "用地项目 (a project that needs land)",
        "value": {"name": "小项目", "industry": "装备制造", "area": {"min_mu": 20, "max_mu": 200}},
    },
    "factory": {
        "summary": "租赁厂房 (a project that rents a factory)",
        "value": {
            "name": "清洁机器人扩产",
            "industry": "装备制造",
            "site_kind": "factory",
            "factory": {"floor": {"min_m2": 4000, "max_m2": 12000}},
        },
    },
}
"""Project requests for the API docs; ``examples/requests`` has complete ones."""


@router.post("/match", summary="为项目匹配地块或厂房 (rank sites for a project)")
async def post_match(
    zones: ZonesDep,
    _caller: PlannerDep,
    body: Annotated[
        dict[str, Any],
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
    request = parse_request(body)
    # Matching is CPU work; keep the event loop free for other requests.
    zone = await run_in_threadpool(zones.get)
    result = await run_in_threadpool(match, request, zone, top_n=top)
    return result.to_dict(excluded_limit=excluded)
