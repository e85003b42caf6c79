"""The features of every layer: read as readers see them, counted, bounded, written.

Readers of what is in force see active reservations (a reserved site reads ``reserved``,
budgets drawn down); parcels are those of the release in force (see
:mod:`layers.store.releases`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from layers.crs import STORAGE_EPSG
from layers.errors import InvalidInput, NotFound
from layers.schema import FieldSpec, LayerSpec
from layers.store import filters, releases, rows
from layers.store.audit import Actor
from layers.store.change import ALL, change
from layers.store.engine import LONG_READ_OPTION, LONG_READ_SECONDS
from layers.store.feature_query import FeaturePage, FeatureQuery, compile_query
from layers.store.relate import SQLITE_RELATE
from layers.store.reserved import draw_down, reserved_status
from layers.store.tables import LAYER_TABLES, in_force, layer_versions

BBox = tuple[float, float, float, float]


class Features:
    """Every layer's features in one store, read and written as canonical frames."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgis = engine.dialect.name == "postgresql"

    # -- reading -------------------------------------------------------------------
    def count(
        self,
        spec: LayerSpec,
        *,
        bbox: BBox | None = None,
        release: int | None = None,
        where: Sequence[sa.ColumnElement[bool]] = (),
        at_most: int | None = None,
    ) -> int | None:
        """Number of features, or of those whose geometry intersects ``bbox`` and that
        meet ``where`` (parcels: of ``release``, else of the release in force).

        With ``at_most``, counting stops there and ``None`` says "more than that": the
        cost of a count is bounded on large tables.
        """
        table = LAYER_TABLES[spec.name]
        found = self._select(
            spec, [table.c.fid], bbox=bbox, release=release, where=where, ordered=False,
            limit=None if at_most is None else at_most + 1,
        )  # fmt: skip
        query = sa.select(sa.func.count()).select_from(found.subquery())
        with self.engine.connect() as conn:
            n = int(conn.execute(query).scalar_one())
        return None if at_most is not None and n > at_most else n

    def extent(self, spec: LayerSpec) -> BBox | None:
        """Bounding box of the whole layer in EPSG:4490, or ``None`` when it is empty."""
        table = LAYER_TABLES[spec.name]
        query = sa.select(
            sa.func.min(table.c.minx),
            sa.func.min(table.c.miny),
            sa.func.max(table.c.maxx),
            sa.func.max(table.c.maxy),
        ).where(*in_force(table))
        with self.engine.connect() as conn:
            row = conn.execute(query).one()
        return None if row[0] is None else (row[0], row[1], row[2], row[3])

    def read(
        self,
        spec: LayerSpec,
        *,
        bbox: BBox | None = None,
        limit: int | None = None,
        offset: int = 0,
        fids: Sequence[int] | None = None,
        release: int | None = None,
        as_stored: bool | None = None,
        where: Sequence[sa.ColumnElement[bool]] = (),
        order_by: Sequence[sa.ColumnElement[Any]] = (),
        long_read: bool = False,
    ) -> gpd.GeoDataFrame:
        """Features ordered by ``order_by`` then ``fid`` (the frame's index), optionally
        those meeting ``bbox`` and ``where`` (see :meth:`scope`).

        ``bbox`` (minx, miny, maxx, maxy in EPSG:4490) keeps features whose geometry
        intersects the box. Parcels are those of the release in force, or of ``release``.
        Readers of what is in force see active reservations (sites reserved, budgets
        drawn down); ``as_stored`` gives the values as stored (the default for a
        ``release`` asked for by id).

        ``long_read`` bounds this read by :data:`~layers.store.engine.LONG_READ_SECONDS`
        instead of the store's statement deadline: the service reading a whole layer for
        its zone, whose size is the zone's, not a request's (a million parcels take more
        than 30 s to read into a frame on SQLite, where the deadline runs while the rows
        are read).
        """
        as_stored = (release is not None) if as_stored is None else as_stored
        table = LAYER_TABLES[spec.name]
        columns = [
            table.c.fid,
            *(column(spec, f.name, as_stored=as_stored) for f in spec.stored_fields),
        ]
        # The geometry as plain WKB, decoded for all rows at once in rows.read_frame.
        if self.postgis:
            columns.append(sa.func.ST_AsBinary(table.c.geom, type_=sa.LargeBinary))
        else:
            columns.append(sa.type_coerce(table.c.geom, sa.LargeBinary))
        with self.engine.connect() as conn:
            self.prepare_read(conn, long_read=long_read)
            if release is None and spec.released:
                # One release for the whole read, even across the two queries below.
                current = releases.current_id(conn)
                release = current if current is not None else -1
            query = self._select(
                spec, columns, bbox=bbox, release=release, where=where, order_by=order_by,
                limit=limit, offset=offset, fids=fids,
            )  # fmt: skip
            frame = rows.read_frame(spec, conn.execute(query), as_text=not self.postgis)
            if spec.drawn_down and not as_stored:
                frame = draw_down(conn, spec, frame)
        return frame

    def prepare_read(self, conn: Connection, *, long_read: bool) -> None:
        """The settings of a read's transaction (see :meth:`read`): set before its
        first query."""
        if long_read:
            conn.execution_options(**{LONG_READ_OPTION: True})
            if self.postgis:
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {LONG_READ_SECONDS * 1000}")

    def ids(
        self,
        spec: LayerSpec,
        *,
        bbox: BBox | None = None,
        limit: int | None = None,
        offset: int = 0,
        release: int | None = None,
        where: Sequence[sa.ColumnElement[bool]] = (),
        order_by: Sequence[sa.ColumnElement[Any]] = (),
    ) -> list[int]:
        """The ids of the features :meth:`read` would return for the same arguments,
        in the same order, without reading them."""
        table = LAYER_TABLES[spec.name]
        query = self._select(
            spec, [table.c.fid], bbox=bbox, release=release, where=where, order_by=order_by,
            limit=limit, offset=offset,
        )  # fmt: skip
        with self.engine.connect() as conn:
            return [int(fid) for fid in conn.execute(query).scalars()]

    def get(
        self, spec: LayerSpec, fid: int, *, where: Sequence[sa.ColumnElement[bool]] = ()
    ) -> gpd.GeoDataFrame:
        """The feature ``fid`` if it meets ``where``; 404 otherwise."""
        frame = self.read(spec, fids=[fid], where=where)
        if frame.empty:
            raise NotFound(f"{spec.zh} {fid} 不存在 ({spec.en} feature {fid} not found)")
        return frame

    def page(self, query: FeatureQuery) -> FeaturePage:
        """One page of the features ``query`` asks for: their ids, of the release of
        parcels in force (the same for the ids and the count, even if another is
        published in between), and the number matched — counted only when asked, and
        not even then on the last page (it is the offset plus what the page holds)."""
        spec = query.layer
        selection = compile_query(query, self.scope(spec, query.fields), self.on_offer(spec))
        release = self._release_in_force() if spec.released else None
        versions = self.versions()
        ids = self.ids(
            spec, bbox=query.bbox, where=selection.where, order_by=selection.order_by,
            limit=query.limit, offset=query.offset, release=release,
        )  # fmt: skip
        page = FeaturePage(query, tuple(ids), None, release, versions, selection)
        if not query.count:
            return page
        if page.is_last:
            matched: int | None = query.offset + len(ids)
        else:
            matched = self.count(
                spec, bbox=query.bbox, release=release, where=selection.where,
                at_most=query.count_limit,
            )  # fmt: skip
        return dataclasses.replace(page, number_matched=matched)

    def page_frame(self, page: FeaturePage, fids: Sequence[int] | None = None) -> gpd.GeoDataFrame:
        """The features of ``page`` as readers see them: those of ``fids`` (of its
        release), or the whole page read again as it is now."""
        query, selection = page.query, page.selection
        if fids is not None:
            return self.read(query.layer, fids=fids, release=page.release, as_stored=False)
        return self.read(
            query.layer, bbox=query.bbox, where=selection.where, order_by=selection.order_by,
            limit=query.limit, offset=query.offset, release=page.release, as_stored=False,
        )  # fmt: skip

    def _release_in_force(self) -> int | None:
        with self.engine.connect() as conn:
            return releases.current_id(conn)

    def scope(self, spec: LayerSpec, fields: Sequence[FieldSpec]) -> filters.Scope:
        """What a reader's filter or sort order on ``spec`` may name: ``fields``, read
        as readers of what is in force see them (a reserved site reads ``reserved``)."""
        table = LAYER_TABLES[spec.name]
        return filters.Scope(
            spec=spec,
            fields=fields,
            column=lambda name: column(spec, name),
            geometry=table.c.geom,
            bbox=(table.c.minx, table.c.miny, table.c.maxx, table.c.maxy),
            postgis=self.postgis,
        )

    @staticmethod
    def on_offer(spec: LayerSpec) -> list[sa.ColumnElement[bool]]:
        """Conditions keeping the sites on offer (a site layer's listed status, read as
        readers see it: a reserved site is not on offer); none for other layers.

        What the public is shown of a site layer, everywhere: items, maps, tiles."""
        if spec.on_offer is None:
            return []
        return [column(spec, "status") == spec.on_offer]

    def versions(self) -> dict[str, int]:
        """The version of every layer (0 for a layer never written)."""
        return self.stamps()[0]

    def stamps(self) -> tuple[dict[str, int], dict[str, int]]:
        """Every layer's version and rows version (0 for a layer never written), read
        together: the first moves with every change of what readers see of the layer,
        the second only when its stored rows change (not with a reservation)."""
        v = layer_versions.c
        with self.engine.connect() as conn:
            found = list(conn.execute(sa.select(v.layer, v.version, v.rows_version)))
        versions = {str(layer): int(version) for layer, version, _ in found}
        rows = {str(layer): int(version) for layer, _, version in found}
        return (
            {name: versions.get(name, 0) for name in LAYER_TABLES},
            {name: rows.get(name, 0) for name in LAYER_TABLES},
        )

    def version(self, spec: LayerSpec) -> int:
        """The version of one layer (0 if never written)."""
        with self.engine.connect() as conn:
            version = conn.execute(
                sa.select(layer_versions.c.version).where(layer_versions.c.layer == spec.name)
            ).scalar_one_or_none()
        return int(version or 0)

    def _select(
        self,
        spec: LayerSpec,
        columns: Sequence[sa.ColumnElement[Any]],
        *,
        bbox: BBox | None = None,
        release: int | None = None,
        where: Sequence[sa.ColumnElement[bool]] = (),
        order_by: Sequence[sa.ColumnElement[Any]] = (),
        limit: int | None = None,
        offset: int = 0,
        fids: Sequence[int] | None = None,
        ordered: bool = True,
    ) -> sa.Select[Any]:
        """``columns`` of the features readers see (see :meth:`read`), in order unless
        not ``ordered``."""
        table = LAYER_TABLES[spec.name]
        query = sa.select(*columns).where(*in_force(table, release), *where)
        if bbox is not None:
            query = query.where(bbox_clause(spec, bbox, postgis=self.postgis))
        if fids is not None:
            query = query.where(table.c.fid.in_(list(fids)))
        if ordered:
            query = query.order_by(*order_by, table.c.fid)
        return query.offset(offset).limit(limit)

    # -- writing -------------------------------------------------------------------
    def write(
        self,
        spec: LayerSpec,
        frame: gpd.GeoDataFrame,
        *,
        actor: Actor,
        replace: bool = False,
        progress: Callable[[int], None] | None = None,
        source: tuple[str, bytes] | None = None,
    ) -> int:
        """Store a canonical frame as the layer's content, in one transaction.

        A layer that already holds features is only overwritten with ``replace=True``;
        otherwise :class:`InvalidInput` is raised and nothing changes. Parcels are never
        overwritten: they become a new release, published at once (the stock-list
        workflow stages, diffs and publishes instead; see :mod:`layers.stocklist`), and
        ``source`` (file name and bytes) is kept with it. ``progress`` is called with the
        number of features written after each chunk.
        """
        table = LAYER_TABLES[spec.name]
        records = rows.records(spec, frame)
        with change(self.engine, {spec.name}, actor=actor) as work:
            conn = work.conn
            existing = conn.execute(
                sa.select(sa.func.count()).select_from(table).where(*in_force(table))
            ).scalar_one()
            if existing and not replace:
                raise InvalidInput(
                    f"图层 {spec.name} 已有 {existing} 条要素; 如需整体替换请加 --replace "
                    f"(layer {spec.name} already holds {existing} features; pass --replace)"
                )
            after: dict[str, Any] = {"features": len(records)}
            if spec.released:
                name, data = source or ("(geo-service load)", b"")
                years = pd.to_numeric(frame.get("list_year"), errors="coerce")
                year = int(years.max()) if years is not None and years.notna().any() else None
                release = releases.stage_rows(
                    conn, spec, records, frame, year=year or dt.date.today().year,
                    source=(name, data), report={}, actor=actor, progress=progress,
                )  # fmt: skip
                releases.switch(conn, release, actor)
                after["release"] = release
            else:
                if spec.ledger:
                    # Versions go on from the replaced rows': an edit made from an old
                    # version must stay stale, never match a restarted count.
                    newest = conn.execute(sa.select(sa.func.max(table.c.row_version))).scalar()
                    for record in records:
                        record["row_version"] = int(newest or 0) + 1
                if spec.drawn_down:  # the new rows must still carry what is reserved
                    work.touch_budget(spec.name, ALL, ALL)
                conn.execute(table.delete())
                rows.insert(conn, table, records, progress)
            work.record("layer.load", spec.name, before={"features": existing}, after=after)
            work.stale.add(table.name)
        return len(records)


