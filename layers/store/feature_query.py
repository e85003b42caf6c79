"""A page of features asked for by a reader: :class:`FeatureQuery` in, :class:`FeaturePage`
out (see :meth:`layers.store.features.Features.page`).

What a query may name (its filter, sort order and properties) is checked against the
fields the reader may see; a name outside them is refused alike whether it is hidden
or unknown, so nothing can be learnt about the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from layers import output_crs
from layers.errors import InvalidInput
from layers.schema import FieldSpec, LayerSpec
from layers.store import filters

BBox = tuple[float, float, float, float]
FILTER_LANGS = ("cql2-text",)


@dataclass(frozen=True)
class FeatureQuery:
    """Which features of ``layer`` a reader wants, one page of them (OGC API – Features
    ``/items``): those intersecting ``bbox`` (EPSG:4490) and meeting the CQL2 ``filter``
    (its geometries in ``filter_crs``), ordered by ``sortby`` then id, with the
    ``properties`` named (else every one of ``fields``, the fields the reader may see).
    ``on_offer_only`` keeps the sites on offer (the public's view); ``count_limit``
    bounds the count of the features matched (``None``: more than that)."""

    layer: LayerSpec
    fields: tuple[FieldSpec, ...]
    limit: int
    offset: int = 0
    bbox: BBox | None = None
    filter: str | None = None
    filter_lang: str = "cql2-text"
    filter_crs: output_crs.Code = None
    sortby: str | None = None
    properties: tuple[str, ...] | None = None
    on_offer_only: bool = False
    count: bool = True
    count_limit: int | None = None


@dataclass(frozen=True)
class Selection:
    """A query compiled to SQL: its conditions, order and the fields it returns."""

    where: list[sa.ColumnElement[bool]]
    order_by: list[sa.ColumnElement[Any]]
    fields: tuple[FieldSpec, ...]


@dataclass(frozen=True)
class FeaturePage:
    """The ids of one page of features, of one ``release`` of parcels and one set of
    layer ``versions``; ``number_matched`` when counted (``None``: not asked, or more
    than the query's ``count_limit``). Its features are read with
    :meth:`~layers.store.features.Features.page_frame`."""

    query: FeatureQuery
    ids: tuple[int, ...]
    number_matched: int | None
    release: int | None
    versions: Mapping[str, int]
    selection: Selection = field(repr=False)

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        """The fields each feature of the page carries."""
        return self.selection.fields

    @property
    def number_returned(self) -> int:
        return len(self.ids)

    @property
    def has_next(self) -> bool:
        """Whether a page follows this one."""
        if self.number_matched is None:
            return self.number_returned == self.query.limit
        return self.query.offset + self.number_returned < self.number_matched

    @property
    def is_last(self) -> bool:
        """Known to be the last page without counting: short, or empty from the start."""
        n, query = self.number_returned, self.query
        return 0 < n < query.limit or (query.offset == 0 and n == 0)


def compile_query(
    query: FeatureQuery, scope: filters.Scope, on_offer: Sequence[sa.ColumnElement[bool]]
) -> Selection:
    """The SQL of ``query`` in ``scope`` (the fields the reader may see), keeping the
    ``on_offer`` conditions when the query is the public's."""
    if query.filter_lang not in FILTER_LANGS:
        raise InvalidInput(
            f"不支持的筛选语言 (unsupported filter-lang {query.filter_lang!r}): "
            f"use {', '.join(FILTER_LANGS)}"
        )
    where = []
    if query.filter is not None:
        where.append(filters.compile_filter(query.filter, scope, crs=query.filter_crs))
    if query.on_offer_only:
        where += on_offer  # the public sees what is on offer, as on the map
    order = filters.compile_sortby(query.sortby, scope) if query.sortby is not None else []
    fields = query.fields
    if query.properties is not None:
        for name in query.properties:
            scope.field(name, "properties")  # 400 alike for hidden and unknown names
        fields = tuple(f for f in fields if f.name in query.properties)
    return Selection(where, order, fields)
