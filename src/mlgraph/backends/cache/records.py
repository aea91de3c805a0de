"""The record cache as the backend clients see it.

One ``RecordCache`` per process holds the store (memory, or Redis shared by
replicas) and the TTL of each class of record. Each client of a request gets
a ``RequestRecords`` view: its keys carry the platform, the backend and a
hash of the credential the client sends (two callers forwarding different
credentials never meet on a key, and no key holds a credential), and it
remembers which records this request has seen finished, so an answer that
is final only once another record is (a run's steps, a job's logs) is kept
as soon as that record is known, whichever answered first, or when an
earlier request left a mark that it finished.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable

import httpx

from mlgraph.backends.cache.entry import CATALOGUE, LISTING, TERMINAL, Entry, Keep, Kind
from mlgraph.backends.cache.memory import MemoryRecords
from mlgraph.backends.cache.redis import RedisRecords
from mlgraph.backends.cache.store import Lookup, RecordStore
from mlgraph.settings import CacheSettings, Settings
from mlgraph.stores.lru import Clock


def _digest(*parts: bytes) -> str:
    """128 bits of SHA-256: short keys, and no collision to fear between callers."""
    return hashlib.sha256(b"\n".join(parts)).hexdigest()[:32]


class RecordCache:
    """The process's store of answers that cannot change, and of catalogues."""

    def __init__(self, settings: CacheSettings, store: RecordStore) -> None:
        self.settings = settings
        self.store = store
        self.ttls: dict[Kind, float] = {
            TERMINAL: settings.terminal_ttl_seconds,
            CATALOGUE: settings.catalogue_ttl_seconds,
            LISTING: settings.listing_ttl_seconds,
        }

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = time.monotonic) -> RecordCache | None:
        """In memory, or in Redis when ``redis_url`` is set; None when ``cache.enabled`` is off."""
        config = settings.cache
        if not config.enabled:
            return None
        memory = MemoryRecords(config.memory_bytes, clock)
        if settings.redis_url is None:
            return cls(config, memory)
        store = RedisRecords.open(settings.redis_url.get_secret_value(), config, memory, clock)
        return cls(config, store)

    def view(self, platform: str, backend: str, credential: str) -> RequestRecords:
        """What one client of one request reads and keeps."""
        return RequestRecords(self, platform, backend, credential)

    async def aclose(self) -> None:
        await self.store.aclose()


class RequestRecords:
    """One request's use of the cache for one platform and credential."""

    def keeps(self, kind: Kind) -> bool:
        """Whether answers of ``kind`` are kept at all (a TTL of 0 keeps none)."""
        return bool(self.cache.ttls[kind])

    def __init__(self, cache: RecordCache, platform: str, backend: str, credential: str) -> None:
        self.cache = cache
        #: Records and what is known of them are the backend's: the same for every caller.
        self.backend = f"{platform}:{_digest(platform.encode(), backend.encode())}"
        #: Answers are the credential's.
        self.scope = f"{self.backend}:{_digest(platform.encode(), backend.encode(), credential.encode())}"
        #: Records this request has seen finished (answered, or from the cache).
        self.finished: set[str] = set()
        self._waiting: dict[str, list[tuple[str, Entry, list[str], Lookup]]] = {}

    def key(self, request: httpx.Request) -> str:
        """The request as sent (method, path and query, body), under this view's scope."""
        return f"{self.scope}:{_digest(request.method.encode(), request.url.raw_path, request.content)}"

    async def lookup(self, key: str) -> Lookup:
        found = await self.cache.store.lookup(key)
        if found.entry is not None and found.entry.kind == TERMINAL:
            await self._finish(found.entry.ids)
        return found

    async def keep(self, key: str, seen: Lookup, response: httpx.Response, verdict: Keep) -> None:
        """Keep a successful answer as the classifier says; wait for ``after`` if unknown yet."""
        body = response.content
        if not self.cache.ttls[verdict.kind] or len(body) > self.cache.settings.max_entry_bytes:
            return
        entry = Entry(response.status_code, response.headers.get("content-type", ""), body, verdict.kind, verdict.ids)
        tags = [self._tag(record) for record in dict.fromkeys(verdict.records)]
        if verdict.after is not None and verdict.after not in self.finished:
            if (await self.cache.store.lookup(self._mark(verdict.after))).entry is not None:
                await self._finish((verdict.after,))
            elif verdict.after not in self.finished:  # it may have been answered meanwhile
                self._waiting.setdefault(verdict.after, []).append((key, entry, tags, seen))
                return
        await self._store(key, entry, tags, seen)
        for record in verdict.marks:
            mark = Entry(200, "", b"", TERMINAL, (record,))
            await self.cache.store.keep(self._mark(record), mark, self.cache.ttls[TERMINAL], [self._tag(record)], seen)

    async def evict(self, ids: Iterable[str]) -> None:
        """Forget every entry, for every caller, that holds one of ``ids``."""
        tags = [self._tag(record) for record in dict.fromkeys(ids)]
        if tags:
            await self.cache.store.evict(tags)

    async def _store(self, key: str, entry: Entry, tags: list[str], seen: Lookup) -> None:
        await self.cache.store.keep(key, entry, self.cache.ttls[entry.kind], tags, seen)
        if entry.kind == TERMINAL:
            await self._finish(entry.ids)

    async def _finish(self, ids: Iterable[str]) -> None:
        """Note records as finished, and keep what waited for them."""
        for record in ids:
            if record in self.finished:
                continue
            self.finished.add(record)
            for key, entry, tags, seen in self._waiting.pop(record, ()):
                await self._store(key, entry, tags, seen)

    def _mark(self, record: str) -> str:
        """The key noting that a record finished: a fact of the platform, the
        same whoever read it, evicted with the record."""
        return f"{self.backend}:finished:{record}"

    def _tag(self, record: str) -> str:
        """Tags are per backend, not per caller: a write changes a record for everyone."""
        return f"{self.backend}:{record}"
