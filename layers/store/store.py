"""The store: layers kept in SQLite (embedded) or PostgreSQL + PostGIS, one schema.

``Store`` reads and writes layers as canonical frames (see :mod:`layers.frames`). It
knows SQL but not HTTP; callers pass a SQLAlchemy URL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from layers.area import M2_PER_MU
from layers.crs import STORAGE_EPSG
from layers.errors import InvalidInput, NotFound, StoreError
from layers.frames import GEOMETRY, empty_frame
from layers.readiness import readiness_expression
from layers.schema import LayerSpec
from layers.store import migrate
from layers.store.tables import BBOX_COLUMNS, LAYER_TABLES, layer_versions
from layers.tiling import BUFFER, EXTENT, WEB_MERCATOR, check, storage_bounds

BBox = tuple[float, float, float, float]
_WRITE_CHUNK = 2_000


def create_engine(url: str) -> Engine:
    """An engine for a store URL; the SQLite file and its folder are created on first use."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

        return engine
    if parsed.get_backend_name() != "postgresql":
        raise StoreError(
            f"不支持的数据库 {parsed.get_backend_name()!r}: use sqlite:///FILE or "
            "postgresql+psycopg://USER:PASSWORD@HOST/DB"
        )
    return sa.create_engine(parsed, pool_pre_ping=True)


