"""Layer frames: a GeoDataFrame in the canonical form of its :class:`LayerSpec`.

``conform`` turns whatever a file reader produced into that form — or refuses it with
every problem found, each naming the file, row, feature id and field. Nothing is
repaired silently. ``derive`` adds the computed fields (areas, readiness, remaining
budgets).

Canonical column types: ``str`` → object (``None`` for missing), ``float`` → float64
(NaN), ``int`` → nullable Int64, ``bool`` → nullable boolean, ``date`` → object of
``datetime.date`` (``None``). Geometry is in EPSG:4490.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.area import area_m2, area_mismatch, mu_from_m2
from layers.catalog import PARCELS, PARKS, POLLUTANTS
from layers.crs import STORAGE_EPSG, check_zone_extent, epsg_of
from layers.errors import CRSMismatch, LayerValidationError, Problem
from layers.readiness import readiness_table
from layers.schema import FieldSpec, LayerSpec
from layers.text import invisible, normalise_id, normalise_text, shown, unlike_id

GEOMETRY = "geometry"
# A few identifier-like columns that file writers add on their own.
_IGNORED_COLUMNS = frozenset({"fid", "ogc_fid", "id"})
_TRUE = frozenset({"true", "1", "yes", "y", "t", "是", "有"})
_FALSE = frozenset({"false", "0", "no", "n", "f", "否", "无"})


ProblemFn = Callable[..., None]
Check = Callable[[dict[str, pd.Series], "np.ndarray | None", ProblemFn], None]


def empty_frame(spec: LayerSpec) -> gpd.GeoDataFrame:
    """A frame with the layer's stored columns and no rows."""
    data = {f.name: pd.Series([], dtype=_dtype(f)) for f in spec.stored_fields}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=STORAGE_EPSG), crs=STORAGE_EPSG)


def _dtype(f: FieldSpec) -> str:
    return {
        "str": "object",
        "float": "float64",
        "int": "Int64",
        "bool": "boolean",
        "date": "object",
    }[f.kind]


def conform(
    frame: gpd.GeoDataFrame,
    spec: LayerSpec,
    *,
    source: str,
    declared_crs: str | int | None = None,
    checks: Sequence[Check] = (),
    repairs: list[Problem] | None = None,
) -> gpd.GeoDataFrame:
    """Validate ``frame`` against ``spec`` and return it in canonical form in EPSG:4490.

    Parameters
    ----------
    frame
        Features as read from a file; derived columns and writer-added id columns
        are ignored, any other unknown column is a problem.
    source
        Name of the file, used in every problem message.
    declared_crs
        CRS to assume when the file carries none; must agree with the file's if both.
    checks
        More checks of the caller's (a workflow's own rules), each called with the coerced
        columns, the geometry in EPSG:4490 (``None`` when it is not sound) and the
        ``problem(message, index=, field=)`` collector, so their problems join the rest.
    repairs
        Pass a list to repair invalid geometry explicitly (never silently): each repair
        is appended to it with the area before and after, and a repair changing the area
        by more than :data:`REPAIR_TOLERANCE` is refused as a problem instead.

    Raises
    ------
    LayerValidationError
        With every problem found; nothing is returned in part.
    """
    problems: list[Problem] = []
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise LayerValidationError(
            f"{source}: 没有几何列 (no geometry column)",
            [
                Problem(
                    "没有几何列, 不是空间图层 (no geometry column: not a spatial layer)",
                    file=source,
                )
            ],
        )
    frame = frame.reset_index(drop=True)
    rows = np.arange(1, len(frame) + 1)
    ids = _id_labels(frame, spec)

    def problem(message: str, *, index: int | None = None, field: str | None = None) -> None:
        problems.append(
            Problem(
                message,
                file=source,
                row=int(rows[index]) if index is not None else None,
                feature_id=ids[index] if index is not None else None,
                field=field,
            )
        )

    src_epsg = _source_epsg(frame, declared_crs, problem)
    crs_sound = not problems
    known = {f.name for f in spec.fields} | _IGNORED_COLUMNS | {GEOMETRY}
    unknown = [c for c in frame.columns if c not in known and c != frame.geometry.name]
    if unknown:
        problem(f"未知字段 (unknown fields, see docs/layers.md): {', '.join(map(str, unknown))}")

    out: dict[str, pd.Series] = {}
    for f in spec.stored_fields:
        if f.name not in frame.columns:
            # An empty GeoJSON cannot carry its field list; with no rows nothing is missing.
            if f.required and len(frame):
                problem("缺少必填字段 (required field missing)", field=f.name)
            out[f.name] = pd.Series([None] * len(frame), dtype=_dtype(f))
            continue
        out[f.name] = _coerce(frame[f.name], f, problem)

    _check_bounds(out, problem)
    _check_duplicate_ids(out[spec.id_field], spec, problem)
    before_geometry = len(problems)
    fixed: list[tuple[int, str]] | None = None if repairs is None else []
    geometry = _check_geometry(frame, spec, problem, fixed)
    if repairs is not None:
        repairs += [
            Problem(note, file=source, row=int(rows[i]), feature_id=ids[i], field=GEOMETRY)
            for i, note in fixed or []
        ]
    # Geometry goes to EPSG:4490 whenever the CRS and every geometry are sound, so checks
    # across features (overlaps, parks) still run when some attribute is wrong.
    placed: np.ndarray | None = None
    if crs_sound and len(problems) == before_geometry:
        transforming = len(problems)
        geometry = _to_storage(geometry, src_epsg, source, problem)
        placed = geometry if len(problems) == transforming else None
    for check in checks:
        check(out, placed, problem)

    if problems:
        raise LayerValidationError(
            f"{source}: {len(problems)} 个问题, 图层 {spec.name} 未导入 "
            f"({len(problems)} problems; layer {spec.name} not loaded)",
            problems,
        )
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geometry, crs=STORAGE_EPSG))


