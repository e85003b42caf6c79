"""Saved matches on both stores: kept as answered, searched, reopened byte for byte after
the data changed, run again with what changed and why; the API and the command line."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from geo_service import auth
from geo_service.schemas import RerunAnswer, SavedMatchAnswer, SavedMatches
from layers.demo import generate_zone
from layers.errors import NotFound
from layers.store.audit import Actor
from layers.store.matches import DataChanges
from layers.store.reservations import Needs
from layers.store.store import Store
from layers.store.tables import saved_matches
from matching.compare import compare
from tests.people import TESTER

PLANNER = Actor("招商部 赵六", "planner")
BUREAU = Actor("国土局 王五", "land_bureau")
REQUEST = json.loads(
    (Path(__file__).resolve().parents[1] / "examples/requests/daheng_crystal_pulling.json")
    .read_text(encoding="utf-8")
)  # fmt: skip


@pytest.fixture(scope="module")
def zone() -> dict[str, gpd.GeoDataFrame]:
    return generate_zone(parcels=60)


def _save(
    store: Store, project: str, *, actor: Actor = PLANNER, investor: str | None = None
) -> Any:
    result = json.dumps({"layer": "parcels", "sites": [], "note": "原样 1.0"}, ensure_ascii=False)
    return store.matches.save(
        {"name": project}, result, actor=actor, versions={"parcels": 1}, top=10,
        excluded_limit=100, investor=investor,
    )  # fmt: skip


def test_a_saved_match_is_kept_as_given_and_searched(store: Store) -> None:
    first = _save(store, "大恒 拉晶", investor="大恒集团")
    _save(store, "清洁机器人 100%", actor=BUREAU)
    back = store.matches.get(first.id)
    assert back.result_json == first.result_json and "原样 1.0" in back.result_json
    assert back.created_at.tzinfo is not None and back.actor == PLANNER.name
    assert back.versions == {"layers": {"parcels": 1}, "release": None}
    assert back.request == {"name": "大恒 拉晶"} and back.top == 10

    def ids(**search: Any) -> list[str]:
        return [e.project for e in store.matches.listing(**search).entries]

    assert ids() == ["清洁机器人 100%", "大恒 拉晶"]  # newest first
    assert ids(q="拉晶") == ["大恒 拉晶"]
    assert ids(q="100%") == ["清洁机器人 100%"] and ids(q="%") == ["清洁机器人 100%"]
    assert ids(investor="大恒") == ["大恒 拉晶"]
    assert ids(person="王五") == ["清洁机器人 100%"]
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    assert len(ids(since=today, until=today)) == 2
    assert ids(until=today - dt.timedelta(days=1)) == []
    assert ids(since=today + dt.timedelta(days=1)) == []
    page = store.matches.listing(limit=1, offset=1)
    assert [e.project for e in page.entries] == ["大恒 拉晶"] and page.total == 2
    with pytest.raises(NotFound):
        store.matches.get("nope")


def test_saved_matches_are_never_altered_or_deleted(store: Store) -> None:
    saved = _save(store, "大恒")
    for statement in (
        saved_matches.update().values(project="改"),
        saved_matches.delete(),
    ):
        with (
            pytest.raises(sa.exc.DBAPIError, match="kept as they were"),
            store.engine.begin() as conn,
        ):
            conn.execute(statement.where(saved_matches.c.id == saved.id))
    assert store.matches.get(saved.id).project == "大恒"
    assert store.audit.rows(limit=1)[0]["action"] == "match.save"


def _site(ids: list[str], rank: int, park: str = "P1") -> dict[str, Any]:
    return {"ids": ids, "name": f"地块 {ids[0]}", "rank": rank, "park_id": park}


def test_the_comparison_says_what_moved_and_why() -> None:
    old = {"method": "topsis", "weights": {"a": 1}, "excluded": [],
           "sites": [_site(["A"], 1), _site(["B"], 2, "P2"), _site(["C"], 3)]}  # fmt: skip
    new = {"method": "topsis", "weights": {"a": 1},
           "sites": [_site(["B"], 1, "P2"), _site(["D"], 2), _site(["C"], 3)],
           "excluded": [{"id": "A", "reasons": [{"reason": "不在清单 (not listed)"}]}]}  # fmt: skip
    changes = DataChanges(
        "parcels", release_before=1, release_after=2, list_added=frozenset({"D"}),
        list_removed=frozenset({"A"}), ledger={("parks", "P2"): ("egy_total",)},
    )  # fmt: skip
    out = compare(old, new, changes)
    assert [(c.site, c.old_rank, c.new_rank) for c in out.gained] == [("D", None, 2)]
    assert [(c.site, c.old_rank, c.new_rank) for c in out.lost] == [("A", 1, None)]
    assert [(c.site, c.old_rank, c.new_rank) for c in out.moved] == [("B", 2, 1)]
    assert out.unchanged == 1
    assert [r.kind for r in out.gained[0].reasons] == ["list"]
    assert [r.kind for r in out.lost[0].reasons] == ["list", "excluded"]
    (ledger,) = out.moved[0].reasons
    assert ledger.kind == "ledger" and "P2" in ledger.text and "能耗" in ledger.text
    assert {f.kind for f in out.facts} == {"list", "ledger"}
    reweighted = compare(old, {**new, "weights": {"a": 2}}, changes)
    assert "method" in [r.kind for r in reweighted.moved[0].reasons]
    assert json.dumps(out.as_dict(), ensure_ascii=False)


@pytest.fixture
def keys(loaded: Store) -> dict[str, dict[str, str]]:
    made = {
        role: auth.create_key(loaded, name=f"{role} 某", role=role, actor=TESTER)[1]
        for role in ("planner", "land_bureau")
    }
    return {role: {"X-API-Key": key} for role, key in made.items()}


def _result_text(body: bytes) -> str:
    """The bytes of the answer's ``result``: the answer ends with it."""
    text = body.decode()
    start = text.index(',"result":') + len(',"result":')
    return text[start:-1]


