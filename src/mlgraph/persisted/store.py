"""Where automatic persisted queries are kept: memory, or Redis for replicas.

A registration maps a document's SHA-256 to its text, so an entry never
changes once written; only its lifetime matters. In memory the store is an
LRU bounded in bytes (documents can be up to the body limit, so a count
alone would not bound it). With ``MLGRAPH_REDIS_URL`` every replica reads
and writes ``<prefix><hash>`` in one Redis, so a client registered on one
replica is served by hash on all.

The store is a cache, never a dependency: when Redis fails or is slow (a
short socket timeout, no retries), ``get`` answers None and ``put`` does
nothing, the failure is logged (at most every ``stores.redis.LOG_EVERY_S``), and the
request goes on without APQ.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from mlgraph.stores.lru import ByteLRU
from mlgraph.stores.redis import FAILURES, RedisLink

logger = logging.getLogger("mlgraph.persisted")


class Store(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, document: str) -> None: ...

    async def aclose(self) -> None: ...


#: Bytes an LRU entry takes besides its document: without it, many tiny
#: registrations would take far more memory than the bound says.
ENTRY_OVERHEAD = 400


class MemoryStore:
    """An LRU of documents by hash, at most ``max_bytes`` of text (UTF-8)."""

    def __init__(self, max_bytes: int, ttl_seconds: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.ttl_seconds = ttl_seconds
        self._lru: ByteLRU[str] = ByteLRU(max_bytes, time.monotonic)

    def __len__(self) -> int:
        return len(self._lru)

    @property
    def size(self) -> int:
        return self._lru.size

    async def get(self, key: str) -> str | None:
        return self._lru.get(key)

    async def put(self, key: str, document: str) -> None:
        # The text, plus what an entry costs besides it (key, tuple, slot).
        self._lru.put(key, document, len(document.encode("utf-8")) + ENTRY_OVERHEAD, self.ttl_seconds)

    async def aclose(self) -> None:
        self._lru.clear()


class RedisStore:
    """Documents under ``<prefix><hash>`` in Redis, with an optional TTL."""

    def __init__(self, url: str, prefix: str, ttl_seconds: int | None = None, timeout: float = 0.5) -> None:
        self.link = RedisLink(
            url,
            timeout=timeout,
            logger=logger,
            name="APQ store",
            fallback="serving without persisted-query registrations",
            decode_responses=True,
        )
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds

    @property
    def failures(self) -> int:
        return self.link.failures

    async def get(self, key: str) -> str | None:
        try:
            value = await self.link.client().get(self.prefix + key)
        except FAILURES as exc:
            self.link.failed("GET", exc)
            return None
        return value if isinstance(value, str) else None

    async def put(self, key: str, document: str) -> None:
        try:
            await self.link.client().set(self.prefix + key, document, ex=self.ttl_seconds or None)
        except FAILURES as exc:
            self.link.failed("SET", exc)

    async def aclose(self) -> None:
        await self.link.aclose()
