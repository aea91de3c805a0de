"""The questions asked across platforms: merged lists, the platforms, a person.

Each root field asks every configured platform at once (`merge.merged_page`)
and merges newest first. Filters go to a backend where it has them (ZenML:
status, start time, name, user; Domino: its status category) and are
applied to what was read where it has not. A platform that is not
configured is absent; one that fails leaves its error beside the others'
data and marks the connection incomplete.

The time a list is merged by is when an object was created (a step run
created, a job submitted, a step version created): the order every backend
keeps its lists in.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

import strawberry
from strawberry.types import Info

from mlgraph.backends import abacus as abacus_wire
from mlgraph.backends import zenml as zenml_wire
from mlgraph.backends.errors import BackendError, display_name
from mlgraph.graph.abacus import types as abacus
from mlgraph.graph.context import GraphContext, context_of, response_path
from mlgraph.graph.connection import Window
from mlgraph.graph.domino import types as domino
from mlgraph.graph.errors import GatewayError, UserInputError
from mlgraph.graph.interfaces import Dataset, Execution, ExecutionStatus, HardwareTier, ModelVersion, PipelineRun, Platform, User
from mlgraph.graph.merge import Batch, MergedConnection, PlatformFailed, Source, decode_positions, merged_page, scan
from mlgraph.graph.zenml import types as zenml
from mlgraph.graph.plan import wants_path
from mlgraph.graph.zenml.metadata import asks_metadata
from mlgraph.graph.zenml.types import fetch_window


@strawberry.input(description="What to keep of a merged list of executions or runs; unset means everything.")
class ExecutionFilter:
    platforms: list[Platform] | None = None
    statuses: list[ExecutionStatus] | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    name_contains: str | None = None
    user_email: str | None = strawberry.field(default=None, description="Whose, by email (any case).")


def _utc(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


class Keep:
    """The filter as a test on a graph object, for what a backend could not filter."""

    def __init__(self, spec: ExecutionFilter) -> None:
        self.statuses = set(spec.statuses) if spec.statuses else None
        self.after = _utc(spec.started_after)
        self.before = _utc(spec.started_before)
        self.name = spec.name_contains.casefold() if spec.name_contains else None

    def __call__(self, status: ExecutionStatus, started: datetime | None, name: str) -> bool:
        if self.statuses is not None and status not in self.statuses:
            return False
        started = _utc(started)
        if self.after is not None and (started is None or started < self.after):
            return False
        if self.before is not None and (started is None or started > self.before):
            return False
        return self.name is None or self.name in name.casefold()

    @property
    def empty(self) -> bool:
        return self.statuses is None and self.after is None and self.before is None and self.name is None


def _wants(spec: ExecutionFilter, platform: Platform, context: GraphContext) -> bool:
    return context.configured(platform.value) and (not spec.platforms or platform in spec.platforms)


def _window(context: GraphContext, first: int | None) -> int:
    settings = context.settings
    limit = settings.default_page_size if first is None else first
    if not 0 <= limit <= settings.max_page_size:
        raise UserInputError(f"`first` must be between 0 and {settings.max_page_size}")
    return limit


# ---------------------------------------------------------------- ZenML


def _zenml_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


async def _zenml_user_id(context: GraphContext, email: str) -> str | None:
    page = await context.zenml.client.list(zenml_wire.USERS, size=1000, hydrate=True)
    folded = email.casefold()
    return next((user.id for user in page.items if (user.email or "").casefold() == folded), None)


def _zenml_source(info: Info, spec: ExecutionFilter, resource: zenml_wire.ZenMLResource, wrap: type) -> Source:
    """ZenML filters everything itself: status (one of the native words), start
    time (one bound; the other is checked after), name, user. Records come
    hydrated when the query asks for a field only those carry."""
    context = context_of(info)
    client = context.zenml.client
    hydrate = asks_metadata(info, wrap)
    keep = Keep(spec)
    filters: dict[str, str] = {}
    if keep.statuses is not None:
        filters["status"] = zenml.status_filter(keep.statuses)
    if keep.after is not None:
        filters["start_time"] = f"gte:{_zenml_time(keep.after)}"
    elif keep.before is not None:
        filters["start_time"] = f"lte:{_zenml_time(keep.before)}"
    if keep.name is not None:
        filters["name"] = f"contains:{spec.name_contains}"
    needs_check = keep.after is not None and keep.before is not None

    user_ids: list[str | None] = []

    async def fetch(offset: int, limit: int) -> tuple[list[Any], bool]:
        query = dict(filters)
        if spec.user_email:
            if not user_ids:
                user_ids.append(await _zenml_user_id(context, spec.user_email))
            if user_ids[0] is None:
                return [], True
            query["user_id"] = user_ids[0]
        items, total = await fetch_window(
            Window(offset, limit),
            lambda number, size: client.list(
                resource, page=number, size=size, hydrate=hydrate, sort_by="desc:created", filters=query
            ),
        )
        context.zenml.prime(resource, items)
        return [wrap(record=item) for item in items], offset + len(items) >= total

    def started(node: Any) -> datetime | None:
        return node.record.start_time

    async def read(position: int, want: int) -> Batch:
        return await scan(
            position, want, fetch, at=lambda node: node.record.created,
            keep=(lambda node: keep.before is None or (started(node) is not None and _utc(started(node)) <= keep.before))
            if needs_check else None,
        )

    return Source("zenml", "zenml", read)


# ---------------------------------------------------------------- Domino

async def _domino_sources(context: GraphContext, spec: ExecutionFilter) -> list[Source]:
    """One source per visible project (Domino lists jobs per project)."""
    loaders = context.domino
    client = loaders.client
    keep = Keep(spec)
    category = next(
        (name for name, held in domino.STATUS_CATEGORIES.items() if keep.statuses is not None and keep.statuses <= held), None
    )
    projects = await client.all_projects()
    loaders.projects.prime_many(projects)
    user_id: str | None = None
    if spec.user_email:
        folded = spec.user_email.casefold()
        user_id = next((u.id for u in await loaders.user_list() if (u.email or "").casefold() == folded), None)
        if user_id is None:
            return []

    def matches(job: Any) -> bool:
        record = job.record
        if user_id is not None and record.started_by_id != user_id:
            return False
        name = record.title or record.run_command or ""
        return keep(domino.execution_status(record.status.execution_status), record.stage_times.start_time, name)

    def source(project_id: str) -> Source:
        async def fetch(offset: int, limit: int) -> tuple[list[Any], bool]:
            async with client.gate:  # one list a project: as many as the request's bound allows at once
                page = await client.jobs(project_id, offset=offset, limit=max(limit, 1), status_filter=category)
            loaders.prime_jobs(page.items)
            total = page.total if page.total is not None else offset + len(page.items)
            return [domino.DominoJob(record=job) for job in page.items], offset + len(page.items) >= total

        async def read(position: int, want: int) -> Batch:
            filtering = user_id is not None or not keep.empty
            return await scan(
                position, want, fetch, at=lambda job: job.record.stage_times.submission_time,
                keep=matches if filtering else None,
            )

        return Source(f"domino:{project_id}", "domino", read)

    return [source(project.id) for project in projects]


# ---------------------------------------------------------------- Abacus.AI


async def _abacus_sources(context: GraphContext, spec: ExecutionFilter, *, runs: bool) -> list[Source]:
    """One source per pipeline: its versions newest first, or their step
    versions, each version's last step first. A pipeline someone else created
    is skipped when the filter names a user: Abacus.AI records no one per run."""
    loaders = context.abacus
    client = loaders.client
    keep = Keep(spec)
    pipelines = await loaders.list_pipelines()
    if spec.user_email:
        folded = spec.user_email.casefold()
        pipelines = [p for p in pipelines if (p.created_by or "").casefold() == folded]

    def source(pipeline_id: str, steps: int) -> Source:
        per_version = 1 if runs else max(steps, 1)

        async def fetch(offset: int, limit: int) -> tuple[list[Any], bool]:
            # A version holds a step version per step of its pipeline, so this
            # many versions hold the window (a short read just reads on); the
            # list has no offset, so it is read from its head.
            wanted = min(-(-(offset + limit) // per_version) + 1, abacus_wire.MAX_PAGE_SIZE)
            async with client.gate:  # one list a pipeline: as many as the request's bound allows at once
                versions = await client.list_pipeline_versions(pipeline_id, wanted)
            loaders.prime_versions(versions)
            if runs:
                flat: list[Any] = [abacus.AbacusPipelineVersion(record=v) for v in versions]
            else:
                flat = [
                    abacus.AbacusPipelineStepVersion(record=step)
                    for version in versions
                    for step in reversed(version.step_versions)
                ]
            window = flat[offset : offset + limit]
            return window, len(versions) < wanted and offset + len(window) >= len(flat)

        def matches(node: Any) -> bool:
            record = node.record
            return keep(abacus.execution_status(record.status), record.created_at, record.step_name or "" if not runs else record.pipeline_name or "")

        async def read(position: int, want: int) -> Batch:
            return await scan(
                position, want, fetch, at=lambda node: node.record.created_at, keep=None if keep.empty else matches
            )

        return Source(f"abacus:{pipeline_id}", "abacus", read)

    return [source(pipeline.id, len(pipeline.steps)) for pipeline in pipelines]


# ---------------------------------------------------------------- assembling

Builders = dict[Platform, Callable[[], Awaitable[list[Source]]]]


async def _within(build: Callable[[], Awaitable[list[Source]]], timeout: float) -> list[Source]:
    """``build()`` bounded by ``timeout``, made only once its task runs: a
    task cancelled before it starts leaves no coroutine behind unawaited."""
    return await asyncio.wait_for(build(), timeout)


async def _merged(
    info: Info,
    path: list[Any],
    scope: str,
    spec: ExecutionFilter,
    builders: Builders,
    first: int | None,
    after: str | None,
) -> MergedConnection[Any]:
    """Every wanted platform's sources, merged; a platform whose listing
    fails or takes longer than ``merged_list_timeout`` is an error beside
    the others' data, never a crash or a stall."""
    context = context_of(info)
    limit = _window(context, first)
    timeout = context.settings.merged_list_timeout
    if after:
        decode_positions(after, scope)  # a forged cursor costs no backend call
    if limit == 0:
        return await merged_page([], 0, after, scope=scope, timeout=timeout)
    wanted = [(platform, build) for platform, build in builders.items() if _wants(spec, platform, context)]
    outcomes = await asyncio.gather(*(_within(build, timeout) for _, build in wanted), return_exceptions=True)
    sources: list[Source] = []
    failed: list[PlatformFailed] = []
    for (platform, _), outcome in zip(wanted, outcomes):
        if isinstance(outcome, (BackendError, GatewayError)):
            failed.append(PlatformFailed.of(outcome, platform.value))
        elif isinstance(outcome, asyncio.TimeoutError):
            failed.append(PlatformFailed(platform.value, "BACKEND_UNAVAILABLE", f"{display_name(platform.value)} did not answer in {timeout:g} s"))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            sources.extend(outcome)
    page = await merged_page(sources, limit, after, scope=scope, timeout=timeout, failed=failed)
    context.report(page.errors, path)
    return page


