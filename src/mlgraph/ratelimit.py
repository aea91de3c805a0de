"""A per-client rate limit, in this process.

The generic cell rate algorithm: each client has the time its next request is
"due"; a request is admitted while that time is at most a burst ahead of now,
and pushes it on by one interval (a minute over the rate). A client can spend
a whole minute's requests at once and then one per interval; one float per
client, no timers. At most ``max_clients`` are kept: past that, the least
recently seen are forgotten first.

With ``--workers N`` each process keeps its own counts, so a client gets up to
N times the rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 100_000,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self.interval = 60.0 / per_minute
        self.burst = self.interval * (per_minute - 1)
        self.clock = clock
        self.max_clients = max_clients
        self._due: dict[str, float] = {}

    def hit(self, client: str) -> float:
        """Count one request of ``client``: 0.0 when admitted, else the seconds
        until one would be (the request is then not counted)."""
        now = self.clock()
        due = self._due.pop(client, now)
        if due < now:
            due = now
        ahead = due - now
        if ahead > self.burst:
            self._due[client] = due
            return ahead - self.burst
        self._due[client] = due + self.interval  # re-inserted last: the dict runs from least to most recent
        while len(self._due) > self.max_clients:
            del self._due[next(iter(self._due))]
        return 0.0
