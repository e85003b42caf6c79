"""Layers written as CSV or XLSX: the layer's fields in spec order, then ``wkt``.

Text that a spreadsheet would run as a formula is neutralised
(:func:`layers.sheet_cells.neutralise`), so that reading the file back gives the same
values.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import shapely

from layers.errors import InvalidInput, LayerValidationError, Problem
from layers.frames import GEOMETRY, derive
from layers.schema import FieldSpec, LayerSpec
from layers.sheet_cells import TABLE_SUFFIXES, feature_id, neutralise
from layers.sheet_geometry import WKT
from layers.values import field_type

EXCEL_CELL_CHARS = 32_767  # Excel cuts longer text (and openpyxl silently too)
EXCEL_ROWS = 1_048_576


def write_table_file(
    frame: gpd.GeoDataFrame, spec: LayerSpec, path: Path, *, public: bool = False
) -> int:
    """Write a canonical frame (with derived fields added) as CSV or XLSX; returns the count.

    Columns are the layer's fields in spec order, then ``wkt``. A CSV is UTF-8 with a
    BOM (so Excel shows Chinese correctly), text quoted, numbers not; an XLSX has one
    sheet named after the layer, dates as date cells. Text that a spreadsheet would run
    as a formula is neutralised (:func:`neutralise`); numbers stay numbers. XLSX keeps
    16 significant digits of a number (Excel shows 15) and, being XML, reads a carriage
    return in text back as a line feed.

    Parameters
    ----------
    public
        Write only the fields on the public allow-list.

    Raises
    ------
    LayerValidationError
        For XLSX, when a text (often a long WKT) exceeds an Excel cell's 32 767
        characters, naming every such cell; nothing is written.
    """
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InvalidInput(f"{path.name}: 不是 .csv 或 .xlsx (not a .csv or .xlsx file)")
    fields = spec.visible_fields(public=public)
    out = derive(frame, spec)[[*spec.field_names(fields), GEOMETRY]].reset_index(drop=True)
    wkt = shapely.to_wkt(out.geometry.to_numpy(), rounding_precision=-1)
    columns = [_export_values(out[f.name], f) for f in fields]
    columns.append([None if w is None else neutralise(str(w)) for w in wkt])
    header = [*spec.field_names(fields), WKT]
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    if suffix == ".csv":
        _write_csv(part, header, zip(*columns, strict=True))
    else:
        _refuse_excel_overflow(path.name, spec, header, columns, out[spec.id_field])
        _write_xlsx(part, spec.name, header, zip(*columns, strict=True))
    part.replace(path)
    return len(out)


def _export_values(series: pd.Series, f: FieldSpec) -> list[object]:
    """Plain Python values of one column: ``None`` for missing, text neutralised, a date
    a ``datetime.date``."""
    ft = field_type(f)
    out: list[object] = []
    for value in series.astype(object):
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            out.append(None)
        elif ft.family == "str":
            out.append(neutralise(str(value)))
        else:
            out.append(ft.plain(value))
    return out


def _write_csv(path: Path, header: list[str], rows: Iterable[tuple[object, ...]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        # Text quoted, numbers bare: Excel reads numbers as numbers and nothing else.
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_csv_value(v) for v in row])


def _csv_value(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else value


def _refuse_excel_overflow(
    source: str,
    spec: LayerSpec,
    header: list[str],
    columns: list[list[object]],
    ids: pd.Series,
) -> None:
    if len(ids) + 1 > EXCEL_ROWS:
        raise InvalidInput(
            f"{source}: {len(ids)} 行超过 Excel 的上限 {EXCEL_ROWS - 1} 行, 请导出为 .csv "
            "(more rows than a worksheet holds; export to .csv)"
        )
    problems = [
        Problem(
            f"文本超过 Excel 单元格 {EXCEL_CELL_CHARS} 字符上限, 请导出为 .csv 或 .gpkg "
            "(text longer than an Excel cell holds; export to .csv or .gpkg)",
            file=source,
            row=i + 1,
            feature_id=feature_id(ids.iloc[i]),
            field=name,
        )
        for name, values in zip(header, columns, strict=True)
        for i, value in enumerate(values)
        if isinstance(value, str) and len(value) > EXCEL_CELL_CHARS
    ]
    if problems:
        raise LayerValidationError(
            f"{source}: 无法无损写为 XLSX, 图层 {spec.name} (cannot write losslessly)", problems
        )


def _write_xlsx(
    path: Path, title: str, header: list[str], rows: Iterable[tuple[object, ...]]
) -> None:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)


__all__ = ["EXCEL_CELL_CHARS", "EXCEL_ROWS", "write_table_file"]
