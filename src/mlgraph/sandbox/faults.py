"""Latency and fault injection for any emulated backend.

The gateway earns its keep when backends are slow or failing: batching pays
off under latency, error mapping is only proven by 5xx answers and bodies that
are not JSON. `Faults` holds a default latency plus per-route faults and wraps
an ASGI app (`faults.wrap(app)`); settings can change while the app serves, so
one test can break a route, query, and heal it again.

Routes are path prefixes matched at segment boundaries (`/api/v1/runs` covers
`/api/v1/runs/abc/steps`, not `/api/v1/runsx`); the longest matching prefix
wins. A route's latency adds to the default latency. A route with a status
answers that status with the fault body given to `wrap` (by default ZenML's
`{"detail": ["ServiceUnavailable", "injected fault"]}`; a callable body is
called once per fault, so each can carry its own request id); a garbage route
answers 200 (or its status) with a body that is not JSON, declared as JSON so
a client has to fail on parsing, not on the header.

A status fault can carry `Retry-After` (seconds or an HTTP date), as a
throttling 429 or an overloaded 503 does. Two faults alter the app's own
answer when no status or garbage replaces it: `truncate` cuts its body in half
(a body cut off mid-way, with a consistent `Content-Length`), `content_type`
declares it as another type. `times` heals the route after that many faulted requests,
so a retry can be shown to meet a healthy backend.

Every request passing through is recorded in `Faults.log` (the newest
`LOG_LIMIT` of them), so tests assert the injected latency from the log
instead of measuring wall-clock time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import TypeAlias

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlgraph.sandbox.middleware import RecentLog

FAULT_BODY = b'{"detail":["ServiceUnavailable","injected fault"]}'
GARBAGE_BODY = b"<html>oops</html>"

FaultBody: TypeAlias = bytes | Callable[[], bytes]
"""What a faulted route answers: fixed bytes, or a function making them per fault."""


@dataclass(frozen=True, slots=True)
class RouteFault:
    """The fault set on one route prefix."""

    status: int | None = None
    latency_ms: float = 0.0
    garbage: bool = False
    #: The Retry-After header a status fault answers with.
    retry_after: str | None = None
    #: The answer (the app's own, or the fault's) with the second half of its body cut off.
    truncate: bool = False
    #: The content type the answer is declared as, whatever its body is.
    content_type: str | None = None
    #: Answer 200 with a JSON body of this many bytes (a runaway list).
    size_bytes: int | None = None

    @property
    def alters(self) -> bool:
        """Whether the real answer is changed rather than replaced."""
        return self.truncate or self.content_type is not None


@dataclass(frozen=True, slots=True)
class Injection:
    """What the fault layer did to one request."""

    method: str
    path: str
    latency_ms: float
    status: int | None
    garbage: bool


class Faults:
    """Mutable latency and fault settings shared by the apps it wraps."""

    def __init__(
        self,
        latency_ms: float = 0.0,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.latency_ms = latency_ms
        self.log: RecentLog[Injection] = RecentLog()
        self._routes: dict[str, RouteFault] = {}
        #: Faulted requests left before a route heals, for routes set with `times`.
        self._remaining: dict[str, int] = {}
        self._sleep = sleep

    def set(
        self,
        prefix: str,
        *,
        status: int | None = None,
        latency_ms: float = 0.0,
        garbage: bool = False,
        retry_after: float | datetime | None = None,
        truncate: bool = False,
        content_type: str | None = None,
        times: int | None = None,
        size_bytes: int | None = None,
    ) -> None:
        """Put a fault on every path under `prefix`, replacing any earlier one.

        `retry_after` (seconds, or a moment sent as an HTTP date) goes with a
        status fault; `times` removes the fault after that many requests met it;
        `size_bytes` answers a well-formed JSON body of that size.
        """
        if status is not None and not 100 <= status <= 599:
            raise ValueError(f"not an HTTP status: {status}")
        if latency_ms < 0:
            raise ValueError(f"negative latency: {latency_ms}")
        if retry_after is not None and status is None:
            raise ValueError("retry_after needs a status")
        if times is not None and times < 1:
            raise ValueError(f"times must be at least 1: {times}")
        header = None
        if isinstance(retry_after, datetime):
            header = format_datetime(retry_after, usegmt=True)
        elif retry_after is not None:
            header = f"{retry_after:g}"
        key = _normalise(prefix)
        self._routes[key] = RouteFault(status, latency_ms, garbage, header, truncate, content_type, size_bytes)
        if times is None:
            self._remaining.pop(key, None)
        else:
            self._remaining[key] = times

    def clear(self) -> None:
        """Remove every route fault; the default latency stays."""
        self._routes.clear()
        self._remaining.clear()

    def match(self, path: str) -> RouteFault | None:
        """The fault of the longest prefix covering `path`, if any."""
        best = self._prefix(path)
        return None if best is None else self._routes[best]

    def take(self, path: str) -> RouteFault | None:
        """`match`, counting the request against the route's `times`."""
        best = self._prefix(path)
        if best is None:
            return None
        fault = self._routes[best]
        left = self._remaining.get(best)
        if left is not None:
            if left <= 1:
                del self._routes[best], self._remaining[best]
            else:
                self._remaining[best] = left - 1
        return fault

    def _prefix(self, path: str) -> str | None:
        best: str | None = None
        for prefix in self._routes:
            covers = prefix == "/" or path == prefix or path.startswith(prefix + "/")
            if covers and (best is None or len(prefix) > len(best)):
                best = prefix
        return best

    def wrap(self, app: ASGIApp, body: FaultBody = FAULT_BODY) -> ASGIApp:
        """An ASGI app applying these faults in front of `app`, faults answering `body`."""
        return FaultLayer(app, self, body)

    async def delay(self, seconds: float) -> None:
        """Wait `seconds` with the configured sleep function."""
        await self._sleep(seconds)


