"""Domino Data Lab's public REST API (seed 004): wire models and the async client.

Single objects arrive in an envelope named after them (``{"job": {…},
"metadata": {…}}``), pages as ``{"jobs": […], "metadata": {…}}`` with the
paging numbers flat in ``metadata`` (as Domino's servers send them) or under
``metadata.pagination`` (as the published spec names them); both are read.
Registered models break the pattern: a model or a version comes bare, version
lists as ``{"items", "metadata"}`` and the model list pages by token.

Enum words come as the spec spells them (``public``, ``commitId``) or
capitalised (``Public``, ``CommitId``), so enums match case-insensitively and
keep an ``UNKNOWN`` for words a newer server may add. Unknown fields are ignored.

Domino has no call that fetches several ids: ``get_many`` makes the single
gets concurrently under the connection's bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from mlgraph.backends.cache import CATALOGUE, TERMINAL, Keep, read_json
from mlgraph.backends.client import POOL_CONNECTIONS, BackendConnection, SingleGetClient
from mlgraph.backends.errors import BadResponse, NotFound
from mlgraph.backends.resilience import readiness_check
from mlgraph.backends.wire import NullableDict, NullableList, ReadAs, ReadThroughModel, or_default

PLATFORM = "domino"
#: Domino's pages hold at most this many objects (and hardware tiers and users are few).
MAX_PAGE_SIZE = 1000
#: Pages read at most to list users or tiers whole (100,000 users at 1000 a page).
MAX_LIST_PAGES = 100
#: The log endpoint refuses more lines than this at once.
MAX_LOG_LINES = 10_000


class CaseInsensitiveEnum(str, Enum):
    """A wire enum read whatever the case; a word no member has is ``UNKNOWN``."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            folded = value.casefold()
            for member in cls:
                if member.value.casefold() == folded:
                    return member
        return cls.__members__.get("UNKNOWN")


class ProjectVisibility(CaseInsensitiveEnum):
    PUBLIC = "public"
    SEARCHABLE = "searchable"
    PRIVATE = "private"
    UNKNOWN = "unknown"


class EnvironmentVisibility(CaseInsensitiveEnum):
    GLOBAL = "global"
    PRIVATE = "private"
    ORGANIZATION = "organization"
    UNKNOWN = "unknown"


class GitRefType(CaseInsensitiveEnum):
    HEAD = "head"
    BRANCH = "branch"
    BRANCHES = "branches"
    TAG = "tag"
    TAGS = "tags"
    COMMIT = "commit"
    COMMIT_ID = "commitId"
    UNKNOWN = "unknown"


class LogType(CaseInsensitiveEnum):
    STD_OUT = "stdOut"
    STD_ERR = "stdErr"
    PREPARE_OUTPUT = "prepareOutput"
    COMPLETE = "complete"
    UNKNOWN = "unknown"


class SnapshotStatus(CaseInsensitiveEnum):
    ACTIVE = "active"
    MARK_FOR_DELETION = "markForDeletion"
    DELETION_IN_PROGRESS = "deletionInProgress"
    DELETED = "deleted"
    PENDING = "pending"
    FAILED = "failed"
    COPYING = "copying"
    UNKNOWN = "unknown"


E = TypeVar("E", bound=CaseInsensitiveEnum)


def read_enum(enum: type[E]) -> ReadAs:
    """Store the word as sent; read it as ``enum`` (case-insensitively) when
    the graph asks, so a page validates without a Python call per record."""
    return ReadAs(lambda word: enum(word) if word is not None else None)


class DominoModel(ReadThroughModel):
    """camelCase on the wire, snake_case in Python; unknown fields ignored.

    The seed marks nearly nothing required and one ``null`` must not fail a
    whole page: every field accepts ``null``, and fields with a default
    other than ``None`` read ``null`` as that default (``or_default``).
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)




class DominoPagination(DominoModel):
    offset: int | None = None
    limit: int | None = None
    total_count: int | None = None
    next_page_token: str | None = None


class DominoMetadata(DominoModel):
    request_id: str | None = None
    notices: NullableList[str] = None
    offset: int | None = None
    limit: int | None = None
    total_count: int | None = None
    pagination: DominoPagination | None = None
    next_page_token: str | None = None

    @property
    def total(self) -> int | None:
        if self.total_count is not None:
            return self.total_count
        return self.pagination.total_count if self.pagination else None

    @property
    def page_token(self) -> str | None:
        """The registered-model list's token for the next page, if any."""
        if self.next_page_token:
            return self.next_page_token
        return self.pagination.next_page_token if self.pagination else None


