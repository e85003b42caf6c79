"""A development zone in memory, with its site-to-infrastructure distances precomputed.

A :class:`Zone` is built once per data version from the layer frames and reused by every
request, which then does array work only. Distances are exact (polygon to point, in
metres) in the zone's Gauss-Krüger CRS:

- to the nearest highway interchange, rail freight station, airport and logistics park,
  for every site;
- to every substation, water, gas, heat and sewage node within :data:`REACH_M`, as
  (site, node, distance) pairs sorted by site then distance, so that a request can pick
  the nearest node that also has the voltage and spare capacity it needs.

The distance to the nearest road decides nothing, so it is computed per request for the
few sites shown (:meth:`Zone.nearest_road`) on a tree of road segments: whole roads
have bounding boxes so long that a nearest-neighbour search over them is ~100× slower.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from layers.catalog import FACTORIES, INFRASTRUCTURE, PARCELS, PARKS, ROADS
from layers.crs import metric_epsg_for
from layers.frames import derive
from layers.readiness import condition_days

REACH_M = 10_000.0
"""How far a site looks for utility nodes; requests may ask for less, never more."""
NEAREST_KINDS = ("interchange", "rail", "airport", "logistics")
NODE_KINDS = ("substation", "water", "gas", "heat", "sewage")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Pairs:
    """Sites and the utility nodes of one kind within reach, nearest first per site.

    ``starts`` are the offsets where each site's run of pairs begins and ``owner`` the site
    of each run, for ``np.ufunc.reduceat`` over runs.
    """

    site: IntArray
    node: IntArray
    dist_m: FloatArray
    starts: IntArray
    owner: IntArray

    @classmethod
    def build(cls, site: IntArray, node: IntArray, dist_m: FloatArray) -> Pairs:
        starts = np.flatnonzero(np.r_[True, site[1:] != site[:-1]]) if len(site) else site
        return cls(site, node, dist_m, starts.astype(np.int64), site[starts])


@dataclass(frozen=True)
class Distances:
    """Distances from every site of one layer to the infrastructure."""

    nearest_m: dict[str, FloatArray]
    """Per kind in :data:`NEAREST_KINDS`: metres to the nearest one (inf if none)."""
    nearest_node: dict[str, IntArray]
    """Index into ``Zone.infrastructure``, -1 if none."""
    pairs: dict[str, Pairs]


@dataclass(frozen=True)
class Sites:
    """Parcels or factories with what matching needs, as aligned arrays."""

    layer: str
    frame: gpd.GeoDataFrame
    """Derived frame (areas, readiness), positional index; ``fid`` is the store id."""
    metric: npt.NDArray[np.object_]
    park: IntArray
    """Index into ``Zone.parks``, -1 when the site's park is unknown."""
    distances: Distances
    condition_keys: tuple[str, ...] = ()
    condition_days: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros((0, 0), dtype=np.int64)
    )
    """Day each readiness condition is met, per parcel (see layers.readiness)."""

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def ids(self) -> npt.NDArray[np.object_]:
        id_field = PARCELS.id_field if self.layer == PARCELS.name else FACTORIES.id_field
        return np.asarray(self.frame[id_field].to_numpy(dtype=object))


@dataclass(frozen=True)
class Zone:
    """Everything a match reads, immutable, tagged with the layer versions it came from."""

    parcels: Sites
    factories: Sites
    parks: pd.DataFrame
    infrastructure: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    metric_epsg: int
    road_segments: shapely.STRtree
    road_of_segment: IntArray
    versions: Mapping[str, int] = field(default_factory=dict)

    def sites(self, layer: str) -> Sites:
        return self.parcels if layer == PARCELS.name else self.factories

    def nearest_road(self, geometries: npt.NDArray[np.object_]) -> tuple[IntArray, FloatArray]:
        """Index into ``roads`` and metres to the road nearest each metric geometry."""
        road = np.full(len(geometries), -1, dtype=np.int64)
        dist = np.full(len(geometries), np.inf)
        if len(self.road_of_segment) and len(geometries):
            (site, segment), found = self.road_segments.query_nearest(
                geometries, return_distance=True, all_matches=False
            )
            road[site] = self.road_of_segment[segment]
            dist[site] = found
        return road, dist


