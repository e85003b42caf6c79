"""A development zone in memory, with its site-to-infrastructure distances precomputed.

A :class:`Zone` is built once per data version from the layer frames and reused by every
request, which then does array work only. Distances are exact (polygon to point, in
metres) in the zone's Gauss-Krüger CRS: to the utility nodes within reach
(:mod:`matching.distances`), and to the nearest highway interchange, rail freight station,
airport and logistics park along the road network (:mod:`matching.roadnet`) or, when a
request asks, in a straight line.

The distance to the nearest road decides nothing, so it is computed per request for the
few sites shown (:meth:`matching.roadnet.RoadNetwork.nearest_road`) on a tree of the roads
cut into short pieces: whole roads have bounding boxes so long that a nearest-neighbour
search over them is ~100× slower.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, TypeVar

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
)
from layers.crs import metric_epsg_of
from layers.distinct import categorical
from layers.frames import derive
from layers.readiness import NEVER, condition_days, met_always
from layers.schema import LayerSpec
from matching.collector import collector_held
from matching.distances import NEAREST_KINDS, Distances
from matching.roadnet import Access, Reach, RoadNetwork
from matching.shapes import Shapes
from matching.zone_reuse import Reused, Sited, Unchanged, same_network

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Geometries = npt.NDArray[np.object_]
_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass(frozen=True)
class Sites:
    """Parcels or factories with what matching needs, as aligned arrays."""

    layer: str
    frame: gpd.GeoDataFrame
    """Derived frame (areas, readiness), positional index; ``fid`` is the store id."""
    metric: Shapes
    """The sites' geometries in the zone's metric CRS (also ``distances.sites``)."""
    park: IntArray
    """Index into ``Zone.parks``, -1 when the site's park is unknown."""
    distances: Distances
    budgets: dict[str, tuple[FloatArray, npt.NDArray[np.bool_]]] = field(default_factory=dict)
    """Per budget (by :class:`~layers.catalog.Budget` key): what each site may draw, and whether
    that is its own earmarked quota (True) or its park's remaining budget (False)."""
    condition_keys: tuple[str, ...] = ()
    condition_days: npt.NDArray[np.int32] = field(
        default_factory=lambda: np.zeros((0, 0), dtype=np.int32)
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
    def ready_day(self) -> npt.NDArray[np.int32]:
        """The day each parcel becomes ready (its last condition met); a parcel is ready
        on day *d* when this is ≤ *d*."""
        if not self.condition_days.size:
            return np.full(len(self), NEVER, dtype=np.int32)
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

    def floats(self, name: str) -> FloatArray:
        """A numeric frame column as floats (NaN where missing), cached like :meth:`column`."""
        found = self._columns.get(f"float:{name}")
        if found is None:
            values = self.frame[name].to_numpy(dtype=float)
            found = self._cached(self._columns, f"float:{name}", values)
        return found

    def isin(self, name: str, values: Iterable[str]) -> npt.NDArray[np.bool_]:
        """Whether each site's coded column ``name`` is one of ``values`` (compares the
        categorical codes, cached like :meth:`column`: ~10× faster than comparing strings)."""
        codes = self._columns.get(f"codes:{name}")
        categories = self._columns.get(f"categories:{name}")
        if codes is None or categories is None:
            column = self.frame[name].cat
            codes = self._cached(self._columns, f"codes:{name}", column.codes.to_numpy())
            categories = self._cached(
                self._columns, f"categories:{name}", column.categories.to_numpy(dtype=object)
            )
        wanted = set(values)
        # One comparison per code wanted, ~3 µs at 100,000 sites: a lookup table indexed
        # by the (int8) codes takes ~180 µs. A missing value's code, -1, is never wanted.
        found = np.zeros(len(codes), dtype=bool)
        for code in (k for k, category in enumerate(categories) if category in wanted):
            found |= codes == code
        return found

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
        rect = shapely.minimum_rotated_rectangle(self.metric[:])
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
    reach: Mapping[str, Reach] = field(default_factory=dict, repr=False)
    """Per kind in :data:`NEAREST_KINDS`, every network vertex's way to the nearest one;
    kept so that a zone built anew with the same roads and nodes reuses it."""
    _columns: dict[tuple[str, str, str], npt.NDArray[Any]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def layer(self, name: str) -> Sites:
        """The parcels or the factories, by layer name."""
        return self.parcels if name == PARCELS.name else self.factories

    def node_column(self, name: str) -> npt.NDArray[Any]:
        """An infrastructure column as an array of objects, cached (as
        :meth:`Sites.column`): the connection plans of a result read a few values of it
        per site."""
        return self._column(self.infrastructure, INFRASTRUCTURE.name, name, object)

    def node_floats(self, name: str) -> FloatArray:
        """A numeric infrastructure column as floats (NaN where missing), cached: every
        request reads the nodes' capacities."""
        return self._column(self.infrastructure, INFRASTRUCTURE.name, name, float)

    def road_column(self, name: str) -> npt.NDArray[Any]:
        """A road column as an array of objects, cached as :meth:`node_column`."""
        return self._column(self.roads, ROADS.name, name, object)

    def _column(self, frame: pd.DataFrame, layer: str, name: str, dtype: type) -> npt.NDArray[Any]:
        key = (layer, name, dtype.__name__)
        found = self._columns.get(key)
        if found is None:
            found = Sites._cached(self._columns, key, frame[name].to_numpy(dtype=dtype))
        return found


@collector_held()
def build_zone(
    frames: Mapping[str, gpd.GeoDataFrame],
    *,
    versions: Mapping[str, int] | None = None,
    previous: Zone | None = None,
) -> Zone:
    """Build a :class:`Zone` from canonical layer frames (as the store returns them),
    taking from a ``previous`` zone what did not change: the road network and shortest
    paths, and the sites' projections, utility pairs and road distances
    (:class:`matching.zone_reuse.Reused`). Python's cycle collector is held off meanwhile
    (:mod:`matching.collector`).

    Examples
    --------
    >>> from layers.demo import generate_zone
    >>> zone = build_zone(generate_zone(parcels=50))
    >>> len(zone.parcels), zone.metric_epsg
    (50, 4547)
    """
    epsg = _metric_epsg(frames)
    infrastructure, roads = (positional(frames[s.name]) for s in (INFRASTRUCTURE, ROADS))
    nodes, lines = (np.asarray(f.geometry.values.to_crs(epsg)) for f in (infrastructure, roads))
    kinds = infrastructure["kind"].to_numpy()
    targets = {kind: np.flatnonzero(kinds == kind) for kind in NEAREST_KINDS}
    kept = previous if same_network(previous, epsg, roads, infrastructure) else None
    same = (previous, kept is not None, epsg, infrastructure)
    reused = {n: Reused.find(*same, n, frames[n]) for n in (PARCELS.name, FACTORIES.name)}
    with ThreadPoolExecutor(build_threads()) as pool:
        # On the pool (GEOS, PROJ and NumPy release the GIL) while this thread derives
        # fields: the network, distances, then what needs the network (_on_network).
        built = (
            _done(kept.network)
            if kept
            else pool.submit(RoadNetwork.build, lines, roads["grade"].to_numpy())
        )
        sited = {n: r.placed.sited(frames[n].geometry, epsg, pool) for n, r in reused.items()}
        anew = {n: reused[n].anew(s) for n, s in sited.items()}
        measured = {
            n: pool.submit(reused[n].paired.distances, a[0], nodes, kinds) for n, a in anew.items()
        }
        ways = {} if kept else {kind: nodes[i] for kind, i in targets.items()}
        accessed, found = _on_network(pool, built, {n: a[1] for n, a in anew.items()}, ways)
        reached = {kind: _done(kept.reach[kind]) for kind in targets} if kept else found
        parks = positional(derive(frames[PARKS.name], PARKS))
        sites = {
            s.name: _sites(s, frames[s.name], sited[s.name], parks, measured[s.name])
            for s in (PARCELS, FACTORIES)
        }
        on = (built.result(), {kind: f.result() for kind, f in reached.items()}, targets)
        parcels, factories = (
            _by_road(sites[n], reused[n].routed, on, accessed[n])
            for n in (PARCELS.name, FACTORIES.name)
        )
    network, reach = on[0].lean(), on[1]  # see RoadNetwork.segments
    tagged = dict(versions or {})
    return Zone(parcels, factories, parks, infrastructure, roads, epsg, network, tagged, reach)


_T = TypeVar("_T")


def _done(value: _T) -> Future[_T]:
    """A future that has ``value`` already (a part of the build taken as it is)."""
    future: Future[_T] = Future()
    future.set_result(value)
    return future


def _on_network(
    pool: ThreadPoolExecutor,
    network: Future[RoadNetwork],
    rests: Mapping[str, Geometries],
    targets: Mapping[str, Geometries],
) -> tuple[dict[str, list[Future[Access]]], dict[str, Future[Reach]]]:
    """What needs the network, on the pool once it is built: where the sites not taken
    from the previous zone (``rests``, per layer, in the zone's CRS) reach it, in parts
    (four per thread, so that the threads, free at different times, end together), and
    each kind's ways to its ``targets`` (:meth:`RoadNetwork.reach`).

    A kind's ways follow each of the first parts: SciPy's shortest paths hold the GIL
    throughout, a part (GEOS distances) about half its time, so one thread finds ways
    beside the other's parts. Put after every part, the ways were found on both threads
    at once, the one waiting for the other: at 1,000,000 parcels, the last second of a
    build on one core."""

    def on(method: Callable[[RoadNetwork, Geometries], _T], part: Geometries) -> Future[_T]:
        return pool.submit(lambda: method(network.result(), part))

    ways = iter(targets.items())
    accessed: dict[str, list[Future[Access]]] = {n: [] for n in rests}
    reached: dict[str, Future[Reach]] = {}
    for n, rest in rests.items():
        for part in np.array_split(rest, 4 * build_threads()):
            accessed[n].append(on(RoadNetwork.access, part))
            if (way := next(ways, None)) is not None:
                reached[way[0]] = on(RoadNetwork.reach, way[1])
    return accessed, reached | {kind: on(RoadNetwork.reach, g) for kind, g in ways}


def _by_road(
    sites: Sites,
    same: Unchanged,
    on: tuple[RoadNetwork, Mapping[str, Reach], Mapping[str, IntArray]],
    access: list[Future[Access]],
) -> Sites:
    """``sites`` with their road distances (:meth:`Unchanged.road`)."""
    whole = Access.concatenate([part.result() for part in access])
    road = same.road(on, whole, sites.distances.straight_of)
    return replace(sites, distances=replace(sites.distances, road=road))


def _metric_epsg(frames: Mapping[str, gpd.GeoDataFrame]) -> int:
    """The Gauss-Krüger zone of the sites' median longitude (of their centroids)."""
    reference = frames[PARCELS.name] if len(frames[PARCELS.name]) else frames[FACTORIES.name]
    return metric_epsg_of(np.asarray(reference.geometry.values))


def build_threads() -> int:
    """Threads a zone build uses: the cores this process may run on, at most four."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


def _sites(
    spec: LayerSpec,
    frame: gpd.GeoDataFrame,
    sited: Sited,
    parks: pd.DataFrame,
    measured: Future[Distances],
) -> Sites:
    """A layer's sites, but for their road distances (:meth:`Unchanged.road`), given their
    areas in the zone's CRS (``sited``) and their distances being ``measured`` meanwhile."""
    # Only land is made ready (净地); a building is there. The days give readiness too.
    keys, days = condition_days(frame) if spec is PARCELS else ([], None)
    met = met_always(keys, days) if days is not None else None
    derived = positional(
        derive(frame, spec, measured=(sited.shapes.epsg, sited.shapes.area_m2), met=met)
    )
    park = pd.Index(parks[PARKS.id_field]).get_indexer(derived["park_id"]).astype(np.int64)
    budgets = site_budgets(derived, park, parks)
    distances = measured.result()
    if days is None:
        return Sites(spec.name, derived, distances.sites, park, distances, budgets)
    return Sites(spec.name, derived, distances.sites, park, distances, budgets, tuple(keys), days)


def site_budgets(
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


def positional(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Keep the store's feature id as a column and index rows 0…n-1; coded columns that
    every request compares become categoricals (integer comparisons, not strings)."""
    fid = frame.index.to_numpy() if frame.index.name == "fid" else np.arange(len(frame))
    out = frame.reset_index(drop=True)  # copy-on-write: the caller's frame stays as it is
    out["fid"] = fid
    for column in ("status", "land_use", "kind"):
        if column in out.columns:
            values = out[column]
            coded = categorical(values.to_numpy()) if values.dtype == object else values
            out[column] = pd.Series(coded, index=out.index, dtype="category")
    return out
