"""ZenML's concrete graph types, each beside its resolvers.

Every type wraps a wire record. Fields a thin record carries resolve with no
call; relations go through the request's loaders; fields that live only in a
hydrated record (``metadata``) fetch it, batched, when a query selects them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar, TypeVar
from uuid import UUID

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from mlgraph.backends import zenml as wire
from mlgraph.backends.errors import NotFound, Rejected
from mlgraph.graph.connection import Connection, Window, connection
from mlgraph.graph.context import context_of
from mlgraph.graph.errors import UserInputError
from mlgraph.graph.failure import ExecutionFailure
from mlgraph.graph.lookahead import argument, selected, start
from mlgraph.graph.ids import global_id, native_id
from mlgraph.graph.interfaces import (
    Artifact,
    ArtifactVersion,
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
    Service,
    Tag,
    User,
)
from mlgraph.graph.plan import batch_resolver, wants_selection
from mlgraph.graph.zenml.dag import PlannedStep, RunDag, Vertex
from mlgraph.graph.zenml.loaders import ALWAYS_HYDRATED, ZenMLLoaders
from mlgraph.graph.zenml.metadata import asks_metadata, reads_metadata

@strawberry.enum(description="ZenML's own step and run statuses.")
class ZenMLExecutionStatus(Enum):
    INITIALIZING = "initializing"
    PROVISIONING = "provisioning"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CACHED = "cached"
    RETRYING = "retrying"
    RETRIED = "retried"
    STOPPED = "stopped"
    STOPPING = "stopping"


#: Every native ZenML step and run status, mapped to the unified one.
STATUS_MAP: dict[str, ExecutionStatus] = {
    "initializing": ExecutionStatus.QUEUED,
    "provisioning": ExecutionStatus.QUEUED,
    "running": ExecutionStatus.RUNNING,
    "retrying": ExecutionStatus.RUNNING,
    "stopping": ExecutionStatus.RUNNING,
    "completed": ExecutionStatus.SUCCEEDED,
    "failed": ExecutionStatus.FAILED,
    "retried": ExecutionStatus.FAILED,
    "stopped": ExecutionStatus.STOPPED,
    "cached": ExecutionStatus.CACHED,
}


def status_filter(statuses: set[ExecutionStatus]) -> str:
    """ZenML's filter for the runs or steps in one of ``statuses``: every
    native status that maps onto one of them (a filter no status matches
    asks for none)."""
    natives = [native for native, unified in STATUS_MAP.items() if unified in statuses]
    return wire.oneof(natives or ["-"])


T = TypeVar("T", bound="ZenMLNode")


def execution_status(native: str) -> ExecutionStatus:
    return STATUS_MAP.get(native.lower(), ExecutionStatus.UNKNOWN)


def failure_of(exception: wire.ZenMLExceptionInfo | None) -> ExecutionFailure | None:
    """What a step or run raised; servers before 0.98 send only the traceback."""
    if exception is None:
        return None
    return ExecutionFailure.of(
        exception.traceback, "exception_info", message=exception.message, exception_type=exception.source
    )


def zenml_id(value: str, type_name: str) -> str:
    """The ZenML UUID inside a global id of ``type_name``, or given bare.

    Every id from a client is checked here before it reaches a URL or a
    filter: ``../users/…`` must never become another endpoint, and a real
    server's 422 for a malformed UUID would fail the whole batch it rides in.
    """
    native = native_id(value, type_name)
    try:
        UUID(native)
    except ValueError:
        raise UserInputError(f"'{native[:80]}' is not a ZenML id") from None
    return native


def loaders(info: Info) -> ZenMLLoaders:
    return context_of(info).zenml


def window(info: Info, first: int | None, after: str | None) -> Window:
    settings = context_of(info).settings
    return Window.from_args(first, after, settings.default_page_size, settings.max_page_size)


async def load(info: Info, resource: wire.ZenMLResource, record_id: str, *, hydrated: bool = False) -> Any:
    """One record through its loader; a missing one is a NOT_FOUND error."""
    record = await loaders(info).by_id(resource, hydrated=hydrated).get(record_id)
    if record is None:
        raise NotFound(wire.PLATFORM, f"zenml {resource.label} {record_id} not found", 404)
    return record


async def related(info: Info, wrap: type[T], record_id: str | None, *, embedded: Any = None) -> T | None:
    """A related object: the copy the record embeds if the backend sent one,
    else its loader's. A reference to an object that is gone resolves to null."""
    if embedded is not None:
        return wrap(record=embedded, partial=True)
    if record_id is None:
        return None
    record = await loaders(info).by_id(wrap.resource).get(record_id)
    return wrap(record=record) if record is not None else None


