"""Reservations, releases and ledger edits reach the zone in memory by a patch, not a
rebuild, and the patched zone is the one a rebuild would make (issue 16, item 1)."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo_service import zones
from layers.catalog import FACTORIES, INFRASTRUCTURE, LAYERS, PARCELS, PARKS, POWER
from layers.store.reservations import Needs
from layers.store.store import Store
from matching import zone_reuse
from matching.distances import Pairs
from matching.engine import match
from matching.request import parse_request
from matching.zone import Sites, Zone, build_zone
from tests.people import TESTER

QUARTER = "2026Q4"
REQUEST = {
    "name": "补丁核对 (patch check)",
    "industry": "装备制造",
    "area": {"min_mu": 10, "max_mu": 400},
    "energy_tce": 500,
    "power_mw": 2,
}
FACTORY_REQUEST = {
    "name": "补丁核对厂房 (patch check, factory)",
    "industry": "装备制造",
    "site_kind": "factory",
    "factory": {"floor": {"min_m2": 500, "max_m2": 20_000}},
}


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=150)


def _on_offer(store: Store, spec: Any) -> list[str]:
    frame = store.features.read(spec)
    return sorted(frame.loc[frame["status"] == spec.on_offer, spec.id_field].astype(str))


def _reserve(store: Store, rng: random.Random, spec: Any) -> None:
    site = rng.choice(_on_offer(store, spec))
    nodes = store.features.read(INFRASTRUCTURE)
    substations = nodes.loc[nodes["kind"] == POWER.node_kind].sort_values("infra_id")
    substation = substations.iloc[rng.randrange(len(substations))]
    power = round(rng.uniform(0, min(2.0, max(float(substation[POWER.spare_column]), 0))), 2)
    needs = Needs(
        energy_tce=round(rng.uniform(0, 50), 1),
        emissions_t={"so2": round(rng.uniform(0, 0.5), 2)},
        power_mva=power,
        substation_id=str(substation["infra_id"]) if power else None,
    )
    store.reservations.reserve(
        layer=spec.name, site_id=site, project=f"项目 {rng.randrange(1000)}", needs=needs,
        actor=TESTER,
    )  # fmt: skip


def _release(store: Store, rng: random.Random) -> None:
    active = store.reservations.listing(active_only=True)
    if active:
        store.reservations.release(rng.choice(active).id, actor=TESTER, reason="测试")


def _edit(store: Store, rng: random.Random, spec: Any, field: str, low: float, high: float) -> None:
    ids = sorted(store.features.read(spec)[spec.id_field].astype(str))
    row = store.ledgers.row(spec.name, rng.choice(ids))
    value = round(rng.uniform(low, high), 1)
    store.ledgers.update(
        spec.name, row["id"], {field: value}, version=row["version"], quarter=QUARTER,
        actor=TESTER, override="测试: 预算可透支 (test)",
    )  # fmt: skip


CHANGES: list[Callable[[Store, random.Random], None]] = [
    lambda store, rng: _reserve(store, rng, PARCELS),
    lambda store, rng: _reserve(store, rng, FACTORIES),
    _release,
    lambda store, rng: _edit(store, rng, PARKS, "egy_alloc", 0, 20_000),
    lambda store, rng: _edit(store, rng, INFRASTRUCTURE, POWER.spare_column, 0, 60),
    lambda store, rng: _edit(store, rng, FACTORIES, "rent_ym", 8, 40),
]


def _assert_same_sites(ours: Sites, theirs: Sites) -> None:
    pd.testing.assert_frame_equal(ours.frame, theirs.frame)
    assert shapely.to_wkb(ours.metric[:]).tolist() == shapely.to_wkb(theirs.metric[:]).tolist()
    np.testing.assert_array_equal(ours.metric.area_m2, theirs.metric.area_m2)
    np.testing.assert_array_equal(ours.park, theirs.park)
    assert ours.budgets.keys() == theirs.budgets.keys()
    for key, (value, own) in ours.budgets.items():
        np.testing.assert_array_equal(value, theirs.budgets[key][0])
        np.testing.assert_array_equal(own, theirs.budgets[key][1])
    assert ours.condition_keys == theirs.condition_keys
    np.testing.assert_array_equal(ours.condition_days, theirs.condition_days)
    np.testing.assert_array_equal(ours.ready_day, theirs.ready_day)
    for kind, pairs in ours.distances.pairs.items():
        for name in (f.name for f in dataclasses.fields(Pairs)):
            other = theirs.distances.pairs[kind]
            np.testing.assert_array_equal(getattr(pairs, name), getattr(other, name))
    for kind, road in ours.distances.road.items():
        for name in ("dist_m", "minutes", "target", "estimated"):
            other = theirs.distances.road[kind]
            np.testing.assert_array_equal(getattr(road, name), getattr(other, name))


def _same_pairs(ours: Zone, theirs: Zone) -> bool:
    """Whether the parcels of two zones have the same substations within reach, as far."""
    mine, other = (z.parcels.distances.pairs["substation"] for z in (ours, theirs))
    return np.array_equal(mine.node, other.node) and np.array_equal(mine.dist_m, other.dist_m)


def _assert_same_zone(ours: Zone, theirs: Zone) -> None:
    _assert_same_sites(ours.parcels, theirs.parcels)
    _assert_same_sites(ours.factories, theirs.factories)
    pd.testing.assert_frame_equal(ours.parks, theirs.parks)
    pd.testing.assert_frame_equal(ours.infrastructure, theirs.infrastructure)
    assert dict(ours.versions) == dict(theirs.versions)
    for request in (REQUEST, FACTORY_REQUEST):
        asked = parse_request(request)
        assert match(asked, ours).to_dict() == match(asked, theirs).to_dict()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_zone_patched_after_any_changes_equals_one_built_from_scratch(
    loaded: Store, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = zones.ZoneCache(loaded)
    cache.get()
    builds: list[int] = []
    build = zones.build_zone
    monkeypatch.setattr(zones, "build_zone", lambda *a, **k: builds.append(1) or build(*a, **k))
    rng = random.Random(seed)  # noqa: S311 (a test sequence, not a secret)
    for _ in range(6):
        rng.choice(CHANGES)(loaded, rng)
        patched = cache.get()
        frames = {name: loaded.features.read(spec) for name, spec in LAYERS.items()}
        _assert_same_zone(patched, build(frames, versions=loaded.features.versions()))
        for name, frame in cache.frames().items():
            pd.testing.assert_frame_equal(frame, frames[name], obj=name)
    assert builds == [], "a change of attributes rebuilt the zone"


def test_a_site_redrawn_or_a_road_changed_builds_the_zone_anew(
    loaded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = zones.ZoneCache(loaded)
    before = cache.get()
    builds: list[int] = []
    build = zones.build_zone
    monkeypatch.setattr(zones, "build_zone", lambda *a, **k: builds.append(1) or build(*a, **k))
    factories = loaded.features.read(FACTORIES)
    moved = factories.copy()
    moved.loc[moved.index[0], "geometry"] = shapely.affinity.translate(
        moved.geometry.iloc[0], xoff=0.001
    )
    loaded.features.write(FACTORIES, moved, replace=True, actor=TESTER)
    assert cache.get() is before  # the reader goes on with it while the zone is rebuilt
    cache.settle(30)
    after = cache.get()
    assert builds == [1] and after is not before
    frames = {name: loaded.features.read(spec) for name, spec in LAYERS.items()}
    _assert_same_zone(after, build(frames, versions=loaded.features.versions()))


def test_a_zone_built_anew_with_the_same_roads_reuses_the_network_and_equals_a_fresh_one(
    zone: dict[str, gpd.GeoDataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build_zone(zone)
    projected, project = [], zone_reuse.projected_corners  # the sites a build projects
    monkeypatch.setattr(
        zone_reuse, "projected_corners", lambda g, e: projected.extend(g) or project(g, e)
    )
    listed = dict(zone)  # next year's list: parcels gone, one redrawn, one added, a price
    parcels = zone[PARCELS.name].iloc[10:].copy()
    parcels.loc[parcels.index[0], "price_wmu"] = 99.0
    redrawn, added = parcels.index[1], zone[PARCELS.name].iloc[[0]].copy()
    parcels.loc[redrawn, "geometry"] = shapely.affinity.translate(
        parcels.geometry.loc[redrawn], xoff=0.002
    )
    added.index, added["parcel_id"] = [10**6], ["NEW-1"]
    added = added.set_geometry(added.geometry.translate(yoff=-0.003))
    listed[PARCELS.name] = pd.concat([parcels, added])
    again = build_zone(listed, previous=first)
    assert again.network.ends is first.network.ends  # the network is not built again
    assert again.network.pieces is first.network.pieces
    assert "_segments" not in vars(again.network)  # nor kept whole (RoadNetwork.segments)
    assert all(again.reach[kind] is way for kind, way in first.reach.items())
    # Unchanged sites keep their areas, pairs and road distances: only the redrawn and
    # the added parcel are projected (and measured, and reached) anew.
    anew = [parcels.geometry.loc[redrawn], added.geometry.iloc[0]]
    assert sorted(shapely.to_wkb(projected)) == sorted(shapely.to_wkb(anew))
    _assert_same_zone(again, build_zone(listed))
    # Half the roads taken away: the network and every road distance are worked out
    # anew, but the sites lie where they did, with the same nodes within reach.
    roads = dict(listed, roads=zone["roads"].iloc[::2])
    projected.clear()
    rerouted = build_zone(roads, previous=again)
    assert not projected
    assert rerouted.network.ends is not again.network.ends
    assert not np.array_equal(
        rerouted.parcels.distances.road["rail"].dist_m, again.parcels.distances.road["rail"].dist_m
    )
    _assert_same_zone(rerouted, build_zone(roads))
    # A substation moved: the utility pairs are measured anew too.
    nodes = zone[INFRASTRUCTURE.name].copy()
    substation = nodes.index[nodes["kind"] == "substation"][0]
    nodes.loc[substation, "geometry"] = shapely.affinity.translate(
        nodes.geometry.loc[substation], xoff=0.01
    )
    moved = dict(roads, infrastructure=nodes)
    renoded = build_zone(moved, previous=rerouted)
    assert not _same_pairs(renoded, rerouted)
    _assert_same_zone(renoded, build_zone(moved))


def test_a_new_list_that_only_drops_parcels_is_built_without_reading_a_parcel_again(
    loaded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = zones.ZoneCache(loaded)
    before = cache.get()
    listed = loaded.features.read(PARCELS, as_stored=True).iloc[5:]
    loaded.features.write(PARCELS, listed, replace=True, actor=TESTER)
    read, layers_read = loaded.features.read, []
    monkeypatch.setattr(
        loaded.features, "read", lambda spec, **k: layers_read.append(spec.name) or read(spec, **k)
    )
    assert cache.get() is before  # served while the new list is read and built
    cache.settle(30)
    after = cache.get()
    assert after is not before and PARCELS.name not in layers_read
    frames = {name: read(spec) for name, spec in LAYERS.items()}
    for name, frame in cache.frames().items():
        pd.testing.assert_frame_equal(frame, frames[name], obj=name)
    _assert_same_zone(after, build_zone(frames, versions=loaded.features.versions()))
