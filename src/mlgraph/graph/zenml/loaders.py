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
from mlgraph.backends.errors import NotFound
from mlgraph.backends.zenml import ZenMLClient, ZenMLResource
from mlgraph.graph.loaders import RecordLoader
from mlgraph.graph.zenml.dag import RunDag

#: Small records whose useful fields (email, description) are all in metadata.
ALWAYS_HYDRATED = frozenset({wire.USERS.path, wire.PROJECTS.path})
#: Page size for reading all steps of a run.
RUN_STEPS_PAGE = 1000
#: Run statuses after which no step starts, for servers that do not say
#: ``in_progress`` (a failed 0.98 run may still start steps).
_RUN_ENDED = frozenset({"completed", "failed", "stopped"})


class ZenMLLoaders:
    def __init__(self, client: ZenMLClient) -> None:
        self.client = client
        self._loaders: dict[tuple[str, bool], RecordLoader] = {}
        self._run_steps = {hydrated: DataLoader(partial(self._steps_of_runs, hydrated=hydrated)) for hydrated in (False, True)}
        self._listed_hydrated: set[str] = set()
        self._dags = DataLoader(self._dags_of_runs)

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

    def dag_of(self, run_id: str) -> Awaitable[RunDag]:
        """The run's DAG, its never-started steps included, once per request."""
        return self._dags.load(run_id)

    async def _dags_of_runs(self, run_ids: list[str]) -> list[RunDag | BaseException]:
        return await asyncio.gather(*(self._dag_of_run(run_id) for run_id in run_ids), return_exceptions=True)

    async def _dag_of_run(self, run_id: str) -> RunDag:
        """Every step of the run hydrated (their parents are metadata), and the
        snapshot, which also names the steps that never started.

        A run known completed ran every step its snapshot planned: its steps
        alone are the DAG. A run known otherwise names its snapshot, read
        beside its steps; a run not read yet leaves its steps to name it.
        Whether the run has ended is asked only when a never-started step's
        status hangs on it.
        """
        run = self._known_run(run_id)
        if run is not None and run.status == "completed":
            return RunDag(run_id, await self.steps_of(run_id, hydrated=True), None)
        ref = run.snapshot_ref if run is not None else None
        if ref is not None:
            steps, snapshot = await asyncio.gather(self.steps_of(run_id, hydrated=True), self._snapshot(*ref))
        else:
            steps = await self.steps_of(run_id, hydrated=True)
            if not steps:  # no steps may mean no run: then it is NOT_FOUND
                run = await self._run(run_id)
            ref = (steps[0] if steps else run).snapshot_ref
            snapshot = await self._snapshot(*ref) if ref is not None else None
        dag = RunDag(run_id, steps, snapshot)
        if dag.waits_on_run:
            run = run or await self._run(run_id)
            dag.run_ended = not run.in_progress if run.in_progress is not None else run.status in _RUN_ENDED
        return dag

    def _known_run(self, run_id: str) -> wire.ZenMLPipelineRun | None:
        return self.by_id(wire.PIPELINE_RUNS, hydrated=True).known.get(run_id) or self.by_id(wire.PIPELINE_RUNS).known.get(run_id)

    async def _run(self, run_id: str) -> wire.ZenMLPipelineRun:
        run = await self.by_id(wire.PIPELINE_RUNS).get(run_id)
        if run is None:
            raise NotFound(wire.PLATFORM, f"zenml pipeline run {run_id} not found", 404)
        return run

    def _snapshot(self, resource: ZenMLResource, snapshot_id: str) -> Awaitable[wire.ZenMLSnapshot | None]:
        """A snapshot, hydrated (its steps are metadata), asked for at once so
        that it goes out beside the steps; None when it is gone."""
        return self.by_id(resource, hydrated=True).load(snapshot_id)
