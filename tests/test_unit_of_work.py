"""R27: every write goes through one unit of work — its locks in one order, its invariants
checked again inside them — so that no race strands a reservation or deadlocks.

Each race is run many times on both stores (on SQLite writes queue on the file's lock; on
PostGIS they truly run at once). A trial fails if both sides of a race that cannot both
succeed did, if either side raised anything but the refusal it should (a deadlock, a
server error), or if an active reservation is left stranded. One trial per race is made
deterministic on PostGIS by holding a row the old code's reservation waited on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import pytest
import sqlalchemy as sa

from layers.catalog import FACTORIES, LAYERS, PARCELS, PARKS
from layers.errors import Conflict, NotFound
from layers.store.audit import Actor
from layers.store.change import change
from layers.store.reservations import Needs
from layers.store.store import Store
from layers.store.tables import LAYER_TABLES, reservations

PLANNER = Actor("招商部 赵六", "planner")
CENTRE = Actor("园区服务中心 钱七", "land_bureau")
TRIALS = 20


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=80)


def _race(first: Callable[[], object], second: Callable[[], object]) -> list[object]:
    """Run both at the same moment; each one's result, or the exception it raised."""
    results: list[object] = [None, None]
    start = threading.Barrier(2)

    def run(i: int, call: Callable[[], object]) -> None:
        start.wait()
        try:
            results[i] = call()
        except Exception as exc:  # every outcome is judged by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a change never finished (deadlock?)"
    return results


def _refused(result: object, *kinds: type[Exception]) -> bool:
    """Whether a side was refused the way a user is told (not a deadlock or a crash)."""
    if isinstance(result, Exception) and not isinstance(result, kinds):
        raise AssertionError(f"unexpected {type(result).__name__}: {result}") from result
    return isinstance(result, Exception)


