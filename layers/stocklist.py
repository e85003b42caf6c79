"""The yearly stock list (存量可出让 + 增量可报批土地清单): import, validate, diff, publish.

The land bureau's file is read and checked whole; every problem is collected into one
report (JSON and a Chinese summary) naming file, row, parcel id and field. A list that
passes is *staged* — stored as a release nobody else sees — with its diff against the
list in force; publishing then switches the one-row pointer, atomically. A refused file
changes nothing but the audit log, which records the attempt.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from layers.area import area_m2
from layers.catalog import ON_OFFER, PARCELS, PARKS
from layers.crs import STORAGE_EPSG
from layers.errors import (
    GeoServiceError,
    InvalidInput,
    LayerValidationError,
    Problem,
    RemovalsUnconfirmed,
)
from layers.frames import GEOMETRY, Check, ProblemFn, derive
from layers.geojson import plain as _plain
from layers.io import read_layer_file
from layers.loader import check_in_parks
from layers.store.audit import Actor
from layers.store.releases import Release
from layers.store.store import Store
from layers.text import normalise_id

OVERLAP_TOLERANCE_M2 = 1.0
"""Two parcels may share a digitising sliver up to this area; more is refused."""
MAX_FILE_BYTES = 512 * 2**20
MAX_REMOVED_SHARE = 0.2
"""A list removing more than this share of the parcels in force needs confirmation."""


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


@dataclass
class Diff:
    """The staged list against the list in force, by parcel id."""

    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "area_mu": {
                "added": round(sum(a["area_mu"] for a in self.added), 3),
                "removed": round(sum(r["area_mu"] for r in self.removed), 3),
                "changed": round(sum(c["area_mu"][1] - c["area_mu"][0] for c in self.changed), 3),
            },
        }

    def summary(self) -> str:
        totals = self.as_dict()["area_mu"]
        return (
            f"新增 {len(self.added)} 宗 (added, {totals['added']:,.1f} 亩), "
            f"移除 {len(self.removed)} 宗 (removed, {totals['removed']:,.1f} 亩), "
            f"变更 {len(self.changed)} 宗 (changed, 面积净变化 {totals['changed']:+,.1f} 亩), "
            f"未变 {self.unchanged} 宗 (unchanged)"
        )


@dataclass
class Imported:
    report: Report
    diff: Diff | None = None
    release: Release | None = None


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


ROUTINE = frozenset({"list_year"})
"""Fields every row of a new year's list changes: a parcel whose only change is one of
these is counted as unchanged (its other changes still list them)."""
_COMPARED = [f.name for f in PARCELS.stored_fields]


def diff(current: gpd.GeoDataFrame, staged: gpd.GeoDataFrame) -> Diff:
    """Added, removed and changed parcels (field by field, and area in 亩) by parcel id;
    a change of :data:`ROUTINE` fields alone is not a change."""
    # Ids as the project spells them on both sides: a list stored before ids were
    # normalised still matches its parcels in a new file (no "removed X, added X").
    old = derive(current, PARCELS)
    new = derive(staged, PARCELS)
    old.index = pd.Index(old[PARCELS.id_field].astype(str).map(normalise_id))
    new.index = pd.Index(new[PARCELS.id_field].astype(str).map(normalise_id))
    out = Diff()
    for pid in new.index.difference(old.index, sort=False):
        out.added.append(_brief(new.loc[pid]))
    for pid in old.index.difference(new.index, sort=False):
        out.removed.append(_brief(old.loc[pid]))
    shared = new.index.intersection(old.index, sort=False)
    before, after = old.loc[shared], new.loc[shared]
    differs = {name: _differs(before[name], after[name]) for name in _COMPARED}
    differs[GEOMETRY] = ~shapely.equals_exact(
        before.geometry.values.to_numpy(), after.geometry.values.to_numpy(), 1e-9
    )
    real = np.zeros(len(shared), dtype=bool)
    for name, mask in differs.items():
        if name not in ROUTINE:
            real |= mask
    out.unchanged = int((~real).sum())
    for i in np.flatnonzero(real):  # only the rows that changed: a few among thousands
        fields = {
            name: ["…", "…"] if name == GEOMETRY
            else [_plain(before[name].iloc[i]), _plain(after[name].iloc[i])]
            for name, mask in differs.items() if mask[i]
        }  # fmt: skip
        out.changed.append(
            {
                "parcel_id": str(shared[i]),
                "name": _plain(after["name"].iloc[i]),
                "fields": fields,
                "area_mu": [float(before["area_mu"].iloc[i]), float(after["area_mu"].iloc[i])],
            }
        )
    return out


def _brief(row: Any) -> dict[str, Any]:
    return {
        "parcel_id": str(row[PARCELS.id_field]),
        "name": _plain(row["name"]),
        "park_id": _plain(row["park_id"]),
        "area_mu": float(row["area_mu"]),
    }


def _differs(a: pd.Series, b: pd.Series) -> npt.NDArray[np.bool_]:
    """Row by row, whether two aligned columns differ (missing equals missing; numbers
    within 1e-9)."""
    a_missing, b_missing = a.isna().to_numpy(), b.isna().to_numpy()
    numeric = [pd.api.types.is_numeric_dtype(c) and not pd.api.types.is_bool_dtype(c)
               for c in (a, b)]  # fmt: skip
    if all(numeric):
        x = a.to_numpy(dtype=float, na_value=np.nan)
        y = b.to_numpy(dtype=float, na_value=np.nan)
        same = np.isclose(x, y, rtol=0, atol=1e-9) | (a_missing & b_missing)
    else:
        x = a.astype(object).to_numpy()
        y = b.astype(object).to_numpy()
        same = np.array(
            [(m and n) or (not m and not n and u == v)
             for u, v, m, n in zip(x, y, a_missing, b_missing, strict=True)],
            dtype=bool,
        )  # fmt: skip
    return np.asarray(~same, dtype=bool)


def import_list(
    store: Store,
    path: Path,
    *,
    year: int,
    actor: Actor,
    crs: str | int | None = None,
    encoding: str | None = None,
    overlap_tolerance_m2: float = OVERLAP_TOLERANCE_M2,
    name: str | None = None,
    repair: bool = False,
    max_removed_share: float = MAX_REMOVED_SHARE,
    confirm_removals: bool = False,
) -> Imported:
    """Validate ``path`` and, if it passes, stage it with its diff; otherwise change
    nothing but the audit log. The staged release waits for :func:`publish`.

    A list that would remove more than ``max_removed_share`` of the parcels in force is
    staged only with ``confirm_removals``; otherwise :class:`RemovalsUnconfirmed` names
    how many of how many."""
    source = path.read_bytes()  # kept as it came; read before GDAL sees the file
    frame, report = validate(
        path,
        year=year,
        parks=store.features.read(PARKS),
        crs=crs,
        encoding=encoding,
        overlap_tolerance_m2=overlap_tolerance_m2,
        name=name,
        repair=repair,
    )
    if frame is None:
        store.audit.record(
            actor,
            "stock_list.reject",
            f"{report.source} ({year})",
            after={"problems": len(report.problems), "first": str(report.problems[0])},
        )
        return Imported(report)
    base = store.releases.current_id()  # the diff is against this list, stored as it was
    in_force = store.features.read(PARCELS, release=base) if base else store.features.read(PARCELS)
    changes = diff(in_force, frame)
    # Taken off the offer: gone from the list, or still listed but no longer available —
    # either way investors lose it, so both count towards the share to confirm.
    leaving = [r["parcel_id"] for r in changes.removed] + [
        c["parcel_id"] for c in changes.changed if _leaves_offer(c["fields"].get("status"))
    ]
    removed, total = len(leaving), len(in_force)
    if not confirm_removals and total and removed / total > max_removed_share:
        store.audit.record(
            actor,
            "stock_list.reject",
            f"{report.source} ({year})",
            after={"removed": removed, "in_force": total, "confirmed": False},
        )
        raise RemovalsUnconfirmed(
            f"{report.source}: 将移除或撤下现行清单 {total} 宗中的 {removed} 宗 "
            f"({removed / total:.1%}), 超过 {max_removed_share:.1%}; 确认后重新导入 "
            f"(the list would remove or take off offer {removed} of the {total} parcels in "
            f"force ({removed / total:.1%}), more than {max_removed_share:.1%}: check the "
            "file, then import it again confirming the removals: --confirm-removals, or "
            "confirm_removals=true over HTTP)",
            details={
                "file": report.source,
                "removed": len(changes.removed),
                "taken_off_offer": removed - len(changes.removed),
                "in_force": total,
                "max_removed_share": max_removed_share,
                "removed_ids": leaving[:200],
            },
        )
    release = store.releases.stage(
        frame,
        year=year,
        source=(report.source, source),
        report={"validation": report.as_dict(), "diff": changes.as_dict()},
        actor=actor,
        base=base,
    )
    return Imported(report, changes, release)


def _leaves_offer(status: list[Any] | None) -> bool:
    """Whether a changed status (before, after) takes a parcel off the offer."""
    on_offer = ON_OFFER[PARCELS.name]
    return status is not None and status[0] == on_offer and status[1] != on_offer


def staged_diff(store: Store, release: Release) -> Diff:
    """The diff of a release against the list in force now (both as stored)."""
    base = store.releases.current_id()
    in_force = store.features.read(PARCELS, release=base) if base else store.features.read(PARCELS)
    return diff(in_force, store.features.read(PARCELS, release=release.id))


__all__ = ["Diff", "Imported", "Report", "diff", "import_list", "staged_diff", "validate"]
