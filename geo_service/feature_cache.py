"""Features as ``/items`` writes them (GeoJSON, UTF-8), kept while the layers stay as they are.

A page of 1,000 parcels costs tens of milliseconds to read and write out, nearly all of it
turning rows into GeoJSON; asking the store which features a page holds costs a few. The
layers change a few times a year (a stock list) or a day (a reservation, a ledger), and
readers ask for the same features again and again over different boxes: so each
feature's text is written once per set of layer versions, and pages are put together
from it.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable, Mapping

from cachetools import LRUCache

_ENTRY_BYTES = 256
"""What an entry costs beyond its text (key, node)."""


class FeatureCache:
    """The text of features per *group* (layer, fields shown, output CRS …), valid for one
    set of layer versions: texts of other versions are never returned, and the first
    texts stored for newer versions drop all older ones. The least recently used go
    first beyond ``max_bytes``."""

    def __init__(self, *, max_bytes: int = 256 * 2**20) -> None:
        self._lock = threading.Lock()
        self._versions: Mapping[str, int] = {}
        self._texts: LRUCache[tuple[Hashable, int], bytes] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda text: len(text) + _ENTRY_BYTES
        )

    def get(
        self, versions: Mapping[str, int], group: Hashable, fids: Iterable[int]
    ) -> dict[int, bytes]:
        """The texts held for ``fids`` (those not held are left out)."""
        with self._lock:
            if versions != self._versions:
                return {}
            texts = self._texts
            return {fid: text for fid in fids if (text := texts.get((group, fid))) is not None}

    def put(self, versions: Mapping[str, int], group: Hashable, texts: Mapping[int, bytes]) -> None:
        """Keep ``texts``, written from the layers at ``versions``."""
        with self._lock:
            if versions != self._versions:
                if any(versions.get(name, 0) < v for name, v in self._versions.items()):
                    return  # written before a change another request has seen already
                self._versions = dict(versions)
                self._texts.clear()
            for fid, text in texts.items():
                if len(text) + _ENTRY_BYTES <= self._texts.maxsize:
                    self._texts[(group, fid)] = text
