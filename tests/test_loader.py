"""Loading checks a layer against the others: each feature lies in the park it names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from geopandas.testing import assert_geodataframe_equal

from layers.catalog import FACTORIES, PARCELS, PARKS
from layers.errors import LayerValidationError
from layers.io import write_layer_file
from layers.loader import load_file
from layers.store.store import Store
from tests.people import TESTER


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=60)


def test_parcels_surveyed_in_the_wrong_zone_are_refused(
    store: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    store.features.write(PARKS, zone["parks"], actor=TESTER)
    # Surveyed in zone 38 (CM 114°E) without prefix, but declared as zone 39 (CM 117°E):
    # unprefixed eastings fit every zone, so only the park check can tell.
    surveyed = zone["parcels"].to_crs(4547).set_crs(4548, allow_override=True)
    path = tmp_path / "parcels.gpkg"
    surveyed.to_file(path, layer="parcels", engine="pyogrio")
    with pytest.raises(LayerValidationError, match="parks") as caught:
        load_file(store, PARCELS, path, actor=TESTER)
    assert {p.row for p in caught.value.problems} == set(range(1, len(surveyed) + 1))
    assert all(p.field == "geometry" for p in caught.value.problems)
    assert store.features.count(PARCELS) == 0


def test_unknown_park_is_named(
    store: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    store.features.write(PARKS, zone["parks"], actor=TESTER)
    factories = zone["factories"].copy()
    factories.loc[1, "park_id"] = "P99"
    path = tmp_path / "factories.geojson"
    write_layer_file(factories, FACTORIES, path)
    with pytest.raises(LayerValidationError) as caught:
        load_file(store, FACTORIES, path, actor=TESTER)
    [problem] = caught.value.problems
    assert (problem.row, problem.field, problem.feature_id) == (
        2,
        "park_id",
        factories.loc[1, "factory_id"],
    )
    assert "P99" in problem.message


def test_without_parks_the_check_is_reported_not_skipped_silently(
    store: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    path = tmp_path / "parcels.gpkg"
    write_layer_file(zone["parcels"], PARCELS, path)
    report = load_file(store, PARCELS, path, actor=TESTER)
    assert report.count == len(zone["parcels"])
    assert any("parks not loaded" in w for w in report.warnings)
    assert_geodataframe_equal(store.features.read(PARCELS).reset_index(drop=True), zone["parcels"])


def test_parcels_in_their_parks_load(
    store: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    store.features.write(PARKS, zone["parks"], actor=TESTER)
    path = tmp_path / "parcels.zip"
    write_layer_file(zone["parcels"], PARCELS, path)
    assert load_file(store, PARCELS, path, actor=TESTER).warnings == []
