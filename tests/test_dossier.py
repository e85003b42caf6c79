"""The dossier of a match as a leader receives it: a PDF read back with poppler (text,
fonts, page size) and an Excel workbook read back with openpyxl; made from the API and
the CLI by a planner, refused to the public and the land bureau."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pytest
from fastapi.testclient import TestClient

from geo_service import auth
from layers.demo import generate_zone
from layers.store.store import Store
from layers.units import shown
from maps.dossier.meta import DossierMeta, is_synthetic
from maps.dossier.pdf import dossier_pdf
from maps.dossier.workbook import dossier_xlsx
from matching.engine import match
from matching.request import load_request
from matching.zone import Zone, build_zone
from tests.people import TESTER

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "requests"
HYDRAULIC = EXAMPLES / "hydraulic_cylinder_expansion.json"
META = DossierMeta(
    "招商部 李四", dt.datetime(2026, 12, 1, 2, 30, tzinfo=dt.UTC), synthetic=True, match_id="m-7"
)


def poppler(tool: str, *args: str) -> str:
    """The output of a poppler-utils tool (scripts/test.sh installs them)."""
    assert shutil.which(tool), f"{tool} is missing: apt-get install poppler-utils"
    return subprocess.run([tool, *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def zone() -> dict[str, gpd.GeoDataFrame]:
    return generate_zone()


@pytest.fixture(scope="module")
def built(zone: dict[str, gpd.GeoDataFrame]) -> Zone:
    return build_zone(zone)


@pytest.fixture(scope="module")
def result(built: Zone) -> dict[str, Any]:
    return match(load_request(HYDRAULIC), built, top_n=10).to_dict()


@pytest.fixture(scope="module")
def pdf(result: dict[str, Any], built: Zone, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dossier") / "dossier.pdf"
    path.write_bytes(dossier_pdf(result, built, META))
    return path


def test_the_pdf_says_what_a_leader_needs(pdf: Path, result: dict[str, Any]) -> None:
    text = poppler("pdftotext", "-layout", str(pdf), "-")
    assert result["request"]["name"] in text
    for heading in ("项目选址报告", "总览图", "推荐选址排名", "接入方案", "接近满足的候选",
                    "方法与权重", "标准地指标", "总量指标"):  # fmt: skip
        assert heading in text, heading
    for site in result["sites"][:3]:
        assert site["ids"][0] in text
    power = next(c for c in result["sites"][0]["checks"] if c["key"] == "power")
    assert shown(power["margin"], "MVA") in text  # e.g. 112.6 MVA, never 112.59999 MVA
    assert "synthetic demo data" in text and "招商部 李四" in text and "m-7" in text
    assert "2026-12-01 10:30 (北京时间)" in text
    # The maps' labels are text (searchable), in the embedded CJK font.
    assert "光伏新能源产业园（演示）" in text and "变电站 (substation)" in text


def test_the_pdf_is_a4_with_every_font_embedded(pdf: Path) -> None:
    info = poppler("pdfinfo", "-f", "1", "-l", "1", str(pdf))
    assert "595.276 x 841.89 pts (A4)" in info
    fonts = poppler("pdffonts", str(pdf)).splitlines()[2:]
    assert fonts, "the PDF names its fonts"
    for line in fonts:
        emb = line.split()[-5]  # columns: name type encoding emb sub uni object ID
        assert emb == "yes", line


def test_the_workbook_holds_the_same_match(result: dict[str, Any]) -> None:
    book = openpyxl.load_workbook(io.BytesIO(dossier_xlsx(result, META)))
    assert book.sheetnames == ["排名", "检查", "排除", "申请", "方法"]
    ranked = book["排名"]
    assert ranked.max_row == 1 + len(result["sites"]) and ranked.freeze_panes == "A2"
    header = [c.value for c in ranked[1]]
    assert "面积 (亩)" in header and "挂牌起始价 (listing price) (万元/亩)" in header
    area, score = header.index("面积 (亩)") + 1, header.index("得分 (0–1)") + 1
    for row, site in enumerate(result["sites"], start=2):
        assert ranked.cell(row, 2).value == "、".join(site["ids"])
        assert ranked.cell(row, area).value == round(site["size"], 2)
        assert isinstance(ranked.cell(row, score).value, float)
    checks = book["检查"]
    assert checks.max_row == 1 + sum(len(s["checks"]) for s in result["sites"])
    margins = [r[4] for r in checks.iter_rows(min_row=2, values_only=True) if r[4] is not None]
    assert margins and all(isinstance(m, int | float) for m in margins)
    assert all(round(m, 3) == m for m in margins)  # rounded to the unit's precision
    excluded = book["排除"]
    assert excluded.max_row == 1 + sum(len(e["reasons"]) for e in result["excluded"])
    request = {r[0]: r for r in book["申请"].iter_rows(min_row=2, values_only=True)}
    assert request["power_kva"][1:] == ("用电负荷", 12000, "kVA")
    method = [r[0] for r in book["方法"].iter_rows(min_row=2, values_only=True)]
    assert "评分项 · 距机场 (to airport)" in method


def test_the_demo_zone_is_marked_synthetic(built: Zone) -> None:
    assert is_synthetic(built)


def test_the_cli_writes_both(loaded: Store, store_url: str, tmp_path: Path) -> None:
    pdf, xlsx = tmp_path / "out.pdf", tmp_path / "out.xlsx"
    done = subprocess.run(
        [sys.executable, "-m", "geo_service", "match", str(HYDRAULIC), "--top", "3",
         "--db", store_url, "--pdf", str(pdf), "--xlsx", str(xlsx)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "推荐选址" in done.stdout and str(pdf) in done.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    assert openpyxl.load_workbook(xlsx)["排名"].max_row == 4


def test_the_api_answers_planners_only(client: TestClient, loaded: Store) -> None:
    body = json.loads(HYDRAULIC.read_text(encoding="utf-8"))
    bureau = auth.create_key(loaded, name="土地局", role="land_bureau", actor=TESTER)[1]
    planner = auth.create_key(loaded, name="招商部 王五", role="planner", actor=TESTER)[1]
    for kind in ("pdf", "xlsx"):
        assert client.post(f"/match.{kind}", json=body).status_code == 401
        refused = client.post(f"/match.{kind}", json=body, headers={"X-API-Key": bureau})
        assert refused.status_code == 403
    headers = {"X-API-Key": planner}
    answer = client.post("/match.pdf?top=2", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''%E6%B6%B2%E5%8E%8B" in answer.headers["content-disposition"]
    assert answer.content.startswith(b"%PDF")
    sheet = client.post("/match.xlsx?top=2", json=body, headers=headers)
    assert sheet.status_code == 200 and sheet.headers["content-type"].endswith(".sheet")
    ranked = openpyxl.load_workbook(io.BytesIO(sheet.content))["排名"]
    assert ranked.max_row == 3
    method = {r[0]: r[1] for r in openpyxl.load_workbook(io.BytesIO(sheet.content))["方法"]
              .iter_rows(min_row=2, values_only=True)}  # fmt: skip
    assert method["编制人 (author)"] == "招商部 王五"
    assert method["数据 (data)"] == "合成演示数据 (synthetic demo data)"


def test_a_small_margin_is_not_printed_as_zero() -> None:
    """A check met by 0.04 MVA said "0.0 MVA" at the unit's one decimal."""
    from maps.dossier.view import check_groups

    check = {"key": "power", "ok": True, "margin": 0.04, "unit": "MVA", "detail": ""}
    ((_, (row,)),) = check_groups({"checks": [check]})
    assert row["margin_shown"] == "0.04 MVA"
