"""Vector tiles encoded by PostGIS (``ST_AsMVT``); the embedded store has no encoder
(:mod:`maps.tiles` encodes its tiles in Python)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from layers.area import M2_PER_MU
from layers.errors import InvalidInput, StoreError
from layers.readiness import readiness_expression
from layers.schema import LayerSpec
from layers.store.features import bbox_clause, column
from layers.store.tables import LAYER_TABLES, in_force
from layers.tiling import (
    BUFFER,
    CELL,
    COUNT,
    DETAIL_ZOOM,
    EVERY_SITE,
    EXTENT,
    LINE_TOLERANCE,
    SIZE_M2,
    WEB_MERCATOR,
    SiteFilter,
    check,
    mercator_bounds,
    storage_bounds,
)


class Tiles:
    """Tiles of a PostGIS store's layers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def vector(
        self,
        spec: LayerSpec,
        z: int,
        x: int,
        y: int,
        *,
        fields: Sequence[str],
        status: str | None = None,
        only: SiteFilter = EVERY_SITE,
    ) -> bytes:
        """Tile z/x/y of a layer encoded by PostGIS (``ST_AsMVT``), with ``fields`` (stored
        fields, or the derived ``readiness`` and ``area_mu``) and the feature id; only
        features with ``status`` when given, and of a site layer only those ``only``
        keeps. Below :data:`DETAIL_ZOOM` a site layer's tile holds counts per cell; lines
        are simplified within :data:`LINE_TOLERANCE`. The embedded store has no encoder."""
        if self.engine.dialect.name != "postgresql":
            raise StoreError(
                "ST_AsMVT needs PostGIS; the embedded store encodes tiles in Python (maps.tiles)"
            )
        check(z, x, y)
        kept = _kept(spec, status, only)
        if z < DETAIL_ZOOM and spec.on_offer is not None:
            return self._cells(spec, z, x, y, kept=kept)
        table = LAYER_TABLES[spec.name]
        columns = [_tile_column(spec, name) for name in fields]
        envelope = sa.func.ST_TileEnvelope(z, x, y)
        geom = sa.func.ST_Transform(table.c.geom, WEB_MERCATOR)
        if spec.geometry_types[0].endswith("LineString"):
            minx, _, maxx, _ = mercator_bounds(z, x, y)
            geom = sa.func.ST_Simplify(geom, (maxx - minx) / EXTENT * LINE_TOLERANCE)
        mvt_geom = sa.func.ST_AsMVTGeom(geom, envelope, EXTENT, BUFFER, True)
        found = sa.select(mvt_geom.label("geom"), table.c.fid.label("id"), *columns).where(
            bbox_clause(spec, storage_bounds(z, x, y), postgis=True), *in_force(table), *kept
        )
        mvt = found.subquery("mvt")
        query = (
            sa.select(sa.func.ST_AsMVT(sa.literal_column("mvt"), spec.name, EXTENT, "geom", "id"))
            .select_from(mvt)
            .where(mvt.c.geom.isnot(None))
        )
        with self.engine.connect() as conn:
            data = conn.execute(query).scalar_one_or_none()
        return bytes(data or b"")

    def _cells(
        self, spec: LayerSpec, z: int, x: int, y: int, *, kept: list[sa.ColumnElement[bool]]
    ) -> bytes:
        """A low-zoom tile: the number of sites per cell, as :func:`maps.tiles.encode`
        counts them (centroid in Web Mercator, cells from the north-west corner)."""
        table = LAYER_TABLES[spec.name]
        minx, miny, maxx, maxy = mercator_bounds(z, x, y)
        # Each site's middle is worked out once (materialised): inlined, the planner
        # repeated the transform and centroid for each use of a cell (0.24 → 0.13 s
        # for a zoom-10 tile of 15,000 parcels).
        middle = sa.func.ST_Centroid(sa.func.ST_Transform(table.c.geom, WEB_MERCATOR))
        inside = bbox_clause(spec, storage_bounds(z, x, y), postgis=True)
        middles = (
            sa.select(middle.label("at"))
            .where(inside, *in_force(table), *kept)
            .cte("middles")
            .prefix_with("MATERIALIZED")
        )
        scale = EXTENT / CELL
        at = middles.c.at
        points = sa.select(
            sa.func.floor((sa.func.ST_X(at) - minx) / (maxx - minx) * scale).label("cell_x"),
            sa.func.floor((maxy - sa.func.ST_Y(at)) / (maxy - miny) * scale).label("cell_y"),
        ).subquery("points")
        side = EXTENT // CELL
        cells = (
            sa.select(
                sa.func.ST_MakePoint(
                    points.c.cell_x * CELL + CELL // 2, points.c.cell_y * CELL + CELL // 2
                ).label("geom"),
                sa.cast(sa.func.count(), sa.Integer).label(COUNT),
            )
            .where(points.c.cell_x.between(0, side - 1), points.c.cell_y.between(0, side - 1))
            .group_by(points.c.cell_x, points.c.cell_y)
            .order_by(points.c.cell_x, points.c.cell_y)  # as maps.tiles lists them
            .subquery("mvt")
        )
        query = sa.select(sa.func.ST_AsMVT(sa.literal_column("mvt"), spec.name, EXTENT, "geom"))
        with self.engine.connect() as conn:
            data = conn.execute(query.select_from(cells)).scalar_one_or_none()
        return bytes(data or b"")


def _kept(spec: LayerSpec, status: str | None, only: SiteFilter) -> list[sa.ColumnElement[bool]]:
    """The conditions on a tile's features: ``status``, and those of ``only`` compared as
    the page compares them (:data:`SIZE_M2`; a site of unknown size passes a bound)."""
    kept = [] if status is None else [column(spec, "status") == status]
    if only.empty:
        return kept
    if spec.name not in SIZE_M2:
        raise InvalidInput(f"只筛选地块与厂房 ({spec.en} are not filtered)")
    if only.park is not None:
        kept.append(column(spec, "park_id") == only.park)
    field, factor = SIZE_M2[spec.name]
    value = _area_mu(spec) if field == "area_mu" else column(spec, field)
    size = sa.cast(value, sa.Float) * sa.literal(factor, sa.Float)
    bounds = [size >= only.min_m2] if only.min_m2 is not None else []
    bounds += [size <= only.max_m2] if only.max_m2 is not None else []
    if bounds:  # unknown (NULL) passes; each bound works the size out once
        kept.append(sa.func.coalesce(sa.and_(*bounds), sa.true()))
    return kept


def _area_mu(spec: LayerSpec) -> sa.ColumnElement[Any]:
    """A parcel's area in 亩 rounded to 3 decimals (as it is written in a tile), each in its
    own 3-degree Gauss-Krüger zone, as layers.area measures it."""
    table = LAYER_TABLES[spec.name]
    zone_srid = sa.cast(
        4509 + sa.func.floor((sa.func.ST_X(sa.func.ST_Centroid(table.c.geom)) + 1.5) / 3),
        sa.Integer,
    )
    area = sa.func.ST_Area(sa.func.ST_Transform(table.c.geom, zone_srid))
    return sa.cast(sa.func.round(sa.cast(area / M2_PER_MU, sa.Numeric), 3), sa.Float)


def _tile_column(spec: LayerSpec, name: str) -> sa.ColumnElement[Any]:
    """A tile's property: a stored field, or the derived ``readiness`` or ``area_mu``."""
    table = LAYER_TABLES[spec.name]
    if name == "readiness":
        readiness: sa.ColumnElement[Any] = readiness_expression(table)
        return readiness.label(name)
    if name == "area_mu":
        return _area_mu(spec).label(name)
    return column(spec, name)
