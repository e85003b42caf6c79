"""The matching benchmark times the zone build on frames as the store reads them: its
stand-in for a store's read shares equal values as the stores do, on both stores."""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import pytest

from benchmarks.bench_matching import as_read
from layers.catalog import LAYERS
from layers.store.release_rows import read_release
from layers.store.store import Store

pytestmark = pytest.mark.read_only


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=3_000)


def test_the_benchmarks_frames_hold_equal_values_as_the_store_reads_them(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    made = as_read(zone)
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