class DominoUser(DominoModel):
    id: str
    user_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    email: str | None = None
    company_name: str | None = None
    avatar_url: str | None = None
    phone_number: str | None = None


class DominoProject(DominoModel):
    id: str
    name: str | None = None
    description: str | None = None
    owner_id: str | None = None
    owner_username: str | None = None
    visibility: Annotated[str | None, read_enum(ProjectVisibility)] = None
    collaborators: NullableList[dict[str, Any]] = None


class DominoInformation(DominoModel):
    """An amount of memory with its unit (MB, MiB, GB, GiB)."""

    value: float | None = None
    units: str | None = Field(None, validation_alias=AliasChoices("units", "unit"))

    @property
    def gib(self) -> float | None:
        if self.value is None:
            return None
        factor = {"mb": 1e6 / 2**30, "mib": 1 / 1024, "gb": 1e9 / 2**30, "gib": 1.0}
        return round(self.value * factor.get((self.units or "GiB").casefold(), 1.0), 3)


class DominoTierResources(DominoModel):
    cores: float | None = None
    cores_limit: float | None = None
    memory: DominoInformation | None = None
    memory_limit: DominoInformation | None = None
    allow_shared_memory_to_exceed_default: bool | None = None


class DominoGpuConfiguration(DominoModel):
    gpu_key: str | None = None
    number_of_gpus: int | None = None


class DominoTierCapacity(DominoModel):
    available_capacity_without_launching: int | None = None
    capacity_level: str | None = None
    executing_runs: int | None = None
    max_available_capacity: int | None = None
    max_concurrent_runs: int | None = None
    max_number_of_executors: int | None = None
    number_of_executors: int | None = None
    queued_runs: int | None = None


class DominoTierFlags(DominoModel):
    is_archived: Annotated[bool | None, or_default(lambda: False)] = None
    is_data_analyst_tier: Annotated[bool | None, or_default(lambda: False)] = None
    is_default: Annotated[bool | None, or_default(lambda: False)] = None
    is_default_for_model_api: Annotated[bool | None, or_default(lambda: False)] = None
    is_global: Annotated[bool | None, or_default(lambda: False)] = None
    is_model_api_tier: Annotated[bool | None, or_default(lambda: False)] = None
    is_visible: Annotated[bool | None, or_default(lambda: True)] = None


class DominoHardwareTier(DominoModel):
    id: str
    name: str | None = None
    cents_per_minute: float | None = None
    resources: DominoTierResources | None = None
    gpu_configuration: DominoGpuConfiguration | None = None
    capacity: DominoTierCapacity | None = None
    flags: Annotated[DominoTierFlags | None, or_default(lambda: DominoTierFlags())] = None
    node_pool: str | None = None
    max_simultaneous_executions: int | None = None
    availability_zones: NullableList[str] = None
    tags: NullableList[str] = None
    creation_time: datetime | None = None
    update_time: datetime | None = None


class DominoJobStatus(DominoModel):
    execution_status: Annotated[str | None, or_default(lambda: "Unknown")] = None
    is_completed: bool | None = None
    is_archived: bool | None = None
    is_scheduled: bool | None = None


class DominoStageTimes(DominoModel):
    submission_time: datetime | None = None
    start_time: datetime | None = None
    completed_time: datetime | None = None


class DominoJobUsage(DominoModel):
    cpu_percentage: float | None = None
    memory_gi_b: float | None = Field(None, validation_alias=AliasChoices("memoryGiB", "memoryGib"))


class DominoCommitDetails(DominoModel):
    input_commit_id: str | None = None
    output_commit_id: str | None = None


class DominoComputeCluster(DominoModel):
    cluster_type: str | None = None
    compute_environment_id: str | None = None
    master_hardware_tier_id: str | None = None
    worker_hardware_tier: str | None = None
    worker_count: int | None = None
    max_worker_count: int | None = None
    worker_storage_mb: float | None = Field(None, validation_alias=AliasChoices("workerStorageMB", "workerStorageMb"))


class DominoDatasetMount(DominoModel):
    id: str | None = None
    dataset_name: str | None = None
    project_id: str | None = None
    snapshot_id: str | None = None
    snapshot_version: int | None = None
    is_input: bool | None = None
    container_path: str | None = None


