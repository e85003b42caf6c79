"""The zone held in memory: requests arriving while it is rebuilt are not held up, and a
change made over HTTP is in it before the change is answered."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from fastapi.testclient import TestClient

from geo_service import auth, zones
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import LAYERS, PARCELS, ROADS
from layers.store.reservations import Needs
from layers.store.store import Store
from matching.zone import build_zone
from tests.people import TESTER


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=40)


def _available(store: Store) -> list[str]:
    parcels = store.features.read(PARCELS)
    return list(parcels.loc[parcels["status"] == "available", "parcel_id"])


def test_a_rebuild_runs_aside_while_readers_get_the_previous_zone_and_a_change_waits(
    loaded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = zones.ZoneCache(loaded)
    before = cache.get()
    roads = loaded.features.read(ROADS)  # a road taken away: the zone is built anew
    loaded.features.write(ROADS, roads.iloc[1:], replace=True, actor=TESTER)

    started, go_on = threading.Event(), threading.Event()
    build = zones.build_zone

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        started.set()
        assert go_on.wait(30)
        return build(*args, **kwargs)

    monkeypatch.setattr(zones, "build_zone", slow_build)
    # The reader who first sees the change is not held up by the rebuild it starts.
    assert cache.get() is before
    assert started.wait(30)
    # Meanwhile: the previous zone, at once.
    assert cache.get() is before
    assert cache.frames()["parcels"] is not None
    refreshed = threading.Event()

    def change() -> None:
        with cache.changing():
            pass
        refreshed.set()

    waiter = threading.Thread(target=change)
    waiter.start()
    assert not refreshed.wait(0.3)  # a change waits for the load under way
    go_on.set()
    cache.settle(30)
    waiter.join(30)
    assert refreshed.is_set()
    after = cache.get()
    assert after is not before
    assert after.versions == loaded.features.versions() != before.versions
    assert len(after.roads) == len(before.roads) - 1


def test_a_rebuild_reads_again_only_the_layers_that_changed(
    loaded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = zones.ZoneCache(loaded)
    before = cache.frames()
    roads = loaded.features.read(ROADS)
    loaded.features.write(ROADS, roads.iloc[1:], replace=True, actor=TESTER)
    read: list[str] = []
    reader = loaded.features.read
    monkeypatch.setattr(
        loaded.features, "read", lambda spec, **kw: read.append(spec.name) or reader(spec, **kw)
    )
    with cache.changing():
        pass
    assert read == [ROADS.name]  # 100,000 parcels are not read again for a road
    after = cache.frames()
    assert after[PARCELS.name] is before[PARCELS.name]
    assert len(after[ROADS.name]) == len(roads) - 1
    for name, spec in LAYERS.items():  # as the store has them now
        assert after[name].equals(reader(spec)), name
    assert len(cache.get().roads) == len(roads) - 1


def test_while_a_change_is_under_way_readers_keep_the_zone_and_the_change_loads_it(
    loaded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = zones.ZoneCache(loaded)
    before = cache.get()
    loads: list[int] = []
    load = zones.ZoneCache._load
    monkeypatch.setattr(
        zones.ZoneCache, "_load", lambda self, **kw: loads.append(1) or load(self, **kw)
    )
    site = _available(loaded)[0]
    with cache.changing():  # a request that reserves a site
        loaded.reservations.reserve(
            layer="parcels", site_id=site, project="一期", needs=Needs(), actor=TESTER
        )
        assert cache.get() is before and not loads  # a reader who sees it does not wait
    assert loads == [1] and cache.get() is not before  # loaded by the change
    assert cache.get().versions == loaded.features.versions()


def test_a_change_made_over_http_is_in_the_zone_before_it_is_answered(
    loaded: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = auth.create_key(loaded, name="招商部 赵六", role="planner", actor=TESTER)
    planner = {"X-API-Key": key}
    project = {"name": "小项目", "industry": "装备制造", "area": {"min_mu": 1, "max_mu": 500}}
    with TestClient(create_app(settings)) as client:
        first = client.post("/match", json=project, headers=planner)
        assert first.status_code == 200, first.text
        body = {"layer": "parcels", "site_id": _available(loaded)[0], "project": "大恒 一期"}
        assert client.post("/reservations", json=body, headers=planner).status_code == 201

        def no_more_loads(self: zones.ZoneCache) -> None:
            raise AssertionError("the zone was loaded after the change was answered")

        monkeypatch.setattr(zones.ZoneCache, "_load", no_more_loads)
        again = client.post("/match", json=project, headers=planner)
        assert again.status_code == 200, again.text
        assert again.json()["data_versions"] == loaded.features.versions()
        assert again.json()["data_versions"] != first.json()["data_versions"]
        excluded = [{e["id"] for e in r.json()["excluded"]} for r in (first, again)]
        assert body["site_id"] not in excluded[0] and body["site_id"] in excluded[1]


def test_a_page_asked_for_while_it_is_built_is_built_once(loaded: Store) -> None:
    cache = zones.ZoneCache(loaded)
    started, go_on, builds = threading.Event(), threading.Event(), []

    def build() -> str:
        builds.append(1)
        started.set()
        assert go_on.wait(30)
        return "<html>投资者地图</html>"

    pages: list[str] = []
    first = threading.Thread(target=lambda: pages.append(cache.output(("investor",), build)))
    first.start()
    assert started.wait(30)
    second = threading.Thread(target=lambda: pages.append(cache.output(("investor",), build)))
    second.start()
    second.join(0.3)
    assert second.is_alive()  # waiting for the first build, not building again
    go_on.set()
    first.join(30)
    second.join(30)
    assert pages == ["<html>投资者地图</html>"] * 2 and len(builds) == 1

    def broken() -> str:
        raise RuntimeError("渲染失败")

    with pytest.raises(RuntimeError):
        cache.output(("readiness",), broken)
    assert cache.output(("readiness",), lambda: "again") == "again"  # a failure is not kept


def test_a_change_whose_load_fails_stands_and_the_next_reader_loads_it(
    loaded: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache = zones.ZoneCache(loaded)
    before = cache.get()
    load = zones.ZoneCache._load

    def cannot_load(self: zones.ZoneCache, **_: Any) -> Any:
        raise OSError("数据库连接中断 (connection lost)")

    monkeypatch.setattr(zones.ZoneCache, "_load", cannot_load)
    site = _available(loaded)[0]
    with cache.changing():  # no error for the change, which is stored
        loaded.reservations.reserve(
            layer="parcels", site_id=site, project="一期", needs=Needs(), actor=TESTER
        )
    assert "not loaded after a change" in caplog.text
    monkeypatch.setattr(zones.ZoneCache, "_load", load)
    assert cache.get() is not before and cache.get().versions == loaded.features.versions()


def test_threads_filling_a_zones_column_caches_at_once_all_get_one_right_array(
    zone: dict[str, gpd.GeoDataFrame],
) -> None:
    """Request threads share a zone's lazily filled caches: whoever fills a slot first,
    every caller gets that one array, equal to the frame's column."""
    built = build_zone(zone)
    sites = built.parcels
    barrier = threading.Barrier(8)
    got: list[tuple[Any, Any]] = []

    def read() -> None:
        barrier.wait(30)
        got.append((sites.column("area_mu"), sites.column("price_wmu")))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(got) == 8
    assert all(a is got[0][0] and p is got[0][1] for a, p in got)
    np.testing.assert_array_equal(got[0][0], sites.frame["area_mu"].to_numpy(dtype=float))
    np.testing.assert_array_equal(got[0][1], sites.frame["price_wmu"].to_numpy(dtype=float))
