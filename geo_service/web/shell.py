"""The shell's navigation: which pages each role sees (WEB.md §Principles 3). A link a role
cannot use is never shown to it; a page not built yet has no link."""

from __future__ import annotations

from dataclasses import dataclass

from geo_service.auth import Role
from geo_service.web.i18n import N_


@dataclass(frozen=True)
class NavItem:
    """A link in the shell's navigation; ``label`` is an English message id."""

    href: str
    label: str


HOME = NavItem("/", N_("Home"))
MAP = NavItem("/maps/investor", N_("Map"))
PARCELS = NavItem("/collections/parcels/items?f=html", N_("Parcels"))
FACTORIES = NavItem("/collections/factories/items?f=html", N_("Factories"))
WORKSPACE = NavItem("/workspace", N_("Workspace"))
PROJECT = NavItem("/workspace/project", N_("Project matching"))
MATCHES = NavItem("/workspace/matches", N_("Saved matches"))
RESERVATIONS = NavItem("/workspace/reservations", N_("Reservations"))

_PUBLIC = (HOME, MAP, PARCELS, FACTORIES)
_BY_ROLE: dict[Role, tuple[NavItem, ...]] = {
    Role.PUBLIC: _PUBLIC,
    Role.PLANNER: (WORKSPACE, PROJECT, MATCHES, RESERVATIONS, MAP),
    Role.LAND_BUREAU: (WORKSPACE, MAP),
    Role.ADMIN: (WORKSPACE, PROJECT, MATCHES, RESERVATIONS, MAP),
}


def navigation(role: Role) -> tuple[NavItem, ...]:
    return _BY_ROLE[role]


ROLES: dict[Role, str] = {
    Role.PUBLIC: N_("public"),
    Role.PLANNER: N_("planner"),
    Role.LAND_BUREAU: N_("land bureau"),
    Role.ADMIN: N_("administrator"),
}
"""Each role as the shell names it (an English message id)."""
