"""Every layer round-trips file → store → file unchanged, in every format, on both stores."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
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
from tests.people import TESTER


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
    store.features.write(spec, read_layer_file(original, spec), actor=TESTER)
    exported = tmp_path / "out.gpkg"
    write_layer_file(store.features.read(spec), spec, exported)
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
        reread = read_layer_file(path, LAYERS["parks"])
        store.features.write(LAYERS["parks"], reread, replace=True, actor=TESTER)
        name = store.features.read(LAYERS["parks"])["name"].iloc[0]
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
    store.features.write(PARCELS, zone["parcels"], actor=TESTER)
    before = store.features.read(PARCELS)
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
    assert_geodataframe_equal(store.features.read(PARCELS), before)


def test_a_file_in_disguise_is_refused(tmp_path: Path, zone: dict[str, gpd.GeoDataFrame]) -> None:
    real = tmp_path / "real.gpkg"
    write_layer_file(zone["roads"], LAYERS["roads"], real)
    disguised = tmp_path / "roads.geojson"
    disguised.write_bytes(real.read_bytes())
    with pytest.raises(InvalidInput, match="not GeoJSON"):
        read_layer_file(disguised, LAYERS["roads"])
    with pytest.raises(InvalidInput, match="unsupported"):
        read_layer_file(tmp_path / "roads.kml", LAYERS["roads"])


def _zip_shapefile(frame: gpd.GeoDataFrame, tmp_path: Path, *, encoding: str, cpg: bool) -> Path:
    folder = tmp_path / f"shp_{encoding}_{cpg}"
    folder.mkdir()
    pyogrio.write_dataframe(frame, folder / "parks.shp", encoding=encoding)
    path = tmp_path / f"parks_{encoding}_{cpg}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in folder.iterdir():
            if part.suffix != ".cpg" or cpg:
                archive.write(part, arcname=part.name)
    return path


def test_gbk_shapefile_without_cpg_asks_for_the_encoding(
    zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    parks = zone["parks"].copy()
    parks["name"] = ["工业园区一", "汇通产业园", "晋中光伏园", "信息技术园"][: len(parks)]
    gbk = _zip_shapefile(parks, tmp_path, encoding="GBK", cpg=False)
    with pytest.raises(InvalidInput, match="--encoding GBK"):
        read_layer_file(gbk, LAYERS["parks"])
    loaded = read_layer_file(gbk, LAYERS["parks"], encoding="GBK")
    assert list(loaded["name"]) == list(parks["name"])
    utf8 = _zip_shapefile(parks, tmp_path, encoding="UTF-8", cpg=False)
    assert list(read_layer_file(utf8, LAYERS["parks"])["name"]) == list(parks["name"])
    declared = _zip_shapefile(parks, tmp_path, encoding="GBK", cpg=True)
    assert list(read_layer_file(declared, LAYERS["parks"])["name"]) == list(parks["name"])


def test_ogr_vrt_disguised_as_geojson_never_reads_its_target(tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text('WKT,name\n"POINT (112.7 37.6)",TOP-SECRET-4411\n', encoding="utf-8")
    vrt = (
        f'<OGRVRTDataSource><OGRVRTLayer name="secret"><SrcDataSource>{secret}</SrcDataSource>'
        '<GeometryField encoding="WKT" field="WKT"/></OGRVRTLayer></OGRVRTDataSource>'
    )
    for name in ("roads.geojson", "roads.json"):
        disguised = tmp_path / name
        disguised.write_text(vrt, encoding="utf-8")
        with pytest.raises(InvalidInput) as caught:
            read_layer_file(disguised, LAYERS["roads"])
        assert "TOP-SECRET" not in str(caught.value)


def test_inverted_indicator_bounds_are_refused(
    zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    bad = zone["parcels"].copy()
    bad.loc[2, ["far_lo", "far_hi"]] = [3.0, 1.5]
    path = tmp_path / "parcels.geojson"
    write_layer_file(bad, PARCELS, path)
    with pytest.raises(LayerValidationError) as caught:
        read_layer_file(path, PARCELS)
    assert [(p.row, p.field) for p in caught.value.problems] == [(3, "far_lo")]


def test_vrt_is_switched_off_through_the_environment_because_the_config_api_is_too_late() -> None:
    """Why layers/__init__.py writes GDAL_SKIP into os.environ: pyogrio registers GDAL's
    drivers as it is imported, and GDAL reads GDAL_SKIP only then, so the same option
    set with pyogrio's config API afterwards leaves VRT registered. If this ever fails,
    pyogrio honours it: switch layers/__init__.py to ``pyogrio.set_gdal_config_options``."""
    env = {k: v for k, v in os.environ.items() if k != "GDAL_SKIP"}
    late = (
        "import pyogrio; pyogrio.set_gdal_config_options({'GDAL_SKIP': 'OGR_VRT VRT'}); "
        "print('OGR_VRT' in pyogrio.list_drivers())"
    )
    ours = "import layers, pyogrio; print('OGR_VRT' in pyogrio.list_drivers())"
    for code, registered in ((late, "True"), (ours, "False")):
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == registered, code
