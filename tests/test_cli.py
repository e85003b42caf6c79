"""The command line as a person uses it: load, export, keys, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal

from layers.catalog import LAYERS
from layers.demo import generate_zone
from layers.io import write_layer_file
from layers.store.store import Store
from tests.people import TESTER

CLI = [sys.executable, "-m", "geo_service"]


def run(*args: str, db: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*CLI, *args, "--db", db], capture_output=True, text=True, timeout=300, check=False
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def zone() -> dict[str, gpd.GeoDataFrame]:
    return generate_zone(parcels=40)


def test_load_and_export_every_layer(
    store: Store, store_url: str, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    for name, frame in zone.items():
        source = tmp_path / f"{name}.gpkg"
        write_layer_file(frame, LAYERS[name], source)
        out = run("load", name, str(source), db=store_url)
        assert f"{len(frame)}" in out.stdout
        target = tmp_path / f"{name}_out.zip"
        run("export", name, str(target), db=store_url)
        exported = pyogrio.read_dataframe(f"/vsizip/{target}/{name}.shp")
        assert len(exported) == len(frame)
    assert_geodataframe_equal(
        store.features.read(LAYERS["parks"]).reset_index(drop=True), zone["parks"]
    )


def test_load_refuses_a_bad_file_with_a_report(
    store: Store, store_url: str, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    bad = zone["factories"].copy()
    bad.loc[2, "floor_m2"] = -5
    path = tmp_path / "factories.geojson"
    write_layer_file(bad, LAYERS["factories"], path)
    result = run("load", "factories", str(path), db=store_url, check=False)
    assert result.returncode == 2
    assert "factories.geojson" in result.stderr and "第 3 行" in result.stderr
    assert "floor_m2" in result.stderr and "Traceback" not in result.stderr


def test_reload_needs_replace(
    store: Store, store_url: str, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    path = tmp_path / "roads.gpkg"
    write_layer_file(zone["roads"], LAYERS["roads"], path)
    run("load", "roads", str(path), db=store_url)
    again = run("load", "roads", str(path), db=store_url, check=False)
    assert again.returncode == 2 and "--replace" in again.stderr
    run("load", "roads", str(path), "--replace", db=store_url)


def test_key_lifecycle(store: Store, store_url: str) -> None:
    created = run("key", "create", "--name", "招商部 李四", "--role", "planner", db=store_url)
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("gsk_")
    listed = run("key", "list", db=store_url).stdout
    assert "招商部 李四" in listed and key not in listed
    credential_id = created.stdout.split("#")[1].split()[0]
    run("key", "revoke", credential_id, db=store_url)
    again = run("key", "revoke", credential_id, db=store_url, check=False)
    assert again.returncode == 2


def test_match_prints_a_ranking_a_planner_can_read(
    store: Store, store_url: str, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    for name, frame in zone.items():
        store.features.write(LAYERS[name], frame, actor=TESTER)
    examples = Path(__file__).resolve().parents[1] / "examples" / "requests"
    table = run("match", str(examples / "cleaning_robot_factory.json"), "--top", "3", db=store_url)
    assert "推荐选址" in table.stdout and "排除原因统计" in table.stdout
    as_json = run(
        "match", str(examples / "cleaning_robot_factory.json"), "--format", "json", db=store_url
    )
    data = json.loads(as_json.stdout)
    assert data["layer"] == "factories"
    assert all(site["kind"] == "factory" for site in data["sites"])
    bad = run("match", str(examples / "nope.json"), db=store_url, check=False)
    assert bad.returncode == 2 and "nope.json" in bad.stderr


def test_help_loads_neither_the_store_nor_the_maps_nor_the_web() -> None:
    """`geo-service --help` starts fast because the commands import geopandas, folium,
    FastAPI and SQLAlchemy only when they run (checked on the modules loaded, not by time)."""
    heavy = ("geopandas", "folium", "fastapi", "sqlalchemy", "pandas", "pydantic_settings")
    code = (
        "import sys\n"
        "from geo_service.cli import main\n"
        "sys.argv = ['geo-service', *sys.argv[1:]]\n"
        "try:\n    main()\n"
        "except SystemExit:\n    pass\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    for args in (["--help"], ["key", "--help"], ["key", "create", "--help"], ["demo", "--help"]):
        done = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
        )
        assert done.stdout.strip().splitlines()[-1] == "[]", args


def test_keys_and_migrate_load_neither_geopandas_nor_the_filter_parser(tmp_path: Path) -> None:
    """`key …` and `migrate` open the store without its feature repositories: no
    geopandas, pandas or CQL2 parser (pygeofilter, lark), no maps, no web."""
    heavy = ("geopandas", "pandas", "pygeofilter", "lark", "folium", "fastapi")
    code = (
        "import sys\n"
        "from geo_service.cli import main\n"
        "sys.argv = ['geo-service', *sys.argv[1:]]\n"
        "try:\n    main()\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    db = f"sqlite:///{tmp_path / 'k.db'}"
    for args in (
        ["migrate"],
        ["key", "create", "--name", "x", "--role", "planner"],
        ["key", "list"],
        ["key", "revoke", "1"],
    ):
        done = subprocess.run(
            [sys.executable, "-c", code, *args, "--db", db],
            capture_output=True,
            text=True,
            check=True,
        )
        assert done.stdout.strip().splitlines()[-1] == "[]", args


def test_key_create_names_the_roles_when_one_is_wrong(tmp_path: Path) -> None:
    result = run(
        "key", "create", "--name", "x", "--role", "boss", db=f"sqlite:///{tmp_path / 'k.db'}",
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--role" in result.stderr and "land_bureau" in result.stderr
    assert not (tmp_path / "k.db").exists()


def test_demo_says_which_store_it_serves_and_whether_it_built_it(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    demo = ("demo", "--no-serve", "--parcels", "40")
    first = run(*demo, db=db).stdout
    assert "built now" in first and str(tmp_path / "demo.db") in first
    for shown in ("/maps/investor", "/maps/readiness", "/maps/preselect?example=", "/login"):
        assert shown in first
    assert "key create --name" in first and "--role planner" in first
    again = run(*demo, db=db).stdout
    assert "reusing the store: built 20" in again and "demo --fresh" in again
    assert "built now" not in again
    fresh = run(*demo, "--fresh", db=db).stdout
    assert "deleted the demo store" in fresh and "built now" in fresh


def test_demo_fresh_deletes_nothing_but_the_synthetic_zone(
    zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'real.db'}"
    store = Store.open(db)
    parks = zone["parks"].assign(note_int="规划局 2026 (real)")
    store.features.write(LAYERS["parks"], parks, actor=TESTER)
    store.close()
    refused = run("demo", "--no-serve", "--fresh", db=db, check=False)
    assert refused.returncode == 2 and "not deleted" in refused.stderr
    assert (tmp_path / "real.db").exists()
    postgis = "postgresql+psycopg://geo:s3cret@127.0.0.1:1/nowhere"
    refused = run("demo", "--no-serve", "--fresh", db=postgis, check=False)
    assert refused.returncode == 2 and "embedded store only" in refused.stderr
    assert "s3cret" not in refused.stderr
