"""The per-request Domino loaders.

Domino has no call that fetches several ids, so a batch is its single gets,
made concurrently under the client's bound; the loader's cache makes each id
one call per request however many objects refer to it. Two kinds of object
are cheaper to list whole: users (there is no get by id at all) and
hardware tiers (a handful per installation). For those the first look-up of
a request lists them all, once, and every later look-up is a dict read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiodataloader import DataLoader

from mlgraph.backends import domino as wire
from mlgraph.backends.domino import DominoClient
from mlgraph.graph.loaders import RecordLoader


class DominoLoaders:
    def __init__(self, client: DominoClient) -> None:
        self.client = client
        self.jobs = RecordLoader(self._each(client.job))
        self.projects = RecordLoader(self._each(client.project))
        self.datasets = RecordLoader(self._each(client.dataset))
        self.snapshots = RecordLoader(self._each(client.snapshot))
        self.environments = RecordLoader(self._each(client.environment))
        self.registered_models = RecordLoader(self._each(client.registered_model))
        self.model_versions = RecordLoader(self._each(self._model_version))
        self.users = RecordLoader(self._all_users)
        self.hardware_tiers = RecordLoader(self._tiers)
        #: Job id -> Domino's diagnosis of its failure, or None.
        self.problems = DataLoader(self._problems)
        self._user_list: asyncio.Future[list[wire.DominoUser]] | None = None
        self._users_by_name: dict[str, wire.DominoUser] | None = None
        self._tier_list: asyncio.Future[list[wire.DominoHardwareTier]] | None = None

    def _each(self, fetch_one: Callable[[str], Awaitable[Any]]) -> Callable[[list[str]], Awaitable[Mapping[str, Any]]]:
        async def fetch(ids: list[str]) -> Mapping[str, Any]:
            return await self.client.get_many(fetch_one, ids)

        return fetch

    async def _model_version(self, key: str) -> wire.DominoModelVersion:
        name, _, number = key.rpartition("/")
        return await self.client.model_version(name, int(number))

    async def _problems(self, ids: list[str]) -> list[str | Exception | None]:
        """Each job's ``problem``, from a one-line page of its logs: the job
        record says only that it failed, its logs say why."""

        async def problem(job_id: str) -> str | None:
            return (await self.client.job_logs(job_id, limit=1)).problem

        found = await self.client.get_many(problem, ids)
        return [found.get(job_id) for job_id in ids]

    async def user_list(self) -> list[wire.DominoUser]:
        """Every visible user, listed once per request."""
        if self._user_list is None:
            self._user_list = asyncio.ensure_future(self.client.all_users())
        return await self._user_list

    async def tier_list(self) -> list[wire.DominoHardwareTier]:
        """Every hardware tier, archived ones included, listed once per request."""
        if self._tier_list is None:
            self._tier_list = asyncio.ensure_future(self.client.all_hardware_tiers())
        return await self._tier_list

    async def _all_users(self, ids: list[str]) -> Mapping[str, Any]:
        return {user.id: user for user in await self.user_list()}

    async def _tiers(self, ids: list[str]) -> Mapping[str, Any]:
        """The listed tiers, archived ones included: a tier the list lacks does not exist."""
        return {tier.id: tier for tier in await self.tier_list()}

    async def user_by_name(self, user_name: str) -> wire.DominoUser | None:
        """Records such as registered models name their owner by user name only."""
        if self._users_by_name is None:
            users = await self.user_list()
            self._users_by_name = {(user.user_name or "").casefold(): user for user in users}
        return self._users_by_name.get(user_name.casefold())

    def prime_jobs(self, jobs: Sequence[wire.DominoJob]) -> None:
        """Only detailed records go in: a listed one lacks tags and goals."""
        self.jobs.prime_many(job for job in jobs if job.detailed)
