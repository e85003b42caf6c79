"""The zone as the service reads it — layers, matching zone, rendered pages and tiles —
held in memory and replaced as soon as any layer changes."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import TypeVar, cast, overload

import geopandas as gpd
import pandas as pd
from cachetools import LRUCache

from layers.catalog import FACTORIES, INFRASTRUCTURE, LAYERS, PARCELS, PARKS
from layers.frame_rows import with_rows
from layers.store.release_rows import Held, read_release
from layers.store.store import Store
from layers.store.tables import LAYER_TABLES
from matching.zone import Zone, build_zone
from matching.zone_patch import NeedsRebuild, patched

log = logging.getLogger(__name__)
Output = TypeVar("Output", str, bytes)
_ENTRY_BYTES = 512
"""What an entry costs beyond its value (key, node): many empty tiles are not free."""


@dataclass
class _Snapshot:
    versions: dict[str, int]
    rows_versions: dict[str, int]
    reserved: dict[str, frozenset[str]]
    """The sites held by active reservations, per layer."""
    frames: dict[str, gpd.GeoDataFrame]
    hashes: dict[str, pd.Series]
    """The released layers' rows' hashes (see :mod:`layers.store.release_rows`)."""
    zone: Zone
    outputs: LRUCache[Hashable, str | bytes]
    building: dict[Hashable, Future[str | bytes]] = field(default_factory=dict)


class ZoneCache:
    """One snapshot of the store per set of layer versions.

    Each call asks the store for the layer versions (one small query); the layers that
    changed are read again and the matching zone rebuilt only then, and map pages and tiles
    are built once per snapshot. Frames handed out are shared: callers copy before
    changing them (``layers.frames.derive`` does).

    A change of attributes only — a reservation, its release, a ledger edit — is patched
    into the served snapshot in milliseconds (:mod:`matching.zone_patch`) by the first
    request to see it. Anything else — a new stock list, a layer replaced — takes seconds
    on a large zone: it is built anew on a thread of its own while every reader is served
    the previous snapshot (they could as well have arrived a moment earlier); only the
    first load, with nothing to serve, is waited for. A request that may change the layers
    runs inside :meth:`changing` (every write route does, by its route class:
    :mod:`geo_service.routing`): until it has loaded the change itself, before it
    answers, readers that see the change keep the previous snapshot too — so its caller's
    next request sees the change, and nobody else waits.
    """

    def __init__(self, store: Store, *, max_output_bytes: int = 256 * 2**20) -> None:
        self._store = store
        self._snapshot: _Snapshot | None = None
        self._loading = threading.Lock()  # one load at a time
        self._lock = threading.Lock()  # the outputs of a snapshot, the count of changes
        self._changes = 0  # changes under way in this process (see changing)
        self._rebuilding: threading.Thread | None = None
        self._max_output_bytes = max_output_bytes

    @contextmanager
    def changing(self) -> Iterator[None]:
        """Around a change to the layers made by this process (blocking: in a thread).

        Until the change is loaded, readers who see it keep the previous snapshot; on
        leaving, the change is loaded (waiting for a load under way), so that whoever
        made it sees it in their next request. Before the first load there is nothing
        old to serve, and nothing to do.
        """
        with self._lock:
            self._changes += 1
        try:
            yield
            if self._snapshot is not None:
                try:
                    self._current(wait=True)
                except Exception:  # the change is stored: the next reader loads it
                    log.warning("the zone was not loaded after a change", exc_info=True)
        finally:
            with self._lock:
                self._changes -= 1

    @property
    def versions(self) -> Mapping[str, int] | None:
        """The layer versions of the snapshot served (``None`` before the first load)."""
        snapshot = self._snapshot
        return None if snapshot is None else snapshot.versions

    def _current(self, *, wait: bool = False) -> _Snapshot:
        self._store.reservations.expire()  # a release when one has expired: a new version
        versions = self._store.features.versions()
        served = self._snapshot
        if served is not None and served.versions == versions:
            return served
        if served is not None and self._changes and not wait:
            return served  # the request that changed the layers loads them
        if served is None:
            self._loading.acquire()  # nothing to serve meanwhile
        elif not self._loading.acquire(blocking=wait):
            return served  # being loaded by another request
        handed_over = False
        try:
            served = self._snapshot
            if served is None:
                served = self._snapshot = self._load()
            elif not _covers(served.versions, versions):
                fresh = self._load(patch_only=not wait)
                if fresh is None:  # a rebuild: this reader goes on with the zone it has
                    self._rebuild_in_background()
                    handed_over = True
                    return served
                served = self._snapshot = fresh
            return served
        finally:
            if not handed_over:
                self._loading.release()

    def _rebuild_in_background(self) -> None:
        """Load a new snapshot on a thread of its own, which then lets go of the loading
        lock the caller holds; readers are served the previous snapshot meanwhile."""

        def rebuild() -> None:
            try:
                self._snapshot = self._load()
            except Exception:  # the change is stored: the next reader tries again
                log.warning("the zone was not rebuilt after a change", exc_info=True)
            finally:
                self._loading.release()

        self._rebuilding = threading.Thread(target=rebuild, name="zone-rebuild", daemon=True)
        self._rebuilding.start()

    def settle(self, timeout: float | None = None) -> None:
        """Wait for a rebuild under way (tests, and a server shutting down)."""
        rebuilding = self._rebuilding
        if rebuilding is not None:
            rebuilding.join(timeout)

    @overload
    def _load(self) -> _Snapshot: ...
    @overload
    def _load(self, *, patch_only: bool) -> _Snapshot | None: ...

    def _load(self, *, patch_only: bool = False) -> _Snapshot | None:
        """A snapshot of the store now: the served one patched where only reservations and
        the small layers changed, else built anew — unless ``patch_only`` (then None)."""
        # Versions read first: a write during the reads shows up as a newer version at
        # the next call, and this snapshot is then replaced.
        versions, rows_versions = self._store.features.stamps()
        reserved = self._reserved()
        served = self._snapshot
        if served is not None:
            try:
                return self._patched(served, versions, rows_versions, reserved)
            except NeedsRebuild:
                if patch_only:
                    return None
        frames, hashes = self._read(served, versions)
        previous = None if served is None else served.zone  # its network, if roads are alike
        zone = build_zone(frames, versions=versions, previous=previous)
        outputs = _outputs(self._max_output_bytes)
        snapshot = _Snapshot(versions, rows_versions, reserved, frames, hashes, zone, outputs)
        give_back_memory()
        return snapshot

    def _read(
        self, served: _Snapshot | None, versions: dict[str, int]
    ) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, pd.Series]]:
        """Every layer's frame, and the released layers' rows' hashes: the layers that
        did not change are not read again, and of a new release only the rows that the
        served one does not have (:func:`~layers.store.release_rows.read_release`)."""
        frames, hashes = {}, {}
        for name, spec in LAYERS.items():
            if served is not None and served.versions[name] == versions[name]:
                frames[name] = served.frames[name]
                if name in served.hashes:
                    hashes[name] = served.hashes[name]
            elif spec.released:
                held = None if served is None else Held(served.frames[name], served.hashes[name])
                fresh = read_release(self._store.features, spec, held)
                frames[name], hashes[name] = fresh.frame, fresh.hashes
            else:
                frames[name] = self._store.features.read(spec, long_read=True)
        return frames, hashes

    def _patched(
        self,
        served: _Snapshot,
        versions: dict[str, int],
        rows_versions: dict[str, int],
        reserved: dict[str, frozenset[str]],
    ) -> _Snapshot:
        """``served`` brought up to date without reading the large layers again, when
        only reservations and the small layers changed (see :mod:`matching.zone_patch`):
        the sites whose reservation began or ended are read again, and the parks,
        infrastructure and factories when they changed."""
        moved = {name for name, v in rows_versions.items() if v != served.rows_versions[name]}
        if moved - {PARKS.name, INFRASTRUCTURE.name, FACTORIES.name}:
            raise NeedsRebuild(f"stored rows changed: {sorted(moved)}")
        frames, rows = dict(served.frames), {}
        for spec in (PARCELS, FACTORIES):
            if spec.name in moved:  # a ledger edit: the layer is small, read it whole
                fresh = self._store.features.read(spec)
                if not fresh.index.equals(frames[spec.name].index):
                    raise NeedsRebuild(f"{spec.name} added or removed")
                frames[spec.name] = rows[spec.name] = fresh
                continue
            ids = reserved.get(spec.name, frozenset()) ^ served.reserved.get(spec.name, frozenset())
            if ids:
                column = LAYER_TABLES[spec.name].c[spec.id_field]
                fresh = self._store.features.read(spec, where=[column.in_(sorted(ids))])
                at = frames[spec.name].index.get_indexer(fresh.index)
                if (at < 0).any():
                    raise NeedsRebuild(f"{spec.name}: a reserved site is not in the zone")
                frames[spec.name] = with_rows(frames[spec.name], at, fresh)
                rows[spec.name] = fresh
        for spec in (PARKS, INFRASTRUCTURE):
            if versions[spec.name] != served.versions[spec.name]:
                frames[spec.name] = self._store.features.read(spec)
        zone = patched(
            served.zone,
            sites=rows,
            parks=frames[PARKS.name],
            infrastructure=frames[INFRASTRUCTURE.name],
            versions=versions,
        )
        outputs = _outputs(self._max_output_bytes)
        hashes = served.hashes  # the same rows
        return _Snapshot(versions, rows_versions, reserved, frames, hashes, zone, outputs)

    def _reserved(self) -> dict[str, frozenset[str]]:
        held: dict[str, set[str]] = {}
        for reservation in self._store.reservations.listing(active_only=True):
            held.setdefault(reservation.layer, set()).add(reservation.site_id)
        return {layer: frozenset(ids) for layer, ids in held.items()}

    def frames(self) -> Mapping[str, gpd.GeoDataFrame]:
        """Every layer as stored (canonical frames indexed by feature id)."""
        return self._current().frames

    def get(self) -> Zone:
        """The matching zone of the current layers."""
        return self._current().zone

    def output(self, key: Hashable, build: Callable[[], Output]) -> Output:
        """``build()`` for the current layers, remembered under ``key`` (least recently used
        dropped first) until a layer changes: pages and tiles are built once per edit, and
        requests for one being built wait for it rather than build it again."""
        snapshot = self._current()
        with self._lock:
            held = snapshot.outputs.get(key)
            other = snapshot.building.get(key)
            if held is None and other is None:
                building = snapshot.building[key] = Future()
        if held is not None:
            return held  # type: ignore[return-value]  # same key, same type
        if other is not None:
            return other.result()  # type: ignore[return-value]
        try:
            value = build()
            with self._lock:
                if len(value) + _ENTRY_BYTES <= snapshot.outputs.maxsize:
                    snapshot.outputs[key] = value
            building.set_result(value)
            return value
        except BaseException as exc:
            building.set_exception(exc)
            raise
        finally:
            with self._lock:
                del snapshot.building[key]


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    return cast("Callable[[int], int] | None", trim)


def give_back_memory() -> None:
    """Return to the system the memory a build freed. glibc keeps freed memory in its
    heaps (one per thread the build ran on) for reuse, and a zone's build frees several
    times what the zone keeps: without this, a served 100,000-parcel zone held about
    110 MB more than it used (1.1 KiB per parcel). It takes about 10 ms there."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _outputs(max_bytes: int) -> LRUCache[Hashable, str | bytes]:
    """An empty cache of pages and tiles, holding at most ``max_bytes``."""
    return LRUCache(maxsize=max_bytes, getsizeof=lambda value: len(value) + _ENTRY_BYTES)


def _covers(loaded: Mapping[str, int], seen: Mapping[str, int]) -> bool:
    """Whether a snapshot of versions ``loaded`` is at least as new as ``seen`` (versions
    only grow): a request that waited for a load does not load again."""
    return all(loaded.get(name, 0) >= version for name, version in seen.items())