class Store:
    """Layers in a database, read and written as canonical GeoDataFrames."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Store:
        """Open a store, bringing its schema to the newest migration when ``upgrade``."""
        engine = create_engine(url)
        try:
            if upgrade:
                migrate.upgrade(engine)
            elif migrate.current_revision(engine) != migrate.head_revision():
                raise StoreError(
                    "数据库结构不是最新版本 (the store's schema is not up to date); "
                    "run `geo-service migrate`"
                )
        except OperationalError as exc:
            engine.dispose()
            raise StoreError(
                f"无法打开数据库 (cannot open the store): {sa.make_url(url)!r}"
            ) from exc
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def is_postgis(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- reading -------------------------------------------------------------------
    def count(self, spec: LayerSpec, *, bbox: BBox | None = None) -> int:
        """Number of features, or of those whose geometry intersects ``bbox``."""
        if bbox is not None and not self.is_postgis:
            return len(self._fids_in_bbox(spec, bbox))
        table = LAYER_TABLES[spec.name]
        query = sa.select(sa.func.count()).select_from(table)
        if bbox is not None:
            query = query.where(self._bbox_clause(spec, bbox))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def extent(self, spec: LayerSpec) -> BBox | None:
        """Bounding box of the whole layer in EPSG:4490, or ``None`` when it is empty."""
        table = LAYER_TABLES[spec.name]
        query = sa.select(
            sa.func.min(table.c.minx),
            sa.func.min(table.c.miny),
            sa.func.max(table.c.maxx),
            sa.func.max(table.c.maxy),
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).one()
        return None if row[0] is None else (row[0], row[1], row[2], row[3])

    def read_layer(
        self,
        spec: LayerSpec,
        *,
        bbox: BBox | None = None,
        limit: int | None = None,
        offset: int = 0,
        fids: Sequence[int] | None = None,
    ) -> gpd.GeoDataFrame:
        """Features ordered by ``fid`` (the frame's index), optionally those meeting ``bbox``.

        ``bbox`` (minx, miny, maxx, maxy in EPSG:4490) keeps features whose geometry
        intersects the box.
        """
        table = LAYER_TABLES[spec.name]
        if bbox is not None and not self.is_postgis:
            # No spatial SQL here: keep the exact matches in Python, then fetch the page.
            matched = self._fids_in_bbox(spec, bbox)
            if fids is not None:
                matched = [f for f in matched if f in set(fids)]
            page = matched[offset : None if limit is None else offset + limit]
            return self.read_layer(spec, fids=page) if page else self._frame(spec, [])
        columns = [table.c.fid, *(table.c[f.name] for f in spec.stored_fields), table.c.geom]
        query = sa.select(*columns).order_by(table.c.fid).offset(offset).limit(limit)
        if bbox is not None:
            query = query.where(self._bbox_clause(spec, bbox))
        if fids is not None:
            query = query.where(table.c.fid.in_(list(fids)))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return self._frame(spec, rows)

    def _fids_in_bbox(self, spec: LayerSpec, bbox: BBox) -> list[int]:
        """Feature ids whose geometry intersects ``bbox``, in order (embedded store)."""
        table = LAYER_TABLES[spec.name]
        query = (
            sa.select(table.c.fid, table.c.geom)
            .where(self._bbox_clause(spec, bbox))
            .order_by(table.c.fid)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return []
        fid = np.array([r[0] for r in rows])
        geoms = np.array([r[1] for r in rows], dtype=object)
        return [int(f) for f in fid[shapely.intersects(geoms, shapely.box(*bbox))]]

    def get_feature(self, spec: LayerSpec, fid: int) -> gpd.GeoDataFrame:
        frame = self.read_layer(spec, fids=[fid])
        if frame.empty:
            raise NotFound(f"{spec.zh} {fid} 不存在 ({spec.en} feature {fid} not found)")
        return frame

    def _bbox_clause(self, spec: LayerSpec, bbox: BBox) -> sa.ColumnElement[bool]:
        table = LAYER_TABLES[spec.name]
        minx, miny, maxx, maxy = bbox
        if self.is_postgis:
            # ST_MakeEnvelope of a zero-width box (a map click) is an empty polygon that
            # intersects nothing; a Box2D cast degenerates to a point or a line instead.
            corner = sa.func.ST_Point(minx, miny)
            box = sa.func.ST_SetSRID(
                sa.cast(
                    sa.func.ST_MakeBox2D(corner, sa.func.ST_Point(maxx, maxy)), table.c.geom.type
                ),
                STORAGE_EPSG,
            )
            return sa.func.ST_Intersects(table.c.geom, box)
        return sa.and_(
            table.c.maxx >= minx, table.c.minx <= maxx, table.c.maxy >= miny, table.c.miny <= maxy
        )

    def _frame(self, spec: LayerSpec, rows: Sequence[sa.Row[Any]]) -> gpd.GeoDataFrame:
        if not rows:
            frame = empty_frame(spec)
            frame.index = pd.Index([], dtype="int64", name="fid")
            return frame
        records = pd.DataFrame.from_records(
            rows, columns=["fid", *spec.field_names(spec.stored_fields), GEOMETRY]
        )
        data: dict[str, Any] = {}
        for f in spec.stored_fields:
            col = records[f.name]
            if f.kind == "float":
                data[f.name] = pd.to_numeric(col, errors="coerce").astype(float)
            elif f.kind == "int":
                data[f.name] = col.astype("Int64")
            elif f.kind == "bool":
                data[f.name] = col.astype("boolean")
            else:
                data[f.name] = col.astype(object).where(col.notna(), None)
        frame = gpd.GeoDataFrame(
            data,
            geometry=gpd.GeoSeries(list(records[GEOMETRY]), crs=STORAGE_EPSG),
            crs=STORAGE_EPSG,
        )
        frame.index = pd.Index(records["fid"].astype("int64"), name="fid")
        return frame

    # -- writing -------------------------------------------------------------------
    def write_layer(
        self,
        spec: LayerSpec,
        frame: gpd.GeoDataFrame,
        *,
        replace: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Store a canonical frame as the layer's content, in one transaction.

        A layer that already holds features is only overwritten with ``replace=True``;
        otherwise :class:`InvalidInput` is raised and nothing changes. ``progress`` is
        called with the number of features written after each chunk.
        """
        table = LAYER_TABLES[spec.name]
        records = _records(spec, frame)
        with self.engine.begin() as conn:
            existing = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            if existing and not replace:
                raise InvalidInput(
                    f"图层 {spec.name} 已有 {existing} 条要素; 如需整体替换请加 --replace "
                    f"(layer {spec.name} already holds {existing} features; pass --replace)"
                )
            conn.execute(table.delete())
            for start in range(0, len(records), _WRITE_CHUNK):
                conn.execute(table.insert(), records[start : start + _WRITE_CHUNK])
                if progress is not None:
                    progress(min(start + _WRITE_CHUNK, len(records)))
            self._bump_version(conn, spec)
        return len(records)

    def versions(self) -> dict[str, int]:
        """The version of every layer (0 for a layer never written)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(layer_versions.c.layer, layer_versions.c.version))
            known = {str(layer): int(version) for layer, version in rows}
        return {name: known.get(name, 0) for name in LAYER_TABLES}

    def vector_tile(
        self,
        spec: LayerSpec,
        z: int,
        x: int,
        y: int,
        *,
        fields: Sequence[str],
        status: str | None = None,
    ) -> bytes:
        """Tile z/x/y of a layer encoded by PostGIS (``ST_AsMVT``), with ``fields`` (stored
        fields, or the derived ``readiness`` and ``area_mu``) and the feature id; only
        features with ``status`` when given. The embedded store has no encoder."""
        if not self.is_postgis:
            raise StoreError(
                "ST_AsMVT needs PostGIS; the embedded store encodes tiles in Python (maps.tiles)"
            )
        check(z, x, y)
        table = LAYER_TABLES[spec.name]
        columns = []
        for name in fields:
            if name == "readiness":
                columns.append(readiness_expression(table).label(name))
            elif name == "area_mu":
                # Each parcel in its own 3-degree Gauss-Krüger zone, as layers.area does.
                zone_srid = sa.cast(
                    4509
                    + sa.func.floor((sa.func.ST_X(sa.func.ST_Centroid(table.c.geom)) + 1.5) / 3),
                    sa.Integer,
                )
                area = sa.func.ST_Area(sa.func.ST_Transform(table.c.geom, zone_srid))
                columns.append(
                    sa.cast(
                        sa.func.round(sa.cast(area / M2_PER_MU, sa.Numeric), 3), sa.Float
                    ).label(name)
                )
            else:
                columns.append(table.c[name])
        envelope = sa.func.ST_TileEnvelope(z, x, y)
        mvt_geom = sa.func.ST_AsMVTGeom(
            sa.func.ST_Transform(table.c.geom, WEB_MERCATOR), envelope, EXTENT, BUFFER, True
        )
        rows = sa.select(mvt_geom.label("geom"), table.c.fid.label("id"), *columns).where(
            self._bbox_clause(spec, storage_bounds(z, x, y))
        )
        if status is not None:
            rows = rows.where(table.c.status == status)
        mvt = rows.subquery("mvt")
        query = (
            sa.select(sa.func.ST_AsMVT(sa.literal_column("mvt"), spec.name, EXTENT, "geom", "id"))
            .select_from(mvt)
            .where(mvt.c.geom.isnot(None))
        )
        with self.engine.connect() as conn:
            data = conn.execute(query).scalar_one_or_none()
        return bytes(data or b"")

    def layer_version(self, spec: LayerSpec) -> int:
        with self.engine.connect() as conn:
            version = conn.execute(
                sa.select(layer_versions.c.version).where(layer_versions.c.layer == spec.name)
            ).scalar_one_or_none()
        return int(version or 0)

    def _bump_version(self, conn: Connection, spec: LayerSpec) -> None:
        now = dt.datetime.now(dt.UTC)
        updated = conn.execute(
            layer_versions.update()
            .where(layer_versions.c.layer == spec.name)
            .values(version=layer_versions.c.version + 1, updated_at=now)
        )
        if updated.rowcount == 0:
            conn.execute(layer_versions.insert().values(layer=spec.name, version=1, updated_at=now))


def _records(spec: LayerSpec, frame: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    geoms = frame.geometry.values.to_numpy()
    bounds = shapely.bounds(geoms)
    columns: dict[str, list[Any]] = {}
    for f in spec.stored_fields:
        series = frame[f.name] if f.name in frame.columns else pd.Series([None] * len(frame))
        values = series.astype(object).to_numpy()
        columns[f.name] = [_plain(v, f.kind) for v in values]
    out: list[dict[str, Any]] = []
    for i in range(len(frame)):
        record = {name: col[i] for name, col in columns.items()}
        record["geom"] = geoms[i]
        record.update(zip(BBOX_COLUMNS, map(float, bounds[i]), strict=True))
        out.append(record)
    return out


def _plain(value: Any, kind: str) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    return value
