"""The unified kernel: interfaces the platforms' concrete types implement.

Where platforms share meaning (a unit of work that ran, a versioned artifact,
a model version, a person) the graph has one interface, so a client can ask
the same question of ZenML step runs, Domino jobs and Abacus.AI step versions.
Concrete types keep what only their platform has.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from mlgraph.graph.connection import Connection
from mlgraph.graph.failure import ExecutionFailure


@strawberry.enum(description="The platforms the gateway speaks to.")
class Platform(Enum):
    ZENML = "zenml"
    DOMINO = "domino"
    ABACUS = "abacus"


@strawberry.enum(description="A run's or execution's state, the same across platforms; `nativeStatus` keeps the platform's own word.")
class ExecutionStatus(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"
    #: Never ran and never will: a step it waited for failed, or its run ended first.
    SKIPPED = "skipped"
    CACHED = "cached"
    UNKNOWN = "unknown"


@strawberry.interface(description="An object with a global id, fetchable by `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.interface(description="Compute a run asked for or ran on, in one shape for every platform.")
class HardwareTier:
    name: str | None
    cpu_cores: float | None
    memory_gib: float | None
    gpu_count: int | None
    gpu_type: str | None


@strawberry.interface(description="A person or service account on a platform.")
class User(Node):
    platform: Platform
    name: str
    full_name: str | None
    email: str | None
    is_service_account: bool | None


@strawberry.interface
class Project(Node):
    platform: Platform
    name: str
    description: str | None


@strawberry.interface
class Tag(Node):
    platform: Platform
    name: str


@strawberry.interface(description="A unit of work that ran: a ZenML step run, a Domino job.")
class Execution(Node):
    platform: Platform
    name: str
    status: ExecutionStatus
    native_status: str
    started_at: datetime | None
    ended_at: datetime | None
    duration_seconds: float | None
    user: User | None
    inputs: list[ArtifactVersion]
    outputs: list[ArtifactVersion]
    resources: HardwareTier | None = strawberry.field(description="The compute it asked for, if it said.")
    pipeline_run: PipelineRun | None
    upstream: list[Execution] | None = strawberry.field(description="Executions that had to finish before this one.")
    downstream: list[Execution] | None = strawberry.field(
        description="Executions of the same run that waited for this one: what its failure blocked."
    )
    failure: ExecutionFailure | None = strawberry.field(
        description="Why it failed; null when it did not, or its platform recorded no reason."
    )


@strawberry.type(description="One step of a run's DAG, the steps it waited for and the steps that waited for it.")
class ExecutionDependency:
    execution: Execution
    upstream: list[Execution]
    downstream: list[Execution]


@strawberry.interface(description="One run of a pipeline: its executions and their DAG.")
class PipelineRun(Node):
    platform: Platform
    name: str
    status: ExecutionStatus
    native_status: str
    started_at: datetime | None
    ended_at: datetime | None
    user: User | None
    dag: list[ExecutionDependency] | None = strawberry.field(
        description="Every step the run planned, those that never started too (status SKIPPED or QUEUED)."
    )
    failed_executions: list[Execution] | None = strawberry.field(description="The executions that failed.")
    failure: ExecutionFailure | None = strawberry.field(
        description="Why the run itself failed, where its platform records that apart from its steps' reasons."
    )

    @strawberry.field(description="The run's executions in the order they were created.")
    async def steps(self, first: int | None = None, after: str | None = None) -> Connection[Execution] | None:
        raise NotImplementedError  # every implementing type resolves this


@strawberry.interface(
    description="An artifact a run read or wrote: a ZenML artifact version, a Domino dataset snapshot."
)
class ArtifactVersion(Node):
    platform: Platform
    name: str | None
    version: str | None
    uri: str | None
    type: str | None
    created_at: datetime | None
    producer: Execution | None = strawberry.field(description="The execution that wrote it.")
    consumers: list[Execution] | None = strawberry.field(
        description="Executions of its producing run that read it."
    )


@strawberry.interface(description="A named, versioned collection of data: a Domino dataset.")
class Dataset(Node):
    platform: Platform
    name: str
    description: str | None
    created_at: datetime | None


@strawberry.interface
class Artifact(Node):
    platform: Platform
    name: str
    latest_version: ArtifactVersion | None


@strawberry.interface
class ModelVersion(Node):
    platform: Platform
    name: str
    created_at: datetime | None
    stage: str | None
    description: str | None
    model: Model | None


@strawberry.interface
class Model(Node):
    platform: Platform
    name: str
    description: str | None
    created_at: datetime | None


@strawberry.interface(description="Something deployed and serving, such as a model server.")
class Service(Node):
    platform: Platform
    name: str
    state: str | None
