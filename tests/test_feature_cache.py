"""Pages of ``/items`` put together from features written once per set of layer versions:
never a feature as it was before a change, nor one written for another caller, CRS or
property selection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient

from geo_service import auth
from geo_service.feature_cache import FeatureCache
from layers.catalog import PARCELS
from layers.store.features import Features
from layers.store.reservations import Needs
from layers.store.store import Store
from tests.people import TESTER

ITEMS = "/collections/parcels/items?limit=1000"


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=40)


def _status(client: TestClient, url: str = ITEMS, **kw: Any) -> dict[str, str]:
    features = client.get(url, **kw).json()["features"]
    return {f["properties"]["parcel_id"]: f["properties"]["status"] for f in features}


def _available(store: Store) -> list[str]:
    parcels = store.features.read(PARCELS)
    return list(parcels.loc[parcels["status"] == "available", "parcel_id"])


def _reserve(store: Store, site: str) -> None:
    store.reservations.reserve(
        layer="parcels", site_id=site, project="一期", needs=Needs(), actor=TESTER
    )


def test_a_change_shows_at_once_in_pages_read_before(loaded: Store, client: TestClient) -> None:
    site = _available(loaded)[0]
    assert _status(client)[site] == "available"
    _reserve(loaded, site)  # another process: the command line, another worker
    assert site not in _status(client)  # no longer on offer: the public sees it no more


def test_a_change_during_a_page_gives_the_page_as_it_is_after(
    loaded: Store, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _available(loaded)[0]
    assert _status(client)[site] == "available"  # every feature written and kept
    ids = Features.ids

    def ids_then_a_reservation(self: Features, *args: Any, **kwargs: Any) -> list[int]:
        found = ids(self, *args, **kwargs)
        monkeypatch.setattr(Features, "ids", ids)
        _reserve(loaded, site)  # lands between the page's ids and its texts
        return found

    monkeypatch.setattr(Features, "ids", ids_then_a_reservation)
    assert site not in _status(client)  # not on offer any more, not shown as it was


def test_texts_are_kept_apart_by_caller_crs_and_properties(
    loaded: Store, client: TestClient
) -> None:
    _, key = auth.create_key(loaded, name="招商部 赵六", role="planner", actor=TESTER)
    public = client.get(ITEMS).json()["features"]
    planner = client.get(ITEMS, headers={"X-API-Key": key}).json()["features"]
    assert set(planner[0]["properties"]) > set(public[0]["properties"])
    assert set(client.get(ITEMS).json()["features"][0]["properties"]) == set(
        public[0]["properties"]
    )
    gk = client.get(f"{ITEMS}&crs=http://www.opengis.net/def/crs/EPSG/0/4547").json()
    assert gk["features"][0]["geometry"]["coordinates"][0][0][0] > 1e5
    assert public[0]["geometry"]["coordinates"][0][0][0] < 180
    some = client.get(f"{ITEMS}&properties=parcel_id").json()["features"]
    assert set(some[0]["properties"]) == {"parcel_id"}
    assert [f["id"] for f in some] == [f["id"] for f in public]


def test_the_cache_keeps_one_set_of_versions_within_its_bytes() -> None:
    cache = FeatureCache(max_bytes=3 * (100 + 256))
    old, new = {"parcels": 1}, {"parcels": 2}
    cache.put(new, "g", {1: b"a" * 100, 2: b"b" * 100})
    cache.put(old, "g", {3: b"c" * 100})  # written before the change: not kept
    assert cache.get(old, "g", [1, 2, 3]) == {}
    assert set(cache.get(new, "g", [1, 2, 3])) == {1, 2}
    assert cache.get(new, "other", [1]) == {}
    cache.put(new, "g", {4: b"d" * 100, 5: b"e" * 100})  # 1 and 2 were read: 1 goes
    assert set(cache.get(new, "g", [1, 2, 3, 4, 5])) == {2, 4, 5}
