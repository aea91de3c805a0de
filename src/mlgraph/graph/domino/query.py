"""Domino Data Lab's root fields, under ``domino { … }``: a list and a get per entity.

Gets take a global id or Domino's own id (a model by its name, a version by
model name and number); lists are connections over Domino's paging.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.types import Info

from mlgraph.backends import domino as wire
from mlgraph.graph.connection import Connection, connection
from mlgraph.graph.domino.loaders import DominoLoaders
from mlgraph.graph.domino.types import (
    DominoDataset,
    DominoDatasetSnapshot,
    DominoEnvironment,
    DominoHardwareTier,
    DominoJob,
    DominoJobSort,
    DominoJobStatusCategory,
    DominoModelVersion,
    DominoNode,
    DominoProject,
    DominoRegisteredModel,
    DominoTag,
    DominoUser,
    datasets_page,
    domino_id,
    jobs_page,
    loaders,
    not_found,
    page_limit,
    registered_models_page,
    snapshots_page,
    window,
)
from mlgraph.graph.errors import UserInputError
from mlgraph.graph.interfaces import ExecutionStatus
from mlgraph.graph.ids import native_id
from mlgraph.graph.lookahead import selected
from mlgraph.graph.plan import wants_selection

#: The loader and message label of each type a global id can name.
_GETTERS: dict[type[DominoNode], tuple[Callable[[DominoLoaders], Any], str]] = {
    DominoJob: (lambda l: l.jobs, "job"),
    DominoProject: (lambda l: l.projects, "project"),
    DominoUser: (lambda l: l.users, "user"),
    DominoHardwareTier: (lambda l: l.hardware_tiers, "hardware tier"),
    DominoDataset: (lambda l: l.datasets, "dataset"),
    DominoDatasetSnapshot: (lambda l: l.snapshots, "snapshot"),
    DominoEnvironment: (lambda l: l.environments, "environment"),
    DominoRegisteredModel: (lambda l: l.registered_models, "registered model"),
    DominoModelVersion: (lambda l: l.model_versions, "registered model version"),
}


def _native(value: str, wrap: type[DominoNode]) -> str:
    """The key a loader takes: checked before it can reach a URL."""
    if wrap is DominoRegisteredModel:
        return model_name(native_id(value, wrap.__name__))
    if wrap is DominoModelVersion:
        name, _, number = native_id(value, wrap.__name__).rpartition("/")
        return wire.model_version_key(model_name(name), version_number(number))
    return domino_id(value, wrap.__name__)


def model_name(value: str) -> str:
    """A model name fit for one path segment; ``.`` and ``..`` would name another route."""
    if not value.strip() or len(value) > 256 or value.strip() in (".", ".."):
        raise UserInputError(f"'{value[:80]}' is not a registered model name")
    return value


def version_number(value: str | int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise UserInputError(f"'{str(value)[:20]}' is not a model version number") from None
    if number < 1:
        raise UserInputError("model version numbers start at 1")
    return number


async def get(info: Info, wrap: type[DominoNode], value: str) -> DominoNode:
    """One object by global id or Domino id; a missing one is NOT_FOUND."""
    if wrap is DominoTag:
        return await get_tag(info, value)
    loader_of, label = _GETTERS[wrap]
    key = _native(value, wrap)
    record = await loader_of(loaders(info)).get(key)
    if record is None:
        raise not_found(label, key)
    return wrap(record=record)


async def get_tag(info: Info, value: str) -> DominoTag:
    """A tag through the job its id names: Domino has no get for tags."""
    job_part, _, tag_part = native_id(value, "DominoTag").partition("/")
    job_id, tag_id = domino_id(job_part, "DominoJob"), domino_id(tag_part, "DominoTag")
    job = await loaders(info).jobs.get(job_id)
    tag = next((tag for tag in (job.tags or []) if tag.id == tag_id), None) if job is not None else None
    if tag is None:
        raise not_found("tag", tag_id)
    return DominoTag(record=tag, job_id=job_id)


def getter(wrap: type[DominoNode], label: str) -> Any:
    async def resolve(info: Info, id: strawberry.ID) -> Any:
        return await get(info, wrap, id)

    resolve.__annotations__ = {"info": Info, "id": strawberry.ID, "return": wrap | None}
    return strawberry.field(resolver=resolve, description=f"One {label} by global id or Domino id.")


def _project(value: strawberry.ID | None) -> str | None:
    return domino_id(value, "DominoProject") if value is not None else None


def job_lookups(info: Info, project_id: str) -> list[Awaitable[Any]]:
    """What a project's jobs' user, hardware tier and project will ask for:
    Domino lists users and tiers whole, and the project is the one the query
    named, so none of it waits for a job."""
    known = loaders(info)
    lookups: list[Awaitable[Any]] = []
    for jobs in (("nodes",), ("edges", "node")):
        if selected(info, *jobs, "user") is not None:
            lookups.append(known.user_list())
        if selected(info, *jobs, "hardwareTier") is not None or selected(info, *jobs, "resources") is not None:
            lookups.append(known.tier_list())
        if selected(info, *jobs, "project") is not None:
            lookups.append(known.projects.get(project_id))
    return lookups


@strawberry.type(description="Domino Data Lab's jobs, hardware tiers, datasets, models, projects and users.")
class DominoQuery:
    @strawberry.field(description="A project's jobs (Domino lists jobs per project).")
    @wants_selection
    async def jobs(
        self,
        info: Info,
        project: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        status: ExecutionStatus | None = None,
        status_category: DominoJobStatusCategory | None = None,
        tag: str | None = None,
        sort_by: DominoJobSort | None = None,
        ascending: bool | None = None,
        show_archived: bool | None = None,
    ) -> Connection[DominoJob] | None:
        project_id = domino_id(project, "DominoProject")
        # The jobs' look-ups go out beside the list, and the list waits for
        # them: whether a filter leaves any job is known only once it answers,
        # so both executors make them alike (their failures are the fields').
        # A window of no jobs asks nothing of them.
        lookups = asyncio.gather(*job_lookups(info, project_id) if first != 0 else (), return_exceptions=True)
        try:
            return await jobs_page(
                info, project_id, first, after, status=status, status_category=status_category, tag=tag,
                sort_by=sort_by, ascending=ascending, show_archived=show_archived,
            )
        finally:
            await lookups

    job = getter(DominoJob, "job")

    @strawberry.field
    async def hardware_tiers(
        self, info: Info, first: int | None = None, after: str | None = None, include_archived: bool = False
    ) -> Connection[DominoHardwareTier] | None:
        win = window(info, first, after)
        page = await loaders(info).client.hardware_tiers(
            offset=win.offset, limit=page_limit(win), include_archived=include_archived
        )
        loaders(info).hardware_tiers.prime_many(page.items)
        return connection([DominoHardwareTier(record=t) for t in page.items[: win.limit]], win, page.total)

    hardware_tier = getter(DominoHardwareTier, "hardware tier")

    @strawberry.field(description="Datasets the gateway's user can see, optionally one project's.")
    async def datasets(
        self, info: Info, first: int | None = None, after: str | None = None, project: strawberry.ID | None = None
    ) -> Connection[DominoDataset] | None:
        return await datasets_page(info, first, after, project_id=_project(project))

    dataset = getter(DominoDataset, "dataset")

    @strawberry.field
    async def snapshots(
        self, info: Info, dataset: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> Connection[DominoDatasetSnapshot] | None:
        return await snapshots_page(info, domino_id(dataset, "DominoDataset"), first, after)

    snapshot = getter(DominoDatasetSnapshot, "dataset snapshot")

    @strawberry.field(description="Registered models; `search` matches names and tags as Domino does.")
    async def registered_models(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        project: strawberry.ID | None = None,
        search: str | None = None,
    ) -> Connection[DominoRegisteredModel] | None:
        return await registered_models_page(info, first, after, project_id=_project(project), search=search)

    @strawberry.field(description="A registered model by its name (or global id).")
    async def registered_model(self, info: Info, name: str) -> DominoRegisteredModel | None:
        return await get(info, DominoRegisteredModel, name)  # type: ignore[return-value]

    @strawberry.field(description="A registered model's version by model name and number.")
    async def model_version(self, info: Info, model: str, version: int) -> DominoModelVersion | None:
        key = wire.model_version_key(model_name(model), version_number(version))
        return await get(info, DominoModelVersion, key)  # type: ignore[return-value]

    @strawberry.field
    async def projects(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[DominoProject] | None:
        win = window(info, first, after)
        page = await loaders(info).client.projects(offset=win.offset, limit=page_limit(win))
        loaders(info).projects.prime_many(page.items)
        return connection([DominoProject(record=p) for p in page.items[: win.limit]], win, page.total)

    project = getter(DominoProject, "project")

    @strawberry.field
    async def users(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[DominoUser] | None:
        win = window(info, first, after)
        page = await loaders(info).client.users(offset=win.offset, limit=page_limit(win))
        loaders(info).users.prime_many(page.items)
        return connection([DominoUser(record=u) for u in page.items[: win.limit]], win, page.total)

    user = getter(DominoUser, "user")

    @strawberry.field(description="The Domino user the gateway's credential belongs to.")
    async def me(self, info: Info) -> DominoUser:
        return DominoUser(record=await loaders(info).client.self_user())

    environment = getter(DominoEnvironment, "environment")


NODE_GETTERS: dict[str, Callable[[Info, str], Awaitable[DominoNode]]] = {
    wrap.__name__: (lambda wrap: lambda info, native: get(info, wrap, native))(wrap) for wrap in (*_GETTERS, DominoTag)
}
