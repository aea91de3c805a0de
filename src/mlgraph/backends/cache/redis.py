"""The record cache in Redis, shared by every replica; memory when Redis is away.

Keys are ``<prefix><epoch>:<platform>:<scope>:<digest>``; each tag (a record
a write may change) is a set of the keys that hold it, so a write through
any replica evicts those entries for all. Three small Lua scripts make each
step one atomic round trip: a look-up reads the entry with the epoch and the
eviction count; a keep stores it only if neither moved since; an eviction
bumps the count and deletes what the tags name.

A failing Redis is never a failed request. The first failure logs once and
counts in the metrics; for ``retry_seconds`` the cache is the process's
memory, then Redis is tried again. An eviction Redis missed meanwhile cannot
be replayed (other replicas' entries may hold what it changed), so the
replica that missed one starts a new epoch when Redis is back: every shared
entry is dropped at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlgraph.backends.cache.entry import Entry
from mlgraph.backends.cache.memory import MemoryRecords
from mlgraph.backends.cache.store import Lookup
from mlgraph.observability import context as observe
from mlgraph.settings import CacheSettings
from mlgraph.stores.lru import Clock
from mlgraph.stores.redis import FAILURES, RedisLink

logger = logging.getLogger("mlgraph.cache")

_LOOKUP = """
local epoch = redis.call('GET', KEYS[1]) or '0'
local evictions = redis.call('GET', KEYS[2]) or '0'
return {epoch, evictions, redis.call('GET', ARGV[1] .. epoch .. ':' .. ARGV[2])}
"""
_KEEP = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[2] or (redis.call('GET', KEYS[2]) or '0') ~= ARGV[3] then
  return 0
end
local key = ARGV[1] .. ARGV[2] .. ':' .. ARGV[4]
redis.call('SET', key, ARGV[5], 'EX', ARGV[6])
for i = 8, #ARGV do
  local tag = ARGV[1] .. ARGV[2] .. ':tag:' .. ARGV[i]
  redis.call('SADD', tag, key)
  redis.call('EXPIRE', tag, ARGV[7])
end
return 1
"""
_EVICT = """
local epoch = redis.call('GET', KEYS[1]) or '0'
redis.call('INCR', KEYS[2])
for i = 2, #ARGV do
  local tag = ARGV[1] .. epoch .. ':tag:' .. ARGV[i]
  for _, key in ipairs(redis.call('SMEMBERS', tag)) do
    redis.call('DEL', key)
  end
  redis.call('DEL', tag)
end
return 1
"""


class _Away(Exception):
    """Redis failed, or is being left alone after a failure."""


@dataclass
class RedisRecords:
    """Entries in Redis under ``prefix``; ``memory`` while Redis is away.

    ``tag_ttl`` bounds a tag set's life: at least the longest entry TTL, so
    a tag outlives every entry it names.
    """

    link: RedisLink
    prefix: str
    memory: MemoryRecords
    retry_seconds: float
    tag_ttl: int
    clock: Clock
    away_since: float | None = None
    missed_eviction: bool = False

    @classmethod
    def open(cls, url: str, settings: CacheSettings, memory: MemoryRecords, clock: Clock) -> RedisRecords:
        fallback = f"answering from this process's memory for {settings.redis_retry_seconds:g} s"
        link = RedisLink(url, settings.redis_timeout, logger, "record cache", fallback, False)
        tag_ttl = max(settings.terminal_ttl_seconds, settings.catalogue_ttl_seconds, settings.listing_ttl_seconds)
        return cls(link, settings.redis_prefix, memory, settings.redis_retry_seconds, tag_ttl, clock)

    @property
    def _keys(self) -> list[str]:
        """The epoch and the eviction count, the keys every script reads."""
        return [f"{self.prefix}epoch", f"{self.prefix}evictions"]

    async def lookup(self, key: str) -> Lookup:
        try:
            epoch, evictions, raw = await self._run("GET", _LOOKUP, self.prefix, key)
        except _Away:
            return await self.memory.lookup(key)
        entry = None
        if raw is not None:
            try:
                entry = Entry.decode(raw)
            except (ValueError, KeyError, TypeError):
                entry = None  # not an entry this gateway wrote: a miss
        return Lookup(entry, (epoch, evictions), self)

    async def keep(self, key: str, entry: Entry, ttl: float, tags: Sequence[str], seen: Lookup) -> None:
        if seen.store is not self:
            await self.memory.keep(key, entry, ttl, tags, seen)
            return
        epoch, evictions = seen.version  # type: ignore[misc]
        try:
            await self._run(
                "SET", _KEEP, self.prefix, epoch, evictions, key, entry.encode(), max(1, int(ttl)), self.tag_ttl, *tags
            )
        except _Away:
            pass  # not kept: what memory holds is for while Redis is away

    async def evict(self, tags: Sequence[str]) -> None:
        await self.memory.evict(tags)
        try:
            await self._run("DEL", _EVICT, self.prefix, *tags)
        except _Away:
            self.missed_eviction = True

    async def _run(self, action: str, script: str, *args: object) -> Any:
        """Run a script in Redis, or raise ``_Away`` (counted, logged once an outage)."""
        if self.away_since is not None:
            if self.clock() - self.away_since < self.retry_seconds:
                raise _Away
            self.away_since = self.clock()  # one call tries Redis again; the others keep to memory
            await self._come_back()
        try:
            return await self.link.client().eval(script, len(self._keys), *self._keys, *args)
        except FAILURES as exc:
            self._failed(action, exc)
            raise _Away from None

    async def _come_back(self) -> None:
        """Try Redis again; a missed eviction starts a new epoch first."""
        try:
            client = self.link.client()
            if self.missed_eviction:
                await client.incr(self._keys[0])
            else:
                await client.ping()
        except FAILURES as exc:
            self._failed("PING", exc)
            raise _Away from None
        self.away_since = None
        self.missed_eviction = False
        self.memory.clear()  # filled while away: other replicas' writes never evicted it
        logger.info("record cache: Redis answers again; the shared cache is back in use")

    def _failed(self, action: str, exc: BaseException) -> None:
        self.link.failed(action, exc, log=self.away_since is None)
        self.away_since = self.clock()
        observe.record_cache_failure()

    async def aclose(self) -> None:
        await self.memory.aclose()
        await self.link.aclose()