async def fetched_records(info: Info, nodes: list[ZenMLNode], *, hydrated: bool) -> list[Any]:
    """Fuller records of many objects of one type, fetched in one batch:
    hydrated ones, or the records a list call gives for objects known only
    from a copy embedded in another record. An object whose record is gone
    gets a NOT_FOUND error in its place."""
    resource = nodes[0].resource
    loader = loaders(info).by_id(resource, hydrated=hydrated)
    await loader.get_many({node.record.id for node in nodes})
    records: list[Any] = []
    for node in nodes:
        record = loader.known.get(node.record.id)
        records.append(record or NotFound(wire.PLATFORM, f"zenml {resource.label} {node.record.id} not found", 404))
    return records


def record_field(
    attribute: str,
    returns: object,
    *,
    needs: str = "hydrated",
    thin_first: bool = False,
    settled: Callable[[Any], bool] | None = None,
    convert: Callable[[Any], Any] | None = None,
    **options: Any,
) -> Any:
    """A field read from a fuller record than the one at hand, when needed.

    ``needs="hydrated"``: the field lives in ``metadata`` (``thin_first``: thin
    records of some layouts carry it too; ``settled``: records for which the
    one at hand already holds the answer). ``needs="listed"``: the field is
    in every listed record, but not in copies embedded in other records
    (ZenML 0.98 sends those without ``resources``). The generic executor
    fetches per object, through the loaders; the level-by-level one fetches
    once for every object of a query level.
    """

    def ready(node: ZenMLNode) -> bool:
        record = node.record
        if record.hydrated:
            return True
        if needs == "listed":
            return not node.partial
        if settled is not None and settled(record):
            return True
        return thin_first and getattr(record, attribute) is not None

    def value(record: Any) -> Any:
        raw = getattr(record, attribute)
        return convert(raw) if convert is not None else raw

    async def many(sources: list[ZenMLNode], info: Info) -> list[Any]:
        pending = [node for node in sources if not ready(node)]
        fuller = await fetched_records(info, pending, hydrated=needs == "hydrated") if pending else []
        by_node = dict(zip((id(node) for node in pending), fuller))
        values = []
        for node in sources:
            record = by_node.get(id(node), node.record)
            values.append(record if isinstance(record, Exception) else value(record))
        return values

    @batch_resolver(many)
    async def resolve(self: ZenMLNode, info: Info) -> Any:
        (result,) = await many([self], info)
        if isinstance(result, Exception):
            raise result
        return result

    resolve.__annotations__ = {"info": Info, "return": returns}
    if needs == "hydrated":
        reads_metadata(resolve)
    return strawberry.field(resolver=resolve, **options)


def user_field() -> Any:
    """``user``: the user a record embeds, else its loader's, batched per level."""

    async def many(sources: list[ZenMLNode], info: Info) -> list[Any]:
        # Copies embedded in other records may name no user: their listed
        # records do, fetched in one batch, then the users in another.
        def embedded(record: Any) -> Any:
            return getattr(record, "user", None)

        pending = [node for node in sources if node.partial and embedded(node.record) is None and node.record.user_id is None]
        listed = dict(zip((id(node) for node in pending), await fetched_records(info, pending, hydrated=False) if pending else []))
        records = [listed.get(id(node), node.record) for node in sources]
        loader = loaders(info).by_id(wire.USERS)
        await loader.get_many(
            {r.user_id for r in records if not isinstance(r, Exception) and r.user_id and embedded(r) is None}
        )
        users: list[Any] = []
        for record in records:
            if isinstance(record, Exception):
                users.append(record)
            elif embedded(record) is not None:
                users.append(ZenMLUser(record=embedded(record), partial=True))
            else:
                user = loader.known.get(record.user_id) if record.user_id else None
                users.append(ZenMLUser(record=user) if user is not None else None)
        return users

    @batch_resolver(many)
    async def resolve(self: ZenMLNode, info: Info) -> Any:
        (user,) = await many([self], info)
        if isinstance(user, Exception):
            raise user
        return user

    resolve.__annotations__ = {"info": Info, "return": ZenMLUser | None}
    return strawberry.field(resolver=resolve)


