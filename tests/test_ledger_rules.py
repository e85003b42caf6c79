"""Every path that changes a ledger obeys the same rules (R31, R32, R37, R33's ledger file):
a reserved site cannot move park, a park must exist, what is allocated stays within the
total unless a reason is given, values are never coerced, a bad file is refused before
any lock is taken and with a bounded report — by hand, by file, over HTTP and the CLI."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.demo import generate_zone
from layers.errors import Conflict, InvalidInput, LayerValidationError
from layers.store import ledgers
from layers.store.audit import Actor
from layers.store.reservations import Needs
from layers.store.store import Store
from layers.store.tables import layer_versions
from tests.people import TESTER

PLANNER = Actor("招商部 赵六", "planner")
CENTRE = Actor("园区服务中心 钱七", "land_bureau")


@pytest.fixture(scope="module")
def zone() -> dict[str, gpd.GeoDataFrame]:
    return generate_zone(parcels=40)


def _idle_factory(store: Store) -> dict[str, Any]:
    factories = store.features.read(ledgers.LAYERS["factories"])
    site = str(factories.loc[factories["status"] == "idle", "factory_id"].iloc[0])
    return store.ledgers.row("factories", site)


def _other_park(store: Store, park: str) -> str:
    parks = sorted(store.features.read(ledgers.LAYERS["parks"])["park_id"].astype(str))
    return next(p for p in parks if p != park)


def _csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


# -- R32: the reservation rules hold for ledger edits --------------------------------
def test_a_reserved_factory_cannot_move_park_by_hand_or_by_file(
    loaded: Store, tmp_path: Path
) -> None:
    row = _idle_factory(loaded)
    site, home = row["id"], row["values"]["park_id"]
    held = loaded.reservations.reserve(
        layer="factories", site_id=site, project="精工 二期", needs=Needs(), actor=PLANNER
    )
    other = _other_park(loaded, home)
    with pytest.raises(Conflict, match=site) as by_hand:
        loaded.ledgers.update(
            "factories",
            site,
            {"park_id": other},
            version=row["version"],
            quarter="2026Q4",
            actor=CENTRE,
        )
    assert str(held.id) in by_hand.value.message
    path = _csv(tmp_path / "厂房台账.csv", "factory_id,version,park_id",
                [f"{site},{row['version']},{other}"])  # fmt: skip
    with pytest.raises(Conflict, match=site):
        loaded.ledgers.update_file("factories", path, quarter="2026Q4", actor=CENTRE)
    assert loaded.ledgers.row("factories", site) == row


def test_a_park_that_does_not_exist_is_refused(loaded: Store, tmp_path: Path) -> None:
    row = _idle_factory(loaded)
    site = row["id"]
    with pytest.raises(Conflict, match="P99"):
        loaded.ledgers.update(
            "factories",
            site,
            {"park_id": "P99"},
            version=row["version"],
            quarter="2026Q4",
            actor=CENTRE,
        )
    path = _csv(tmp_path / "厂房台账.csv", "factory_id,version,park_id",
                [f"{site},{row['version']},P99"])  # fmt: skip
    with pytest.raises(Conflict, match="P99"):
        loaded.ledgers.update_file("factories", path, quarter="2026Q4", actor=CENTRE)
    # The factory can still be reserved: it did not silently drop out of its park.
    assert (
        loaded.reservations.reserve(
            layer="factories", site_id=site, project="精工 二期", needs=Needs(), actor=PLANNER
        ).park_id
        == row["values"]["park_id"]
    )


def test_a_total_below_what_is_allocated_needs_a_reason(loaded: Store) -> None:
    parks = loaded.features.read(ledgers.LAYERS["parks"])
    park_id = str(parks.loc[parks["egy_alloc"].notna(), "park_id"].iloc[0])
    row = loaded.ledgers.row("parks", park_id)
    allocated = row["values"]["egy_alloc"]
    too_low = {"egy_total": round(allocated / 2, 1)}  # the README's example did this
    with pytest.raises(Conflict) as refused:
        loaded.ledgers.update(
            "parks", park_id, too_low, version=row["version"], quarter="2026Q4", actor=CENTRE
        )
    assert "能耗指标" in refused.value.message and "override" in refused.value.message
    assert refused.value.details["budget"] == f"{park_id}.egy"
    assert refused.value.details["left"] < 0
    assert loaded.ledgers.row("parks", park_id) == row

    reason = "省里核减能耗指标 (the province cut the quota)"
    done = loaded.ledgers.update(
        "parks",
        park_id,
        too_low,
        version=row["version"],
        quarter="2026Q4",
        actor=CENTRE,
        override=reason,
    )
    assert done["values"]["egy_total"] == too_low["egy_total"]
    audit = loaded.audit.rows(limit=1)[0]
    assert audit["action"] == "ledger.update" and audit["after"]["override"] == reason

    # A reservation drawing on the overdrawn budget is refused, naming it.
    site = next(iter(_parcels_of(loaded, park_id)))
    with pytest.raises(Conflict, match="能耗指标"):
        loaded.reservations.reserve(
            layer="parcels",
            site_id=site,
            project="大恒 一期",
            needs=Needs(energy_tce=1.0),
            actor=PLANNER,
        )


def _parcels_of(store: Store, park_id: str) -> list[str]:
    parcels = store.features.read(ledgers.LAYERS["parcels"])
    rows = parcels[(parcels["park_id"] == park_id) & (parcels["status"] == "available")]
    return list(rows["parcel_id"])


def test_an_edit_stamps_the_row_with_its_quarter(loaded: Store) -> None:
    park_id = str(loaded.features.read(ledgers.LAYERS["parks"])["park_id"].iloc[0])
    row = loaded.ledgers.row("parks", park_id)
    assert row["values"]["ledger_q"] != "2027Q1"
    done = loaded.ledgers.update(
        "parks",
        park_id,
        {"egy_total": row["values"]["egy_total"] + 1},
        version=row["version"],
        quarter="2027Q1",
        actor=CENTRE,
    )
    assert done["values"]["ledger_q"] == "2027Q1"
    # The quarter is the edit's: it cannot be typed apart from it.
    with pytest.raises(InvalidInput, match="ledger_q"):
        loaded.ledgers.update(
            "parks",
            park_id,
            {"ledger_q": "1999Q1"},
            version=done["version"],
            quarter="2027Q2",
            actor=CENTRE,
        )


# -- R37: nothing coerced; reports count what changed ---------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("egy_total", True),
        ("egy_total", float("nan")),
        ("egy_total", {"value": 1}),
        ("egy_total", [1]),
        ("egy_total", "208000"),
        ("name", {"zh": "园区"}),
        ("name", 12),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_the_field(
    loaded: Store, field: str, value: object
) -> None:
    park_id = str(loaded.features.read(ledgers.LAYERS["parks"])["park_id"].iloc[0])
    row = loaded.ledgers.row("parks", park_id)
    with pytest.raises(LayerValidationError) as refused:
        loaded.ledgers.update(
            "parks", park_id, {field: value}, version=row["version"], quarter="2026Q4", actor=CENTRE
        )
    assert [p.field for p in refused.value.problems] == [field]
    assert loaded.ledgers.row("parks", park_id) == row


def test_a_file_counts_the_rows_it_changed_and_refuses_a_repeated_id(
    loaded: Store, tmp_path: Path
) -> None:
    parks = sorted(loaded.features.read(ledgers.LAYERS["parks"])["park_id"].astype(str))[:2]
    rows = [loaded.ledgers.row("parks", p) for p in parks]
    same = rows[0]["values"]["egy_total"]
    more = rows[1]["values"]["egy_total"] + 100
    path = _csv(tmp_path / "园区台账.csv", "park_id,version,egy_total",
                [f"{parks[0]},{rows[0]['version']},{same}",
                 f"{parks[1]},{rows[1]['version']},{more}"])  # fmt: skip
    assert loaded.ledgers.update_file("parks", path, quarter="2026Q4", actor=CENTRE) == 1

    twice = _csv(
        tmp_path / "重复.csv",
        "park_id,version,egy_total",
        [
            f"{parks[0]},{rows[0]['version']},{same + 1}",
            f"{parks[0]},{rows[0]['version']},{same + 2}",
        ],
    )
    with pytest.raises(LayerValidationError) as refused:
        loaded.ledgers.update_file("parks", twice, quarter="2026Q4", actor=CENTRE)
    assert [(p.row, p.field) for p in refused.value.problems] == [(2, "park_id")]
    assert "1" in refused.value.problems[0].message


def test_a_header_only_ledger_file_is_refused_and_changes_no_version(
    loaded: Store, tmp_path: Path
) -> None:
    before = loaded.features.versions()
    path = _csv(tmp_path / "空.csv", "park_id,version,egy_total", [])
    with pytest.raises(InvalidInput, match=r"空\.csv"):
        loaded.ledgers.update_file("parks", path, quarter="2026Q4", actor=CENTRE)
    assert loaded.features.versions() == before


# -- R31: checked before any lock; a bounded report -----------------------------------
@pytest.fixture
def layer_locked(loaded: Store) -> Iterator[None]:
    """Another session holding the factories layer's lock (as a long change would)."""
    if not loaded.is_postgis:
        other = sqlite3.connect(str(loaded.engine.url.database), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the embedded store's one write lock
        yield
        other.rollback()
        other.close()
        return
    with loaded.engine.connect() as conn, conn.begin():
        conn.execute(
            sa.select(layer_versions).where(layer_versions.c.layer == "factories").with_for_update()
        ).all()
        yield


def test_a_large_bad_file_is_refused_without_waiting_for_a_lock(
    loaded: Store, tmp_path: Path, layer_locked: None
) -> None:
    n = 100_000
    path = _csv(tmp_path / "厂房台账 2026Q4.csv", "factory_id,version,status",
                [f"X{i:06d},1,idle" for i in range(n)])  # fmt: skip
    outcome: list[BaseException] = []

    def apply() -> None:
        try:
            loaded.ledgers.update_file("factories", path, quarter="2026Q4", actor=CENTRE)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=apply)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the file's check waited for the lock another change holds"
    (error,) = outcome
    assert isinstance(error, LayerValidationError), error
    details = error.details
    assert details["problem_count"] == n and len(details["problems"]) == 200
    assert sum(details["problem_kinds"].values()) == n
    assert details["problems"][0]["file"] == path.name and details["problems"][0]["row"] == 1
    assert len(json.dumps(details, ensure_ascii=False).encode()) < 100_000


