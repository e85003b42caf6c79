"""The yearly stock list on both stores: validate, stage, diff, publish, history, audit.

"Nothing changed" is checked as the issue defines it: a canonical hash of the published
parcels (sorted features with every stored field and the geometry) is the same before and
after, and no release or row was added.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from typer.testing import Result

from layers.catalog import LAYERS, PARCELS
from layers.errors import Conflict, InvalidInput
from layers.io import write_layer_file
from layers.stocklist import import_list, staged_diff
from layers.store.audit import Actor
from layers.store.rows import data_hash
from layers.store.store import Store
from tests.people import TESTER

BUREAU = Actor("国土局 李四", "land_bureau")


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=80)


def _published(store: Store) -> tuple[str, int, int]:
    """The canonical hash of the parcels in force, and how many releases and rows exist."""
    with store.engine.connect() as conn:
        releases = conn.execute(sa.text("SELECT count(*) FROM stock_releases")).scalar_one()
        rows = conn.execute(sa.text("SELECT count(*) FROM parcels")).scalar_one()
    return data_hash(store.features.read(PARCELS), PARCELS), releases, rows


def _next_year(parcels: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The 2027 list, made by hand from 2026's: parcel 0's price and shape changed,
    parcels 5 and 6 withdrawn, and parcel 5's land offered again under a new id."""
    out = parcels.copy()
    out["list_year"] = 2027
    out.loc[0, "price_wmu"] = 99.5
    out.loc[0, "geometry"] = out.geometry.iloc[0].buffer(-0.0002, join_style="mitre")
    withdrawn = [str(out.loc[i, "parcel_id"]) for i in (5, 6)]
    out.loc[5, "parcel_id"] = "JZ2027-NEW"
    return out.drop(index=[6]).reset_index(drop=True), withdrawn