async def page_of(
    info: Info,
    resource: wire.ZenMLResource,
    wrap: type[ZenMLNode],
    first: int | None,
    after: str | None,
    *,
    sort_by: str = "desc:created",
    filters: dict[str, str] | None = None,
) -> Connection[Any] | None:
    """A connection over a ZenML list endpoint: one call whatever the window,
    hydrated when the query asks the objects for a field only that carries
    (and for small records whose useful fields are all metadata)."""
    win = window(info, first, after)
    client = loaders(info).client
    hydrate = resource.path in ALWAYS_HYDRATED or asks_metadata(info, wrap)
    items, total = await fetch_window(
        win,
        lambda number, size: client.list(
            resource, page=number, size=size, hydrate=hydrate, sort_by=sort_by, filters=filters
        ),
    )
    loaders(info).prime(resource, items)
    return connection([wrap(record=item) for item in items], win, total)


async def fetch_window(
    win: Window, fetch: Callable[[int, int], Awaitable[wire.ZenMLPage[Any]]]
) -> tuple[list[Any], int]:
    """The window's records and the list's total, from the one page holding them.

    ZenML refuses a page past the last one (400); a cursor there, say from a
    list that shrank, gets an empty window, as Relay clients expect."""
    number, size, skip = win.page()
    try:
        page = await fetch(number, size)
    except Rejected as exc:
        if number == 1 or exc.status != 400:
            raise
        return [], (await fetch(1, 1)).total
    return page.items[skip : skip + win.limit], page.total


@strawberry.interface(description="Any ZenML object.")
class ZenMLNode(Node):
    """What every ZenML graph type shares: its record and how to hydrate it."""

    resource: ClassVar[wire.ZenMLResource]
    record: strawberry.Private[Any]
    #: Whether the record is a copy embedded in another record, which may
    #: lack what a listed record carries (tags, latest versions, ids).
    partial: strawberry.Private[bool] = False

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id(type(self).__name__, self.record.id))

    @strawberry.field(description="The platform's own id.")
    def native_id(self) -> str:
        return self.record.id

    @strawberry.field
    def platform(self) -> Platform:
        return Platform.ZENML

    @strawberry.field
    def created_at(self) -> datetime | None:
        return self.record.created

    #: Fields whose own call needs only the object's id and fails NOT_FOUND
    #: when it does not exist: asked with nothing else of the record but its
    #: id, the record itself is not fetched (``getter``).
    checked_by_children: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def start_children(cls, info: Info, record_id: str) -> None:
        """Start the calls the selection below this object will make that need
        nothing but its id (``lookahead``); most types have none."""

    async def complete(self, info: Info) -> Any:
        """The record with at least what a list call gives."""
        if self.record.hydrated or not self.partial:
            return self.record
        return await load(info, self.resource, self.record.id)

    async def hydrated(self, info: Info) -> Any:
        """The record with its metadata: itself if hydrated, else one batched fetch."""
        if self.record.hydrated:
            return self.record
        return await load(info, self.resource, self.record.id, hydrated=True)


@strawberry.type
class ZenMLUser(ZenMLNode, User):
    resource = wire.USERS
    record: strawberry.Private[wire.ZenMLUser]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    @strawberry.field
    def full_name(self) -> str | None:
        return self.record.full_name

    #: ZenML keeps no email for a service account (its API takes none).
    email = record_field("email", str | None, settled=lambda user: user.is_service_account is True)

    @strawberry.field
    def is_service_account(self) -> bool | None:
        return self.record.is_service_account

    @strawberry.field
    def is_admin(self) -> bool | None:
        return self.record.is_admin

    @strawberry.field
    def active(self) -> bool | None:
        return self.record.active


@strawberry.type
class ZenMLProject(ZenMLNode, Project):
    resource = wire.PROJECTS
    record: strawberry.Private[wire.ZenMLProject]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    @strawberry.field
    def display_name(self) -> str | None:
        return self.record.display_name

    description = record_field("description", str | None)


@strawberry.type
class ZenMLTag(ZenMLNode, Tag):
    resource = wire.TAGS
    record: strawberry.Private[wire.ZenMLTag]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    @strawberry.field
    def color(self) -> str | None:
        return self.record.color

    @strawberry.field
    def exclusive(self) -> bool | None:
        return self.record.exclusive

    @strawberry.field
    def tagged_count(self) -> int | None:
        return self.record.tagged_count


def tag_list(tags: list[wire.ZenMLTag]) -> list[ZenMLTag]:
    return [ZenMLTag(record=tag) for tag in tags]


_MEMORY = re.compile(r"^\s*([\d.]+)\s*([KMGTP]?)(i?)B?\s*$", re.IGNORECASE)
_MEMORY_POWER = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5}


