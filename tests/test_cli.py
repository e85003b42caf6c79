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
