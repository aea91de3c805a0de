"""ASGI middleware the emulated backends share, and the log it writes."""

from __future__ import annotations

from typing import TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

T = TypeVar("T")

#: How many entries an emulator's log keeps: far more than a test makes
#: (tests count calls by ``len`` within one module's sandbox), and a few MB
#: at most in a demo that serves for days.
LOG_LIMIT = 10_000


class RecentLog(list[T]):
    """A list keeping only its newest ``limit`` entries, the oldest dropped.

    Kept whole, per-request logs grew a long-running demo without bound
    (96 → 198 MB RSS over 40,000 requests). A list rather than a bounded
    deque, so tests compare, index and slice it as one. Entries come only
    through ``append``.
    """

    def __init__(self, limit: int = LOG_LIMIT) -> None:
        super().__init__()
        self.limit = limit

    def append(self, entry: T) -> None:
        if len(self) >= self.limit:
            del self[0]
        super().append(entry)


class CallLog:
    """Records every HTTP request as `(method, raw path with query)`.

    Installed outermost, so requests that faults or auth answer count too;
    the log keeps the newest `LOG_LIMIT` of them.
    """

    def __init__(self, app: ASGIApp, calls: RecentLog[tuple[str, str]]) -> None:
        self.app = app
        self.calls = calls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").decode("latin-1")
            self.calls.append((scope["method"], scope["path"] + (f"?{query}" if query else "")))
        await self.app(scope, receive, send)