def memory_gib(value: Any) -> float | None:
    """ZenML memory settings are strings such as ``16GB`` or ``512Mi``."""
    if isinstance(value, (int, float)):
        return value / 2**30
    match = _MEMORY.match(str(value)) if value is not None else None
    if match is None:
        return None
    number, unit, binary = float(match[1]), match[2].upper(), bool(match[3])
    return round(number * (1024 if binary else 1000) ** _MEMORY_POWER[unit] / 2**30, 3)


@strawberry.type(description="The compute a ZenML step asked for in its resource settings.")
class ZenMLResourceSettings(HardwareTier):
    name: str | None
    cpu_cores: float | None
    memory_gib: float | None
    gpu_count: int | None
    gpu_type: str | None = None

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> ZenMLResourceSettings:
        cpu, gpu = settings.get("cpu_count"), settings.get("gpu_count")
        return cls(
            name=None,
            cpu_cores=float(cpu) if isinstance(cpu, (int, float)) else None,
            memory_gib=memory_gib(settings.get("memory")),
            gpu_count=int(gpu) if isinstance(gpu, (int, float)) else None,
        )


@strawberry.type(description="A named input or output of a step.")
class ZenMLStepArtifact:
    name: str
    artifact_version: ZenMLArtifactVersion


@strawberry.type
class ZenMLStepRun(ZenMLNode, Execution):
    resource = wire.STEP_RUNS
    record: strawberry.Private[wire.ZenMLStepRun]
    #: The run it was listed under: thin records do not name their run.
    run_hint: strawberry.Private[str | None] = None

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    @strawberry.field
    def status(self) -> ExecutionStatus:
        return execution_status(self.record.status)

    @strawberry.field
    def native_status(self) -> str:
        return self.record.status

    @strawberry.field
    def started_at(self) -> datetime | None:
        return self.record.start_time

    @strawberry.field
    def ended_at(self) -> datetime | None:
        return self.record.end_time

    @strawberry.field
    def duration_seconds(self) -> float | None:
        start, end = self.record.start_time, self.record.end_time
        return (end - start).total_seconds() if start and end else None

    user = user_field()

    def _versions(
        self, mapping: dict[str, list[wire.ZenMLArtifactVersion]], *, written: bool
    ) -> list[tuple[str, ZenMLArtifactVersion]]:
        """Named artifact versions of this step. What a step that really ran
        wrote, it produced; a cached step's outputs were produced by the
        original run, so only the record itself can say."""
        produced_by = self if written and self.record.status != "cached" else None
        return [
            (name, ZenMLArtifactVersion(record=record, produced_by=produced_by, partial=True))
            for name, versions in mapping.items()
            for record in versions
        ]

    @strawberry.field
    def inputs(self) -> list[ZenMLArtifactVersion]:
        return [version for _, version in self._versions(self.record.inputs, written=False)]

    @strawberry.field
    def outputs(self) -> list[ZenMLArtifactVersion]:
        return [version for _, version in self._versions(self.record.outputs, written=True)]

    @strawberry.field(description="Inputs with the names the step gave them.")
    def named_inputs(self) -> list[ZenMLStepArtifact]:
        return [
            ZenMLStepArtifact(name=name, artifact_version=version)
            for name, version in self._versions(self.record.inputs, written=False)
        ]

    @strawberry.field(description="Outputs with the names the step gave them.")
    def named_outputs(self) -> list[ZenMLStepArtifact]:
        return [
            ZenMLStepArtifact(name=name, artifact_version=version)
            for name, version in self._versions(self.record.outputs, written=True)
        ]

    @strawberry.field
    @reads_metadata
    async def resources(self, info: Info) -> ZenMLResourceSettings | None:
        settings = (await self.hydrated(info)).resource_settings
        return ZenMLResourceSettings.from_settings(settings) if settings else None

    async def run_id(self, info: Info) -> str | None:
        return self.record.pipeline_run_id or self.run_hint or (await self.hydrated(info)).pipeline_run_id

    @strawberry.field
    @reads_metadata
    async def pipeline_run(self, info: Info) -> ZenMLPipelineRun | None:
        return await related(info, ZenMLPipelineRun, await self.run_id(info))

    @strawberry.field(description="The steps of the same run this one waited for (ZenML's parent steps).")
    @reads_metadata
    async def upstream(self, info: Info) -> list[ZenMLStepRun] | None:
        parent_ids = (await self.hydrated(info)).parent_step_ids or []
        parents = await loaders(info).by_id(wire.STEP_RUNS).get_many(parent_ids)
        return [ZenMLStepRun(record=parent) for parent in parents if parent is not None]

    @strawberry.field(
        description="The steps of the same run that waited for this one, those that never started too: its run's DAG."
    )
    @reads_metadata
    async def downstream(self, info: Info) -> list[Execution] | None:
        run_id = await self.run_id(info)
        if run_id is None:
            return None
        dag = await loaders(info).dag_of(run_id)
        return [execution_of(vertex, dag) for vertex in dag.downstream(self.record.id)]

    failure = record_field(
        "exception_info",
        ExecutionFailure | None,
        settled=lambda step: execution_status(step.status) is not ExecutionStatus.FAILED,
        convert=failure_of,
        description="What it raised (ZenML's `exception_info`), if it failed.",
    )

    @strawberry.field(description="For a cached step, the step run whose outputs it reused.")
    @reads_metadata
    async def original_step_run(self, info: Info) -> ZenMLStepRun | None:
        original_id = self.record.original_step_run_id or (await self.hydrated(info)).original_step_run_id
        return await related(info, ZenMLStepRun, original_id)

    @strawberry.field
    async def model_version(self, info: Info) -> ZenMLModelVersion | None:
        record = await self.complete(info)
        return await related(info, ZenMLModelVersion, record.model_version_id, embedded=record.model_version)

    cache_key = record_field("cache_key", str | None)

    code_hash = record_field("code_hash", str | None)

    docstring = record_field("docstring", str | None)

    source_code = record_field("source_code", str | None)

    config = record_field("config", JSON | None)

    run_metadata = record_field("run_metadata", JSON | None)


