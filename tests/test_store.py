"""Both stores hold the same schema and give back exactly what was written."""

from __future__ import annotations

import re
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from geopandas.testing import assert_geodataframe_equal

from layers.catalog import LAYERS, ON_OFFER, PARCELS, ROADS
from layers.errors import InvalidInput
from layers.store.migrate import objects_for
from layers.store.store import Store
from layers.store.tables import metadata, reservations
from tests.people import TESTER


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=120)


def test_migrations_build_exactly_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": objects_for(store.engine.dialect.name)}
        )
        diff = compare_metadata(context, metadata)
    # PostGIS' own tables are not ours to model.
    diff = [d for d in diff if not (d[0] == "remove_table" and d[1].name == "spatial_ref_sys")]
    assert diff == []


def _check_names(sqltext: str) -> list[str]:
    """The quoted values a ``layer IN (…)`` CHECK allows, in either store's spelling."""
    return re.findall(r"'(\w+)'", sqltext)


def test_the_reservable_layers_check_is_the_catalogs(store: Store) -> None:
    """The migrations are history (a CHECK written out by hand), the model reads the
    catalog: the layers a reservation may name agree in the model and the database."""
    (model,) = [
        c
        for c in reservations.constraints
        if isinstance(c, sa.CheckConstraint) and c.name == "ck_reservations_layer"
    ]
    assert _check_names(str(model.sqltext)) == list(ON_OFFER)
    checks = sa.inspect(store.engine).get_check_constraints("reservations")
    (migrated,) = [c for c in checks if c["name"] == "ck_reservations_layer"]
    assert sorted(_check_names(migrated["sqltext"])) == sorted(ON_OFFER)


@pytest.mark.parametrize("layer", list(LAYERS))
def test_layer_round_trips_through_the_store(
    store: Store, zone: dict[str, gpd.GeoDataFrame], layer: str
) -> None:
    spec = LAYERS[layer]
    store.features.write(spec, zone[layer], actor=TESTER)
    back = store.features.read(spec).reset_index(drop=True)
    assert_geodataframe_equal(back, zone[layer], check_crs=True, check_dtype=True)


def test_loaded_layer_is_not_overwritten_without_replace(
    store: Store, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    store.features.write(ROADS, zone["roads"], actor=TESTER)
    before = store.features.read(ROADS)
    with pytest.raises(InvalidInput, match="--replace"):
        store.features.write(ROADS, zone["roads"].iloc[:3], actor=TESTER)
    assert_geodataframe_equal(store.features.read(ROADS), before)
    assert store.features.version(ROADS) == 1
    store.features.write(ROADS, zone["roads"].iloc[:3], replace=True, actor=TESTER)
    assert len(store.features.read(ROADS)) == 3
    assert store.features.version(ROADS) == 2


def test_bbox_keeps_exactly_the_intersecting_features(
    store: Store, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    parcels = zone["parcels"]
    store.features.write(PARCELS, parcels, actor=TESTER)
    minx, miny, maxx, maxy = parcels.total_bounds
    box = (
        minx + (maxx - minx) * 0.3,
        miny + (maxy - miny) * 0.3,
        minx + (maxx - minx) * 0.55,
        miny + (maxy - miny) * 0.6,
    )
    expected = set(
        parcels.loc[shapely.intersects(parcels.geometry.values, shapely.box(*box)), "parcel_id"]
    )
    assert expected, "the test box should catch some parcels"
    got = store.features.read(PARCELS, bbox=box)
    assert set(got["parcel_id"]) == expected
    assert store.features.count(PARCELS, bbox=box) == len(expected)
    page = store.features.read(PARCELS, bbox=box, limit=2, offset=1)
    assert list(page["parcel_id"]) == list(got["parcel_id"].iloc[1:3])


def test_point_and_line_boxes_match_the_same_features_in_both_stores(
    store: Store, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    parcels = zone["parcels"]
    store.features.write(PARCELS, parcels, actor=TESTER)
    inside = parcels.geometry.iloc[5].representative_point()
    x0, y0 = parcels.geometry.iloc[5].bounds[:2]
    for box in [
        (inside.x, inside.y, inside.x, inside.y),  # a map click
        (inside.x, y0 - 0.01, inside.x, y0 + 0.05),  # a vertical line
        (x0, y0, x0, y0),
    ]:  # a corner
        expected = set(
            parcels.loc[shapely.intersects(parcels.geometry.values, shapely.box(*box)), "parcel_id"]
        )
        assert expected
        assert set(store.features.read(PARCELS, bbox=box)["parcel_id"]) == expected, box
        assert store.features.count(PARCELS, bbox=box) == len(expected)


def test_postgis_refuses_invalid_geometry_and_wrong_srid(postgis_url: str) -> None:
    store = Store.open(postgis_url)
    bowtie = "POLYGON((112.7 37.6, 112.8 37.7, 112.8 37.6, 112.7 37.7, 112.7 37.6))"
    with store.engine.connect() as conn:
        for wkt, srid in ((bowtie, 4490), ("POINT(112.7 37.6)", 4326)):
            with pytest.raises(sa.exc.DBAPIError):
                conn.execute(
                    sa.text(
                        "INSERT INTO roads (road_id, geom, minx, miny, maxx, maxy) "
                        "VALUES ('bad', ST_GeomFromText(:wkt, :srid), 0, 0, 0, 0)"
                    ),
                    {"wkt": wkt, "srid": srid},
                )
            conn.rollback()
        indexes = (
            conn.execute(sa.text("SELECT indexdef FROM pg_indexes WHERE tablename = 'parcels'"))
            .scalars()
            .all()
        )
    store.close()
    assert any("USING gist (geom)" in d for d in indexes)


def test_extent_is_the_union_of_bounds(store: Store, zone: dict[str, gpd.GeoDataFrame]) -> None:
    assert store.features.extent(PARCELS) is None
    store.features.write(PARCELS, zone["parcels"], actor=TESTER)
    extent = store.features.extent(PARCELS)
    assert extent is not None
    np.testing.assert_allclose(extent, zone["parcels"].total_bounds)


def test_a_page_of_features_is_what_reading_gives_page_by_page(
    store: Store, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    """``store.features.page``: the ids of each page in order, the number matched only
    where it is not known from the page itself, and the public's scope (sites on offer)."""
    from layers.store.feature_query import FeatureQuery

    store.features.write(PARCELS, zone["parcels"], actor=TESTER)
    offered = store.features.read(PARCELS, where=store.features.on_offer(PARCELS))
    fields = PARCELS.visible_fields(public=True)
    pages, offset = [], 0
    while True:
        query = FeatureQuery(PARCELS, fields, 25, offset, on_offer_only=True, sortby="-price_wmu")
        page = store.features.page(query)
        assert page.number_matched == len(offered)
        pages.append(page)
        if not page.has_next:
            break
        offset += 25
    ids = [fid for page in pages for fid in page.ids]
    expected = offered.sort_values("price_wmu", ascending=False, kind="stable", na_position="last")
    assert sorted(ids) == sorted(offered.index) and len(ids) == len(set(ids))
    prices = store.features.read(PARCELS).loc[ids, "price_wmu"].to_numpy()
    assert np.array_equal(prices, expected["price_wmu"].to_numpy(), equal_nan=True)
    assert list(store.features.page_frame(pages[0]).index) == list(pages[0].ids)
    chosen = FeatureQuery(PARCELS, fields, 5, properties=("parcel_id",), count=False)
    page = store.features.page(chosen)
    assert page.number_matched is None and [f.name for f in page.fields] == ["parcel_id"]
