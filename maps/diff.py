"""Stock-list diff map (清单差异图, staff): a staged list against the list in force.

Added parcels green, removed red (dashed, drawn where they were), changed amber, unchanged
faint grey; each popup says what changed field by field (old → new) and the area change in
亩, a legend counts parcels and 亩 per class. The classification is
:func:`layers.stocklist.diff`'s, with one exception: a parcel whose only change is the list
year counts as unchanged here — every parcel of next year's list changes its year, and a
map all amber would hide the changes that matter. Its popup still shows the year.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np

from layers.catalog import PARCELS, PARKS, ROADS
from layers.crs import STORAGE_CRS
from layers.errors import CRSMismatch
from layers.frames import GEOMETRY, derive
from layers.stocklist_diff import Diff, diff
from layers.store.releases import Release
from maps.base import FeatureLayer, Script, feature_collection, finish, new_map
from maps.basemap import Basemap
from maps.html import escape, legend, table

CLASSES = ("unchanged", "added", "changed", "removed")
"""Drawing order, bottom first: a removed parcel is drawn last, lightly filled with a
dashed outline, so that a parcel offered again on its land still shows green beneath."""
NAMES = {
    "added": ("新增", "Added"),
    "removed": ("移除", "Removed"),
    "changed": ("变更", "Changed"),
    "unchanged": ("未变", "Unchanged"),
}
COLOURS = {"added": "#1a9850", "removed": "#d73027", "changed": "#ffb000", "unchanged": "#d0d0d0"}
STYLES = {
    "added": {"color": "#0b5d2a", "weight": 1.5, "fillColor": COLOURS["added"], "fillOpacity": 0.7},
    "changed": {
        "color": "#8a5a00",
        "weight": 1.5,
        "fillColor": COLOURS["changed"],
        "fillOpacity": 0.8,
    },
    "removed": {
        "color": COLOURS["removed"],
        "weight": 3,
        "dashArray": "6 4",
        "fillColor": COLOURS["removed"],
        "fillOpacity": 0.25,
    },
    "unchanged": {
        "color": "#a0a0a0",
        "weight": 0.8,
        "fillColor": COLOURS["unchanged"],
        "fillOpacity": 0.3,
    },
}
_FIELDS = {f.name: f for f in PARCELS.fields}


def diff_map(
    current: gpd.GeoDataFrame,
    staged: gpd.GeoDataFrame,
    frames_for_context: Mapping[str, gpd.GeoDataFrame],
    *,
    basemap: Basemap | None = None,
    title: str = "清单差异 Stock-list diff",
) -> folium.Map:
    """The parcels of ``staged`` against those of ``current`` (both canonical parcel frames
    in EPSG:4490), coloured by what :func:`layers.stocklist.diff` found, popups embedded,
    over the parks and roads of ``frames_for_context``.

    Removed parcels are drawn from ``current``, all others from ``staged``.
    """
    basemap = basemap or Basemap()
    for name, frame in (("current", current), ("staged", staged)):
        if frame.crs != STORAGE_CRS:
            raise CRSMismatch(
                f"the {name} list is in {frame.crs}, not EPSG:4490 (CGCS2000) like the map; "
                "read it from the store or reproject it first"
            )
    old = derive(current, PARCELS).set_index(PARCELS.id_field, drop=False)
    new = derive(staged, PARCELS).set_index(PARCELS.id_field, drop=False)
    drawn = _classified(diff(current, staged), old, new)
    parks = frames_for_context.get(PARKS.name)
    shown = (
        parks
        if parks is not None and len(parks)
        else gpd.GeoSeries([*old.geometry, *new.geometry], crs=STORAGE_CRS)
    )
    bounds = tuple(shown.total_bounds)
    context = {
        k: frames_for_context[k] for k in (PARKS.name, ROADS.name) if k in frames_for_context
    }
    m = new_map(bounds, title=title, basemap=basemap, context=context)
    for cls in CLASSES:
        parcels = drawn[cls]
        if not parcels:
            continue
        source = old if cls == "removed" else new
        geometries = source.geometry.loc[[pid for pid, _ in parcels]].to_numpy()
        props: list[dict[str, Any]] = [{"_cls": cls, "_popup": popup} for _, popup in parcels]
        zh, en = NAMES[cls]
        m.add_child(
            FeatureLayer(
                feature_collection(np.asarray(geometries), props, basemap),
                STYLES,
                name=f"{zh} {en} ({len(parcels)})",
            )
        )
    m.add_child(Script("geoServicePanel", _legend(drawn, old, new), "bottomleft"))
    return finish(m)


Drawn = dict[str, list[tuple[str, str]]]
"""Per class, each parcel's id and popup."""


