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
    """A layer: its name, geometry types, identifier field, fields and what the store does
    with it.

    Parameters
    ----------
    released
        Published in releases (the yearly stock list): its rows carry ``release_id`` and
        readers see the release in force.
    ledger
        Updated quarterly row by row (a ledger): its rows carry ``row_version`` for
        optimistic concurrency, and every edit is kept in ``ledger_history``.
    on_offer
        For a layer of sites a planner may reserve: the ``status`` of a site on offer
        (what investors see); ``None`` for other layers.
    drawn_down
        Holds budgets that active reservations draw down when the layer is read.
    """

    name: str
    zh: str
    en: str
    geometry_types: tuple[str, ...]
    id_field: str
    fields: tuple[FieldSpec, ...]
    description: str = ""
    released: bool = False
    ledger: bool = False
    on_offer: str | None = None
    drawn_down: bool = False
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
        if self.on_offer is not None and "status" not in names:
            raise ValueError(f"layer {self.name}: a layer on offer needs a status field")
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


@dataclass(frozen=True)
class Budget:
    """A budget a project draws from: a park's energy quota (能耗指标) or its capacity for
    one pollutant (排放总量) — or a site's own earmarked quota, drawn from instead of its
    park's where the site has one.

    ``zh``, ``en`` and ``unit`` name it as the store's refusals do, ``site_zh``,
    ``site_en`` and ``site_unit`` as match reasons do.
    """

    key: str
    """The prefix of its fields; its name in the store's budget checks."""
    zh: str
    en: str
    unit: str
    total: str
    """The park's field holding the total."""
    allocated: str
    """The park's field holding what is allocated (used)."""
    left: str
    """The park's derived field: total less allocated."""
    earmarked: str
    """The site's field (parcels, factories) holding its own quota."""
    site_zh: str
    site_en: str
    site_unit: str
    check: str
    """Its name in match results (``budget_<check>``)."""
    need_field: str | None
    """The project's need of it (a field of the project request and of a reservation),
    or ``None`` for a pollutant: its entry in the emissions by pollutant."""


@dataclass(frozen=True)
class Utility:
    """A utility network (电、水、气、热、污水) a site connects to."""

    name: str
    """Its English name, and its name in match results."""
    node_kind: str
    """``kind`` of the infrastructure nodes that supply it."""
    zh: str
    fact: str
    """Its readiness fact: whether the site is connected (通电, 通给水…)."""
    site_column: str
    """The site's capacity at its boundary (in ``unit``)."""
    spare_column: str
    """A node's spare capacity (power: MVA; the others: ``unit``)."""
    need_field: str
    """The project's need (a field of the project request, in ``unit``)."""
    unit: str
