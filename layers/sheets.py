"""Layers as tables: CSV and XLSX, the form the land bureau keeps its yearly stock list in.

Neither format ever reaches GDAL. A CSV is decoded and parsed by pandas, an XLSX by
openpyxl, so a file that is really something else (an OGR VRT naming local files or
URLs, say) is only text here, and is refused. Reading ends in
:func:`layers.frames.conform`, exactly as for the GIS formats, so every field is
validated the same way and every problem is named.

Columns
-------
The first row of the file (or sheet) is the header; every later row is one feature.
Attribute columns carry the layer's field names (docs/layers.md). Geometry comes from
one of these, matched case-insensitively (QGIS writes ``WKT``):

``wkt``
    The geometry as WKT, any type (parcels are polygons), x = longitude and
    y = latitude.
``lon``, ``lat``
    Point layers only: decimal degrees.
``x``, ``y``
    Point layers only: easting and northing in a projected CRS that must be declared,
    e.g. a Gauss-Krüger zone such as EPSG:4527.

Coordinates are in EPSG:4490 unless a CRS is declared. Rows in problems are counted from
1 at the first data row: the header does not count, so row 1 is the record below the
header (line 2 of a CSV without line breaks inside quotes, row 2 of a spreadsheet).
Blank rows at the end are ignored; a blank row between features is a feature with
nothing in it, and is refused as such.

Exports write the derived fields too, and the geometry as a ``wkt`` column. A text cell
that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) is written with a ``'`` in front (OWASP's rule against CSV
injection); reading does not remove it, so such a value comes back with its quote.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyproj
import shapely
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from layers.archives import safe_zip_members
from layers.crs import STORAGE_EPSG
from layers.errors import GeoServiceError, InvalidInput, LayerValidationError, Problem
from layers.frames import GEOMETRY, Check, conform, derive
from layers.schema import FieldSpec, LayerSpec
from layers.text import invisible, normalise_id, shown

TABLE_SUFFIXES = (".csv", ".xlsx")
WKT = "wkt"
LON_LAT = ("lon", "lat")
X_Y = ("x", "y")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is neutralised on export (OWASP)."""
MAX_COLUMNS = 256  # a layer has fewer than 100 fields; more columns is not a layer
EXCEL_CELL_CHARS = 32_767  # Excel cuts longer text (and openpyxl silently too)
EXCEL_ROWS = 1_048_576
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the legacy .xls (and .doc) container
_BOM_AND_SPACE = b"\xef\xbb\xbf \t\r\n"
_MIDNIGHT = dt.time(0, 0)

Row = Sequence[object]


def read_table_file(
    path: Path,
    spec: LayerSpec,
    *,
    crs: str | int | None = None,
    encoding: str | None = None,
    checks: Sequence[Check] = (),
    repairs: list[Problem] | None = None,
) -> gpd.GeoDataFrame:
    """Read, validate and transform a CSV or XLSX layer to the canonical frame in EPSG:4490.

    See the module docstring for the column conventions.

    Parameters
    ----------
    path
        A ``.csv`` or ``.xlsx`` file. Of a workbook, the sheet named like the layer
        (``parcels`` or ``地块``) is read, otherwise the first sheet. Formulas are never
        evaluated: a formula cell gives the value the spreadsheet saved with it (none
        if it saved none). Date cells become ISO dates (``YYYY-MM-DD``).
    spec
        The layer.
    crs
        CRS of the coordinates: EPSG:4490 if not given; required for ``x``/``y``.
    encoding
        Encoding of a CSV that is not UTF-8 (with or without BOM), e.g. ``GBK`` or
        ``GB18030``. Ignored for XLSX, which is always Unicode.
    checks
        More checks of the caller's, run by :func:`layers.frames.conform` so that their
        problems join the table's own.
    repairs
        As for :func:`layers.io.read_layer_file`: a list to repair invalid geometry into.

    Raises
    ------
    InvalidInput
        The file is not a readable CSV or XLSX (wrong content, undeclared encoding,
        damaged workbook).
    LayerValidationError
        With every problem found: missing or ambiguous geometry columns, bad WKT or
        coordinates (field ``wkt``, ``lon``...) and every field problem of
        :func:`layers.frames.conform`.

    Examples
    --------
    >>> import tempfile
    >>> from layers.catalog import ROADS
    >>> from layers.demo import generate_zone
    >>> roads = generate_zone(parcels=20)["roads"]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "roads.xlsx"
    ...     count = write_table_file(roads, ROADS, path)
    ...     back = read_table_file(path, ROADS)
    >>> count == len(back) and back.equals(roads)
    True
    """
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InvalidInput(f"{path.name}: 不是 .csv 或 .xlsx (not a .csv or .xlsx file)")
    if not path.is_file():
        raise InvalidInput(f"{path.name}: 文件不存在 (file not found)")
    source = path.name
    rows = _csv_rows(path, encoding, source) if suffix == ".csv" else _xlsx_rows(path, spec, source)
    return _conform_table(source, rows, spec, crs, checks, repairs)


