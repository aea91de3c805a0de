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

Every request passing through is recorded in `Faults.log`, so tests assert the
injected latency from the log instead of measuring wall-clock time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeAlias

from starlette.types import ASGIApp, Receive, Scope, Send

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
        self.log: list[Injection] = []
        self._routes: dict[str, RouteFault] = {}
        self._sleep = sleep

    def set(
        self,
        prefix: str,
        *,
        status: int | None = None,
        latency_ms: float = 0.0,
        garbage: bool = False,
    ) -> None:
        """Put a fault on every path under `prefix`, replacing any earlier one."""
        if status is not None and not 100 <= status <= 599:
            raise ValueError(f"not an HTTP status: {status}")
        if latency_ms < 0:
            raise ValueError(f"negative latency: {latency_ms}")
        self._routes[_normalise(prefix)] = RouteFault(status, latency_ms, garbage)

    def clear(self) -> None:
        """Remove every route fault; the default latency stays."""
        self._routes.clear()

    def match(self, path: str) -> RouteFault | None:
        """The fault of the longest prefix covering `path`, if any."""
        best: str | None = None
        for prefix in self._routes:
            covers = prefix == "/" or path == prefix or path.startswith(prefix + "/")
            if covers and (best is None or len(prefix) > len(best)):
                best = prefix
        return None if best is None else self._routes[best]

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
        fault = self.faults.match(path) or RouteFault()
        latency_ms = self.faults.latency_ms + fault.latency_ms
        self.faults.log.append(
            Injection(scope["method"], path, latency_ms, fault.status, fault.garbage)
        )
        if latency_ms > 0:
            await self.faults.delay(latency_ms / 1000)
        if fault.status is None and not fault.garbage:
            await self.app(scope, receive, send)
            return
        if fault.garbage:
            body = GARBAGE_BODY
        else:
            body = self.body if isinstance(self.body, bytes) else self.body()
        await send(
            {
                "type": "http.response.start",
                "status": fault.status or 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _normalise(prefix: str) -> str:
    """Prefixes compare without a trailing slash and always with a leading one."""
    return "/" + prefix.strip("/")
