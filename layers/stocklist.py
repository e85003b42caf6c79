"""The yearly stock list (存量可出让 + 增量可报批土地清单): import and stage.

The land bureau's file is read and checked whole (:mod:`layers.stocklist_validation`). A
list that passes is *staged* — stored as a release nobody else sees — with its diff
against the list in force (:mod:`layers.stocklist_diff`); publishing then switches the
one-row pointer, atomically. A refused file changes nothing but the audit log, which
records the attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from layers.catalog import ON_OFFER, PARCELS, PARKS, ROADS
from layers.errors import RemovalsUnconfirmed
from layers.stocklist_diff import Diff, diff
from layers.stocklist_validation import OVERLAP_TOLERANCE_M2, Report, validate
from layers.store.audit import Actor
from layers.store.releases import Release
from layers.store.store import Store

if TYPE_CHECKING:
    import geopandas as gpd

MAX_REMOVED_SHARE = 0.2
"""A list removing more than this share of the parcels in force needs confirmation."""


@dataclass
class Imported:
    report: Report
    diff: Diff | None = None
    release: Release | None = None


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
    if not confirm_removals:
        _refuse_unconfirmed_removals(
            store, actor, report, changes, in_force=len(in_force), max_share=max_removed_share
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


def _refuse_unconfirmed_removals(
    store: Store, actor: Actor, report: Report, changes: Diff, *, in_force: int, max_share: float
) -> None:
    """Raise :class:`RemovalsUnconfirmed` (and record the refusal) when the list would take
    more than ``max_share`` of the ``in_force`` parcels off the offer.

    Taken off the offer: gone from the list, or still listed but no longer available —
    either way investors lose it, so both count towards the share to confirm."""
    leaving = [r["parcel_id"] for r in changes.removed] + [
        c["parcel_id"] for c in changes.changed if _leaves_offer(c["fields"].get("status"))
    ]
    removed, total = len(leaving), in_force
    if not total or removed / total <= max_share:
        return
    store.audit.record(
        actor,
        "stock_list.reject",
        f"{report.source} ({report.year})",
        after={"removed": removed, "in_force": total, "confirmed": False},
    )
    raise RemovalsUnconfirmed(
        f"{report.source}: 将移除或撤下现行清单 {total} 宗中的 {removed} 宗 "
        f"({removed / total:.1%}), 超过 {max_share:.1%}; 确认后重新导入 "
        f"(the list would remove or take off offer {removed} of the {total} parcels in "
        f"force ({removed / total:.1%}), more than {max_share:.1%}: check the "
        "file, then import it again confirming the removals: --confirm-removals, or "
        "confirm_removals=true over HTTP)",
        details={
            "file": report.source,
            "removed": len(changes.removed),
            "taken_off_offer": removed - len(changes.removed),
            "in_force": total,
            "max_removed_share": max_share,
            "removed_ids": leaving[:200],
        },
    )


def _leaves_offer(status: list[Any] | None) -> bool:
    """Whether a changed status (before, after) takes a parcel off the offer."""
    on_offer = ON_OFFER[PARCELS.name]
    return status is not None and status[0] == on_offer and status[1] != on_offer


def staged_diff(store: Store, release: Release) -> Diff:
    """The diff of a release against the list in force now (both as stored)."""
    base = store.releases.current_id()
    in_force = store.features.read(PARCELS, release=base) if base else store.features.read(PARCELS)
    return diff(in_force, store.features.read(PARCELS, release=release.id))


class ReleaseFrames(TypedDict):
    """What the diff map of a release draws (see :func:`maps.diff.release_diff_map`)."""

    current: gpd.GeoDataFrame
    staged: gpd.GeoDataFrame
    frames_for_context: dict[str, gpd.GeoDataFrame]


def release_frames(store: Store, release: Release) -> ReleaseFrames:
    """The parcels in force, those of ``release``, and the parks and roads around them."""
    return {
        "current": store.features.read(PARCELS),
        "staged": store.features.read(PARCELS, release=release.id),
        "frames_for_context": {spec.name: store.features.read(spec) for spec in (PARKS, ROADS)},
    }


__all__ = ["Imported", "ReleaseFrames", "import_list", "release_frames", "staged_diff"]
