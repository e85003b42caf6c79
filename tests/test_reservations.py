"""Reservations and quarterly ledgers on both stores: budgets drawn and given back,
over-drawing refused under concurrency, stale ledger edits refused, no lost update."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from pydantic import TypeAdapter

from geo_service.settings import Settings
from layers.catalog import LAYERS, PARCELS, PARKS
from layers.errors import Conflict, InvalidInput, LayerValidationError
from layers.store.audit import Actor
from layers.store.reservations import Needs
from layers.store.rows import data_hash
from layers.store.store import Store
from matching.zone import build_zone
from tests.people import TESTER

PLANNER = Actor("招商部 赵六", "planner")
CENTRE = Actor("园区服务中心 钱七", "land_bureau")


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=60)


def _available(store: Store, park: str | None = None) -> list[str]:
    parcels = store.features.read(PARCELS)
    rows = parcels[parcels["status"] == "available"]
    if park is not None:
        rows = rows[rows["park_id"] == park]
    return list(rows["parcel_id"])


def _park(store: Store, park_id: str) -> dict[str, Any]:
    parks = store.features.read(PARKS)
    return dict(parks[parks["park_id"] == park_id].iloc[0])


def _substation(store: Store) -> tuple[str, float]:
    infra = store.features.read(LAYERS["infrastructure"])
    row = infra[infra["kind"] == "substation"].sort_values("spare_mva").iloc[-1]
    return str(row["infra_id"]), float(row["spare_mva"])


def test_a_reservation_draws_budgets_down_and_release_gives_them_back(loaded: Store) -> None:
    site = _available(loaded)[0]
    park_id = str(loaded.features.read(PARCELS).set_index("parcel_id").loc[site, "park_id"])
    park = _park(loaded, park_id)
    substation, spare = _substation(loaded)
    needs = Needs(energy_tce=120.0, emissions_t={"so2": 0.5}, power_mva=2.0,
                  substation_id=substation)  # fmt: skip

    in_force = loaded.releases.current_id()
    stored = data_hash(loaded.features.read(PARCELS, release=in_force), PARCELS)

    held = loaded.reservations.reserve(
        layer="parcels", site_id=site, project="大恒 一期", needs=needs, actor=PLANNER
    )

    # History is untouched: the release as stored hashes the same, and exports (stored
    # values) do not carry the draw-down, so a re-load cannot count it twice.
    assert data_hash(loaded.features.read(PARCELS, release=in_force), PARCELS) == stored
    assert _park_stored(loaded, park_id)["egy_alloc"] == pytest.approx(park["egy_alloc"])

    parcels = loaded.features.read(PARCELS).set_index("parcel_id")
    assert parcels.loc[site, "status"] == "reserved"
    drawn = _park(loaded, park_id)
    assert drawn["egy_alloc"] == pytest.approx(park["egy_alloc"] + 120.0)
    assert drawn["so2_used"] == pytest.approx(park["so2_used"] + 0.5)
    assert _substation_spare(loaded, substation) == pytest.approx(spare - 2.0)
    # Matching sees it at once: the zone built from the store has the site reserved.
    frames = {name: loaded.features.read(spec) for name, spec in LAYERS.items()}
    built = build_zone(frames)
    assert site not in set(_ids_with_status(built.parcels, "available"))

    with pytest.raises(Conflict, match="大恒"):
        loaded.reservations.reserve(
            layer="parcels", site_id=site, project="另一个", needs=Needs(), actor=PLANNER
        )
    loaded.reservations.release(held.id, actor=PLANNER)
    assert loaded.features.read(PARCELS).set_index("parcel_id").loc[site, "status"] == "available"
    assert _park(loaded, park_id)["egy_alloc"] == pytest.approx(park["egy_alloc"])
    assert _substation_spare(loaded, substation) == pytest.approx(spare)
    with pytest.raises(Conflict):
        loaded.reservations.release(held.id, actor=PLANNER)
    actions = [r["action"] for r in loaded.audit.rows(limit=2)]
    assert actions == ["reservation.release", "reservation.create"]


def _park_stored(store: Store, park_id: str) -> dict[str, Any]:
    parks = store.features.read(PARKS, as_stored=True)
    return dict(parks[parks["park_id"] == park_id].iloc[0])


def _substation_spare(store: Store, substation: str) -> float:
    infra = store.features.read(LAYERS["infrastructure"]).set_index("infra_id")
    return float(infra.loc[substation, "spare_mva"])


def _ids_with_status(sites: Any, status: str) -> list[str]:
    return [i for i, s in zip(sites.ids, sites.column("status"), strict=True) if s == status]


def _race(*calls: Callable[[], object]) -> list[object]:
    """Run ``calls`` at the same moment; each result or the Conflict it raised."""
    results: list[object] = []
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> None:
        start.wait()
        try:
            results.append(call())
        except Conflict as exc:
            results.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_two_reservations_that_would_overdraw_a_park_budget_one_wins(loaded: Store) -> None:
    parks = loaded.features.read(PARKS)
    parks = parks[parks["egy_total"].notna()]
    park_id = str(parks.iloc[0]["park_id"])
    park = _park(loaded, park_id)
    left = park["egy_total"] - park["egy_alloc"]
    sites = _available(loaded, park_id)[:2]
    needs = Needs(energy_tce=left * 0.6)

    results = _race(
        *(
            lambda s=s: loaded.reservations.reserve(
                layer="parcels", site_id=s, project=f"项目 {s}", needs=needs, actor=PLANNER
            )
            for s in sites
        )
    )

    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(conflicts) == 1 and len(results) == 2, results
    assert "能耗指标" in conflicts[0].message and "energy quota" in conflicts[0].message
    assert conflicts[0].details["budget"] == f"{park_id}.egy"
    assert _park(loaded, park_id)["egy_alloc"] == pytest.approx(park["egy_alloc"] + left * 0.6)


def test_two_reservations_that_would_overdraw_a_substation_one_wins(loaded: Store) -> None:
    substation, spare = _substation(loaded)
    sites = _available(loaded)[:2]
    needs = Needs(power_mva=spare * 0.7, substation_id=substation)
    results = _race(
        *(
            lambda s=s: loaded.reservations.reserve(
                layer="parcels", site_id=s, project=f"项目 {s}", needs=needs, actor=PLANNER
            )
            for s in sites
        )
    )
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(conflicts) == 1, results
    assert substation in conflicts[0].message and "spare capacity" in conflicts[0].message
    assert _substation_spare(loaded, substation) == pytest.approx(spare * 0.3)


def test_only_sites_on_offer_can_be_reserved(loaded: Store) -> None:
    parcels = loaded.features.read(PARCELS)
    taken = str(parcels.loc[parcels["status"] == "transferred", "parcel_id"].iloc[0])
    with pytest.raises(Conflict, match="not on offer"):
        loaded.reservations.reserve(
            layer="parcels", site_id=taken, project="x", needs=Needs(), actor=PLANNER
        )
    with pytest.raises(InvalidInput):
        Needs(power_mva=1.0)  # no substation named
    with pytest.raises(InvalidInput):
        Needs(emissions_t={"co2": 1.0})


def test_ledger_edits_are_versioned_and_a_stale_edit_is_refused(loaded: Store) -> None:
    park_id = str(loaded.features.read(PARKS)["park_id"].iloc[0])
    row = loaded.ledgers.row("parks", park_id)
    version = row["version"]
    total = row["values"]["egy_total"]

    # Two centre staff edit from the same version at once: one wins, one is told.
    results = _race(
        lambda: loaded.ledgers.update(
            "parks",
            park_id,
            {"egy_total": total + 100},
            version=version,
            quarter="2026Q4",
            actor=CENTRE,
        ),
        lambda: loaded.ledgers.update(
            "parks",
            park_id,
            {"egy_total": total + 200},
            version=version,
            quarter="2026Q4",
            actor=TESTER,
        ),
    )
    conflicts = [r for r in results if isinstance(r, Conflict)]
    winners = [r for r in results if not isinstance(r, Conflict)]
    assert len(conflicts) == 1 and len(winners) == 1
    current = conflicts[0].details["current"]
    assert current["version"] == version + 1
    assert current["values"]["egy_total"] in (total + 100, total + 200)
    now = loaded.ledgers.row("parks", park_id)
    assert now == current  # no lost update: what the loser was shown is what is stored

    # The loser edits again from the current version.
    again = loaded.ledgers.update(
        "parks",
        park_id,
        {"egy_total": total + 300},
        version=now["version"],
        quarter="2026Q4",
        actor=CENTRE,
    )
    assert again["version"] == version + 2 and again["values"]["egy_total"] == total + 300
    history = loaded.ledgers.history("parks", park_id)
    assert [h["version"] for h in history] == [version + 1, version + 2]
    assert history[-1]["before"] == {"egy_total": current["values"]["egy_total"]}
    assert history[-1]["quarter"] == "2026Q4" and history[-1]["changed_by"] == CENTRE.name
    assert _park(loaded, park_id)["egy_total"] == total + 300  # readers see it


def test_a_bad_ledger_edit_changes_nothing(loaded: Store) -> None:
    park_id = str(loaded.features.read(PARKS)["park_id"].iloc[0])
    row = loaded.ledgers.row("parks", park_id)
    with pytest.raises(LayerValidationError):
        loaded.ledgers.update(
            "parks",
            park_id,
            {"so2_cap": -5.0},
            version=row["version"],
            quarter="2026Q4",
            actor=CENTRE,
        )
    with pytest.raises(InvalidInput):
        loaded.ledgers.update(
            "parks",
            park_id,
            {"park_id": "P99"},
            version=row["version"],
            quarter="2026Q4",
            actor=CENTRE,
        )
    with pytest.raises(InvalidInput):
        loaded.ledgers.update(
            "parks",
            park_id,
            {"so2_cap": 5.0},
            version=row["version"],
            quarter="Q4 2026",
            actor=CENTRE,
        )
    assert loaded.ledgers.row("parks", park_id) == row
    assert loaded.ledgers.history("parks", park_id) == []


def test_reservations_and_ledgers_over_http(
    loaded: Store, settings: Settings, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    from fastapi.testclient import TestClient

    from geo_service import auth
    from geo_service.app import create_app

    planner = {"X-API-Key": auth.create_key(loaded, name="招商部 赵六", role="planner",
                                            actor=TESTER)[1]}  # fmt: skip
    bureau = {"X-API-Key": auth.create_key(loaded, name="国土局 王五", role="land_bureau",
                                           actor=TESTER)[1]}  # fmt: skip
    site = _available(loaded)[0]
    body = {"layer": "parcels", "site_id": site, "project": "大恒 一期", "energy_tce": 10}
    with TestClient(create_app(settings)) as client:
        assert client.post("/reservations", json=body).status_code == 401
        assert client.post("/reservations", json=body, headers=bureau).status_code == 403
        assert client.post("/reservations", json={**body, "energy_tce": "NaN"},
                           headers=planner).status_code in (400, 422)  # fmt: skip
        made = client.post("/reservations", json=body, headers=planner)
        assert made.status_code == 201, made.text
        again = client.post("/reservations", json=body, headers=planner)
        assert again.status_code == 409 and "大恒" in again.json()["message"]
        status = client.get("/collections/parcels/items?limit=1000", headers=planner).json()
        assert site not in {  # no longer on offer: the public sees it no more
            f["properties"]["parcel_id"]
            for f in client.get("/collections/parcels/items?limit=1000").json()["features"]
        }
        status = status["features"]
        assert {f["properties"]["status"] for f in status
                if f["properties"]["parcel_id"] == site} == {"reserved"}  # fmt: skip
        released = client.post(f"/reservations/{made.json()['id']}/release", headers=planner)
        assert released.status_code == 200 and released.json()["status"] == "released"

        park_id = str(zone["parks"]["park_id"].iloc[0])
        row = client.get(f"/ledgers/parks/{park_id}", headers=planner).json()
        so2_cap = row["values"]["so2_used"] + 12.5  # a capacity above what is used
        edit = {"version": row["version"], "quarter": "2026Q4", "values": {"so2_cap": so2_cap}}
        assert client.patch(f"/ledgers/parks/{park_id}", json=edit,
                            headers=planner).status_code == 403  # fmt: skip
        ok = client.patch(f"/ledgers/parks/{park_id}", json=edit, headers=bureau)
        assert ok.status_code == 200 and ok.json()["version"] == row["version"] + 1
        stale = client.patch(f"/ledgers/parks/{park_id}", json=edit, headers=bureau)
        assert stale.status_code == 409
        assert stale.json()["details"]["current"]["version"] == row["version"] + 1
        bad = {**edit, "version": row["version"] + 1, "values": {"so2_cap": -1}}
        assert client.patch(f"/ledgers/parks/{park_id}", json=bad,
                            headers=bureau).status_code == 422  # fmt: skip
        log = client.get("/audit", headers=bureau).json()["rows"]
        assert log[0]["action"] == "ledger.update" and log[0]["actor"] == "国土局 王五"
        version = client.get(f"/ledgers/parks/{park_id}", headers=planner).json()["version"]
        table = f"park_id,version,so2_cap\n{park_id},{version},{so2_cap + 1}\n".encode()
        upload = {"file": ("台账.csv", table, "text/csv")}
        done = client.post("/ledgers/parks?quarter=2026Q4", files=upload, headers=bureau)
        assert done.status_code == 200 and done.json()["updated"] == 1
        again = client.post("/ledgers/parks?quarter=2026Q4", files=upload, headers=bureau)
        assert again.status_code == 409 and again.json()["details"]["stale"][0]["row"] == 1

        # The answers' models (/docs) show the bodies the routes built, unchanged: the
        # same keys, in the same order, the same numbers (1 stays 1, not 1.0).
        held_now = [r.as_dict() for r in loaded.reservations.listing()]
        assert client.get("/reservations", headers=planner).content == _untyped(held_now)
        row = client.get(f"/ledgers/parks/{park_id}", headers=planner)
        assert row.content == _untyped(loaded.ledgers.row("parks", park_id))
        history = client.get(f"/ledgers/parks/{park_id}/history", headers=planner)
        assert history.content == _untyped(loaded.ledgers.history("parks", park_id))


def _untyped(value: object) -> bytes:
    """The body FastAPI writes for ``value`` from a route declaring no answer model."""
    return TypeAdapter(Any).dump_json(value)


def test_a_ledger_file_is_applied_whole_or_not_at_all(loaded: Store, tmp_path: Path) -> None:
    parks = list(loaded.features.read(PARKS)["park_id"][:2])
    rows = [loaded.ledgers.row("parks", p) for p in parks]
    path = tmp_path / "台账 2026Q4.csv"
    # Totals above what is allocated and used (an edit below them is refused).
    egy = [r["values"]["egy_alloc"] + 50000 for r in rows]
    so2 = [r["values"]["so2_used"] + 10 for r in rows]

    def write(lines: list[str]) -> None:
        path.write_text("park_id,version,egy_total,so2_cap\n" + "\n".join(lines) + "\n",
                        encoding="utf-8")  # fmt: skip

    # One row stale (someone edited P2 meanwhile): nothing is applied.
    loaded.ledgers.update(
        "parks",
        parks[1],
        {"so2_cap": so2[1] + 1},
        version=rows[1]["version"],
        quarter="2026Q3",
        actor=TESTER,
    )
    write([f"{parks[0]},{rows[0]['version']},{egy[0]},{so2[0]}",
           f"{parks[1]},{rows[1]['version']},{egy[1]},{so2[1] + 10}"])  # fmt: skip
    with pytest.raises(Conflict) as stale:
        loaded.ledgers.update_file("parks", path, quarter="2026Q4", actor=CENTRE)
    assert [r["row"] for r in stale.value.details["stale"]] == [2]
    assert loaded.ledgers.row("parks", parks[0]) == rows[0]

    # A bad value is named by file, row and field; nothing is applied.
    current = loaded.ledgers.row("parks", parks[1])["version"]
    write(
        [
            f"{parks[0]},{rows[0]['version']},{egy[0]},-3",
            f"{parks[1]},{current},{egy[1]},{so2[1] + 10}",
        ]
    )
    with pytest.raises(LayerValidationError) as bad:
        loaded.ledgers.update_file("parks", path, quarter="2026Q4", actor=CENTRE)
    assert [(p.file, p.row, p.field) for p in bad.value.problems] == [(path.name, 1, "so2_cap")]
    assert loaded.ledgers.row("parks", parks[0]) == rows[0]

    write(
        [
            f"{parks[0]},{rows[0]['version']},{egy[0]},{so2[0]}",
            f"{parks[1]},{current},{egy[1]},{so2[1] + 10}",
        ]
    )
    assert loaded.ledgers.update_file("parks", path, quarter="2026Q4", actor=CENTRE) == 2
    now = {p: loaded.ledgers.row("parks", p)["values"] for p in parks}
    assert (now[parks[0]]["egy_total"], now[parks[1]]["so2_cap"]) == (egy[0], so2[1] + 10)
    assert loaded.ledgers.history("parks", parks[0])[-1]["quarter"] == "2026Q4"


def test_replacing_a_ledger_layer_keeps_old_versions_stale(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame]
) -> None:
    park_id = str(zone["parks"]["park_id"].iloc[0])
    old = loaded.ledgers.row("parks", park_id)
    loaded.features.write(PARKS, zone["parks"], replace=True, actor=TESTER)
    assert loaded.ledgers.row("parks", park_id)["version"] > old["version"]
    with pytest.raises(Conflict):
        loaded.ledgers.update(
            "parks",
            park_id,
            {"so2_cap": 3.0},
            version=old["version"],
            quarter="2026Q4",
            actor=CENTRE,
        )
    same = loaded.ledgers.row("parks", park_id)
    values = {"so2_cap": same["values"]["so2_cap"]}
    unchanged = loaded.ledgers.update(
        "parks",
        park_id,
        values,
        version=same["version"],
        quarter="2026Q4",
        actor=CENTRE,
    )
    assert unchanged == same and loaded.ledgers.history("parks", park_id) == []


def test_a_list_that_would_strand_a_reservation_is_not_published(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    from layers.io import write_layer_file
    from layers.stocklist import import_list

    site = _available(loaded)[0]
    held = loaded.reservations.reserve(
        layer="parcels", site_id=site, project="大恒 一期", needs=Needs(), actor=PLANNER
    )
    without = zone["parcels"][zone["parcels"]["parcel_id"] != site].assign(list_year=2027)
    path = tmp_path / "2027.gpkg"
    write_layer_file(without, PARCELS, path)
    staged = import_list(loaded, path, year=2027, actor=CENTRE).release
    assert staged is not None
    with pytest.raises(Conflict, match=site):
        loaded.releases.publish(staged.id, actor=CENTRE)
    loaded.reservations.release(held.id, actor=PLANNER)
    assert loaded.releases.publish(staged.id, actor=CENTRE).status == "published"


def test_a_reservation_past_its_last_day_holds_its_site_and_budgets_no_longer(
    loaded: Store,
) -> None:
    """Expiry is a release like a person's, audited as the expiry with the reason; it
    runs before reservations are listed or made and before the service reads the zone."""
    import datetime as dt

    from geo_service.zones import ZoneCache
    from layers.store.reservations import EXPIRY, today
    from layers.store.tables import reservations

    site = _available(loaded)[0]
    park_id = str(loaded.features.read(PARCELS).set_index("parcel_id").loc[site, "park_id"])
    before = _park(loaded, park_id)["egy_alloc"]
    with pytest.raises(InvalidInput, match="expiry"):
        loaded.reservations.reserve(
            layer="parcels", site_id=site, project="x", needs=Needs(), actor=PLANNER,
            expires_on=today() - dt.timedelta(days=1),
        )  # fmt: skip
    held = loaded.reservations.reserve(
        layer="parcels", site_id=site, project="大恒 一期", needs=Needs(energy_tce=50.0),
        actor=PLANNER, expires_on=today(),
    )  # fmt: skip
    assert held.expires_on == today() and held.as_dict()["expires_on"] == today().isoformat()
    assert loaded.reservations.expire() == []  # its last day is today: it still holds
    cache = ZoneCache(loaded)
    assert site not in set(_ids_with_status(cache.get().parcels, "available"))
    with loaded.engine.begin() as conn:  # the days pass
        conn.execute(
            reservations.update()
            .where(reservations.c.id == held.id)
            .values(expires_on=today() - dt.timedelta(days=1))
        )
    assert site in set(_ids_with_status(cache.get().parcels, "available"))  # the zone read
    (gone,) = [r for r in loaded.reservations.listing() if r.id == held.id]
    assert gone.status == "released" and gone.released_by == EXPIRY.name
    assert gone.release_reason is not None and "expired" in gone.release_reason
    assert _park(loaded, park_id)["egy_alloc"] == pytest.approx(before)
    (row,) = loaded.audit.rows(limit=1)
    assert row["action"] == "reservation.release" and row["actor"] == EXPIRY.name
    assert "expired" in str(row["after"])
    again = loaded.reservations.reserve(
        layer="parcels", site_id=site, project="另一个", needs=Needs(), actor=PLANNER
    )
    released = loaded.reservations.release(again.id, actor=PLANNER, reason="项目取消")
    assert released.release_reason == "项目取消"
    assert loaded.audit.rows(limit=1)[0]["after"]["reason"] == "项目取消"