# China's extent in degrees; a feature outside it after transformation means a wrong CRS,
# swapped axes or a stray feature (CAD exports often carry one at 0,0).
_CHINA = (73.0, 3.0, 136.0, 54.0)


def _to_storage(
    geometry: np.ndarray, src_epsg: int, source: str, problem: Callable[..., None]
) -> np.ndarray:
    """Transform to EPSG:4490 and check every feature again where it lands."""
    if src_epsg != STORAGE_EPSG and len(geometry):
        minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(geometry))
        try:
            check_zone_extent((minx, miny, maxx, maxy), src_epsg)
        except CRSMismatch as exc:
            problem(f"{exc.message}")
            return geometry
        geometry = gpd.GeoSeries(geometry, crs=src_epsg).to_crs(STORAGE_EPSG).to_numpy()
    bounds = shapely.bounds(geometry)
    outside = ~(
        (bounds[:, 0] >= _CHINA[0])
        & (bounds[:, 1] >= _CHINA[1])
        & (bounds[:, 2] <= _CHINA[2])
        & (bounds[:, 3] <= _CHINA[3])
    )
    for i in np.flatnonzero(outside):
        problem(
            f"转换到 EPSG:{STORAGE_EPSG} 后位于 ({bounds[i, 0]:.4f}, {bounds[i, 1]:.4f}), "
            "不在中国境内 (outside China after transformation: wrong CRS, swapped axes or a "
            "stray feature)",
            index=i,
            field=GEOMETRY,
        )
    # Reprojection can make a geometry with sub-millimetre slits invalid.
    for i in np.flatnonzero(~outside & ~shapely.is_valid(geometry)):
        problem(
            f"转换坐标系后几何无效: {shapely.is_valid_reason(geometry[i])} "
            "(invalid after transformation to EPSG:4490; not repaired)",
            index=i,
            field=GEOMETRY,
        )
    return np.asarray(geometry)


def _id_labels(frame: gpd.GeoDataFrame, spec: LayerSpec) -> list[str | None]:
    """Each row's id as problems name it: normalised, any invisible character written out."""
    if spec.id_field not in frame.columns:
        return [None] * len(frame)
    return [None if _is_null(v) else shown(normalise_id(str(v))) for v in frame[spec.id_field]]


def is_id(f: FieldSpec) -> bool:
    """Whether a text field holds an identifier, which may hold only the characters
    :func:`layers.text.unlike_id` allows."""
    return f.name.endswith("_id")


def _odd_characters(text: str, f: FieldSpec) -> list[str]:
    """Invisible characters in a text, and for an id the characters no id may hold."""
    found = invisible(text, code=is_code(f))
    if not found and is_id(f):
        found = unlike_id(normalise_id(text))
    return found


