"""Layer frames: a GeoDataFrame in the canonical form of its :class:`LayerSpec`.

``conform`` turns whatever a file reader produced into that form — or refuses it with
every problem found, each naming the file, row, feature id and field. Nothing is
repaired silently. ``derive`` adds the computed fields (areas, readiness, remaining
budgets).

Each column is parsed and checked by :mod:`layers.values` (which names the canonical
column types); geometry is checked here and stored in EPSG:4490.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.area import area_m2, area_mismatch, mu_from_m2
from layers.catalog import BUDGETS, PARCELS, PARKS
from layers.crs import STORAGE_EPSG, check_zone_extent, epsg_of
from layers.errors import CRSMismatch, LayerValidationError, Problem
from layers.readiness import readiness_table
from layers.schema import LayerSpec
from layers.text import normalise_id, shown
from layers.values import coerce, field_type, is_null

GEOMETRY = "geometry"
# A few identifier-like columns that file writers add on their own.
_IGNORED_COLUMNS = frozenset({"fid", "ogc_fid", "id"})


ProblemFn = Callable[..., None]
Check = Callable[[dict[str, pd.Series], "np.ndarray | None", ProblemFn], None]


def empty_frame(spec: LayerSpec) -> gpd.GeoDataFrame:
    """A frame with the layer's stored columns and no rows."""
    data = {f.name: pd.Series([], dtype=field_type(f).dtype) for f in spec.stored_fields}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=STORAGE_EPSG), crs=STORAGE_EPSG)


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
    _require_geometry_column(frame, source)
    frame = frame.reset_index(drop=True)
    problems = _Problems(source, _id_labels(frame, spec))
    src_epsg = _source_epsg(frame, declared_crs, problems)
    crs_sound = not problems.found
    _check_known_columns(frame, spec, problems)
    columns = _coerced_columns(frame, spec, problems)
    _check_bounds(columns, problems)
    _check_duplicate_ids(columns[spec.id_field], spec, problems)
    geometry, placed = _placed_geometry(
        frame, spec, src_epsg, problems, crs_sound=crs_sound, repairs=repairs
    )
    for check in checks:
        check(columns, placed, problems)
    if problems.found:
        raise LayerValidationError(
            f"{source}: {len(problems.found)} 个问题, 图层 {spec.name} 未导入 "
            f"({len(problems.found)} problems; layer {spec.name} not loaded)",
            problems.found,
        )
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(geometry, crs=STORAGE_EPSG))


class _Problems:
    """The problems found in one file, each naming the file and, for a row, its number
    (from 1) and feature id. Called as ``problem(message, index=, field=)``."""

    def __init__(self, source: str, ids: list[str | None]) -> None:
        self.source = source
        self.ids = ids
        self.found: list[Problem] = []

    def __call__(self, message: str, *, index: int | None = None, field: str | None = None) -> None:
        self.found.append(self.at(message, index=index, field=field))

    def at(self, message: str, *, index: int | None, field: str | None) -> Problem:
        """A problem (or a note) about row ``index``, or about the whole file."""
        return Problem(
            message,
            file=self.source,
            row=int(index) + 1 if index is not None else None,
            feature_id=self.ids[index] if index is not None else None,
            field=field,
        )


def _require_geometry_column(frame: gpd.GeoDataFrame, source: str) -> None:
    """A table without geometry is refused at once: no other check would mean anything."""
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


def _check_known_columns(frame: gpd.GeoDataFrame, spec: LayerSpec, problem: ProblemFn) -> None:
    """Derived columns and writer-added id columns are ignored; any other unknown column
    is a problem."""
    known = {f.name for f in spec.fields} | _IGNORED_COLUMNS | {GEOMETRY}
    unknown = [c for c in frame.columns if c not in known and c != frame.geometry.name]
    if unknown:
        problem(f"未知字段 (unknown fields, see docs/layers.md): {', '.join(map(str, unknown))}")