def test_a_saved_match_reopens_exactly_as_it_was_after_the_data_changed(
    client: TestClient, loaded: Store, keys: dict[str, dict[str, str]]
) -> None:
    planner = keys["planner"]
    made = client.post("/matches?investor=大恒集团", json=REQUEST, headers=planner)
    assert made.status_code == 201, made.text
    answer = SavedMatchAnswer.model_validate(made.json())
    assert made.headers["location"] == answer.permalink and answer.permalink.endswith(answer.id)
    assert answer.actor == "planner 某" and answer.investor == "大恒集团"
    assert answer.versions.layers["parcels"] >= 1 and answer.result.sites
    saved = loaded.matches.get(answer.id)
    assert _result_text(made.content) == saved.result_json
    first = client.get(f"/matches/{answer.id}", headers=planner)
    assert first.status_code == 200 and _result_text(first.content) == saved.result_json

    top = answer.result.sites[0]
    loaded.reservations.reserve(layer="parcels", site_id=top["ids"][0], project="另一项目",
                                needs=Needs(), actor=PLANNER)  # fmt: skip
    park = answer.result.sites[-1]["park_id"].split("+")[0]
    row = loaded.ledgers.row("parks", park)
    loaded.ledgers.update("parks", park, {"egy_total": row["values"]["egy_total"] * 2},
                          version=row["version"], quarter="2026Q4", actor=BUREAU)  # fmt: skip

    again = client.get(f"/matches/{answer.id}", headers=planner)
    assert again.content == first.content
    now = client.post("/match", json=REQUEST, headers=planner).json()
    assert now["data_versions"] != answer.result.data_versions
    assert top["ids"] not in [s["ids"] for s in now["sites"]]

    rerun = client.post(f"/matches/{answer.id}/rerun", headers=planner)
    assert rerun.status_code == 201, rerun.text
    new = RerunAnswer.model_validate(rerun.json())
    assert new.rerun_of == answer.id and new.id != answer.id
    assert rerun.headers["location"] == new.permalink
    assert _result_text(rerun.content) == loaded.matches.get(new.id).result_json
    lost = {c.site: c for c in new.comparison.lost}
    gone = "+".join(top["ids"])
    assert gone in lost and lost[gone].old_rank == 1 and lost[gone].new_rank is None
    assert "reservation" in [r.kind for r in lost[gone].reasons]
    assert any(f.kind == "ledger" and park in f.text for f in new.comparison.facts)
    assert client.get(f"/matches/{answer.id}", headers=planner).content == first.content

    listed = SavedMatches.model_validate(
        client.get("/matches", params={"q": REQUEST["name"][:2]}, headers=planner).json()
    )
    assert [m.id for m in listed.matches] == [new.id, answer.id] and listed.total == 2
    assert client.get("/matches", params={"investor": "无此"}, headers=planner).json()["total"] == 0


