"""Admission control: how much work the gateway takes on at once.

Two bounds, both per process (each worker of ``mlgraph serve --workers N``
has its own):

- ``Admission``, a pure ASGI middleware in front of the GraphQL requests of
  /graphql (not /healthz, /readyz, /metrics, GraphiQL's page or assets): at
  most ``limits.max_concurrent_requests`` execute at once. The next ones wait
  in arrival order for up to ``limits.admission_timeout_seconds``; a request
  still waiting then is answered 503 with the GraphQL error code
  ``OVERLOADED`` and ``Retry-After``. A request admitted is never dropped:
  its slot frees when it ends, however it ends (answered, failed, its client
  gone). A waiting request whose client leaves gives up its place.
- ``Slots`` on each ``BackendConnection``: at most the platform's
  ``max_calls_in_flight`` network exchanges at once, across requests
  (``BackendClient._attempt``). The wait for a slot is part of the call's
  own timeout, so a saturated platform fails its own fields
  (``BACKEND_UNAVAILABLE``) and no other.

The middleware sits inside ``RequestGuard`` (a refused key or rate never
takes a slot), inside CORS (a 503 carries the headers a browser needs to
read it) and inside ``ObserveRequests`` (a 503 is counted and logged).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

OVERLOADED = "OVERLOADED"


class Slots:
    """At most ``limit`` holders at once (0: no bound); the others wait in
    arrival order (asyncio's semaphore is fair since Python 3.11).

    ``held`` and ``waiting`` are read by the metrics. asyncio's semaphore
    binds itself to the first event loop that waits on it; this one lives as
    long as the process (or app), and tests run one app on several loops, so
    a new loop gets a semaphore of its own. ``acquire`` returns the semaphore
    taken, for ``release`` to give back to the same one.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.waiting = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore: asyncio.Semaphore | None = None

    def _current(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._loop, self._semaphore = loop, asyncio.Semaphore(self.limit)
        return self._semaphore

    def free(self) -> bool:
        """Whether ``acquire`` would not wait now (no other waiter comes first)."""
        return not self.limit or not self._current().locked()

    async def acquire(self) -> asyncio.Semaphore | None:
        """A slot, waiting for one in turn; cancel the wait to give up the place."""
        semaphore = None
        if self.limit:
            semaphore = self._current()
            if semaphore.locked():
                self.waiting += 1
                try:
                    await semaphore.acquire()
                finally:
                    self.waiting -= 1
            else:
                await semaphore.acquire()  # returns without suspending
        self.held += 1
        return semaphore

    def release(self, taken: asyncio.Semaphore | None) -> None:
        self.held -= 1
        if taken is not None:
            taken.release()


class Admission:
    """ASGI middleware: at most ``slots.limit`` requests ``applies`` accepts
    execute at once; the others wait up to ``timeout`` seconds (0: not at
    all), then get 503 ``OVERLOADED``. Other requests pass untouched.

    While it waits, a request's body is read (up to ``max_body_bytes``, the
    endpoint refuses a larger one anyway) and kept for the app, so that a
    client that disconnects is seen and its request leaves the queue.
    ``on_decision`` hears each request's fate: ``admitted`` (at once),
    ``waited`` (admitted after a wait), ``refused`` (503) or ``abandoned``
    (the client left while it waited).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        slots: Slots,
        timeout: float,
        applies: Callable[[Scope], bool],
        max_body_bytes: int,
        on_decision: Callable[[str], None] = lambda outcome: None,
    ) -> None:
        self.app = app
        self.slots = slots
        self.timeout = timeout
        self.applies = applies
        self.max_body_bytes = max_body_bytes
        self.on_decision = on_decision
        #: Whole seconds a refused client is asked to wait: about as long as
        #: the requests ahead of it were allowed to make it wait.
        self.retry_after = max(1, math.ceil(timeout))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.slots.limit or not self.applies(scope):
            await self.app(scope, receive, send)
            return
        if self.slots.free():
            taken = await self.slots.acquire()
            self.on_decision("admitted")
        else:
            if self.timeout <= 0:
                self.on_decision("refused")
                await self._refuse(send)
                return
            outcome, taken, receive = await self._wait(receive)
            self.on_decision(outcome)
            if outcome != "waited":
                await self._refuse(send)  # a client that left hears nothing; the log reads 503
                return
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release(taken)

    async def _wait(self, receive: Receive) -> tuple[str, asyncio.Semaphore | None, Receive]:
        """Wait for a slot while watching the client: ``waited`` with the slot
        taken, ``refused`` at the deadline, ``abandoned`` when the client left.
        The receive returned replays what was read meanwhile."""
        buffered: list[Message] = []
        acquiring = asyncio.ensure_future(self.slots.acquire())
        watching = asyncio.ensure_future(self._watch(receive, buffered))
        try:
            await asyncio.wait({acquiring, watching}, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watching.cancel()
            acquiring.cancel()  # no effect once it holds its slot
            # Let both end, so that a slot taken at the last moment is known, never lost.
            await asyncio.wait({acquiring, watching})
            got = not acquiring.cancelled() and acquiring.exception() is None
            gone = not watching.cancelled() and watching.exception() is None
            current = asyncio.current_task()
            if got and (gone or (current is not None and current.cancelling())):
                self.slots.release(acquiring.result())
        if gone:
            return "abandoned", None, receive
        if not got:
            return "refused", None, receive
        return "waited", acquiring.result(), _replay(buffered, receive)

    async def _watch(self, receive: Receive, buffered: list[Message]) -> None:
        """Returns when the client disconnects; reads and keeps the body meanwhile."""
        size = 0
        while size <= self.max_body_bytes:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            buffered.append(message)
            size += len(message.get("body", b""))
        await asyncio.Event().wait()  # the endpoint refuses what is past the limit (413)

    async def _refuse(self, send: Send) -> None:
        seconds = self.retry_after
        body = orjson.dumps({"errors": [{
            "message": f"the gateway is at capacity ({self.slots.limit} requests running): try again in {seconds} s",
            "extensions": {"code": OVERLOADED, "retryAfter": seconds},
        }]})
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            (b"retry-after", str(seconds).encode()),
        ]})
        await send({"type": "http.response.body", "body": body})


def _replay(buffered: list[Message], receive: Receive) -> Receive:
    """``receive`` that first gives back the messages read while waiting."""
    pending = list(buffered)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