def is_code(f: FieldSpec) -> bool:
    """Whether a text field holds an identifier or code (compared as a key: NFKC) rather
    than free text (names, notes: NFC, punctuation as written); see layers/text.py."""
    return f.name.endswith("_id") or bool(f.choices) or f.name == "ledger_q"


def _is_null(value: object) -> bool:
    # pandas-stubs has no overload of isna for a plain object; at run time it takes any scalar.
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))  # type: ignore[call-overload]


def _source_epsg(
    frame: gpd.GeoDataFrame,
    declared: str | int | None,
    problem: Callable[..., None],
) -> int:
    file_epsg = epsg_of(frame.crs)
    declared_epsg = epsg_of(declared)
    if frame.crs is not None and file_epsg is None:
        problem(f"坐标系无法识别为 EPSG 代码 (CRS has no EPSG code): {frame.crs.name}")
        return STORAGE_EPSG
    if file_epsg and declared_epsg and file_epsg != declared_epsg:
        problem(
            f"文件坐标系 EPSG:{file_epsg} 与声明的 EPSG:{declared_epsg} 不一致 "
            f"(the file's CRS EPSG:{file_epsg} differs from the declared EPSG:{declared_epsg})"
        )
    epsg = file_epsg or declared_epsg
    if epsg is None:
        problem(
            "文件没有坐标系 (.prj 缺失?), 请声明, 例如 --crs EPSG:4547 "
            "(no CRS in the file: declare one)"
        )
        return STORAGE_EPSG
    return epsg


INT_RANGE = (-(2**31), 2**31 - 1)
"""Integers are 32-bit in both stores."""
# A date, or a date-time at exactly midnight (as spreadsheets and GDAL write dates).
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ]00:00(?::00(?:\.0+)?)?)?$")


def _parse(raw: pd.Series, present: np.ndarray, f: FieldSpec) -> tuple[pd.Series, np.ndarray, str]:
    """Values of one kind, the mask of present values that are not of that kind, and why."""
    if f.kind == "str":
        code = is_code(f)
        texts = [_as_text(v) if p else None for v, p in zip(raw, present, strict=True)]
        bad = np.array([bool(t and _odd_characters(t, f)) for t in texts], dtype=bool)
        # Every file, ledger edit and load passes here: the one place text gets the
        # project's spelling (layers/text.py says which and why). Refused values stay raw,
        # so a later check (a park id not found) names them as written.
        normal = normalise_id if code else normalise_text
        values = pd.Series(
            [t if t is None or b else normal(t) for t, b in zip(texts, bad, strict=True)],
            dtype=object,
        )
        return (
            values,
            present & bad,
            (
                "含不可见字符或编号不允许的字符, 请删除 (invisible characters, or characters an "
                "id may not hold — ASCII letters and digits, Chinese characters, - _ . / ( ) # — "
                "remove them)"
                if is_id(f)
                else "含不可见字符, 请删除 (invisible characters: remove them)"
            ),
        )
    if f.kind in ("float", "int"):
        # A spreadsheet's TRUE is not 1: a boolean where a number belongs is refused.
        numeric = present & ~raw.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(bool)
        nums = pd.to_numeric(raw.where(numeric, np.nan), errors="coerce").astype(float)
        bad = present & ~np.isfinite(nums.to_numpy())
        if f.kind == "float":
            return nums, bad, "不是有限数值 (not a finite number)"
        whole = nums.to_numpy() % 1 == 0
        in_range = (nums.to_numpy() >= INT_RANGE[0]) & (nums.to_numpy() <= INT_RANGE[1])
        bad |= present & ~(whole & in_range)
        values = nums.where(~bad & present, np.nan).round().astype("Int64")
        return values, bad, f"不是 {INT_RANGE[0]}…{INT_RANGE[1]} 内的整数 (not a 32-bit integer)"
    if f.kind == "bool":
        mapped = raw.map(_as_bool)
        return (
            mapped.astype("boolean"),
            present & mapped.isna().to_numpy(),
            "不是布尔值 (not a boolean)",
        )
    text = raw.map(lambda v: v.isoformat() if isinstance(v, dt.date) else str(v))
    day = text.str.extract(_DATE, expand=False)
    parsed = pd.to_datetime(day.where(present, None), errors="coerce", format="%Y-%m-%d")
    values = pd.Series(parsed.dt.date.to_numpy(dtype=object), dtype=object)
    values = values.where(parsed.notna(), None)
    return values, present & parsed.isna().to_numpy(), "不是日期 YYYY-MM-DD, 不含时刻 (not a date)"