@strawberry.type
class ZenMLPipeline(ZenMLNode):
    resource = wire.PIPELINES
    record: strawberry.Private[wire.ZenMLPipeline]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    user = user_field()

    tags = record_field("tags", list[ZenMLTag], needs="listed", convert=tag_list)

    latest_run_status = record_field(
        "latest_run_status",
        ExecutionStatus | None,
        needs="listed",
        convert=lambda status: execution_status(status) if status else None,
    )

    @strawberry.field
    async def latest_run(self, info: Info) -> ZenMLPipelineRun | None:
        return await related(info, ZenMLPipelineRun, (await self.complete(info)).latest_run_id)

    @strawberry.field(description="Runs of this pipeline, newest first.")
    @wants_selection
    async def runs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ZenMLPipelineRun] | None:
        return await page_of(
            info, wire.PIPELINE_RUNS, ZenMLPipelineRun, first, after, filters={"pipeline_id": self.record.id}
        )


@strawberry.type
class ZenMLPipelineRun(ZenMLNode, PipelineRun):
    resource = wire.PIPELINE_RUNS
    record: strawberry.Private[wire.ZenMLPipelineRun]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    @strawberry.field
    def status(self) -> ExecutionStatus:
        return execution_status(self.record.status)

    @strawberry.field
    def native_status(self) -> str:
        return self.record.status

    @strawberry.field
    def status_reason(self) -> str | None:
        return self.record.status_reason

    started_at = record_field("start_time", datetime | None, thin_first=True)
    ended_at = record_field("end_time", datetime | None, thin_first=True)

    user = user_field()

    tags = record_field("tags", list[ZenMLTag], needs="listed", convert=tag_list)

    @strawberry.field
    async def pipeline(self, info: Info) -> ZenMLPipeline | None:
        return await related(info, ZenMLPipeline, self.record.pipeline_id, embedded=self.record.pipeline)

    @strawberry.field
    async def model_version(self, info: Info) -> ZenMLModelVersion | None:
        record = await self.complete(info)
        return await related(info, ZenMLModelVersion, record.model_version_id, embedded=record.model_version)

    run_metadata = record_field("run_metadata", JSON | None)

    @strawberry.field(description="The run's step runs (ZenMLStepRun) in the order they were created.")
    async def steps(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Execution] | None:
        win = window(info, first, after)
        run_loaders = loaders(info)
        if run_loaders.lists_hydrated(self.record.id):
            every = await self.every_step(info)
            records, total = every[win.offset : win.offset + win.limit], len(every)
        else:
            client = run_loaders.client
            records, total = await fetch_window(
                win, lambda number, size: client.run_steps(self.record.id, page=number, size=size)
            )
            run_loaders.prime(wire.STEP_RUNS, records)
        steps = [ZenMLStepRun(record=step, run_hint=self.record.id) for step in records]
        return connection(steps, win, total)

    async def every_step(self, info: Info) -> list[wire.ZenMLStepRun]:
        """Every step of the run, hydrated. No steps may mean no run: then the
        run is read, so a missing one is NOT_FOUND as on ``/runs/{id}/steps``."""
        steps = await loaders(info).steps_of(self.record.id, hydrated=True)
        if not steps:
            await self.complete(info)
        return steps

    #: ``/runs/{id}/steps`` is 404 for no run; ``every_step`` and the DAG check.
    checked_by_children: ClassVar[frozenset[str]] = frozenset({"steps", "dag", "failedExecutions", "neverStarted"})

    @classmethod
    def start_children(cls, info: Info, record_id: str) -> None:
        """In the run's round trip: every step hydrated when the DAG is asked
        (the steps' page is then a slice of that list), else the steps' page.
        Not for the failed steps alone: most runs did not fail, and their
        record says so without that call."""
        if selected(info, "dag") is not None or selected(info, "neverStarted") is not None:
            start(loaders(info).steps_of(record_id, hydrated=True))
            return
        steps = selected(info, "steps")
        if steps is None:
            return
        try:
            win = window(info, argument(steps, "first"), argument(steps, "after"))
        except Exception:  # the field reports its own bad arguments
            return
        client = loaders(info).client
        start(fetch_window(win, lambda number, size: client.run_steps(record_id, page=number, size=size)))

    @strawberry.field(
        description="Every step the run planned, with the steps it waited for and those that waited for it. "
        "Steps that never started are ZenMLSnapshotStep, from the run's snapshot."
    )
    async def dag(self, info: Info) -> list[ExecutionDependency] | None:
        dag = await loaders(info).dag_of(self.record.id)
        executions = {vertex.id: execution_of(vertex, dag) for vertex in dag.vertices}
        return [
            ExecutionDependency(
                execution=executions[vertex.id],
                upstream=[executions[up.id] for up in dag.upstream(vertex.id)],
                downstream=[executions[down.id] for down in dag.downstream(vertex.id)],
            )
            for vertex in dag.vertices
        ]

    @strawberry.field(description="The steps its snapshot planned that never started.")
    async def never_started(self, info: Info) -> list[ZenMLSnapshotStep] | None:
        dag = await loaders(info).dag_of(self.record.id)
        return [ZenMLSnapshotStep(record=step, dag=dag) for step in dag.planned.values()]

    @strawberry.field(description="Its step runs that failed; a run that did not fail costs no call.")
    async def failed_executions(self, info: Info) -> list[ZenMLStepRun] | None:
        if execution_status(self.record.status) not in (ExecutionStatus.FAILED, ExecutionStatus.UNKNOWN):
            return []
        steps = await self.every_step(info)
        return [ZenMLStepRun(record=step, run_hint=self.record.id) for step in steps if step.status == "failed"]

    @strawberry.field(
        description="Why the run itself failed (its `exception_info`, else its `status_reason`); "
        "a step's failure is the step's, under failedExecutions."
    )
    @reads_metadata
    async def failure(self, info: Info) -> ExecutionFailure | None:
        if execution_status(self.record.status) is not ExecutionStatus.FAILED:
            return None
        record = await self.hydrated(info)
        return failure_of(record.exception_info) or ExecutionFailure.of(record.status_reason, "status_reason")


