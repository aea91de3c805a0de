"""DataLoaders keyed by platform id, made fresh for every GraphQL request.

A loader batches the ids its resolvers ask for in one tick into one backend
call and caches the answers for the rest of the request, never longer: a
loader shared across requests would leak data between callers and go stale.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Generic, Protocol, TypeVar

from aiodataloader import DataLoader

from mlgraph.observability import context as observe
from mlgraph.observability import tracing


class HasId(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=HasId)


class RecordLoader(DataLoader, Generic[R]):
    """Loads records by id with a many-ids fetch; unknown ids load as ``None``.

    The fetch may also answer more records than asked for (a backend's whole
    list): they are all kept, so later look-ups of them cost nothing.

    Records already known (fetched or primed) are kept in a plain dict and
    returned by ``get`` without a future or a suspension: a list of a
    thousand steps then costs a thousand dict look-ups, not a thousand awaits.
    """

    def __init__(self, fetch_many: Callable[[list[str]], Awaitable[Mapping[str, R | Exception]]]) -> None:
        super().__init__()
        self._fetch_many = fetch_many
        self.known: dict[str, R] = {}

    async def batch_load_fn(self, keys: list[str]) -> list[R | Exception | None]:
        """An exception in place of a record fails that key's load alone."""
        observe.loader_batch(len(keys))
        with tracing.span("loader batch", {"mlgraph.batch_size": len(keys)}):
            found = await self._fetch_many(list(keys))
        for record in found.values():
            if not isinstance(record, Exception):
                self.known.setdefault(record.id, record)
        return [found.get(key) for key in keys]

    async def get(self, key: str) -> R | None:
        record = self.known.get(key)
        if record is not None:
            return record
        return await self.load(key)

    async def get_many(self, keys: Iterable[str]) -> list[R | None]:
        keys = list(keys)
        missing = [key for key in keys if key not in self.known]
        if missing:
            await self.load_many(missing)
        return [self.known.get(key) for key in keys]

    def prime_many(self, records: Iterable[R]) -> None:
        """Seed the cache from a list call so those ids are never fetched again."""
        known = self.known
        for record in records:
            known.setdefault(record.id, record)
