"""R33 on both stores, through the command line and HTTP: an empty stock list is refused
naming the file, and a list removing more than the allowed share of the parcels in force
(20 % unless set otherwise) is staged only when the removals are confirmed.

The defect: a GeoJSON with no features or a header-only CSV was staged; published on
SQLite, the public saw zero parcels.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from typer.testing import Result

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import PARCELS
from layers.io import write_layer_file
from layers.store.store import Store
from tests.people import TESTER


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=20)


def _empty_files(zone: dict[str, gpd.GeoDataFrame], tmp_path: Path) -> list[Path]:
    """The same empty list three ways: a GeoJSON with no features, header-only CSV/XLSX."""
    empty = zone["parcels"].assign(list_year=2027).iloc[:0]
    out = []
    for suffix in (".geojson", ".csv", ".xlsx"):
        path = tmp_path / f"空清单{suffix}"
        write_layer_file(empty, PARCELS, path)
        out.append(path)
    assert json.loads(out[0].read_text(encoding="utf-8"))["features"] == []
    return out


def _import(cli: Callable[..., Result], store_url: str, *args: str, **env: str) -> Result:
    """``stock-list import`` on the command line, with ``env`` added to the environment."""
    return cli("stock-list", "import", "--db", store_url, *args, env=env)


def test_an_empty_list_is_refused_naming_the_file(
    loaded: Store,
    store_url: str,
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    cli: Callable[..., Result],
) -> None:
    before = len(loaded.releases.all())
    for path in _empty_files(zone, tmp_path):
        refused = _import(cli, store_url, str(path), "--year", "2027")
        assert refused.exit_code == 1, refused.output
        assert path.name in refused.stdout and "no parcels" in refused.stdout
    bureau = {"X-API-Key": auth.create_key(loaded, name="国土局 王五", role="land_bureau",
                                           actor=TESTER)[1]}  # fmt: skip
    with TestClient(create_app(Settings(db_url=store_url, data_dir=tmp_path))) as client:
        for path in _empty_files(zone, tmp_path):
            answer = client.post(
                "/stock-lists?year=2027", headers=bureau,
                files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
            )  # fmt: skip
            assert answer.status_code == 422, answer.text
            (problem,) = answer.json()["details"]["problems"]
            assert problem["file"] == path.name and "no parcels" in problem["message"]
    assert len(loaded.releases.all()) == before


def _shrunk(zone: dict[str, gpd.GeoDataFrame], tmp_path: Path, keep: int) -> Path:
    path = tmp_path / "清单2027.gpkg"
    write_layer_file(zone["parcels"].assign(list_year=2027).iloc[:keep], PARCELS, path)
    return path


def test_removing_more_than_the_allowed_share_needs_confirmation_on_the_cli(
    loaded: Store,
    store_url: str,
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    cli: Callable[..., Result],
) -> None:
    path = _shrunk(zone, tmp_path, keep=15)  # 5 of 20 removed: 25 % > 20 %
    before = len(loaded.releases.all())
    refused = _import(cli, store_url, str(path), "--year", "2027")
    assert refused.exit_code == 2 and len(loaded.releases.all()) == before
    assert "5" in refused.stderr and "20" in refused.stderr
    assert "--confirm-removals" in refused.stderr
    # A higher share allowed in the settings takes it without confirmation …
    allowed = _import(cli, store_url, str(path), "--year", "2027",
                      GEO_SERVICE_MAX_REMOVED_SHARE="0.3")  # fmt: skip
    assert allowed.exit_code == 0, allowed.output
    loaded.releases.discard(loaded.releases.all()[-1].id, actor=TESTER)
    # … and so does an explicit confirmation.
    confirmed = _import(cli, store_url, str(path), "--year", "2027", "--confirm-removals")
    assert confirmed.exit_code == 0, confirmed.output
    assert "移除 5 宗" in confirmed.stdout


def test_removing_more_than_the_allowed_share_needs_confirmation_over_http(
    loaded: Store, store_url: str, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    bureau = {"X-API-Key": auth.create_key(loaded, name="国土局 王五", role="land_bureau",
                                           actor=TESTER)[1]}  # fmt: skip
    path = _shrunk(zone, tmp_path, keep=4)  # 16 of 20 removed
    before = len(loaded.releases.all())

    def upload(query: str) -> object:
        return client.post(
            f"/stock-lists?year=2027{query}", headers=bureau,
            files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
        )  # fmt: skip

    with TestClient(create_app(Settings(db_url=store_url, data_dir=tmp_path))) as client:
        refused = upload("")
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert body["code"] == "removals_unconfirmed"
        assert body["details"]["removed"] == 16 and body["details"]["in_force"] == 20
        assert "16" in body["message"] and "confirm_removals=true" in body["message"]
        assert len(loaded.releases.all()) == before
        staged = upload("&confirm_removals=true")
        assert staged.status_code == 201, staged.text
        assert len(staged.json()["diff"]["removed"]) == 16


def test_taking_parcels_off_offer_counts_like_removing_them(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    """Every id kept but every available parcel withdrawn: the public would see nothing
    on offer, so it needs the same confirmation as removing them (found by a probe)."""
    from layers.errors import RemovalsUnconfirmed
    from layers.stocklist import import_list

    parcels = zone["parcels"].assign(list_year=2027)
    available = parcels["status"] == "available"
    assert available.mean() > 0.2
    path = tmp_path / "2027 全部撤回.gpkg"
    write_layer_file(parcels.assign(status=parcels["status"].mask(available, "withdrawn")),
                     PARCELS, path)  # fmt: skip
    with pytest.raises(RemovalsUnconfirmed) as refused:
        import_list(loaded, path, year=2027, actor=TESTER)
    assert refused.value.details["removed"] == 0
    assert refused.value.details["taken_off_offer"] == int(available.sum())
    staged = import_list(loaded, path, year=2027, actor=TESTER, confirm_removals=True)
    assert staged.release is not None