def _coerce(series: pd.Series, f: FieldSpec, problem: Callable[..., None]) -> pd.Series:
    raw = series.reset_index(drop=True).astype(object)
    present = raw.notna().to_numpy(dtype=bool)
    values, bad, reason = _parse(raw, present, f)
    for i in np.flatnonzero(bad):
        found = _odd_characters(_as_text(raw[i]), f) if f.kind == "str" else []
        which = f": {', '.join(found)}" if found else ""
        problem(f"值 {raw[i]!r} {reason}{which}", index=i, field=f.name)
    if f.required:
        blank = present & values.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(
            dtype=bool
        )
        for i in np.flatnonzero(~present | blank):
            problem("必填字段为空 (required value missing)", index=i, field=f.name)
    ok = present & ~bad
    if f.choices:
        for i in np.flatnonzero(ok & ~values.isin(f.choices).to_numpy()):
            problem(
                f"值 {values[i]!r} 不在允许范围 {list(f.choices)} (not an allowed value)",
                index=i,
                field=f.name,
            )
    if f.kind == "str":
        # Only spaces is no value: an optional field stores none, not "".
        values = values.where(~(ok & (values == "").to_numpy(dtype=bool)), None)
        for i in np.flatnonzero(ok & values.map(_looks_like_a_location).to_numpy(dtype=bool)):
            problem(
                f"值 {values[i]!r} 像网址或 GDAL 路径, 不接受 (a URL or GDAL path is not "
                "accepted as a value)",
                index=i,
                field=f.name,
            )
    if f.kind in ("float", "int"):
        nums = values.astype(float).to_numpy()
        for limit, cmp, word in (
            (f.minimum, np.less, "小于下限"),
            (f.maximum, np.greater, "大于上限"),
        ):
            if limit is None:
                continue
            for i in np.flatnonzero(ok & cmp(np.nan_to_num(nums, nan=limit), limit)):
                problem(f"值 {values[i]} {word} {limit} (out of range)", index=i, field=f.name)
    return values


# A value some tool might follow: a URL (http://, ftp://, file://, …) or a GDAL virtual
# file system path (/vsicurl/, /vsizip/, …). No field of ours holds one.
_LOCATION = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*://|/vsi[a-z0-9_]+/", re.IGNORECASE)


def _looks_like_a_location(value: object) -> bool:
    return isinstance(value, str) and _LOCATION.search(value) is not None


def _as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id stored as a number by a spreadsheet
    return str(value)


def _as_bool(value: object) -> bool | None:
    if _is_null(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.number) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _check_bounds(columns: dict[str, pd.Series], problem: Callable[..., None]) -> None:
    """A control indicator's lower bound may not exceed its upper bound."""
    for lo_name in [name for name in columns if name.endswith("_lo")]:
        hi_name = lo_name[:-3] + "_hi"
        if hi_name not in columns:
            continue
        lo, hi = columns[lo_name], columns[hi_name]
        for i in np.flatnonzero((lo > hi).fillna(False).to_numpy(dtype=bool)):
            problem(
                f"下限 {lo[i]} 大于上限 {hi[i]} (lower bound above upper bound)",
                index=i,
                field=lo_name,
            )


def _check_duplicate_ids(ids: pd.Series, spec: LayerSpec, problem: Callable[..., None]) -> None:
    present = ids.dropna()
    for group in present.groupby(present).groups.values():
        if len(group) > 1:
            first = int(group[0])
            others = ", ".join(str(int(i) + 1) for i in group[1:])
            problem(
                f"编号重复, 另见第 {others} 行 (duplicate id, also on rows {others})",
                index=first,
                field=spec.id_field,
            )


