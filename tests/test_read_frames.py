"""Frames are read column-wise (issue 16, item 2): for every layer, on both stores, the
frame equals the one read row by row as before — the same dtypes, index, values,
missing values and geometry — for awkward values (missing, NaN, empty or Chinese text,
dates, booleans)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from shapely.testing import assert_geometries_equal

from layers.catalog import LAYERS, PARCELS
from layers.crs import STORAGE_EPSG
from layers.frames import empty_frame
from layers.store import rows
from layers.store.store import Store
from layers.values import field_type

AWKWARD: dict[str, list[Any]] = {
    "str": [None, "", " ", "工业园区·测试 (test) ✓", "'; DROP TABLE parcels; --", "a\nb"],
    "float": [None, np.nan, -0.0, 1e-300, 123456789.123456789, 0.1],
    "int": [None, 0, -7, 2**31 - 1],
    "bool": [None, True, False],
    "date": [None, dt.date(1990, 1, 1), dt.date(2100, 12, 31), dt.date(2026, 2, 28)],
}


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    """A demo zone whose optional fields hold awkward values in their first rows."""
    made = demo_zone(parcels=150)
    for name, frame in made.items():
        for f in LAYERS[name].stored_fields:
            if f.required or f.choices or f.name == LAYERS[name].id_field:
                continue
            column = frame[f.name].astype(object).to_numpy().copy()
            awkward = AWKWARD[f.kind][: len(column)]
            column[: len(awkward)] = np.array(awkward, dtype=object)
            frame[f.name] = pd.Series(column, index=frame.index).astype(field_type(f).dtype)
    return made


def _row_wise(spec: Any, result: sa.CursorResult[Any], *, as_text: bool) -> gpd.GeoDataFrame:
    """The frame as it was read before: SQLAlchemy's rows, transposed with ``zip``, a
    Series per field from a tuple of values (the oracle)."""
    found = result.all()
    if not found:
        frame = empty_frame(spec)
        frame.index = pd.Index([], dtype="int64", name="fid")
        return frame
    fid, *values, geometries = zip(*found, strict=True)
    index = pd.Index(np.array(fid, dtype="int64"), name="fid")
    data: dict[str, Any] = {}
    for f, column in zip(spec.stored_fields, values, strict=True):
        ft = field_type(f)
        data[f.name] = pd.Series(ft.column(column), index=index, dtype=ft.dtype)
    shapes = shapely.from_wkb(np.array([bytes(g) for g in geometries], dtype=object))
    geometry = gpd.GeoSeries(shapes, index=index, crs=STORAGE_EPSG)
    return gpd.GeoDataFrame(data, geometry=geometry, crs=STORAGE_EPSG)


def _assert_same(new: gpd.GeoDataFrame, old: gpd.GeoDataFrame) -> None:
    pd.testing.assert_frame_equal(
        pd.DataFrame(new.drop(columns="geometry")), pd.DataFrame(old.drop(columns="geometry"))
    )
    assert list(new.columns) == list(old.columns)
    assert new.crs == old.crs and new.geometry.name == old.geometry.name
    assert_geometries_equal(new.geometry.to_numpy(), old.geometry.to_numpy())
    assert list(shapely.to_wkb(new.geometry.to_numpy())) == list(
        shapely.to_wkb(old.geometry.to_numpy())
    )
    # Missing values are missing the same way (None in text and dates, NaN in floats).
    for name in new.columns.drop("geometry"):
        assert [type(v) for v in new[name]] == [type(v) for v in old[name]], name


@pytest.mark.parametrize("chunk", [rows.READ_CHUNK, 7])
@pytest.mark.parametrize("layer", list(LAYERS))
def test_a_layer_read_column_wise_equals_it_read_row_by_row(
    loaded: Store,
    layer: str,
    chunk: int,
    zone: dict[str, gpd.GeoDataFrame],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = LAYERS[layer]
    monkeypatch.setattr(rows, "READ_CHUNK", chunk)  # 7: many chunks, shared values
    new = loaded.features.read(spec)
    with monkeypatch.context() as patched:
        patched.setattr(rows, "read_frame", _row_wise)
        old = loaded.features.read(spec)
    _assert_same(new, old)
    assert len(new) == len(zone[layer])
    # The awkward values did reach the store, so they were compared.
    for f in spec.stored_fields:
        if f.kind == "str" and not (f.required or f.choices or f.name == spec.id_field):
            assert "工业园区·测试 (test) ✓" in set(new[f.name].dropna())
            assert "" in set(new[f.name].dropna()) and new[f.name].isna().any()


def test_pages_and_an_empty_read_equal_the_row_wise_ones(
    loaded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    extent = loaded.features.extent(PARCELS)
    assert extent is not None
    minx, miny, maxx, maxy = extent
    box = (minx, miny, (minx + maxx) / 2, (miny + maxy) / 2)
    nowhere = (maxx + 1, maxy + 1, maxx + 2, maxy + 2)
    asked: list[dict[str, Any]] = [
        {"bbox": box, "limit": 40, "offset": 5},
        {"bbox": nowhere},
        {"fids": [1, 3, 5]},
        {"release": loaded.releases.current_id()},
    ]
    for arguments in asked:
        new = loaded.features.read(PARCELS, **arguments)
        with monkeypatch.context() as patched:
            patched.setattr(rows, "read_frame", _row_wise)
            old = loaded.features.read(PARCELS, **arguments)
        _assert_same(new, old)
    assert loaded.features.read(PARCELS, bbox=nowhere).empty
    assert loaded.features.read(PARCELS, bbox=nowhere).crs == STORAGE_EPSG


def test_equal_text_and_dates_read_are_held_once(loaded: Store) -> None:
    """A column of a few distinct values (statuses, conditions) holds one object per
    value, not one per row: what keeps a large zone's frames small."""
    parcels = loaded.features.read(PARCELS)
    for name in ("status", "stock_cat", "acq_st"):
        present = parcels[name].dropna()
        assert present.nunique() < len(present) / 2, name  # a column worth sharing
        assert len({id(v) for v in present}) == present.nunique(), name