def _coerced_columns(
    frame: gpd.GeoDataFrame, spec: LayerSpec, problem: ProblemFn
) -> dict[str, pd.Series]:
    """Every stored field's column in its canonical type; a missing one is all missing."""
    out: dict[str, pd.Series] = {}
    for f in spec.stored_fields:
        if f.name not in frame.columns:
            # An empty GeoJSON cannot carry its field list; with no rows nothing is missing.
            if f.required and len(frame):
                problem("缺少必填字段 (required field missing)", field=f.name)
            out[f.name] = pd.Series([None] * len(frame), dtype=field_type(f).dtype)
            continue
        out[f.name] = coerce(frame[f.name], f, problem)
    return out


def _placed_geometry(
    frame: gpd.GeoDataFrame,
    spec: LayerSpec,
    src_epsg: int,
    problems: _Problems,
    *,
    crs_sound: bool,
    repairs: list[Problem] | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The checked geometry (repaired if asked, each repair noted in ``repairs``), and the
    same in EPSG:4490 for the caller's checks, or ``None`` when it is not sound.

    Geometry goes to EPSG:4490 whenever the CRS and every geometry are sound, so checks
    across features (overlaps, parks) still run when some attribute is wrong."""
    before_geometry = len(problems.found)
    fixed: list[tuple[int, str]] | None = None if repairs is None else []
    geometry = _check_geometry(frame, spec, problems, fixed)
    if repairs is not None:
        repairs += [problems.at(note, index=i, field=GEOMETRY) for i, note in fixed or []]
    if not crs_sound or len(problems.found) != before_geometry:
        return geometry, None
    transforming = len(problems.found)
    geometry = _to_storage(geometry, src_epsg, problems)
    return geometry, geometry if len(problems.found) == transforming else None


# China's extent in degrees; a feature outside it after transformation means a wrong CRS,
# swapped axes or a stray feature (CAD exports often carry one at 0,0).
_CHINA = (73.0, 3.0, 136.0, 54.0)


def _to_storage(geometry: np.ndarray, src_epsg: int, problem: ProblemFn) -> np.ndarray:
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
    return [None if is_null(v) else shown(normalise_id(str(v))) for v in frame[spec.id_field]]


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


Measured = tuple[int, np.ndarray]
"""An EPSG code and the areas, m², of a frame's geometries measured in that CRS (see
:func:`area_m2`)."""
Met = Mapping[str, np.ndarray]
"""Which readiness conditions each parcel meets, as :func:`conditions_met` gives them."""


def _derive_parcels(frame: gpd.GeoDataFrame, measured: Measured | None, met: Met | None) -> None:
    m2 = area_m2(frame.geometry, measured=measured)
    frame["area_m2"] = np.round(m2, 2)
    frame["area_mu"] = np.round(mu_from_m2(m2), 3)
    frame["area_warn"] = pd.array(
        area_mismatch(frame["decl_mu"], np.asarray(mu_from_m2(m2))), dtype="boolean"
    )
    levels, gaps = readiness_table(frame, met=met)
    frame["readiness"] = levels
    frame["gaps"] = gaps


def _derive_parks(frame: gpd.GeoDataFrame, measured: Measured | None, met: Met | None) -> None:
    for budget in BUDGETS:
        frame[budget.left] = frame[budget.total] - frame[budget.allocated]


_DERIVATIONS: dict[str, Callable[[gpd.GeoDataFrame, Measured | None, Met | None], None]] = {
    PARCELS.name: _derive_parcels,
    PARKS.name: _derive_parks,
}


def derive(
    frame: gpd.GeoDataFrame,
    spec: LayerSpec,
    *,
    measured: Measured | None = None,
    met: Met | None = None,
) -> gpd.GeoDataFrame:
    """A copy of a canonical frame with the layer's derived fields added, in spec order.

    ``measured`` spares :func:`area_m2` measuring areas the caller has measured,
    ``met`` (parcels) working out again the readiness conditions the caller has."""
    out = frame.copy(deep=False)  # derived columns are new arrays; the selection copies
    if spec.name in _DERIVATIONS:
        _DERIVATIONS[spec.name](out, measured, met)
    return out[[*spec.field_names(), out.geometry.name]]
