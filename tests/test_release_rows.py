"""A new stock list read for the zone reads whole only the parcels the held list does not
have (issue 16: a new list's zone in ≤ 2 s): what it gives equals a full read, on both
stores, whatever changed — the list's year, a parcel redrawn, repriced, added, removed
or reserved — and a row staged without a hash is read whole."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from layers.catalog import PARCELS
from layers.schema import LayerSpec
from layers.store import rows
from layers.store.release_rows import read_release
from layers.store.reservations import Needs
from layers.store.store import Store
from tests.people import TESTER


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=150)


def _assert_same(ours: gpd.GeoDataFrame, theirs: gpd.GeoDataFrame) -> None:
    pd.testing.assert_frame_equal(
        pd.DataFrame(ours.drop(columns="geometry")), pd.DataFrame(theirs.drop(columns="geometry"))
    )
    assert ours.crs == theirs.crs
    assert list(shapely.to_wkb(ours.geometry.to_numpy())) == list(
        shapely.to_wkb(theirs.geometry.to_numpy())
    )


def _next_list(parcels: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """Next year's list (every parcel's year moved on): ten parcels gone, one repriced,
    one redrawn, one added; and the ids of the changed ones."""
    listed = parcels.iloc[10:].copy()
    listed["list_year"] += 1
    repriced, redrawn = listed.index[0], listed.index[1]
    listed.loc[repriced, "price_wmu"] = float(listed.loc[repriced, "price_wmu"] or 0) + 1
    listed.loc[redrawn, "geometry"] = shapely.affinity.translate(
        listed.geometry.loc[redrawn], xoff=0.002
    )
    added = parcels.iloc[[0]].copy()
    added.index, added["parcel_id"] = [10**6], ["NEW-1"]
    added = added.set_geometry(added.geometry.translate(yoff=-0.003))
    changed = {
        "repriced": str(listed.loc[repriced, "parcel_id"]),
        "redrawn": str(listed.loc[redrawn, "parcel_id"]),
        "added": "NEW-1",
    }
    return pd.concat([listed, added]), changed


def test_a_new_list_read_for_the_zone_equals_a_full_read_and_reads_only_what_changed(
    loaded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    features = loaded.features
    held = read_release(features, PARCELS, None)
    _assert_same(held.frame, features.read(PARCELS))
    assert held.hashes.notna().all() and held.hashes.index.equals(held.frame.index)

    listed, changed = _next_list(features.read(PARCELS, as_stored=True))
    on_offer = listed.loc[listed["status"] == PARCELS.on_offer, "parcel_id"].astype(str)
    reserved, unknown = sorted(set(on_offer) - set(changed.values()))[:2]
    changed["unknown"] = unknown
    stamp = rows.stamp

    def staged_before_hashes_were_kept(spec: LayerSpec, records: list[dict[str, Any]]) -> None:
        stamp(spec, records)  # a store migrated to 0009 has rows without a hash
        next(r for r in records if r["parcel_id"] == unknown)["row_hash"] = None

    monkeypatch.setattr(rows, "stamp", staged_before_hashes_were_kept)
    features.write(PARCELS, listed, replace=True, actor=TESTER)
    loaded.reservations.reserve(
        layer=PARCELS.name, site_id=reserved, project="核对 (check)", needs=Needs(energy_tce=1),
        actor=TESTER,
    )  # fmt: skip

    again = read_release(features, PARCELS, held)
    full = features.read(PARCELS)
    _assert_same(again.frame, full)
    assert again.frame.loc[again.frame["parcel_id"] == reserved, "status"].item() == "reserved"
    assert again.hashes.index.equals(full.index) and again.hashes.isna().sum() == 1
    # The rows the held list has are taken from it (the same geometry objects), with the
    # new year and the reserved status; the changed ones are read.
    before = dict(zip(held.frame["parcel_id"], held.frame.geometry, strict=True))
    taken = {
        pid: before.get(pid) is geometry
        for pid, geometry in zip(again.frame["parcel_id"], again.frame.geometry, strict=True)
    }
    assert {pid for pid, same in taken.items() if not same} == set(changed.values())


def test_a_list_with_every_parcel_changed_equals_a_full_read(loaded: Store) -> None:
    features = loaded.features
    held = read_release(features, PARCELS, None)
    listed = features.read(PARCELS, as_stored=True)
    listed["price_wmu"] = listed["price_wmu"].fillna(0) + 1  # every parcel repriced
    features.write(PARCELS, listed, replace=True, actor=TESTER)
    again = read_release(features, PARCELS, held)
    _assert_same(again.frame, features.read(PARCELS))
    assert not set(map(id, again.frame.geometry)) & set(map(id, held.frame.geometry))