class FaultLayer:
    """ASGI middleware: delays, then either short-circuits or calls the app."""

    def __init__(self, app: ASGIApp, faults: Faults, body: FaultBody = FAULT_BODY) -> None:
        self.app = app
        self.faults = faults
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        fault = self.faults.take(path) or RouteFault()
        latency_ms = self.faults.latency_ms + fault.latency_ms
        self.faults.log.append(
            Injection(scope["method"], path, latency_ms, fault.status, fault.garbage)
        )
        if latency_ms > 0:
            await self.faults.delay(latency_ms / 1000)
        if fault.size_bytes is not None:
            filler = b'{"items":[' + b"0," * max(0, (fault.size_bytes - 14) // 2) + b'0]}'
            await _answer(send, 200, [(b"content-type", b"application/json")], filler)
            return
        if fault.status is None and not fault.garbage:
            if fault.alters:
                await self._altered(scope, receive, send, fault)
            else:
                await self.app(scope, receive, send)
            return
        if fault.garbage:
            body = GARBAGE_BODY
        else:
            body = self.body if isinstance(self.body, bytes) else self.body()
        headers = [(b"content-type", (fault.content_type or "application/json").encode())]
        if fault.retry_after is not None:
            headers.append((b"retry-after", fault.retry_after.encode()))
        await _answer(send, fault.status or 200, headers, body[: len(body) // 2] if fault.truncate else body)

    async def _altered(self, scope: Scope, receive: Receive, send: Send, fault: RouteFault) -> None:
        """The app's own answer, cut short or relabelled as `fault` says."""
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        if fault.truncate:
            body = body[: len(body) // 2]
        dropped = {b"content-length"} | ({b"content-type"} if fault.content_type else set())
        kept = [(name, value) for name, value in headers if name.lower() not in dropped]
        if fault.content_type:
            kept.append((b"content-type", fault.content_type.encode()))
        await _answer(send, status, kept, body)


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """One whole response, its Content-Length matching the body sent."""
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _normalise(prefix: str) -> str:
    """Prefixes compare without a trailing slash and always with a leading one."""
    return "/" + prefix.strip("/")