def test_only_planners_and_admins_save_or_read_matches(
    client: TestClient, loaded: Store, keys: dict[str, dict[str, str]]
) -> None:
    saved = _save(loaded, "大恒")
    assert client.get(f"/matches/{saved.id}").status_code == 401
    assert client.get(f"/matches/{saved.id}", headers=keys["land_bureau"]).status_code == 403
    assert client.post("/matches", json=REQUEST, headers=keys["land_bureau"]).status_code == 403
    missing = client.get("/matches/nope", headers=keys["planner"])
    assert missing.status_code == 404 and missing.json()["code"]


def test_the_command_line_saves_lists_and_shows_matches(
    loaded: Store, cli: Callable[..., Any], tmp_path: Path
) -> None:
    db = loaded.engine.url.render_as_string(hide_password=False)
    request = tmp_path / "request.json"
    request.write_text(json.dumps(REQUEST, ensure_ascii=False), encoding="utf-8")
    ran = cli("match", str(request), "--db", db, "--save", "--investor", "大恒集团",
              "--format", "json")  # fmt: skip
    assert ran.exit_code == 0, ran.output
    (entry,) = loaded.matches.listing().entries
    assert entry.investor == "大恒集团" and entry.role == "cli"
    assert json.loads(ran.stdout)["sites"] == loaded.matches.get(entry.id).result["sites"]
    listed = cli("matches", "list", "--db", db, "--q", REQUEST["name"][:2])
    assert listed.exit_code == 0 and entry.id in listed.stdout
    shown = cli("matches", "show", entry.id, "--db", db)
    assert shown.exit_code == 0 and REQUEST["name"] in shown.stdout
    assert cli("matches", "show", "nope", "--db", db).exit_code == 2


def test_the_changes_between_two_saved_matches_name_a_new_list(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    from layers.catalog import PARCELS
    from layers.io import write_layer_file
    from layers.stocklist import import_list

    before = _save(loaded, "大恒")
    parcels = zone["parcels"].assign(list_year=2027)
    dropped, renamed = str(parcels["parcel_id"].iloc[0]), str(parcels["parcel_id"].iloc[1])
    parcels = parcels.iloc[1:].copy()
    parcels.loc[parcels.index[0], "name"] = "改名地块"
    path = tmp_path / "清单2027.gpkg"
    write_layer_file(parcels, PARCELS, path)
    staged = import_list(loaded, path, year=2027, actor=TESTER, name=path.name)
    assert staged.release is not None, staged.report.problems
    loaded.releases.publish(staged.release.id, actor=BUREAU)
    after = _save(loaded, "大恒")
    changes = loaded.matches.changes(before, after)
    assert (changes.release_before, changes.release_after) == (
        before.versions["release"],
        staged.release.id,
    )
    assert changes.list_removed == {dropped} and changes.list_added == set()
    assert "name" in changes.list_changed[renamed]
    assert changes.reserved == {} and changes.ledger == {}


def test_a_match_id_never_starts_like_a_command_line_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`matches show -Ab3…` failed as a usage error (exit 2) for ids drawn with a "-"."""
    from layers.store import matches

    drawn = iter(["-Ab3dEf9Qk", "Zx8_u7Lp2c"])
    monkeypatch.setattr(matches.secrets, "token_urlsafe", lambda _n: next(drawn))
    assert matches.match_id() == "Zx8_u7Lp2c"
