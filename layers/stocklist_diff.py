"""The diff of a staged stock list against the list in force, parcel by parcel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from layers.catalog import PARCELS, ROUTINE
from layers.frames import GEOMETRY, derive
from layers.geojson import plain as _plain
from layers.text import normalise_id


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


__all__ = ["Diff", "diff"]
