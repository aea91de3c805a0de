"""The per-request ZenML loaders.

Thin records (``hydrate=false``) are what lists and batches ask for; a
hydrated copy is fetched, again batched, only for fields that live in a
record's ``metadata`` (times of a run, a step's DAG and config, an email).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Mapping
from functools import partial

from aiodataloader import DataLoader

from mlgraph.backends import zenml as wire
from mlgraph.backends.zenml import ZenMLClient, ZenMLResource
from mlgraph.graph.loaders import RecordLoader

#: Small records whose useful fields (email, description) are all in metadata.
ALWAYS_HYDRATED = frozenset({wire.USERS.path, wire.PROJECTS.path})
#: Page size for reading all steps of a run.
RUN_STEPS_PAGE = 1000


class ZenMLLoaders:
    def __init__(self, client: ZenMLClient) -> None:
        self.client = client
        self._loaders: dict[tuple[str, bool], RecordLoader] = {}
        self._run_steps = {hydrated: DataLoader(partial(self._steps_of_runs, hydrated=hydrated)) for hydrated in (False, True)}
        self._listed_hydrated: set[str] = set()

    def by_id(self, resource: ZenMLResource, *, hydrated: bool = False) -> RecordLoader:
        """The loader of ``resource`` records, thin or hydrated."""
        hydrated = hydrated or resource.path in ALWAYS_HYDRATED
        key = (resource.path, hydrated)
        loader = self._loaders.get(key)
        if loader is None:
            loader = RecordLoader(self._fetcher(resource, hydrated))
            self._loaders[key] = loader
        return loader

    def prime(self, resource: ZenMLResource, records: Iterable[wire.ZenMLRecord]) -> None:
        """Cache records a list call returned, in the loaders they can serve.

        A hydrated record serves thin look-ups too; a thin record never goes
        into a loader that promises hydrated ones (users, projects): their
        email or description would read as null.
        """
        records = list(records)
        hydrated = [record for record in records if record.hydrated]
        if hydrated:
            self.by_id(resource, hydrated=True).prime_many(hydrated)
        if records and resource.path not in ALWAYS_HYDRATED:
            self.by_id(resource).prime_many(records)

    def _fetcher(self, resource: ZenMLResource, hydrated: bool):
        async def fetch(ids: list[str]) -> Mapping[str, wire.ZenMLRecord]:
            if resource is wire.USERS and len(ids) == 1:
                return await self._one_user(ids[0], hydrated)
            found = await self.client.get_many(resource, ids, hydrate=hydrated)
            missing = [i for i in ids if i not in found]
            if resource is wire.USERS and missing:
                found.update(await self._service_accounts(missing, hydrated))
            return found

        return fetch

    async def _one_user(self, user_id: str, hydrated: bool) -> Mapping[str, wire.ZenMLRecord]:
        """``/users/{id}`` answers for people and service accounts alike: one
        call, where a ``/users`` list misses a service account and needs a
        second."""
        try:
            return {user_id: await self.client.get(wire.USERS, user_id, hydrate=hydrated)}
        except wire.NotFound:
            return {}

    async def _service_accounts(self, ids: list[str], hydrated: bool) -> Mapping[str, wire.ZenMLRecord]:
        """``/users`` lists no service accounts; ``/service_accounts`` lists
        them by id in one call as ``/users`` does people."""
        try:
            return await self.client.get_many(wire.SERVICE_ACCOUNTS, ids, hydrate=hydrated)
        except wire.NotFound:  # a server without the route: they stay unknown
            return {}

    def steps_of(self, run_id: str, *, hydrated: bool = False) -> Awaitable[list[wire.ZenMLStepRun]]:
        """Every step of a run, in the order ZenML made them (as its pages
        list them). Once the request asked for them hydrated, that list
        serves thin asks too."""
        if hydrated:
            self._listed_hydrated.add(run_id)
        return self._run_steps[run_id in self._listed_hydrated].load(run_id)

    def lists_hydrated(self, run_id: str) -> bool:
        """Whether the request reads every step of the run hydrated anyway."""
        return run_id in self._listed_hydrated

    async def _steps_of_runs(self, run_ids: list[str], *, hydrated: bool) -> list[list[wire.ZenMLStepRun]]:
        """All steps of each run, one filtered list call per run, concurrently.

        Thin step records do not say which run they belong to, so one call
        for several runs could not be split back; calls grow with the number
        of distinct runs asked about, never with the number of steps.
        """
        steps = await asyncio.gather(*(self._steps_of_run(run_id, hydrated) for run_id in run_ids))
        for run_steps in steps:
            self.prime(wire.STEP_RUNS, run_steps)
        return list(steps)

    async def _steps_of_run(self, run_id: str, hydrated: bool) -> list[wire.ZenMLStepRun]:
        def page(number: int) -> Awaitable[wire.ZenMLPage[wire.ZenMLStepRun]]:
            return self.client.list(
                wire.STEP_RUNS, page=number, size=RUN_STEPS_PAGE, hydrate=hydrated, sort_by="created",
                filters={"pipeline_run_id": run_id},
            )

        first = await page(1)
        rest = await asyncio.gather(*(page(number) for number in range(2, first.total_pages + 1)))
        return [step for listed in (first, *rest) for step in listed.items]