# -- CSV ------------------------------------------------------------------------------


def read_table_columns(
    path: Path, spec: LayerSpec, *, encoding: str | None = None, source: str | None = None
) -> tuple[dict[str, list[object]], int]:
    """The columns of a CSV or XLSX by header name, and the number of data rows, read with
    the same safety checks as a layer (for tables without geometry, such as ledgers).
    Messages name the file ``source`` (an upload's own name), else ``path``'s name.

    Raises
    ------
    InvalidInput, LayerValidationError
        As :func:`read_table_file` does, for the file and its header.
    """
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InvalidInput(f"{path.name}: 不是 .csv 或 .xlsx (not a .csv or .xlsx file)")
    if not path.is_file():
        raise InvalidInput(f"{path.name}: 文件不存在 (file not found)")
    source = source or path.name
    rows = _csv_rows(path, encoding, source) if suffix == ".csv" else _xlsx_rows(path, spec, source)
    columns, n, problems = _columns(source, rows)
    if spec.id_field in columns and not problems:
        columns[spec.id_field] = _checked_ids(columns[spec.id_field])
        problems = _id_problems(source, spec.id_field, columns[spec.id_field])
    if problems:
        message = f"{source}: 表格无法读取 (the table cannot be read)"
        raise LayerValidationError(message, problems)
    return columns, n


def _checked_ids(ids: list[object]) -> list[object]:
    """The id column with every id spelled as the store keeps it (NFKC, trimmed), so that
    a row naming ``"P01 "`` or ``"Ｐ０１"`` finds park ``P01``; ids with invisible
    characters are kept as they are, for :func:`_id_problems` to name."""
    return [v if v is None or invisible(str(v), code=True) else normalise_id(str(v)) for v in ids]


def _id_problems(source: str, field: str, ids: list[object]) -> list[Problem]:
    return [
        Problem(
            f"编号含不可见字符 {', '.join(found)}, 请删除 (the id contains an invisible "
            "character: remove it)",
            file=source,
            row=i + 1,
            feature_id=shown(str(v)),
            field=field,
        )
        for i, v in enumerate(ids)
        if v is not None and (found := invisible(str(v), code=True))
    ]


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


# -- from rows to a validated frame -----------------------------------------------------


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