@strawberry.type(
    description="A step of a run's snapshot that never started: ZenML makes no step run for it. SKIPPED once "
    "a step it waits for failed or stopped, or its run ended; QUEUED while it may still start."
)
class ZenMLSnapshotStep(ZenMLNode, Execution):
    """Its native id is its run's id and its name: ZenML gives it no id."""

    record: strawberry.Private[PlannedStep]
    dag: strawberry.Private[RunDag]

    @strawberry.field(description="Its invocation id, which a step run of it would be named.")
    def name(self) -> str:
        return self.record.name

    @strawberry.field
    def status(self) -> ExecutionStatus:
        return self.dag.status(self.record)

    @strawberry.field(description="`not_started`: ZenML has no step run, so no status, for it.")
    def native_status(self) -> str:
        return "not_started"

    @strawberry.field
    def started_at(self) -> datetime | None:
        return None

    @strawberry.field
    def ended_at(self) -> datetime | None:
        return None

    @strawberry.field
    def duration_seconds(self) -> float | None:
        return None

    @strawberry.field(description="No one: it never ran.")
    def user(self) -> User | None:
        return None

    @strawberry.field
    def inputs(self) -> list[ArtifactVersion]:
        return []

    @strawberry.field
    def outputs(self) -> list[ArtifactVersion]:
        return []

    @strawberry.field(description="The compute its configuration asks for.")
    def resources(self) -> ZenMLResourceSettings | None:
        settings = self.record.configuration.resource_settings
        return ZenMLResourceSettings.from_settings(settings) if settings else None

    @strawberry.field
    async def pipeline_run(self, info: Info) -> ZenMLPipelineRun | None:
        return await related(info, ZenMLPipelineRun, self.record.run_id)

    @strawberry.field(description="The steps of its run it waits for, as its snapshot wires it.")
    def upstream(self) -> list[Execution] | None:
        return [execution_of(vertex, self.dag) for vertex in self.dag.upstream(self.record.id)]

    @strawberry.field(description="The steps of its run that wait for it.")
    def downstream(self) -> list[Execution] | None:
        return [execution_of(vertex, self.dag) for vertex in self.dag.downstream(self.record.id)]

    @strawberry.field(description="Null: it never ran.")
    def failure(self) -> ExecutionFailure | None:
        return None


