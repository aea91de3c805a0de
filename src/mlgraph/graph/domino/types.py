"""Domino Data Lab's concrete graph types, each beside its resolvers.

Every type wraps a wire record. Relations go through the request's loaders:
a job's user, project and hardware tier are ids in its record, resolved once
per distinct id whatever the number of jobs. Fields only a job's detail
record carries (tags, goals, comments) fetch it, through the loader, when a
query selects them on a listed job.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from mlgraph.backends import domino as wire
from mlgraph.backends.errors import NotFound
from mlgraph.graph.connection import Connection, Window, connection
from mlgraph.graph.context import context_of
from mlgraph.graph.domino.loaders import DominoLoaders
from mlgraph.graph.errors import UserInputError
from mlgraph.graph.failure import ExecutionFailure
from mlgraph.graph.fields import record_attr
from mlgraph.graph.ids import global_id, native_id
from mlgraph.graph.interfaces import (
    ArtifactVersion,
    Dataset,
    Execution,
    ExecutionStatus,
    HardwareTier,
    Model,
    ModelVersion,
    Node,
    PipelineRun,
    Platform,
    Project,
    Tag,
    User,
)

#: Domino's ids are ObjectIds and slugs (``small-k8s``); anything else never
#: reaches a URL, so ``../`` cannot turn a get into another endpoint.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def domino_id(value: str, type_name: str) -> str:
    """The Domino id inside a global id of ``type_name``, or given bare."""
    native = native_id(value, type_name)
    if not _ID.match(native) or ".." in native:
        raise UserInputError(f"'{native[:80]}' is not a Domino id")
    return native


def loaders(info: Info) -> DominoLoaders:
    return context_of(info).domino


def window(info: Info, first: int | None, after: str | None) -> Window:
    settings = context_of(info).settings
    return Window.from_args(first, after, settings.default_page_size, min(settings.max_page_size, wire.MAX_PAGE_SIZE))


def page_limit(win: Window) -> int:
    """Domino refuses ``limit=0``; ``first: 0`` still wants the total, so ask for one."""
    return max(win.limit, 1)


def not_found(label: str, key: str) -> NotFound:
    return NotFound(wire.PLATFORM, f"domino {label} {key} not found", 404)


#: Every ``JobStatusV1.executionStatus`` Domino documents, mapped to the unified status.
STATUS_MAP: dict[str, ExecutionStatus] = {
    "queued": ExecutionStatus.QUEUED,
    "pending": ExecutionStatus.QUEUED,
    "scheduled": ExecutionStatus.QUEUED,
    # Setting up, not yet running: Domino's own `queued` filter counts them.
    "preparing": ExecutionStatus.QUEUED,
    "building": ExecutionStatus.QUEUED,
    "pulling": ExecutionStatus.QUEUED,
    "running": ExecutionStatus.RUNNING,
    "serving": ExecutionStatus.RUNNING,
    "finishing": ExecutionStatus.RUNNING,
    "stoprequested": ExecutionStatus.RUNNING,
    "stopping": ExecutionStatus.RUNNING,
    "succeeded": ExecutionStatus.SUCCEEDED,
    "completed": ExecutionStatus.SUCCEEDED,
    "failed": ExecutionStatus.FAILED,
    "error": ExecutionStatus.FAILED,
    "stopped": ExecutionStatus.STOPPED,
}


def execution_status(native: str) -> ExecutionStatus:
    return STATUS_MAP.get(native.casefold(), ExecutionStatus.UNKNOWN)


#: Domino's own enums, read case-insensitively by the wire models, are the graph's too.
DominoProjectVisibility = strawberry.enum(
    wire.ProjectVisibility, name="DominoProjectVisibility", description="Who can find and open a Domino project."
)
DominoGitRefType = strawberry.enum(
    wire.GitRefType, name="DominoGitRefType", description="Which git reference a job's repository was checked out at."
)
DominoLogType = strawberry.enum(wire.LogType, name="DominoLogType", description="Which of a job's logs.")
DominoEnvironmentVisibility = strawberry.enum(wire.EnvironmentVisibility, name="DominoEnvironmentVisibility")
DominoSnapshotStatus = strawberry.enum(
    wire.SnapshotStatus, name="DominoSnapshotStatus", description="Where a dataset snapshot is in its life."
)


@strawberry.interface(description="Any Domino Data Lab object.")
class DominoNode(Node):
    record: strawberry.Private[Any]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id(type(self).__name__, self.record.id))

    native_id = record_attr("id", str, description="The platform's own id.")

    @strawberry.field
    def platform(self) -> Platform:
        return Platform.DOMINO


async def user_of(info: Info, user_id: str | None) -> DominoUser | None:
    """A user by id, from the request's one list of users."""
    if user_id is None:
        return None
    record = await loaders(info).users.get(user_id)
    return DominoUser(record=record) if record is not None else None


