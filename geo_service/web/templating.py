"""Rendering a page: the Jinja2 environment (autoescaped, with Babel's catalogs), the
shell's context, and the answer's headers.

A page runs no inline script and loads nothing from another host: its policy allows
scripts, styles and images from this service only. Data a script needs travels in a
``<script type="application/json">`` block, which the browser never runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from geo_service.auth import Caller
from geo_service.web import i18n
from geo_service.web.shell import ROLES, NavItem, navigation
from layers.schema import FieldSpec
from layers.units import decimals

POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: a form posted with "Origin: null" is refused (geo_service.deps).
    "Referrer-Policy": "same-origin",
    "Cache-Control": "private, no-cache",
    "Vary": "Cookie",
}


@dataclass(frozen=True)
class PageContext:
    """What every page of the shell knows: who asks, in which language, from where."""

    caller: Caller
    lang: i18n.Lang
    path: str
    query: str
    site_title: str

    @property
    def nav(self) -> tuple[NavItem, ...]:
        return navigation(self.caller.role)

    @property
    def role(self) -> str:
        """The caller's role as the shell names it (a message id)."""
        return ROLES[self.caller.role]

    def switch_to(self, lang: i18n.Lang) -> str:
        """This page's address in ``lang``."""
        kept = [p for p in self.query.split("&") if p and not p.startswith("lang=")]
        return f"{self.path}?{'&'.join([*kept, f'lang={lang}'])}"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("geo_service.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
        _gettext, _ngettext, newstyle=True
    )
    env.filters["label"] = _label
    env.filters["pick"] = _pick
    return env


@jinja2.pass_context
def _gettext(context: Mapping[str, Any], message: str) -> str:
    return i18n.translations(context["lang"]).gettext(message)


@jinja2.pass_context
def _ngettext(context: Mapping[str, Any], singular: str, plural: str, n: int) -> str:
    return i18n.translations(context["lang"]).ngettext(singular, plural, n)


@jinja2.pass_context
def _label(context: Mapping[str, Any], value: object, field: FieldSpec) -> str:
    """A coded value as the page's language names it (``M2`` → 二类工业用地)."""
    pair = field.labels.get(str(value)) if field.labels else None
    return i18n.pick(pair, context["lang"]) if pair else str(value)


@jinja2.pass_context
def _pick(context: Mapping[str, Any], pair: tuple[str, str]) -> str:
    return i18n.pick(pair, context["lang"])


def page_context(request: Request, caller: Caller) -> PageContext:
    lang = i18n.choose(request.query_params.get("lang"), request.cookies.get(i18n.COOKIE))
    title = request.app.state.settings.title
    return PageContext(caller, lang, request.url.path, request.url.query, title)


def render(page: PageContext, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """The page ``template`` in the page's language, with the shell's context."""
    env = environment()
    lang = page.lang

    def number(value: float | int | None, digits: int = 2) -> str:
        return i18n.number(value, lang, digits=digits)

    def qty(value: float | int | None, unit: str) -> str:
        """A quantity at its unit's precision, with its unit (layers/units.py); more
        digits where those would show a quantity that is not zero as 0 (a margin of
        0.04 MVA is not "0.0 MVA"). Distances from a kilometre on are in km."""
        if unit == "m" and value is not None and abs(value) >= 1000:
            value, unit = value / 1000, "km"
        digits = decimals(unit)
        while value and round(value, digits) == 0 and digits < decimals(unit) + 8:
            digits += 1
        shown = i18n.number(value, lang, digits=digits)
        return f"{shown} {unit}".strip() if shown else ""

    html = env.get_template(template).render(
        page=page,
        lang=lang,
        caller=page.caller,
        number=number,
        qty=qty,
        when=lambda moment: i18n.when(moment, lang),
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=HEADERS)
    if "lang" in (q.partition("=")[0] for q in page.query.split("&")):
        # The switch is remembered: the next page opens in the language chosen.
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response
