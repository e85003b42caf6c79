"""Every layer round-trips file → store → file unchanged, in every format, on both stores."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal

from layers.catalog import LAYERS, PARCELS
from layers.demo import generate_zone
from layers.errors import InvalidInput, LayerValidationError
from layers.io import read_layer_file, write_layer_file
from layers.store.store import Store


@pytest.fixture(scope="module")
def zone() -> dict[str, gpd.GeoDataFrame]:
    return generate_zone(parcels=80)


@pytest.mark.parametrize("layer", list(LAYERS))
def test_geopackage_store_geopackage_is_identical(
    store: Store, zone: dict[str, gpd.GeoDataFrame], layer: str, tmp_path: Path
) -> None:
    spec = LAYERS[layer]
    original = tmp_path / "in.gpkg"
    write_layer_file(zone[layer], spec, original)
    store.write_layer(spec, read_layer_file(original, spec))
    exported = tmp_path / "out.gpkg"
    write_layer_file(store.read_layer(spec), spec, exported)
    # Compare the files as GDAL reads them: geometry and every attribute.
    assert_geodataframe_equal(
        pyogrio.read_dataframe(exported), pyogrio.read_dataframe(original), check_crs=True
    )
    assert_geodataframe_equal(read_layer_file(exported, spec), zone[layer], check_crs=True)


@pytest.mark.parametrize("suffix", [".geojson", ".zip"])
@pytest.mark.parametrize("layer", ["parcels", "factories", "parks"])
def test_geojson_and_shapefile_round_trip(
    zone: dict[str, gpd.GeoDataFrame], layer: str, suffix: str, tmp_path: Path
) -> None:
    spec = LAYERS[layer]
    path = tmp_path / f"{layer}{suffix}"
    write_layer_file(zone[layer], spec, path)
    back = read_layer_file(path, spec)
    # A Shapefile stores rings in its own orientation; the shapes are the same.
    assert_geodataframe_equal(back, zone[layer], check_crs=True, normalize=suffix == ".zip")


def test_chinese_text_survives_every_format(
    store: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    parks = zone["parks"].copy()
    parks.loc[0, "name"] = "晋中开发区·汇通产业园（测试）「𠀀」"
    for suffix in (".gpkg", ".geojson", ".zip"):
        path = tmp_path / f"parks{suffix}"
        write_layer_file(parks, LAYERS["parks"], path)
        store.write_layer(LAYERS["parks"], read_layer_file(path, LAYERS["parks"]), replace=True)
        name = store.read_layer(LAYERS["parks"])["name"].iloc[0]
        assert name.encode("utf-8") == parks.loc[0, "name"].encode("utf-8"), suffix


def test_public_export_has_only_public_fields(
    zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    path = tmp_path / "public.gpkg"
    write_layer_file(zone["parcels"], PARCELS, path, public=True)
    columns = set(pyogrio.read_info(path)["fields"])
    assert columns == {f.name for f in PARCELS.fields if f.public}
    assert "floor_wmu" not in columns and "contact" not in columns


def test_bad_file_is_refused_whole_and_changes_nothing(
    store: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    store.write_layer(PARCELS, zone["parcels"])
    before = store.read_layer(PARCELS)
    bad = zone["parcels"].copy()
    bad.loc[4, "land_use"] = "X9"
    bad.loc[7, "status"] = None
    path = tmp_path / "bad.gpkg"
    write_layer_file(bad, PARCELS, path)
    with pytest.raises(LayerValidationError) as caught:
        read_layer_file(path, PARCELS)
    where = {(p.row, p.field, p.feature_id) for p in caught.value.problems}
    assert (5, "land_use", bad.loc[4, "parcel_id"]) in where
    assert (8, "status", bad.loc[7, "parcel_id"]) in where
    assert all(p.file == "bad.gpkg" for p in caught.value.problems)
    assert_geodataframe_equal(store.read_layer(PARCELS), before)


def test_a_file_in_disguise_is_refused(tmp_path: Path, zone: dict[str, gpd.GeoDataFrame]) -> None:
    real = tmp_path / "real.gpkg"
    write_layer_file(zone["roads"], LAYERS["roads"], real)
    disguised = tmp_path / "roads.geojson"
    disguised.write_bytes(real.read_bytes())
    with pytest.raises(InvalidInput, match="GPKG"):
        read_layer_file(disguised, LAYERS["roads"])
    with pytest.raises(InvalidInput, match="unsupported"):
        read_layer_file(tmp_path / "roads.kml", LAYERS["roads"])
