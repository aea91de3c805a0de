"""The record cache in this process: an LRU bounded in bytes, entries tagged
with the records they hold so that a write evicts exactly those."""

from __future__ import annotations

from collections.abc import Sequence

from mlgraph.backends.cache.entry import Entry
from mlgraph.backends.cache.store import Lookup
from mlgraph.stores.lru import ByteLRU, Clock

#: What an entry costs besides its body (key, objects, LRU slot), and each tag
#: besides its text (its place in the tag index): without them, many small
#: answers would take far more memory than the bound says.
ENTRY_OVERHEAD = 400
TAG_OVERHEAD = 100


class MemoryRecords(ByteLRU[tuple[Entry, tuple[str, ...]]]):
    """Entries by key, and per tag the keys of the entries that carry it."""

    def __init__(self, max_bytes: int, clock: Clock) -> None:
        super().__init__(max_bytes, clock)
        self.evictions = 0
        self._tagged: dict[str, set[str]] = {}

    async def lookup(self, key: str) -> Lookup:
        found = self.get(key)
        return Lookup(found[0] if found else None, self.evictions, self)

    async def keep(self, key: str, entry: Entry, ttl: float, tags: Sequence[str], seen: Lookup) -> None:
        if seen.version != self.evictions:
            return
        size = ENTRY_OVERHEAD + len(key) + len(entry.body) + sum(TAG_OVERHEAD + len(tag) for tag in tags)
        if self.put(key, (entry, tuple(tags)), size, ttl):
            for tag in tags:
                self._tagged.setdefault(tag, set()).add(key)

    async def evict(self, tags: Sequence[str]) -> None:
        self.evictions += 1
        for tag in tags:
            for key in self._tagged.pop(tag, set()):
                self.pop(key)

    def dropped(self, key: str, value: tuple[Entry, tuple[str, ...]]) -> None:
        for tag in value[1]:
            keys = self._tagged.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._tagged[tag]

    async def aclose(self) -> None:
        self.clear()
