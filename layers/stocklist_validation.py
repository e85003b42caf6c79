"""Validation of a stock-list file: every problem in one :class:`Report`, nothing loaded.

The land bureau's file is read and checked whole; every problem is collected into one
report (JSON and a Chinese summary) naming file, row, parcel id and field. Beyond the
parcels layer's own validation, a list has its own rules: one year, no overlaps, every
parcel in its park.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.area import area_m2
from layers.catalog import PARCELS
from layers.crs import STORAGE_EPSG
from layers.errors import GeoServiceError, InvalidInput, LayerValidationError, Problem
from layers.frames import GEOMETRY, Check, ProblemFn, derive
from layers.io import read_layer_file
from layers.loader import check_in_parks

OVERLAP_TOLERANCE_M2 = 1.0
"""Two parcels may share a digitising sliver up to this area; more is refused."""
MAX_FILE_BYTES = 512 * 2**20


@dataclass
class Report:
    """Everything found in one file: ``problems`` refuse it, ``warnings`` are flagged."""

    source: str
    year: int
    features: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "year": self.year,
            "features": self.features,
            "accepted": self.accepted,
            "problems": [p.as_dict() for p in self.problems],
            "warnings": [w.as_dict() for w in self.warnings],
        }

    def summary(self) -> str:
        """The report as a person reads it (Chinese, with English)."""
        refused = "未通过校验, 未导入 (refused, nothing changed)"
        verdict = "通过校验 (accepted)" if self.accepted else refused
        lines = [
            f"{self.source}: {self.year} 年清单, {self.features} 宗地块 — {verdict}",
            f"问题 {len(self.problems)} 个 (problems), 提示 {len(self.warnings)} 个 (warnings)",
        ]
        lines += [f"  ✗ {p}" for p in self.problems[:200]]
        if len(self.problems) > 200:
            lines.append(f"  … 另有 {len(self.problems) - 200} 个 (and more; see the JSON report)")
        lines += [f"  ! {w}" for w in self.warnings[:50]]
        return "\n".join(lines)


def validate(
    path: Path,
    *,
    year: int,
    parks: gpd.GeoDataFrame | None = None,
    crs: str | int | None = None,
    encoding: str | None = None,
    overlap_tolerance_m2: float = OVERLAP_TOLERANCE_M2,
    name: str | None = None,
    repair: bool = False,
) -> tuple[gpd.GeoDataFrame | None, Report]:
    """Read and check a stock-list file; the canonical parcels, or ``None`` if refused.

    Beyond the layer's own validation (format, encoding, CRS and zone, fields, geometry,
    duplicate ids): every row's ``list_year`` must be ``year``, every parcel must lie in
    the park it names (when ``parks`` are given), overlaps above the tolerance are named
    in pairs, and declared vs computed area differences are flagged. ``name`` is the
    file's name as the user knows it (an upload is read from a temporary file of ours).
    ``repair`` repairs invalid geometry explicitly: each repair is listed in the report's
    warnings with the area before and after, and one changing the area by more than 1 %
    is refused.
    """
    frame, report = _validate(path, year, parks, crs, encoding, overlap_tolerance_m2, repair)
    if name is not None:
        report.source = name
        report.problems = [_renamed(p, path.name, name) for p in report.problems]
        report.warnings = [_renamed(w, path.name, name) for w in report.warnings]
    return frame, report


def _renamed(problem: Problem, old: str, new: str) -> Problem:
    if problem.file != old:
        return problem
    return dataclasses.replace(problem, file=new, message=problem.message.replace(old, new))


def _validate(
    path: Path,
    year: int,
    parks: gpd.GeoDataFrame | None,
    crs: str | int | None,
    encoding: str | None,
    overlap_tolerance_m2: float,
    repair: bool,
) -> tuple[gpd.GeoDataFrame | None, Report]:
    report = Report(source=path.name, year=year)
    repairs: list[Problem] | None = [] if repair else None
    checks = [_in_year(year), _no_overlaps(overlap_tolerance_m2)]
    if parks is not None and len(parks):
        checks.append(_in_parks(parks, path.name))
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InvalidInput(f"{path.name}: 文件超过 {MAX_FILE_BYTES // 2**20} MB (too large)")
        frame = read_layer_file(
            path, PARCELS, crs=crs, encoding=encoding, checks=checks, repairs=repairs
        )
    except LayerValidationError as exc:
        report.problems = list(exc.problems)
        return None, report
    except GeoServiceError as exc:  # refused before any row was read (format, zip, …)
        report.problems = [Problem(exc.message, path.name)]
        return None, report
    report.features = len(frame)
    if not len(frame):
        # Published, an empty list would take every parcel off the public map.
        report.problems = [
            Problem(
                "清单没有地块 (空 GeoJSON 或只有表头), 未导入 (the list has no parcels: an "
                "empty GeoJSON or a header-only table; nothing imported)",
                path.name,
            )
        ]
        return None, report
    report.warnings += repairs or []
    derived = derive(frame, PARCELS)
    ids = frame[PARCELS.id_field].astype(str).to_numpy()
    for i in np.flatnonzero(derived["area_warn"].fillna(False).to_numpy(dtype=bool)):
        report.warnings.append(
            Problem(
                f"申报面积 {derived['decl_mu'].iloc[i]:g} 亩与计算面积 "
                f"{derived['area_mu'].iloc[i]:g} 亩不符 (declared area differs from computed)",
                path.name,
                int(i) + 1,
                ids[i],
                "decl_mu",
            )
        )
    return frame, report


def _in_year(year: int) -> Check:
    def check(columns: dict[str, pd.Series], _geometry: Any, problem: ProblemFn) -> None:
        years = pd.to_numeric(columns["list_year"], errors="coerce")
        for i in np.flatnonzero((years.notna() & (years != year)).to_numpy()):
            problem(
                f"清单年度为 {int(years.iloc[i])}, 不是 {year} (list year is not {year})",
                index=int(i),
                field="list_year",
            )

    return check


def _no_overlaps(tolerance_m2: float) -> Check:
    def check(columns: dict[str, pd.Series], geometry: Any, problem: ProblemFn) -> None:
        if geometry is None or not len(geometry):
            return
        left, right = shapely.STRtree(geometry).query(geometry, predicate="intersects")
        pairs = left < right
        left, right = left[pairs], right[pairs]
        shared = gpd.GeoSeries(
            shapely.intersection(geometry[left], geometry[right]), crs=STORAGE_EPSG
        )
        areas = np.nan_to_num(area_m2(shared)) if len(left) else np.array([])
        ids = columns[PARCELS.id_field].astype(str).to_numpy()
        for i, j, area in zip(left, right, areas, strict=True):
            if area > tolerance_m2:
                problem(
                    f"与地块 {ids[j]} (第 {j + 1} 行) 重叠 {area:,.1f} m², 超过容差 "
                    f"{tolerance_m2:g} m² (overlaps parcel {ids[j]} on row {j + 1})",
                    index=int(i),
                    field=GEOMETRY,
                )

    return check


def _in_parks(parks: gpd.GeoDataFrame, source: str) -> Check:
    def check(columns: dict[str, pd.Series], geometry: Any, problem: ProblemFn) -> None:
        if geometry is None:
            return
        frame = gpd.GeoDataFrame(
            {"park_id": columns["park_id"], PARCELS.id_field: columns[PARCELS.id_field]},
            geometry=gpd.GeoSeries(geometry, crs=STORAGE_EPSG),
        )
        for p in check_in_parks(frame, parks, source=source, id_field=PARCELS.id_field):
            problem(p.message, index=(p.row or 1) - 1, field=p.field)

    return check


__all__ = ["Report", "validate"]
