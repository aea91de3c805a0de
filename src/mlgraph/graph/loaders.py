"""DataLoaders keyed by platform id, made fresh for every GraphQL request.

A loader batches the ids its resolvers ask for in one tick into one backend
call and caches the answers for the rest of the request, never longer: a
loader shared across requests would leak data between callers and go stale.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Generic, Protocol, TypeVar

from aiodataloader import DataLoader


class HasId(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=HasId)


class RecordLoader(DataLoader, Generic[R]):
    """Loads records by id with a many-ids fetch; unknown ids load as ``None``."""

    def __init__(self, fetch_many: Callable[[list[str]], Awaitable[Mapping[str, R]]]) -> None:
        super().__init__()
        self._fetch_many = fetch_many

    async def batch_load_fn(self, keys: list[str]) -> list[R | None]:
        found = await self._fetch_many(list(keys))
        return [found.get(key) for key in keys]

    def prime_many(self, records: Iterable[R]) -> None:
        """Seed the cache from a list call so those ids are never fetched again."""
        for record in records:
            self.prime(record.id, record)
