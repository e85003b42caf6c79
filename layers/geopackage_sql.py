"""GeoPackages that would make GDAL run SQL of the file's, refused before GDAL opens them."""

from __future__ import annotations

import re
import sqlite3
import string
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from layers.errors import InvalidInput, LayerValidationError, Problem

# Triggers the GeoPackage standard and GDAL put in every file: the spatial index's
# (annex F.3), GDAL's feature counts, the tile matrix and metadata checks. Triggers run
# only on writes, which a read never makes; any other is refused all the same, as
# nothing that writes GeoPackages for us adds one.
_STANDARD_TRIGGER = re.compile(
    r"rtree_.+_(insert|update[1-7]|delete)|trigger_(insert|delete)_feature_count_.+"
    r"|gpkg_(tile_matrix|metadata_reference)_.+"
)
_PLAIN_TABLE = re.compile(r"\s*CREATE\s+TABLE\b", re.IGNORECASE)
# Reading a GeoPackage's schema takes milliseconds; a schema that takes longer is hostile.
_SCHEMA_CHECK_S = 5.0


def refuse_sql_in_geopackage(path: Path) -> None:
    """Refuse a GeoPackage that would make GDAL run SQL of the file's: a layer that is a
    view (or a virtual table), any view, any trigger but the standard ones.

    Checked with Python's sqlite3 before GDAL opens the file, read-only and immutable,
    so that nothing in it runs: only the schema and ``gpkg_contents`` are read, and only
    once ``gpkg_contents`` is known to be a plain table.
    """
    problems = _problems(_read_schema(path), source=path.name)
    if problems:
        raise LayerValidationError(
            f"{path.name}: GeoPackage 只能包含数据表 (a GeoPackage may hold tables only: "
            "no views, no triggers of its own)",
            problems,
        )


@dataclass(frozen=True)
class _Schema:
    """What a GeoPackage's schema says, as far as the check needs it."""

    objects: dict[str, tuple[str, str]]  # by name as SQLite compares it: (type, sql)
    views: list[str]
    triggers: list[str]  # but the standard ones
    layers: list[str]  # gpkg_contents
    generated: list[tuple[str, str]]  # (layer, column) computed by SQL


def _read_schema(path: Path) -> _Schema:
    """The schema, read with sqlite3 read-only and immutable, under a time bound."""
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    deadline = time.monotonic() + _SCHEMA_CHECK_S
    try:
        with closing(sqlite3.connect(uri, uri=True)) as db:
            # A bound on anything this reads, should a schema be made to be slow.
            db.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
            schema = db.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
            objects = {_nocase(str(name)): (kind, sql or "") for kind, name, sql in schema}
            views = sorted(str(name) for kind, name, _ in schema if kind == "view")
            triggers = sorted(
                str(name)
                for kind, name, _ in schema
                if kind == "trigger" and not _STANDARD_TRIGGER.fullmatch(str(name))
            )
            if not _is_plain_table(objects.get("gpkg_contents")):
                raise InvalidInput(
                    f"{path.name}: 不是 GeoPackage, 缺少 gpkg_contents 表 "
                    "(not a GeoPackage: no gpkg_contents table)"
                )
            layers = [str(row[0]) for row in db.execute("SELECT table_name FROM gpkg_contents")]
            # A generated column runs its expression on every read: SQL of the file's.
            generated = [
                (layer, str(column))
                for layer in layers
                if _is_plain_table(objects.get(_nocase(layer)))
                for column, hidden in db.execute(
                    "SELECT name, hidden FROM pragma_table_xinfo(?)", (layer,)
                )
                if hidden in (2, 3)
            ]
    except sqlite3.DatabaseError:
        raise InvalidInput(
            f"{path.name}: 文件无法读取, 可能已损坏 (the file cannot be read; is it damaged?)"
        ) from None
    return _Schema(objects, views, triggers, layers, generated)


def _problems(schema: _Schema, *, source: str) -> list[Problem]:
    objects, layers = schema.objects, schema.layers
    problems = [
        Problem(
            f"图层 {layer!r} 是视图或虚拟表, 只接受普通数据表 (layer {layer!r} is a view or "
            "virtual table; only plain tables are read: export the layer as a table)",
            file=source,
        )
        for layer in layers
        if not _is_plain_table(objects.get(_nocase(layer)))
    ]
    problems += [
        Problem(
            f"图层 {layer!r} 的列 {column!r} 是计算列, 只接受普通列 (column {column!r} of "
            f"layer {layer!r} is computed by SQL; only stored values are read)",
            file=source,
            field=column,
        )
        for layer, column in schema.generated
    ]
    problems += [
        Problem(f"含视图 {name!r}, 请删除 (the file holds a view {name!r}: remove it)", file=source)
        for name in schema.views
        if _nocase(name) not in {_nocase(layer) for layer in layers}  # named above
    ]
    problems += [
        Problem(
            f"含触发器 {name!r}, 请删除 (the file holds a trigger {name!r}: remove it)",
            file=source,
        )
        for name in schema.triggers
    ]
    return problems


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _nocase(name: str) -> str:
    """A name as SQLite compares names: A–Z folded, nothing else (``str.casefold`` would
    make ``"parcelſ"``, long s, the same as ``"parcels"``, and let a view hide behind it)."""
    return name.translate(_ASCII_LOWER)


def _is_plain_table(entry: tuple[str, str] | None) -> bool:
    return entry is not None and entry[0] == "table" and bool(_PLAIN_TABLE.match(entry[1]))


__all__ = ["refuse_sql_in_geopackage"]