def _columns(
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


def _conform_table(
    source: str,
    rows: Sequence[Row],
    spec: LayerSpec,
    crs: str | int | None,
    checks: Sequence[Check],
    repairs: list[Problem] | None = None,
) -> gpd.GeoDataFrame:
    columns, n, problems = _columns(source, rows)
    how, geometry_columns, frame_crs = _geometry_source(source, columns, spec, crs, problems)
    ids = columns.get(spec.id_field, [None] * n)
    values = [columns.pop(name) for name in geometry_columns]
    geoms: np.ndarray = np.full(n, None, dtype=object)
    row_problems: list[Problem] = []
    if how == WKT:
        geoms, row_problems = _from_wkt(source, values[0], ids)
    elif how is not None:
        geoms, row_problems = _from_coordinates(source, values, geometry_columns, ids)
    attributes = pd.DataFrame(
        {name: pd.Series(v, dtype=object) for name, v in columns.items()},
        index=pd.RangeIndex(n),
    )
    frame = gpd.GeoDataFrame(
        attributes, geometry=gpd.GeoSeries(geoms, index=attributes.index, crs=frame_crs)
    )
    if frame.geometry.name != GEOMETRY:
        frame = frame.rename_geometry(GEOMETRY)
    try:
        result = conform(
            frame, spec, source=source, declared_crs=crs, checks=checks, repairs=repairs
        )
        found: list[Problem] = []
    except LayerValidationError as exc:
        found = exc.problems
    # A row with bad WKT or coordinates has no geometry, and without usable geometry
    # columns no row has one: conform would say so again. Every other problem is kept.
    bad_rows = {p.row for p in row_problems}
    problems += row_problems
    problems += [
        p for p in found if not (p.field == GEOMETRY and (how is None or p.row in bad_rows))
    ]
    if problems:
        problems.sort(key=lambda p: -1 if p.row is None else p.row)
        count = len(problems)
        raise LayerValidationError(
            f"{source}: {count} 个问题, 图层 {spec.name} 未导入 "
            f"({count} problems; layer {spec.name} not loaded)",
            problems,
        )
    return result


def _geometry_source(
    source: str,
    columns: dict[str, list[object]],
    spec: LayerSpec,
    crs: str | int | None,
    problems: list[Problem],
) -> tuple[str | None, list[str], str | int]:
    """How the table gives its geometry, the columns it uses (as written) and its CRS.

    How is ``"wkt"``, ``"coordinates"``, or ``None`` when no geometry can be built; a
    problem added to ``problems`` then says why.
    """
    by_key = {name.casefold(): name for name in columns}
    if GEOMETRY in by_key:
        problems.append(
            Problem(
                f"列名 {by_key[GEOMETRY]!r} 保留给几何, WKT 列请命名为 wkt "
                "(the WKT column must be named wkt)",
                file=source,
                field=by_key[GEOMETRY],
            )
        )
        del columns[by_key.pop(GEOMETRY)]
    start = len(problems)
    has_wkt = WKT in by_key
    pairs = [pair for pair in (LON_LAT, X_Y) if any(c in by_key for c in pair)]
    found = [by_key[c] for c in (WKT, *LON_LAT, *X_Y) if c in by_key]
    declared = _declared_crs(source, crs)
    frame_crs: str | int = crs if crs is not None else STORAGE_EPSG
    points = "Point" in spec.geometry_types
    if has_wkt and not pairs:
        return WKT, found, frame_crs
    if has_wkt or len(pairs) > 1:
        problems.append(
            Problem(
                f"几何列不唯一 {found}, 只保留一种: wkt, lon/lat 或 x/y "
                f"(several geometry columns {found}: keep one of wkt, lon/lat, x/y)",
                file=source,
            )
        )
        return None, found, frame_crs
    if not pairs:
        shown = ", ".join(repr(name[:40]) for name in list(columns)[:20])
        problems.append(
            Problem(
                "没有几何列: 需要 wkt 列 (WKT 文本)"
                + (", 或 lon/lat 列 (经纬度), 或 x/y 列 (投影坐标, 须声明坐标系)" if points else "")
                + "; 表头须在第 1 行 (no geometry columns: expected wkt"
                + (", or lon and lat, or x and y with a declared CRS" if points else "")
                + "; the header must be the first row). 文件中的列 (columns found): "
                + (shown or "无 (none)"),
                file=source,
            )
        )
        return None, found, frame_crs
    pair = pairs[0]
    missing = [c for c in pair if c not in by_key]
    if missing:
        problems.append(
            Problem(f"缺少坐标列 {missing[0]} (coordinate column missing)", file=source)
        )
    if not points:
        problems.append(
            Problem(
                f"坐标列只适用于点图层, 图层 {spec.name} 需要 wkt 列 "
                f"(coordinate columns are for point layers; {spec.name} needs a wkt column)",
                file=source,
            )
        )
    if pair == X_Y and (declared is None or not declared.is_projected):
        problems.append(
            Problem(
                "x/y 列需要声明投影坐标系, 例如 --crs EPSG:4527; 经纬度请用 lon/lat 列 "
                "(x and y need a declared projected CRS; use lon and lat for degrees)",
                file=source,
            )
        )
    if pair == LON_LAT and declared is not None and not declared.is_geographic:
        problems.append(
            Problem(
                f"lon/lat 列是经纬度, 但声明的坐标系 {crs} 不是地理坐标系; 投影坐标请用 x/y 列 "
                f"(lon and lat are degrees but {crs} is not geographic: use x and y)",
                file=source,
            )
        )
    return ("coordinates" if len(problems) == start else None), found, frame_crs


def _declared_crs(source: str, crs: str | int | None) -> pyproj.CRS | None:
    if crs is None:
        return None
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise InvalidInput(
            f"{source}: 无法识别声明的坐标系 {crs!r} (unknown CRS; e.g. EPSG:4527)"
        ) from None


def _feature_id(value: object) -> str | None:
    return None if value is None else str(value)


def _from_wkt(
    source: str, values: list[object], ids: list[object]
) -> tuple[np.ndarray, list[Problem]]:
    texts = np.array([None if v is None else str(v) for v in values], dtype=object)
    geoms = shapely.from_wkt(texts, on_invalid="ignore")
    problems = []
    given = np.array([t is not None for t in texts], dtype=bool)
    for i in np.flatnonzero(shapely.is_missing(geoms) & given):
        try:
            shapely.from_wkt(texts[i])
            reason = "?"
        except shapely.errors.GEOSException as exc:
            reason = str(exc)[:160]
        problems.append(
            Problem(
                f"WKT 无法解析 (cannot parse the WKT): {reason}",
                file=source,
                row=int(i) + 1,
                feature_id=_feature_id(ids[i]),
                field=WKT,
            )
        )
    return np.asarray(geoms, dtype=object), problems


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _from_coordinates(
    source: str, values: list[list[object]], names: list[str], ids: list[object]
) -> tuple[np.ndarray, list[Problem]]:
    """Points from two coordinate columns; a row with neither value has no geometry."""
    xs, ys = values
    geoms = np.full(len(xs), None, dtype=object)
    problems = []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if x is None and y is None:
            continue
        coords = (_number(x), _number(y))
        for name, raw, number in zip(names, (x, y), coords, strict=True):
            if number is None:
                problems.append(
                    Problem(
                        "缺少坐标 (coordinate missing)"
                        if raw is None
                        else f"值 {raw!r} 不是有限数值 (not a finite number)",
                        file=source,
                        row=i + 1,
                        feature_id=_feature_id(ids[i]),
                        field=name.lower(),
                    )
                )
        if coords[0] is not None and coords[1] is not None:
            geoms[i] = shapely.Point(coords[0], coords[1])
    return geoms, problems


# -- export ---------------------------------------------------------------------------


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
    """Plain Python values of one column: ``None`` for missing, text neutralised."""
    out: list[object] = []
    for value in series.astype(object):
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            out.append(None)
        elif f.kind == "str":
            out.append(neutralise(str(value)))
        elif f.kind == "float":
            out.append(float(value))
        elif f.kind == "int":
            out.append(int(value))
        elif f.kind == "bool":
            out.append(bool(value))
        else:
            out.append(value)  # a datetime.date
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
            feature_id=_feature_id(ids.iloc[i]),
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


__all__ = [
    "FORMULA_START",
    "TABLE_SUFFIXES",
    "neutralise",
    "read_table_file",
    "write_table_file",
]