def scope_of(field: str, *filters: Any) -> str:
    """What a cursor is valid for: the list and its filter."""
    return f"{field}:{hashlib.sha256(repr(filters).encode()).hexdigest()[:12]}"


async def executions_page(
    info: Info, path: list[Any], spec: ExecutionFilter, first: int | None, after: str | None
) -> MergedConnection[Execution]:
    context = context_of(info)

    async def zenml_sources() -> list[Source]:
        return [_zenml_source(info, spec, zenml_wire.STEP_RUNS, zenml.ZenMLStepRun)]

    return await _merged(
        info,
        path,
        scope_of("executions", spec),
        spec,
        {
            Platform.ZENML: zenml_sources,
            Platform.DOMINO: lambda: _domino_sources(context, spec),
            Platform.ABACUS: lambda: _abacus_sources(context, spec, runs=False),
        },
        first,
        after,
    )


async def pipeline_runs_page(
    info: Info, path: list[Any], spec: ExecutionFilter, first: int | None, after: str | None
) -> MergedConnection[PipelineRun]:
    context = context_of(info)

    async def zenml_sources() -> list[Source]:
        return [_zenml_source(info, spec, zenml_wire.PIPELINE_RUNS, zenml.ZenMLPipelineRun)]

    builders: Builders = {
        Platform.ZENML: zenml_sources,
        Platform.ABACUS: lambda: _abacus_sources(context, spec, runs=True),
    }
    if spec.platforms and Platform.DOMINO in spec.platforms and len(spec.platforms) == 1:
        raise UserInputError("Domino Data Lab has no pipeline runs: its jobs are in `executions`")
    return await _merged(info, path, scope_of("pipelineRuns", spec), spec, builders, first, after)


