"""The per-request Abacus.AI loaders.

Abacus.AI has no call that describes several objects, so a batch is its
describes, made concurrently under the client's bound; the loader's cache
makes each id one call per request however many step versions reference it.
A pipeline version's describe carries its step versions whole, so it primes
their loader: a step version reached through its run costs nothing more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from mlgraph.backends import abacus as wire
from mlgraph.backends.abacus import AbacusClient
from mlgraph.graph.loaders import RecordLoader


class AbacusLoaders:
    def __init__(self, client: AbacusClient) -> None:
        self.client = client
        self.pipelines = RecordLoader(self._pipelines)
        self._listings: list[asyncio.Future[list[wire.AbacusPipeline]]] = []
        self.pipeline_versions = RecordLoader(self._versions)
        self.steps = RecordLoader(self._each(client.describe_pipeline_step))
        self.step_versions = RecordLoader(self._each(client.describe_pipeline_step_version))
        self.datasets = RecordLoader(self._each(client.describe_dataset))
        self.dataset_versions = RecordLoader(self._each(client.describe_dataset_version))
        self.models = RecordLoader(self._each(client.describe_model))
        self.model_versions = RecordLoader(self._each(client.describe_model_version))
        self.deployments = RecordLoader(self._each(client.describe_deployment))
        self.feature_group_versions = RecordLoader(self._each(client.describe_feature_group_version))
        self.batch_predictions = RecordLoader(self._each(client.describe_batch_prediction))
        self.projects = RecordLoader(self._each(client.describe_project))
        self._me: asyncio.Future[wire.AbacusUser] | None = None
        self._users: asyncio.Future[dict[str, wire.AbacusUser]] | None = None
        self.version_logs = RecordLoader(self._logs)

    def _each(self, fetch_one: Callable[[str], Awaitable[Any]]) -> Callable[[list[str]], Awaitable[Mapping[str, Any]]]:
        async def fetch(ids: list[str]) -> Mapping[str, Any]:
            return await self.client.get_many(fetch_one, ids)

        return fetch

    async def list_pipelines(self, project_id: str | None = None) -> list[wire.AbacusPipeline]:
        """The pipelines Abacus.AI lists whole, primed into the loaders; a
        describe asked for meanwhile waits for the list instead of racing it."""
        listing = asyncio.ensure_future(self._list_and_prime(project_id))
        self._listings.append(listing)
        return await listing

    async def _list_and_prime(self, project_id: str | None) -> list[wire.AbacusPipeline]:
        records = await self.client.list_pipelines(project_id)
        self.prime_pipelines(records)
        return records

    async def _pipelines(self, ids: list[str]) -> Mapping[str, Any]:
        """Describes of the pipelines no list of this request has brought."""
        if self._listings:
            await asyncio.gather(*self._listings, return_exceptions=True)
        known = self.pipelines.known
        found: dict[str, Any] = {key: known[key] for key in ids if key in known}
        missing = [key for key in ids if key not in known]
        if missing:
            found.update(await self.client.get_many(self.client.describe_pipeline, missing))
        return found

    async def _versions(self, ids: list[str]) -> Mapping[str, Any]:
        found = await self.client.get_many(self.client.describe_pipeline_version, ids)
        self.prime_versions(v for v in found.values() if isinstance(v, wire.AbacusPipelineVersion))
        return found

    def prime_versions(self, versions: Iterable[wire.AbacusPipelineVersion]) -> None:
        """Pipeline versions and the step versions each carries."""
        for version in versions:
            self.pipeline_versions.prime_many([version])
            self.step_versions.prime_many(version.step_versions)

    def prime_pipelines(self, pipelines: Iterable[wire.AbacusPipeline]) -> None:
        for pipeline in pipelines:
            self.pipelines.prime_many([pipeline])
            self.steps.prime_many(pipeline.steps)
            if pipeline.latest_pipeline_version is not None and pipeline.latest_pipeline_version.step_versions:
                self.prime_versions([pipeline.latest_pipeline_version])

    async def me(self) -> wire.AbacusUser:
        """The API key's user, described once per request."""
        if self._me is None:
            self._me = asyncio.ensure_future(self.client.describe_user())
        return await self._me

    async def user_by_email(self, email: str) -> wire.AbacusUser | None:
        """Records name their creator by email: the organization's users, listed once per request."""
        if self._users is None:
            self._users = asyncio.ensure_future(self._users_by_email())
        return (await self._users).get(email.casefold())

    async def _users_by_email(self) -> dict[str, wire.AbacusUser]:
        users = await self.client.list_organization_users()
        return {(user.email or "").casefold(): user for user in users}

    async def _logs(self, versions: list[str]) -> Mapping[str, Any]:
        """A version's logs hold every step's: one call serves all its steps."""
        found = await self.client.get_many(self.client.list_pipeline_version_logs, versions)
        return {key: VersionLogs(key, value) if isinstance(value, wire.AbacusVersionLogs) else value for key, value in found.items()}


class VersionLogs:
    """A pipeline version's logs, keyed by the version for the loader."""

    def __init__(self, version: str, logs: wire.AbacusVersionLogs) -> None:
        self.id = version
        self.by_step_version = {entry.pipeline_step_version: entry for entry in logs.step_logs}