def _active(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        query = sa.select(reservations).where(reservations.c.status == "active")
        return list(conn.execute(query).mappings())


def _assert_nothing_stranded(store: Store) -> None:
    """Every active reservation's site is in force in its park (read from the tables and
    the store's reader, not by the unit of work's own check)."""
    for r in _active(store):
        spec = LAYERS[r["layer"]]
        current = store.features.read(spec)
        rows = current[current[spec.id_field] == r["site_id"]]
        assert len(rows) == 1, f"reservation {r['id']}: site {r['site_id']} gone"
        assert rows["park_id"].iloc[0] == r["park_id"], f"{r['id']} moved park"


def _holding_park_rows(store: Store, seconds: float) -> threading.Timer | None:
    """Another session holds every park row for ``seconds`` (PostGIS): the old code's
    reservation waited there after taking its layer locks, which made the publish race
    certain. Returns the timer that lets go."""
    if not store.is_postgis:
        return None
    conn = store.engine.connect()
    transaction = conn.begin()
    conn.execute(sa.select(LAYER_TABLES["parks"]).with_for_update()).all()

    def let_go() -> None:
        transaction.rollback()
        conn.close()

    timer = threading.Timer(seconds, let_go)
    timer.start()
    return timer


def _available(store: Store, layer: str = "parcels") -> list[str]:
    spec = LAYERS[layer]
    frame = store.features.read(spec)
    status = "available" if layer == "parcels" else "idle"
    return sorted(frame.loc[frame["status"] == status, spec.id_field].astype(str))


def _stage_without(store: Store, parcel_id: str) -> int:
    """Stage the list in force less one parcel; the id of the staged release."""
    current = store.features.read(PARCELS, release=store.releases.current_id())
    frame = current[current["parcel_id"] != parcel_id].reset_index(drop=True)
    staged = store.releases.stage(
        frame,
        year=2030,
        source=("2030.gpkg", b"-"),
        report={},
        actor=CENTRE,
        base=store.releases.current_id(),
    )
    return staged.id


def test_a_reservation_racing_a_publish_never_strands(loaded: Store) -> None:
    for trial, site in enumerate(_available(loaded)[:TRIALS]):
        staged = _stage_without(loaded, site)

        def hold(site: str = site) -> object:
            return loaded.reservations.reserve(
                layer="parcels",
                site_id=site,
                project="大恒 一期",
                needs=Needs(energy_tce=1.0),
                actor=PLANNER,
            )

        def publish(staged: int = staged) -> object:
            return loaded.releases.publish(staged, actor=CENTRE)

        # The first trial follows the probe's schedule, the others are left to chance.
        blocker = _holding_park_rows(loaded, 1.0) if trial == 0 else None
        results = _race(hold, publish)
        if blocker is not None:
            blocker.join()
        held = not _refused(results[0], Conflict, NotFound)
        published = not _refused(results[1], Conflict)
        assert not (held and published), f"trial {trial}: both succeeded — {site} stranded"
        assert held or published, f"trial {trial}: neither succeeded: {results}"
        _assert_nothing_stranded(loaded)
        if held:
            loaded.reservations.release(results[0].id, actor=PLANNER)  # type: ignore[union-attr]
            loaded.releases.discard(staged, actor=CENTRE)


def test_a_reservation_racing_a_layer_replace_never_strands(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    factories = zone["factories"]
    for trial, site in enumerate((_available(loaded, "factories") * TRIALS)[:TRIALS]):
        without = factories[factories["factory_id"] != site].reset_index(drop=True)

        def hold(site: str = site) -> object:
            return loaded.reservations.reserve(
                layer="factories", site_id=site, project="精工 二期", needs=Needs(), actor=PLANNER
            )

        def replace(without: gpd.GeoDataFrame = without) -> object:
            return loaded.features.write(FACTORIES, without, actor=CENTRE, replace=True)

        results = _race(hold, replace)
        held = not _refused(results[0], Conflict, NotFound)
        replaced = not _refused(results[1], Conflict)
        assert not (held and replaced), f"trial {trial}: both succeeded — {site} stranded"
        _assert_nothing_stranded(loaded)
        if held:
            loaded.reservations.release(results[0].id, actor=PLANNER)  # type: ignore[union-attr]
        loaded.features.write(FACTORIES, factories, actor=CENTRE, replace=True)


def test_a_reservation_racing_a_ledger_edit_never_strands(loaded: Store) -> None:
    parks = sorted(loaded.features.read(PARKS)["park_id"].astype(str))
    for trial, site in enumerate((_available(loaded, "factories") * TRIALS)[:TRIALS]):
        row = loaded.ledgers.row("factories", site)
        home = row["values"]["park_id"]
        elsewhere = next(p for p in parks if p != home)

        def hold(site: str = site) -> object:
            return loaded.reservations.reserve(
                layer="factories", site_id=site, project="精工 二期", needs=Needs(), actor=PLANNER
            )

        def move(site: str = site, row: dict[str, Any] = row, to: str = elsewhere) -> object:
            return loaded.ledgers.update(
                "factories",
                site,
                {"park_id": to},
                version=row["version"],
                quarter="2026Q4",
                actor=CENTRE,
            )

        results = _race(hold, move)
        held = not _refused(results[0], Conflict, NotFound)
        moved = not _refused(results[1], Conflict)
        if held and moved:  # moved first, then reserved where it now is: both may stand
            assert results[0].park_id == elsewhere, f"trial {trial}: reserved, then moved"  # type: ignore[union-attr]
        _assert_nothing_stranded(loaded)
        if held:
            loaded.reservations.release(results[0].id, actor=PLANNER)  # type: ignore[union-attr]
        if moved:
            now = loaded.ledgers.row("factories", site)
            loaded.ledgers.update(
                "factories",
                site,
                {"park_id": home},
                version=now["version"],
                quarter="2026Q4",
                actor=CENTRE,
            )


def test_a_release_racing_a_publish_leaves_nothing_stranded(loaded: Store) -> None:
    for trial, site in enumerate(_available(loaded)[:TRIALS]):
        held = loaded.reservations.reserve(
            layer="parcels", site_id=site, project="大恒 一期", needs=Needs(), actor=PLANNER
        )
        staged = _stage_without(loaded, site)
        results = _race(
            lambda held=held: loaded.reservations.release(held.id, actor=PLANNER),
            lambda staged=staged: loaded.releases.publish(staged, actor=CENTRE),
        )
        assert not _refused(results[0]), f"trial {trial}: the release failed"
        published = not _refused(results[1], Conflict)
        _assert_nothing_stranded(loaded)
        if not published:
            loaded.releases.discard(staged, actor=CENTRE)


def test_a_change_that_records_nothing_leaves_no_trace(loaded: Store) -> None:
    """A change with no audit row is rolled back: no layer version moves (no cache is
    thrown away), e.g. a ledger file whose values are those already stored."""
    from layers.store.change import change

    before = loaded.features.versions()
    with change(loaded.engine, ["parks", "parcels"], actor=CENTRE):
        pass
    assert loaded.features.versions() == before


def test_invariants_are_checked_inside_the_change(loaded: Store) -> None:
    """Writing round the reservation rules inside a change is refused at its end."""
    site = _available(loaded, "factories")[0]
    loaded.reservations.reserve(
        layer="factories", site_id=site, project="精工 二期", needs=Needs(), actor=PLANNER
    )
    table = LAYER_TABLES["factories"]

    def delete_the_reserved_factory() -> None:
        with change(loaded.engine, ["factories"], actor=CENTRE) as work:
            work.conn.execute(table.delete().where(table.c.factory_id == site))
            work.record("test.delete", site)

    with pytest.raises(Conflict, match=site):
        delete_the_reserved_factory()
    assert site in set(loaded.features.read(FACTORIES)["factory_id"])
    assert _active(loaded)
