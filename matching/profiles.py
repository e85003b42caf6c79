"""What differs between the kinds of site a project may ask for: land or a factory.

A :class:`SiteProfile` holds, for one kind, the sites it draws from, its hard constraints
(in the order results list them), its soft criteria, the utility networks its connection
plan covers and how its size is measured. The engine reads the profile and never asks
which kind it has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from layers.catalog import POWER, UTILITIES
from layers.schema import Utility
from layers.vocabulary import FACTORY_STATUS_ZH, PARCEL_STATUS_ZH
from matching import criteria as c
from matching import factories, land
from matching.buildable import buildable
from matching.constraints import ConstraintRule, budgets, logistics, status
from matching.criteria import Criterion
from matching.networks import substation_access
from matching.request import ProjectRequest, SiteKind
from matching.situation import Situation
from matching.zone import Sites, Zone

FloatArray = npt.NDArray[np.float64]
CandidateKind = Literal["parcel", "group", "factory"]
"""What a ranked site is: one parcel, an assembled group of parcels, or one factory."""


@dataclass(frozen=True)
class SiteProfile:
    """Everything matching does differently for one :data:`~matching.request.SiteKind`."""

    kind: SiteKind
    single: CandidateKind
    """What one site of this kind is called in a result."""
    sites: Callable[[Zone], Sites]
    constraints: tuple[ConstraintRule, ...]
    criteria: tuple[Criterion, ...]
    networks: tuple[Utility, ...]
    """The networks its connection plan covers (a building's water and gas are facts of
    the building, checked as constraints)."""
    size_column: str
    size_unit: str
    uses_substations: bool
    """Whether the substations each site can reach are worked out once per request."""
    can_assemble: bool
    """Whether neighbouring sites may be offered together when single ones are too small."""
    has_access: bool
    """Whether every site already has its road access (an existing building)."""
    offered: Callable[[Situation], FloatArray] | None = None
    """The size each site is offered at, where not all of ``size_column`` (a building
    leased in part)."""

    def sizes(self, s: Situation) -> FloatArray:
        """The size of each site as a result states it, in ``size_unit``."""
        if self.offered is not None:
            return self.offered(s)
        return np.asarray(s.sites.column(self.size_column), dtype=float)

    def situation(self, request: ProjectRequest, zone: Zone) -> Situation:
        """The request against this kind's sites of ``zone``."""
        sites = self.sites(zone)
        access = substation_access(request, zone, sites) if self.uses_substations else None
        return Situation(request, zone, sites, access)


LAND = SiteProfile(
    kind="land",
    single="parcel",
    sites=lambda zone: zone.parcels,
    constraints=(
        status(PARCEL_STATUS_ZH, "available"),
        land.land_use,
        land.area,
        buildable,
        land.readiness,
        land.power,
        land.networks,
        budgets,
        logistics,
        land.standard_land,
    ),
    criteria=(
        c.INTERCHANGE,
        c.RAIL,
        c.AIRPORT,
        c.SUBSTATION,
        c.READINESS,
        c.PRICE,
        c.AREA_FIT,
        c.PARK_FIT,
    ),
    networks=UTILITIES,
    size_column="area_mu",
    size_unit="亩",
    uses_substations=True,
    can_assemble=True,
    has_access=False,
)
FACTORY = SiteProfile(
    kind="factory",
    single="factory",
    sites=lambda zone: zone.factories,
    constraints=(
        status(FACTORY_STATUS_ZH, "idle"),
        factories.floor,
        factories.building,
        factories.fire,
        factories.rent,
        factories.available,
        factories.connected,
        budgets,
        logistics,
    ),
    criteria=(c.RENT, c.FLOOR_FIT, c.INTERCHANGE, c.AVAILABILITY, c.HEIGHT, c.PARK_FIT),
    networks=(POWER,),
    size_column="floor_m2",
    size_unit="m²",
    uses_substations=False,
    can_assemble=False,
    has_access=True,
    offered=lambda s: factories.lease(s).leased_m2,
)
PROFILES: dict[SiteKind, SiteProfile] = {p.kind: p for p in (LAND, FACTORY)}
