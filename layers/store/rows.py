"""Rows ↔ frames: stored rows read back as a canonical frame, a frame written as rows,
and the hash of a frame's data (equal for equal data whichever store or file)."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from layers.catalog import ROUTINE
from layers.crs import STORAGE_EPSG
from layers.frames import empty_frame
from layers.schema import FieldSpec, LayerSpec
from layers.store.tables import BBOX_COLUMNS
from layers.values import field_type, is_null

WRITE_CHUNK = 2_000
"""Rows sent to the database in one statement."""
READ_CHUNK = 10_000
"""Rows taken from the driver at once when reading a frame."""


def read_frame(spec: LayerSpec, result: sa.CursorResult[Any], *, as_text: bool) -> gpd.GeoDataFrame:
    """A canonical frame from a query's rows of (fid, stored fields…, WKB), indexed by fid.

    Read column-wise, :data:`READ_CHUNK` rows at a time: the driver's values of a chunk
    go into one 2-D array (each row tuple dropped as soon as it is read), each column is
    converted with one vectorised call and the geometries decoded at once. Text and dates
    are held once per distinct value (:class:`_Column`): a column of 100,000 statuses
    is 100,000 pointers to four strings, not 100,000 strings — and as each chunk's own
    strings are freed before the next is read, the memory they took is used again
    rather than kept by the allocator. The rows come from the DBAPI cursor as the driver
    gives them (:func:`driver_rows`), without SQLAlchemy's per-value processing (on
    SQLite a regular expression for each date): the store's events (its statement
    deadline) still apply, as the statement was executed through SQLAlchemy.
    ``as_text``: the driver gives the values the database keeps as text (SQLite's dates)
    as text, read with their kind's ``from_text``.
    """
    columns = [_Column(f, as_text=as_text) for f in spec.stored_fields]
    fids: list[npt.NDArray[np.int64]] = []
    wkb = _Blobs()
    with driver_rows(result) as cursor:
        width = len(cursor.description)
        while chunk := cursor.fetchmany(READ_CHUNK):
            flat = itertools.chain.from_iterable(chunk)
            table = np.fromiter(flat, dtype=object, count=len(chunk) * width)
            del chunk, flat
            table = table.reshape(-1, width)
            fids.append(table[:, 0].astype("int64"))
            for i, c in enumerate(columns, start=1):
                c.add(table[:, i])
            wkb.add(table[:, -1])
            del table  # the chunk's values are freed before the next chunk is read
    if not fids:
        frame = empty_frame(spec)
        frame.index = pd.Index([], dtype="int64", name="fid")
        return frame
    index = pd.Index(np.concatenate(fids), name="fid")
    data = {c.field.name: c.series(index) for c in columns}
    geometry = gpd.GeoSeries(wkb.geometries(), index=index, crs=STORAGE_EPSG)
    return gpd.GeoDataFrame(data, geometry=geometry, crs=STORAGE_EPSG)


def as_read(spec: LayerSpec, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` with its text and date fields held as :func:`read_frame` holds them,
    without a round trip through a store: each taken :data:`READ_CHUNK` rows at a time,
    equal values one object (:class:`_Column`), a missing value ``None``. For frames made
    in memory (the demo zone makes an object per cell) to be worked on as the service
    works on what it reads."""
    out = frame.copy()
    for f in spec.stored_fields:
        if out[f.name].dtype != object:
            continue
        values = out[f.name].to_numpy(copy=True)
        values[pd.isna(values)] = None  # as a driver gives it
        column = _Column(f, as_text=False)
        for start in range(0, len(values), READ_CHUNK):
            column.add(values[start : start + READ_CHUNK])
        out[f.name] = column.series(out.index)
    return out


@contextmanager
def driver_rows(result: sa.CursorResult[Any]) -> Iterator[Any]:
    """The DBAPI cursor of an executed statement, to take its rows as the driver gives
    them (without SQLAlchemy's rows and per-value processing); the driver's errors
    raised as SQLAlchemy raises them (the deadline: 503, not 500), the result closed."""
    dbapi_error = result.context.dialect.loaded_dbapi.Error
    try:
        yield result.cursor
    except dbapi_error as exc:
        raise sa.exc.DBAPIError.instance(None, None, exc, dbapi_error) from exc
    finally:
        result.close()


class _Column:
    """One stored field's values read chunk by chunk, converted to its canonical type.

    Values held as Python objects (text, dates) are kept once per distinct value across
    the chunks: each distinct value the driver gives is converted once in the whole read
    (a date's text parsed once, not once per chunk) and replaced by the first equal
    object seen. A column of mostly distinct values (names, ids) is kept as read: there
    is nothing to share.
    """

    def __init__(self, field: FieldSpec, *, as_text: bool) -> None:
        self.field = field
        self.type = field_type(field)
        self.as_text = as_text
        self.parts: list[Any] = []
        self.seen: dict[Any, Any] = {}
        self.known: dict[Any, Any] = {}
        """Each value the driver gave, converted (the object kept: one of ``seen``)."""

    def _converted(self, values: npt.NDArray[np.object_]) -> Any:
        if self.as_text and self.type.from_text is not None:
            values = self.type.from_text(values)
        return self.type.column(values)

    def add(self, values: npt.NDArray[np.object_]) -> None:
        if self.type.dtype != "object":
            self.parts.append(self._converted(values))
            return
        codes, distinct = pd.factorize(values)
        if 2 * len(distinct) > len(values):
            text = all(isinstance(v, str) for v in distinct)  # converted once unpacked
            self.parts.append(_Text.packed_from(values) if text else self._converted(values))
            return
        known = self.known
        if new := [v for v in distinct if v not in known]:
            converted = self._converted(np.array(new, dtype=object))
            known.update(zip(new, (self.seen.setdefault(v, v) for v in converted), strict=True))
        shared = np.array([known[v] for v in distinct] + [None], dtype=object)
        self.parts.append(shared[codes])  # code -1 (missing) takes the last: None

    def series(self, index: pd.Index) -> pd.Series:
        parts = [
            pd.Series(
                self._converted(p.strings()) if isinstance(p, _Text) else p,
                dtype=self.type.dtype,
                copy=False,
            )
            for p in self.parts
        ]
        joined = pd.concat(parts, ignore_index=True)
        return pd.Series(joined.array, index=index, dtype=self.type.dtype)


@dataclass(frozen=True)
class _Text:
    """A chunk of mostly distinct text (names, ids) packed into one string, made into a
    string per value only once every row is read.

    The driver's strings, kept, would be spread over the memory of the chunk's other
    values, freed, and hold part of it: made together at the end, they lie together."""

    packed: str
    ends: npt.NDArray[np.int64]
    missing: npt.NDArray[np.bool_]

    @classmethod
    def packed_from(cls, values: npt.NDArray[np.object_]) -> _Text:
        listed = values.tolist()
        texts = ["" if v is None else v for v in listed]
        missing = np.array([v is None for v in listed], dtype=bool)
        return cls("".join(texts), np.cumsum([len(t) for t in texts], dtype=np.int64), missing)

    def strings(self) -> npt.NDArray[np.object_]:
        starts = [0, *self.ends[:-1].tolist()]
        out = np.array(
            [self.packed[a:b] for a, b in zip(starts, self.ends.tolist(), strict=True)],
            dtype=object,
        )
        out[self.missing] = None
        return out


class _Blobs:
    """The geometries' WKB read chunk by chunk, each chunk's packed into one bytes object
    and decoded once every row is read.

    The driver's bytes objects, kept until then, would be spread among the chunks' freed
    values and hold some of their memory: packed, a 100,000-parcel frame takes 0.1 KiB
    per parcel less, resident (1.8 KiB; freeing each chunk before the next is read took
    it from 2.3 to 1.9)."""

    def __init__(self) -> None:
        self.parts: list[tuple[bytes, npt.NDArray[np.int64], npt.NDArray[np.bool_]]] = []

    def add(self, values: npt.NDArray[np.object_]) -> None:
        blobs = values.tolist()
        missing = np.array([b is None for b in blobs], dtype=bool)
        blobs = [b"" if b is None else b for b in blobs]
        ends = np.cumsum([len(b) for b in blobs], dtype=np.int64)
        self.parts.append((b"".join(blobs), ends, missing))

    def geometries(self) -> npt.NDArray[np.object_]:
        decoded = []
        for packed, ends, missing in self.parts:
            wkb = np.array(
                [packed[a:b] for a, b in zip([0, *ends[:-1].tolist()], ends.tolist(), strict=True)],
                dtype=object,
            )
            wkb[missing] = None
            decoded.append(shapely.from_wkb(wkb))
        return np.concatenate(decoded)


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


def stamp(spec: LayerSpec, records: Sequence[dict[str, Any]]) -> None:
    """Set each record's ``row_hash``: 64 bits of BLAKE2b over its geometry's WKB and its
    stored fields' values but the :data:`~layers.catalog.ROUTINE` ones (a new year's list
    changes them on every row). Equal hashes of one layer's rows mean rows equal in all
    but those fields."""
    names = [f.name for f in spec.stored_fields if f.name not in ROUTINE]
    wkb = shapely.to_wkb(np.array([r["geom"] for r in records], dtype=object))
    for record, geometry in zip(records, wkb.tolist(), strict=True):
        values = repr(tuple(record[name] for name in names)).encode()
        digest = hashlib.blake2b(values + geometry, digest_size=8).digest()
        record["row_hash"] = int.from_bytes(digest, "little", signed=True)


def read_column(
    field: FieldSpec, values: Sequence[Any], index: pd.Index, *, as_text: bool
) -> pd.Series:
    """A stored field's values as the driver gave them, as :func:`read_frame` makes
    them a frame's column."""
    column = _Column(field, as_text=as_text)
    if not len(values):
        return pd.Series(index=index, dtype=column.type.dtype)
    column.add(np.fromiter(values, dtype=object, count=len(values)))
    return column.series(index)


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
