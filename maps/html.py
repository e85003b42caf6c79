"""Escaping for everything a map shows, and the HTML fragments built from data.

folium renders popup, tooltip and label strings as raw HTML (``innerHTML``), so every value
from data is escaped here, before folium or Leaflet sees it: the HTML specials, and also
backticks and ``${`` so that no value can open a JavaScript template literal.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from layers.geojson import plain


def escape(value: Any) -> str:
    """Text safe to place in HTML, attributes and JS template literals.

    Examples
    --------
    >>> escape("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    >>> escape("`${alert(1)}`")
    '&#96;&#36;{alert(1)}&#96;'
    """
    value = plain(value)
    if value is None:
        return ""
    text = (
        value
        if isinstance(value, str)
        else f"{value:,.2f}".rstrip("0").rstrip(".")
        if (isinstance(value, float))
        else str(value)
    )
    return html.escape(text, quote=True).replace("`", "&#96;").replace("$", "&#36;")


def table(title: str, rows: Iterable[tuple[str, Any]], *, note: str | None = None) -> str:
    """A small two-column HTML table (label, value) with a title; every part escaped."""
    body = "".join(
        f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>"
        for label, value in rows
        if plain(value) not in (None, "")
    )
    extra = f'<div class="gs-note">{escape(note)}</div>' if note else ""
    return f'<div class="gs-popup"><b>{escape(title)}</b><table>{body}</table>{extra}</div>'


def legend(title: str, entries: Sequence[tuple[str, str]]) -> str:
    """Legend HTML: (colour, label) pairs. Colours are ours, labels are escaped."""
    items = "".join(
        f'<div><i style="background:{colour}"></i>{escape(label)}</div>'
        for colour, label in entries
    )
    return f'<div class="gs-legend"><b>{escape(title)}</b>{items}</div>'