def _whole(key: str, platform: str, load: Callable[[], Awaitable[list[Any]]], at: Callable[[Any], datetime | None],
           keep: Callable[[Any], bool] | None = None) -> Source:
    """A source over a list small enough to read whole once (users, tiers,
    a model's versions), newest first: the backends list them oldest first."""
    cache: list[list[Any]] = []

    async def fetch(offset: int, limit: int) -> tuple[list[Any], bool]:
        if not cache:
            items = await load()
            cache.append(sorted(items, key=lambda item: _utc(at(item)) or _EPOCH, reverse=True))
        items = cache[0]
        return items[offset : offset + limit], offset + limit >= len(items)

    async def read(position: int, want: int) -> Batch:
        return await scan(position, want, fetch, at=at, keep=keep)

    return Source(key, platform, read)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@strawberry.input(description="What to keep of a merged list; unset means everything.")
class ListFilter:
    platforms: list[Platform] | None = None
    name_contains: str | None = None


def _named(spec: ListFilter, name: Callable[[Any], str | None]) -> Callable[[Any], bool] | None:
    if not spec.name_contains:
        return None
    folded = spec.name_contains.casefold()
    return lambda item: folded in (name(item) or "").casefold()


def _as_execution_filter(spec: ListFilter) -> ExecutionFilter:
    return ExecutionFilter(platforms=spec.platforms)


