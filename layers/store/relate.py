"""Spatial relations on the embedded store: SQLite has no spatial SQL, so each connection
gets a function (:data:`SQLITE_RELATE`) that asks shapely, with the filter's literal
geometry prepared once per thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import shapely
from cachetools import LRUCache

SQLITE_RELATE = "gs_relate"
"""The name of the relate function on every SQLite connection."""

RELATIONS = ("intersects", "disjoint", "contains", "within", "touches", "crosses",
             "overlaps", "equals")  # fmt: skip
# (literal, stored) argument order, so the prepared literal is the first argument.
_SHAPELY: dict[str, Callable[[Any, Any], Any]] = {
    name: getattr(shapely, name) for name in RELATIONS
} | {"contains": shapely.within, "within": shapely.contains}

_PREPARED = threading.local()
"""Each thread's own prepared literals: a prepared GEOS geometry is not safe to use from
two threads at once, and the service evaluates filters on several request threads."""


def prepared(wkb: bytes) -> shapely.Geometry:
    """A filter's literal, decoded and prepared once per thread (a filter's relation
    is evaluated row by row against the same literal)."""
    cache: LRUCache[bytes, shapely.Geometry] | None = getattr(_PREPARED, "shapes", None)
    if cache is None:
        cache = _PREPARED.shapes = LRUCache(maxsize=32)
    shape = cache.get(wkb)
    if shape is None:
        shape = cache[wkb] = shapely.from_wkb(wkb)
        shapely.prepare(shape)
    return shape


def sqlite_relate(stored: bytes | None, literal: bytes, relation: str) -> int:
    """``gs_relate(geom, wkb, relation)`` on the embedded store: 1 when the stored
    geometry stands in ``relation`` to the literal (as PostGIS's ``ST_<relation>``)."""
    if stored is None:
        return 0
    return int(bool(_SHAPELY[relation](prepared(literal), shapely.from_wkb(stored))))
