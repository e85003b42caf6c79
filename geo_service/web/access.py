"""Who may open a page, and what a browser sees when it may not: a staff page opened
without a session sends to the sign-in page and back (WEB.md §Principles 6), never to a
raw JSON 401."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from geo_service.auth import Caller, Role
from geo_service.deps import RoleCheck
from geo_service.web.templating import PageContext, page_context

LOCAL_PATH = r"^/([A-Za-z0-9_?=&.-][A-Za-z0-9/_?=&.-]*)?$"
"""Where the sign-in page may send a browser afterwards: a path on this site, never
``//host``."""
_LOCAL = re.compile(LOCAL_PATH)


def page_for(*roles: Role) -> Any:
    """A dependency giving a page its context, for ``roles`` only (``RoleCheck``: the
    public gets 401, which a browser sees as the sign-in page)."""
    check = RoleCheck(*roles)

    def context(request: Request, caller: Caller = Depends(check)) -> PageContext:  # noqa: B008
        return page_context(request, caller)

    return Depends(context)


PlannerPage = Annotated[PageContext, page_for(Role.PLANNER, Role.ADMIN)]
"""A page for planners (and administrators)."""


def is_navigation(request: Request) -> bool:
    """Whether a person's browser asked for a page (not a script's fetch, not a client)."""
    if request.method != "GET":
        return False
    mode = request.headers.get("sec-fetch-mode")
    if mode is not None:
        return mode == "navigate"
    return "text/html" in request.headers.get("accept", "")


def back_after_sign_in(request: Request) -> str:
    """The address to come back to after signing in: this one, if the sign-in page may
    send a browser there."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return here if _LOCAL.fullmatch(here) else "/workspace"


def to_sign_in(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(back_after_sign_in(request), safe='/')}", 303)
