"""A Redis a store reads through, never a dependency of a request.

The client is made on first use in the running event loop (and again if the
loop changes, as it does between test clients): redis-py binds its
connections to the loop that opened them. Calls time out quickly and are not
retried; a store that catches a failure reports it here, which counts it and
logs it at most every ``LOG_EVERY_S``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

LOG_EVERY_S = 10.0

#: What a failed Redis call raises: its own errors, a socket's, a timeout.
FAILURES = (RedisError, OSError, asyncio.TimeoutError)


@dataclass
class RedisLink:
    """One Redis URL for one store: ``name`` and ``fallback`` say in the log
    whose call failed and what the gateway does instead."""

    url: str = field(repr=False)  # it may hold a password
    timeout: float
    logger: logging.Logger
    name: str
    fallback: str
    decode_responses: bool
    failures: int = 0
    _redis: Redis | None = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _last_log: float = field(default=-LOG_EVERY_S, repr=False)

    def __post_init__(self) -> None:
        try:
            parse_url(self.url)  # a malformed URL fails at start-up, not on the first request
        except ValueError:
            # redis-py's message may quote part of the URL, password included.
            raise ValueError("MLGRAPH_REDIS_URL is not a valid redis:// URL") from None

    def client(self) -> Redis:
        loop = asyncio.get_running_loop()
        if self._redis is None or self._loop is not loop:
            self._redis = Redis.from_url(
                self.url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), 0),
                decode_responses=self.decode_responses,
            )
            self._loop = loop
        return self._redis

    def failed(self, action: str, exc: BaseException, *, log: bool = True) -> None:
        """Count a failed call; log it unless told not to or logged lately."""
        self.failures += 1
        now = time.monotonic()
        if log and now - self._last_log >= LOG_EVERY_S:
            self._last_log = now
            self.logger.warning(
                "%s: Redis %s failed (%s: %s); %s (%d failures so far)",
                self.name, action, type(exc).__name__, exc, self.fallback, self.failures,
            )

    async def aclose(self) -> None:
        redis, self._redis = self._redis, None
        if redis is not None and self._loop is asyncio.get_running_loop():
            try:
                await redis.aclose()
            except (RedisError, OSError):
                pass
