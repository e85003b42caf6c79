"""A zone brought up to date in place of a rebuild, when only attributes changed.

A reservation, its release or a ledger edit changes a few sites' attributes (a status,
a factory's figures) and the small layers' budgets (parks' allocations, substations'
spare capacity); no geometry moves, so the distances, pairs, road network and access
points of the zone stay true. :func:`patched` makes a new :class:`~matching.zone.Zone`
that shares them, with only the changed rows derived again and the budgets recomputed:
milliseconds, where a rebuild takes seconds. Readers of the old zone are untouched (it is
not changed), so each request still sees one zone, all old or all new.

Anything else — a site added, removed or redrawn, a node moved, a road changed — raises
:class:`NeedsRebuild`; the caller builds the zone anew (:func:`~matching.zone.build_zone`).
A test checks that a patched zone equals one built from scratch on the same data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.catalog import FACTORIES, PARCELS, PARKS
from layers.frame_rows import with_rows
from layers.frames import derive
from layers.readiness import condition_days
from layers.schema import LayerSpec
from matching.zone import Sites, Zone, positional, site_budgets
from matching.zone_reuse import same_nodes


class NeedsRebuild(Exception):
    """The change is more than attributes: the zone must be built anew."""


def patched(
    zone: Zone,
    *,
    sites: Mapping[str, gpd.GeoDataFrame],
    parks: gpd.GeoDataFrame,
    infrastructure: gpd.GeoDataFrame,
    versions: Mapping[str, int],
) -> Zone:
    """``zone`` with the rows of ``sites`` (per layer, canonical frames as the store
    returns them: the changed rows, each with its feature id) and the whole ``parks`` and
    ``infrastructure`` layers (canonical) in place of its own, tagged ``versions``."""
    nodes = positional(infrastructure)
    if not same_nodes(zone.infrastructure, nodes):
        raise NeedsRebuild("infrastructure nodes added, removed or moved")
    parks_frame = positional(derive(parks, PARKS))
    # Sites index parks by position: kept where the parks are the same, in the same order.
    same_parks = parks_frame[PARKS.id_field].equals(zone.parks[PARKS.id_field])
    layers = {
        spec.name: _patched_sites(
            zone.layer(spec.name),
            spec,
            sites.get(spec.name),
            parks_frame,
            same_parks=same_parks,
        )
        for spec in (PARCELS, FACTORIES)
    }
    return replace(
        zone,
        parcels=layers[PARCELS.name],
        factories=layers[FACTORIES.name],
        parks=parks_frame,
        infrastructure=nodes,
        versions=dict(versions),
    )


def _patched_sites(
    old: Sites,
    spec: LayerSpec,
    rows: gpd.GeoDataFrame | None,
    parks: pd.DataFrame,
    *,
    same_parks: bool,
) -> Sites:
    frame, days = old.frame, old.condition_days
    parks_index = pd.Index(parks[PARKS.id_field])
    park = old.park if same_parks else parks_index.get_indexer(frame["park_id"]).astype(np.int64)
    if rows is not None and len(rows):
        new = positional(derive(rows, spec))
        at = pd.Index(frame["fid"]).get_indexer(new["fid"])
        if (at < 0).any() or not shapely.equals_exact(
            frame.geometry.values[at], new.geometry.values, 0
        ).all():
            raise NeedsRebuild(f"{spec.name}: sites added or redrawn")
        frame = with_rows(frame, at, new)
        if spec is PARCELS:
            keys, changed = condition_days(new)
            if tuple(keys) != old.condition_keys:
                raise NeedsRebuild("readiness conditions changed")
            days = days.copy(order="F")
            days[at] = changed
        park = park.copy()
        park[at] = parks_index.get_indexer(new["park_id"])
    out = Sites(
        old.layer,
        frame,
        old.metric,
        park,
        old.distances,  # geometry alone: distances, pairs, access points
        site_budgets(frame, park, parks),
        old.condition_keys,
        days,
    )
    if "short_side_m" in old.__dict__:  # a cached property of the geometry alone
        out.__dict__["short_side_m"] = old.__dict__["short_side_m"]
    return out