def _classified(changes: Diff, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> Drawn:
    """Each parcel's class and popup; ``old`` and ``new`` are derived and indexed by id."""
    drawn: Drawn = {cls: [] for cls in CLASSES}
    for row in changes.added:
        pid = row["parcel_id"]
        drawn["added"].append((pid, _popup("added", new.loc[pid], {}, (None, row["area_mu"]))))
    for row in changes.removed:
        pid = row["parcel_id"]
        drawn["removed"].append((pid, _popup("removed", old.loc[pid], {}, (row["area_mu"], None))))
    seen = {row["parcel_id"] for row in changes.added}
    for row in changes.changed:
        pid = row["parcel_id"]
        before, after = row["area_mu"]
        drawn["changed"].append(
            (pid, _popup("changed", new.loc[pid], row["fields"], (before, after)))
        )
        seen.add(pid)
    for pid in new.index:  # in both lists and the same in every field: diff counts them only
        if pid not in seen:
            area = float(new.at[pid, "area_mu"])
            drawn["unchanged"].append((pid, _popup("unchanged", new.loc[pid], {}, (area, area))))
    return drawn


def _popup(
    cls: str,
    parcel: Mapping[str, Any],
    fields: Mapping[str, Sequence[Any]],
    area_mu: tuple[float | None, float | None],
) -> str:
    """One parcel's popup: the class, each changed field (old → new) and the area (all
    escaped by :func:`maps.html.table`)."""
    zh, en = NAMES[cls]
    rows: list[tuple[str, Any]] = [
        ("变化 change", f"{zh} {en.lower()}"),
        ("园区", parcel["park_id"]),
    ]
    rows += [(_label(name), _change(name, old, new)) for name, (old, new) in fields.items()]
    rows.append(("面积 (亩)", _area_change(*area_mu)))
    return table(f"{parcel['parcel_id']} {parcel['name'] or ''}", rows)


def _label(name: str) -> str:
    if name == GEOMETRY:
        return "边界 geometry"
    spec = _FIELDS[name]
    return f"{spec.zh} {name}" + (f" ({spec.unit})" if spec.unit else "")


def _change(name: str, old: Any, new: Any) -> str:
    if name == GEOMETRY:
        return "已改变 (shape changed)"
    return f"{_text(old)} → {_text(new)}"


def _area_change(before: float | None, after: float | None) -> str:
    if before is not None and after is not None and abs(after - before) < 0.005:
        return _mu(after)
    delta = (after or 0.0) - (before or 0.0)
    return f"{_mu(before)} → {_mu(after)} ({delta:+,.2f})"


def _mu(value: float | None) -> str:
    return "空" if value is None else f"{value:,.2f}"


def _text(value: Any) -> str:
    """A value as the popup shows it (not yet escaped: :func:`maps.html.table` does that)."""
    if value is None:
        return "空"
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return str(value)


def _legend(drawn: Drawn, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> str:
    """Counts and 亩 per class, and the net change in 亩 (all escaped)."""
    mu = {
        cls: float((old if cls == "removed" else new)["area_mu"].loc[[p for p, _ in rows]].sum())
        for cls, rows in drawn.items()
    }
    changed_before = float(old["area_mu"].loc[[p for p, _ in drawn["changed"]]].sum())
    net = float(new["area_mu"].sum() - old["area_mu"].sum())
    entries = []
    for cls in ("added", "changed", "removed", "unchanged"):
        zh, en = NAMES[cls]
        label = f"{zh} {en.lower()}: {len(drawn[cls])} 宗, {mu[cls]:,.1f} 亩"
        if cls == "changed":
            label += f" ({mu[cls] - changed_before:+,.1f})"
        entries.append((COLOURS[cls], label))
    note = (
        f"面积净变化 net change: {net:+,.1f} 亩. "
        f"仅清单年度变化者计为未变 (a change of the list year alone counts as unchanged)"
    )
    return (
        legend("清单差异 Stock-list diff", entries) + f'<div class="gs-note">{escape(note)}</div>'
    )


def release_diff_map(
    release: Release,
    *,
    current: gpd.GeoDataFrame,
    staged: gpd.GeoDataFrame,
    frames_for_context: Mapping[str, gpd.GeoDataFrame],
    basemap: Basemap | None = None,
) -> folium.Map:
    """The diff map of ``release`` of the stock list (its parcels: ``staged``) against
    the list in force (``current``), titled with the release (see :func:`diff_map`)."""
    return diff_map(
        current,
        staged,
        frames_for_context,
        basemap=basemap,
        title=f"清单 {release.id} ({release.year} 年) 与现行清单的差异 Stock-list diff",
    )