def test_stage_diff_publish_and_keep_history(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    first = loaded.releases.current()
    assert first is not None and first.status == "published"
    old_parcels = loaded.features.read(PARCELS)
    before = _published(loaded)
    nxt, withdrawn = _next_year(zone["parcels"])
    path = tmp_path / "stock_2027.gpkg"
    write_layer_file(nxt, PARCELS, path)
    parks = loaded.features.read(LAYERS["parks"])
    nxt_file = path.read_bytes()

    result = import_list(loaded, path, year=2027, actor=BUREAU)
    assert result.report.accepted, result.report.summary()
    assert result.release is not None and result.release.status == "staged"
    # Staged is invisible: readers still see the list in force.
    assert _published(loaded)[0] == before[0]
    changes = result.diff
    assert changes is not None
    assert [a["parcel_id"] for a in changes.added] == ["JZ2027-NEW"]
    assert sorted(r["parcel_id"] for r in changes.removed) == sorted(withdrawn)
    changed = {c["parcel_id"]: c for c in changes.changed}
    first_id = zone["parcels"].loc[0, "parcel_id"]
    assert set(changed[first_id]["fields"]) == {"price_wmu", "list_year", "geometry"}
    old_mu, new_mu = changed[first_id]["area_mu"]
    assert new_mu < old_mu
    assert set(changed) == {first_id}  # a new list year alone is not a change
    assert changes.unchanged == len(nxt) - 2
    assert staged_diff(loaded, result.release).as_dict() == changes.as_dict()
    assert len(parks)

    published = loaded.releases.publish(result.release.id, actor=BUREAU)
    assert published.status == "published"
    now = loaded.features.read(PARCELS)
    assert "JZ2027-NEW" in set(now["parcel_id"]) and not set(withdrawn) & set(now["parcel_id"])
    assert loaded.releases.current() == published
    # The 2026 list stays retrievable as it was, and its file byte for byte.
    again = loaded.features.read(PARCELS, release=first.id)
    assert data_hash(again, PARCELS) == before[0] == first.data_sha256
    assert len(again) == len(old_parcels)
    assert loaded.releases.source(published.id) == (path.name, nxt_file)
    assert data_hash(now, PARCELS) == published.data_sha256


def test_as_of_finds_the_list_in_force_then(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    first = loaded.releases.current()
    assert first is not None and first.decided_at is not None
    nxt, _ = _next_year(zone["parcels"])
    write_layer_file(nxt, PARCELS, tmp_path / "l.geojson")
    staged = import_list(loaded, tmp_path / "l.geojson", year=2027, actor=BUREAU).release
    assert staged is not None
    second = loaded.releases.publish(staged.id, actor=BUREAU)
    assert second.decided_at is not None
    assert loaded.releases.as_of(first.decided_at - dt.timedelta(seconds=1)) is None
    assert loaded.releases.as_of(first.decided_at) == loaded.releases.get(first.id)
    between = first.decided_at + (second.decided_at - first.decided_at) / 2
    assert loaded.releases.as_of(between) == loaded.releases.get(first.id)
    assert loaded.releases.as_of(second.decided_at) == second


def test_a_bad_list_changes_nothing_and_names_every_problem(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    before = _published(loaded)
    bad = zone["parcels"].copy()
    bad["list_year"] = 2027
    bad.loc[3, "list_year"] = 2026  # wrong year
    bad.loc[9, "parcel_id"] = bad.loc[8, "parcel_id"]  # duplicate id
    bad.loc[11, "geometry"] = bad.geometry.iloc[10].centroid.buffer(0.0002)  # inside 10
    bad.loc[11, "park_id"] = bad.loc[10, "park_id"]
    path = tmp_path / "bad.gpkg"
    write_layer_file(bad, PARCELS, path)
    audit_rows = len(loaded.audit.rows(limit=10_000))

    result = import_list(loaded, path, year=2027, actor=BUREAU)

    assert result.release is None and not result.report.accepted
    text = result.report.summary()
    assert "第 4 行" in text and "list_year" in text
    assert any(p.field == "parcel_id" and p.row == 9 for p in result.report.problems)
    overlap = [p for p in result.report.problems if p.field == "geometry"]
    ten, eleven = (str(bad.loc[i, "parcel_id"]) for i in (10, 11))
    assert len(overlap) == 1, overlap
    assert overlap[0].feature_id == ten and overlap[0].row == 11 and eleven in overlap[0].message
    assert len(result.report.problems) == 3
    assert _published(loaded) == before
    log = loaded.audit.rows(limit=10_000)
    assert len(log) == audit_rows + 1 and log[0]["action"] == "stock_list.reject"
    assert log[0]["actor"] == BUREAU.name


def test_two_imports_for_one_year_at_once_one_gets_a_conflict(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    nxt, _ = _next_year(zone["parcels"])
    paths = [tmp_path / f"list{i}.gpkg" for i in range(2)]
    for path in paths:
        write_layer_file(nxt, PARCELS, path)
    outcomes: list[object] = []
    start = threading.Barrier(2)

    def run(path: Path) -> None:
        start.wait()
        try:
            outcomes.append(import_list(loaded, path, year=2027, actor=BUREAU).release)
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    staged = [o for o in outcomes if not isinstance(o, Conflict)]
    assert len(conflicts) == 1 and len(staged) == 1, outcomes
    assert "2027" in conflicts[0].message and "staged" in conflicts[0].message
    # Once decided, the year is free again.
    assert staged[0] is not None
    loaded.releases.discard(staged[0].id, actor=BUREAU)  # type: ignore[attr-defined]
    assert import_list(loaded, paths[0], year=2027, actor=BUREAU).release is not None


def test_a_list_staged_before_another_was_published_must_be_imported_again(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    nxt, _ = _next_year(zone["parcels"])
    later = nxt.assign(list_year=2028)
    write_layer_file(nxt, PARCELS, tmp_path / "a.gpkg")
    write_layer_file(later, PARCELS, tmp_path / "b.gpkg")
    a = import_list(loaded, tmp_path / "a.gpkg", year=2027, actor=BUREAU).release
    b = import_list(loaded, tmp_path / "b.gpkg", year=2028, actor=BUREAU).release
    assert a is not None and b is not None
    loaded.releases.publish(b.id, actor=BUREAU)
    with pytest.raises(Conflict, match="import it again"):
        loaded.releases.publish(a.id, actor=BUREAU)
    assert loaded.releases.current() == loaded.releases.get(b.id)


def test_history_cannot_be_rewritten(loaded: Store) -> None:
    """Published rows, releases and the audit log refuse UPDATE and DELETE in the database
    itself, whatever code runs."""
    current = loaded.releases.current()
    assert current is not None
    statements = [
        "UPDATE parcels SET price_wmu = 1 WHERE release_id = :r",
        "DELETE FROM parcels WHERE release_id = :r",
        "UPDATE stock_releases SET status = 'discarded' WHERE id = :r",
        "DELETE FROM stock_releases WHERE id = :r",
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
        "INSERT INTO audit_log (at, actor, role, action, target) "
        "VALUES (CURRENT_TIMESTAMP, '  ', 'admin', 'x', 'y')",
    ]
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError), loaded.transaction() as conn:
            conn.execute(sa.text(statement), {"r": current.id})
    assert loaded.releases.current() == current


def test_every_change_leaves_one_audit_row_naming_the_person(
    store: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    from geo_service import auth

    def rows() -> int:
        return len(store.audit.rows(limit=10_000))

    count = rows()
    store.features.write(LAYERS["parks"], zone["parks"], actor=BUREAU)
    assert rows() == count + 1
    store.features.write(PARCELS, zone["parcels"], actor=BUREAU)
    assert rows() == count + 2
    credential, _ = auth.create_key(store, name="张三", role="planner", actor=TESTER)
    auth.revoke_key(store, credential.id, actor=TESTER)
    log = store.audit.rows()
    assert [r["action"] for r in log[:4]] == [
        "credential.revoke", "credential.create", "layer.load", "layer.load",
    ]  # fmt: skip
    assert [r["actor"] for r in log[:4]] == [TESTER.name, TESTER.name, BUREAU.name, BUREAU.name]
    assert log[2]["after"]["features"] == len(zone["parcels"])
    with pytest.raises(InvalidInput):
        Actor(" ", "planner")
    with pytest.raises(InvalidInput):
        store.features.write(LAYERS["roads"], zone["roads"], actor=None)  # type: ignore[arg-type]
    assert store.features.count(LAYERS["roads"]) == 0 and rows() == count + 4


def test_readers_during_a_publish_see_one_list_or_the_other(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    old_ids = frozenset(loaded.features.read(PARCELS)["parcel_id"])
    nxt, _ = _next_year(zone["parcels"])
    write_layer_file(nxt, PARCELS, tmp_path / "n.gpkg")
    staged = import_list(loaded, tmp_path / "n.gpkg", year=2027, actor=BUREAU).release
    assert staged is not None
    new_ids = frozenset(nxt["parcel_id"])
    seen: list[frozenset[str]] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                seen.append(frozenset(loaded.features.read(PARCELS)["parcel_id"]))
            except BaseException as exc:
                errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for r in readers:
        r.start()
    loaded.releases.publish(staged.id, actor=BUREAU)
    for _ in range(20):
        if len(seen) > 5 and new_ids in seen:
            break
        threading.Event().wait(0.05)
    done.set()
    for r in readers:
        r.join(timeout=60)
    assert errors == []
    assert set(seen) <= {old_ids, new_ids} and new_ids in seen


def test_cli_import_exits_non_zero_on_a_refused_list(
    loaded: Store,
    store_url: str,
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    cli: Callable[..., Result],
) -> None:
    bad = zone["parcels"].assign(list_year=2030)
    write_layer_file(bad, PARCELS, tmp_path / "bad.gpkg")
    command = ["stock-list", "import", "--db", store_url, str(tmp_path / "bad.gpkg")]
    before = _published(loaded)
    refused = cli(*command, "--year", "2029")
    assert refused.exit_code == 1 and "list_year" in refused.stdout
    assert _published(loaded) == before  # nothing staged, nothing changed
    good = cli(*command, "--year", "2030", "--report", str(tmp_path / "r.json"))
    assert good.exit_code == 0, good.output
    assert "stock-list publish" in good.stdout and (tmp_path / "r.json").is_file()


def test_invalid_geometry_is_repaired_only_on_request_and_within_bounds(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    listed = zone["parcels"].assign(list_year=2027)
    parcel = listed.geometry.iloc[2]
    ring = list(parcel.exterior.coords)[:-1]
    edge = shapely.LineString(ring[1:3]).interpolate(0.5, normalized=True)
    inward = parcel.centroid
    spike = [*ring[:2], edge.coords[0], inward.coords[0], edge.coords[0], *ring[2:]]
    listed.loc[2, "geometry"] = shapely.Polygon(spike)  # a spike: area unchanged by repair
    path = tmp_path / "spike.gpkg"
    write_layer_file_raw(listed, path)
    refused = import_list(loaded, path, year=2027, actor=BUREAU)
    assert refused.release is None and "not repaired" in refused.report.summary()

    repaired = import_list(loaded, path, year=2027, actor=BUREAU, repair=True)
    assert repaired.release is not None
    notes = [w for w in repaired.report.warnings if w.field == "geometry"]
    assert len(notes) == 1 and notes[0].row == 3 and "→" in notes[0].message
    assert repaired.release.report["validation"]["warnings"][0]["row"] == 3  # kept with it
    loaded.releases.discard(repaired.release.id, actor=BUREAU)

    a, b, c, d = ring[:4]
    listed.loc[2, "geometry"] = shapely.Polygon([a, c, b, d])  # a bow-tie
    write_layer_file_raw(listed, path)
    bow_tie = import_list(loaded, path, year=2027, actor=BUREAU, repair=True)
    assert bow_tie.release is None and "repair refused" in bow_tie.report.summary()


def write_layer_file_raw(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Written by GDAL as it is: our own writer derives areas and would refuse it."""
    pyogrio.write_dataframe(frame, path, layer="parcels")
