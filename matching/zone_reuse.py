"""What a zone built anew takes from the zone it replaces.

A new stock list, or a layer of parcels replaced, is built anew
(:func:`matching.zone.build_zone` with ``previous``), but most of it is what the previous
zone had:

- the road network and each kind's shortest paths, when the roads and the infrastructure
  nodes are the same (:func:`same_network`);
- for every site whose stored geometry is exactly one of the previous zone's, its
  area in the zone's CRS (:mod:`matching.shapes`), its
  road distances and its utility nodes within reach (:class:`Unchanged`): the same
  geometry on the same network, among the same nodes, has the same ones. Projecting the
  sites and finding where each reaches the network was about half of the CPU a new
  list's build took at 100,000 parcels; measuring the utility pairs, the longest part
  left after that. A road changed keeps the sites' projections and utility pairs, a
  node moved their projections (:class:`Reused`).

The fields derived from attributes (readiness, budgets, areas in 亩 from the areas kept)
are worked out again. The result equals a zone built from nothing
(``tests/test_zone_patch.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, fields
from functools import partial
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from matching.distances import Distances
from matching.outlines import Corners
from matching.roadnet import Access, Reach, RoadDistance, RoadNetwork
from matching.shapes import Shapes, projected_corners

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Straight = Callable[[str, IntArray], tuple[FloatArray, IntArray]]
"""Metres in a straight line from some sites (rows) to the nearest target of a kind, and
which target (:meth:`matching.distances.Distances.straight_of`)."""
Geometries = npt.NDArray[np.object_]
Kinds = npt.NDArray[np.object_]


def same_network(
    previous: Built | None, epsg: int, roads: pd.DataFrame, infrastructure: gpd.GeoDataFrame
) -> bool:
    """Whether ``previous`` has these roads and infrastructure nodes (ids, kinds and
    geometries; other attributes, such as spare capacities, do not reach the network)."""
    if previous is None or previous.metric_epsg != epsg or not previous.roads.equals(roads):
        return False
    return same_nodes(previous.infrastructure, infrastructure)


def same_nodes(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> bool:
    """Whether two infrastructure layers (positional, as a zone holds them) have the same
    nodes: ids, kinds and geometries; what distances and the network depend on."""
    return (
        len(old) == len(new)
        and old["fid"].equals(new["fid"])
        and old["kind"].astype(object).equals(new["kind"].astype(object))
        and bool(shapely.equals_exact(old.geometry.values, new.geometry.values, 0).all())
    )


class Layer(Protocol):
    """What is taken from the previous zone's layer (:class:`matching.zone.Sites`)."""

    @property
    def frame(self) -> gpd.GeoDataFrame: ...
    @property
    def metric(self) -> Shapes: ...
    @property
    def distances(self) -> Distances: ...
    def __len__(self) -> int: ...


class Built(Protocol):
    """What is taken from the previous zone (:class:`matching.zone.Zone`)."""

    @property
    def metric_epsg(self) -> int: ...
    @property
    def roads(self) -> pd.DataFrame: ...
    @property
    def infrastructure(self) -> gpd.GeoDataFrame: ...
    def layer(self, name: str) -> Layer: ...


@dataclass(frozen=True)
class Sited:
    """A layer's sites in the zone's CRS, as a build needs them."""

    rest: Geometries
    """The geometries of :attr:`Unchanged.rest`, projected."""
    shapes: Shapes
    """Every site, with its area (m²) in the zone's CRS."""
    corners: Corners | None = None
    """The corners of :attr:`rest` (None: not at hand)."""


