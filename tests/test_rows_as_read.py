"""Frames made in memory, held as the store would read them (``layers.store.rows.as_read``,
what ``bench_matching`` times the zone build on) are what both stores read back: the same
values, dtypes and objects shared."""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import pytest

from layers.catalog import LAYERS
from layers.store.release_rows import read_release
from layers.store.rows import as_read
from layers.store.store import Store

pytestmark = pytest.mark.read_only


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=3_000)


def test_frames_held_as_read_are_what_the_store_reads_back(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    made = {name: as_read(LAYERS[name], frame) for name, frame in zone.items()}
    for name, spec in LAYERS.items():
        if spec.released:
            stored = read_release(loaded.features, spec, None).frame
        else:
            stored = loaded.features.read(spec, long_read=True)
        stored = stored.reset_index(drop=True)
        for column in zone[name].select_dtypes(include="object").columns:
            ours, theirs = made[name][column].to_numpy(), stored[column].to_numpy()
            assert made[name][column].dtype == stored[column].dtype, (name, column)
            assert ours.tolist() == theirs.tolist(), (name, column)
            objects = (len({id(v) for v in ours}), len({id(v) for v in theirs}))
            assert objects[0] == objects[1], (name, column, objects)
    generated = zone["parcels"]["as_env_st"].to_numpy()
    assert len({id(v) for v in generated}) > 100  # what the stand-in is for
