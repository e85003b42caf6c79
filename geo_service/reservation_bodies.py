"""The bodies of the reservation routes, shared by the JSON API
(:mod:`geo_service.ledger_routes`) and the planner's pages
(:mod:`geo_service.web.reserve_pages`): a form posts what the API takes, validated the
same way."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from layers.catalog import ON_OFFER, PARCELS
from layers.text import checked_id, invisible, normalise_text

# Built from the catalog: a value list OpenAPI shows as an enum (mypy cannot see through
# a Literal made at run time, hence the ignores).
Reservable = Literal[tuple(ON_OFFER)]  # type: ignore[valid-type]
"""A layer whose sites can be reserved."""
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
"""No control characters: no id or name has them (and PostgreSQL text cannot hold NUL)."""
# Ids as the store spells them (NFKC, trimmed): "P01 " or "Ｐ０１" finds P01; one with an
# invisible character is refused (400) naming it.
SiteId = Annotated[str, Field(min_length=1, max_length=60, pattern=PRINTABLE),
                   AfterValidator(checked_id)]  # fmt: skip


def _text(value: str) -> str:
    found = invisible(value)
    if found:
        raise ValueError(f"含不可见字符 {', '.join(found)}, 请删除 (invisible characters)")
    return normalise_text(value)


class StrictBody(BaseModel):
    """A body that names only its own fields, and no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ReservationBody(StrictBody):
    """A site held for a signed project, and what the project draws from the budgets."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "layer": PARCELS.name,
                    "site_id": "JZ2026-001",
                    "project": "大恒 一期",
                    "energy_tce": 1200,
                    "emissions_t": {"so2": 0.5},
                }
            ]
        }
    )
    layer: Reservable  # type: ignore[valid-type]  # a Literal made at run time
    site_id: SiteId
    project: Annotated[
        str, Field(min_length=1, max_length=200, pattern=PRINTABLE), AfterValidator(_text)
    ]
    energy_tce: float = Field(default=0.0, ge=0, description="annual energy use, tce")
    emissions_t: dict[str, float] = Field(default_factory=dict, description="t/年 per pollutant")
    power_mva: float = Field(default=0.0, ge=0)
    substation_id: SiteId | None = None
    expires_on: dt.date | None = Field(
        default=None, description="the last day it holds (Asia/Shanghai); none: until released"
    )
    match_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")] | None = Field(
        default=None, description="the saved match the site was chosen from"
    )


class ReleaseBody(StrictBody):
    """Why a reservation is released (kept with it and in the audit)."""

    reason: Annotated[
        str, Field(min_length=1, max_length=500, pattern=PRINTABLE), AfterValidator(_text)
    ]
