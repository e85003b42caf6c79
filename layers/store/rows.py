"""Rows ↔ frames: stored rows read back as a canonical frame, a frame written as rows,
and the hash of a frame's data (equal for equal data whichever store or file)."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterable
from typing import Any, cast

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from layers.crs import STORAGE_EPSG
from layers.frames import empty_frame
from layers.schema import FieldSpec, LayerSpec
from layers.store.tables import BBOX_COLUMNS
from layers.values import field_type, is_null

WRITE_CHUNK = 2_000
"""Rows sent to the database in one statement."""


def read_frame(spec: LayerSpec, result: sa.CursorResult[Any], *, as_text: bool) -> gpd.GeoDataFrame:
    """A canonical frame from a query's rows of (fid, stored fields…, WKB), indexed by fid.

    Read column-wise: the driver's values stream into one 2-D array (each row tuple is
    dropped as soon as it is read, so the garbage collector has next to nothing to
    walk), then each column is converted with one vectorised call and the geometries
    decoded at once. The rows come from the DBAPI cursor as the driver gives them,
    without SQLAlchemy's per-value processing (on SQLite a regular expression for each
    date): the store's events (its statement deadline) still apply, as the statement was
    executed through SQLAlchemy. ``as_text``: the driver gives the values the database
    keeps as text (SQLite's dates) as text, read with their kind's ``from_text``.
    """
    # Both drivers' cursors iterate over their rows (PEP 249's optional iterator).
    cursor = cast("Iterable[tuple[Any, ...]]", result.cursor)
    try:
        width = len(result.cursor.description)
        flat = np.fromiter(itertools.chain.from_iterable(cursor), dtype=object)
    finally:
        result.close()
    table = flat.reshape(-1, width)
    if not len(table):
        frame = empty_frame(spec)
        frame.index = pd.Index([], dtype="int64", name="fid")
        return frame
    index = pd.Index(table[:, 0].astype("int64"), name="fid")
    data: dict[str, Any] = {}
    for i, f in enumerate(spec.stored_fields, start=1):
        ft = field_type(f)
        values = table[:, i]
        if as_text and ft.from_text is not None:
            values = ft.from_text(values)
        data[f.name] = pd.Series(ft.column(values), index=index, dtype=ft.dtype)
    shapes = shapely.from_wkb(table[:, -1])
    geometry = gpd.GeoSeries(shapes, index=index, crs=STORAGE_EPSG)
    return gpd.GeoDataFrame(data, geometry=geometry, crs=STORAGE_EPSG)


def records(spec: LayerSpec, frame: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """A canonical frame as rows to insert: stored fields as plain values, the geometry
    and its bounding box."""
    geoms = frame.geometry.values.to_numpy()
    bounds = shapely.bounds(geoms)
    columns: dict[str, list[Any]] = {}
    for f in spec.stored_fields:
        series = frame[f.name] if f.name in frame.columns else pd.Series([None] * len(frame))
        values = series.astype(object).to_numpy()
        plain = field_type(f).plain
        columns[f.name] = [None if is_null(v) else plain(v) for v in values]
    out: list[dict[str, Any]] = []
    for i in range(len(frame)):
        record = {name: col[i] for name, col in columns.items()}
        record["geom"] = geoms[i]
        record.update(zip(BBOX_COLUMNS, map(float, bounds[i]), strict=True))
        out.append(record)
    return out


def insert(
    conn: Connection,
    table: sa.Table,
    rows: list[dict[str, Any]],
    progress: Callable[[int], None] | None,
) -> None:
    """Insert ``rows`` in chunks, calling ``progress`` with the rows written so far."""
    for start in range(0, len(rows), WRITE_CHUNK):
        insert_chunk(conn, table, rows[start : start + WRITE_CHUNK])
        if progress is not None:
            progress(min(start + WRITE_CHUNK, len(rows)))


def insert_chunk(conn: Connection, table: sa.Table, chunk: list[dict[str, Any]]) -> None:
    """One chunk of an insert (a function of its own: the fault tests fail it)."""
    conn.execute(table.insert(), chunk)


def data_hash(frame: gpd.GeoDataFrame, spec: LayerSpec) -> str:
    """SHA-256 of a canonical dump of a frame's features (sorted by id, stored fields and
    WKB): equal for equal data whichever store or file it came from."""
    order = np.argsort(frame[spec.id_field].astype(str).to_numpy(), kind="stable")
    columns = [_plain_column(frame[f.name], f)[order] for f in spec.stored_fields]
    wkb = shapely.to_wkb(frame.geometry.values.to_numpy()[order], hex=True)
    digest = hashlib.sha256()
    for row in zip(*columns, wkb, strict=True):
        digest.update(json.dumps(row, ensure_ascii=False, default=str).encode())
    return digest.hexdigest()


def _plain_column(series: pd.Series, f: FieldSpec) -> npt.NDArray[np.object_]:
    """A column as plain Python values (None for missing), whatever dtype it came in."""
    plain = field_type(f).plain
    return np.array([None if is_null(v) else plain(v) for v in series.astype(object)], dtype=object)
