"""One connection over several platforms' lists, merged newest first.

Each platform contributes one or more *sources*: a list the backend keeps in
newest-first order, read from a position. A page asks every source, at
once, for at most the page's size from where the last page left it, merges
the answers by time (newest first; ties in source order), and keeps the
first ``first``. An edge's cursor records, for every source, the position
after the last item of that source taken so far, so paging resumes exactly:
every item comes once, in order, whatever the page size.

A source's position counts what it read from its backend, not what matched:
a source that filters after fetching (where the backend cannot filter)
skips what did not match and resumes after it. A source that fails is left
out of the page, its error kept beside the others' data; its position stays
where it was, so the next page asks it again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

import strawberry

from mlgraph.backends.errors import BackendError, display_name
from mlgraph.graph.connection import Edge, PageInfo
from mlgraph.graph.errors import BACKEND_CODES, GatewayError, UserInputError
from mlgraph.graph.interfaces import Platform

N = TypeVar("N")

#: The oldest instant: items with no time sort after every dated one.
_UNDATED = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class Found:
    """An item a source read, with its time and the position after it."""

    item: Any
    at: datetime | None
    next_position: int


@dataclass(frozen=True, slots=True)
class Batch:
    """What a source read: matching items in its order, whether it is at its
    end, how far it read (``scanned``, a position) and the time of the last
    item it read, matching or not (``horizon``): what it did not read is no newer."""

    found: list[Found]
    exhausted: bool
    scanned: int = 0
    horizon: datetime | None = None


@dataclass(frozen=True)
class Source:
    """One newest-first list of one platform, read from a position.

    ``read(position, want)`` returns up to ``want`` matching items starting at
    ``position`` (positions count everything the backend listed).
    """

    key: str
    platform: str
    read: Callable[[int, int], Awaitable[Batch]]


@strawberry.type(description="A platform whose part of a merged list is missing, and why.")
class PlatformFailure:
    platform: Platform
    code: str
    message: str


@strawberry.type(description="A page of a list merged across platforms, newest first.")
class MergedConnection(Generic[N]):
    edges: list[Edge[N]]
    page_info: PageInfo
    incomplete: bool = strawberry.field(
        description="Some platform failed: its items are missing (see `failures` and the errors)."
    )
    failures: list[PlatformFailure]
    #: The failures as errors, for the response's `errors`.
    errors: strawberry.Private[list[PlatformFailed]]

    @strawberry.field(description="The nodes of `edges`, for clients that need no cursors.")
    def nodes(self) -> list[N]:
        return [edge.node for edge in self.edges]


class PlatformFailed(GatewayError):
    """A platform's part of a merged list failed; the rest was answered."""

    def __init__(self, platform: str, code: str, message: str) -> None:
        super().__init__(message, platform=platform)
        self.code = code

    @classmethod
    def of(cls, error: BackendError | GatewayError, platform: str) -> PlatformFailed:
        if isinstance(error, BackendError):
            return cls(platform, BACKEND_CODES.get(type(error), "BACKEND_UNAVAILABLE"), error.message)
        return cls(platform, error.code, error.message)

    def as_failure(self) -> PlatformFailure:
        return PlatformFailure(platform=Platform(self.extensions["platform"]), code=self.code, message=self.message)


#: The key a cursor names its list and filter under.
SCOPE = "@"


