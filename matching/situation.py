"""One request against one kind of site of a zone: what constraints and criteria read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from matching.networks import Access
from matching.request import ProjectRequest
from matching.zone import Sites, Zone


@dataclass(frozen=True)
class Situation:
    """A request, the zone, the sites of the kind it asks for, and (land) the substations
    each site can use, computed once per request."""

    request: ProjectRequest
    zone: Zone
    sites: Sites
    access: Access | None = None


def as_of(request: ProjectRequest) -> dt.date:
    """The date readiness is judged on: the start date, or today."""
    return request.start_by or dt.date.today()
