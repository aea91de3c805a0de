"""ZenML's root fields, under ``zenml { … }``: a list and a get per entity.

Lists are connections over ZenML's own paging and filters, newest first; gets
take a global id or the ZenML UUID.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.types import Info

from mlgraph.backends import zenml as wire
from mlgraph.graph.connection import Connection
from mlgraph.graph.interfaces import ExecutionStatus
from mlgraph.graph.lookahead import selected_names
from mlgraph.graph.plan import wants_selection
from mlgraph.graph.zenml.types import (
    NODE_TYPES,
    ZenMLArtifact,
    ZenMLArtifactVersion,
    ZenMLModel,
    ZenMLModelVersion,
    ZenMLNode,
    ZenMLPipeline,
    ZenMLPipelineRun,
    ZenMLProject,
    ZenMLService,
    ZenMLStepRun,
    ZenMLTag,
    ZenMLUser,
    load,
    page_of,
    snapshot_step,
    status_filter,
    zenml_id,
)


def _filters(**values: str | None) -> dict[str, str]:
    """Backend filters for the arguments a client gave; ``name`` matches a substring."""
    filters = {key: value for key, value in values.items() if value is not None}
    if "name" in filters:
        filters["name"] = f"contains:{filters['name']}"
    return filters


async def get(info: Info, wrap: type[ZenMLNode], record_id: str) -> ZenMLNode:
    """One object by global id or UUID, hydrated: one object's metadata costs
    little and saves a second call for any field that needs it. Anything
    but a UUID never reaches ZenML, whose 422 would fail the whole batch."""
    return wrap(record=await load(info, wrap.resource, zenml_id(record_id, wrap.__name__), hydrated=True))


#: What an object answers from its id alone.
FROM_ID = frozenset({"id", "nativeId", "platform", "__typename"})


def getter(wrap: type[ZenMLNode]) -> Any:
    """A root field fetching one ``wrap`` by global id or ZenML UUID; the
    calls its selected children need that the id alone forms start beside it."""

    @wants_selection
    async def resolve(info: Info, id: strawberry.ID) -> Any:
        record_id = zenml_id(id, wrap.__name__)
        wrap.start_children(info, record_id)
        asked = selected_names(info) - FROM_ID
        if asked and asked <= wrap.checked_by_children:
            # Nothing asked needs the record, and what is asked fails for a
            # missing one: a client paging a run's steps pays for its pages,
            # not for the run again on each. Partial: it holds nothing else.
            return wrap(record=wrap.resource.model.model_construct(id=record_id), partial=True)
        return await get(info, wrap, id)

    # Real types, not the strings this module's postponed annotations would give.
    resolve.__annotations__ = {"info": Info, "id": strawberry.ID, "return": wrap | None}
    return strawberry.field(resolver=resolve, description=f"One {wrap.resource.label} by global id or ZenML UUID.")


def _id(value: strawberry.ID | None, type_name: str) -> str | None:
    return zenml_id(value, type_name) if value is not None else None


@strawberry.type(description="ZenML's step runs, pipelines, artifacts, models and services.")
class ZenMLQuery:
    @strawberry.field
    @wants_selection
    async def step_runs(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        name: str | None = None,
        status: ExecutionStatus | None = None,
        pipeline_run: strawberry.ID | None = None,
    ) -> Connection[ZenMLStepRun] | None:
        filters = _filters(name=name, status=status_filter({status}) if status else None, pipeline_run_id=_id(pipeline_run, "ZenMLPipelineRun"))
        return await page_of(info, wire.STEP_RUNS, ZenMLStepRun, first, after, filters=filters)

    step_run = getter(ZenMLStepRun)

    @strawberry.field
    @wants_selection
    async def pipeline_runs(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        name: str | None = None,
        status: ExecutionStatus | None = None,
        pipeline: strawberry.ID | None = None,
    ) -> Connection[ZenMLPipelineRun] | None:
        filters = _filters(name=name, status=status_filter({status}) if status else None, pipeline_id=_id(pipeline, "ZenMLPipeline"))
        return await page_of(info, wire.PIPELINE_RUNS, ZenMLPipelineRun, first, after, filters=filters)

    pipeline_run = getter(ZenMLPipelineRun)

    @strawberry.field
    async def pipelines(
        self, info: Info, first: int | None = None, after: str | None = None, name: str | None = None
    ) -> Connection[ZenMLPipeline] | None:
        return await page_of(info, wire.PIPELINES, ZenMLPipeline, first, after, filters=_filters(name=name))

    pipeline = getter(ZenMLPipeline)

    @strawberry.field
    async def artifacts(
        self, info: Info, first: int | None = None, after: str | None = None, name: str | None = None
    ) -> Connection[ZenMLArtifact] | None:
        return await page_of(info, wire.ARTIFACTS, ZenMLArtifact, first, after, filters=_filters(name=name))

    artifact = getter(ZenMLArtifact)

    @strawberry.field
    @wants_selection
    async def artifact_versions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        artifact: strawberry.ID | None = None,
    ) -> Connection[ZenMLArtifactVersion] | None:
        filters = _filters(artifact_id=_id(artifact, "ZenMLArtifact"))
        return await page_of(info, wire.ARTIFACT_VERSIONS, ZenMLArtifactVersion, first, after, filters=filters)

    artifact_version = getter(ZenMLArtifactVersion)

    @strawberry.field
    @wants_selection
    async def models(
        self, info: Info, first: int | None = None, after: str | None = None, name: str | None = None
    ) -> Connection[ZenMLModel] | None:
        return await page_of(info, wire.MODELS, ZenMLModel, first, after, filters=_filters(name=name))

    model = getter(ZenMLModel)

    @strawberry.field
    @wants_selection
    async def model_versions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        model: strawberry.ID | None = None,
    ) -> Connection[ZenMLModelVersion] | None:
        filters = _filters(model_id=_id(model, "ZenMLModel"))
        return await page_of(info, wire.MODEL_VERSIONS, ZenMLModelVersion, first, after, filters=filters)

    model_version = getter(ZenMLModelVersion)

    @strawberry.field(description="Users; ZenML lists no service accounts here, but fetches them by id.")
    async def users(
        self, info: Info, first: int | None = None, after: str | None = None, name: str | None = None
    ) -> Connection[ZenMLUser] | None:
        return await page_of(info, wire.USERS, ZenMLUser, first, after, filters=_filters(name=name))

    user = getter(ZenMLUser)

    @strawberry.field
    async def projects(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ZenMLProject] | None:
        return await page_of(info, wire.PROJECTS, ZenMLProject, first, after)

    project = getter(ZenMLProject)

    @strawberry.field
    async def tags(
        self, info: Info, first: int | None = None, after: str | None = None, name: str | None = None
    ) -> Connection[ZenMLTag] | None:
        return await page_of(info, wire.TAGS, ZenMLTag, first, after, filters=_filters(name=name))

    tag = getter(ZenMLTag)

    @strawberry.field
    @wants_selection
    async def services(
        self, info: Info, first: int | None = None, after: str | None = None, name: str | None = None
    ) -> Connection[ZenMLService] | None:
        return await page_of(info, wire.SERVICES, ZenMLService, first, after, filters=_filters(name=name))

    service = getter(ZenMLService)


NODE_GETTERS: dict[str, Callable[[Info, str], Awaitable[Any]]] = {
    **{name: (lambda wrap: lambda info, native: get(info, wrap, native))(wrap) for name, wrap in NODE_TYPES.items()},
    "ZenMLSnapshotStep": snapshot_step,
}
