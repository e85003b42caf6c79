"""The cells of a CSV or XLSX, read safely into columns by header name.

A CSV is decoded and parsed by pandas, an XLSX by openpyxl (its zip checked first by
:func:`layers.archives.safe_zip_members`); neither ever reaches GDAL. Cells come out as
:func:`layers.frames.conform` takes them: ``None`` for empty, dates as ISO text, a
formula-like text without the ``'`` an export put in front of it (:func:`neutralise`).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from layers.archives import safe_zip_members
from layers.errors import GeoServiceError, InvalidInput, LayerValidationError, Problem
from layers.schema import LayerSpec

TABLE_SUFFIXES = (".csv", ".xlsx")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is neutralised on export (OWASP)."""
MAX_COLUMNS = 256  # a layer has fewer than 100 fields; more columns is not a layer
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the legacy .xls (and .doc) container
_BOM_AND_SPACE = b"\xef\xbb\xbf \t\r\n"
_MIDNIGHT = dt.time(0, 0)

Row = Sequence[object]


def table_rows(path: Path, spec: LayerSpec, *, encoding: str | None, source: str) -> Sequence[Row]:
    """The rows of a ``.csv`` or ``.xlsx`` file, header first, each cut after its last
    value. Of a workbook, the sheet named like the layer, otherwise the first."""
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InvalidInput(f"{path.name}: 不是 .csv 或 .xlsx (not a .csv or .xlsx file)")
    if not path.is_file():
        raise InvalidInput(f"{path.name}: 文件不存在 (file not found)")
    return _csv_rows(path, encoding, source) if suffix == ".csv" else _xlsx_rows(path, spec, source)


def _csv_rows(path: Path, encoding: str | None, source: str) -> Sequence[Row]:
    data = path.read_bytes()
    head = data[:64].lstrip(_BOM_AND_SPACE)
    if head.startswith(_ZIP_MAGIC):
        raise InvalidInput(
            f"{source}: 文件是 zip (XLSX?) 而不是 CSV, XLSX 请用 .xlsx 扩展名 "
            "(the file is a zip, perhaps an XLSX workbook, not CSV)"
        )
    if head.startswith(_OLE_MAGIC) or b"\x00" in data:
        raise InvalidInput(
            f"{source}: 不是文本 CSV (旧版 .xls 或 UTF-16?), 请另存为 “CSV UTF-8” "
            "(not a text CSV, perhaps a legacy .xls or UTF-16 text: save as CSV UTF-8)"
        )
    if head.startswith(b"<"):
        # An OGR VRT or HTML saved as .csv. It would parse as one odd column; say why
        # it is refused instead, without echoing what it names.
        raise InvalidInput(
            f"{source}: 文件内容是 XML/HTML 而不是 CSV (the content is XML or HTML, not CSV)"
        )
    text = _decode(source, data, encoding)
    try:
        table = pd.read_csv(
            io.StringIO(text),
            sep=",",
            quotechar='"',
            header=None,
            dtype=str,
            na_filter=False,
            keep_default_na=False,
            skip_blank_lines=False,
            engine="c",  # no limit on field size: a parcel's WKT can be long
        )
    except pd.errors.EmptyDataError:
        return []
    except pd.errors.ParserError as exc:
        # "Expected 3 fields in line 5, saw 4": line counts records, header included.
        numbers = [int(s) for s in str(exc).replace(",", " ").split() if s.isdigit()]
        row = numbers[1] - 1 if len(numbers) == 3 else None
        raise LayerValidationError(
            f"{source}: CSV 的列数不一致 (rows have different numbers of columns)",
            [
                Problem(
                    "该行的值比表头的列多, 文本中的逗号须加引号 (more values than the header has "
                    "columns; quote text that contains commas)",
                    file=source,
                    row=row,
                )
            ],
        ) from None
    rows: list[list[object]] = table.to_numpy(dtype=object).tolist()
    return rows


def _decode(source: str, data: bytes, encoding: str | None) -> str:
    """The text of a CSV: UTF-8 (a BOM is dropped) unless an encoding is declared."""
    if encoding is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(
                f"{source}: 文件不是 UTF-8 编码, 请声明编码, 例如 --encoding GBK "
                "(the file is not UTF-8: declare the encoding, e.g. GBK or GB18030)"
            ) from None
    else:
        try:
            text = data.decode(encoding)
        except LookupError:
            raise InvalidInput(f"{source}: 未知的编码 {encoding!r} (unknown encoding)") from None
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise InvalidInput(
                f"{source}: 第 {line} 行 (表头为第 1 行) 不是有效的 {encoding} 编码 "
                f"(line {line} of the file, header included, is not valid {encoding})"
            ) from None
    return text.removeprefix("\ufeff")


# -- XLSX -----------------------------------------------------------------------------


def _xlsx_rows(path: Path, spec: LayerSpec, source: str) -> Sequence[Row]:
    with path.open("rb") as handle:
        head = handle.read(len(_ZIP_MAGIC))
        if head != _ZIP_MAGIC:
            old = head.startswith(_OLE_MAGIC)
            raise InvalidInput(
                f"{source}: 文件内容不是 XLSX"
                + (", 是旧版 .xls, 请另存为 .xlsx" if old else "")
                + " (the file's content is not XLSX"
                + ("; it is a legacy .xls: save it as .xlsx" if old else "")
                + ")"
            )
        handle.seek(0)
        try:
            with zipfile.ZipFile(handle) as archive:
                # Before openpyxl decompresses anything.
                safe_zip_members(archive, source=source)
        except zipfile.BadZipFile:
            raise InvalidInput(f"{source}: 不是有效的 XLSX (zip) 文件 (not a valid XLSX)") from None
        handle.seek(0)
        return _sheet_rows(handle, spec, source)


