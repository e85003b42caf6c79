"""Geometry of a table's rows: from a ``wkt`` column, or points from ``lon``/``lat`` or
``x``/``y`` columns, with the declared CRS checked against the kind of coordinates
(see :mod:`layers.sheets` for the conventions)."""

from __future__ import annotations

import math

import numpy as np
import pyproj
import shapely

from layers.crs import STORAGE_EPSG
from layers.errors import InvalidInput, Problem
from layers.frames import GEOMETRY
from layers.schema import LayerSpec
from layers.sheet_cells import feature_id

WKT = "wkt"
LON_LAT = ("lon", "lat")
X_Y = ("x", "y")


def geometry_source(
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
        problems.append(_no_geometry_columns(source, list(columns), points=points))
        return None, found, frame_crs
    added = _coordinate_problems(source, pairs[0], by_key, spec, crs, declared)
    problems += added
    return ("coordinates" if not added else None), found, frame_crs


def _no_geometry_columns(source: str, names: list[str], *, points: bool) -> Problem:
    """The problem of a table without geometry columns, naming the columns it has."""
    shown = ", ".join(repr(name[:40]) for name in names[:20])
    return Problem(
        "没有几何列: 需要 wkt 列 (WKT 文本)"
        + (", 或 lon/lat 列 (经纬度), 或 x/y 列 (投影坐标, 须声明坐标系)" if points else "")
        + "; 表头须在第 1 行 (no geometry columns: expected wkt"
        + (", or lon and lat, or x and y with a declared CRS" if points else "")
        + "; the header must be the first row). 文件中的列 (columns found): "
        + (shown or "无 (none)"),
        file=source,
    )


def _coordinate_problems(
    source: str,
    pair: tuple[str, str],
    by_key: dict[str, str],
    spec: LayerSpec,
    crs: str | int | None,
    declared: pyproj.CRS | None,
) -> list[Problem]:
    """What keeps a pair of coordinate columns from giving points: a column missing, a
    layer of other geometry, or a declared CRS of the other kind (degrees or metres)."""
    problems: list[Problem] = []
    points = "Point" in spec.geometry_types
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
    return problems


def _declared_crs(source: str, crs: str | int | None) -> pyproj.CRS | None:
    if crs is None:
        return None
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise InvalidInput(
            f"{source}: 无法识别声明的坐标系 {crs!r} (unknown CRS; e.g. EPSG:4527)"
        ) from None


def from_wkt(
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
                feature_id=feature_id(ids[i]),
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


def from_coordinates(
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
                        feature_id=feature_id(ids[i]),
                        field=name.lower(),
                    )
                )
        if coords[0] is not None and coords[1] is not None:
            geoms[i] = shapely.Point(coords[0], coords[1])
    return geoms, problems


__all__ = ["LON_LAT", "WKT", "X_Y", "from_coordinates", "from_wkt", "geometry_source"]
