"""Relay connections and the offset cursors behind them.

Cursors encode an offset into the backend's ordering, so a page resumes where
the last one ended whatever page size the client picks.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry

from mlgraph.graph.errors import UserInputError

N = TypeVar("N")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type(description="A page of a list; `first`/`after` page forward.")
class Connection(Generic[N]):
    edges: list[Edge[N]]
    page_info: PageInfo
    total_count: int | None = strawberry.field(description="All items, when the backend knows it.")

    @strawberry.field(description="The nodes of `edges`, for clients that need no cursors.")
    def nodes(self) -> list[N]:
        return [edge.node for edge in self.edges]


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode("ascii").rstrip("=")


#: Backends keep offsets in 32-bit integers; a larger one is a forged cursor.
MAX_OFFSET = 2**31 - 1


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except ValueError:
        raise UserInputError("invalid cursor") from None
    prefix, _, number = raw.partition(":")
    if prefix != "offset" or not number.isdigit() or len(number) > 10 or int(number) > MAX_OFFSET:
        raise UserInputError("invalid cursor")
    return int(number)


@dataclass(frozen=True, slots=True)
class Window:
    """The slice of a list a connection asks for: ``limit`` items from ``offset``."""

    offset: int
    limit: int

    @classmethod
    def from_args(cls, first: int | None, after: str | None, default: int, maximum: int) -> Window:
        limit = default if first is None else first
        if limit < 0:
            raise UserInputError("`first` must not be negative")
        if limit > maximum:
            raise UserInputError(f"`first` must be at most {maximum}")
        offset = decode_cursor(after) + 1 if after else 0
        return cls(offset, limit)

    def page(self, size_floor: int = 1) -> tuple[int, int, int]:
        """A backend page (1-based number, size) holding the whole window, and where
        the window starts in it — one call for any offset and limit."""
        limit = max(self.limit, size_floor)
        size = limit
        while self.offset // size != (self.offset + limit - 1) // size:
            size += 1
        return self.offset // size + 1, size, self.offset % size


def connection(items: Sequence[N], window: Window, total: int | None) -> Connection[N]:
    edges = [Edge(cursor=encode_cursor(window.offset + i), node=item) for i, item in enumerate(items)]
    has_next = (window.offset + len(items) < total) if total is not None else len(items) == window.limit
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=window.offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=total,
    )
