"""Net buildable area (M1): whether a parcel's planning limits leave room for the
project's building — its footprint under the density cap, and its width within the
setbacks (docs/matching.md, "Net buildable area").

Per parcel, the footprint allowance is ``area_m2 × cap / 100`` with ``cap`` the lesser of
the building density cap (``dens_hi``) and what the least green ratio leaves
(``100 − green_lo``), and the usable width is the short side of the minimum rotated
rectangle (:attr:`matching.zone.Sites.short_side_m`, cached per data version) less twice
the setback (``setback_m``; none given: 0).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from layers.units import compared, shown
from matching.assembly import Group
from matching.constraints import Constraint, FloatArray, Text, constraint
from matching.request import ProjectRequest
from matching.situation import Situation
from matching.zone import Sites


def density_cap_pct(sites: Sites, rows: npt.NDArray[np.int64] | None = None) -> FloatArray:
    """The share of each parcel (or of ``rows``) a building may cover, %: the density cap,
    or less where the least green ratio leaves less; NaN where the parcel states neither."""
    pick = slice(None) if rows is None else rows
    dens_hi = np.asarray(sites.column("dens_hi")[pick], dtype=float)
    green_lo = np.asarray(sites.column("green_lo")[pick], dtype=float)
    return np.asarray(np.fmin(dens_hi, 100.0 - green_lo))


def allowance_m2(sites: Sites, rows: npt.NDArray[np.int64] | None = None) -> FloatArray:
    """The footprint each parcel (or each of ``rows``) allows, m² (NaN: no cap stated,
    nothing to check).

    Examples
    --------
    >>> from layers.demo import generate_zone
    >>> from matching.zone import build_zone
    >>> sites = build_zone(generate_zone(parcels=20)).parcels
    >>> area = sites.column("area_m2")
    >>> bool(np.nanmax(allowance_m2(sites) / area) <= 0.6)  # the demo caps density at 60 %
    True
    """
    pick = slice(None) if rows is None else rows
    area = np.asarray(sites.column("area_m2")[pick], dtype=float)
    return np.asarray(area * density_cap_pct(sites, rows) / 100.0)


def usable_width_m(sites: Sites) -> FloatArray:
    """Each parcel's short side less its setback on both sides, m (may be negative)."""
    setback = np.nan_to_num(np.asarray(sites.column("setback_m"), dtype=float), nan=0.0)
    return np.asarray(sites.short_side_m - 2.0 * setback)


def _footprint_texts(sites: Sites, allowed: FloatArray, need: float) -> tuple[Text, Text, Text]:
    area, cap = sites.column("area_m2"), density_cap_pct(sites)

    def basis(i: int) -> str:
        return f"{shown(area[i], 'm²')} × {shown(cap[i], '%')}"

    def why(i: int) -> str:
        have, needed, gap = compared(allowed[i], need, "m²")
        return (
            f"可建占地 {have} m² < 需 {needed} m² "
            f"(footprint allowance {have} m² = {basis(i)}, {gap} m² short)"
        )

    def remedy(i: int) -> str:
        pct = math.ceil(1000.0 * need / area[i]) / 10.0  # up, so that the cap shown suffices
        merge = "相邻地块合并", "merging with neighbouring parcels"
        if pct > 100.0:
            return f"需{merge[0]} (needs {merge[1]})"
        cap_shown = shown(pct, "%")
        return (
            f"需调整规划建筑密度至 {cap_shown} 或{merge[0]} "
            f"(needs a density cap of {cap_shown}, or {merge[1]})"
        )

    def met(i: int) -> str:
        if np.isnan(allowed[i]):
            return "未定建筑密度上限, 不核占地 (no density cap: footprint not checked)"
        return f"可建占地 {shown(allowed[i], 'm²')} = {basis(i)} (footprint allowance)"

    return why, remedy, met


def _width_texts(sites: Sites, usable: FloatArray, need: float) -> tuple[Text, Text, Text]:
    short = sites.short_side_m
    setback = np.nan_to_num(np.asarray(sites.column("setback_m"), dtype=float), nan=0.0)

    def basis(i: int) -> str:
        return f"{shown(short[i], 'm')} − 2 × {shown(setback[i], 'm')}"

    def why(i: int) -> str:
        have, needed, gap = compared(usable[i], need, "m")
        return (
            f"可用宽度 {have} m < 需 {needed} m (usable width {have} m = {basis(i)}, {gap} m short)"
        )

    def remedy(i: int) -> str:
        gap = compared(usable[i], need, "m").gap
        return f"需相邻地块合并, 宽度尚缺 {gap} m (needs merging with a neighbour: {gap} m short)"

    def met(i: int) -> str:
        return f"可用宽度 {shown(usable[i], 'm')} = {basis(i)} (usable width)"

    return why, remedy, met


def buildable(s: Situation) -> list[Constraint]:
    """The footprint allowance covers ``area.footprint_m2`` (``buildable``) and the usable
    width is at least ``area.min_width_m`` (``buildable_width``), each when asked for.

    Both depend on the site as a whole: an assembled group is checked on the sum of its
    members' allowances (:func:`group_allows`) and not on width."""
    asked = s.request.area
    if asked is None or (asked.footprint_m2 is None and asked.min_width_m is None):
        return []
    out = []
    if asked.footprint_m2 is not None:
        allowed = allowance_m2(s.sites)
        margin = allowed - asked.footprint_m2  # NaN where no cap is stated: not checked
        why, remedy, met = _footprint_texts(s.sites, allowed, asked.footprint_m2)
        out.append(
            constraint(
                "buildable",
                "可建占地 (buildable footprint)",
                np.isnan(margin) | (margin >= 0),
                margin,
                "m²",
                (why, remedy),
                area_dependent=True,
                met=met,
                scale=asked.footprint_m2,
                kind="negotiate",
            )
        )
    if asked.min_width_m is not None:
        usable = usable_width_m(s.sites)
        margin = usable - asked.min_width_m
        why, remedy, met = _width_texts(s.sites, usable, asked.min_width_m)
        out.append(
            constraint(
                "buildable_width",
                "可用宽度 (usable width)",
                margin >= 0,
                margin,
                "m",
                (why, remedy),
                area_dependent=True,
                met=met,
                scale=asked.min_width_m,
                kind="assemble",
            )
        )
    return out


def group_allows(request: ProjectRequest, sites: Sites, group: Group) -> bool:
    """Whether an assembled group's footprint allowance, the sum of its members' (a member
    with no cap stated adds nothing), covers the footprint asked for; True when none is
    asked for or no member states a cap."""
    need = request.area.footprint_m2 if request.area is not None else None
    if need is None:
        return True
    allowed = allowance_m2(sites, np.array(group.members, dtype=np.int64))
    return bool(np.isnan(allowed).all() or np.nansum(allowed) >= need)