def build_zone(
    frames: Mapping[str, gpd.GeoDataFrame], *, versions: Mapping[str, int] | None = None
) -> Zone:
    """Build a :class:`Zone` from canonical layer frames (as the store returns them).

    Examples
    --------
    >>> from layers.demo import generate_zone
    >>> zone = build_zone(generate_zone(parcels=50))
    >>> len(zone.parcels), zone.metric_epsg
    (50, 4547)
    """
    parcels = _positional(derive(frames[PARCELS.name], PARCELS))
    factories = _positional(derive(frames[FACTORIES.name], FACTORIES))
    parks = _positional(derive(frames[PARKS.name], PARKS))
    infrastructure = _positional(frames[INFRASTRUCTURE.name])
    roads = _positional(frames[ROADS.name])
    reference = parcels if len(parcels) else factories
    lon = float(np.median(shapely.get_x(shapely.centroid(reference.geometry.values))))
    epsg = metric_epsg_for(lon if np.isfinite(lon) else 114.0)
    infra_metric = infrastructure.to_crs(epsg).geometry.to_numpy()
    segments, road_of_segment = _segments(roads.to_crs(epsg).geometry.to_numpy())
    park_ids = {pid: i for i, pid in enumerate(parks[PARKS.id_field])}

    def sites(layer: str, frame: gpd.GeoDataFrame) -> Sites:
        metric = frame.to_crs(epsg).geometry.to_numpy()
        park = np.array([park_ids.get(p, -1) for p in frame["park_id"]], dtype=np.int64)
        distances = _distances(metric, infrastructure["kind"].to_numpy(), infra_metric)
        if layer != PARCELS.name:
            return Sites(layer, frame, metric, park, distances)
        keys, days = condition_days(frame)
        return Sites(layer, frame, metric, park, distances, tuple(keys), days)

    return Zone(
        parcels=sites(PARCELS.name, parcels),
        factories=sites(FACTORIES.name, factories),
        parks=parks,
        infrastructure=infrastructure,
        roads=roads,
        metric_epsg=epsg,
        road_segments=shapely.STRtree(segments),
        road_of_segment=road_of_segment,
        versions=dict(versions or {}),
    )


def _segments(lines: npt.NDArray[np.object_]) -> tuple[npt.NDArray[np.object_], IntArray]:
    """Every two-point segment of the lines, and the line each came from."""
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    same = owner[1:] == owner[:-1]
    segments = shapely.linestrings(np.stack([coords[:-1][same], coords[1:][same]], axis=1))
    return np.asarray(segments), owner[:-1][same].astype(np.int64)


def _positional(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Keep the store's feature id as a column and index rows 0…n-1."""
    out = frame.copy()
    out["fid"] = out.index.to_numpy() if out.index.name == "fid" else np.arange(len(out))
    return out.reset_index(drop=True)


def _distances(
    sites: npt.NDArray[np.object_],
    kinds: npt.NDArray[np.object_],
    nodes: npt.NDArray[np.object_],
) -> Distances:
    nearest_m: dict[str, FloatArray] = {}
    nearest_node: dict[str, IntArray] = {}
    for kind in NEAREST_KINDS:
        candidates = np.flatnonzero(kinds == kind)
        dist = np.full(len(sites), np.inf)
        node = np.full(len(sites), -1, dtype=np.int64)
        if len(candidates) and len(sites):
            tree = shapely.STRtree(nodes[candidates])
            (site_idx, hit), found = tree.query_nearest(
                sites, return_distance=True, all_matches=False
            )
            dist[site_idx] = found
            node[site_idx] = candidates[hit]
        nearest_m[kind], nearest_node[kind] = dist, node
    pairs = {}
    for kind in NODE_KINDS:
        candidates = np.flatnonzero(kinds == kind)
        if not len(candidates) or not len(sites):
            empty = np.array([], dtype=np.int64)
            pairs[kind] = Pairs.build(empty, empty, np.array([], dtype=float))
            continue
        tree = shapely.STRtree(nodes[candidates])
        site_idx, hit = tree.query(sites, predicate="dwithin", distance=REACH_M)
        dist = shapely.distance(sites[site_idx], nodes[candidates[hit]])
        order = np.lexsort((dist, site_idx))
        pairs[kind] = Pairs.build(
            site_idx[order].astype(np.int64), candidates[hit[order]].astype(np.int64), dist[order]
        )
    return Distances(nearest_m, nearest_node, pairs)
