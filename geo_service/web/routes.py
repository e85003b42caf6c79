"""The shell's own pages: the staff home (``/workspace``) and the assets every page loads
(``/assets/…``)."""

from __future__ import annotations

import datetime as dt
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse
from starlette.concurrency import run_in_threadpool

from geo_service.auth import STAFF_ROLES, Role
from geo_service.deps import StoreDep
from geo_service.routing import ServiceRoute
from geo_service.web.access import page_for
from geo_service.web.i18n import N_
from geo_service.web.templating import PageContext, render
from layers.errors import NotFound
from layers.store.store import Store

router = APIRouter(route_class=ServiceRoute, include_in_schema=False)
STATIC = Path(__file__).with_name("static")
ASSETS = {p.name: p for p in STATIC.iterdir() if p.is_file()}
"""Every file of ``static/``, by name: no path from a request is ever joined."""


@dataclass(frozen=True)
class Task:
    """A card on the staff home: what this role can do here, and how much is waiting.
    ``title``, ``text`` and ``count_label`` are English message ids."""

    title: str
    text: str
    href: str | None = None
    count: int | None = None
    count_label: str = ""


def tasks(store: Store, role: Role) -> list[Task]:
    """The cards of ``role``'s home, with counts read from the store."""
    out: list[Task] = []
    if role in (Role.PLANNER, Role.ADMIN):
        out.append(
            Task(
                N_("Match a project"),
                N_(
                    "Describe an incoming project in a form and see the parcels or factories "
                    "that can take it, ranked, on a map."
                ),
                "/workspace/project",
            )
        )
        week = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
        out.append(
            Task(
                N_("Saved matches"),
                N_("Every match run here, as it was run: reopen, run again, hand over."),
                "/workspace/matches",
                count=store.matches.listing(since=week, limit=1).total,
                count_label=N_("matches in the last 7 days"),
            )
        )
    out.append(
        Task(
            N_("Reservations"),
            N_("Sites and park budgets held for signed projects until they expire."),
            "/workspace/reservations",
            count=len(store.reservations.listing(active_only=True)),
            count_label=N_("open reservations"),
        )
    )
    if role in (Role.LAND_BUREAU, Role.ADMIN):
        out.append(
            Task(
                N_("Stock lists"),
                N_(
                    "The yearly list of transferable land: staged lists wait to be checked "
                    "and published."
                ),
                count=sum(r.staged for r in store.releases.all()),
                count_label=N_("lists staged"),
            )
        )
    out.append(
        Task(
            N_("Investor map"),
            N_("What investors see: the parcels and factories on offer."),
            "/maps/investor",
        )
    )
    return out


@router.get("/workspace", response_class=HTMLResponse)
async def home(
    store: StoreDep,
    page: Annotated[PageContext, page_for(*STAFF_ROLES)],
) -> HTMLResponse:
    cards = await run_in_threadpool(tasks, store, page.caller.role)
    return render(page, "home.html", tasks=cards)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The icon a browser asks for on the first page it opens (map pages name none)."""
    return asset("favicon.ico")


@router.get("/assets/{name}")
def asset(name: str) -> FileResponse:
    path = ASSETS.get(name)
    if path is None:
        raise NotFound("no such asset")
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=3600"})
