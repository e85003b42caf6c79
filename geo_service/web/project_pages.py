"""The planner's project form (``/workspace/project``): start blank, from an example or
from an uploaded request; validate with the API's model; match, or download the request.
"""

from __future__ import annotations

import difflib
import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from geo_service.deps import SettingsDep, StoreDep, ZonesDep, actor_of
from geo_service.match_runs import save_result
from geo_service.routing import ServiceRoute, keeps_zone
from geo_service.settings import Settings
from geo_service.web.access import PlannerPage
from geo_service.web.project_form import (
    FormField,
    form_values,
    groups,
    leaves,
    request_data,
    validate,
)
from geo_service.web.templating import PageContext, render
from layers.catalog import PARKS
from layers.errors import NotFound
from matching.engine import match
from matching.zone import Zone

router = APIRouter(route_class=ServiceRoute, include_in_schema=False)
UPLOAD_LIMIT = 256 * 1024
"""A request is a few hundred bytes; a file larger than this is not one."""


def _parks(zone: Zone) -> dict[str, str]:
    ids = zone.parks[PARKS.id_field].astype(str)
    return dict(zip(ids, zone.parks["name"].astype(str), strict=True))


def _examples(settings: Settings) -> list[str]:
    return sorted(p.stem for p in settings.examples_dir.glob("*.json"))


def _form(
    page: PageContext,
    zone: Zone,
    settings: Settings,
    *,
    values: dict[str, Any],
    errors: dict[str, list[dict[str, Any]]] | None = None,
    notice: tuple[str, str] | None = None,
) -> HTMLResponse:
    return render(
        page,
        "project_form.html",
        groups=groups(_parks(zone)),
        values=values,
        errors=errors or {},
        examples=_examples(settings),
        notice=notice,
    )


@router.get("/workspace/project", response_class=HTMLResponse)
async def project_form(
    page: PlannerPage,
    store: StoreDep,
    zones: ZonesDep,
    settings: SettingsDep,
    example: Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,60}$")] = None,
    from_match: Annotated[
        str | None, Query(alias="match", pattern=r"^[A-Za-z0-9_-]{1,40}$")
    ] = None,
) -> HTMLResponse:
    """The form: blank, or filled from an example request or from a saved match's."""
    zone = await run_in_threadpool(zones.get)
    values: dict[str, Any] = {"site_kind": "land"}
    if from_match:
        saved = await run_in_threadpool(store.matches.get, from_match)
        values = form_values(saved.request)
    elif example:
        path = settings.examples_dir / f"{example}.json"
        if not path.is_file():
            raise NotFound(f"没有示例需求 {example!r} (no example request)")
        values = form_values(json.loads(path.read_text(encoding="utf-8")))
    return _form(page, zone, settings, values=values)


def _fields(zone: Zone) -> tuple[FormField, ...]:
    return tuple(f for g in groups(_parks(zone)) for f in g.fields)


@router.post("/workspace/project", response_class=HTMLResponse)
@keeps_zone  # a query sent as a form
async def project_submit(
    request: Request,
    page: PlannerPage,
    store: StoreDep,
    zones: ZonesDep,
    settings: SettingsDep,
) -> Response:
    """Match the project described, save the match and show it at its permalink (or, with
    ``action=download``, answer the request as a JSON file)."""
    zone = await run_in_threadpool(zones.get)
    form = await request.form()
    fields = _fields(zone)
    values = {f.name: _posted(form, f) for f in fields}
    data = request_data(form, fields)
    project, errors = validate(data)
    if project is None:
        return _form(page, zone, settings, values=values, errors=errors)
    if form.get("action") == "download":
        body = json.dumps(
            project.model_dump(mode="json", exclude_defaults=True), ensure_ascii=False, indent=2
        )
        return Response(
            body,
            media_type="application/json",
            headers={
                "Content-Disposition": 'attachment; filename="request.json"; '
                f"filename*=UTF-8''{quote(project.name, safe='')}.json"
            },
        )
    result = await run_in_threadpool(match, project, zone, top_n=10)
    actor = actor_of(page.caller, request)
    saved = await run_in_threadpool(
        save_result, store, project, result, actor=actor, top=10, excluded=200
    )
    return RedirectResponse(f"/workspace/matches/{saved.id}", status_code=303)


def _posted(form: Any, f: FormField) -> Any:
    return form.getlist(f.name) if f.widget == "many" else form.get(f.name)


@router.post("/workspace/project/upload", response_class=HTMLResponse)
@keeps_zone  # a request read from a file, not the layers
async def project_upload(
    page: PlannerPage,
    zones: ZonesDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    """Fill the form from a request file; what it cannot hold is said, not dropped."""
    zone = await run_in_threadpool(zones.get)
    raw = await file.read(UPLOAD_LIMIT + 1)
    name = file.filename or "request.json"
    try:
        if len(raw) > UPLOAD_LIMIT:
            raise ValueError("too large")
        data = json.loads(raw.decode("utf-8-sig"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except (ValueError, UnicodeDecodeError):
        return _form(page, zone, settings, values={"site_kind": "land"}, notice=(name, "not_json"))
    values = form_values(data)
    known = {path for path, _ in leaves()}
    unknown = sorted(
        k for k in values if k not in known and k.split(".")[0] not in ("emissions_t", "weights")
    )
    _, errors = validate(data)
    for key in unknown:
        close = difflib.get_close_matches(key, sorted(known), n=1)
        errors.setdefault("", []).append(
            {
                "type": "unknown_field",
                "msg": key,
                "ctx": {"field": key, "close": close[0] if close else ""},
            }
        )
    return _form(page, zone, settings, values=values, errors=errors, notice=(name, "loaded"))
