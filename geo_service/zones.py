"""The in-memory zone that matching reads, rebuilt only when a layer changes."""

from __future__ import annotations

import threading

from layers.catalog import LAYERS
from layers.store.store import Store
from matching.zone import Zone, build_zone


class ZoneCache:
    """Holds one :class:`Zone` per set of layer versions.

    Each request asks the store for the layer versions (one small query); the zone and its
    distance tables are rebuilt only when they changed, so matching sees new data at once
    and otherwise does array work only.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._zone: Zone | None = None
        self._lock = threading.Lock()

    def get(self) -> Zone:
        versions = self._store.versions()
        zone = self._zone
        if zone is not None and dict(zone.versions) == versions:
            return zone
        with self._lock:
            if self._zone is None or dict(self._zone.versions) != versions:
                frames = {name: self._store.read_layer(spec) for name, spec in LAYERS.items()}
                self._zone = build_zone(frames, versions=versions)
            return self._zone
