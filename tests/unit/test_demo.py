"""The synthetic demo zone: canonical, deterministic, and realistic where a user looks."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from layers.catalog import LAYERS
from layers.demo import generate_zone
from layers.demo.setting import AIRPORT, SYNTHETIC
from layers.frames import conform, derive
from layers.vocabulary import ASSESSMENTS, POLLUTANTS


@pytest.fixture(scope="module")
def zone() -> dict[str, gpd.GeoDataFrame]:
    return generate_zone()


@pytest.fixture(scope="module")
def parcels(zone: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    return derive(zone["parcels"], LAYERS["parcels"])


def test_same_seed_gives_the_same_zone(zone: dict[str, gpd.GeoDataFrame]) -> None:
    again = generate_zone()
    for name in LAYERS:
        assert_geodataframe_equal(again[name], zone[name])
        # Byte-identical coordinates, not merely equal shapes.
        assert list(again[name].geometry.to_wkb()) == list(zone[name].geometry.to_wkb())
    other = generate_zone(seed=7)
    assert not other["parcels"].geometry.geom_equals(zone["parcels"].geometry).all()


def test_every_layer_is_canonical(zone: dict[str, gpd.GeoDataFrame]) -> None:
    assert list(zone) == list(LAYERS)
    for name, spec in LAYERS.items():
        frame = zone[name]
        assert frame.crs.to_epsg() == 4490
        assert list(frame.columns) == [*spec.field_names(spec.stored_fields), "geometry"]
        assert_geodataframe_equal(conform(frame, spec, source="test"), frame)
        assert frame[spec.id_field].is_unique


def test_data_is_labelled_synthetic(zone: dict[str, gpd.GeoDataFrame]) -> None:
    for name in ("parks", "parcels"):
        assert zone[name]["note_int"].str.startswith(SYNTHETIC).all()
    assert zone["parcels"]["name"].str.contains("演示").all()
    assert len(zone["parks"]) == 4


def test_parcel_sizes_are_realistic(parcels: gpd.GeoDataFrame) -> None:
    mu = parcels["area_mu"]
    assert len(parcels) == 300
    assert mu.between(10, 600).all()
    assert mu.between(20, 150).mean() > 0.6  # most are ordinary industrial plots
    assert (mu >= 300).sum() >= 1  # and a few big ones
    # About 3 % declare a wrong area, so the area warning is something to see.
    assert 0.005 < parcels["area_warn"].mean() < 0.08


def test_parcels_do_not_overlap_but_neighbours_touch(parcels: gpd.GeoDataFrame) -> None:
    metric = parcels.geometry.to_crs(4547).values
    tree = shapely.STRtree(metric)
    assert len(tree.query(metric, predicate="overlaps")[0]) == 0
    left, right = tree.query(metric, predicate="intersects")
    pairs = left < right
    shared = shapely.area(shapely.intersection(metric[left[pairs]], metric[right[pairs]]))
    assert shared.max(initial=0.0) < 1e-3  # m²: edges only
    assert pairs.sum() > len(parcels) / 2  # adjacent parcels exist, for parcel assembly


def test_parcels_lie_in_their_park(zone: dict[str, gpd.GeoDataFrame]) -> None:
    parcels, parks = zone["parcels"], zone["parks"]
    points = gpd.GeoDataFrame(
        {"expected": parcels["park_id"]},
        geometry=parcels.geometry.to_crs(4547).representative_point().to_crs(4490),
    )
    joined = gpd.sjoin(points, parks[["park_id", "geometry"]], predicate="within")
    assert len(joined) == len(parcels)
    assert (joined["expected"] == joined["park_id"]).all()


def test_factories_are_off_the_parcels(zone: dict[str, gpd.GeoDataFrame]) -> None:
    factories = zone["factories"]
    assert 20 <= len(factories) <= 30
    tree = shapely.STRtree(zone["parcels"].geometry.values)
    assert len(tree.query(factories.geometry.values, predicate="intersects")[0]) == 0
    assert factories["floor_m2"].between(1_000, 30_000).all()
    assert (factories["rent_floor"] < factories["rent_ym"]).all()


def test_readiness_mix(parcels: gpd.GeoDataFrame) -> None:
    share = parcels["readiness"].value_counts(normalize=True)
    assert set(share.index) == {"ready", "partly_ready", "not_ready"}
    assert share.min() > 0.15
    # Partly ready parcels name what is missing, e.g. 地质灾害评估.
    partly = parcels[parcels["readiness"] == "partly_ready"]
    named = sum(
        partly.loc[partly[f"{key}_st"] == "missing", "gaps"].str.contains(zh).sum()
        for key, (zh, _) in ASSESSMENTS.items()
    )
    assert named >= 5


def test_one_park_is_nearly_out_of_quota(zone: dict[str, gpd.GeoDataFrame]) -> None:
    parks = derive(zone["parks"], LAYERS["parks"])
    assert (parks["egy_left"] <= 0.03 * parks["egy_total"]).any()
    assert (parks["egy_left"] >= 0).all()
    for key in POLLUTANTS:
        assert (parks[f"{key}_used"] <= parks[f"{key}_cap"]).all()


def test_airport_and_transport(zone: dict[str, gpd.GeoDataFrame]) -> None:
    infra = zone["infrastructure"]
    airport = infra[infra["kind"] == "airport"].geometry.iloc[0]
    assert AIRPORT == (112.628, 37.746)
    assert airport.x == pytest.approx(112.628, abs=1e-6)
    assert airport.y == pytest.approx(37.746, abs=1e-6)
    counts = infra["kind"].value_counts()
    assert counts["substation"] == 8 and 2 <= counts["interchange"] <= 3 and counts["rail"] >= 1
    substations = infra[infra["kind"] == "substation"]
    assert (substations["spare_mva"] <= 5).any() and (substations["spare_mva"] >= 60).any()


def test_default_zone_lies_around_yuci(zone: dict[str, gpd.GeoDataFrame]) -> None:
    bounds = np.array([frame.total_bounds for frame in zone.values()])
    assert bounds[:, 0].min() >= 112.6 and bounds[:, 2].max() <= 112.95
    assert bounds[:, 1].min() >= 37.55 and bounds[:, 3].max() <= 37.8


def test_larger_zone() -> None:
    big = generate_zone(parcels=5000, seed=3)
    parcels = big["parcels"]
    assert len(parcels) == 5000
    assert parcels["parcel_id"].is_unique
    assert parcels.total_bounds[2] < 115.5  # still in Gauss-Krüger zone 38
    assert set(parcels["park_id"]) <= set(big["parks"]["park_id"])


def test_no_parcels_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate_zone(parcels=0)