async def users_page(info: Info, path: list[Any], spec: ListFilter, first: int | None, after: str | None) -> MergedConnection[User]:
    context = context_of(info)
    keep = _named(spec, lambda user: f"{user.record.name if hasattr(user.record, 'name') else ''} {getattr(user.record, 'user_name', '') or ''} {user.record.email or ''}")

    async def zenml_users() -> list[Any]:
        page = await context.zenml.client.list(zenml_wire.USERS, size=1000, hydrate=True)
        context.zenml.prime(zenml_wire.USERS, page.items)
        return [zenml.ZenMLUser(record=user) for user in page.items]

    async def domino_users() -> list[Any]:
        return [domino.DominoUser(record=user) for user in await context.domino.user_list()]

    async def abacus_users() -> list[Any]:
        return [abacus.AbacusUser(record=user) for user in await context.abacus.client.list_organization_users()]

    def at(user: Any) -> datetime | None:
        return getattr(user.record, "created", None) or getattr(user.record, "created_at", None)

    builders: Builders = {
        Platform.ZENML: _listing("zenml", zenml_users, at, keep),
        Platform.DOMINO: _listing("domino", domino_users, at, keep),
        Platform.ABACUS: _listing("abacus", abacus_users, at, keep),
    }
    return await _merged(info, path, scope_of("users", spec), _as_execution_filter(spec), builders, first, after)


def _listing(platform: str, load: Callable[[], Awaitable[list[Any]]], at: Callable[[Any], datetime | None],
             keep: Callable[[Any], bool] | None) -> Callable[[], Awaitable[list[Source]]]:
    async def build() -> list[Source]:
        return [_whole(platform, platform, load, at, keep)]

    return build


async def hardware_tiers_page(info: Info, path: list[Any], spec: ListFilter, min_gpus: int | None, first: int | None, after: str | None) -> MergedConnection[HardwareTier]:
    """Hardware tier catalogues: Domino's (ZenML and Abacus.AI keep none;
    what their steps asked for is on each step's `resources`)."""
    context = context_of(info)
    name_keep = _named(spec, lambda tier: tier.record.name)

    def keep(tier: Any) -> bool:
        gpus = tier.record.gpu_configuration.number_of_gpus if tier.record.gpu_configuration else 0
        return (min_gpus is None or (gpus or 0) >= min_gpus) and (name_keep is None or name_keep(tier))

    async def tiers() -> list[Any]:
        return [domino.DominoHardwareTier(record=tier) for tier in await context.domino.tier_list() if not tier.flags.is_archived]

    builders: Builders = {Platform.DOMINO: _listing("domino", tiers, lambda tier: tier.record.creation_time, keep)}
    return await _merged(info, path, scope_of("hardwareTiers", spec, min_gpus), _as_execution_filter(spec), builders, first, after)