# -- over HTTP -----------------------------------------------------------------------
def test_ledger_rules_over_http(loaded: Store, settings: Settings, tmp_path: Path) -> None:
    bureau = {"X-API-Key": auth.create_key(loaded, name="国土局 王五", role="land_bureau",
                                           actor=TESTER)[1]}  # fmt: skip
    parks = loaded.features.read(ledgers.LAYERS["parks"])
    park_id = str(parks.loc[parks["egy_alloc"].notna(), "park_id"].iloc[0])
    row = loaded.ledgers.row("parks", park_id)
    edit = {"version": row["version"], "quarter": "2026Q4"}
    with TestClient(create_app(settings)) as client:
        url = f"/ledgers/parks/{park_id}"
        for values in ({"egy_total": True}, {"name": {"a": 1}}):
            bad = client.patch(url, json={**edit, "values": values}, headers=bureau)
            assert bad.status_code == 422, bad.text
            assert bad.json()["details"]["problems"][0]["field"] == next(iter(values))
        for version in (True, float(row["version"])):  # no version, though they equal one
            typed = {**edit, "version": version, "values": {"egy_total": 1.0e6}}
            assert client.patch(url, json=typed, headers=bureau).status_code == 400
        nan = client.patch(
            url,
            content=f'{{"version": {row["version"]}, "quarter": "2026Q4", '
            '"values": {"egy_total": NaN}}',
            headers={**bureau, "Content-Type": "application/json"},
        )
        assert nan.status_code in (400, 422), nan.text
        low = {**edit, "values": {"egy_total": row["values"]["egy_alloc"] / 2}}
        refused = client.patch(url, json=low, headers=bureau)
        assert refused.status_code == 409 and "override" in refused.json()["message"]
        kept = client.patch(url, json={**low, "override": "省里核减指标"}, headers=bureau)
        assert kept.status_code == 200, kept.text

        header_only = {"file": ("台账.csv", b"park_id,version,egy_total\n", "text/csv")}
        empty = client.post("/ledgers/parks?quarter=2026Q4", files=header_only, headers=bureau)
        assert empty.status_code in (400, 422) and "台账.csv" in empty.json()["message"]
        broken = {"file": ("台账.xlsx", b"PK\x03\x04 not really a workbook", "application/zip")}
        named = client.post("/ledgers/parks?quarter=2026Q4", files=broken, headers=bureau)
        assert named.status_code in (400, 422) and "台账.xlsx" in named.json()["message"]
