"""The dossier as an Excel workbook (openpyxl): the same match as the PDF, as tables a
planner can sort and sum. Chinese headers with the unit in the header, numbers stored
as numbers (rounded to their unit's precision), the header row frozen.

Sheets: 排名 (ranked sites), 检查 (every check of every site, with its margin), 排除
(excluded sites with every reason), 申请 (the request), 方法 (method, weights, versions).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from layers.units import rounded
from maps.dossier.meta import DossierMeta
from maps.dossier.view import METHOD_TEXT, METHOD_ZH, UTILITY_ZH, criteria_rows, request_rows

HEADER_FILL = PatternFill("solid", fgColor="F1E6DC")
Cell = str | int | float | None


def _sheet(
    book: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]
) -> None:
    sheet: Worksheet = book.create_sheet(title)
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        sheet.append(list(row))
    sheet.freeze_panes = "A2"
    for k, title_ in enumerate(header, start=1):
        values = [str(c.value) for c in sheet[get_column_letter(k)][1:200] if c.value is not None]
        widest = max([_width(title_) / 1.6, *map(_width, values)], default=8)
        sheet.column_dimensions[get_column_letter(k)].width = min(max(widest + 2, 8), 60)


def _width(text: str) -> float:
    """Characters a column needs for ``text``: CJK characters are two wide."""
    return float(sum(2 if ord(ch) > 0x2E80 else 1 for ch in text))


def _ranked(result: dict[str, Any]) -> tuple[list[str], list[list[Cell]]]:
    criteria = result["criteria"]
    size_unit = result["sites"][0]["size_unit"] if result["sites"] else ""
    header = ["名次", "选址编号", "名称", "园区", f"面积 ({size_unit})", "得分 (0–1)",
              "名次区间·最好", "名次区间·最差", "需增容/新建"]  # fmt: skip
    header += [f"{c['name']}" + (f" ({c['unit']})" if c["unit"] else "") for c in criteria]
    rows = []
    for s in result["sites"]:
        upgrades = "、".join(UTILITY_ZH.get(c["utility"], c["utility"])
                             for c in s["connections"] if c["upgrade_needed"])  # fmt: skip
        row: list[Cell] = [s["rank"], "、".join(s["ids"]), s["name"], s["park_id"],
                           rounded(s["size"], size_unit), rounded(s["score"], ""),
                           s["rank_range"][0], s["rank_range"][1], upgrades]  # fmt: skip
        row += [rounded(s["criteria"].get(c["key"]), c["unit"]) for c in criteria]
        rows.append(row)
    return header, rows


def _checks(result: dict[str, Any]) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for s in result["sites"]:
        for c in s["checks"]:
            state = "满足" if c["ok"] else "不满足"
            margin = rounded(c["margin"], c["unit"])
            rows.append([s["rank"], "、".join(s["ids"]), c["name"], state, margin, c["unit"],
                         c["detail"]])  # fmt: skip
    return rows


def _excluded(result: dict[str, Any]) -> list[list[Cell]]:
    return [
        [e["id"], r["name"], r["reason"]] for e in result.get("excluded", []) for r in e["reasons"]
    ]


def _method(result: dict[str, Any], meta: DossierMeta) -> list[list[Cell]]:
    rows: list[list[Cell]] = [
        ["项目 (project)", result["request"]["name"], None, None],
        ["编制人 (author)", meta.author, None, None],
        ["编制时间 (created)", meta.created_local, None, None],
        ["数据基准日 (as of)", result["as_of"], None, None],
        ["评分方法 (method)", METHOD_ZH.get(result["method"], result["method"]), None, METHOD_TEXT],
    ]
    if meta.match_id:
        rows.append(["匹配记录 (saved match)", meta.match_id, None, None])
    if meta.synthetic:
        rows.append(["数据 (data)", "合成演示数据 (synthetic demo data)", None, None])
    rows += [[f"数据版本 · {k}", v, None, None] for k, v in result["data_versions"].items()]
    rows += [
        [
            f"评分项 · {c['name']}",
            "计分" if c["in_play"] else "不计分",
            c["weight"],
            "; ".join(filter(None, (c["why"], c["rule"]))),
        ]
        for c in criteria_rows(result)
    ]
    return rows


def dossier_xlsx(result: dict[str, Any], meta: DossierMeta) -> bytes:
    """The workbook of a match (``result``: :meth:`~matching.results.MatchResult.to_dict`
    or a saved copy of it) as XLSX bytes."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]  # a new workbook's blank sheet
    header, rows = _ranked(result)
    _sheet(book, "排名", header, rows)
    _sheet(book, "检查", ["名次", "选址编号", "检查项", "结果", "余量 (单位见右)", "单位", "说明"],
           _checks(result))  # fmt: skip
    _sheet(book, "排除", ["选址编号", "约束", "原因"], _excluded(result))
    _sheet(book, "申请", ["字段", "名称", "值", "单位"], request_rows(result["request"]))
    _sheet(book, "方法", ["项目", "值", "权重 (0–1, 合计 1)", "说明"], _method(result, meta))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