class DominoGitRef(DominoModel):
    ref_type: Annotated[str | None, read_enum(GitRefType)] = None
    value: str | None = None


class DominoStat(DominoModel):
    name: str
    value: str | None = None


class DominoTag(DominoModel):
    id: str
    name: str
    created_at: datetime | None = None
    creator_id: str | None = None


class DominoQueuedDetails(DominoModel):
    expected_wait: str | None = None
    explanation: str | None = None
    help_text: str | None = None


class DominoJob(DominoModel):
    """A job: ``JobV1`` from a list, ``JobDetailsV1`` (``detailed``) from a get.

    The record names its own project only as the first of ``projects`` (the
    mounted projects); a top-level ``projectId`` wins if a server sends one.
    """

    id: str
    number: int | None = None
    title: str | None = None
    run_command: str | None = None
    started_by_id: str | None = None
    project_id: str | None = Field(
        None, validation_alias=AliasChoices("projectId", AliasPath("projects", 0, "projectId"))
    )
    status: Annotated[DominoJobStatus | None, or_default(lambda: DominoJobStatus())] = None
    stage_times: Annotated[DominoStageTimes | None, or_default(lambda: DominoStageTimes())] = None
    usage: DominoJobUsage | None = None
    commit_details: DominoCommitDetails | None = None
    compute_cluster: DominoComputeCluster | None = None
    dataset_mounts: NullableList[DominoDatasetMount] = None
    main_repo_git_ref: DominoGitRef | None = None
    domino_stats: NullableList[DominoStat] = None
    run_launcher_id: str | None = None
    # Only in JobDetailsV1: a listed record leaves these out.
    tags: list[DominoTag] | None = None
    goal_ids: list[str] | None = None
    comments_count: int | None = None
    queued_job_status_details: DominoQueuedDetails | None = None

    @property
    def detailed(self) -> bool:
        return self.tags is not None

    @property
    def hardware_tier_id(self) -> str | None:
        return self.compute_cluster.master_hardware_tier_id if self.compute_cluster else None


class DominoLogLine(DominoModel):
    log: Annotated[str | None, or_default(str)] = None
    log_type: Annotated[str | None, read_enum(LogType)] = None
    size: int | None = None
    timestamp: datetime | None = None


class DominoJobLogs(DominoModel):
    help_link: str | None = None
    is_complete: bool | None = None
    log_content: NullableList[DominoLogLine] = None
    problem: str | None = None


class DominoDataset(DominoModel):
    id: str
    name: str | None = None
    description: str | None = None
    project_id: str | None = None
    created_at: datetime | None = None
    snapshot_ids: NullableList[str] = None
    #: Tag name -> the snapshot it points at.
    tags: NullableDict = None


class DominoDatasetProjectInfo(DominoModel):
    project_id: str | None = None
    project_name: str | None = None
    project_owner_username: str | None = None


class DominoDatasetInfo(DominoModel):
    """A ``/v2/datasets`` item: the dataset and, if asked for, its project's names."""

    dataset: DominoDataset
    project_info: DominoDatasetProjectInfo | None = None


class DominoSnapshot(DominoModel):
    id: str
    dataset_id: str | None = None
    version: int | None = None
    creator_id: str | None = None
    created_at: datetime | None = None
    description: str | None = None
    status: Annotated[str | None, read_enum(SnapshotStatus)] = None
    last_mounted: datetime | None = None


class DominoModelProject(DominoModel):
    id: str | None = None
    name: str | None = None
    owner_username: str | None = None
    is_git_based_project: bool | None = None


class DominoRegisteredModel(DominoModel):
    name: str
    description: str | None = None
    latest_version: int | None = None
    owner_username: str | None = None
    project: DominoModelProject | None = None
    discoverable: bool | None = None
    tags: NullableDict = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.name


class DominoModelVersion(DominoModel):
    """A registered model version: an overview from a list, details from a get."""

    model_name: str
    model_version: int
    model_version_description: str | None = None
    experiment_run_id: str | None = None
    current_stage: str | None = None
    owner_username: str | None = None
    project: DominoModelProject | None = None
    tags: NullableDict = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def id(self) -> str:
        return model_version_key(self.model_name, self.model_version)


