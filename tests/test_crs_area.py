"""The same parcel delivered in EPSG:4526, 4547 and 4490 lands in one place, with one area."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from layers.area import M2_PER_MU, area_m2
from layers.catalog import PARCELS
from layers.crs import check_zone_extent, gk3_epsg, gk3_zone, gk3_zone_of_epsg, transformer
from layers.errors import CRSMismatch, LayerValidationError
from layers.frames import derive
from layers.io import read_layer_file
from layers.store.store import Store
from tests.people import TESTER

# An L-shaped parcel surveyed in CGCS2000 GK zone 38 (central meridian 114°E), without
# the zone prefix; near Yuci at about 112.8°E, 37.67°N.
SURVEY_XY = [
    (395_000.0, 4_170_000.0),
    (395_300.0, 4_170_000.0),
    (395_300.0, 4_170_150.0),
    (395_120.0, 4_170_150.0),
    (395_120.0, 4_170_400.0),
    (395_000.0, 4_170_400.0),
]
# By hand: 300 m × 150 m plus 120 m × 250 m = 45 000 + 30 000 = 75 000 m² = 112.5 亩.
HAND_AREA_M2 = 75_000.0
HAND_AREA_MU = 112.5


def _parcel_file(tmp_path: Path, epsg: int) -> Path:
    xy = np.array(SURVEY_XY)
    if epsg == 4526:
        xy = xy + np.array([38_000_000.0, 0.0])  # the zone-prefixed easting
    elif epsg == 4490:
        lon, lat = transformer(4547, 4490).transform(xy[:, 0], xy[:, 1])
        xy = np.column_stack([lon, lat])
    frame = gpd.GeoDataFrame(
        {
            "parcel_id": ["JZ-L1"],
            "park_id": ["P01"],
            "land_use": ["M1"],
            "stock_cat": ["existing"],
            "list_year": [2026],
            "status": ["available"],
            "decl_mu": [HAND_AREA_MU],
            "name": ["L形地块"],
        },
        geometry=[shapely.Polygon(xy)],
        crs=epsg,
    )
    path = tmp_path / f"parcel_{epsg}.gpkg"
    frame.to_file(path, layer="parcels", engine="pyogrio")
    return path


def test_hand_computation_is_what_we_think() -> None:
    assert shapely.Polygon(SURVEY_XY).area == HAND_AREA_M2
    assert pytest.approx(HAND_AREA_MU, abs=1e-9) == HAND_AREA_M2 / M2_PER_MU


def test_one_parcel_in_three_crs_lands_in_one_place(store: Store, tmp_path: Path) -> None:
    stored = {}
    for epsg in (4526, 4547, 4490):
        frame = read_layer_file(_parcel_file(tmp_path, epsg), PARCELS)
        store.features.write(PARCELS, frame, replace=True, actor=TESTER)
        stored[epsg] = store.features.read(PARCELS)
    reference = stored[4547].to_crs(4547).geometry.iloc[0]
    for epsg, frame in stored.items():
        assert frame.crs.to_epsg() == 4490
        back = frame.to_crs(4547).geometry.iloc[0]
        # Vertex by vertex, within 1 cm of the surveyed coordinates.
        offsets = np.hypot(*(shapely.get_coordinates(back) - shapely.get_coordinates(reference)).T)
        assert offsets.max() < 0.01, (epsg, offsets.max())
        assert np.abs(shapely.get_coordinates(back)[:-1] - SURVEY_XY).max() < 0.01
        derived = derive(frame, PARCELS).iloc[0]
        assert derived["area_mu"] == pytest.approx(HAND_AREA_MU, rel=1e-3)
        assert derived["area_m2"] == pytest.approx(HAND_AREA_M2, rel=1e-3)
        assert not derived["area_warn"]


def test_declared_area_that_differs_is_flagged() -> None:
    parcel = gpd.GeoSeries([shapely.Polygon(SURVEY_XY)], crs=4547).to_crs(4490)
    frame = gpd.GeoDataFrame({"decl_mu": [HAND_AREA_MU * 1.05]}, geometry=parcel)
    for f in PARCELS.stored_fields:
        frame[f.name] = frame.get(f.name, None)
    assert bool(derive(frame, PARCELS)["area_warn"].iloc[0])


def test_prefixed_code_with_unprefixed_eastings_is_refused(tmp_path: Path) -> None:
    path = _parcel_file(tmp_path, 4547)
    frame = gpd.read_file(path).set_crs(4526, allow_override=True)  # the wrong code
    bad = tmp_path / "mislabelled.gpkg"
    frame.to_file(bad, layer="parcels")
    with pytest.raises(LayerValidationError, match="EPSG:4547"):
        read_layer_file(bad, PARCELS)


def test_swapped_axes_are_refused() -> None:
    with pytest.raises(CRSMismatch):
        check_zone_extent((4_170_000.0, 395_000.0, 4_170_400.0, 395_300.0), 4547)


def test_shapefile_without_prj_must_declare_its_crs(tmp_path: Path) -> None:
    frame = gpd.read_file(_parcel_file(tmp_path, 4547))
    shp = tmp_path / "shp" / "parcels.shp"
    shp.parent.mkdir()
    frame.to_file(shp, engine="pyogrio", encoding="UTF-8")
    bare = tmp_path / "no_prj.zip"
    with zipfile.ZipFile(bare, "w") as archive:
        for part in shp.parent.iterdir():
            if part.suffix != ".prj":
                archive.write(part, arcname=part.name)
    with pytest.raises(LayerValidationError, match="--crs"):
        read_layer_file(bare, PARCELS)
    loaded = read_layer_file(bare, PARCELS, crs="EPSG:4547")
    assert derive(loaded, PARCELS)["area_mu"].iloc[0] == pytest.approx(HAND_AREA_MU, rel=1e-3)


@pytest.mark.parametrize(
    ("lon", "zone"), [(73.6, 25), (112.8, 38), (114.0, 38), (115.49, 38), (115.51, 39), (135.0, 45)]
)
def test_zone_and_codes(lon: float, zone: int) -> None:
    assert gk3_zone(lon) == zone
    assert gk3_zone_of_epsg(gk3_epsg(zone)) == (zone, False)
    assert gk3_zone_of_epsg(gk3_epsg(zone, prefixed=True)) == (zone, True)


def test_area_uses_the_zone_of_each_geometry() -> None:
    # The same 100 m square surveyed in zone 38 and in zone 40 has the same area.
    squares = []
    for zone, lon in ((38, 112.8), (40, 120.3)):
        x, y = transformer(4490, gk3_epsg(zone)).transform(lon, 37.6)
        squares.append(
            gpd.GeoSeries([shapely.box(x, y, x + 100, y + 100)], crs=gk3_epsg(zone))
            .to_crs(4490)
            .iloc[0]
        )
    areas = area_m2(gpd.GeoSeries(squares, crs=4490))
    np.testing.assert_allclose(areas, [10_000.0, 10_000.0], rtol=1e-6)
