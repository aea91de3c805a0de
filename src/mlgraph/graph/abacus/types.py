"""Abacus.AI's concrete graph types, each beside its resolvers.

A pipeline version's describe carries its step versions whole, each with the
references to what it made (dataset, model and feature group versions,
deployments, batch predictions). A reference names its object by id only:
the object is described, through its loader, when a query selects it, once
per distinct id per request.
"""

from __future__ import annotations

import re
from datetime import datetime
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from mlgraph.backends import abacus as wire
from mlgraph.backends.errors import NotFound
from mlgraph.graph.abacus.loaders import AbacusLoaders
from mlgraph.graph.connection import Connection, Window, connection
from mlgraph.graph.context import context_of
from mlgraph.graph.errors import UserInputError
from mlgraph.graph.failure import ExecutionFailure
from mlgraph.graph.fields import record_attr
from mlgraph.graph.ids import global_id, native_id
from mlgraph.graph.interfaces import (
    ArtifactVersion,
    Dataset,
    Execution,
    ExecutionDependency,
    ExecutionStatus,
    HardwareTier,
    Model,
    ModelVersion,
    Node,
    PipelineRun,
    Platform,
    Project,
    User,
)

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def abacus_id(value: str, type_name: str) -> str:
    """The Abacus.AI id inside a global id of ``type_name``, or given bare;
    anything else never reaches a query string."""
    native = native_id(value, type_name)
    if not _ID.match(native):
        raise UserInputError(f"'{native[:80]}' is not an Abacus.AI id")
    return native


def loaders(info: Info) -> AbacusLoaders:
    return context_of(info).abacus


def window(info: Info, first: int | None, after: str | None) -> Window:
    settings = context_of(info).settings
    return Window.from_args(first, after, settings.default_page_size, min(settings.max_page_size, wire.MAX_PAGE_SIZE))


def not_found(label: str, key: str) -> NotFound:
    return NotFound(wire.PLATFORM, f"abacus {label} {key} not found", 404)


async def head_page(
    info: Info,
    first: int | None,
    after: str | None,
    fetch: Callable[[int], Awaitable[list[Any]]],
    prime: Callable[[list[Any]], None],
    wrap: Callable[[Any], Any],
) -> Connection[Any]:
    """A connection over a list Abacus.AI pages by "start after this id", not
    by offset: read from the start, one call, as deep as the window and one
    more item, which tells whether more follow (the total is known only when
    the read reached the end)."""
    win = window(info, first, after)
    limit = win.offset + win.limit + 1
    if limit > wire.MAX_PAGE_SIZE:
        raise UserInputError(f"Abacus.AI lists reach {wire.MAX_PAGE_SIZE - 1} items deep at most")
    records = await fetch(limit)
    prime(records)
    more = len(records) >= limit
    items = records[win.offset : win.offset + win.limit]
    return connection([wrap(record) for record in items], win, None if more else len(records))


#: Abacus.AI's pipeline and step version statuses, mapped to the unified one.
STATUS_MAP: dict[str, ExecutionStatus] = {
    "pending": ExecutionStatus.QUEUED,
    "running": ExecutionStatus.RUNNING,
    "complete": ExecutionStatus.SUCCEEDED,
    "completed": ExecutionStatus.SUCCEEDED,
    "failed": ExecutionStatus.FAILED,
    "skipped": ExecutionStatus.SKIPPED,
    "cancelled": ExecutionStatus.STOPPED,
}


def execution_status(native: str | None) -> ExecutionStatus:
    return STATUS_MAP.get((native or "").casefold(), ExecutionStatus.UNKNOWN)


@strawberry.interface(description="Any Abacus.AI object.")
class AbacusNode(Node):
    record: strawberry.Private[Any]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id(type(self).__name__, self.record.id))

    native_id = record_attr("id", str, description="The platform's own id.")

    @strawberry.field
    def platform(self) -> Platform:
        return Platform.ABACUS


