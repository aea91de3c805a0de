"""The per-request record of every backend call.

Tests assert call counts from it (an N+1 regression fails a test), and a
request with ``X-Mlgraph-Debug: 1`` gets it back under ``extensions``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, slots=True)
class BackendCall:
    """One HTTP exchange with a backend. ``path`` never includes the host."""

    platform: str
    method: str
    path: str
    status: int | None
    bytes: int
    ms: float


@dataclass
class Ledger:
    calls: list[BackendCall] = field(default_factory=list)

    def record(self, call: BackendCall) -> None:
        self.calls.append(call)

    def count(self, platform: str | None = None) -> int:
        return sum(1 for call in self.calls if platform is None or call.platform == platform)

    def summary(self) -> dict[str, object]:
        per_platform = Counter(call.platform for call in self.calls)
        return {
            "calls": len(self.calls),
            "bytes": sum(call.bytes for call in self.calls),
            "byPlatform": dict(per_platform),
            "entries": [asdict(call) for call in self.calls],
        }
