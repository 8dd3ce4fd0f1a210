"""A small bounded cache, least recently used first out, shared by the worker's threads: what
the visibility layer keeps across requests (built rules in rules.py, compiled SQL in keys.py).

Not functools.lru_cache: the value is made from more than its key (the viewer's rules need the
viewer, the key holds only its facts), a value the maker declines (None) must not be kept, and
the tests empty and count it. Not cachetools either: its LRUCache would still need this lock
and this get-or-make, which is all there is here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Kept(Generic[V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], V | None]) -> V | None:
        """The value kept for `key`, made by make() (outside the lock: two threads may both
        make it, the last one is kept) and kept on a miss; None, not kept, when make() gives
        None. Beyond `size` entries the least recently used go."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
                return value
        value = make()
        if value is not None:
            with self._lock:
                self._entries[key] = value
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def values(self) -> list[V]:
        with self._lock:
            return list(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)
