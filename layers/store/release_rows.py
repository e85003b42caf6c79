"""A released layer read again for a new release, reading whole only the rows that are
not held already.

A release's rows are written once, when it is staged, and never changed (the store's
triggers refuse it): a new stock list is a new release. Each row keeps a hash of what was
staged (``row_hash``, :func:`layers.store.rows.stamp`), but for the fields a new year's
list changes on every row (its year). A reader holding an earlier release's frame with
its rows' hashes (:class:`Held`) first reads the new release's ids and hashes, with those
fields and the values readers see computed (a reserved site's status): a row whose hash
equals a held row's with the same id is that row with these few values, and is taken
from the frame held. Only the others are read whole: a new list that repeats most of the
last one's parcels is read in a fraction of a full read's time (the driver's values, not
the query, are most of it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import sqlalchemy as sa

from layers.catalog import ROUTINE
from layers.schema import LayerSpec
from layers.store import releases, rows
from layers.store.features import Features, column
from layers.store.tables import LAYER_TABLES, in_force

FIDS_AT_ONCE = 10_000
"""Rows read whole by one query (a list of ids: the drivers bound their parameters)."""


@dataclass(frozen=True)
class Held:
    """A released layer's frame as readers saw it, and its rows' hashes (by fid;
    missing where unknown)."""

    frame: gpd.GeoDataFrame
    hashes: pd.Series


def read_release(features: Features, spec: LayerSpec, held: Held | None) -> Held:
    """The release in force of ``spec`` as :meth:`Features.read` gives it (readers' view),
    with its rows' hashes: the rows ``held`` has taken from it, the others read."""
    table = LAYER_TABLES[spec.name]
    if spec.drawn_down:  # budgets drawn down as read: a row taken would lack them
        held = None
    fresh = [] if held is None else [  # nothing to take: the hashes alone
        f for f in spec.stored_fields
        if f.name in ROUTINE or column(spec, f.name) is not table.c[f.name]
    ]  # fmt: skip
    query = sa.select(
        table.c.fid, table.c[spec.id_field], table.c.row_hash,
        *(column(spec, f.name) for f in fresh),
    )  # fmt: skip
    with features.engine.connect() as conn:
        features.prepare_read(conn, long_read=True)
        release = releases.current_id(conn)
        release = -1 if release is None else release
        result = conn.execute(query.where(*in_force(table, release)).order_by(table.c.fid))
        with rows.driver_rows(result) as cursor:
            found = cursor.fetchall()
    empty: list[list[Any]] = [[] for _ in range(3 + len(fresh))]
    fids, ids, hashes, *values = [list(c) for c in zip(*found, strict=True)] or empty
    index = pd.Index(np.array(fids, dtype=np.int64), name="fid")
    stamps = _Stamps(
        ids=ids,
        # pd.array: exact (64-bit integers with one missing, inferred, would be floats)
        hashes=pd.Series(pd.array(hashes, dtype="Int64"), index=index),
        fresh={
            f.name: rows.read_column(f, v, index, as_text=not features.postgis)
            for f, v in zip(fresh, values, strict=True)
        },
    )
    frame = None if held is None else _taken(features, spec, held, stamps, release)
    if frame is None:
        frame = features.read(spec, release=release, as_stored=False, long_read=True)
    return Held(frame, stamps.hashes)


@dataclass(frozen=True)
class _Stamps:
    """A release's rows (by fid, in order): their ids and hashes, and the values of the
    fields read with them."""

    ids: list[Any]
    hashes: pd.Series
    fresh: dict[str, pd.Series]


def _taken(
    features: Features, spec: LayerSpec, held: Held, stamps: _Stamps, release: int
) -> gpd.GeoDataFrame | None:
    """The release's frame with the rows ``held`` has taken from it (None: read it all,
    when more than half must be read)."""
    index = stamps.hashes.index
    at = pd.Index(held.frame[spec.id_field]).get_indexer(stamps.ids)
    old = held.hashes.reindex(held.frame.index).array[np.maximum(at, 0)]
    same = (at >= 0) & (old == stamps.hashes.array).fillna(False).to_numpy(dtype=bool)
    read = index[~same].to_numpy()
    if 2 * len(read) > len(index):
        return None
    taken = held.frame.iloc[at[same]].set_axis(index[same], axis=0)
    taken = taken.assign(**{name: values[same] for name, values in stamps.fresh.items()})
    parts = [taken] + [
        features.read(spec, fids=read[i : i + FIDS_AT_ONCE].tolist(), release=release,
                      as_stored=False, long_read=True)
        for i in range(0, len(read), FIDS_AT_ONCE)
    ]  # fmt: skip
    frame = pd.concat([p for p in parts if len(p)] or parts[:1]).sort_index()
    if not frame.index.equals(index):
        return None  # rows gone meanwhile (a release is never changed, but never mind)
    return frame
