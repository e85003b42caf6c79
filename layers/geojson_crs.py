"""GeoJSON's ``crs`` members, refused before GDAL opens the file: any but a plain known
name makes GDAL fetch or open what it names (a link, a URL, a ``/vsicurl/`` path)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from layers.errors import InvalidInput

# The only GeoJSON "crs" GDAL may see: a name it resolves from its own database. Any
# other (a link, a URL, a /vsicurl/ path, an unknown type) makes GDAL fetch or open what
# it names. [0-9], not \d, which would also match other scripts' digits.
_KNOWN_CRS_NAME = re.compile(
    r"EPSG:[0-9]{1,6}|urn:ogc:def:crs:EPSG::[0-9]{1,6}|urn:ogc:def:crs:OGC:1\.3:CRS84"
    r"|http://www\.opengis\.net/def/crs/EPSG/0/[0-9]{1,6}"
)
# Members naming a CRS: GeoJSON 2008's "crs" (GDAL matches it in any case) and JSON-FG's
# "coordRefSys", which GDAL's JSONFG driver reads. RFC 7946 has neither.
_CRS_MEMBERS = frozenset({"crs", "coordrefsys"})
_SHOWN_PATHS = 5


def refuse_crs_members(path: Path) -> None:
    """Refuse a GeoJSON with any ``crs`` member other than a plain known name.

    Decided on the parsed document, never on its bytes: GDAL reads members in any order,
    keys in any case, ``\\u`` escapes, and the last of duplicated keys, so a byte pattern
    always misses a spelling. Every object's members are seen, duplicates included
    (``object_pairs_hook``). Memory: the file's bytes and decoded text (about three times
    the file: 258 MB for an 88 MB list, where a plain ``json.loads`` takes 505 MB), plus
    one feature at a time: each object is reduced to what the check needs once its
    members are checked.
    """
    try:
        document = json.loads(path.read_bytes(), object_pairs_hook=_check_members)
    except UnicodeDecodeError:
        raise InvalidInput(
            f"{path.name}: GeoJSON 必须是 UTF-8 编码 (a GeoJSON file must be UTF-8, RFC 7946)"
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path.name}: 不是有效的 JSON, 第 {exc.lineno} 行第 {exc.colno} 列 "
            f"(not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise InvalidInput(f"{path.name}: JSON 嵌套过深 (JSON nested too deeply)") from None
    bad = [f"${p}" for p in _bad_paths(document)]
    if bad:
        shown = ", ".join(bad[:_SHOWN_PATHS]) + (
            f" … (+{len(bad) - _SHOWN_PATHS})" if len(bad) > _SHOWN_PATHS else ""
        )
        raise InvalidInput(
            f'{path.name}: {shown}: 不接受 crs 成员, 除非是已知名称 (a "crs" member is '
            'accepted only as {"type": "name", "properties": {"name": "EPSG:4490"}} or another '
            "EPSG name; RFC 7946 GeoJSON has none: remove it)"
        )


class _Checked:
    """An object whose members were checked: only the paths of refused ``crs`` members
    in it are kept, not its content."""

    __slots__ = ("bad",)

    def __init__(self, bad: tuple[str, ...]) -> None:
        self.bad = bad


_CLEAN = _Checked(())


def _check_members(pairs: list[tuple[str, Any]]) -> dict[str, Any] | _Checked:
    """``json`` object hook: the object reduced to the refused ``crs`` members in it.

    Objects are decoded innermost first, so a ``crs`` value arrives already reduced:
    small objects of text (``{"type": "name", "properties": {"name": …}}`` is one) are
    kept as dicts to be judged, everything else becomes a :class:`_Checked`.
    """
    bad: list[str] = []
    for key, value in pairs:
        step = _step(key)
        if _as_gdal_reads(key) in _CRS_MEMBERS and not _is_known_crs(value):
            bad.append(step)
        bad += [step + p for p in _bad_paths(value)]
    plain = len(pairs) <= 2 and len({key for key, _ in pairs}) == len(pairs)
    if not bad and plain and all(isinstance(v, (str, dict)) for _, v in pairs):
        return dict(pairs)
    return _Checked(tuple(bad)) if bad else _CLEAN


def _as_gdal_reads(key: str) -> str:
    """A member's name as GDAL matches it: its JSON parser ends a key at the first NUL
    (``"crs\\u0000x"`` is its ``crs``), and it compares names without regard to case."""
    return key.split("\x00", 1)[0].casefold()


def _is_known_crs(value: object) -> bool:
    if not isinstance(value, dict) or value.keys() != {"type", "properties"}:
        return False
    properties = value["properties"]
    return (
        value["type"] == "name"
        and isinstance(properties, dict)
        and properties.keys() == {"name"}
        and isinstance(properties["name"], str)
        and _KNOWN_CRS_NAME.fullmatch(properties["name"]) is not None
    )


def _bad_paths(value: object) -> list[str]:
    """The refused members under a decoded value (arrays walked without recursion:
    coordinates nest deeply)."""
    if isinstance(value, _Checked):
        return list(value.bad)
    bad: list[str] = []
    stack: list[tuple[str, object]] = [("", value)] if isinstance(value, list) else []
    while stack:
        where, item = stack.pop()
        if isinstance(item, _Checked):
            bad += [where + p for p in item.bad]
        elif isinstance(item, list):
            nested = [(f"{where}[{i}]", v) for i, v in enumerate(item)]
            stack += [entry for entry in reversed(nested) if isinstance(entry[1], (list, _Checked))]
    return bad


def _step(key: str) -> str:
    """One step of a JSON path, as a person would write it."""
    if key.isidentifier() and key.isascii():
        return f".{key}"
    return f"[{json.dumps(key[:40], ensure_ascii=False)}]"


__all__ = ["refuse_crs_members"]
