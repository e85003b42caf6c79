"""Load a layer file into a store: read, validate, check against the other layers, write.

This is the one path by which files enter a store (the CLI and the service call it), so
no caller can skip a check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely

from layers.catalog import PARKS
from layers.errors import LayerValidationError, Problem
from layers.io import read_layer_file
from layers.schema import LayerSpec
from layers.store.audit import Actor
from layers.store.store import Store


@dataclass
class LoadReport:
    count: int
    warnings: list[str] = field(default_factory=list)


def check_in_parks(
    frame: gpd.GeoDataFrame, parks: gpd.GeoDataFrame, *, source: str, id_field: str
) -> list[Problem]:
    """Problems for features whose ``park_id`` is unknown or that lie outside that park.

    A feature lies in its park when a point on its surface is in the park's boundary; this
    tolerates slivers along park edges but catches a wrong Gauss-Krüger zone (unprefixed
    eastings fit every zone, so the extent check alone cannot) and wrong park ids.
    """
    boundaries = dict(zip(parks[PARKS.id_field], parks.geometry.values, strict=True))
    points = shapely.point_on_surface(frame.geometry.values)
    problems = []
    for i, (park_id, point) in enumerate(zip(frame["park_id"], points, strict=True)):
        feature_id = str(frame[id_field].iloc[i])
        boundary = boundaries.get(park_id)
        if boundary is None:
            known = ", ".join(sorted(boundaries))
            message = f"园区 {park_id!r} 不存在 (no such park; known: {known})"
            problems.append(Problem(message, source, i + 1, feature_id, "park_id"))
        elif not shapely.covers(boundary, point):
            message = (
                f"不在园区 {park_id} 范围内 ({point.x:.5f}, {point.y:.5f}); 坐标系或带号错误? "
                "(outside its park: wrong CRS or zone?)"
            )
            problems.append(Problem(message, source, i + 1, feature_id, "geometry"))
    return problems


def load_file(
    store: Store,
    spec: LayerSpec,
    path: Path,
    *,
    actor: Actor,
    crs: str | int | None = None,
    encoding: str | None = None,
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
    on_read: Callable[[int], None] | None = None,
) -> LoadReport:
    """Read ``path`` as layer ``spec`` and store it whole, or refuse it and change nothing.

    ``on_read`` is called with the number of features once the file is validated;
    ``progress`` with the number written so far.
    """
    frame = read_layer_file(path, spec, crs=crs, encoding=encoding)
    report = LoadReport(count=len(frame))
    if "park_id" in spec.field_names() and spec.name != PARKS.name:
        parks = store.features.read(PARKS)
        if parks.empty:
            report.warnings.append(
                "园区图层为空, 未检查要素是否位于所属园区 (parks not loaded yet: "
                "park membership not checked; load parks first)"
            )
        else:
            problems = check_in_parks(frame, parks, source=path.name, id_field=spec.id_field)
            if problems:
                raise LayerValidationError(
                    f"{path.name}: {len(problems)} 个要素与园区不符, 图层 {spec.name} 未导入 "
                    f"({len(problems)} features do not match their parks; not loaded)",
                    problems,
                )
    if on_read is not None:
        on_read(len(frame))
    store.features.write(
        spec,
        frame,
        actor=actor,
        replace=replace,
        progress=progress,
        source=(path.name, path.read_bytes()) if spec.released else None,
    )
    return report


__all__ = ["LoadReport", "check_in_parks", "load_file"]