@dataclass(frozen=True)
class Reused:
    """What a layer's build takes from the previous zone, part by part (each an
    :class:`Unchanged`): the projected geometries and areas of the sites it has, when the
    zone's CRS is the same (``placed``); their utility pairs, when the nodes are the same
    too (``paired``); their road distances, when the roads are as well (``routed``). A
    road or a node drawn anew changes where sites reach the network or which nodes are
    within their reach, not where the sites lie."""

    placed: Unchanged
    paired: Unchanged
    routed: Unchanged

    @classmethod
    def find(
        cls,
        previous: Built | None,
        same_roads: bool,
        epsg: int,
        infrastructure: gpd.GeoDataFrame,
        name: str,
        now: gpd.GeoDataFrame,
    ) -> Reused:
        """The parts of the layer ``name`` (``now``) taken from ``previous``, given
        whether it has the same network (:func:`same_network`), the zone's CRS and its
        nodes."""
        in_crs = previous is not None and previous.metric_epsg == epsg
        placed = Unchanged.find(previous if in_crs else None, name, now)
        if not len(placed.new):  # none taken: every site is worked out anew, as placed
            return cls(placed, placed, placed)
        nodes = same_roads or (
            previous is not None and in_crs and same_nodes(previous.infrastructure, infrastructure)
        )
        return cls(
            placed, placed if nodes else placed.anew(), placed if same_roads else placed.anew()
        )

    def anew(self, sited: Sited) -> tuple[Sited, Geometries]:
        """The sites whose utility pairs and the geometries whose road distances are
        worked out anew, in the zone's CRS: those of :attr:`Unchanged.rest` (``sited``),
        or every site."""
        if self.paired is self.placed and self.routed is self.placed:
            return sited, sited.rest
        every = self.placed.whole(sited.rest)
        return (
            sited if self.paired is self.placed else Sited(every, sited.shapes),
            sited.rest if self.routed is self.placed else every,
        )