def _check_geometry(
    frame: gpd.GeoDataFrame,
    spec: LayerSpec,
    problem: Callable[..., None],
    repaired: list[tuple[int, str]] | None = None,
) -> np.ndarray:
    """Checked geometries; invalid ones are problems, or, when ``repaired`` is a list
    (an explicit repair), fixed within :data:`REPAIR_TOLERANCE` and noted there."""
    geoms = frame.geometry.values.to_numpy() if len(frame) else np.array([], dtype=object)
    missing = shapely.is_missing(geoms)
    empty = ~missing & shapely.is_empty(geoms)
    for i in np.flatnonzero(missing | empty):
        problem("几何为空 (geometry missing or empty)", index=i, field=GEOMETRY)
    ok = ~(missing | empty)
    names = np.array([g.geom_type if o else "" for g, o in zip(geoms, ok, strict=True)])
    for i in np.flatnonzero(ok & ~np.isin(names, spec.geometry_types)):
        problem(
            f"几何类型 {geoms[i].geom_type} 不符, 应为 {'/'.join(spec.geometry_types)} "
            "(wrong geometry type)",
            index=i,
            field=GEOMETRY,
        )
    for i in np.flatnonzero(ok & (shapely.has_z(geoms) | shapely.has_m(geoms))):
        problem(
            "含 Z 或 M 坐标, 应为二维 (Z or M coordinates; 2D expected)", index=i, field=GEOMETRY
        )
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    finite = np.ones(len(geoms), dtype=bool)
    finite[owner[~np.isfinite(coords).all(axis=1)]] = False
    for i in np.flatnonzero(~finite):
        problem("坐标含 NaN 或无穷大 (non-finite coordinates)", index=i, field=GEOMETRY)
    check = ok & finite
    invalid = check & ~shapely.is_valid(geoms)
    geoms = geoms.copy()
    for i in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(geoms[i])
        if repaired is None:
            problem(f"几何无效: {reason} (invalid geometry; not repaired)", index=i, field=GEOMETRY)
            continue
        fixed, note = _repair(geoms[i], spec)
        if fixed is None:
            problem(f"几何无效: {reason}; {note}", index=i, field=GEOMETRY)
        else:
            geoms[i] = fixed
            repaired.append((int(i), f"几何已修复: {reason}; {note}"))
    return geoms


REPAIR_TOLERANCE = 0.01
"""An explicit repair may change a feature's area by at most 1 %; more is refused."""


def _repair(geom: shapely.Geometry, spec: LayerSpec) -> tuple[shapely.Geometry | None, str]:
    """The valid geometry ``make_valid`` gives, kept to the layer's types, and a note with
    the area before and after; ``None`` when the change is too large to accept."""
    fixed = shapely.make_valid(geom)
    if "Polygon" in spec.geometry_types[0]:
        parts = [p for p in shapely.get_parts(fixed) if p.geom_type == "Polygon"]
        fixed = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
    before, after = float(shapely.area(geom)), float(shapely.area(fixed))
    change = abs(after - before) / before if before > 0 else float("inf")
    note = (
        f"面积 {before:.6g} → {after:.6g} ({change:.2%}, 坐标单位 in the file's units)"
        if change != float("inf")
        else f"面积 {before:.6g} → {after:.6g}"
    )
    if shapely.is_empty(fixed) or fixed.geom_type not in spec.geometry_types:
        return None, f"无法修复为{'/'.join(spec.geometry_types)} (cannot be repaired)"
    if change > REPAIR_TOLERANCE:
        return None, f"修复将改变面积超过 {REPAIR_TOLERANCE:.0%}, 拒绝 (repair refused): {note}"
    return fixed, f"{note} (repaired on request)"


def _derive_parcels(frame: gpd.GeoDataFrame) -> None:
    m2 = area_m2(frame.geometry)
    frame["area_m2"] = np.round(m2, 2)
    frame["area_mu"] = np.round(mu_from_m2(m2), 3)
    frame["area_warn"] = pd.array(
        area_mismatch(frame["decl_mu"], np.asarray(mu_from_m2(m2))), dtype="boolean"
    )
    levels, gaps = readiness_table(frame)
    frame["readiness"] = levels
    frame["gaps"] = gaps


def _derive_parks(frame: gpd.GeoDataFrame) -> None:
    frame["egy_left"] = frame["egy_total"] - frame["egy_alloc"]
    for key in POLLUTANTS:
        frame[f"{key}_left"] = frame[f"{key}_cap"] - frame[f"{key}_used"]


_DERIVATIONS: dict[str, Callable[[gpd.GeoDataFrame], None]] = {
    PARCELS.name: _derive_parcels,
    PARKS.name: _derive_parks,
}


def derive(frame: gpd.GeoDataFrame, spec: LayerSpec) -> gpd.GeoDataFrame:
    """A copy of a canonical frame with the layer's derived fields added, in spec order."""
    out = frame.copy()
    if spec.name in _DERIVATIONS:
        _DERIVATIONS[spec.name](out)
    return out[[*spec.field_names(), out.geometry.name]]