@strawberry.type(description="Where a pipeline's or step's code comes from.")
class AbacusCodeSource:
    source_type: str | None
    source_code: str | None
    status: str | None
    error: str | None
    package_requirements: JSON | None
    module_dependencies: JSON | None

    @classmethod
    def of(cls, source: wire.AbacusCodeSource | None) -> AbacusCodeSource | None:
        if source is None:
            return None
        return cls(
            source_type=source.source_type,
            source_code=source.source_code,
            status=source.status,
            error=source.error,
            package_requirements=source.package_requirements,
            module_dependencies=source.module_dependencies,
        )


@strawberry.type(description="A pipeline variable: its type, value and where the value comes from.")
class AbacusVariableMapping:
    name: str | None
    variable_type: str | None
    value: JSON | None
    pipeline_variable: str | None
    is_required: bool | None


def mappings(arguments: list[wire.AbacusFunctionArgument]) -> list[AbacusVariableMapping]:
    return [
        AbacusVariableMapping(
            name=a.name, variable_type=a.variable_type, value=a.value, pipeline_variable=a.pipeline_variable,
            is_required=a.is_required,
        )
        for a in arguments
    ]


@strawberry.type
class AbacusUser(AbacusNode, User):
    record: strawberry.Private[wire.AbacusUser]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or self.record.email or ""

    full_name = record_attr("name", str | None)
    email = record_attr("email", str | None)

    @strawberry.field(description="Abacus.AI does not say.")
    def is_service_account(self) -> bool | None:
        return None

    status = record_attr("status", str | None, description="ACTIVE, INVITED …")
    created_at = record_attr("created_at", datetime | None)


async def user_by_email(info: Info, email: str | None) -> AbacusUser | None:
    if not email:
        return None
    record = await loaders(info).user_by_email(email)
    return AbacusUser(record=record) if record is not None else None


