"""R36 on both stores: ids and public text that look the same are the same, and invisible
characters are refused naming file, row, id and field — through a stock-list import, a
ledger file, a ledger edit over HTTP and on the command line.

The defect: a zero-width space, an RTL override, full-width letters, spaces or a no-break
space in a parcel id passed a stock-list import, and the diff then showed "removed
JZ2026-001, added JZ2026-001".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import Result

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import PARCELS
from layers.io import write_layer_file
from layers.stocklist import Imported, import_list
from layers.store.audit import Actor
from layers.store.store import Store
from tests.people import TESTER

BUREAU = Actor("国土局 李四", "land_bureau")
INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200c",
    "\u200d",
    "\u200e",  # left-to-right mark
    "\u200f",
    "\u202a",
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u2069",
    "\ufeff",  # BOM inside text
    "\u00ad",  # soft hyphen
    "\u2060",  # word joiner
    "\u3164",  # Hangul filler
    "\ufe0f",  # variation selector
    "\x07",
    "\u2028",  # line separator
]
# Characters that change how an id is written but not what it is.
LOOK_ALIKE_SPACES = [" ", "\u00a0", "\u2009", "\u3000", "\u202f"]


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=30)


def _next_year(zone: dict[str, gpd.GeoDataFrame], tmp_path: Path, **cells: str) -> Path:
    """The 2027 list with ``cells`` ({"parcel_id:3": value, …}) set, as GeoJSON."""
    frame = zone["parcels"].assign(list_year=2027)
    for key, value in cells.items():
        field, row = key.split(":")
        frame.loc[int(row), field] = value
    path = tmp_path / "清单2027.geojson"
    write_layer_file(frame, PARCELS, path)
    return path


def _import(store: Store, path: Path) -> Imported:
    return import_list(store, path, year=2027, actor=BUREAU, name="清单2027.geojson")


@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("field", ["parcel_id", "name", "park_id"])
def test_an_invisible_character_is_refused_naming_file_row_id_and_field(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path, char: str, field: str
) -> None:
    value = str(zone["parcels"].loc[3, field])
    path = _next_year(zone, tmp_path, **{f"{field}:3": value[:4] + char + value[4:]})
    result = _import(loaded, path)
    assert result.release is None
    mine = [p for p in result.report.problems if p.field == field]
    # (A park id is also named as a park that does not exist.)
    assert mine and {p.row for p in mine} == {4}, result.report.summary()
    assert mine[0].row == 4 and mine[0].file == "清单2027.geojson"
    assert f"U+{ord(char):04X}" in mine[0].message
    # The id the problem names is readable and shows where the character is.
    assert mine[0].feature_id is not None and "JZ2026-004"[:4] in mine[0].feature_id


@pytest.mark.parametrize(
    "spelling",
    ["JZ2026-004 ", " JZ2026-004", "JZ2026-004\u00a0", "ＪＺ２０２６－００４", "JZ2026\uff0d004"],
)
def test_a_look_alike_id_is_the_same_id_in_the_diff(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path, spelling: str
) -> None:
    result = _import(loaded, _next_year(zone, tmp_path, **{"parcel_id:3": spelling}))
    assert result.diff is not None, result.report.summary()
    assert result.diff.added == [] and result.diff.removed == []
    staged = loaded.features.read(PARCELS, release=result.release.id if result.release else None)
    assert "JZ2026-004" in set(staged["parcel_id"])


@pytest.mark.parametrize(
    ("spelling", "culprit"),
    [
        ("\u0408Z2026-004", "U+0408"),  # Cyrillic Je for J
        ("JZ2026-\u041e\u041e4", "U+041E"),  # Cyrillic O for the zeros
        ("J\u03962026-004", "U+0396"),  # Greek Zeta for Z
        ("JZ2026-004\u0301", "U+0301"),  # a combining acute on the last digit
        ("JZ2026-\u0660\u0660\u0664", "U+0660"),  # Arabic-Indic digits
        ("JZ2026\u2212004", "U+2212"),  # minus sign
        ("JZ2026\u2011004", "U+2010"),  # non-breaking hyphen (NFKC: U+2010 hyphen)
        ("JZ2026\u2013004", "U+2013"),  # en dash
        ("JZ2026\u202f004", "U+0020"),  # narrow no-break space (NFKC: a space)
    ],
)
def test_an_id_in_another_script_or_with_another_dash_is_refused(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path, spelling: str, culprit: str
) -> None:
    """Look-alikes NFKC leaves apart (found by an outside probe): refused naming the
    character, never staged as "removed JZ2026-004, added J…"."""
    result = _import(loaded, _next_year(zone, tmp_path, **{"parcel_id:3": spelling}))
    assert result.release is None
    (problem,) = [p for p in result.report.problems if p.field == "parcel_id"]
    assert problem.row == 4 and culprit in problem.message


def test_names_are_trimmed_and_keep_their_full_width_punctuation(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    name = "\u00a0晋中（开发区）\u2009一号地 "
    result = _import(loaded, _next_year(zone, tmp_path, **{"name:3": name}))
    assert result.release is not None, result.report.summary()
    staged = loaded.features.read(PARCELS, release=result.release.id)
    assert staged.loc[staged["parcel_id"] == "JZ2026-004", "name"].item() == "晋中（开发区） 一号地"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    row=st.integers(0, 29),
    field=st.sampled_from(["parcel_id", "name", "park_id"]),
    char=st.sampled_from(INVISIBLE + LOOK_ALIKE_SPACES + ["full-width"]),
    where=st.sampled_from(["start", "middle", "end"]),
)
def test_any_insertion_is_refused_naming_row_and_field_or_is_the_same_id(
    loaded: Store,
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path_factory: pytest.TempPathFactory,
    row: int,
    field: str,
    char: str,
    where: str,
) -> None:
    value = str(zone["parcels"].loc[row, field])
    if char == "full-width":
        # NFKC's own inverse for ASCII: the look-alike every Chinese keyboard types.
        spelled = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value)
    else:
        if char in LOOK_ALIKE_SPACES and where == "middle":
            where = "end"  # a space inside an id is visible: another id, rightly
        at = {"start": 0, "middle": len(value) // 2, "end": len(value)}[where]
        spelled = value[:at] + char + value[at:]
    path = _next_year(zone, tmp_path_factory.mktemp("h"), **{f"{field}:{row}": spelled})
    result = _import(loaded, path)
    if result.release is None:
        assert char in INVISIBLE, result.report.summary()
        assert {(p.row, p.field) for p in result.report.problems} == {(row + 1, field)}
        return
    try:
        assert char not in INVISIBLE
        assert result.diff is not None and not result.diff.added and not result.diff.removed
        staged = loaded.features.read(PARCELS, release=result.release.id)
        if field != "name" or char != "full-width":  # names keep full-width as written
            assert value in set(staged[field])
    finally:
        loaded.releases.discard(result.release.id, actor=BUREAU)


def test_ledger_ids_are_found_in_any_spelling_and_refused_with_invisible_characters(
    loaded: Store, settings: Settings, store_url: str, cli: Callable[..., Result]
) -> None:
    bureau = {"X-API-Key": auth.create_key(loaded, name="国土局 王五", role="land_bureau",
                                           actor=TESTER)[1]}  # fmt: skip
    with TestClient(create_app(settings)) as client:
        row = client.get("/ledgers/parks/P01%20", headers=bureau)
        assert row.status_code == 200 and row.json()["id"] == "P01"
        wide = client.get("/ledgers/parks/Ｐ０１", headers=bureau)
        assert wide.status_code == 200 and wide.json()["id"] == "P01"
        hidden = client.get("/ledgers/parks/P01%E2%80%8B", headers=bureau)
        assert hidden.status_code == 400 and "U+200B" in hidden.text
        version = row.json()["version"]
        edit = {"version": version, "quarter": "2026Q4", "values": {"so2_cap": 50000.0}}
        done = client.patch("/ledgers/parks/%20P01%C2%A0", json=edit, headers=bureau)
        assert done.status_code == 200 and done.json()["version"] == version + 1
        # A ledger file naming the park with a trailing space or full-width: one park.
        table = f"park_id,version,so2_cap\nＰ０１ ,{version + 1},50001\n".encode()
        ok = client.post("/ledgers/parks?quarter=2026Q4", headers=bureau,
                         files={"file": ("台账.csv", table, "text/csv")})  # fmt: skip
        assert ok.status_code == 200, ok.text
        bad = f"park_id,version,so2_cap\nP0\u200b1,{version + 2},50002\n".encode()
        refused = client.post("/ledgers/parks?quarter=2026Q4", headers=bureau,
                              files={"file": ("台账.csv", bad, "text/csv")})  # fmt: skip
        assert refused.status_code == 422
        (problem,) = refused.json()["details"]["problems"]
        assert problem["row"] == 1 and problem["field"] == "park_id"
        assert "U+200B" in problem["message"] and problem["feature_id"] == "P0<U+200B>1"
        planner = {"X-API-Key": auth.create_key(loaded, name="招商部 赵六", role="planner",
                                                actor=TESTER)[1]}  # fmt: skip
        body = {"layer": "parcels", "site_id": "JZ2026-001", "project": "大恒\u202e 一期"}
        hidden_name = client.post("/reservations", json=body, headers=planner)
        assert hidden_name.status_code == 400 and "U+202E" in hidden_name.text
    show = ["ledger", "show", "parks", "--db", store_url]
    shown = cli(*show, "P01 ")
    assert shown.exit_code == 0 and '"id": "P01"' in shown.stdout, shown.output
    hidden_cli = cli(*show, "P01\u200b")
    assert hidden_cli.exit_code == 2 and "U+200B" in hidden_cli.stderr