async def user_named(info: Info, user_name: str | None) -> DominoUser | None:
    if user_name is None:
        return None
    record = await loaders(info).user_by_name(user_name)
    return DominoUser(record=record) if record is not None else None


async def project_of(info: Info, project_id: str | None) -> DominoProject | None:
    """A related project; one that is gone is null, one the gateway may not open FORBIDDEN."""
    if project_id is None:
        return None
    record = await loaders(info).projects.get(project_id)
    return DominoProject(record=record) if record is not None else None


async def tier_of(info: Info, tier_id: str | None) -> DominoHardwareTier | None:
    if tier_id is None:
        return None
    record = await loaders(info).hardware_tiers.get(tier_id)
    return DominoHardwareTier(record=record) if record is not None else None


@strawberry.type
class DominoUser(DominoNode, User):
    record: strawberry.Private[wire.DominoUser]

    @strawberry.field(description="The user name people log in with.")
    def name(self) -> str:
        return self.record.user_name or ""

    @strawberry.field
    def full_name(self) -> str | None:
        record = self.record
        if record.full_name:
            return record.full_name
        joined = " ".join(part for part in (record.first_name, record.last_name) if part)
        return joined or None

    email = record_attr("email", str | None)

    @strawberry.field(description="Domino does not say.")
    def is_service_account(self) -> bool | None:
        return None

    first_name = record_attr("first_name", str | None)
    last_name = record_attr("last_name", str | None)
    company_name = record_attr("company_name", str | None)
    avatar_url = record_attr("avatar_url", str | None)


@strawberry.enum(description="Domino's own job categories (its `statusFilter`): COMPLETED holds succeeded, failed and stopped jobs alike.")
class DominoJobStatusCategory(Enum):
    ALL = "all"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    ARCHIVED = "archived"
    ACTIVE = "active"


@strawberry.enum(description="What Domino sorts a project's jobs by.")
class DominoJobSort(Enum):
    NUMBER = "number"
    TITLE = "title"
    COMMAND = "command"
    STARTED_TIME = "startedTime"
    DURATION = "duration"
    STATUS = "status"
    USER = "user"
    COMMENT_COUNT = "commentCount"


