"""``POST /match.pdf`` and ``POST /match.xlsx``: the dossier of a match (planners and
admins), with the same body and ``top`` as ``POST /match``.

:func:`dossier_response` answers a result's dictionary as a file; a saved match's
routes answer theirs with it too (``/matches/{id}.pdf``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from geo_service.auth import Caller
from geo_service.deps import PlannerDep, StoreDep, ZonesDep
from geo_service.routing import ProjectRoute, keeps_zone
from geo_service.schemas import PROJECT_EXAMPLES
from geo_service.zones import ZoneCache
from maps.dossier.meta import DossierMeta, file_stem, is_synthetic
from matching.engine import match
from matching.request import ProjectRequest

router = APIRouter(tags=["matching"], route_class=ProjectRoute)

DossierKind = Literal["pdf", "xlsx"]
PDF_TOP = 10
"""The most sites a PDF dossier ranks: each gets a page with its own map (about 0.4 s of
drawing each), and a dossier is for the few sites a leader will read (the workbook has
them all)."""
MEDIA_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def author(caller: Caller) -> str:
    """Who a dossier names as its author: the key's or session's holder, else the role."""
    return caller.name or caller.role.value


async def dossier_response(
    result: dict[str, Any], meta: DossierMeta, kind: DossierKind, *, zones: ZoneCache
) -> Response:
    """The dossier of ``result`` (:meth:`~matching.results.MatchResult.to_dict`, or a
    saved match's stored copy) as a download named after the project. Rendering is
    CPU work: it runs off the event loop."""
    if kind == "pdf":
        from maps.dossier.pdf import dossier_pdf

        zone = await run_in_threadpool(zones.get)
        body = await run_in_threadpool(dossier_pdf, result, zone, meta)
    else:
        from maps.dossier.workbook import dossier_xlsx

        body = await run_in_threadpool(dossier_xlsx, result, meta)
    name = f"{file_stem(result)}.{kind}"
    disposition = f"attachment; filename=\"dossier.{kind}\"; filename*=UTF-8''{quote(name)}"
    return Response(
        body, media_type=MEDIA_TYPES[kind], headers={"Content-Disposition": disposition}
    )


def _route(kind: DossierKind) -> None:
    @router.post(
        f"/match.{kind}",
        summary=f"项目选址报告 {kind.upper()} (the dossier of a match)",
        response_class=Response,
        responses={200: {"content": {MEDIA_TYPES[kind]: {}}}},
        name=f"match_dossier_{kind}",
    )
    @keeps_zone  # a query sent as a body
    async def post_dossier(
        zones: ZonesDep,
        caller: PlannerDep,
        request: Annotated[
            ProjectRequest,
            Body(
                description="a project request, as POST /match", openapi_examples=PROJECT_EXAMPLES
            ),
        ],
        top: int = Query(  # the limit depends on the kind of file
            10,
            ge=1,
            le=PDF_TOP if kind == "pdf" else 100,
            description=f"how many sites to rank (a PDF has a page for each: at most {PDF_TOP})",
        ),
    ) -> Response:
        zone = await run_in_threadpool(zones.get)
        found = await run_in_threadpool(match, request, zone, top_n=top)
        result = await run_in_threadpool(found.to_dict)  # every excluded site, with reasons
        meta = DossierMeta(author(caller), synthetic=is_synthetic(zone))
        return await dossier_response(result, meta, kind, zones=zones)


_route("pdf")
_route("xlsx")


def _saved_route(kind: DossierKind) -> None:
    @router.get(
        f"/matches/{{match_id}}/dossier.{kind}",
        summary=f"已保存匹配的选址报告 {kind.upper()} (a saved match's dossier, as it was run)",
        response_class=Response,
        responses={200: {"content": {MEDIA_TYPES[kind]: {}}}},
        name=f"saved_match_dossier_{kind}",
    )
    async def saved_dossier(
        store: StoreDep,
        zones: ZonesDep,
        _caller: PlannerDep,
        match_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,40}$")],
    ) -> Response:
        saved = await run_in_threadpool(store.matches.get, match_id)
        zone = await run_in_threadpool(zones.get)
        meta = DossierMeta(
            saved.actor, saved.created_at, synthetic=is_synthetic(zone), match_id=saved.id
        )
        return await dossier_response(saved.result, meta, kind, zones=zones)


_saved_route("pdf")
_saved_route("xlsx")
