"""A development zone in memory, with its site-to-infrastructure distances precomputed.

A :class:`Zone` is built once per data version from the layer frames and reused by every
request, which then does array work only. Distances are exact (polygon to point, in
metres) in the zone's Gauss-Krüger CRS:

- to the nearest highway interchange, rail freight station, airport and logistics park,
  for every site, in a straight line and along the road network (:mod:`matching.roadnet`);
- to every substation, water, gas, heat and sewage node within :data:`REACH_M`, as
  (site, node, distance) pairs sorted by site then distance, so that a request can pick
  the nearest node that also has the voltage and spare capacity it needs.

The distance to the nearest road decides nothing, so it is computed per request for the
few sites shown (:meth:`Zone.nearest_road`) on the road network's tree of segments: whole roads
have bounding boxes so long that a nearest-neighbour search over them is ~100× slower.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal, TypeVar

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from layers.catalog import (
    BUDGETS,
    FACTORIES,
    INFRASTRUCTURE,
    LAYERS,
    PARCELS,
    PARKS,
    ROADS,
    UTILITIES,
)
from layers.crs import metric_epsg_for
from layers.frames import derive
from layers.readiness import condition_days
from matching.roadnet import RoadDistance, RoadNetwork

REACH_M = 10_000.0
"""How far a site looks for utility nodes; requests may ask for less, never more."""
NEAREST_KINDS = ("interchange", "rail", "airport", "logistics")
NODE_KINDS = tuple(utility.node_kind for utility in UTILITIES)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass(frozen=True)
class Pairs:
    """Sites and the utility nodes of one kind within reach, nearest first per site.

    ``starts`` are the offsets where each site's run of pairs begins (see :meth:`of_site`);
    per-request searches pick the first usable pair of each site, nearest first or, in
    :meth:`by_value` order, largest value first (:func:`matching.networks.best_node`).
    """

    site: IntArray
    node: IntArray
    dist_m: FloatArray
    starts: IntArray
    run_of_site: IntArray
    """Index into ``starts`` of each site's run, -1 for a site with no node within reach."""

    @classmethod
    def build(cls, site: IntArray, node: IntArray, dist_m: FloatArray, n_sites: int) -> Pairs:
        starts = np.flatnonzero(np.r_[True, site[1:] != site[:-1]]) if len(site) else site
        run_of_site = np.full(n_sites, -1, dtype=np.int64)
        run_of_site[site[starts]] = np.arange(len(starts))
        return cls(site, node, dist_m, starts.astype(np.int64), run_of_site)

    _by_value: dict[str, tuple[IntArray, IntArray, FloatArray, FloatArray]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def by_value(
        self, key: str, node_values: FloatArray
    ) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
        """The pairs' site, node, distance and node value, sorted by site and then by the
        value, largest first (NaN last). ``node_values`` is the zone's column ``key`` per
        node, fixed per data version: the order is made once and cached (see
        :meth:`Sites._cached` for why concurrent requests may share it)."""
        found = self._by_value.get(key)
        if found is None:
            value = node_values[self.node]
            order = np.lexsort((-value, self.site))
            sorted_ = (self.site[order], self.node[order], self.dist_m[order], value[order])
            found = self._by_value.setdefault(key, sorted_)
        return found

    def of_site(self, site: int) -> tuple[IntArray, FloatArray]:
        """The nodes within reach of one site and their distances, nearest first."""
        run = int(self.run_of_site[site])
        if run < 0:
            return np.array([], dtype=np.int64), np.array([], dtype=float)
        end = int(self.starts[run + 1]) if run + 1 < len(self.starts) else len(self.site)
        return self.node[self.starts[run] : end], self.dist_m[self.starts[run] : end]


@dataclass(frozen=True)
class Distances:
    """Distances from every site of one layer to the infrastructure."""

    nearest_m: dict[str, FloatArray]
    """Per kind in :data:`NEAREST_KINDS`: metres to the nearest one (inf if none)."""
    nearest_node: dict[str, IntArray]
    """Index into ``Zone.infrastructure``, -1 if none."""
    pairs: dict[str, Pairs]
    road: dict[str, RoadDistance] = field(default_factory=dict)
    """Per kind in :data:`NEAREST_KINDS`: along the road network (``target`` indexes
    ``Zone.infrastructure``)."""

    def to(self, kind: str, how: Literal["road", "straight"]) -> tuple[FloatArray, IntArray]:
        """Metres to the nearest ``kind`` (inf if none) and which one, by road or in a
        straight line."""
        if how == "road":
            return self.road[kind].dist_m, self.road[kind].target
        return self.nearest_m[kind], self.nearest_node[kind]


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
    budgets: dict[str, tuple[FloatArray, npt.NDArray[np.bool_]]] = field(default_factory=dict)
    """Per budget (by :class:`~layers.catalog.Budget` key): what each site may draw, and whether
    that is its own earmarked quota (True) or its park's remaining budget (False)."""
    condition_keys: tuple[str, ...] = ()
    condition_days: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros((0, 0), dtype=np.int64)
    )
    """Day each readiness condition is met, per parcel (see layers.readiness)."""
    # A lazily filled cache (see :meth:`column`). Declared so that the
    # frozen instance's state is all on the page; not part of its identity.
    _columns: dict[str, npt.NDArray[Any]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def __len__(self) -> int:
        return len(self.frame)

    @cached_property
    def ready_day(self) -> npt.NDArray[np.int64]:
        """The day each parcel becomes ready (its last condition met); a parcel is ready
        on day *d* when this is ≤ *d*."""
        if not self.condition_days.size:
            return np.full(len(self), np.iinfo(np.int64).max)
        return np.asarray(self.condition_days.max(axis=1))

    def column(self, name: str) -> npt.NDArray[Any]:
        """A frame column as a NumPy array, cached: results read a few values of many
        columns, and a GeoDataFrame row lookup costs far more than an array index.

        Safe under concurrent requests: see :meth:`_cached`."""
        found = self._columns.get(name)
        if found is not None:
            return found
        values = self.frame[name]
        array = (
            values.values.to_numpy()
            if name == "geometry"
            else values.to_numpy(
                dtype=object if values.dtype == object or str(values.dtype) == "category" else None
            )
        )
        return self._cached(self._columns, name, array)

    def span(self, name: str) -> tuple[float, float]:
        """The least and greatest value of a numeric column over every site (NaN, NaN
        when none has one), cached like :meth:`column`."""
        found = self._columns.get(f"span:{name}")
        if found is None:
            values = self.column(name).astype(float)
            known = values[np.isfinite(values)]
            lo_hi = np.array([known.min(), known.max()] if len(known) else [np.nan, np.nan])
            found = self._cached(self._columns, f"span:{name}", lo_hi)
        return float(found[0]), float(found[1])

    def isin(self, name: str, values: Iterable[str]) -> npt.NDArray[np.bool_]:
        """Whether each site's coded column ``name`` is one of ``values`` (compares the
        categorical codes, ~10× faster than comparing strings)."""
        column = self.frame[name]
        wanted = set(values)
        # A lookup table by category code; the extra last entry answers code -1 (missing).
        table = np.array([c in wanted for c in column.cat.categories] + [False])
        return np.asarray(table[column.cat.codes.to_numpy()])

    @staticmethod
    def _cached(cache: dict[_K, _V], key: _K, value: _V) -> _V:
        """Store ``value`` unless another thread stored one first; return the stored one.

        Request threads share a zone. A cached value is a pure function of the immutable
        frame, so two threads that miss at once compute equal arrays; ``dict.setdefault``
        is one atomic step under the GIL, so exactly one is kept and both callers get that
        one. The cache is never emptied, and nobody writes into a cached array (callers
        index it, which copies), so a reader never sees a half-built value."""
        return cache.setdefault(key, value)

    @cached_property
    def ids(self) -> npt.NDArray[np.object_]:
        return np.asarray(self.frame[LAYERS[self.layer].id_field].to_numpy(dtype=object))

    @cached_property
    def short_side_m(self) -> FloatArray:
        """The short side of each site's minimum rotated rectangle, m, in the zone's metric
        CRS, to the millimetre (storage in EPSG:4490 moves corners by far less), 0 where
        the rectangle degenerates to a line or point; net buildable width reads it
        (:mod:`matching.buildable`)."""
        rect = shapely.minimum_rotated_rectangle(self.metric)
        coords = shapely.get_coordinates(rect)
        counts = shapely.get_num_coordinates(rect)
        first = np.cumsum(counts) - counts
        polygon = np.flatnonzero(counts >= 4)  # a rectangle: 5 points, the ring closed
        p0, p1, p2 = (coords[first[polygon] + k] for k in range(3))
        width = np.zeros(len(self.metric))
        width[polygon] = np.minimum(np.hypot(*(p1 - p0).T), np.hypot(*(p2 - p1).T))
        return np.round(width, 3)


@dataclass(frozen=True)
class Zone:
    """Everything a match reads, immutable, tagged with the layer versions it came from."""

    parcels: Sites
    factories: Sites
    parks: pd.DataFrame
    infrastructure: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    metric_epsg: int
    network: RoadNetwork
    versions: Mapping[str, int] = field(default_factory=dict)
    _node_columns: dict[str, npt.NDArray[Any]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def node_column(self, name: str) -> npt.NDArray[Any]:
        """An infrastructure column as an array, cached (as :meth:`Sites.column`): the
        connection plans of a result read a few values of it per site."""
        found = self._node_columns.get(name)
        if found is None:
            found = self._node_columns.setdefault(
                name, self.infrastructure[name].to_numpy(dtype=object)
            )
        return found

    def nearest_road(self, geometries: npt.NDArray[np.object_]) -> tuple[IntArray, FloatArray]:
        """Index into ``roads`` and metres to the road nearest each metric geometry."""
        road = np.full(len(geometries), -1, dtype=np.int64)
        dist = np.full(len(geometries), np.inf)
        if len(self.network.road) and len(geometries):
            (site, segment), found = self.network.segments.query_nearest(
                geometries, return_distance=True, all_matches=False
            )
            road[site] = self.network.road[segment]
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
    road_lines = roads.to_crs(epsg).geometry.to_numpy()
    network = RoadNetwork.build(road_lines, roads["grade"].to_numpy(dtype=object))
    kinds = infrastructure["kind"].to_numpy()
    targets = {kind: np.flatnonzero(kinds == kind) for kind in NEAREST_KINDS}
    reach = {kind: network.reach(infra_metric[found]) for kind, found in targets.items()}
    park_ids = {pid: i for i, pid in enumerate(parks[PARKS.id_field])}

    def sites(layer: str, frame: gpd.GeoDataFrame, *, readiness: bool) -> Sites:
        metric = frame.to_crs(epsg).geometry.to_numpy()
        park = np.array([park_ids.get(p, -1) for p in frame["park_id"]], dtype=np.int64)
        distances = _distances(metric, kinds, infra_metric)
        access = network.access(metric)
        road = {
            kind: network.distances(
                access, reach[kind], (distances.nearest_m[kind], distances.nearest_node[kind]), ids
            )
            for kind, ids in targets.items()
        }
        distances = replace(distances, road=road)
        budgets = _budgets(frame, park, parks)
        if not readiness:  # only land is made ready (净地); a building is there
            return Sites(layer, frame, metric, park, distances, budgets)
        keys, days = condition_days(frame)
        return Sites(layer, frame, metric, park, distances, budgets, tuple(keys), days)

    return Zone(
        parcels=sites(PARCELS.name, parcels, readiness=True),
        factories=sites(FACTORIES.name, factories, readiness=False),
        parks=parks,
        infrastructure=infrastructure,
        roads=roads,
        metric_epsg=epsg,
        network=network,
        versions=dict(versions or {}),
    )


def _budgets(
    frame: pd.DataFrame, park: IntArray, parks: pd.DataFrame
) -> dict[str, tuple[FloatArray, npt.NDArray[np.bool_]]]:
    """A site's own earmarked quota where it has one, else its park's remaining budget."""
    out = {}
    for budget in BUDGETS:
        own = frame[budget.earmarked].to_numpy(dtype=float)
        left = parks[budget.left].to_numpy(dtype=float) if len(parks) else np.array([np.nan])
        from_park = np.where(park >= 0, left[np.maximum(park, 0)], np.nan)
        has_own = ~np.isnan(own)
        out[budget.key] = (np.where(has_own, own, from_park), has_own)
    return out


def _positional(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Keep the store's feature id as a column and index rows 0…n-1; coded columns that
    every request compares become categoricals (integer comparisons, not strings)."""
    out = frame.copy()
    out["fid"] = out.index.to_numpy() if out.index.name == "fid" else np.arange(len(out))
    for column in ("status", "land_use", "kind"):
        if column in out.columns:
            out[column] = out[column].astype("category")
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
            pairs[kind] = Pairs.build(empty, empty, np.array([], dtype=float), len(sites))
            continue
        tree = shapely.STRtree(nodes[candidates])
        site_idx, hit = tree.query(sites, predicate="dwithin", distance=REACH_M)
        dist = shapely.distance(sites[site_idx], nodes[candidates[hit]])
        order = np.lexsort((dist, site_idx))
        pairs[kind] = Pairs.build(
            site_idx[order].astype(np.int64),
            candidates[hit[order]].astype(np.int64),
            dist[order],
            len(sites),
        )
    return Distances(nearest_m, nearest_node, pairs)