@strawberry.type
class AbacusProject(AbacusNode, Project):
    record: strawberry.Private[wire.AbacusProject]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    @strawberry.field(description="Abacus.AI projects have a use case, not a description.")
    def description(self) -> str | None:
        return None

    use_case = record_attr("use_case", str | None)
    problem_type = record_attr("problem_type", str | None)
    created_at = record_attr("created_at", datetime | None)
    tags = record_attr("tags", list[str])

    @strawberry.field(description="The project's pipelines (one call, as Abacus.AI lists them).")
    async def pipelines(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[AbacusPipeline] | None:
        return await pipelines_page(info, self.record.id, first, after)


async def pipelines_page(
    info: Info, project_id: str | None, first: int | None, after: str | None
) -> Connection[AbacusPipeline]:
    """Abacus.AI lists pipelines whole, in one call: the window is cut from it."""
    win = window(info, first, after)
    records = await loaders(info).list_pipelines(project_id)
    items = records[win.offset : win.offset + win.limit]
    return connection([AbacusPipeline(record=record, project_id=project_id) for record in items], win, len(records))


@strawberry.type(description="What an Abacus.AI step asked for: a CPU size, memory in GB and a timeout.")
class AbacusStepResources(HardwareTier):
    name: str | None = strawberry.field(description="The CPU size: SMALL, MEDIUM, LARGE …")
    cpu_cores: float | None = strawberry.field(description="Abacus.AI names a size, not cores.")
    memory_gib: float | None
    gpu_count: int | None
    gpu_type: str | None
    timeout_minutes: int | None

    @classmethod
    def of(cls, record: wire.AbacusStepVersion | wire.AbacusPipelineStep) -> AbacusStepResources | None:
        if record.cpu_size is None and record.memory is None and record.timeout is None:
            return None
        return cls(
            name=record.cpu_size, cpu_cores=None, memory_gib=record.memory, gpu_count=None, gpu_type=None,
            timeout_minutes=record.timeout,
        )


@strawberry.type(description="A step of an Abacus.AI pipeline, as defined (its runs are step versions).")
class AbacusPipelineStep(AbacusNode):
    record: strawberry.Private[wire.AbacusPipelineStep]

    @strawberry.field
    def name(self) -> str:
        return self.record.step_name or ""

    step_dependencies = record_attr("step_dependencies", list[str], description="Names of the steps it waits for.")

    @strawberry.field
    def resources(self) -> AbacusStepResources | None:
        return AbacusStepResources.of(self.record)

    python_function_id = record_attr("python_function_id", str | None)

    @strawberry.field
    def code_source(self) -> AbacusCodeSource | None:
        return AbacusCodeSource.of(self.record.code_source)

    created_at = record_attr("created_at", datetime | None)

    @strawberry.field
    async def pipeline(self, info: Info) -> AbacusPipeline | None:
        return await pipeline_of(info, self.record.pipeline_id)


async def pipeline_of(info: Info, pipeline_id: str | None) -> AbacusPipeline | None:
    if pipeline_id is None:
        return None
    record = await loaders(info).pipelines.get(pipeline_id)
    return AbacusPipeline(record=record) if record is not None else None


@strawberry.type(description="An Abacus.AI pipeline: steps run together, version by version.")
class AbacusPipeline(AbacusNode):
    record: strawberry.Private[wire.AbacusPipeline]
    #: The project it was listed under: the record does not name it.
    project_id: strawberry.Private[str | None] = None

    @strawberry.field
    def name(self) -> str:
        return self.record.pipeline_name or ""

    created_at = record_attr("created_at", datetime | None)
    cron = record_attr("cron", str | None)
    next_run_time = record_attr("next_run_time", datetime | None)
    is_prod = record_attr("is_prod", bool | None)
    warning = record_attr("warning", str | None)
    created_by = record_attr("created_by", str | None, description="The email of who created it, as Abacus.AI records it.")

    @strawberry.field(description="Who created it, from the organization's users.")
    async def creator(self, info: Info) -> AbacusUser | None:
        return await user_by_email(info, self.record.created_by)

    @strawberry.field
    def steps(self) -> list[AbacusPipelineStep]:
        return [AbacusPipelineStep(record=step) for step in self.record.steps]

    @strawberry.field
    def code_source(self) -> AbacusCodeSource | None:
        return AbacusCodeSource.of(self.record.code_source)

    @strawberry.field
    def variable_mappings(self) -> list[AbacusVariableMapping]:
        return mappings(self.record.pipeline_variable_mappings)

    @strawberry.field(description="The project it was reached through, if any: Abacus.AI's record does not say.")
    async def project(self, info: Info) -> AbacusProject | None:
        return await project_of(info, self.project_id)

    @strawberry.field
    def latest_version(self) -> AbacusPipelineVersion | None:
        version = self.record.latest_pipeline_version
        return AbacusPipelineVersion(record=version) if version is not None else None

    @strawberry.field(description="Its versions, newest first.")
    async def versions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[AbacusPipelineVersion] | None:
        return await versions_page(info, self.record.id, first, after)


async def versions_page(
    info: Info, pipeline_id: str, first: int | None, after: str | None
) -> Connection[AbacusPipelineVersion]:
    return await head_page(
        info,
        first,
        after,
        lambda limit: loaders(info).client.list_pipeline_versions(pipeline_id, limit),
        loaders(info).prime_versions,
        lambda record: AbacusPipelineVersion(record=record),
    )


async def project_of(info: Info, project_id: str | None) -> AbacusProject | None:
    if project_id is None:
        return None
    record = await loaders(info).projects.get(project_id)
    return AbacusProject(record=record) if record is not None else None


@strawberry.type(description="One run of an Abacus.AI pipeline: its step versions and their DAG.")
class AbacusPipelineVersion(AbacusNode, PipelineRun):
    record: strawberry.Private[wire.AbacusPipelineVersion]

    def step_versions(self) -> list[AbacusPipelineStepVersion]:
        return [AbacusPipelineStepVersion(record=step) for step in self.record.step_versions]

    @strawberry.field(description="Its pipeline's name.")
    def name(self) -> str:
        return self.record.pipeline_name or self.record.id

    @strawberry.field
    def status(self) -> ExecutionStatus:
        return execution_status(self.record.status)

    @strawberry.field(description="Abacus.AI's status word: PENDING, RUNNING, COMPLETE, FAILED.")
    def native_status(self) -> str:
        return self.record.status or ""

    started_at = record_attr("created_at", datetime | None)
    ended_at = record_attr("completed_at", datetime | None)
    updated_at = record_attr("updated_at", datetime | None)
    error = record_attr("error", str | None, description="What went wrong, if it FAILED.")

    @strawberry.field
    def code_source(self) -> AbacusCodeSource | None:
        return AbacusCodeSource.of(self.record.code_source)

    @strawberry.field
    def variable_mappings(self) -> list[AbacusVariableMapping]:
        return mappings(self.record.pipeline_variable_mappings)

    @strawberry.field(description="Who created its pipeline: Abacus.AI records no one per run.")
    async def user(self, info: Info) -> AbacusUser | None:
        pipeline = await loaders(info).pipelines.get(self.record.pipeline_id) if self.record.pipeline_id else None
        return await user_by_email(info, pipeline.created_by if pipeline else None)

    @strawberry.field
    async def pipeline(self, info: Info) -> AbacusPipeline | None:
        return await pipeline_of(info, self.record.pipeline_id)

    @strawberry.field(description="Its step versions, in the pipeline's order.")
    async def steps(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Execution] | None:
        win = window(info, first, after)
        steps = self.step_versions()
        return connection(steps[win.offset : win.offset + win.limit], win, len(steps))

    @strawberry.field(
        description="Each step version, the ones it waited for (`stepDependencies`) and the ones that waited for it; "
        "Abacus.AI makes every step's version when the run starts, so steps that never ran are here (SKIPPED)."
    )
    def dag(self) -> list[ExecutionDependency] | None:
        steps = self.step_versions()
        by_name = {step.record.step_name: step for step in steps}
        upstream = {
            step.record.id: [by_name[name] for name in step.record.step_dependencies if name in by_name] for step in steps
        }
        downstream: dict[str, list[AbacusPipelineStepVersion]] = {step.record.id: [] for step in steps}
        for step in steps:
            for parent in upstream[step.record.id]:
                downstream[parent.record.id].append(step)
        return [
            ExecutionDependency(execution=step, upstream=upstream[step.record.id], downstream=downstream[step.record.id])
            for step in steps
        ]

    @strawberry.field(description="Its step versions that FAILED.")
    def failed_executions(self) -> list[AbacusPipelineStepVersion] | None:
        return [step for step in self.step_versions() if execution_status(step.record.status) is ExecutionStatus.FAILED]

    @strawberry.field(description="Why it FAILED: the version's `error` (Abacus.AI repeats the failed step's there).")
    def failure(self) -> ExecutionFailure | None:
        if execution_status(self.record.status) is not ExecutionStatus.FAILED:
            return None
        return ExecutionFailure.of(self.record.error, "error")


@strawberry.type(description="A step version's log.")
class AbacusStepLog:
    step_name: str | None
    text: str


@strawberry.type(description="One run of a pipeline step.")
class AbacusPipelineStepVersion(AbacusNode, Execution):
    record: strawberry.Private[wire.AbacusStepVersion]

    @strawberry.field
    def name(self) -> str:
        return self.record.step_name or ""

    @strawberry.field
    def status(self) -> ExecutionStatus:
        return execution_status(self.record.status)

    @strawberry.field(description="Abacus.AI's status word: PENDING, RUNNING, COMPLETE, FAILED, SKIPPED.")
    def native_status(self) -> str:
        return self.record.status or ""

    started_at = record_attr("created_at", datetime | None)

    @strawberry.field(description="When it last changed, once it has finished.")
    def ended_at(self) -> datetime | None:
        return self.record.updated_at if self._finished() else None

    def _finished(self) -> bool:
        return execution_status(self.record.status) in (
            ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.STOPPED, ExecutionStatus.SKIPPED
        )

    @strawberry.field
    def duration_seconds(self) -> float | None:
        start, end = self.record.created_at, self.record.updated_at
        return (end - start).total_seconds() if start and end and self._finished() else None

    error = record_attr("error", str | None, description="What went wrong, if it failed.")
    output_errors = record_attr("output_errors", str | None)
    python_function_id = record_attr("python_function_id", str | None)
    function_variable_mappings = record_attr("function_variable_mappings", JSON | None)
    output_variable_mappings = record_attr("output_variable_mappings", JSON | None)

    @strawberry.field
    def code_source(self) -> AbacusCodeSource | None:
        return AbacusCodeSource.of(self.record.code_source)

    @strawberry.field(description="Its CPU size, memory (GB) and timeout (minutes).")
    def resources(self) -> AbacusStepResources | None:
        return AbacusStepResources.of(self.record)

    @strawberry.field(description="Who created its pipeline: Abacus.AI records no one per step.")
    async def user(self, info: Info) -> AbacusUser | None:
        pipeline = await loaders(info).pipelines.get(self.record.pipeline_id) if self.record.pipeline_id else None
        return await user_by_email(info, pipeline.created_by if pipeline else None)

    @strawberry.field(description="Abacus.AI records what a step made, not what it read.")
    def inputs(self) -> list[ArtifactVersion]:
        return []

    @strawberry.field(description="The dataset versions it made.")
    def outputs(self) -> list[AbacusDatasetVersion]:
        return [
            AbacusDatasetVersion(record=wire.AbacusDatasetVersion(dataset_version=ref.dataset_version), partial=True, produced_by=self)
            for ref in self.record.pipeline_step_version_references
            if ref.dataset_version
        ]

    @strawberry.field(description="Everything it made or touched, each with its own status and error.")
    def references(self) -> list[AbacusReference]:
        return [AbacusReference(record=ref, step=self) for ref in self.record.pipeline_step_version_references]

    @strawberry.field
    async def pipeline_run(self, info: Info) -> AbacusPipelineVersion | None:
        if self.record.pipeline_version is None:
            return None
        record = await loaders(info).pipeline_versions.get(self.record.pipeline_version)
        return AbacusPipelineVersion(record=record) if record is not None else None

    @strawberry.field(description="The step versions of the same run it waited for.")
    async def upstream(self, info: Info) -> list[AbacusPipelineStepVersion] | None:
        if not self.record.step_dependencies or self.record.pipeline_version is None:
            return []
        run = await loaders(info).pipeline_versions.get(self.record.pipeline_version)
        if run is None:
            return None
        wanted = set(self.record.step_dependencies)
        return [AbacusPipelineStepVersion(record=s) for s in run.step_versions if s.step_name in wanted]

    @strawberry.field(description="The step versions of the same run that waited for it: what its failure blocked.")
    async def downstream(self, info: Info) -> list[AbacusPipelineStepVersion] | None:
        if self.record.pipeline_version is None:
            return []
        run = await loaders(info).pipeline_versions.get(self.record.pipeline_version)
        if run is None:
            return None
        name = self.record.step_name
        return [AbacusPipelineStepVersion(record=s) for s in run.step_versions if name in s.step_dependencies]

    @strawberry.field(description="Why it failed: its `error`, else its `outputErrors`.")
    def failure(self) -> ExecutionFailure | None:
        if execution_status(self.record.status) is not ExecutionStatus.FAILED:
            return None
        if self.record.error:
            return ExecutionFailure.of(self.record.error, "error")
        return ExecutionFailure.of(self.record.output_errors, "outputErrors")

    @strawberry.field
    async def step(self, info: Info) -> AbacusPipelineStep | None:
        if self.record.pipeline_step_id is None:
            return None
        record = await loaders(info).steps.get(self.record.pipeline_step_id)
        return AbacusPipelineStep(record=record) if record is not None else None

    @strawberry.field(description="Its log, from its run's logs (one call per run, whatever the steps).")
    async def logs(self, info: Info) -> AbacusStepLog | None:
        if self.record.pipeline_version is None:
            return None
        logs = await loaders(info).version_logs.get(self.record.pipeline_version)
        entry = logs.by_step_version.get(self.record.id) if logs is not None else None
        return AbacusStepLog(step_name=entry.step_name, text=entry.logs or "") if entry is not None else None


@strawberry.type(description="An object a step version made or used, with its own status and error.")
class AbacusReference:
    record: strawberry.Private[wire.AbacusReference]
    step: strawberry.Private[AbacusPipelineStepVersion]

    reference_id = record_attr("pipeline_step_version_reference_id", str | None)
    object_type = record_attr("object_type", str | None, description="DATASET_VERSION, MODEL_VERSION, DEPLOYMENT, FEATURE_GROUP_VERSION, BATCH_PREDICTION …")
    status = record_attr("status", str | None)
    error = record_attr("error", str | None)

    @strawberry.field
    async def dataset_version(self, info: Info) -> AbacusDatasetVersion | None:
        key = self.record.dataset_version
        record = await loaders(info).dataset_versions.get(key) if key else None
        return AbacusDatasetVersion(record=record, produced_by=self.step) if record is not None else None

    @strawberry.field
    async def model_version(self, info: Info) -> AbacusModelVersion | None:
        key = self.record.model_version
        record = await loaders(info).model_versions.get(key) if key else None
        return AbacusModelVersion(record=record) if record is not None else None

    @strawberry.field(description="The deployment (Abacus.AI names it by its id here).")
    async def deployment(self, info: Info) -> AbacusDeployment | None:
        key = self.record.deployment_version
        record = await loaders(info).deployments.get(key) if key else None
        return AbacusDeployment(record=record) if record is not None else None

    @strawberry.field
    async def feature_group_version(self, info: Info) -> AbacusFeatureGroupVersion | None:
        key = self.record.feature_group_version
        record = await loaders(info).feature_group_versions.get(key) if key else None
        return AbacusFeatureGroupVersion(record=record) if record is not None else None

    @strawberry.field
    async def batch_prediction(self, info: Info) -> AbacusBatchPrediction | None:
        key = self.record.batch_prediction_id
        record = await loaders(info).batch_predictions.get(key) if key else None
        return AbacusBatchPrediction(record=record) if record is not None else None

    @strawberry.field(description="The referenced object, whichever its type; null for types the graph does not hold.")
    async def target(self, info: Info) -> AbacusReferenceTarget | None:
        record = self.record
        if record.dataset_version:
            return await self.dataset_version(info)
        if record.model_version:
            return await self.model_version(info)
        if record.deployment_version:
            return await self.deployment(info)
        if record.feature_group_version:
            return await self.feature_group_version(info)
        if record.batch_prediction_id:
            return await self.batch_prediction(info)
        return None


@strawberry.type(description="An Abacus.AI dataset: data imported version by version.")
class AbacusDataset(AbacusNode, Dataset):
    record: strawberry.Private[wire.AbacusDataset]

    @strawberry.field(description="Its feature group table name, the name Abacus.AI shows.")
    def name(self) -> str:
        return self.record.feature_group_table_name or self.record.id

    @strawberry.field(description="Abacus.AI datasets have a source, not a description.")
    def description(self) -> str | None:
        return None

    created_at = record_attr("created_at", datetime | None)
    source_type = record_attr("source_type", str | None)
    data_source = record_attr("data_source", str | None)

    @strawberry.field
    def latest_version(self) -> AbacusDatasetVersion | None:
        version = self.record.latest_dataset_version
        return AbacusDatasetVersion(record=version) if version is not None else None

    @strawberry.field(description="Its versions, newest first.")
    async def versions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[AbacusDatasetVersion] | None:
        return await head_page(
            info,
            first,
            after,
            lambda limit: loaders(info).client.list_dataset_versions(self.record.id, limit=limit),
            loaders(info).dataset_versions.prime_many,
            lambda record: AbacusDatasetVersion(record=record),
        )


@strawberry.type(description="A version of an Abacus.AI dataset.")
class AbacusDatasetVersion(AbacusNode, ArtifactVersion, Dataset):
    record: strawberry.Private[wire.AbacusDatasetVersion]
    #: Built from a step's reference: only the id is known.
    partial: strawberry.Private[bool] = False
    produced_by: strawberry.Private[AbacusPipelineStepVersion | None] = None

    async def full(self, info: Info) -> wire.AbacusDatasetVersion:
        if not self.partial:
            return self.record
        record = await loaders(info).dataset_versions.get(self.record.id)
        if record is None:
            raise not_found("dataset version", self.record.id)
        return record

    @strawberry.field(description="Its dataset's name.")
    async def name(self, info: Info) -> str:
        dataset_id = (await self.full(info)).dataset_id
        dataset = await loaders(info).datasets.get(dataset_id) if dataset_id else None
        return (dataset.feature_group_table_name if dataset else None) or self.record.id

    version = record_attr("id", str | None, description="Abacus.AI names a version by its id.")

    @strawberry.field
    def uri(self) -> str | None:
        return None

    @strawberry.field
    def type(self) -> str | None:
        return "dataset"

    @strawberry.field
    def description(self) -> str | None:
        return None

    @strawberry.field
    async def created_at(self, info: Info) -> datetime | None:
        return (await self.full(info)).created_at

    @strawberry.field(description="IMPORTING, COMPLETE, FAILED …")
    async def status(self, info: Info) -> str | None:
        return (await self.full(info)).status

    @strawberry.field
    async def error(self, info: Info) -> str | None:
        return (await self.full(info)).error

    @strawberry.field
    async def row_count(self, info: Info) -> int | None:
        return (await self.full(info)).row_count

    @strawberry.field(description="Bytes.")
    async def size(self, info: Info) -> float | None:
        size = (await self.full(info)).size
        return float(size) if size is not None else None

    @strawberry.field
    async def dataset(self, info: Info) -> AbacusDataset | None:
        dataset_id = (await self.full(info)).dataset_id
        record = await loaders(info).datasets.get(dataset_id) if dataset_id else None
        return AbacusDataset(record=record) if record is not None else None

    @strawberry.field(description="The step version that made it, when reached through that step.")
    def producer(self) -> AbacusPipelineStepVersion | None:
        return self.produced_by

    @strawberry.field(description="Abacus.AI records no readers of a dataset version.")
    def consumers(self) -> list[Execution] | None:
        return None


@strawberry.type(description="An Abacus.AI model.")
class AbacusModel(AbacusNode, Model):
    record: strawberry.Private[wire.AbacusModelRecord]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    @strawberry.field
    def description(self) -> str | None:
        return None

    created_at = record_attr("created_at", datetime | None)
    use_gpu = record_attr("use_gpu", bool | None)

    @strawberry.field
    async def project(self, info: Info) -> AbacusProject | None:
        return await project_of(info, self.record.project_id)

    @strawberry.field
    def latest_version(self) -> AbacusModelVersion | None:
        version = self.record.latest_model_version
        return AbacusModelVersion(record=version) if version is not None else None

    @strawberry.field(description="Its versions, newest first.")
    async def versions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[AbacusModelVersion] | None:
        return await head_page(
            info,
            first,
            after,
            lambda limit: loaders(info).client.list_model_versions(self.record.id, limit=limit),
            loaders(info).model_versions.prime_many,
            lambda record: AbacusModelVersion(record=record),
        )


@strawberry.type(description="A trained version of an Abacus.AI model.")
class AbacusModelVersion(AbacusNode, ModelVersion):
    record: strawberry.Private[wire.AbacusModelVersion]

    name = record_attr("id", str, description="Abacus.AI names a version by its id.")
    created_at = record_attr("training_started_at", datetime | None, description="When training started.")

    @strawberry.field(description="Abacus.AI model versions have no stage.")
    def stage(self) -> str | None:
        return None

    @strawberry.field
    def description(self) -> str | None:
        return None

    status = record_attr("status", str | None, description="TRAINING, COMPLETE, FAILED …")
    error = record_attr("error", str | None)
    training_started_at = record_attr("training_started_at", datetime | None)
    training_completed_at = record_attr("training_completed_at", datetime | None)
    use_gpu = record_attr("use_gpu", bool | None)
    best_algorithm = record_attr("best_algorithm", JSON | None)

    @strawberry.field
    async def feature_group_versions(self, info: Info) -> list[AbacusFeatureGroupVersion]:
        records = await loaders(info).feature_group_versions.get_many(self.record.feature_group_versions)
        return [AbacusFeatureGroupVersion(record=r) for r in records if r is not None]

    @strawberry.field
    async def model(self, info: Info) -> AbacusModel | None:
        record = await loaders(info).models.get(self.record.model_id) if self.record.model_id else None
        return AbacusModel(record=record) if record is not None else None


@strawberry.type(description="A deployed Abacus.AI model serving predictions.")
class AbacusDeployment(AbacusNode):
    record: strawberry.Private[wire.AbacusDeployment]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    status = record_attr("status", str | None, description="DEPLOYING, ACTIVE, STOPPED, FAILED …")
    description = record_attr("description", str | None)
    error = record_attr("error", str | None)
    created_at = record_attr("created_at", datetime | None)
    deployed_at = record_attr("deployed_at", datetime | None)
    calls_per_second = record_attr("calls_per_second", float | None)
    auto_deploy = record_attr("auto_deploy", bool | None)
    regions = record_attr("regions", JSON | None)

    @strawberry.field
    async def project(self, info: Info) -> AbacusProject | None:
        return await project_of(info, self.record.project_id)

    @strawberry.field
    async def model_version(self, info: Info) -> AbacusModelVersion | None:
        key = self.record.model_version
        record = await loaders(info).model_versions.get(key) if key else None
        return AbacusModelVersion(record=record) if record is not None else None


@strawberry.type(description="A materialized version of an Abacus.AI feature group.")
class AbacusFeatureGroupVersion(AbacusNode):
    record: strawberry.Private[wire.AbacusFeatureGroupVersion]

    feature_group_id = record_attr("feature_group_id", str | None)
    status = record_attr("status", str | None, description="GENERATING, COMPLETE, FAILED …")
    error = record_attr("error", str | None)
    sql = record_attr("sql", str | None)
    source_tables = record_attr("source_tables", list[str])
    created_at = record_attr("created_at", datetime | None)
    materialization_started_at = record_attr("materialization_started_at", datetime | None)
    materialization_completed_at = record_attr("materialization_completed_at", datetime | None)

    @strawberry.field(description="The dataset versions it was built from.")
    async def source_dataset_versions(self, info: Info) -> list[AbacusDatasetVersion]:
        records = await loaders(info).dataset_versions.get_many(self.record.source_dataset_versions)
        return [AbacusDatasetVersion(record=r) for r in records if r is not None]


@strawberry.type(description="An Abacus.AI batch prediction and its latest run.")
class AbacusBatchPrediction(AbacusNode):
    record: strawberry.Private[wire.AbacusBatchPrediction]

    def latest(self) -> wire.AbacusBatchPredictionVersion:
        return self.record.latest_batch_prediction_version or wire.AbacusBatchPredictionVersion()

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    created_at = record_attr("created_at", datetime | None)

    @strawberry.field(description="Its latest run's status: PREDICTING, COMPLETE, FAILED …")
    def status(self) -> str | None:
        return self.latest().status

    @strawberry.field
    def error(self) -> str | None:
        return self.latest().error

    @strawberry.field
    def total_predictions(self) -> int | None:
        return self.latest().total_predictions

    @strawberry.field
    def failed_predictions(self) -> int | None:
        return self.latest().failed_predictions

    @strawberry.field
    def predictions_completed_at(self) -> datetime | None:
        return self.latest().predictions_completed_at

    @strawberry.field
    async def deployment(self, info: Info) -> AbacusDeployment | None:
        key = self.record.deployment_id
        record = await loaders(info).deployments.get(key) if key else None
        return AbacusDeployment(record=record) if record is not None else None

    @strawberry.field
    async def model_version(self, info: Info) -> AbacusModelVersion | None:
        key = self.record.model_version
        record = await loaders(info).model_versions.get(key) if key else None
        return AbacusModelVersion(record=record) if record is not None else None


#: What a step version's reference can point at.
AbacusReferenceTarget = Annotated[
    AbacusDatasetVersion | AbacusModelVersion | AbacusDeployment | AbacusFeatureGroupVersion | AbacusBatchPrediction,
    strawberry.union("AbacusReferenceTarget"),
]
