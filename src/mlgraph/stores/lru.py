"""A least-recently-used map bounded in bytes, each entry with its own expiry.

Entries can be large and of any size (documents, backend answers), so a
count alone would not bound memory: the caller says what each entry costs,
and the oldest-used entries go until the total fits.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")
Clock = Callable[[], float]


class ByteLRU(Generic[V]):
    """At most ``max_bytes`` of entries, as their ``put`` sizes them; the least
    recently used go first, an expired one when next read. ``clock`` gives
    seconds (``time.monotonic``, or a test's)."""

    def __init__(self, max_bytes: int, clock: Clock) -> None:
        self.max_bytes = max_bytes
        self.clock = clock
        self.size = 0
        self._items: OrderedDict[str, tuple[V, int, float | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        value, _, expires = item
        if expires is not None and expires <= self.clock():
            self.pop(key)
            return None
        self._items.move_to_end(key)
        return value

    def put(self, key: str, value: V, size: int, ttl: float | None = None) -> bool:
        """Keep ``value`` for ``ttl`` seconds (none or 0: until pushed out);
        False, and nothing changed, when it alone is over the bound."""
        if size > self.max_bytes:
            return False
        self.pop(key)
        expires = self.clock() + ttl if ttl else None
        self._items[key] = (value, size, expires)
        self.size += size
        while self.size > self.max_bytes:
            self.pop(next(iter(self._items)))
        return True

    def pop(self, key: str) -> V | None:
        item = self._items.pop(key, None)
        if item is None:
            return None
        value, size, _ = item
        self.size -= size
        self.dropped(key, value)
        return value

    def dropped(self, key: str, value: V) -> None:
        """Called for every entry that leaves (evicted, expired, replaced);
        subclasses that index entries forget them here."""

    def clear(self) -> None:
        for key in list(self._items):
            self.pop(key)