def model_version_key(model_name: str, version: int) -> str:
    """One string naming a version: Domino names it by model name and number."""
    return f"{model_name}/{version}"


class DominoEnvironmentOwner(DominoModel):
    id: str | None = None
    owner_type: str | None = None
    username: str | None = None


class DominoEnvironmentRevision(DominoModel):
    id: str | None = None
    number: int | None = None
    status: str | None = None


class DominoEnvironment(DominoModel):
    id: str
    name: str | None = None
    archived: bool | None = None
    visibility: Annotated[str | None, read_enum(EnvironmentVisibility)] = None
    owner: DominoEnvironmentOwner | None = None
    latest_revision: DominoEnvironmentRevision | None = None
    selected_revision: DominoEnvironmentRevision | None = None
    active_revision_tags: NullableList[str] = None
    is_curated: bool | None = None


R = TypeVar("R", bound=BaseModel)


class DominoPage(ReadThroughModel, Generic[R]):
    """A page under whichever key the endpoint names its objects."""

    model_config = ConfigDict(extra="ignore")

    items: list[R] = Field(
        validation_alias=AliasChoices(
            "items", "jobs", "hardwareTiers", "datasets", "snapshots", "projects", "users"
        )
    )
    metadata: Annotated[DominoMetadata | None, or_default(lambda: DominoMetadata())] = None

    @property
    def total(self) -> int | None:
        return self.metadata.total


class DominoEnvelope(BaseModel, Generic[R]):
    """A single object under the key named after it."""

    model_config = ConfigDict(extra="ignore")

    item: R = Field(
        validation_alias=AliasChoices(
            "job", "hardwareTier", "dataset", "snapshot", "project", "user", "environment", "tag", "logs"
        )
    )


M = TypeVar("M", bound=BaseModel)


