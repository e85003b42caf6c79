"""Declarative layer schemas: one list of fields drives storage, validation, I/O and docs.

A :class:`LayerSpec` says what a layer holds; nothing else in the project repeats the
list of fields. Field names are at most 10 ASCII characters so that they survive a
Shapefile unchanged (dBASE limit), which keeps one documented name per field in every
format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

FieldKind = Literal["str", "int", "float", "bool", "date"]
"""The kinds of value a field holds; layers/values.py says what each means where."""

Label = tuple[str, str]
"""What people read for a coded value: (中文, English)."""

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
        The allowed values of a coded field. Given ``labels``, they are its keys.
    labels
        The (中文, English) label of each value of a coded field (``M1`` → 一类工业用地,
        Class-1 industrial), shown beside the value on pages and maps.
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
    labels: Mapping[str, Label] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.labels:
            if self.choices:
                raise ValueError(f"field {self.name}: give labels or choices, not both")
            # A frozen dataclass: its own constructor may still set a field once.
            object.__setattr__(self, "choices", tuple(self.labels))

    @property
    def public(self) -> bool:
        return self.audience is Audience.PUBLIC

    def label(self, value: object) -> Label | None:
        """The label of a coded value, or ``None`` for a value without one.

        Examples
        --------
        >>> f = FieldSpec("st", "str", "状态", "status", labels={"done": ("已完成", "done")})
        >>> f.choices, f.label("done"), f.label("odd"), f.label(None)
        (('done',), ('已完成', 'done'), None, None)
        """
        return self.labels.get(value) if isinstance(value, str) else None


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