def execution_of(vertex: Vertex, dag: RunDag) -> ZenMLStepRun | ZenMLSnapshotStep:
    """A vertex of a run's DAG as the graph shows it."""
    if isinstance(vertex, PlannedStep):
        return ZenMLSnapshotStep(record=vertex, dag=dag)
    return ZenMLStepRun(record=vertex, run_hint=dag.run_id)


async def snapshot_step(info: Info, native: str) -> ZenMLSnapshotStep:
    """A never-started step by its native id (run id and name); once it has
    started it is a step run, and this id names nothing."""
    run_id, _, name = native.partition("/")
    dag = await loaders(info).dag_of(zenml_id(run_id, ZenMLPipelineRun.__name__))
    step = dag.planned.get(name)
    if step is None:
        raise NotFound(wire.PLATFORM, f"zenml run {run_id} has no never-started step {name[:80]!r}", 404)
    return ZenMLSnapshotStep(record=step, dag=dag)


@strawberry.type
class ZenMLArtifact(ZenMLNode, Artifact):
    resource = wire.ARTIFACTS
    record: strawberry.Private[wire.ZenMLArtifact]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    tags = record_field("tags", list[ZenMLTag], needs="listed", convert=tag_list)

    @strawberry.field
    async def latest_version(self, info: Info) -> ZenMLArtifactVersion | None:
        return await related(info, ZenMLArtifactVersion, (await self.complete(info)).latest_version_id)

    @strawberry.field(description="Versions of this artifact, newest first.")
    @wants_selection
    async def versions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ZenMLArtifactVersion] | None:
        return await page_of(
            info, wire.ARTIFACT_VERSIONS, ZenMLArtifactVersion, first, after, filters={"artifact_id": self.record.id}
        )


@strawberry.type
class ZenMLArtifactVersion(ZenMLNode, ArtifactVersion):
    resource = wire.ARTIFACT_VERSIONS
    record: strawberry.Private[wire.ZenMLArtifactVersion]
    #: The step run that wrote it, when it was reached as that step's output.
    produced_by: strawberry.Private[ZenMLStepRun | None] = None

    # Versions embedded in a thin step may not embed their artifact: then the
    # name comes from the hydrated versions, one batch per query level.
    name = record_field("artifact_name", str | None, thin_first=True, description="The artifact's name.")

    @strawberry.field
    def version(self) -> str | None:
        return self.record.version

    @strawberry.field
    def uri(self) -> str | None:
        return self.record.uri

    @strawberry.field
    def type(self) -> str | None:
        return self.record.type

    @strawberry.field
    def save_type(self) -> str | None:
        return self.record.save_type

    @strawberry.field
    def content_hash(self) -> str | None:
        return self.record.content_hash

    @strawberry.field
    def materializer(self) -> JSON | None:
        return self.record.materializer

    @strawberry.field
    def data_type(self) -> JSON | None:
        return self.record.data_type

    tags = record_field("tags", list[ZenMLTag], needs="listed", convert=tag_list)

    user = user_field()

    run_metadata = record_field("run_metadata", JSON | None)

    @strawberry.field
    async def artifact(self, info: Info) -> ZenMLArtifact | None:
        return await related(info, ZenMLArtifact, self.record.artifact_id, embedded=self.record.artifact)

    @strawberry.field
    def producer(self, info: Info) -> ZenMLStepRun | None:
        if self.produced_by is not None:
            return self.produced_by
        return self._recorded_producer(info)  # type: ignore[return-value]  # awaited by the executor

    async def _recorded_producer(self, info: Info) -> ZenMLStepRun | None:
        producer_id = self.record.producer_step_run_id or (await self.hydrated(info)).producer_step_run_id
        return await related(info, ZenMLStepRun, producer_id)

    @strawberry.field
    async def consumers(self, info: Info) -> list[ZenMLStepRun] | None:
        run_id = (
            self.record.producer_pipeline_run_id
            or (self.produced_by and (self.produced_by.record.pipeline_run_id or self.produced_by.run_hint))
            or (await self.hydrated(info)).producer_pipeline_run_id
        )
        if run_id is None:
            return []
        steps = await loaders(info).steps_of(run_id)
        return [
            ZenMLStepRun(record=step, run_hint=run_id)
            for step in steps
            if any(version.id == self.record.id for versions in step.inputs.values() for version in versions)
        ]