class DominoConnection(BackendConnection):
    """Process-wide Domino state: the pool, the credential and the concurrency bound."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        api_key: str | None = None,
        token: str | None = None,
        max_concurrency: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = POOL_CONNECTIONS,
    ) -> None:
        super().__init__(base_url, timeout=timeout, transport=transport, max_connections=max_connections)
        if api_key is not None:
            self.headers = {"X-Domino-Api-Key": api_key}
        elif token is not None:
            self.headers = {"Authorization": f"Bearer {token}"}
        else:
            self.headers = {}
        self.max_concurrency = max_concurrency


class DominoClient(SingleGetClient):
    """Domino calls for one GraphQL request."""

    platform = PLATFORM
    connection: DominoConnection

    async def auth_headers(self) -> dict[str, str]:
        return self.connection.headers

    def error_detail(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return ""
        if isinstance(body, dict):
            errors = body.get("errors")
            if isinstance(errors, list) and errors:
                return "; ".join(str(error) for error in errors[:3])
            if isinstance(body.get("message"), str):  # InvalidBodyEnvelopeV1
                return body["message"]
        return ""

    async def _call(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        response = await self.send(method, path, **kwargs)
        if response.status_code >= 400:
            raise self.error_for(response)
        try:
            return model.model_validate_json(self.json_body(response))
        except ValidationError as exc:
            if any(error["type"] == "json_invalid" for error in exc.errors(include_url=False)):
                raise BadResponse(PLATFORM, "domino sent a body that is not JSON") from exc
            raise BadResponse(PLATFORM, f"domino sent a malformed {_label(model)} payload") from exc

    async def _one(self, model: type[M], label: str, key: str, method: str, path: str, **kwargs: Any) -> M:
        try:
            return await self._call(model, method, path, **kwargs)
        except NotFound as exc:
            raise NotFound(PLATFORM, f"domino {label} {key} not found", 404) from exc

    # ---------------------------------------------------------------- jobs

    async def jobs(
        self,
        project_id: str,
        *,
        offset: int = 0,
        limit: int = 10,
        sort_by: str | None = None,
        ascending: bool | None = None,
        status_filter: str | None = None,
        tag_filter: str | None = None,
        show_archived: bool | None = None,
    ) -> DominoPage[DominoJob]:
        params = _params(
            projectId=project_id,
            offset=offset,
            limit=limit,
            sortBy=sort_by,
            ascending=ascending,
            statusFilter=status_filter,
            tagFilter=tag_filter,
            showArchived=show_archived,
        )
        page = await self._call(DominoPage[DominoJob], "GET", "/api/jobs/beta/jobs", params=params)
        # The list is one project's: a record that does not say so still is.
        missing = [job for job in page.items if job.project_id is None]
        if missing:
            page = page.model_copy(
                update={"items": [job if job.project_id else job.model_copy(update={"project_id": project_id}) for job in page.items]}
            )
        return page

    async def all_jobs(self, project_id: str, **filters: Any) -> list[DominoJob]:
        """Every job of a project that Domino's own filters (``jobs``'
        keywords) let through, in Domino's order; bounded as ``_all`` is."""
        return await self._all(lambda offset: self.jobs(project_id, offset=offset, limit=MAX_PAGE_SIZE, **filters))

    async def job(self, job_id: str) -> DominoJob:
        envelope = await self._one(DominoEnvelope[DominoJob], "job", job_id, "GET", f"/api/jobs/beta/jobs/{job_id}")
        return envelope.item

    async def job_logs(self, job_id: str, *, log_type: str | None = None, limit: int | None = None) -> DominoJobLogs:
        params = _params(logType=log_type, limit=limit)
        envelope = await self._one(
            DominoEnvelope[DominoJobLogs], "job", job_id, "GET", f"/api/jobs/beta/jobs/{job_id}/logs", params=params
        )
        return envelope.item

    async def start_job(self, new_job: dict[str, Any]) -> DominoJob:
        envelope = await self._call(DominoEnvelope[DominoJob], "POST", "/api/jobs/v1/jobs", json_body=new_job)
        return envelope.item

    async def add_job_tag(self, job_id: str, *, project_id: str, tag_name: str) -> DominoTag:
        body = {"projectId": project_id, "tagName": tag_name}
        envelope = await self._one(
            DominoEnvelope[DominoTag], "job", job_id, "POST", f"/api/jobs/v1/jobs/{job_id}/tags", json_body=body
        )
        return envelope.item

    async def remove_job_tag(self, job_id: str, tag_id: str, *, project_id: str) -> None:
        await self._one(
            DominoMetadataOnly,
            "job tag",
            tag_id,
            "DELETE",
            f"/api/jobs/v1/jobs/{job_id}/tags/{tag_id}",
            params={"projectId": project_id},
        )

    # ---------------------------------------------------------------- hardware tiers

    async def hardware_tiers(
        self, *, offset: int = 0, limit: int = 10, include_archived: bool | None = None
    ) -> DominoPage[DominoHardwareTier]:
        params = _params(offset=offset, limit=limit, includeArchived=include_archived)
        return await self._call(DominoPage[DominoHardwareTier], "GET", "/api/hardwaretiers/v1/hardwaretiers", params=params)

    async def hardware_tier(self, tier_id: str) -> DominoHardwareTier:
        envelope = await self._one(
            DominoEnvelope[DominoHardwareTier], "hardware tier", tier_id, "GET", f"/api/hardwaretiers/v1/hardwaretiers/{tier_id}"
        )
        return envelope.item

    # ---------------------------------------------------------------- datasets

    async def datasets(
        self, *, project_id: str | None = None, offset: int = 0, limit: int = 10
    ) -> DominoPage[DominoDataset]:
        params = _params(projectId=project_id, offset=offset, limit=limit)
        return await self._call(DominoPage[DominoDataset], "GET", "/api/datasetrw/v1/datasets", params=params)

    async def datasets_v2(
        self,
        *,
        include_projects: Sequence[str] = (),
        exclude_projects: Sequence[str] = (),
        include_project_info: bool | None = None,
        offset: int = 0,
        limit: int = 10,
    ) -> DominoPage[DominoDatasetInfo]:
        params: list[tuple[str, Any]] = [(k, v) for k, v in _params(
            includeProjectInfo=include_project_info, offset=offset, limit=limit
        ).items()]
        params += [("projectIdsToInclude", project) for project in include_projects]
        params += [("projectIdsToExclude", project) for project in exclude_projects]
        return await self._call(DominoPage[DominoDatasetInfo], "GET", "/api/datasetrw/v2/datasets", params=params)

    async def dataset(self, dataset_id: str) -> DominoDataset:
        envelope = await self._one(
            DominoEnvelope[DominoDataset], "dataset", dataset_id, "GET", f"/api/datasetrw/v1/datasets/{dataset_id}"
        )
        return envelope.item

    async def snapshots(self, dataset_id: str, *, offset: int = 0, limit: int = 10) -> DominoPage[DominoSnapshot]:
        return await self._one(
            DominoPage[DominoSnapshot],
            "dataset",
            dataset_id,
            "GET",
            f"/api/datasetrw/v1/datasets/{dataset_id}/snapshots",
            params={"offset": offset, "limit": limit},
        )

    async def snapshot(self, snapshot_id: str) -> DominoSnapshot:
        envelope = await self._one(
            DominoEnvelope[DominoSnapshot], "snapshot", snapshot_id, "GET", f"/api/datasetrw/v1/snapshots/{snapshot_id}"
        )
        return envelope.item

    # ---------------------------------------------------------------- registered models

    async def registered_models(
        self,
        *,
        project_id: str | None = None,
        search: str | None = None,
        page_token: str | None = None,
        max_results: int = 25,
    ) -> DominoPage[DominoRegisteredModel]:
        params = _params(projectId=project_id, searchPattern=search, pageToken=page_token, maxResults=max_results)
        return await self._call(DominoPage[DominoRegisteredModel], "GET", "/api/registeredmodels/v1", params=params)

    async def registered_model(self, name: str) -> DominoRegisteredModel:
        return await self._one(
            DominoRegisteredModel, "registered model", name, "GET", f"/api/registeredmodels/v1/{_segment(name)}"
        )

    async def model_versions(self, name: str, *, offset: int = 0, limit: int = 20) -> DominoPage[DominoModelVersion]:
        return await self._one(
            DominoPage[DominoModelVersion],
            "registered model",
            name,
            "GET",
            f"/api/registeredmodels/v1/{_segment(name)}/versions",
            params={"offset": offset, "limit": limit},
        )

    async def model_version(self, name: str, version: int) -> DominoModelVersion:
        return await self._one(
            DominoModelVersion,
            "registered model version",
            model_version_key(name, version),
            "GET",
            f"/api/registeredmodels/v1/{_segment(name)}/versions/{version}",
        )

    # ---------------------------------------------------------------- projects, users, environments

    async def projects(self, *, offset: int = 0, limit: int = 10) -> DominoPage[DominoProject]:
        return await self._call(
            DominoPage[DominoProject], "GET", "/api/projects/beta/projects", params={"offset": offset, "limit": limit}
        )

    async def project(self, project_id: str) -> DominoProject:
        envelope = await self._one(
            DominoEnvelope[DominoProject], "project", project_id, "GET", f"/api/projects/v1/projects/{project_id}"
        )
        return envelope.item

    async def users(self, *, offset: int = 0, limit: int = 10) -> DominoPage[DominoUser]:
        return await self._call(
            DominoPage[DominoUser], "GET", "/api/users/v1/users", params={"offset": offset, "limit": limit}
        )

    async def all_users(self) -> list[DominoUser]:
        """Every visible user: the only way to find one by id (there is no get)."""
        return await self._all(lambda offset: self.users(offset=offset, limit=MAX_PAGE_SIZE))

    async def all_projects(self) -> list[DominoProject]:
        """Every project the gateway's user can see."""
        return await self._all(lambda offset: self.projects(offset=offset, limit=MAX_PAGE_SIZE))

    async def all_hardware_tiers(self) -> list[DominoHardwareTier]:
        """Every tier, archived ones included, so old jobs still find theirs."""
        return await self._all(
            lambda offset: self.hardware_tiers(offset=offset, limit=MAX_PAGE_SIZE, include_archived=True)
        )

    async def _all(self, fetch: Callable[[int], Awaitable[DominoPage[R]]]) -> list[R]:
        """Every page of a list. With a total, the rest come at once under the
        request's bound; without one, page by page until a short page. Either
        way at most ``MAX_LIST_PAGES``: a bogus total must not start a flood."""
        first = await fetch(0)
        items = list(first.items)
        step = len(items)
        if not step:
            return items
        total = first.total
        if total is None:
            while len(items) < MAX_LIST_PAGES * step:
                page = await fetch(len(items))
                items.extend(page.items)
                if len(page.items) < step:
                    break
            return items
        offsets = list(range(step, min(total, MAX_LIST_PAGES * step), step))

        async def bounded(offset: int) -> DominoPage[R]:
            async with self.gate:
                return await fetch(offset)

        rest = await asyncio.gather(*(bounded(offset) for offset in offsets))
        return items + [item for page in rest for item in page.items]

    async def self_user(self) -> DominoUser:
        envelope = await self._call(DominoEnvelope[DominoUser], "GET", "/api/users/v1/self")
        return envelope.item

    async def environment(self, environment_id: str) -> DominoEnvironment:
        envelope = await self._one(
            DominoEnvelope[DominoEnvironment],
            "environment",
            environment_id,
            "GET",
            f"/api/environments/v1/environments/{environment_id}",
        )
        return envelope.item

    async def ping(self) -> None:
        """Whether Domino answers and accepts the gateway's credential; raises if not."""
        with readiness_check():
            await self.self_user()

    # ---------------------------------------------------------------- record cache

    def credential(self) -> str:
        """The header the calls carry: an API key or a bearer token, the gateway's or a caller's."""
        return "\n".join(f"{name}: {value}" for name, value in sorted(self.connection.headers.items()))

    def lists(self, request: httpx.Request) -> bool:
        """A project's jobs, a dataset's snapshots, a model's versions."""
        path = request.url.path
        return path == "/api/jobs/beta/jobs" or path.endswith(("/snapshots", "/versions"))

    def cache_class(self, request: httpx.Request, body: bytes) -> Keep | None:
        """A finished job, its logs once complete (and the job known finished),
        and a settled dataset snapshot cannot change; tiers, users, projects,
        datasets, registered models and environments are catalogues. Job
        lists can grow, and a running job changes."""
        parts = request.url.path.split("/")[2:]  # after /api/
        if parts[0] in _CATALOGUES:
            return Keep(CATALOGUE)
        if parts[:3] == ["jobs", "beta", "jobs"] and len(parts) in (4, 5):
            job_id, answer = parts[3], read_json(body)
            if len(parts) == 5:
                logs = answer.get("logs") if isinstance(answer, dict) and parts[4] == "logs" else None
                complete = isinstance(logs, dict) and logs.get("isComplete") is True
                return Keep(TERMINAL, related=(job_id,), after=job_id) if complete else None
            job = answer.get("job") if isinstance(answer, dict) else None
            status = job.get("status") if isinstance(job, dict) else None
            if isinstance(status, dict) and (
                status.get("isCompleted") is True or str(status.get("executionStatus")).casefold() in _JOB_FINISHED
            ):
                return Keep(TERMINAL, (job_id,), marks=(job_id,))
            return None
        if parts[:3] == ["datasetrw", "v1", "snapshots"] and len(parts) == 4:
            answer = read_json(body)
            snapshot = answer.get("snapshot") if isinstance(answer, dict) else None
            if isinstance(snapshot, dict) and str(snapshot.get("status")).casefold() in _SNAPSHOT_SETTLED:
                return Keep(TERMINAL, (parts[3],))
            return None
        if parts[0] == "datasetrw":
            return Keep(CATALOGUE)
        return None

    def cache_evicts(self, request: httpx.Request, answer: bytes | None) -> list[str]:
        """The job a write names (``/api/jobs/v1/jobs/{id}/tags…``): its tags changed."""
        parts = request.url.path.split("/")[2:]
        return parts[3:4] if parts[:1] == ["jobs"] else []


#: ``executionStatus`` words after which a job no longer runs.
_JOB_FINISHED = frozenset({"succeeded", "completed", "failed", "error", "stopped"})
#: Snapshot states whose files no longer change.
_SNAPSHOT_SETTLED = frozenset({"active", "failed", "deleted"})
#: First path segments (after ``/api/``) of the catalogues: they change slowly.
_CATALOGUES = frozenset({"hardwaretiers", "users", "projects", "registeredmodels", "environments"})


class DominoMetadataOnly(BaseModel):
    """A body that says nothing but its metadata (a delete's answer)."""

    model_config = ConfigDict(extra="ignore")

    metadata: DominoMetadata | None = None


def _params(**values: Any) -> dict[str, Any]:
    """Query parameters without the ones left unset; booleans as Domino spells them."""
    return {
        key: (str(value).lower() if isinstance(value, bool) else value)
        for key, value in values.items()
        if value is not None
    }


def _segment(value: str) -> str:
    """A name as one path segment: ``/`` in a model name must not become another route."""
    return quote(value, safe="")


def _label(model: type[BaseModel]) -> str:
    return model.__name__.split("[")[-1].rstrip("]")
