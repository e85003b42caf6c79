"""Map pages as HTTP answers: rendered for the service's settings, with their headers."""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse

from geo_service.settings import Settings
from maps.page import header_policy, render


def render_page(m: Any, settings: Settings) -> str:
    return render(m, standalone=False, basemap=settings.map_basemap)[0]


def page_response(html: str) -> HTMLResponse:
    """A map page with its headers; the policy is the one the page carries in its <meta>."""
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": header_policy(html),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )
