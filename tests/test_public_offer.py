"""What the public sees of the sites is one thing everywhere: what is on offer.

The investor map, its popups and the tiles show only parcels available and factories idle
(``layers.catalog.ON_OFFER``); the OGC API items, a single item, their counts and the
public file export show the same; staff see every site. And a readiness map for a park
that does not exist is a 404, not an empty map.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from fastapi.testclient import TestClient
from typer.testing import Result

from geo_service import auth
from layers.catalog import FACTORIES, ON_OFFER, PARCELS
from layers.frames import derive
from layers.schema import LayerSpec
from layers.store.reservations import Needs
from layers.store.store import Store
from layers.vocabulary import READINESS
from tests.people import TESTER


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=60)


@pytest.fixture
def offered(loaded: Store) -> Store:
    """The zone with one site on offer reserved: no longer on offer, though stored so."""
    parcels = loaded.features.read(PARCELS)
    free = str(parcels.loc[parcels["status"] == "available", "parcel_id"].iloc[0])
    loaded.reservations.reserve(
        layer="parcels", site_id=free, project="测试项目", needs=Needs(), actor=TESTER
    )
    return loaded


def _on_offer(store: Store, spec: LayerSpec) -> set[int]:
    frame = store.features.read(spec)  # as readers see it: a reserved site reads reserved
    return set(map(int, frame.index[frame["status"] == ON_OFFER[spec.name]]))


def _items(client: TestClient, spec: LayerSpec, **headers: str) -> tuple[set[int], int]:
    body = client.get(f"/collections/{spec.name}/items?limit=10000", headers=headers).json()
    return {int(f["id"]) for f in body["features"]}, body["numberMatched"]


@pytest.mark.parametrize("spec", [PARCELS, FACTORIES], ids=lambda s: s.name)
def test_the_public_items_are_the_sites_on_offer(
    client: TestClient, offered: Store, spec: LayerSpec
) -> None:
    everything = set(map(int, offered.features.read(spec).index))
    listed = _on_offer(offered, spec)
    assert listed and everything - listed  # the zone has sites not on offer
    assert _items(client, spec) == (listed, len(listed))
    key = auth.create_key(offered, name="招商部", role="planner", actor=TESTER)[1]
    assert _items(client, spec, Authorization=f"Bearer {key}") == (everything, len(everything))
    # Paged, then counted (not the last page): the count agrees.
    page = client.get(f"/collections/{spec.name}/items?limit=2").json()
    assert page["numberMatched"] == len(listed)
    # A filter on status cannot bring the others back.
    other = client.get(
        f"/collections/{spec.name}/items", params={"filter": f"status <> '{ON_OFFER[spec.name]}'"}
    )
    assert other.status_code == 200
    assert other.json()["features"] == []


def test_a_site_not_on_offer_is_not_found_by_the_public(client: TestClient, offered: Store) -> None:
    listed = _on_offer(offered, PARCELS)
    hidden = sorted(set(map(int, offered.features.read(PARCELS).index)) - listed)
    key = auth.create_key(offered, name="招商部", role="planner", actor=TESTER)[1]
    for fid in hidden:
        for f in ("json", "html"):
            url = f"/collections/parcels/items/{fid}?f={f}"
            public = client.get(url)
            assert public.status_code == 404, (fid, public.text[:200])
            staff = client.get(url, headers={"Authorization": f"Bearer {key}"})
            assert staff.status_code == 200, fid
    shown = client.get(f"/collections/parcels/items/{min(listed)}")
    assert shown.status_code == 200
    assert "price_wmu" in shown.json()["properties"]


@pytest.mark.parametrize("suffix", [".gpkg", ".csv"])
def test_the_public_export_holds_the_sites_on_offer(
    offered: Store, store_url: str, tmp_path: Path, suffix: str, cli: Callable[..., Result]
) -> None:
    target = tmp_path / f"parcels{suffix}"
    done = cli("export", "parcels", str(target), "--public", "--db", store_url)
    assert done.exit_code == 0, done.output
    exported = pyogrio.read_dataframe(target)
    frame = offered.features.read(PARCELS)
    listed = frame[frame["status"] == "available"]
    assert sorted(exported["parcel_id"]) == sorted(listed["parcel_id"])


def test_a_readiness_map_of_an_unknown_park_is_not_found(
    client: TestClient, loaded: Store, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    key = auth.create_key(loaded, name="规划", role="planner", actor=TESTER)[1]
    staff = {"Authorization": f"Bearer {key}"}
    response = client.get("/maps/readiness", params={"park": "没有这个园区"}, headers=staff)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "没有这个园区" in response.json()["message"]
    park = str(zone["parks"]["park_id"].iloc[0])
    assert client.get("/maps/readiness", params={"park": park}, headers=staff).status_code == 200


def test_the_public_zone_export_holds_the_sites_on_offer(
    offered: Store, store_url: str, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    target = tmp_path / "zone.gpkg"
    done = cli("export-zone", str(target), "--public", "--db", store_url)
    assert done.exit_code == 0, done.output
    for spec in (PARCELS, FACTORIES):
        exported = pyogrio.read_dataframe(target, layer=spec.name)
        frame = offered.features.read(spec)
        listed = frame[frame["status"] == ON_OFFER[spec.name]]
        assert sorted(exported[spec.id_field]) == sorted(listed[spec.id_field]), spec.name


def test_a_parcels_popup_names_its_readiness_in_words(client: TestClient, loaded: Store) -> None:
    """An investor reads "部分就绪 (partly ready)", not the code ``partly_ready``."""
    parcels = derive(loaded.features.read(PARCELS), PARCELS)
    listed = parcels[parcels["status"] == ON_OFFER[PARCELS.name]]
    for fid, readiness in listed["readiness"].drop_duplicates().items():
        zh, en = READINESS[readiness]
        text = client.get(f"/maps/popup/investor/parcels/{fid}").text
        assert f"{zh} ({en})" in text and f">{readiness}<" not in text
