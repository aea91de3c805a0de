"""Where automatic persisted queries are kept: memory, or Redis for replicas.

A registration maps a document's SHA-256 to its text, so an entry never
changes once written; only its lifetime matters. In memory the store is an
LRU bounded in bytes (documents can be up to the body limit, so a count
alone would not bound it). With ``MLGRAPH_REDIS_URL`` every replica reads
and writes ``<prefix><hash>`` in one Redis, so a client registered on one
replica is served by hash on all.

The store is a cache, never a dependency: when Redis fails or is slow (a
short socket timeout, no retries), ``get`` answers None and ``put`` does
nothing, the failure is logged (at most every ``LOG_EVERY_S``), and the
request goes on without APQ.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

logger = logging.getLogger("mlgraph.persisted")

LOG_EVERY_S = 10.0


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
        self._items: OrderedDict[str, tuple[str, int, float | None]] = OrderedDict()
        self.size = 0

    def __len__(self) -> int:
        return len(self._items)

    async def get(self, key: str) -> str | None:
        item = self._items.get(key)
        if item is None:
            return None
        document, _, expires = item
        if expires is not None and expires <= time.monotonic():
            self._drop(key)
            return None
        self._items.move_to_end(key)
        return document

    async def put(self, key: str, document: str) -> None:
        # The text, plus what an entry costs besides it (key, tuple, slot).
        size = len(document.encode("utf-8")) + ENTRY_OVERHEAD
        if size > self.max_bytes:
            return
        if key in self._items:
            self._drop(key)
        expires = time.monotonic() + self.ttl_seconds if self.ttl_seconds else None
        self._items[key] = (document, size, expires)
        self.size += size
        while self.size > self.max_bytes:
            self._drop(next(iter(self._items)))

    def _drop(self, key: str) -> None:
        _, size, _ = self._items.pop(key)
        self.size -= size

    async def aclose(self) -> None:
        self._items.clear()
        self.size = 0


class RedisStore:
    """Documents under ``<prefix><hash>`` in Redis, with an optional TTL.

    The client is made on first use in the running event loop (and again if
    the loop changes, as it does between test clients): redis-py binds its
    connections to the loop that opened them.
    """

    def __init__(self, url: str, prefix: str, ttl_seconds: int | None = None, timeout: float = 0.5) -> None:
        try:
            parse_url(url)  # a malformed URL fails at start-up, not on the first request
        except ValueError:
            # redis-py's message may quote part of the URL, password included.
            raise ValueError("MLGRAPH_REDIS_URL is not a valid redis:// URL") from None
        self.url = url
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.timeout = timeout
        self.failures = 0
        self._redis: Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_log = -LOG_EVERY_S

    def _client(self) -> Redis:
        loop = asyncio.get_running_loop()
        if self._redis is None or self._loop is not loop:
            self._redis = Redis.from_url(
                self.url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), 0),
                decode_responses=True,
            )
            self._loop = loop
        return self._redis

    def _failed(self, action: str, exc: BaseException) -> None:
        self.failures += 1
        now = time.monotonic()
        if now - self._last_log >= LOG_EVERY_S:
            self._last_log = now
            logger.warning(
                "APQ store: Redis %s failed (%s: %s); serving without persisted-query registrations (%d failures so far)",
                action, type(exc).__name__, exc, self.failures,
            )

    async def get(self, key: str) -> str | None:
        try:
            value = await self._client().get(self.prefix + key)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            self._failed("GET", exc)
            return None
        return value if isinstance(value, str) else None

    async def put(self, key: str, document: str) -> None:
        try:
            await self._client().set(self.prefix + key, document, ex=self.ttl_seconds or None)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            self._failed("SET", exc)

    async def aclose(self) -> None:
        redis, self._redis = self._redis, None
        if redis is not None and self._loop is asyncio.get_running_loop():
            try:
                await redis.aclose()
            except (RedisError, OSError):
                pass