async def model_versions_page(info: Info, path: list[Any], spec: ListFilter, first: int | None, after: str | None) -> MergedConnection[ModelVersion]:
    """ZenML's model versions and every Domino registered model's versions.
    Abacus.AI lists no models, so its versions are reached through steps."""
    context = context_of(info)
    keep = _named(spec, lambda version: getattr(version.record, "name", None) or getattr(version.record, "model_name", None))

    async def zenml_sources() -> list[Source]:
        client = context.zenml.client

        async def fetch(offset: int, limit: int) -> tuple[list[Any], bool]:
            items, total = await fetch_window(
                Window(offset, limit),
                lambda number, size: client.list(zenml_wire.MODEL_VERSIONS, page=number, size=size, sort_by="desc:created"),
            )
            context.zenml.prime(zenml_wire.MODEL_VERSIONS, items)
            return [zenml.ZenMLModelVersion(record=item) for item in items], offset + len(items) >= total

        async def read(position: int, want: int) -> Batch:
            return await scan(position, want, fetch, at=lambda node: node.record.created, keep=keep)

        return [Source("zenml", "zenml", read)]

    async def domino_sources() -> list[Source]:
        client = context.domino.client
        models: list[Any] = []
        token: str | None = None
        while True:
            page = await client.registered_models(page_token=token, max_results=domino.wire.MAX_PAGE_SIZE)
            models.extend(page.items)
            token = page.metadata.page_token
            if not token or not page.items:
                break
        context.domino.registered_models.prime_many(models)

        def versions_of(name: str) -> Callable[[], Awaitable[list[Any]]]:
            async def load() -> list[Any]:
                page = await client.model_versions(name, limit=domino.wire.MAX_PAGE_SIZE)
                return [domino.DominoModelVersion(record=version) for version in page.items]

            return load

        return [
            _whole(f"domino:{model.name}", "domino", versions_of(model.name), lambda v: v.record.created_at, keep)
            for model in models
        ]

    builders: Builders = {Platform.ZENML: zenml_sources, Platform.DOMINO: domino_sources}
    return await _merged(info, path, scope_of("modelVersions", spec), _as_execution_filter(spec), builders, first, after)


async def datasets_page(info: Info, path: list[Any], spec: ListFilter, first: int | None, after: str | None) -> MergedConnection[Dataset]:
    """Domino's datasets (ZenML has artifacts, not datasets; Abacus.AI lists none)."""
    context = context_of(info)
    keep = _named(spec, lambda dataset: dataset.record.name)

    async def load() -> list[Any]:
        page = await context.domino.client.datasets_v2(limit=domino.wire.MAX_PAGE_SIZE)
        records = [item.dataset for item in page.items]
        context.domino.datasets.prime_many(records)
        return [domino.DominoDataset(record=record) for record in records]

    builders: Builders = {Platform.DOMINO: _listing("domino", load, lambda d: d.record.created_at, keep)}
    return await _merged(info, path, scope_of("datasets", spec), _as_execution_filter(spec), builders, first, after)


@strawberry.type(description="A configured platform: where it is and whether it answered just now.")
class PlatformState:
    platform: Platform
    host: str = strawberry.field(description="The host of its base URL; never a credential or a path.")
    reachable: bool
    code: str | None = strawberry.field(description="Why not, when it did not answer: an error code.")


async def platform_states(info: Info) -> list[PlatformState]:
    context = context_of(info)
    clients: list[tuple[Platform, Any]] = []
    for platform in Platform:
        if context.configured(platform.value):
            clients.append((platform, getattr(context, platform.value).client))

    async def state(platform: Platform, client: Any) -> PlatformState:
        host = client.connection.host
        try:
            await client.ping()
        except BackendError as exc:
            from mlgraph.graph.errors import BACKEND_CODES

            return PlatformState(platform=platform, host=host, reachable=False, code=BACKEND_CODES.get(type(exc), "BACKEND_UNAVAILABLE"))
        return PlatformState(platform=platform, host=host, reachable=True, code=None)

    return list(await asyncio.gather(*(state(platform, client) for platform, client in clients)))


