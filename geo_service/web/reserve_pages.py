"""Reserving a site from a saved match (issue 14 §6), and the reservations page.

The form is filled from the saved match: the project's name, energy and emissions, its
power in MVA (:attr:`matching.request.ProjectRequest.power_mva`), the substation of the
site's connection plan, and an expiry 30 days on. What is posted is validated by the JSON
API's own body (:class:`geo_service.reservation_bodies.ReservationBody`); the confirmation shows
each budget before and after (:meth:`~layers.store.reservations.Reservations.preview`),
and confirming reserves (:meth:`~layers.store.reservations.Reservations.reserve`) — the
functions behind ``POST /reservations``. A refusal is said on the form, values kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from geo_service.auth import STAFF_ROLES, Role
from geo_service.deps import StoreDep, actor_of
from geo_service.reservation_bodies import ReservationBody
from geo_service.routing import ServiceRoute
from geo_service.web.access import PlannerPage, page_for
from geo_service.web.templating import PageContext, render
from layers.catalog import FACTORIES, LAYERS, PARKS, POWER
from layers.errors import Conflict, InvalidInput, NotFound
from layers.store.matches import SavedMatch
from layers.store.reservations import Draw, Needs, Reservation, today
from layers.store.store import Store
from layers.units import decimals
from layers.vocabulary import POLLUTANTS
from matching.request import POWER_FACTOR, ProjectRequest

router = APIRouter(route_class=ServiceRoute, include_in_schema=False)
MatchId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
Rank = Annotated[int, Path(ge=1, le=10_000)]
HOLD_DAYS = 30
"""How long a reservation holds unless the planner says otherwise (calendar days)."""
EMISSIONS = tuple(f"emissions_t.{key}" for key in POLLUTANTS)
FIELDS = ("project", "energy_tce", *EMISSIONS, "power_mva", "substation_id", "expires_on")
"""What the form posts, by the names of the JSON API's body (emissions dotted)."""
UNITS = {"energy_tce": "tce", "power_mva": "MVA", **dict.fromkeys(EMISSIONS, "t")}


@dataclass(frozen=True)
class Power:
    """Where the form's MVA comes from, for its help text: the request's kVA or MW (at
    :data:`~matching.request.POWER_FACTOR`), and whether a factory's own supply carries it
    (then no substation is drawn from)."""

    mva: float | None
    kva: float | None
    mw: float | None
    own_supply: bool
    factor: float = POWER_FACTOR


def typed(value: float, unit: str) -> str:
    """A number as the form holds it: a decimal more than pages show (the need, not its
    rounding: 4 MW → 4.44 MVA), no thousands separator, no trailing zeros."""
    text = f"{value:.{decimals(unit) + 1}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def ranked_site(saved: SavedMatch, rank: int) -> dict[str, Any]:
    """The single site ranked ``rank`` in a saved match; an assembled group is refused
    (a reservation holds one parcel or factory)."""
    for site in saved.result["sites"]:
        if site["rank"] == rank:
            if len(site["ids"]) != 1:
                raise InvalidInput(
                    "拼合地块须逐块预留 (an assembled group is reserved parcel by parcel)"
                )
            return dict(site)
    raise NotFound(f"匹配 {saved.id} 没有第 {rank} 名 (no site ranked {rank})")


def prefill(saved: SavedMatch, site: Mapping[str, Any]) -> tuple[dict[str, str], Power]:
    """The form's values from the saved match, and where its power figure comes from."""
    request = ProjectRequest.model_validate(saved.result["request"])
    power = next((c for c in site["connections"] if c["utility"] == POWER.name), None)
    mva = request.power_mva
    own = bool(
        mva and saved.result["layer"] == FACTORIES.name and power and not power["upgrade_needed"]
    )
    values = {
        "project": request.name,
        "energy_tce": typed(request.energy_tce or 0.0, "tce"),
        "power_mva": typed(0.0 if own or not mva else mva, "MVA"),
        "substation_id": "" if own or not power else (power["source_id"] or ""),
        "expires_on": (today() + dt.timedelta(days=HOLD_DAYS)).isoformat(),
    }
    for key, amount in request.emissions_t.items():
        values[f"emissions_t.{key}"] = typed(amount, "t")
    return values, Power(mva, request.power_kva, request.power_mw, own)


def body_of(
    values: Mapping[str, str], *, layer: str, site_id: str, match_id: str
) -> tuple[ReservationBody | None, dict[str, list[dict[str, Any]]]]:
    """The JSON API's body from what the form posted, or the errors by field (empty
    numbers are zero, an empty substation or expiry is none)."""
    data: dict[str, Any] = {"layer": layer, "site_id": site_id, "match_id": match_id}
    data["project"] = values.get("project", "")
    for name in ("energy_tce", "power_mva"):
        if values.get(name, "").strip():
            data[name] = values[name].strip()
    data["emissions_t"] = {
        name.split(".", 1)[1]: values[name].strip()
        for name in EMISSIONS
        if values.get(name, "").strip()
    }
    for name in ("substation_id", "expires_on"):
        data[name] = values.get(name, "").strip() or None
    try:
        return ReservationBody.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, list[dict[str, Any]]] = {}
        for err in exc.errors(include_url=False):
            name = ".".join(str(part) for part in err["loc"])
            errors.setdefault(name, []).append(
                {"type": err["type"], "msg": err["msg"], "ctx": err.get("ctx", {})}
            )
        return None, errors