def _sheet_rows(handle: BinaryIO, spec: LayerSpec, source: str) -> list[Row]:
    try:
        # data_only: a formula cell gives its saved value; openpyxl evaluates nothing.
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True, keep_links=False)
        try:
            sheets = {ws.title.strip().casefold(): ws for ws in workbook.worksheets}
            named = [sheets[n] for n in (spec.name.casefold(), spec.zh.casefold()) if n in sheets]
            candidates = named or workbook.worksheets
            sheet = candidates[0] if candidates else None
            if not isinstance(sheet, ReadOnlyWorksheet):
                raise InvalidInput(f"{source}: 工作簿没有工作表 (the workbook has no worksheet)")
            # The stored dimensions may lie: too small would cut columns, too large would
            # pad every row. Read the cells as they are.
            sheet.reset_dimensions()
            rows: list[Row] = []
            for cells in sheet.iter_rows(values_only=True):
                row = _trim(cells)
                if len(row) > MAX_COLUMNS:
                    raise InvalidInput(
                        f"{source}: 工作表 {sheet.title!r} 超过 {MAX_COLUMNS} 列 "
                        f"(more than {MAX_COLUMNS} columns: not a layer)"
                    )
                rows.append(row)
            return rows
        finally:
            workbook.close()
    except GeoServiceError:
        raise
    except Exception as exc:  # openpyxl fails on a damaged workbook in many ways
        raise InvalidInput(
            f"{source}: XLSX 无法读取, 可能已损坏 (the workbook cannot be read; is it "
            f"damaged?) [{type(exc).__name__}]"
        ) from None


def _trim(cells: Sequence[object]) -> Row:
    end = len(cells)
    while end and cells[end - 1] is None:
        end -= 1
    return cells[:end]


# -- columns ---------------------------------------------------------------------------


def _cell(value: object) -> object:
    """A cell as conform takes it: ``None`` for empty, dates and times as ISO text."""
    if value is None or (isinstance(value, str) and not value):
        return None
    if isinstance(value, dt.datetime):
        # Spreadsheets store a date as a date-time at midnight.
        if value.time() == _MIDNIGHT and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, str):
        return deneutralise(value)
    return value


def _header_name(value: object) -> str:
    cell = _cell(value)
    return "" if cell is None else str(cell).strip()


def columns_by_name(
    source: str, rows: Sequence[Row]
) -> tuple[dict[str, list[object]], int, list[Problem]]:
    """The data columns by header name, the number of rows, and the table's problems."""
    header = [_header_name(v) for v in rows[0]] if rows else []
    data = [[_cell(v) for v in row] for row in rows[1:]]
    while data and all(v is None for v in data[-1]):
        data.pop()
    problems: list[Problem] = []
    width = len(header)
    if width > MAX_COLUMNS:
        problems.append(
            Problem(f"超过 {MAX_COLUMNS} 列 (more than {MAX_COLUMNS} columns)", file=source)
        )
        return {}, len(data), problems
    for i, row in enumerate(data):
        if any(v is not None for v in row[width:]):
            problems.append(
                Problem(
                    "该行的值比表头的列多 (more values than the header has columns)",
                    file=source,
                    row=i + 1,
                )
            )
    columns: dict[str, list[object]] = {}
    seen: set[str] = set()
    for j, name in enumerate(header):
        values = [row[j] if j < len(row) else None for row in data]
        letter = get_column_letter(j + 1)
        if not name:
            if any(v is not None for v in values):
                problems.append(
                    Problem(
                        f"第 {j + 1} 列 ({letter}) 有值但没有列名 "
                        f"(column {letter} has values but no name)",
                        file=source,
                    )
                )
            continue
        if name.casefold() in seen:
            problems.append(
                Problem(f"列名重复 (duplicate column {name!r})", file=source, field=name)
            )
            continue
        seen.add(name.casefold())
        columns[name] = values
    if data and not columns:
        problems.append(Problem("没有表头 (no header row)", file=source))
    return columns, len(data), problems


def feature_id(value: object) -> str | None:
    return None if value is None else str(value)


def neutralise(text: str) -> str:
    """Text that a spreadsheet would run as a formula, made inert with a leading ``'``.

    OWASP's rule against CSV injection: cells starting with ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return.

    Examples
    --------
    >>> neutralise('=HYPERLINK("http://example.com")'), neutralise("-2"), neutralise("M1")
    ('\\'=HYPERLINK("http://example.com")', "'-2", 'M1')
    """
    return "'" + text if text.startswith((*FORMULA_START, "'")) else text


def deneutralise(text: str) -> str:
    """:func:`neutralise` undone, so an exported file loads back unchanged: a leading
    ``'`` before formula-like text (or before another ``'``) is dropped.

    >>> deneutralise("'=1+1"), deneutralise("''abc"), deneutralise("'abc")
    ('=1+1', "'abc", "'abc")
    """
    if text.startswith("'") and text[1:].startswith((*FORMULA_START, "'")):
        return text[1:]
    return text


__all__ = [
    "FORMULA_START",
    "MAX_COLUMNS",
    "TABLE_SUFFIXES",
    "Row",
    "columns_by_name",
    "deneutralise",
    "feature_id",
    "neutralise",
    "table_rows",
]
