"""The zone as the service reads it — layers, matching zone, rendered pages and tiles —
held in memory and dropped as soon as any layer changes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import geopandas as gpd

from layers.catalog import LAYERS
from layers.store.store import Store
from matching.zone import Zone, build_zone

Output = TypeVar("Output", str, bytes)
_ENTRY_BYTES = 512
"""What an entry costs beyond its value (key, node): many empty tiles are not free."""


@dataclass
class _Snapshot:
    versions: dict[str, int]
    frames: dict[str, gpd.GeoDataFrame] | None = None
    zone: Zone | None = None
    outputs: OrderedDict[Hashable, str | bytes] = field(default_factory=OrderedDict)
    output_bytes: int = 0


class ZoneCache:
    """One snapshot of the store per set of layer versions.

    Each call asks the store for the layer versions (one small query); the layers are read
    again, and the matching zone, map pages and tiles rebuilt, only when one changed — so
    every reader sees new data at once and otherwise does no database work. Frames handed
    out are shared: callers copy before changing them (``layers.frames.derive`` does).
    """

    def __init__(self, store: Store, *, max_output_bytes: int = 256 * 2**20) -> None:
        self._store = store
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()
        self._max_output_bytes = max_output_bytes

    def _current(self) -> _Snapshot:
        versions = self._store.versions()
        snapshot = self._snapshot
        if snapshot is not None and snapshot.versions == versions:
            return snapshot
        with self._lock:
            if self._snapshot is None or self._snapshot.versions != versions:
                self._snapshot = _Snapshot(versions)
            return self._snapshot

    def frames(self) -> Mapping[str, gpd.GeoDataFrame]:
        """Every layer as stored (canonical frames indexed by feature id), read once."""
        return self._frames_of(self._current())

    def _frames_of(self, snapshot: _Snapshot) -> dict[str, gpd.GeoDataFrame]:
        if snapshot.frames is not None:
            return snapshot.frames
        with self._lock:
            if snapshot.frames is None:
                # Read under the versions just checked; a write in between shows up as a
                # new version at the next call, and this snapshot is then dropped.
                snapshot.frames = {
                    name: self._store.read_layer(spec) for name, spec in LAYERS.items()
                }
            return snapshot.frames

    def get(self) -> Zone:
        """The matching zone of the current layers."""
        snapshot = self._current()
        frames = self._frames_of(snapshot)
        if snapshot.zone is None:
            with self._lock:
                if snapshot.zone is None:
                    snapshot.zone = build_zone(frames, versions=snapshot.versions)
        return snapshot.zone

    def output(self, key: Hashable, build: Callable[[], Output]) -> Output:
        """``build()`` for the current layers, remembered under ``key`` (least recently used
        dropped first) until a layer changes: pages and tiles are built once per edit."""
        snapshot = self._current()
        with self._lock:
            if key in snapshot.outputs:
                snapshot.outputs.move_to_end(key)
                return snapshot.outputs[key]  # type: ignore[return-value]  # same key, same type
        value = build()
        with self._lock:
            if key not in snapshot.outputs:
                snapshot.outputs[key] = value
                snapshot.output_bytes += len(value) + _ENTRY_BYTES
                while snapshot.output_bytes > self._max_output_bytes and len(snapshot.outputs) > 1:
                    _, dropped = snapshot.outputs.popitem(last=False)
                    snapshot.output_bytes -= len(dropped) + _ENTRY_BYTES
        return value