def needs_of(body: ReservationBody) -> Needs:
    return Needs(
        energy_tce=body.energy_tce,
        emissions_t=body.emissions_t,
        power_mva=body.power_mva,
        substation_id=body.substation_id,
    )


async def _reserve_page(
    page: PageContext,
    store: Store,
    match_id: str,
    rank: int,
    *,
    values: dict[str, str] | None = None,
    errors: Mapping[str, list[dict[str, Any]]] | None = None,
    problem: str | None = None,
    draws: list[Draw] | None = None,
) -> HTMLResponse:
    """The form (``draws`` None) or the confirmation of reserving the site ranked
    ``rank`` in a saved match."""
    saved = await run_in_threadpool(store.matches.get, match_id)
    site = ranked_site(saved, rank)
    filled, power = prefill(saved, site)
    return render(
        page,
        "reserve_confirm.html" if draws is not None else "reserve_form.html",
        saved=saved,
        site=site,
        layer=LAYERS[saved.result["layer"]],
        values=values if values is not None else filled,
        power=power,
        errors=errors or {},
        problem=problem,
        draws=draws or [],
        overdrawn=any(d.after is not None and d.after < 0 for d in draws or []),
        pollutants=POLLUTANTS,
        units=UNITS,
        decimals=decimals,
    )


@router.get("/workspace/matches/{match_id}/reserve/{rank}", response_class=HTMLResponse)
async def reserve_form(
    page: PlannerPage, store: StoreDep, match_id: MatchId, rank: Rank
) -> HTMLResponse:
    """The reservation of a ranked site, filled from its saved match."""
    return await _reserve_page(page, store, match_id, rank)


@router.post("/workspace/matches/{match_id}/reserve/{rank}", response_class=HTMLResponse)
async def reserve_submit(
    request: Request, page: PlannerPage, store: StoreDep, match_id: MatchId, rank: Rank
) -> Response:
    """Check the figures and show each budget before and after; with ``confirm``,
    reserve and open the reservations page on the new one."""
    saved = await run_in_threadpool(store.matches.get, match_id)
    layer, site_id = saved.result["layer"], ranked_site(saved, rank)["ids"][0]
    form = await request.form()
    values = {name: str(form.get(name, "")) for name in FIELDS}
    body, errors = body_of(values, layer=layer, site_id=site_id, match_id=match_id)

    def again(**more: Any) -> Awaitable[HTMLResponse]:
        return _reserve_page(page, store, match_id, rank, values=values, errors=errors, **more)

    if body is None or form.get("step") == "edit":
        return await again()
    try:
        needs = needs_of(body)
        if form.get("confirm") != "yes":
            draws = await run_in_threadpool(
                store.reservations.preview, layer=layer, site_id=site_id, needs=needs
            )
            return await again(draws=draws)
        made = await run_in_threadpool(
            store.reservations.reserve, layer=layer, site_id=site_id, project=body.project,
            needs=needs, actor=actor_of(page.caller, request), expires_on=body.expires_on,
            match_id=match_id,
        )  # fmt: skip
    except (Conflict, InvalidInput, NotFound) as exc:
        return await again(problem=str(exc))
    return RedirectResponse(f"/workspace/reservations?new={made.id}#r{made.id}", status_code=303)


def by_project(found: list[Reservation]) -> dict[str, list[Reservation]]:
    """Reservations by project (projects A→Z), each project's active ones first, newest
    first."""
    out: dict[str, list[Reservation]] = {}
    for r in sorted(found, key=lambda r: (r.status != "active", -r.id)):
        out.setdefault(r.project, []).append(r)
    return dict(sorted(out.items()))


@router.get("/workspace/reservations", response_class=HTMLResponse)
async def reservations_page(
    store: StoreDep,
    page: Annotated[PageContext, page_for(*STAFF_ROLES)],
    new: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> HTMLResponse:
    """Every reservation, active and past, by project; planners may release an active
    one, saying why. (The land bureau reads it.)"""
    return await _reservations(page, store, new=new)


async def _reservations(
    page: PageContext, store: Store, *, new: int | None = None, problem: str | None = None
) -> HTMLResponse:
    found = await run_in_threadpool(store.reservations.listing)
    parks = await run_in_threadpool(_park_names, store)
    return render(
        page,
        "reservations.html",
        projects=by_project(found),
        active=sum(r.status == "active" for r in found),
        parks=parks,
        new=new,
        may_release=page.caller.role in (Role.PLANNER, Role.ADMIN),
        layers=LAYERS,
        pollutants=POLLUTANTS,
        decimals=decimals,
        problem=problem,
    )


def _park_names(store: Store) -> dict[str, str]:
    parks = store.features.read(PARKS)
    return dict(zip(parks[PARKS.id_field].astype(str), parks["name"].astype(str), strict=True))


@router.post("/workspace/reservations/{reservation_id}/release")
async def release(
    request: Request,
    page: PlannerPage,
    store: StoreDep,
    reservation_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    """Release an active reservation with the reason the planner gives; a refusal (no
    reason, released already) is said on the reservations page."""
    form = await request.form()
    reason = str(form.get("reason", "")).strip()[:500]
    try:
        if not reason:
            raise InvalidInput("须注明释放原因 (say why the reservation is released)")
        await run_in_threadpool(
            store.reservations.release, reservation_id, actor=actor_of(page.caller, request),
            reason=reason,
        )  # fmt: skip
    except (Conflict, InvalidInput, NotFound) as exc:
        return await _reservations(page, store, problem=str(exc))
    return RedirectResponse(f"/workspace/reservations#r{reservation_id}", status_code=303)