def encode_positions(positions: dict[str, Any]) -> str:
    raw = json.dumps(positions, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(b"merged:" + raw).decode("ascii").rstrip("=")


def decode_positions(cursor: str, scope: str) -> dict[str, int]:
    """A cursor's positions; one from another list or filter is refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if not raw.startswith(b"merged:"):
            raise ValueError
        positions = json.loads(raw[len(b"merged:") :])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise UserInputError("invalid cursor") from None
    if not isinstance(positions, dict) or positions.pop(SCOPE, None) != scope:
        raise UserInputError("invalid cursor: it belongs to another list or filter")
    if not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**31
        for k, v in positions.items()
    ):
        raise UserInputError("invalid cursor")
    return positions


@dataclass
class _Lane:
    source: Source
    position: int
    found: list[Found] = field(default_factory=list)
    exhausted: bool = False
    scanned: int = 0
    horizon: datetime | None = None
    taken: int = 0


async def merged_page(
    sources: Sequence[Source],
    first: int,
    after: str | None,
    *,
    scope: str,
    timeout: float,
    failed: Sequence[PlatformFailed] = (),
) -> MergedConnection[Any]:
    """The page of ``first`` items after ``after``.

    ``scope`` names the list and its filter: a cursor of another list is
    refused. A platform whose sources take longer than ``timeout`` seconds is
    left out as failed. ``failed`` are platforms that could not even list
    their sources.
    """
    positions = decode_positions(after, scope) if after else {}
    lanes = [_Lane(source, positions.get(source.key, 0)) for source in sources]
    errors: list[PlatformFailed] = list(failed)

    async def fill(lane: _Lane) -> None:
        batch = await asyncio.wait_for(lane.source.read(lane.position, first), timeout)
        lane.found, lane.exhausted, lane.scanned, lane.horizon = (
            batch.found, batch.exhausted, batch.scanned, batch.horizon
        )

    outcomes = await asyncio.gather(*(fill(lane) for lane in lanes), return_exceptions=True) if first else []
    live: list[_Lane] = []
    for lane, outcome in zip(lanes, outcomes):
        if isinstance(outcome, (BackendError, GatewayError)):
            errors.append(PlatformFailed.of(outcome, lane.source.platform))
        elif isinstance(outcome, asyncio.TimeoutError):
            message = f"{display_name(lane.source.platform)} did not answer in {timeout:g} s"
            errors.append(PlatformFailed(lane.source.platform, "BACKEND_UNAVAILABLE", message))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            live.append(lane)

    edges: list[Edge[Any]] = []
    state = {SCOPE: scope, **positions}
    while len(edges) < first:
        best = _next(live)
        if best is None:
            break
        chosen = best.found[best.taken]
        best.taken += 1
        state[best.source.key] = chosen.next_position
        edges.append(Edge(cursor=encode_positions(state), node=chosen.item))
    # A source that stopped reading before its filter matched enough has been
    # read, without a match, through ``scanned``: the next page goes on from
    # there, unless the page ended before all it found was taken.
    for lane in live:
        if lane.taken == len(lane.found) and lane.scanned > state.get(lane.source.key, lane.position):
            state[lane.source.key] = lane.scanned

    # One failure a platform, however many of its sources failed.
    failures = list({error.extensions["platform"]: error for error in errors}.values())
    has_next = not first or any(lane.taken < len(lane.found) or not lane.exhausted for lane in live) or bool(failures)
    # Past the last edge when a lane read on without a match: a page may
    # then be empty and still move on.
    moved = state != {SCOPE: scope, **positions}
    return MergedConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=bool(after),
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=encode_positions(state) if moved else None,
        ),
        incomplete=bool(failures),
        failures=[failure.as_failure() for failure in failures],
        errors=failures,
    )


def _next(lanes: list[_Lane]) -> _Lane | None:
    """The lane whose next item is newest, unless a lane that stopped short
    (its filter matched too little of what it read) may hold a newer one
    beyond what it read: then the page ends here, and the next goes on."""
    best: _Lane | None = None
    for lane in lanes:
        if lane.taken < len(lane.found) and (best is None or _newer(lane.found[lane.taken], best.found[best.taken])):
            best = lane
    if best is None:
        return None
    candidate = best.found[best.taken].at or _UNDATED
    for lane in lanes:
        # What a lane has not read is no newer than the last item it read.
        if lane.taken == len(lane.found) and not lane.exhausted and candidate <= (lane.horizon or _UNDATED):
            return None
    return best


def _newer(a: Found, b: Found) -> bool:
    """Whether ``a`` comes before ``b``: a later time, or a time against none."""
    return (a.at or _UNDATED) > (b.at or _UNDATED)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


async def scan(
    position: int,
    want: int,
    fetch: Callable[[int, int], Awaitable[tuple[list[Any], bool]]],
    *,
    at: Callable[[Any], datetime | None],
    keep: Callable[[Any], bool] | None = None,
    page_size: int = 100,
    max_pages: int = 20,
) -> Batch:
    """Read a backend list from ``position`` until ``want`` items match.

    ``fetch(offset, limit)`` returns a page and whether the list ended. With
    no ``keep`` every item matches and one call reads exactly ``want``; with
    one, pages of ``page_size`` are read, at most ``max_pages`` of them: a
    sparse filter then returns what it found and how far it read.
    """
    found: list[Found] = []
    offset = position
    horizon: datetime | None = None
    limit = want if keep is None else max(page_size, want)
    for _ in range(max_pages):
        items, ended = await fetch(offset, limit)
        for index, item in enumerate(items):
            moment = _aware(at(item))
            horizon = moment
            if keep is None or keep(item):
                found.append(Found(item, moment, offset + index + 1))
                if len(found) == want:
                    last = index == len(items) - 1
                    return Batch(found, exhausted=ended and last, scanned=offset + index + 1, horizon=moment)
        offset += len(items)
        if ended or not items:
            return Batch(found, exhausted=True, scanned=offset, horizon=horizon)
    return Batch(found, exhausted=False, scanned=offset, horizon=horizon)
