"""The planner's statistics follow a publish: a bounding-box page of the new list is
planned on the spatial index, not on the release's (issue 16, item 4).

Before each publish the table's statistics are those of the list in force (as autovacuum
leaves them some time after a load): a new release's id is then one the planner has never
seen, and it picks the index on ``release_id`` — every parcel of the list — over the
spatial one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import sqlalchemy as sa

from layers.catalog import LAYERS, PARCELS
from layers.store.audit import Actor
from layers.store.features import BBox
from layers.store.store import Store
from tests.people import TESTER

BUREAU = Actor("国土局 李四", "land_bureau")


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    # Enough parcels that the release's index and the spatial one cost clearly apart.
    return demo_zone(parcels=3000)


def _load_and_analyze(store: Store, zone: dict[str, gpd.GeoDataFrame]) -> None:
    """The zone loaded, and its statistics gathered as autovacuum would, later."""
    for name, frame in zone.items():
        store.features.write(LAYERS[name], frame, actor=TESTER)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def _publish_next_year(store: Store, parcels: gpd.GeoDataFrame) -> None:
    """Next year's list of the same parcels, staged and published."""
    listed = parcels.assign(list_year=parcels["list_year"].max() + 1)
    current = store.releases.current_id()
    staged = store.releases.stage(
        listed, year=int(listed["list_year"].iloc[0]), source=("stock.gpkg", b"list"),
        report={}, actor=BUREAU, base=current,
    )  # fmt: skip
    store.releases.publish(staged.id, actor=BUREAU)


def _middle(store: Store) -> BBox:
    """A box over the middle of the parcels: a few hundred of them."""
    extent = store.features.extent(PARCELS)
    assert extent is not None
    minx, miny, maxx, maxy = extent
    w, h = maxx - minx, maxy - miny
    return (minx + 0.3 * w, miny + 0.3 * h, minx + 0.6 * w, miny + 0.6 * h)


@contextmanager
def _statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """The SQL (and parameters) sent to the database while the block runs."""
    sent: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, params: Any, *_rest: Any) -> None:
        sent.append((statement, params))

    sa.event.listen(store.engine, "before_cursor_execute", keep)
    try:
        yield sent
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", keep)


def _page_query(store: Store, box: BBox) -> tuple[str, Any]:
    """The query of a bounding-box page of 1,000 parcels, as the store sends it."""
    with _statements(store) as sent:
        page = store.features.read(PARCELS, bbox=box, limit=1000)
    assert len(page) > 100
    (query,) = [(s, p) for s, p in sent if "ST_Intersects" in s and "FROM parcels" in s]
    return query


def _indexes(plan: dict[str, Any]) -> set[str]:
    """The names of the indexes a plan (EXPLAIN's JSON) scans, at any depth."""
    found = {plan["Index Name"]} if "Index Name" in plan else set()
    for child in plan.get("Plans", ()):
        found |= _indexes(child)
    return found


def test_after_a_publish_postgis_plans_a_bbox_page_on_the_spatial_index(
    postgis_store: Store, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    store = postgis_store
    _load_and_analyze(store, zone)
    with store.engine.connect() as conn:
        before = conn.execute(sa.text("SELECT clock_timestamp()")).scalar_one()

    _publish_next_year(store, zone["parcels"])

    statement, params = _page_query(store, _middle(store))
    with store.engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement, params)
        (plan,) = cursor.fetchone()[0]  # psycopg decodes the JSON
        assert "ix_parcels_geom" in _indexes(plan["Plan"]), _indexes(plan["Plan"])
        analyzed, tuples, rows = conn.execute(
            sa.text(
                "SELECT s.last_analyze, c.reltuples, (SELECT count(*) FROM parcels) "
                "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
                "WHERE s.relname = 'parcels'"
            )
        ).one()
    assert analyzed is not None and analyzed > before
    assert tuples == rows == 2 * len(zone["parcels"])


def test_after_a_publish_sqlite_holds_the_tables_statistics(
    tmp_path: Path, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'geo_service.db'}")
    try:
        _load_and_analyze(store, zone)
        _publish_next_year(store, zone["parcels"])
        with store.engine.connect() as conn:
            stats = conn.execute(
                sa.text("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'parcels'")
            ).all()
            rows = conn.execute(sa.text("SELECT count(*) FROM parcels")).scalar_one()
    finally:
        store.close()
    assert stats, "no statistics for parcels"
    # Each index's statistics begin with the rows it held when analyzed: all of them.
    assert {int(stat.split()[0]) for _, stat in stats} == {rows} == {2 * len(zone["parcels"])}
