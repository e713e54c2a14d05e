"""The one least-recently-used cache of the server: the store's objects, the workspace's compiled rule sets and
the reference data sets all use it. Imports nothing of the server, so every layer may use it.

Two caches of the services were OrderedDicts of their own, and the workspace's "last changes" entries were added
without eviction (one per rule set and version, for ever); now every cache here has a bound.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["LRUCache"]

_ABSENT = object()


class LRUCache:
    """A small thread-safe least-recently-used cache, bounded by entries and by an estimate of bytes.

    ``get`` answers ``default`` for a key it does not hold; a value may be None (``key in cache`` tells the two
    apart). ``put`` keeps the value already held for a key: cached values here are answers about things that never
    change (a Git object, a rule set at a version), so the first one stands."""

    def __init__(self, max_items: int, max_bytes: int = 1 << 62):
        self._data: OrderedDict = OrderedDict()
        self._max_items, self._max_bytes, self._bytes = max_items, max_bytes, 0
        self._lock = threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            item = self._data.get(key, _ABSENT)
            if item is _ABSENT:
                return default
            self._data.move_to_end(key)
            return item[0]

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def put(self, key, value, size: int = 0) -> None:
        with self._lock:
            if key in self._data:
                return
            self._data[key] = (value, size)
            self._bytes += size
            while len(self._data) > self._max_items or (self._bytes > self._max_bytes and len(self._data) > 1):
                self._bytes -= self._data.popitem(last=False)[1][1]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0