@strawberry.type
class DominoProject(DominoNode, Project):
    record: strawberry.Private[wire.DominoProject]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    description = record_attr("description", str | None)
    visibility = record_attr("visibility", DominoProjectVisibility | None)
    owner_username = record_attr("owner_username", str | None)

    @strawberry.field
    async def owner(self, info: Info) -> DominoUser | None:
        return await user_of(info, self.record.owner_id)

    @strawberry.field(description="The project's jobs, newest first unless sorted otherwise.")
    async def jobs(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: ExecutionStatus | None = None,
        status_category: DominoJobStatusCategory | None = None,
        tag: str | None = None,
        sort_by: DominoJobSort | None = None,
        ascending: bool | None = None,
        show_archived: bool | None = None,
    ) -> Connection[DominoJob] | None:
        return await jobs_page(
            info, self.record.id, first, after, status=status, status_category=status_category, tag=tag,
            sort_by=sort_by, ascending=ascending, show_archived=show_archived,
        )

    @strawberry.field(description="Datasets that belong to this project.")
    async def datasets(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[DominoDataset] | None:
        return await datasets_page(info, first, after, project_id=self.record.id)

    @strawberry.field(description="Models registered from this project.")
    async def registered_models(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[DominoRegisteredModel] | None:
        return await registered_models_page(info, first, after, project_id=self.record.id)


async def jobs_page(
    info: Info,
    project_id: str,
    first: int | None,
    after: str | None,
    *,
    status: ExecutionStatus | None = None,
    status_category: DominoJobStatusCategory | None = None,
    tag: str | None = None,
    sort_by: DominoJobSort | None = None,
    ascending: bool | None = None,
    show_archived: bool | None = None,
) -> Connection[DominoJob]:
    """A connection over one project's job list: one call whatever the window.

    ``status`` is the status jobs answer with. Domino filters only by
    category, so the category that holds the status is sent and the
    category's jobs are read whole (bounded) and filtered here: a window of
    them then counts and pages as exactly the jobs with that status.
    """
    win = window(info, first, after)
    client = loaders(info).client
    category = status_category.value if status_category else None
    listing = dict(sort_by=sort_by.value if sort_by else None, ascending=ascending, tag_filter=tag, show_archived=show_archived)
    if status is None:
        page = await client.jobs(project_id, offset=win.offset, limit=page_limit(win), status_filter=category, **listing)
        loaders(info).prime_jobs(page.items)
        return connection([DominoJob(record=job) for job in page.items[: win.limit]], win, page.total)
    if category is None:
        category = next((name for name, held in STATUS_CATEGORIES.items() if status in held), None)
    jobs = await client.all_jobs(project_id, status_filter=category, **listing)
    loaders(info).prime_jobs(jobs)
    kept = [job for job in jobs if execution_status(job.status.execution_status) is status]
    return connection([DominoJob(record=job) for job in kept[win.offset : win.offset + win.limit]], win, len(kept))


#: Domino's job categories, by the statuses each holds.
STATUS_CATEGORIES: dict[str, set[ExecutionStatus]] = {
    "queued": {ExecutionStatus.QUEUED},
    "running": {ExecutionStatus.RUNNING},
    "completed": {ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.STOPPED},
}


@strawberry.type(description="What a Domino hardware tier can run at once and is running.")
class DominoHardwareTierCapacity:
    capacity_level: str | None
    executing_runs: int | None
    queued_runs: int | None
    max_concurrent_runs: int | None
    max_available_capacity: int | None
    available_capacity_without_launching: int | None
    number_of_executors: int | None
    max_number_of_executors: int | None


@strawberry.type
class DominoHardwareTierFlags:
    is_archived: bool
    is_default: bool
    is_default_for_model_api: bool
    is_global: bool
    is_visible: bool
    is_model_api_tier: bool
    is_data_analyst_tier: bool


@strawberry.type(description="A Domino hardware tier: the machine size a job runs on.")
class DominoHardwareTier(DominoNode, HardwareTier):
    record: strawberry.Private[wire.DominoHardwareTier]

    name = record_attr("name", str | None)

    @strawberry.field
    def cpu_cores(self) -> float | None:
        resources = self.record.resources
        return resources.cores if resources else None

    @strawberry.field
    def cpu_cores_limit(self) -> float | None:
        resources = self.record.resources
        return resources.cores_limit if resources else None

    @strawberry.field
    def memory_gib(self) -> float | None:
        resources = self.record.resources
        return resources.memory.gib if resources and resources.memory else None

    @strawberry.field
    def memory_limit_gib(self) -> float | None:
        resources = self.record.resources
        return resources.memory_limit.gib if resources and resources.memory_limit else None

    @strawberry.field
    def gpu_count(self) -> int | None:
        gpu = self.record.gpu_configuration
        return gpu.number_of_gpus if gpu and gpu.number_of_gpus is not None else 0

    @strawberry.field(description="The GPU resource key, such as `nvidia.com/gpu`.")
    def gpu_type(self) -> str | None:
        gpu = self.record.gpu_configuration
        return gpu.gpu_key if gpu else None

    cents_per_minute = record_attr("cents_per_minute", float | None, description="What a minute on this tier costs, in cents, as an admin set it.")

    @strawberry.field
    def capacity(self) -> DominoHardwareTierCapacity | None:
        capacity = self.record.capacity
        return DominoHardwareTierCapacity(**capacity.model_dump()) if capacity else None

    @strawberry.field
    def flags(self) -> DominoHardwareTierFlags:
        return DominoHardwareTierFlags(**self.record.flags.model_dump())

    node_pool = record_attr("node_pool", str | None)
    max_simultaneous_executions = record_attr("max_simultaneous_executions", int | None)
    availability_zones = record_attr("availability_zones", list[str])
    created_at = record_attr("creation_time", datetime | None)
    updated_at = record_attr("update_time", datetime | None)


@strawberry.type(description="A tag on a Domino job.")
class DominoTag(DominoNode, Tag):
    record: strawberry.Private[wire.DominoTag]
    #: Domino has no get for a tag: its global id names the job that carries it.
    job_id: strawberry.Private[str]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id("DominoTag", tag_key(self.job_id, self.record.id)))

    name = record_attr("name", str)
    created_at = record_attr("created_at", datetime | None)

    @strawberry.field
    async def creator(self, info: Info) -> DominoUser | None:
        return await user_of(info, self.record.creator_id)


def tag_key(job_id: str, tag_id: str) -> str:
    return f"{job_id}/{tag_id}"


@strawberry.type(description="How much of its machine a job used at most.")
class DominoJobUsage:
    cpu_percentage: float | None
    memory_gib: float | None


@strawberry.type(description="The commits a job started from and ended at.")
class DominoCommitDetails:
    input_commit_id: str | None
    output_commit_id: str | None


@strawberry.type
class DominoGitRef:
    ref_type: DominoGitRefType | None
    value: str | None


@strawberry.type(description="A Domino stats entry a job reported (`dominostats.json`).")
class DominoStat:
    name: str
    value: str | None


@strawberry.type(description="Why a job waits in the queue, as Domino explains it.")
class DominoQueuedStatus:
    expected_wait: str | None
    explanation: str | None
    help_text: str | None


@strawberry.type(description="The compute cluster a job ran with, if any.")
class DominoComputeCluster:
    cluster_type: str | None
    worker_count: int | None
    max_worker_count: int | None
    worker_storage_mb: float | None
    record: strawberry.Private[wire.DominoComputeCluster]

    @strawberry.field
    async def master_hardware_tier(self, info: Info) -> DominoHardwareTier | None:
        return await tier_of(info, self.record.master_hardware_tier_id)

    @strawberry.field
    async def worker_hardware_tier(self, info: Info) -> DominoHardwareTier | None:
        return await tier_of(info, self.record.worker_hardware_tier)

    @strawberry.field
    async def environment(self, info: Info) -> DominoEnvironment | None:
        return await environment_of(info, self.record.compute_environment_id)


@strawberry.type
class DominoLogLine:
    log: str
    log_type: DominoLogType | None
    size: int | None
    timestamp: datetime | None


@strawberry.type(description="A job's log lines and, if it failed, Domino's diagnosis.")
class DominoJobLogs:
    is_complete: bool | None
    problem: str | None
    help_link: str | None
    lines: list[DominoLogLine]


@strawberry.type(description="A Domino job: a command run on a hardware tier in a project.")
class DominoJob(DominoNode, Execution):
    record: strawberry.Private[wire.DominoJob]

    async def detailed(self, info: Info) -> wire.DominoJob:
        """The job's detail record: itself if it is one, else one (batched) get."""
        if self.record.detailed:
            return self.record
        record = await loaders(info).jobs.get(self.record.id)
        if record is None:
            raise not_found("job", self.record.id)
        return record

    @strawberry.field(description="The job's title, else its command.")
    def name(self) -> str:
        record = self.record
        return record.title or record.run_command or f"Job #{record.number or record.id}"

    number = record_attr("number", int | None)
    title = record_attr("title", str | None)
    run_command = record_attr("run_command", str | None)

    @strawberry.field
    def status(self) -> ExecutionStatus:
        return execution_status(self.record.status.execution_status)

    native_status = record_attr("status.execution_status", str, description="Domino's `executionStatus`, as it sent it.")
    is_completed = record_attr("status.is_completed", bool | None)
    is_archived = record_attr("status.is_archived", bool | None)
    is_scheduled = record_attr("status.is_scheduled", bool | None, description="Whether a scheduled trigger started it.")
    submitted_at = record_attr("stage_times.submission_time", datetime | None, description="When the start request was submitted.")
    started_at = record_attr("stage_times.start_time", datetime | None)
    ended_at = record_attr("stage_times.completed_time", datetime | None)

    @strawberry.field
    def duration_seconds(self) -> float | None:
        times = self.record.stage_times
        if times.start_time and times.completed_time:
            return (times.completed_time - times.start_time).total_seconds()
        return None

    @strawberry.field
    def usage(self) -> DominoJobUsage | None:
        usage = self.record.usage
        return DominoJobUsage(cpu_percentage=usage.cpu_percentage, memory_gib=usage.memory_gi_b) if usage else None

    @strawberry.field
    def commit_details(self) -> DominoCommitDetails | None:
        commit = self.record.commit_details
        return DominoCommitDetails(**commit.model_dump()) if commit else None

    @strawberry.field
    def main_repo_git_ref(self) -> DominoGitRef | None:
        ref = self.record.main_repo_git_ref
        if ref is None:
            return None
        return DominoGitRef(ref_type=ref.ref_type, value=ref.value)

    @strawberry.field
    def domino_stats(self) -> list[DominoStat]:
        return [DominoStat(name=stat.name, value=stat.value) for stat in self.record.domino_stats]

    @strawberry.field
    def compute_cluster(self) -> DominoComputeCluster | None:
        cluster = self.record.compute_cluster
        if cluster is None:
            return None
        return DominoComputeCluster(
            cluster_type=cluster.cluster_type,
            worker_count=cluster.worker_count,
            max_worker_count=cluster.max_worker_count,
            worker_storage_mb=cluster.worker_storage_mb,
            record=cluster,
        )

    @strawberry.field(description="The user who started it.")
    async def user(self, info: Info) -> DominoUser | None:
        return await user_of(info, self.record.started_by_id)

    @strawberry.field
    async def project(self, info: Info) -> DominoProject | None:
        return await project_of(info, self.record.project_id)

    @strawberry.field(description="The tier it ran on: its compute cluster's master tier.")
    async def hardware_tier(self, info: Info) -> DominoHardwareTier | None:
        return await tier_of(info, self.record.hardware_tier_id)

    @strawberry.field(description="The compute it ran on, as for every execution: its hardware tier.")
    async def resources(self, info: Info) -> DominoHardwareTier | None:
        return await tier_of(info, self.record.hardware_tier_id)

    @strawberry.field(description="Dataset snapshots mounted as its inputs.")
    def inputs(self) -> list[DominoDatasetSnapshot]:
        return [DominoDatasetSnapshot.of_mount(mount) for mount in self.record.dataset_mounts if mount.is_input and mount.snapshot_id]

    @strawberry.field(description="Dataset snapshots it wrote.")
    def outputs(self) -> list[DominoDatasetSnapshot]:
        return [
            DominoDatasetSnapshot.of_mount(mount, producer=self)
            for mount in self.record.dataset_mounts
            if mount.is_input is False and mount.snapshot_id
        ]

    @strawberry.field(description="Domino jobs belong to no pipeline run.")
    def pipeline_run(self) -> PipelineRun | None:
        return None

    @strawberry.field(description="Domino jobs declare no upstream jobs.")
    def upstream(self) -> list[Execution] | None:
        return None

    @strawberry.field(description="Domino jobs declare no downstream jobs.")
    def downstream(self) -> list[Execution] | None:
        return None

    @strawberry.field(
        description="Why it failed: Domino's diagnosis (`problem`), which only its logs carry: one small call per "
        "failed job, none for the others."
    )
    async def failure(self, info: Info) -> ExecutionFailure | None:
        if execution_status(self.record.status.execution_status) is not ExecutionStatus.FAILED:
            return None
        return ExecutionFailure.of(await loaders(info).problems.load(self.record.id), "logs.problem")

    @strawberry.field
    async def tags(self, info: Info) -> list[DominoTag]:
        return [DominoTag(record=tag, job_id=self.record.id) for tag in (await self.detailed(info)).tags or []]

    @strawberry.field
    async def goal_ids(self, info: Info) -> list[str]:
        return (await self.detailed(info)).goal_ids or []

    @strawberry.field
    async def comments_count(self, info: Info) -> int | None:
        return (await self.detailed(info)).comments_count

    @strawberry.field(description="Why it is still queued, while it is.")
    async def queued_status(self, info: Info) -> DominoQueuedStatus | None:
        details = (await self.detailed(info)).queued_job_status_details
        return DominoQueuedStatus(**details.model_dump()) if details else None

    @strawberry.field(description="Its log lines: one call per job asked for.")
    async def logs(
        self, info: Info, log_type: DominoLogType | None = None, limit: int | None = None
    ) -> DominoJobLogs | None:
        if log_type is wire.LogType.UNKNOWN:
            raise UserInputError("`logType` must be STD_OUT, STD_ERR, PREPARE_OUTPUT or COMPLETE")
        if limit is not None and not 0 < limit <= wire.MAX_LOG_LINES:
            raise UserInputError(f"`limit` must be between 1 and {wire.MAX_LOG_LINES}")
        logs = await loaders(info).client.job_logs(
            self.record.id, log_type=log_type.value if log_type else None, limit=limit
        )
        return DominoJobLogs(
            is_complete=logs.is_complete,
            problem=logs.problem,
            help_link=logs.help_link,
            lines=[
                DominoLogLine(
                    log=line.log,
                    log_type=line.log_type,
                    size=line.size,
                    timestamp=line.timestamp,
                )
                for line in logs.log_content
            ],
        )


@strawberry.type(description="A Domino dataset: a versioned folder of data, snapshot by snapshot.")
class DominoDataset(DominoNode, Dataset):
    record: strawberry.Private[wire.DominoDataset]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    description = record_attr("description", str | None)
    created_at = record_attr("created_at", datetime | None)

    @strawberry.field
    def snapshot_count(self) -> int:
        return len(self.record.snapshot_ids)

    @strawberry.field
    async def project(self, info: Info) -> DominoProject | None:
        return await project_of(info, self.record.project_id)

    @strawberry.field(description="Its snapshots, oldest first, as Domino lists them.")
    async def snapshots(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[DominoDatasetSnapshot] | None:
        return await snapshots_page(info, self.record.id, first, after)

    @strawberry.field(description="Named tags and the snapshot each points at.")
    def tags(self) -> list[DominoDatasetTag]:
        return [DominoDatasetTag(name=name, snapshot_id=snapshot) for name, snapshot in self.record.tags.items()]


@strawberry.type
class DominoDatasetTag:
    name: str
    snapshot_id: strawberry.Private[str]

    @strawberry.field
    async def snapshot(self, info: Info) -> DominoDatasetSnapshot | None:
        return await snapshot_of(info, self.snapshot_id)


async def snapshot_of(info: Info, snapshot_id: str | None) -> DominoDatasetSnapshot | None:
    if snapshot_id is None:
        return None
    record = await loaders(info).snapshots.get(snapshot_id)
    return DominoDatasetSnapshot(record=record) if record is not None else None


async def snapshots_page(
    info: Info, dataset_id: str, first: int | None, after: str | None
) -> Connection[DominoDatasetSnapshot]:
    win = window(info, first, after)
    page = await loaders(info).client.snapshots(dataset_id, offset=win.offset, limit=page_limit(win))
    loaders(info).snapshots.prime_many(page.items)
    return connection([DominoDatasetSnapshot(record=s) for s in page.items[: win.limit]], win, page.total)


@strawberry.type(description="One snapshot of a Domino dataset: a version a job can read or write.")
class DominoDatasetSnapshot(DominoNode, ArtifactVersion):
    record: strawberry.Private[wire.DominoSnapshot]
    #: Known from a job's mount: what the snapshot record itself lacks.
    dataset_name: strawberry.Private[str | None] = None
    #: A snapshot built from a mount carries only its ids and version.
    partial: strawberry.Private[bool] = False
    produced_by: strawberry.Private[DominoJob | None] = None

    @classmethod
    def of_mount(cls, mount: wire.DominoDatasetMount, producer: DominoJob | None = None) -> DominoDatasetSnapshot:
        record = wire.DominoSnapshot(id=mount.snapshot_id, dataset_id=mount.id, version=mount.snapshot_version)
        return cls(record=record, dataset_name=mount.dataset_name, partial=True, produced_by=producer)

    async def full(self, info: Info) -> wire.DominoSnapshot:
        if not self.partial:
            return self.record
        record = await loaders(info).snapshots.get(self.record.id)
        if record is None:
            raise not_found("snapshot", self.record.id)
        return record

    @strawberry.field(description="Its dataset's name.")
    async def name(self, info: Info) -> str | None:
        if self.dataset_name is not None:
            return self.dataset_name
        dataset = await self.dataset(info)
        return dataset.record.name if dataset else None

    @strawberry.field(description="Its number in its dataset, 1 for the first snapshot.")
    async def version(self, info: Info) -> str | None:
        if self.record.version is not None:
            return str(self.record.version)
        # Domino's snapshot record has no number: it is the snapshot's place
        # in its dataset's list, which is oldest first.
        dataset = await self.dataset(info)
        if dataset is None or self.record.id not in dataset.record.snapshot_ids:
            return None
        return str(dataset.record.snapshot_ids.index(self.record.id) + 1)

    @strawberry.field(description="Domino addresses snapshots by id, not by URI.")
    def uri(self) -> str | None:
        return None

    @strawberry.field
    def type(self) -> str | None:
        return "dataset"

    @strawberry.field
    async def created_at(self, info: Info) -> datetime | None:
        return (await self.full(info)).created_at

    @strawberry.field
    async def description(self, info: Info) -> str | None:
        return (await self.full(info)).description

    @strawberry.field
    async def status(self, info: Info) -> DominoSnapshotStatus | None:
        return (await self.full(info)).status

    @strawberry.field
    async def last_mounted_at(self, info: Info) -> datetime | None:
        return (await self.full(info)).last_mounted

    @strawberry.field
    async def creator(self, info: Info) -> DominoUser | None:
        return await user_of(info, (await self.full(info)).creator_id)

    @strawberry.field
    async def dataset(self, info: Info) -> DominoDataset | None:
        dataset_id = self.record.dataset_id or (await self.full(info)).dataset_id
        if dataset_id is None:
            return None
        record = await loaders(info).datasets.get(dataset_id)
        return DominoDataset(record=record) if record is not None else None

    @strawberry.field(description="The job that wrote it, when reached through that job's outputs.")
    def producer(self) -> DominoJob | None:
        return self.produced_by

    @strawberry.field(description="Domino records no readers of a snapshot.")
    def consumers(self) -> list[Execution] | None:
        return None


@strawberry.type(description="A model in Domino's model registry; its name is its id.")
class DominoRegisteredModel(DominoNode, Model):
    record: strawberry.Private[wire.DominoRegisteredModel]

    name = record_attr("name", str)
    description = record_attr("description", str | None)
    created_at = record_attr("created_at", datetime | None)
    updated_at = record_attr("updated_at", datetime | None)
    discoverable = record_attr("discoverable", bool | None)

    @strawberry.field
    def tags(self) -> list[DominoKeyValue]:
        return [DominoKeyValue(key=key, value=value) for key, value in self.record.tags.items()]

    @strawberry.field
    async def owner(self, info: Info) -> DominoUser | None:
        return await user_named(info, self.record.owner_username)

    @strawberry.field
    async def project(self, info: Info) -> DominoProject | None:
        project = self.record.project
        return await project_of(info, project.id if project else None)

    @strawberry.field
    async def latest_version(self, info: Info) -> DominoModelVersion | None:
        number = self.record.latest_version
        if number is None:
            return None
        record = await loaders(info).model_versions.get(wire.model_version_key(self.record.name, number))
        return DominoModelVersion(record=record) if record is not None else None

    @strawberry.field(description="Its versions, as Domino lists them.")
    async def versions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[DominoModelVersion] | None:
        win = window(info, first, after)
        page = await loaders(info).client.model_versions(self.record.name, offset=win.offset, limit=page_limit(win))
        return connection([DominoModelVersion(record=v) for v in page.items[: win.limit]], win, page.total)


@strawberry.type
class DominoKeyValue:
    key: str
    value: str


@strawberry.type(description="One version of a registered model.")
class DominoModelVersion(DominoNode, ModelVersion):
    record: strawberry.Private[wire.DominoModelVersion]

    async def details(self, info: Info) -> wire.DominoModelVersion:
        """A listed version lacks its stage and description: the get has them."""
        if self.record.current_stage is not None:
            return self.record
        record = await loaders(info).model_versions.get(self.record.id)
        if record is None:
            raise not_found("registered model version", self.record.id)
        return record

    @strawberry.field(description="The version number, as text like every platform's version name.")
    def name(self) -> str:
        return str(self.record.model_version)

    number = record_attr("model_version", int)
    model_name = record_attr("model_name", str)
    created_at = record_attr("created_at", datetime | None)
    updated_at = record_attr("updated_at", datetime | None)
    experiment_run_id = record_attr("experiment_run_id", str | None, description="The MLflow experiment run it was registered from.")

    @strawberry.field(description="Its stage: None, Staging, Production, Archived or a custom one.")
    async def stage(self, info: Info) -> str | None:
        return (await self.details(info)).current_stage

    @strawberry.field
    async def description(self, info: Info) -> str | None:
        return (await self.details(info)).model_version_description

    @strawberry.field
    async def owner(self, info: Info) -> DominoUser | None:
        return await user_named(info, self.record.owner_username)

    @strawberry.field
    async def project(self, info: Info) -> DominoProject | None:
        project = self.record.project
        return await project_of(info, project.id if project else None)

    @strawberry.field
    async def model(self, info: Info) -> DominoRegisteredModel | None:
        record = await loaders(info).registered_models.get(self.record.model_name)
        return DominoRegisteredModel(record=record) if record is not None else None


@strawberry.type(description="A revision of a Domino compute environment.")
class DominoEnvironmentRevision:
    id: str | None
    number: int | None
    status: str | None


def _revision(revision: wire.DominoEnvironmentRevision | None) -> DominoEnvironmentRevision | None:
    return DominoEnvironmentRevision(**revision.model_dump()) if revision else None


@strawberry.type(description="A Domino compute environment: the image a job runs in.")
class DominoEnvironment(DominoNode):
    record: strawberry.Private[wire.DominoEnvironment]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    archived = record_attr("archived", bool | None)
    is_curated = record_attr("is_curated", bool | None)
    visibility = record_attr("visibility", DominoEnvironmentVisibility | None)
    active_revision_tags = record_attr("active_revision_tags", list[str])

    @strawberry.field
    def latest_revision(self) -> DominoEnvironmentRevision | None:
        return _revision(self.record.latest_revision)

    @strawberry.field
    def selected_revision(self) -> DominoEnvironmentRevision | None:
        return _revision(self.record.selected_revision)

    @strawberry.field(description="Its owner's user name (a user or an organization).")
    def owner_name(self) -> str | None:
        owner = self.record.owner
        return owner.username if owner else None


async def environment_of(info: Info, environment_id: str | None) -> DominoEnvironment | None:
    if environment_id is None:
        return None
    record = await loaders(info).environments.get(environment_id)
    return DominoEnvironment(record=record) if record is not None else None


async def datasets_page(
    info: Info, first: int | None, after: str | None, *, project_id: str | None = None
) -> Connection[DominoDataset]:
    """Datasets through ``/v2/datasets``, narrowed to a project when given."""
    win = window(info, first, after)
    page = await loaders(info).client.datasets_v2(
        include_projects=[project_id] if project_id else (), offset=win.offset, limit=page_limit(win)
    )
    records = [item.dataset for item in page.items[: win.limit]]
    loaders(info).datasets.prime_many(records)
    return connection([DominoDataset(record=record) for record in records], win, page.total)


async def registered_models_page(
    info: Info,
    first: int | None,
    after: str | None,
    *,
    project_id: str | None = None,
    search: str | None = None,
) -> Connection[DominoRegisteredModel]:
    """The model list pages by token, not offset: the window is read from the
    start, one page of up to the whole window at a time."""
    win = window(info, first, after)
    client = loaders(info).client
    wanted = win.offset + page_limit(win)
    records: list[wire.DominoRegisteredModel] = []
    token: str | None = None
    more = True
    while more and len(records) < wanted:
        page = await client.registered_models(
            project_id=project_id, search=search, page_token=token, max_results=min(wanted - len(records), wire.MAX_PAGE_SIZE)
        )
        records.extend(page.items)
        token = page.metadata.page_token
        more = bool(token) and bool(page.items)
    loaders(info).registered_models.prime_many(records)
    items = records[win.offset : win.offset + win.limit]
    total = None if more else len(records)
    return connection([DominoRegisteredModel(record=record) for record in items], win, total)

