"""The per-client rate limit: in this process, or shared by every process through Redis.

Counting is the ``limits`` library's sliding window counter: per client, the
requests of the current minute plus those of the minute before, weighted by
how much of it still lies within the last 60 s. A client may spend a
minute's requests at once; then requests come back as the previous minute's
weight wanes, about one per interval (60 s / the rate). Two counters a
client, dropped two minutes after its last request.

``RateLimiter`` counts in this process's memory: with ``--workers N`` each
process counts its own, so a client gets up to N times the rate.
``SharedRateLimiter`` counts in Redis under a key prefix, one Lua script a
request, so every worker and replica using that Redis and prefix shares the
limit. A Redis that fails neither fails the request nor lets it through
uncounted: it is counted in this process's memory (per process again), a
warning is logged once an outage, and after ``retry_seconds`` one request
tries Redis again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.asyncio import Redis

from mlgraph.settings import Settings
from mlgraph.stores.redis import RedisLink

logger = logging.getLogger("mlgraph.ratelimit")

#: The least wait a refusal reports: a refused request always has one.
MIN_WAIT_S = 0.001


class Limiter(Protocol):
    async def hit(self, client: str) -> float:
        """Count one request of ``client``: 0.0 when admitted, else the seconds
        until one would be (the request is then not counted)."""
        ...

    async def aclose(self) -> None: ...


async def _hit(window: SlidingWindowCounterRateLimiter, item: RateLimitItem, client: str) -> float:
    if await window.hit(item, client):
        return 0.0
    stats = await window.get_window_stats(item, client)
    return max(stats.reset_time - time.time(), MIN_WAIT_S)


class RateLimiter:
    """Counts in this process's memory (``limits``' ``MemoryStorage``).

    Counts go two minutes after a client's last request. Past ``max_counts``
    (one or two a client) every count is forgotten at once: memory stays
    bounded, and so does the storage's sweep of expired counts, which visits
    them all, when many addresses call within two minutes.
    """

    def __init__(self, per_minute: int, *, max_counts: int = 100_000) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self.max_counts = max_counts
        self.item: RateLimitItem = RateLimitItemPerMinute(per_minute)
        self.storage = MemoryStorage()
        self.window = SlidingWindowCounterRateLimiter(self.storage)

    async def hit(self, client: str) -> float:
        wait = await _hit(self.window, self.item, client)
        if len(self.storage.storage) > self.max_counts:
            await self.storage.reset()
            logger.warning("rate limit: over %d counts in this process's memory; all forgotten", self.max_counts)
        return wait

    async def aclose(self) -> None:
        pass


class SharedRateLimiter:
    """Counts in Redis (``limits``' ``RedisStorage`` over redis-py), keys
    starting with ``prefix``; in ``local`` while Redis is away."""

    def __init__(
        self,
        per_minute: int,
        url: str,
        *,
        prefix: str,
        timeout: float,
        retry_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.local = RateLimiter(per_minute)
        self.item = self.local.item
        fallback = f"counting in this process's memory, {retry_seconds:g} s at a time"
        self.link = RedisLink(url, timeout, logger, "rate limit", fallback, False)
        self.key_prefix = prefix.removesuffix(":")  # limits puts a colon after it
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.away_since: float | None = None
        self._redis: Redis | None = None
        self._window: SlidingWindowCounterRateLimiter | None = None
        self._storage(None)  # a limits that cannot use redis-py stops start-up, not the first request

    @property
    def failures(self) -> int:
        return self.link.failures

    def _storage(self, redis: Redis | None) -> RedisStorage:
        # The URL is the client's: the storage only runs its scripts over its pool.
        options = {"connection_pool": redis.connection_pool} if redis is not None else {}
        return RedisStorage("async+redis://", implementation="redispy", key_prefix=self.key_prefix, **options)

    def _shared(self) -> SlidingWindowCounterRateLimiter:
        redis = self.link.client()  # a new one when the event loop changed
        if redis is not self._redis or self._window is None:
            self._window = SlidingWindowCounterRateLimiter(self._storage(redis))
            self._redis = redis
        return self._window

    async def hit(self, client: str) -> float:
        probing = self.away_since is not None
        if probing:
            if self.clock() - self.away_since < self.retry_seconds:  # type: ignore[operator]
                return await self.local.hit(client)
            self.away_since = self.clock()  # this request tries Redis; the others keep to memory
        try:
            wait = await _hit(self._shared(), self.item, client)
        except Exception as exc:  # noqa: BLE001  (whatever Redis or the library raises, the request is answered)
            self.link.failed("rate count", exc, log=not probing)
            self.away_since = self.clock()
            return await self.local.hit(client)
        if probing:
            self.away_since = None
            logger.info("rate limit: Redis answers again; the limit is shared across processes again")
        return wait

    async def aclose(self) -> None:
        self._window = self._redis = None
        await self.link.aclose()


def rate_limiter(settings: Settings) -> Limiter | None:
    """The limiter the settings describe: none without a rate, shared with
    ``redis_url``, else in this process."""
    limits = settings.limits
    if not limits.rate_per_minute:
        return None
    if settings.redis_url is None:
        return RateLimiter(limits.rate_per_minute)
    return SharedRateLimiter(
        limits.rate_per_minute,
        settings.redis_url.get_secret_value(),
        prefix=limits.rate_redis_prefix,
        timeout=limits.rate_redis_timeout,
        retry_seconds=limits.rate_redis_retry_seconds,
    )
