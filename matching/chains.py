"""The road network contracted to its junctions, for the shortest-path runs of
:meth:`matching.roadnet.RoadNetwork.reach`.

Most vertices of a noded road network lie inside a road, between two crossings: of the
135,305 vertices of the 100,000-parcel demo zone, 108,285 join just the two edges before
and after them along one line. A *chain* is a run of consecutive edges (in the network's
edge order, each starting where the one before ends) whose inner vertices are of that
kind; its two ends are *junctions*: crossings, the ends of roads, and the vertex where a
closed road without a crossing begins. The shortest-path run goes over the junctions
with one edge per chain, its whole length (a fifth of the vertices and a third of the
edges), and a vertex inside a chain then takes the better of its chain's two ends, each
plus the distance along the chain, or of a target that lies on its own chain, reached
along it. The sums along a chain are added in another order than a run over every
vertex adds them: equal to ~10⁻⁷ m (at 100,000 parcels; the targets the same).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from matching.linework import Index, firsts

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Links = tuple[Index, Index, FloatArray]
"""A graph's edges as the rows of a sparse matrix (its ``indptr``, ``indices``, ``data``)."""


@dataclass(frozen=True)
class Chains:
    """The chains of a network, for two edge weights at once (metres and seconds)."""

    n_vertices: int
    chain: IntArray
    """Per edge, its chain."""
    before: tuple[FloatArray, FloatArray]
    """Per edge and weight, the chain's weight from its first junction to the edge's tail."""
    first: Index
    """Per chain, the junction it starts from (the tail of its first edge)."""
    last: Index
    """Per chain, the junction it ends at (the head of its last edge; ``first`` if closed)."""
    total: tuple[FloatArray, FloatArray]
    """Per chain and weight, its whole weight."""
    inner: Index
    """The vertices inside chains, chain by chain, each chain's in its order."""
    inner_at: tuple[FloatArray, FloatArray]
    """Per inner vertex and weight, the chain's weight from its first junction to it."""
    inner_ends: tuple[Index, Index]
    """Per inner vertex, its chain's ``first`` and ``last``."""
    inner_rest: tuple[FloatArray, FloatArray]
    """Per inner vertex and weight, the chain's weight from it to its last junction."""
    inner_start: IntArray
    """Offsets of each chain's inner vertices in ``inner``, and the end."""
    links: tuple[Links, Links]
    """Per weight, the junctions' edges, each both ways: the chains that are not closed,
    of parallel chains the least."""

    @classmethod
    def of(
        cls, tail: Index, head: Index, weights: tuple[FloatArray, FloatArray], n_vertices: int
    ) -> Chains:
        """The chains of the edges ``tail`` → ``head`` (no loops, no parallel edges)."""
        degree = np.bincount(np.r_[tail, head], minlength=n_vertices)
        # A vertex of two edges, one ending there and the next starting: those two are its
        # only edges, so a run of edges continues through it and through no other vertex.
        through = tail[1:][head[:-1] == tail[1:]]
        passed = np.zeros(n_vertices, dtype=bool)
        passed[through[degree[through] == 2]] = True
        starts = ~passed[tail]
        starts[:1] = True
        chain = np.cumsum(starts) - 1
        first = np.flatnonzero(starts)
        last = np.r_[first[1:], len(tail)] - 1
        within = np.flatnonzero(~starts[1:])  # edges followed by one of their chain
        inner_chain = chain[within]
        before, total, inner_at, inner_rest = [], [], [], []
        for weight in weights:
            upto = np.cumsum(weight)
            # Each chain's own running sum: the whole network's, less that before the chain.
            before_edge = upto - weight - (upto[first] - weight[first])[chain]
            before.append(before_edge)
            total.append(before_edge[last] + weight[last])
            inner_at.append(before_edge[within + 1])
            inner_rest.append(total[-1][inner_chain] - inner_at[-1])
        inner_start = np.searchsorted(inner_chain, np.arange(len(first) + 1))
        ends = (tail[first], head[last])
        return cls(
            n_vertices,
            chain,
            (before[0], before[1]),
            *ends,
            (total[0], total[1]),
            head[within],
            (inner_at[0], inner_at[1]),
            (ends[0][inner_chain], ends[1][inner_chain]),
            (inner_rest[0], inner_rest[1]),
            inner_start,
            (_links(*ends, total[0], n_vertices), _links(*ends, total[1], n_vertices)),
        )

    def nearest(
        self, k: int, edge: IntArray, along: FloatArray, leg: FloatArray
    ) -> tuple[FloatArray, IntArray]:
        """By weight ``k``, every vertex's least weight to a target and which target
        (-1: none reachable). Target *j* lies ``along[j]`` from the tail of ``edge[j]``
        (in weight ``k``) and ``leg[j]`` off the network: one Dijkstra run, from every
        target at once, over the junctions."""
        n, chain = self.n_vertices, self.chain[edge]
        at = self.before[k][edge] + along  # from the chain's first junction
        dist, _, source = dijkstra(
            self._graph(k, chain, at, leg),
            directed=True,
            indices=n + np.arange(len(edge)),
            min_only=True,
            return_predecessors=True,
        )
        dist, source = dist[:n], np.where(source >= n, source - n, -1)[:n]
        inner, lo, hi = self.inner, self.inner_start[:-1], self.inner_start[1:]
        first, last = self.inner_ends
        from_first = dist[first] + self.inner_at[k]
        from_last = dist[last] + self.inner_rest[k]
        dist[inner] = np.minimum(from_first, from_last)
        source[inner] = np.where(from_first <= from_last, source[first], source[last])
        for j in range(len(edge)):  # a target on a chain reaches its inner vertices along it
            rows = slice(lo[chain[j]], hi[chain[j]])
            direct = leg[j] + np.abs(self.inner_at[k][rows] - at[j])
            closer = direct < dist[inner[rows]]
            dist[inner[rows][closer]] = direct[closer]
            source[inner[rows][closer]] = j
        return dist, source

    def _graph(self, k: int, chain: IntArray, at: FloatArray, leg: FloatArray) -> sp.csr_array:
        """The junctions joined by their chains both ways (by weight ``k``), and one more
        vertex per target, joined from it to its chain's two ends (once if they are one).

        A search from the targets never needs the way back to one: each is settled first,
        at 0. The targets' rows follow the junctions', so the matrix is the junctions'
        with rows added (a third faster to search than an undirected graph, which SciPy
        makes symmetric on every run, and made without sorting)."""
        n, (indptr, indices, data) = self.n_vertices, self.links[k]
        to_first, to_last = leg + at, leg + (self.total[k][chain] - at)
        closed = self.first[chain] == self.last[chain]
        to_first[closed] = np.minimum(to_first[closed], to_last[closed])
        ends = np.c_[self.first[chain], self.last[chain]]
        weights = np.c_[to_first, to_last]
        both = np.c_[np.ones(len(chain), dtype=bool), ~closed]
        rows = (indptr[-1] + np.cumsum(both.sum(axis=1))).astype(np.int32)
        size = n + len(chain)
        return sp.csr_array(
            (np.r_[data, weights[both]], np.r_[indices, ends[both]], np.r_[indptr, rows]),
            shape=(size, size),
        )


def _links(first: Index, last: Index, weight: FloatArray, n_vertices: int) -> Links:
    """The junctions' edges, each both ways: per chain from ``first`` to ``last`` weighing
    ``weight``, closed chains left out and of parallel ones the least."""
    links = np.flatnonzero(first != last)
    first, last, weight = first[links], last[links], weight[links]
    lo, hi = np.minimum(first, last), np.maximum(first, last)
    least = firsts(np.lexsort((weight, hi, lo)), lo.astype(np.int64) * n_vertices + hi)
    graph = sp.csr_array(
        (
            np.r_[weight[least], weight[least]],
            (np.r_[lo[least], hi[least]], np.r_[hi[least], lo[least]]),
        ),
        shape=(n_vertices, n_vertices),
    )
    return graph.indptr.astype(np.int32), graph.indices.astype(np.int32), graph.data
