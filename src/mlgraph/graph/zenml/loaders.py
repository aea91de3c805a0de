"""The per-request ZenML loaders.

Thin records (``hydrate=false``) are what lists and batches ask for; a
hydrated copy is fetched, again batched, only for fields that live in a
record's ``metadata`` (times of a run, a step's DAG and config, an email).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

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
        self.steps_by_run: DataLoader = DataLoader(self._steps_of_runs)

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
        """Cache records a list call returned, in the loader of their shape.

        A thin record never goes into a loader that promises hydrated ones
        (users, projects): their email or description would read as null.
        """
        thin, hydrated = [], []
        for record in records:
            (hydrated if record.hydrated else thin).append(record)
        if hydrated:
            self.by_id(resource, hydrated=True).prime_many(hydrated)
        if thin and resource.path not in ALWAYS_HYDRATED:
            self.by_id(resource).prime_many(thin)

    def _fetcher(self, resource: ZenMLResource, hydrated: bool):
        async def fetch(ids: list[str]) -> Mapping[str, wire.ZenMLRecord]:
            found = await self.client.get_many(resource, ids, hydrate=hydrated)
            missing = [i for i in ids if i not in found]
            if resource is wire.USERS and missing:
                found.update(await self._service_accounts(missing, hydrated))
            return found

        return fetch

    async def _service_accounts(self, ids: list[str], hydrated: bool) -> Mapping[str, wire.ZenMLRecord]:
        """``/users`` lists no service accounts; ``/service_accounts`` lists
        them by id in one call as ``/users`` does people."""
        try:
            return await self.client.get_many(wire.SERVICE_ACCOUNTS, ids, hydrate=hydrated)
        except wire.NotFound:  # a server without the route: they stay unknown
            return {}

    async def _steps_of_runs(self, run_ids: list[str]) -> list[list[wire.ZenMLStepRun]]:
        """All steps of each run, one filtered list call per run, concurrently.

        Thin step records do not say which run they belong to, so one call
        for several runs could not be split back; calls grow with the number
        of distinct runs asked about, never with the number of steps.
        """
        steps = await asyncio.gather(*(self._steps_of_run(run_id) for run_id in run_ids))
        for run_steps in steps:
            self.prime(wire.STEP_RUNS, run_steps)
        return list(steps)

    async def _steps_of_run(self, run_id: str) -> list[wire.ZenMLStepRun]:
        filters = {"pipeline_run_id": run_id}
        first = await self.client.list(wire.STEP_RUNS, size=RUN_STEPS_PAGE, sort_by="created", filters=filters)
        rest = await asyncio.gather(
            *(
                self.client.list(wire.STEP_RUNS, page=page, size=RUN_STEPS_PAGE, sort_by="created", filters=filters)
                for page in range(2, first.total_pages + 1)
            )
        )
        return [step for page in (first, *rest) for step in page.items]
