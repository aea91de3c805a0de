"""ASGI middleware the emulated backends share."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class CallLog:
    """Records every HTTP request as `(method, raw path with query)`.

    Installed outermost, so requests that faults or auth answer count too.
    """

    def __init__(self, app: ASGIApp, calls: list[tuple[str, str]]) -> None:
        self.app = app
        self.calls = calls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").decode("latin-1")
            self.calls.append((scope["method"], scope["path"] + (f"?{query}" if query else "")))
        await self.app(scope, receive, send)
