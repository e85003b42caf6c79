"""What each kind of field value is to the database, to JSON Schema and to people
(:data:`KINDS`): the part of the one registry of kinds that needs no pandas.

:data:`layers.values.TYPES` extends each :class:`Kind` with how pandas holds, parses and
reads back its values. The two halves live apart so that the store's tables and the
CLI's ``key`` commands know the kinds without loading pandas (``geo-service key list``
starts without it); nothing here is said twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from layers.schema import FieldKind, FieldSpec

Family = Literal["str", "number", "bool", "date"]
"""Kinds whose values compare with each other (CQL2: a number compares with a number)."""


@dataclass(frozen=True)
class Kind:
    """One kind of field value, as the store, the API and the docs know it.

    Parameters
    ----------
    sql
        The SQLAlchemy column type, the same in both stores.
    json_type, json_format
        JSON Schema (and OpenAPI) type and format of a value. A ``number`` may have a
        fraction; an ``integer`` may not.
    family
        What a value compares with in a filter; ``number`` and ``date`` are ordered.
    words
        The type as docs/layers.md names it.

    Examples
    --------
    >>> KINDS["date"].json_type, KINDS["date"].json_format, KINDS["date"].ordered
    ('string', 'date', True)
    """

    sql: type[sa.types.TypeEngine[Any]]
    json_type: str
    json_format: str | None
    family: Family
    words: str

    @property
    def numeric(self) -> bool:
        return self.family == "number"

    @property
    def ordered(self) -> bool:
        """Whether values have an order a range (BETWEEN, ``minimum``) can use."""
        return self.family in ("number", "date")


KINDS: dict[FieldKind, Kind] = {
    "str": Kind(sa.Text, "string", None, "str", "text"),
    "int": Kind(sa.Integer, "integer", None, "number", "integer"),
    "float": Kind(sa.Float, "number", None, "number", "number"),
    "bool": Kind(sa.Boolean, "boolean", None, "bool", "boolean"),
    "date": Kind(sa.Date, "string", "date", "date", "date (YYYY-MM-DD)"),
}
"""The one place each kind of field (:data:`layers.schema.FieldKind`) is described."""


def kind_of(f: FieldSpec) -> Kind:
    """The kind of a field's values, without pandas (:func:`layers.values.field_type`
    gives the same facts and pandas' part too).

    Examples
    --------
    >>> kind_of(FieldSpec("area_mu", "float", "面积", "area", "亩")).numeric
    True
    """
    return KINDS[f.kind]
