"""What every record store answers: a look-up, and the version it saw."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from mlgraph.backends.cache.entry import Entry


@dataclass(frozen=True, slots=True)
class Lookup:
    """A look-up's answer. ``version`` is the store's eviction count when it
    looked (and, in Redis, its epoch): an answer read while a write evicted
    is not kept, since it may be what the write just changed."""

    entry: Entry | None
    version: object
    store: RecordStore


class RecordStore(Protocol):
    async def lookup(self, key: str) -> Lookup: ...

    async def keep(self, key: str, entry: Entry, ttl: float, tags: Sequence[str], seen: Lookup) -> None: ...

    async def evict(self, tags: Sequence[str]) -> None: ...

    async def aclose(self) -> None: ...