@strawberry.type(description="One person's accounts and executions on every platform, matched by email.")
class Person:
    email: str

    @strawberry.field(description="Their user on each platform that has one with this email (any case).")
    @wants_path
    async def accounts(self, info: Info) -> list[User]:
        context = context_of(info)
        path = response_path(info)
        folded = self.email.casefold()
        found: list[Any] = []

        async def zenml_accounts() -> list[Any]:
            page = await context.zenml.client.list(zenml_wire.USERS, size=1000, hydrate=True)
            return [zenml.ZenMLUser(record=u) for u in page.items if (u.email or "").casefold() == folded]

        async def domino_accounts() -> list[Any]:
            return [domino.DominoUser(record=u) for u in await context.domino.user_list() if (u.email or "").casefold() == folded]

        async def abacus_accounts() -> list[Any]:
            user = await context.abacus.user_by_email(self.email)
            return [abacus.AbacusUser(record=user)] if user is not None else []

        lookups = [
            (platform, look)
            for platform, look in ((Platform.ZENML, zenml_accounts), (Platform.DOMINO, domino_accounts), (Platform.ABACUS, abacus_accounts))
            if context.configured(platform.value)
        ]
        outcomes = await asyncio.gather(*(look() for _, look in lookups), return_exceptions=True)
        failed: list[PlatformFailed] = []
        for (platform, _), outcome in zip(lookups, outcomes):
            if isinstance(outcome, (BackendError, GatewayError)):
                failed.append(PlatformFailed.of(outcome, platform.value))
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                found.extend(outcome)
        context.report(failed, path)
        return found

    @strawberry.field(description="Their executions on every platform, newest first.")
    @wants_path
    async def executions(
        self, info: Info, first: int | None = None, after: str | None = None, filter: ExecutionFilter | None = None
    ) -> MergedConnection[Execution]:
        spec = filter or ExecutionFilter()
        spec = ExecutionFilter(
            platforms=spec.platforms, statuses=spec.statuses, started_after=spec.started_after,
            started_before=spec.started_before, name_contains=spec.name_contains, user_email=self.email,
        )
        return await executions_page(info, response_path(info), spec, first, after)


@strawberry.type
class UnifiedQuery:
    @strawberry.field(description="Executions on every configured platform, newest first (by creation).")
    @wants_path
    async def executions(
        self, info: Info, first: int | None = None, after: str | None = None, filter: ExecutionFilter | None = None
    ) -> MergedConnection[Execution]:
        return await executions_page(info, response_path(info), filter or ExecutionFilter(), first, after)

    @strawberry.field(description="Pipeline runs (ZenML runs, Abacus.AI pipeline versions), newest first.")
    @wants_path
    async def pipeline_runs(
        self, info: Info, first: int | None = None, after: str | None = None, filter: ExecutionFilter | None = None
    ) -> MergedConnection[PipelineRun]:
        return await pipeline_runs_page(info, response_path(info), filter or ExecutionFilter(), first, after)

    @strawberry.field(description="Model versions (ZenML, Domino), newest first.")
    @wants_path
    async def model_versions(
        self, info: Info, first: int | None = None, after: str | None = None, filter: ListFilter | None = None
    ) -> MergedConnection[ModelVersion]:
        return await model_versions_page(info, response_path(info), filter or ListFilter(), first, after)

    @strawberry.field(description="Datasets (Domino), newest first.")
    @wants_path
    async def datasets(
        self, info: Info, first: int | None = None, after: str | None = None, filter: ListFilter | None = None
    ) -> MergedConnection[Dataset]:
        return await datasets_page(info, response_path(info), filter or ListFilter(), first, after)

    @strawberry.field(description="Hardware tiers (Domino's catalogue), newest first; `minGpus` keeps GPU tiers.")
    @wants_path
    async def hardware_tiers(
        self, info: Info, first: int | None = None, after: str | None = None, filter: ListFilter | None = None,
        min_gpus: int | None = None,
    ) -> MergedConnection[HardwareTier]:
        return await hardware_tiers_page(info, response_path(info), filter or ListFilter(), min_gpus, first, after)

    @strawberry.field(description="Users on every configured platform, newest first.")
    @wants_path
    async def users(
        self, info: Info, first: int | None = None, after: str | None = None, filter: ListFilter | None = None
    ) -> MergedConnection[User]:
        return await users_page(info, response_path(info), filter or ListFilter(), first, after)

    @strawberry.field(description="The configured platforms, their hosts and whether they answer.")
    async def platforms(self, info: Info) -> list[PlatformState]:
        return await platform_states(info)

    @strawberry.field(description="One person across platforms, by email (any case).")
    def person(self, email: str) -> Person:
        if "@" not in email or len(email) > 320:
            raise UserInputError(f"'{email[:80]}' is not an email address")
        return Person(email=email)
