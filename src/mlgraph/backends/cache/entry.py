"""What the record cache keeps of an answer, and what a classifier says of one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

import httpx

#: Classes of record, each with its own TTL: a record that can no longer
#: change, a catalogue that changes slowly, and a list that can grow (runs,
#: jobs, a pipeline's versions), kept for the few seconds a dashboard's
#: refresh takes and evicted by any write through the gateway.
TERMINAL = "terminal"
CATALOGUE = "catalogue"
LISTING = "listing"
Kind = Literal["terminal", "catalogue", "listing"]
#: The tag every listing carries: a write to a platform evicts its lists, since
#: a new run or job is in none of their ids.
LISTINGS = "*listings*"


@dataclass(frozen=True, slots=True)
class Keep:
    """A platform client's verdict on an answer: keep it as ``kind``.

    ``ids`` are the records it holds, each finished if the answer is
    terminal; ``related`` are others it depends on (a step's run), never
    taken as finished. A write that changes any of them evicts it.
    ``after`` names a record that must be known finished first (a run's step
    page is final only once the run is): until this request, or the cache,
    knows it, the answer waits. ``marks`` are the records such answers wait
    for (a run): the cache notes on its own that they finished, so a later
    request that reads only what waits for them (a run's steps) knows.
    """

    kind: Kind
    ids: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    after: str | None = None
    marks: tuple[str, ...] = ()

    @property
    def records(self) -> tuple[str, ...]:
        """Every record whose change evicts the answer."""
        return (*self.ids, *self.related)


@dataclass(frozen=True, slots=True)
class Entry:
    """A kept answer: enough to rebuild the response the client parses, and
    (``ids``) the records it holds, finished if it is terminal."""

    status: int
    content_type: str
    body: bytes
    kind: Kind
    ids: tuple[str, ...]

    def response(self, request: httpx.Request) -> httpx.Response:
        headers = {"content-type": self.content_type} if self.content_type else {}
        return httpx.Response(self.status, headers=headers, content=self.body, request=request)

    def encode(self) -> bytes:
        """One JSON line of what describes the body, then the body as sent."""
        head = {"s": self.status, "t": self.content_type, "k": self.kind, "i": list(self.ids)}
        return json.dumps(head, separators=(",", ":")).encode() + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> Entry:
        line, _, body = raw.partition(b"\n")
        head = json.loads(line)
        return cls(head["s"], head["t"], body, head["k"], tuple(head["i"]))
