"""The ASGI layer that observes every request: id, metrics, access log.

Outermost in the stack, so refusals by the guard (401, 429) are timed,
counted as ``refused`` and logged like any answer. It sets the request's
``Observation`` (``context``) before anything runs and reads it back after
the last byte is sent.
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlgraph.observability import context
from mlgraph.observability.logs import request_id
from mlgraph.observability.metrics import Metrics

access_log = logging.getLogger("mlgraph.access")


class ObserveRequests:
    """Pure ASGI (no BaseHTTPMiddleware): its context variable must be set in
    the task that runs the request, so the tasks it starts inherit it."""

    def __init__(self, app: ASGIApp, metrics: Metrics, graphql_path: str) -> None:
        self.app = app
        self.metrics = metrics
        self.graphql_path = graphql_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(Headers(scope=scope).get("x-request-id"))
        observation = context.Observation(self.metrics, rid)
        token = context.current.set(observation)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            context.current.reset(token)
            self._finish(scope, observation, status, time.perf_counter() - started)

    def _finish(self, scope: Scope, observation: context.Observation, status: int, seconds: float) -> None:
        path = scope["path"]
        if path == self.graphql_path and scope["method"] in ("GET", "POST"):
            outcome = observation.outcome or ("refused" if status >= 400 else "ok")
            operation = self.metrics.operation_label(observation.operation)
            self.metrics.requests.labels(operation, outcome).inc()
            self.metrics.request_seconds.labels(operation).observe(seconds)
        ms = round(seconds * 1000, 2)
        access_log.info(
            "%s %s %s %.1f ms", scope["method"], path, status, ms,
            extra={"fields": {
                "request_id": observation.request_id,
                "method": scope["method"],
                "path": path,
                "status": status,
                "operation": observation.operation,
                "outcome": observation.outcome,
                "duration_ms": ms,
                "backend_calls": observation.backend_calls,
                "backend_bytes": observation.backend_bytes,
            }},
        )
