"""R34: an uploaded GeoPackage is read as data only — a layer that is a view, a view or
a trigger of the file's own is refused before GDAL runs any of it — and the import
worker has a wall-clock limit: past it the caller gets 503 ``import_timeout`` with
``Retry-After``, nothing is changed, and the next upload gets a fresh worker."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient

from geo_service import auth, stock_routes
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import PARCELS
from layers.errors import InvalidInput, LayerValidationError
from layers.io import read_layer_file, write_layer_file
from layers.stocklist import import_list
from layers.store.rows import data_hash
from layers.store.store import Store
from tests.people import TESTER

# Counting to 20 million in a recursive CTE takes SQLite seconds, each time it is read.
SLOW_VIEW = (
    "CREATE VIEW parcels AS WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL "
    "SELECT n + 1 FROM c WHERE n < 20000000) "
    "SELECT * FROM parcels_data WHERE (SELECT max(n) FROM c) > 0"
)


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=20)


def _list(zone: dict[str, gpd.GeoDataFrame], path: Path) -> Path:
    write_layer_file(zone["parcels"].assign(list_year=2027), PARCELS, path)
    return path


def _view_layer(zone: dict[str, gpd.GeoDataFrame], path: Path) -> Path:
    """A GeoPackage whose registered layer ``parcels`` is a view over a recursive query."""
    _list(zone, path)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("ALTER TABLE parcels RENAME TO parcels_data")
        db.execute(SLOW_VIEW)
    return path


def _own_trigger(zone: dict[str, gpd.GeoDataFrame], path: Path) -> Path:
    _list(zone, path)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "CREATE TRIGGER mark AFTER UPDATE ON parcels BEGIN UPDATE parcels SET name = 'x'; END"
        )
    return path


def test_a_view_layer_and_a_trigger_are_refused_by_the_reader(
    zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    started = time.monotonic()
    with pytest.raises(LayerValidationError) as view:
        read_layer_file(_view_layer(zone, tmp_path / "view.gpkg"), PARCELS)
    assert time.monotonic() - started < 10  # refused, not read for minutes
    messages = [p.message for p in view.value.problems]
    assert any("'parcels'" in m and "view" in m for m in messages), messages
    assert all(p.file == "view.gpkg" for p in view.value.problems)
    with pytest.raises(LayerValidationError) as trigger:
        read_layer_file(_own_trigger(zone, tmp_path / "trigger.gpkg"), PARCELS)
    assert ["'mark'" in p.message for p in trigger.value.problems] == [True]
    # What GDAL itself writes (spatial index and count triggers) is read as before.
    assert len(read_layer_file(_list(zone, tmp_path / "plain.gpkg"), PARCELS)) == 20


def test_a_view_hidden_behind_a_look_alike_table_name_is_refused(
    zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    """SQLite folds A–Z only: a table named "parcelſ" (long s) is not "parcels", and must
    not hide the view registered as the layer (found by an outside probe)."""
    path = _view_layer(zone, tmp_path / "hidden.gpkg")
    with closing(sqlite3.connect(path)) as db, db:
        db.execute('CREATE TABLE "parcel\u017f" AS SELECT * FROM parcels_data')
    started = time.monotonic()
    with pytest.raises(LayerValidationError) as refused:
        read_layer_file(path, PARCELS)
    assert time.monotonic() - started < 10
    assert any("'parcels'" in p.message for p in refused.value.problems)


def test_a_computed_column_is_refused(zone: dict[str, gpd.GeoDataFrame], tmp_path: Path) -> None:
    """A generated column runs its SQL on every read: refused, naming it."""
    path = _list(zone, tmp_path / "computed.gpkg")
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("ALTER TABLE parcels ADD COLUMN slow INTEGER AS (length(hex(zeroblob(9))))")
    with pytest.raises(LayerValidationError) as refused:
        read_layer_file(path, PARCELS)
    assert [p.field for p in refused.value.problems] == ["slow"]


def test_a_layer_without_geometry_is_refused_naming_it(tmp_path: Path) -> None:
    """A table of attributes only, as the layer: a clear refusal, not a server error."""
    import pandas as pd
    import pyogrio

    path = tmp_path / "attributes.gpkg"
    pyogrio.write_dataframe(
        pd.DataFrame({"parcel_id": ["A1"], "name": ["x"]}), path, layer="parcels", driver="GPKG"
    )
    with pytest.raises(InvalidInput, match="geometry"):
        read_layer_file(path, PARCELS)


def _upload(client: TestClient, path: Path, key: str) -> Any:
    with path.open("rb") as handle:
        return client.post(
            "/stock-lists?year=2027",
            files={"file": ("清单.gpkg", handle, "application/geopackage+sqlite3")},
            headers={"X-API-Key": key},
        )


@pytest.fixture
def bureau(loaded: Store) -> str:
    return auth.create_key(loaded, name="国土局 李四", role="land_bureau", actor=TESTER)[1]


def test_a_view_layer_is_refused_fast_over_http(
    client: TestClient,
    loaded: Store,
    bureau: str,
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
) -> None:
    before = data_hash(loaded.features.read(PARCELS), PARCELS), len(loaded.releases.all())
    for path, named in (
        (_view_layer(zone, tmp_path / "view.gpkg"), "'parcels'"),
        (_own_trigger(zone, tmp_path / "trigger.gpkg"), "'mark'"),
    ):
        started = time.monotonic()
        refused = _upload(client, path, bureau)
        assert time.monotonic() - started < 10  # answered at once, the worker not held
        assert refused.status_code == 422, refused.text
        problems = refused.json()["details"]["problems"]
        assert any(named in p["message"] for p in problems), problems
        assert all(p["file"] == "清单.gpkg" for p in problems)
    assert (data_hash(loaded.features.read(PARCELS), PARCELS), len(loaded.releases.all())) == before


def _import_slowly(store: Store, *args: Any, **kwargs: Any) -> Any:
    """An import that takes far longer than the worker's limit."""
    time.sleep(45)
    return import_list(store, *args, **kwargs)


@pytest.fixture
def limited(store_url: str, loaded: Store, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(db_url=store_url, data_dir=tmp_path, import_timeout_s=3)
    with TestClient(create_app(settings)) as client:
        yield client


def test_an_import_past_the_time_limit_is_stopped_and_the_next_gets_a_fresh_worker(
    limited: TestClient,
    loaded: Store,
    bureau: str,
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = _list(zone, tmp_path / "list.gpkg")
    before = data_hash(loaded.features.read(PARCELS), PARCELS), len(loaded.releases.all())
    with monkeypatch.context() as patch:
        # The import runs in the worker process: the slow one travels there by reference.
        patch.setattr(stock_routes, "import_list", _import_slowly)
        started = time.monotonic()
        stopped = _upload(limited, path, bureau)
        assert time.monotonic() - started < 30  # stopped after seconds, not 45
    assert stopped.status_code == 503, stopped.text
    assert stopped.json()["code"] == "import_timeout" and "3 s" in stopped.json()["message"]
    assert int(stopped.headers["Retry-After"]) > 0
    assert (data_hash(loaded.features.read(PARCELS), PARCELS), len(loaded.releases.all())) == before
    staged = _upload(limited, path, bureau)
    assert staged.status_code == 201, staged.text