@dataclass(frozen=True)
class Unchanged:
    """A layer's sites whose stored geometry a site of the previous zone's layer
    (``before``) has, byte for byte (as WKB: a corner moved by any amount is a new
    geometry)."""

    before: Layer | None
    new: IntArray
    """Their positions in the layer built."""
    old: IntArray
    """The positions of the same geometries in ``before``."""
    rest: IntArray
    """The positions of the other sites: worked out anew."""

    @classmethod
    def find(cls, previous: Built | None, name: str, now: gpd.GeoDataFrame) -> Unchanged:
        """The sites of the layer ``now`` found in the ``previous`` zone's layer ``name``
        (None: none is)."""
        everyone = np.arange(len(now), dtype=np.int64)
        before = None if previous is None else previous.layer(name)
        if before is None or not len(before) or not len(now):
            return cls.none(len(now))
        old = np.asarray(before.frame.geometry.values)
        new = np.asarray(now.geometry.values)
        # The same objects first (a new list's frame takes the rows it repeats from the
        # last one's: see layers.store.release_rows), then equal WKB among the others.
        found = _positions(list(map(id, old)), list(map(id, new)))
        new_left = np.flatnonzero(found < 0)
        old_left = np.setdiff1d(np.arange(len(old)), found)
        if len(new_left) and len(old_left):
            by_wkb = _positions(shapely.to_wkb(old[old_left]), shapely.to_wkb(new[new_left]))
            found[new_left] = np.where(by_wkb >= 0, old_left[by_wkb], -1)
        hit = found >= 0
        return cls(before, everyone[hit], found[hit], everyone[~hit])

    @classmethod
    def none(cls, n: int) -> Unchanged:
        """None of ``n`` sites taken from a previous zone: all worked out anew."""
        none = np.zeros(0, dtype=np.int64)
        return cls(None, none, none, np.arange(n, dtype=np.int64))

    def anew(self) -> Unchanged:
        """The same sites, none of them taken from the previous zone."""
        return Unchanged.none(len(self.new) + len(self.rest))

    def whole(self, rest: Geometries) -> Geometries:
        """Every site in the zone's CRS, given :attr:`rest`'s (:attr:`Sited.rest`): the
        others projected again from the previous zone's (:class:`Shapes`)."""
        out = np.empty(len(self.new) + len(self.rest), dtype=object)
        out[self.rest] = rest
        if self.before is not None:
            out[self.new] = self.before.metric[self.old]
        return out

    def sited(self, now: gpd.GeoSeries, epsg: int, pool: Executor) -> Sited:
        """The sites in the zone's CRS ``epsg``: the rest projected anew (half of them on
        ``pool`` meanwhile: PROJ releases the GIL), and every site's area, the previous
        zone's where unchanged."""
        first, second = np.array_split(self.rest, 2)
        later = pool.submit(projected_corners, now.values[second], epsg)
        (one, (xy, owner)), (other, (more_xy, more_owner)) = (
            projected_corners(now.values[first], epsg),
            later.result(),
        )
        rest = np.concatenate([one, other])
        corners = (np.concatenate([xy, more_xy]), np.r_[owner, more_owner + len(first)])
        before = None if self.before is None else self.before.metric.area_m2
        areas = self._spliced(before, shapely.area(rest))
        return Sited(rest, Shapes(now.values, epsg, areas), corners)

    def distances(self, rest: Sited, nodes: Geometries, kinds: Kinds) -> Distances:
        """The distances to the utility nodes (of ``kinds``) within reach of every site
        (``rest.shapes``), given the rest in the zone's CRS (:meth:`sited`): the
        previous zone's pairs where unchanged (its nodes are these), measured anew for
        the rest; road distances to come (:meth:`road`)."""
        shapes = rest.shapes
        fresh = Distances.build(rest.rest, shapes, nodes, kinds, corners=rest.corners)
        if self.before is None:
            return fresh  # the rest is every site
        before, taken = self.before.distances, (self.old, self.new)
        pairs = {k: p.taken(*taken, fresh.pairs[k], self.rest) for k, p in before.pairs.items()}
        return Distances(shapes, nodes, kinds, pairs)

    def road(
        self,
        on: tuple[RoadNetwork, Mapping[str, Reach], Mapping[str, IntArray]],
        access: Access,
        straight: Straight,
    ) -> dict[str, RoadDistance]:
        """Road distances of every site to each kind of target (``on`` the network, with
        each kind's shortest paths and target ids): the previous zone's where unchanged;
        for the rest, from where they reach the network (``access``, of :attr:`rest` in
        order) or, where it does not, ``straight(kind, rows)``."""
        network, reach, targets = on
        return {
            kind: self._merged(
                kind,
                network.distances(access, reach[kind], ids, partial(self._rest, straight, kind)),
            )
            for kind, ids in targets.items()
        }

    def _rest(self, straight: Straight, kind: str, rows: IntArray) -> tuple[FloatArray, IntArray]:
        return straight(kind, self.rest[rows])  # rows of the rest

    def _merged(self, kind: str, fresh: RoadDistance) -> RoadDistance:
        old = None if self.before is None else self.before.distances.road[kind]
        return RoadDistance(
            *(
                self._spliced(None if old is None else getattr(old, f.name), getattr(fresh, f.name))
                for f in fields(RoadDistance)
            )
        )

    def _spliced(
        self, before: npt.NDArray[Any] | None, fresh: npt.NDArray[Any]
    ) -> npt.NDArray[Any]:
        """Per site, the previous zone's value (``before``, by its positions) where
        unchanged, and ``fresh``'s (of :attr:`rest`, in order) for the rest."""
        out = np.empty(len(self.new) + len(self.rest), dtype=fresh.dtype)
        out[self.rest] = fresh
        if before is not None:
            out[self.new] = before[self.old]
        return out


def _positions(
    old: Sequence[Any] | npt.NDArray[Any], new: Sequence[Any] | npt.NDArray[Any]
) -> IntArray:
    """For each value of ``new``, the position of an equal one in ``old`` (-1: none).
    Equal geometries have equal results: any one will do."""
    index = pd.Index(old)
    first = np.flatnonzero(~index.duplicated())
    if not len(first):
        return np.full(len(new), -1, dtype=np.int64)
    at = index[first].get_indexer(pd.Index(new))
    return np.where(at >= 0, first[at], -1).astype(np.int64)
