"""The per-request record of every backend call.

Tests assert call counts and round trips from it (an N+1 regression fails a
test, and so does a call that waits for an answer it did not need), and a
request with ``X-Mlgraph-Debug: 1`` gets it back under ``extensions``.
Reads the record cache answered are listed apart (``cachedEntries``): they
cost no network, so ``calls``, ``roundTrips`` and ``bytes`` leave them out.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, slots=True)
class BackendCall:
    """One HTTP exchange with a backend. ``path`` never includes the host;
    ``started`` and ``ended`` are ``time.perf_counter()`` readings."""

    platform: str
    method: str
    path: str
    status: int | None
    bytes: int
    ms: float
    started: float = 0.0
    ended: float = 0.0

    def entry(self) -> dict[str, object]:
        """What the debug ledger shows of the call."""
        return {
            "platform": self.platform,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "bytes": self.bytes,
            "ms": self.ms,
        }


@dataclass(frozen=True, slots=True)
class CachedRead:
    """A read the record cache answered: what it would have asked, and as
    which class of record (terminal, catalogue) it was kept."""

    platform: str
    method: str
    path: str
    bytes: int
    kind: str

    def entry(self) -> dict[str, object]:
        return {**asdict(self), "cached": True}


@dataclass
class Ledger:
    calls: list[BackendCall] = field(default_factory=list)
    cached: list[CachedRead] = field(default_factory=list)

    def record(self, call: BackendCall) -> None:
        self.calls.append(call)

    def record_cached(self, read: CachedRead) -> None:
        self.cached.append(read)

    def count(self, platform: str | None = None) -> int:
        return sum(1 for call in self.calls if platform is None or call.platform == platform)

    def round_trips(self) -> int:
        """The longest chain of calls each sent after the one before it had
        answered: the latency a request paid in backend waits, counted in
        round trips. Calls in flight together are one round trip."""
        longest = 0
        answered = 0  # the longest chain among the calls already answered
        in_flight: list[tuple[float, int]] = []
        for call in sorted(self.calls, key=lambda c: c.started):
            while in_flight and in_flight[0][0] <= call.started:
                answered = max(answered, heapq.heappop(in_flight)[1])
            heapq.heappush(in_flight, (call.ended, answered + 1))
            longest = max(longest, answered + 1)
        return longest

    def summary(self) -> dict[str, object]:
        per_platform = Counter(call.platform for call in self.calls)
        return {
            "calls": len(self.calls),
            "roundTrips": self.round_trips(),
            "bytes": sum(call.bytes for call in self.calls),
            "byPlatform": dict(per_platform),
            "entries": [call.entry() for call in self.calls],
            "cached": len(self.cached),
            "cachedEntries": [read.entry() for read in self.cached],
        }