def column(spec: LayerSpec, name: str, *, as_stored: bool = False) -> sa.ColumnElement[Any]:
    """A stored column as readers see it: a site with an active reservation is
    ``reserved`` whatever its stored status (unless ``as_stored``)."""
    table = LAYER_TABLES[spec.name]
    if name == "status" and spec.on_offer is not None and not as_stored:
        return reserved_status(table, spec.id_field).label("status")
    return table.c[name]


def bbox_clause(spec: LayerSpec, bbox: BBox, *, postgis: bool) -> sa.ColumnElement[bool]:
    """Geometry intersects ``bbox``; west above east is a box across the antimeridian."""
    table = LAYER_TABLES[spec.name]
    minx, miny, maxx, maxy = bbox
    if minx > maxx:
        return sa.or_(
            bbox_clause(spec, (minx, miny, 180.0, maxy), postgis=postgis),
            bbox_clause(spec, (-180.0, miny, maxx, maxy), postgis=postgis),
        )
    if postgis:
        # ST_MakeEnvelope of a zero-width box (a map click) is an empty polygon that
        # intersects nothing; a Box2D cast degenerates to a point or a line instead.
        corner = sa.func.ST_Point(minx, miny)
        box = sa.func.ST_SetSRID(
            sa.cast(sa.func.ST_MakeBox2D(corner, sa.func.ST_Point(maxx, maxy)), table.c.geom.type),
            STORAGE_EPSG,
        )
        return sa.func.ST_Intersects(table.c.geom, box)
    near = sa.and_(
        table.c.maxx >= minx, table.c.minx <= maxx, table.c.maxy >= miny, table.c.miny <= maxy
    )
    # No spatial SQL on SQLite: the exact test is shapely's, on the rows near the box.
    wkb = sa.literal(shapely.to_wkb(shapely.box(*bbox)), sa.LargeBinary())
    relate = getattr(sa.func, SQLITE_RELATE)
    return sa.and_(near, relate(table.c.geom, wkb, sa.literal("intersects")) == 1)