@strawberry.type
class ZenMLModel(ZenMLNode, Model):
    resource = wire.MODELS
    record: strawberry.Private[wire.ZenMLModel]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    description = record_field("description", str | None)

    license = record_field("license", str | None)

    tags = record_field("tags", list[ZenMLTag], needs="listed", convert=tag_list)

    user = user_field()

    @strawberry.field
    async def latest_version(self, info: Info) -> ZenMLModelVersion | None:
        return await related(info, ZenMLModelVersion, (await self.complete(info)).latest_version_id)

    @strawberry.field(description="Versions of this model, newest first.")
    @wants_selection
    async def versions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ZenMLModelVersion] | None:
        return await page_of(
            info, wire.MODEL_VERSIONS, ZenMLModelVersion, first, after, filters={"model_id": self.record.id}
        )


@strawberry.type
class ZenMLModelVersion(ZenMLNode, ModelVersion):
    resource = wire.MODEL_VERSIONS
    record: strawberry.Private[wire.ZenMLModelVersion]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    @strawberry.field
    def number(self) -> int | None:
        return self.record.number

    @strawberry.field
    def stage(self) -> str | None:
        return self.record.stage

    description = record_field("description", str | None)

    run_metadata = record_field("run_metadata", JSON | None)

    tags = record_field("tags", list[ZenMLTag], needs="listed", convert=tag_list)

    user = user_field()

    @strawberry.field
    async def model(self, info: Info) -> ZenMLModel | None:
        return await related(info, ZenMLModel, self.record.model_id, embedded=self.record.model)

    @strawberry.field(description="The runs linked to this version (the ones that produced it), newest first.")
    @wants_selection
    async def pipeline_runs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ZenMLPipelineRun] | None:
        return await page_of(
            info, wire.PIPELINE_RUNS, ZenMLPipelineRun, first, after, filters={"model_version_id": self.record.id}
        )


@strawberry.type(description="What kind of service it is, as ZenML describes it.")
class ZenMLServiceType:
    type: str | None
    flavor: str | None
    name: str | None
    description: str | None


@strawberry.type
class ZenMLService(ZenMLNode, Service):
    resource = wire.SERVICES
    record: strawberry.Private[wire.ZenMLService]

    @strawberry.field
    def name(self) -> str:
        return self.record.name or ""

    @strawberry.field
    def state(self) -> str | None:
        return self.record.state

    @strawberry.field
    def service_type(self) -> ZenMLServiceType:
        kind = self.record.service_type
        return ZenMLServiceType(
            type=kind.get("type"), flavor=kind.get("flavor"), name=kind.get("name"), description=kind.get("description")
        )

    @strawberry.field
    def labels(self) -> JSON | None:
        return self.record.labels

    user = user_field()

    admin_state = record_field("admin_state", str | None)

    service_source = record_field("service_source", str | None)

    config = record_field("config", JSON | None)

    status_document = record_field("status", JSON | None, name="serviceStatus", description="The service's own status document.")

    endpoint = record_field("endpoint", JSON | None)

    prediction_url = record_field("prediction_url", str | None)

    health_check_url = record_field("health_check_url", str | None)

    # Listed services embed their run and model version (``resources``).

    @strawberry.field
    async def pipeline_run(self, info: Info) -> ZenMLPipelineRun | None:
        record = self.record if self.record.pipeline_run_id else await self.hydrated(info)
        return await related(info, ZenMLPipelineRun, record.pipeline_run_id, embedded=record.pipeline_run)

    @strawberry.field
    async def model_version(self, info: Info) -> ZenMLModelVersion | None:
        record = self.record if self.record.model_version_id else await self.hydrated(info)
        return await related(info, ZenMLModelVersion, record.model_version_id, embedded=record.model_version)


#: Graph types by name, for ``node(id:)``.
NODE_TYPES: dict[str, type[ZenMLNode]] = {
    cls.__name__: cls
    for cls in (
        ZenMLStepRun,
        ZenMLPipelineRun,
        ZenMLPipeline,
        ZenMLArtifact,
        ZenMLArtifactVersion,
        ZenMLModel,
        ZenMLModelVersion,
        ZenMLUser,
        ZenMLProject,
        ZenMLTag,
        ZenMLService,
    )
}
