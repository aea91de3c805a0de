"""What a flaky platform costs a request: retries and a circuit breaker.

A GET that met a timeout, a refused connection, 429, 502, 503 or 504 is
tried again (``RetryPolicy``), because reading twice is harmless and these
failures often pass within a second. Writes are never tried again: a POST
that timed out may have run, and running it twice is worse than an error.

A platform that keeps failing is not asked at all for a while
(``CircuitBreaker``): while it is down every request would otherwise spend
its timeout and retry budget on it, and the gateway's answer for the other
platforms would wait for nothing.

Both are built only on the slow path: a call that succeeds at once costs a
flag check here, never a retry controller.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from enum import Enum

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    wait_random_exponential,
)

from mlgraph.backends.errors import Unavailable

#: Statuses worth asking again: throttled, or a proxy or server that could not answer now.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Statuses whose ``Retry-After`` says when to ask again.
RETRY_AFTER_STATUSES = frozenset({429, 503})
#: Failures before any answer: the request may never have arrived, or its answer was lost.
#: ``TimeoutError`` is the gateway's own deadline on a whole exchange.
TRANSIENT: tuple[type[BaseException], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    TimeoutError,
)

Sleep = Callable[[float], Awaitable[object]]
Clock = Callable[[], float]


def retry_after(response: httpx.Response) -> float | None:
    """Seconds a 429 or 503 asks the client to wait, from ``Retry-After``.

    The header is either seconds or an HTTP date; a date in the past is 0,
    and a value neither parses to is ignored (the backoff decides).
    """
    if response.status_code not in RETRY_AFTER_STATUSES:
        return None
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _retryable_response(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUSES


class RetryPolicy:
    """How often and how long a GET may be tried again, per platform.

    ``retries`` further attempts at most, all within ``budget`` seconds
    counted from the first attempt's start (waits included): a wait that
    would end past the budget is not waited, the last failure is the answer
    at once. Waits are ``Retry-After`` when a 429 or 503 sends one, else
    full-jitter exponential from ``backoff`` (tenacity's
    ``wait_random_exponential``), so replicas that failed together do not
    come back together. ``sleep`` and ``clock`` are injectable so tests
    neither sleep nor depend on the wall clock.
    """

    __slots__ = ("retries", "budget", "backoff", "sleep", "clock", "_jitter")

    def __init__(
        self,
        retries: int,
        budget: float,
        backoff: float,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.retries = retries
        self.budget = budget
        self.backoff = backoff
        self.sleep = sleep
        self.clock = clock
        self._jitter = wait_random_exponential(multiplier=backoff, max=max(budget, backoff))

    async def after(
        self,
        first: httpx.Response | BaseException,
        begun: float,
        attempt: Callable[[float], Awaitable[httpx.Response]],
        halted: Callable[[], bool],
    ) -> httpx.Response:
        """Attempts after a retryable ``first`` outcome, until one is not retryable.

        ``attempt(seconds_left)`` makes one more exchange, given what is left
        of the budget so it can bound its own deadline; ``halted`` stops the
        retries early (the platform's circuit opened meanwhile). Returns the
        last response, or raises the last exception.
        """
        pending = [first]

        async def next_outcome() -> httpx.Response:
            if pending:  # tenacity's first attempt is the one already made
                outcome = pending.pop()
                if isinstance(outcome, BaseException):
                    raise outcome
                return outcome
            return await attempt(self.budget - (self.clock() - begun))

        def wait(state: RetryCallState) -> float:
            outcome = state.outcome
            if outcome is not None and not outcome.failed:
                asked = retry_after(outcome.result())
                if asked is not None:
                    return asked
            return self._jitter(state)

        def out_of_budget(state: RetryCallState) -> bool:
            return halted() or self.clock() - begun + (state.upcoming_sleep or 0.0) >= self.budget

        retrying = AsyncRetrying(
            sleep=self.sleep,
            stop=stop_after_attempt(self.retries + 1) | out_of_budget,
            wait=wait,
            retry=retry_if_exception_type(TRANSIENT) | retry_if_result(_retryable_response),
            retry_error_callback=lambda state: state.outcome.result(),  # type: ignore[union-attr]
        )
        return await retrying(next_outcome)


class CircuitState(str, Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


CLOSED = CircuitState.CLOSED
OPEN = CircuitState.OPEN
HALF_OPEN = CircuitState.HALF_OPEN

#: Set inside a half-open probe's exchange task (and so in tasks it starts):
#: a call the probe needs, such as ZenML's login, is part of the probe, not
#: a second call the breaker must refuse.
_probing: ContextVar[CircuitBreaker | None] = ContextVar("mlgraph_circuit_probe", default=None)
#: Set while a readiness check runs (and so in the exchanges it starts).
_checking_readiness: ContextVar[bool] = ContextVar("mlgraph_readiness_check", default=False)


@contextmanager
def readiness_check() -> Iterator[None]:
    """Calls made inside are a readiness check: their successes leave the circuit alone.

    A platform may answer its ping (ZenML's ``/info``, the caller's own user)
    while the routes the graph reads fail; were its successes counted, frequent
    probes would reset the failure streak and keep a half-broken platform's
    circuit from ever opening. Its failures still count.
    """
    token = _checking_readiness.set(True)
    try:
        yield
    finally:
        _checking_readiness.reset(token)


class CircuitBreaker:
    """One platform's health as this process sees it: closed, open or half-open.

    Only failures that mean the platform is unwell count (a timeout, a
    refused connection, 5xx, 429 after retries), each logical call once
    whatever its retries; a 4xx means it answered and counts as success.
    After ``threshold`` consecutive failures the circuit opens: calls fail
    at once for ``cooldown`` seconds, without touching the network. Then
    one probe call goes through (half-open); its success closes the circuit,
    its failure opens it again for another cool-down. ``threshold`` 0 never
    opens it. A readiness check's success counts for nothing: it neither
    resets the streak nor closes a half-open circuit (``readiness_check``).
    One event loop drives it, so it needs no lock.
    """

    __slots__ = ("threshold", "cooldown", "clock", "state", "failures", "opened_at", "probing")

    def __init__(self, threshold: int, cooldown: float, *, clock: Clock = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        #: Read on every call: ``is not CLOSED`` is the whole hot-path cost.
        self.state = CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self.probing = False

    @property
    def current(self) -> CircuitState:
        """The state a call made now would meet (open turns half-open when cooled down)."""
        if self.state is OPEN and self.clock() - self.opened_at >= self.cooldown:
            return HALF_OPEN
        return self.state

    def admit(self, platform: str) -> bool:
        """Let a call through a circuit that is not closed, or raise ``Unavailable``.

        True when the call is the half-open probe: it must not be retried,
        and its outcome decides the circuit.
        """
        if _probing.get() is self:
            return False
        if self.state is OPEN:
            left = self.opened_at + self.cooldown - self.clock()
            if left > 0:
                raise Unavailable(
                    platform,
                    f"{platform} circuit open after {self.failures} consecutive failures; "
                    f"next try in {math.ceil(left)} s",
                )
            self.state = HALF_OPEN
            self.probing = False
        if self.probing:
            raise Unavailable(platform, f"{platform} circuit open; a probe call is testing whether it is back")
        self.probing = True
        return True

    def enter_probe(self) -> None:
        """Mark the running task (and what it starts) as the probe."""
        _probing.set(self)

    def succeeded(self) -> None:
        if _checking_readiness.get():
            return
        self.failures = 0
        self.state = CLOSED
        self.probing = False

    def failed(self) -> None:
        self.failures += 1
        if self.state is HALF_OPEN or (self.state is CLOSED and 0 < self.threshold <= self.failures):
            self.state = OPEN
            self.opened_at = self.clock()
            self.probing = False

    def release(self, _: object = None) -> None:
        """A probe ended; if without an outcome (cancelled), the next call probes.

        Takes the finished task, as a done callback."""
        if self.state is HALF_OPEN:
            self.probing = False
