"""Reservations (``/reservations``) and quarterly ledgers (``/ledgers``) over HTTP."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, UploadFile
from pydantic import AfterValidator, Field, StrictInt
from starlette.concurrency import run_in_threadpool

from geo_service.auth import Caller, Role
from geo_service.deps import SettingsDep, StoreDep, actor_of, require
from geo_service.errors import error_responses
from geo_service.reservation_bodies import PRINTABLE, ReleaseBody, ReservationBody, StrictBody
from geo_service.routing import ServiceRoute
from geo_service.schemas import LedgerHistoryEntry, LedgerRow, LedgerUpload, ReservationRecord
from geo_service.uploads import upload_label, uploaded
from layers.catalog import LEDGERS
from layers.store.reservations import Needs
from layers.text import checked_id

router = APIRouter(tags=["reservations and ledgers"], route_class=ServiceRoute)
PlannersDep = Annotated[Caller, Depends(require(Role.PLANNER, Role.ADMIN))]
BureauDep = Annotated[Caller, Depends(require(Role.LAND_BUREAU, Role.ADMIN))]
StaffDep = Annotated[Caller, Depends(require(Role.PLANNER, Role.LAND_BUREAU, Role.ADMIN))]
# Built from the catalog: a value list OpenAPI shows as an enum (mypy cannot see through
# a Literal made at run time, hence the ignores).
Ledger = Annotated[Literal[LEDGERS], Path()]  # type: ignore[valid-type]
# Ids as the store spells them (NFKC, trimmed): "P01 " or "Ｐ０１" finds P01; one with an
# invisible character is refused (400) naming it.
FeatureId = Annotated[
    str, Path(min_length=1, max_length=60, pattern=PRINTABLE), AfterValidator(checked_id)
]


class LedgerEdit(StrictBody):
    """New values for some fields of one ledger row, made from ``version``."""

    version: StrictInt = Field(ge=1)  # ``true`` or ``4.0`` is no version
    quarter: str = Field(pattern=r"^(19|20)\d{2}Q[1-4]$", examples=["2026Q4"])
    values: dict[str, Any] = Field(min_length=1)
    override: str | None = Field(
        default=None,
        min_length=4,
        max_length=500,
        pattern=PRINTABLE,
        description="the reason to keep a budget overdrawn (allocated above the total); audited",
    )


@router.post(
    "/reservations",
    status_code=201,
    response_model=ReservationRecord,
    summary="预留 (reserve a site for a project)",
    responses=error_responses(404, 409),
)
async def create_reservation(
    request: Request, store: StoreDep, caller: PlannersDep, body: ReservationBody
) -> dict[str, Any]:
    needs = Needs(
        energy_tce=body.energy_tce,
        emissions_t=body.emissions_t,
        power_mva=body.power_mva,
        substation_id=body.substation_id,
    )
    reservation = await run_in_threadpool(
        store.reservations.reserve,
        layer=body.layer,
        site_id=body.site_id,
        project=body.project,
        needs=needs,
        actor=actor_of(caller, request),
        expires_on=body.expires_on,
        match_id=body.match_id,
    )
    return reservation.as_dict()


@router.get(
    "/reservations", response_model=list[ReservationRecord], summary="预留清单 (reservations)"
)
def list_reservations(
    store: StoreDep, _caller: StaffDep, active: Annotated[bool, Query()] = False
) -> list[dict[str, Any]]:
    return [r.as_dict() for r in store.reservations.listing(active_only=active)]


@router.post(
    "/reservations/{reservation_id}/release",
    response_model=ReservationRecord,
    summary="释放 (release a reservation)",
    responses=error_responses(409),
)
def release_reservation(
    request: Request,
    store: StoreDep,
    caller: PlannersDep,
    reservation_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: ReleaseBody | None = None,
) -> dict[str, Any]:
    """The body, optional, says why (kept with the reservation and in the audit)."""
    reason = body.reason if body is not None else None
    return store.reservations.release(
        reservation_id, actor=actor_of(caller, request), reason=reason
    ).as_dict()


@router.get(
    "/ledgers/{layer}/{feature_id}",
    response_model=LedgerRow,
    summary="台账 (a ledger row as stored, with its version)",
)
def get_ledger(store: StoreDep, _caller: StaffDep, layer: Ledger, feature_id: FeatureId) -> Any:
    return store.ledgers.row(layer, feature_id)


@router.patch(
    "/ledgers/{layer}/{feature_id}",
    response_model=LedgerRow,
    summary="修改台账 (edit a ledger row)",
    responses=error_responses(409, 422),
)
def edit_ledger(
    request: Request,
    store: StoreDep,
    caller: BureauDep,
    layer: Ledger,
    feature_id: FeatureId,
    edit: LedgerEdit,
) -> Any:
    """409 with the current values and version when the row changed since ``version``."""
    return store.ledgers.update(
        layer,
        feature_id,
        edit.values,
        version=edit.version,
        quarter=edit.quarter,
        actor=actor_of(caller, request),
        override=edit.override,
    )


@router.get(
    "/ledgers/{layer}/{feature_id}/history",
    response_model=list[LedgerHistoryEntry],
    summary="台账历史 (every edit of a row)",
)
def ledger_history(
    store: StoreDep, _caller: StaffDep, layer: Ledger, feature_id: FeatureId
) -> list[dict[str, Any]]:
    return store.ledgers.history(layer, feature_id)


@router.post(
    "/ledgers/{layer}",
    response_model=LedgerUpload,
    summary="按文件更新台账 (update ledger rows from a file)",
    responses=error_responses(409, 422),
)
async def upload_ledger(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    caller: BureauDep,
    layer: Ledger,
    file: UploadFile,
    quarter: Annotated[str, Query(pattern=r"^(19|20)\d{2}Q[1-4]$")],
    override: Annotated[
        str | None,
        Query(
            min_length=4,
            max_length=500,
            pattern=PRINTABLE,
            description="the reason to keep a budget overdrawn; audited",
        ),
    ] = None,
) -> dict[str, Any]:
    """A CSV or XLSX of rows (id column, ``version``, fields): applied whole or refused
    (409 naming the stale rows with their current values, 422 naming bad values)."""
    async with uploaded(file, allowed=(".csv", ".xlsx"), folder=settings.tmp_dir) as path:
        count = await run_in_threadpool(
            store.ledgers.update_file, layer, path, quarter=quarter,
            actor=actor_of(caller, request), name=upload_label(file), override=override,
        )  # fmt: skip
    return {"updated": count, "quarter": quarter}
