"""Abacus.AI's root fields, under ``abacus { … }``: lists and a get per entity.

Gets take a global id or Abacus.AI's own id. Abacus.AI lists page by "start
after this id", so a window is read from the list's start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.types import Info

from mlgraph.graph.abacus.loaders import AbacusLoaders
from mlgraph.graph.abacus.types import (
    AbacusBatchPrediction,
    AbacusDataset,
    AbacusDatasetVersion,
    AbacusDeployment,
    AbacusFeatureGroupVersion,
    AbacusModel,
    AbacusModelVersion,
    AbacusNode,
    AbacusPipeline,
    AbacusPipelineStep,
    AbacusPipelineStepVersion,
    AbacusPipelineVersion,
    AbacusProject,
    AbacusUser,
    abacus_id,
    head_page,
    loaders,
    not_found,
    pipelines_page,
    versions_page,
)
from mlgraph.graph.connection import Connection

#: The loader and message label of each type a global id can name.
_GETTERS: dict[type[AbacusNode], tuple[Callable[[AbacusLoaders], Any], str]] = {
    AbacusPipeline: (lambda l: l.pipelines, "pipeline"),
    AbacusPipelineVersion: (lambda l: l.pipeline_versions, "pipeline version"),
    AbacusPipelineStep: (lambda l: l.steps, "pipeline step"),
    AbacusPipelineStepVersion: (lambda l: l.step_versions, "pipeline step version"),
    AbacusDataset: (lambda l: l.datasets, "dataset"),
    AbacusDatasetVersion: (lambda l: l.dataset_versions, "dataset version"),
    AbacusModel: (lambda l: l.models, "model"),
    AbacusModelVersion: (lambda l: l.model_versions, "model version"),
    AbacusDeployment: (lambda l: l.deployments, "deployment"),
    AbacusFeatureGroupVersion: (lambda l: l.feature_group_versions, "feature group version"),
    AbacusBatchPrediction: (lambda l: l.batch_predictions, "batch prediction"),
    AbacusProject: (lambda l: l.projects, "project"),
}


async def get(info: Info, wrap: type[AbacusNode], value: str) -> AbacusNode:
    """One object by global id or Abacus.AI id; a missing one is NOT_FOUND."""
    if wrap is AbacusUser:
        return await get_user(info, value)
    loader_of, label = _GETTERS[wrap]
    key = abacus_id(value, wrap.__name__)
    record = await loader_of(loaders(info)).get(key)
    if record is None:
        raise not_found(label, key)
    return wrap(record=record)


async def get_user(info: Info, value: str) -> AbacusUser:
    """A user by id: the key's own user, else from the organization's users."""
    key = abacus_id(value, "AbacusUser")
    me = await loaders(info).me()
    if me.id == key:
        return AbacusUser(record=me)
    users = await loaders(info).client.list_organization_users()
    record = next((user for user in users if user.id == key), None)
    if record is None:
        raise not_found("user", key)
    return AbacusUser(record=record)


def getter(wrap: type[AbacusNode], label: str) -> Any:
    async def resolve(info: Info, id: strawberry.ID) -> Any:
        return await get(info, wrap, id)

    resolve.__annotations__ = {"info": Info, "id": strawberry.ID, "return": wrap | None}
    return strawberry.field(resolver=resolve, description=f"One {label} by global id or Abacus.AI id.")


@strawberry.type(description="Abacus.AI's pipelines, their versions and steps, and what the steps made.")
class AbacusQuery:
    @strawberry.field(description="Pipelines of the organization, or of one project.")
    async def pipelines(
        self, info: Info, project: strawberry.ID | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[AbacusPipeline] | None:
        project_id = abacus_id(project, "AbacusProject") if project is not None else None
        return await pipelines_page(info, project_id, first, after)

    pipeline = getter(AbacusPipeline, "pipeline")

    @strawberry.field(description="A pipeline's versions, newest first.")
    async def pipeline_versions(
        self, info: Info, pipeline: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> Connection[AbacusPipelineVersion] | None:
        return await versions_page(info, abacus_id(pipeline, "AbacusPipeline"), first, after)

    pipeline_version = getter(AbacusPipelineVersion, "pipeline version")
    pipeline_step = getter(AbacusPipelineStep, "pipeline step")
    pipeline_step_version = getter(AbacusPipelineStepVersion, "pipeline step version")
    dataset = getter(AbacusDataset, "dataset")
    dataset_version = getter(AbacusDatasetVersion, "dataset version")
    model = getter(AbacusModel, "model")
    model_version = getter(AbacusModelVersion, "model version")
    deployment = getter(AbacusDeployment, "deployment")
    feature_group_version = getter(AbacusFeatureGroupVersion, "feature group version")
    batch_prediction = getter(AbacusBatchPrediction, "batch prediction")

    @strawberry.field
    async def projects(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[AbacusProject] | None:
        return await head_page(
            info,
            first,
            after,
            lambda limit: loaders(info).client.list_projects(limit=limit),
            loaders(info).projects.prime_many,
            lambda record: AbacusProject(record=record),
        )

    project = getter(AbacusProject, "project")

    @strawberry.field(description="The Abacus.AI user the gateway's API key belongs to.")
    async def me(self, info: Info) -> AbacusUser:
        return AbacusUser(record=await loaders(info).me())


NODE_GETTERS: dict[str, Callable[[Info, str], Awaitable[AbacusNode]]] = {
    wrap.__name__: (lambda wrap: lambda info, native: get(info, wrap, native))(wrap) for wrap in (*_GETTERS, AbacusUser)
}
