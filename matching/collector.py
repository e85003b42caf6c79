"""Python's cycle collector held off while a zone is built.

A build makes millions of short-lived objects (shapely makes one per geometry: search
boxes, segments, the nearest points of sites and roads, projected parcels). Each 700 new
objects start a collection, and every so often a full one, which walks every object the
process holds: among them the layer frames' object columns, element by element (a NumPy
array of objects is a container to the collector). Those collections run holding the
GIL, so they also stop the build's other threads. At 100,000 parcels they were a
quarter of the time the build held the GIL (py-spy, sampling only the thread that holds
it) and a fifth of its wall time: 1.23–1.50 s with the collector on, 0.98–1.18 s held
off, alternating in one process.

Nothing a build makes is cyclic garbage that would wait for long: its objects are freed
by their reference counts as ever. The collector is process-wide, so a build running
beside requests holds it off for them too, for as long as the build takes; it runs again
once the last build in progress ends (as it was: a process that turned it off keeps it
off).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Hold:
    """Counts the builds in progress; the first turns the collector off, the last back on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._builds = 0
        self._was_on = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if not self._builds:
                self._was_on = gc.isenabled()
                gc.disable()
            self._builds += 1
        try:
            yield
        finally:
            with self._lock:
                self._builds -= 1
                if not self._builds and self._was_on:
                    gc.enable()


collector_held = _Hold()
"""``with collector_held():`` runs its body with the cycle collector off (see above)."""
