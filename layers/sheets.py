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

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.errors import LayerValidationError, Problem
from layers.frames import GEOMETRY, Check, conform
from layers.schema import LayerSpec
from layers.sheet_cells import Row, columns_by_name, table_rows
from layers.sheet_geometry import WKT, from_coordinates, from_wkt, geometry_source
from layers.text import invisible, normalise_id, shown


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
    >>> from layers.sheet_export import write_table_file
    >>> roads = generate_zone(parcels=20)["roads"]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "roads.xlsx"
    ...     count = write_table_file(roads, ROADS, path)
    ...     back = read_table_file(path, ROADS)
    >>> count == len(back) and back.equals(roads)
    True
    """
    source = path.name
    rows = table_rows(path, spec, encoding=encoding, source=source)
    return _conform_table(source, rows, spec, crs, checks, repairs)


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
    source = source or path.name
    rows = table_rows(path, spec, encoding=encoding, source=source)
    columns, n, problems = columns_by_name(source, rows)
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


def _conform_table(
    source: str,
    rows: Sequence[Row],
    spec: LayerSpec,
    crs: str | int | None,
    checks: Sequence[Check],
    repairs: list[Problem] | None = None,
) -> gpd.GeoDataFrame:
    columns, n, problems = columns_by_name(source, rows)
    how, geometry_columns, frame_crs = geometry_source(source, columns, spec, crs, problems)
    ids = columns.get(spec.id_field, [None] * n)
    values = [columns.pop(name) for name in geometry_columns]
    geoms: np.ndarray = np.full(n, None, dtype=object)
    row_problems: list[Problem] = []
    if how == WKT:
        geoms, row_problems = from_wkt(source, values[0], ids)
    elif how is not None:
        geoms, row_problems = from_coordinates(source, values, geometry_columns, ids)
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


__all__ = ["read_table_columns", "read_table_file"]
