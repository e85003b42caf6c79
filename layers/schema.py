"""Declarative layer schemas: one list of fields drives storage, validation, I/O and docs.

A :class:`LayerSpec` says what a layer holds; nothing else in the project repeats the
list of fields. Field names are at most 10 ASCII characters so that they survive a
Shapefile unchanged (dBASE limit), which keeps one documented name per field in every
format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

FieldKind = Literal["str", "int", "float", "bool", "date"]

# dBASE field names (Shapefile) are limited to 10 characters.
MAX_FIELD_NAME = 10


class Audience(StrEnum):
    """Who may see a field: everyone, or staff only (planner, land bureau, admin)."""

    PUBLIC = "public"
    INTERNAL = "internal"


@dataclass(frozen=True)
class FieldSpec:
    """One attribute of a layer.

    Parameters
    ----------
    name
        Column name in every store and file format (≤ 10 ASCII characters).
    kind
        Value type.
    zh, en
        Labels shown to people.
    unit
        Unit of a number, e.g. ``"亩"``, ``"kVA"``, ``"万元/亩"``; empty when none.
    audience
        ``PUBLIC`` fields may leave the server for anonymous investors.
    required
        A feature without a value is rejected.
    choices
        The allowed values of a coded field.
    derived
        Computed from other fields or the geometry; never read from input files.
    """

    name: str
    kind: FieldKind
    zh: str
    en: str
    unit: str = ""
    audience: Audience = Audience.PUBLIC
    required: bool = False
    choices: tuple[str, ...] = ()
    derived: bool = False
    minimum: float | None = None
    maximum: float | None = None

    @property
    def public(self) -> bool:
        return self.audience is Audience.PUBLIC


@dataclass(frozen=True)
class LayerSpec:
    """A layer: its name, geometry types, identifier field and fields."""

    name: str
    zh: str
    en: str
    geometry_types: tuple[str, ...]
    id_field: str
    fields: tuple[FieldSpec, ...]
    description: str = ""
    _by_name: dict[str, FieldSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"layer {self.name}: duplicate fields {sorted(duplicates)}")
        too_long = [n for n in names if len(n) > MAX_FIELD_NAME or not n.isascii()]
        if too_long:
            raise ValueError(
                f"layer {self.name}: field names must be ASCII and ≤ {MAX_FIELD_NAME} "
                f"characters for Shapefile: {too_long}"
            )
        if self.id_field not in names:
            raise ValueError(f"layer {self.name}: id field {self.id_field!r} is not a field")
        self._by_name.update({f.name: f for f in self.fields})

    def field(self, name: str) -> FieldSpec:
        return self._by_name[name]

    @property
    def stored_fields(self) -> tuple[FieldSpec, ...]:
        """Fields kept in the store and read from files (everything not derived)."""
        return tuple(f for f in self.fields if not f.derived)

    @property
    def derived_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.derived)

    def visible_fields(self, *, public: bool) -> tuple[FieldSpec, ...]:
        """Fields a caller may see: the public allow-list, or everything for staff."""
        return tuple(f for f in self.fields if f.public or not public)

    def field_names(self, fields: Sequence[FieldSpec] | None = None) -> list[str]:
        return [f.name for f in (self.fields if fields is None else fields)]
