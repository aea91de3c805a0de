"""An emulated Domino Data Lab server over a seeded `DominoData`.

`create_domino_emulator(data)` returns an ASGI app speaking the part of
Domino's public REST API (seed 004) the gateway reads: jobs (beta list, get,
logs; v1 start, tag, untag), hardware tiers, datasets (datasetrw v1 and v2,
snapshots), environments, projects, registered models and users.

Shapes, as Domino sends them:

- Single objects come in an envelope named after the object with a
  `metadata` of `{"requestId", "notices": []}`: `{"job": ...}`,
  `{"hardwareTier": ...}`, `{"dataset": ...}`, `{"snapshot": ...}`,
  `{"project": ...}`, `{"user": ...}`, `{"environment": ...}`, `{"tag": ...}`.
  Registered models break the pattern: a model and a model version come bare.
- Pages are `{"<things>": [...], "metadata": {...}}`; the metadata carries
  `offset`, `limit` and `totalCount` flat (`pagination="flat"`, what Domino's
  own clients read) or under `metadata.pagination` (`"nested"`, the published
  spec). The model list pages by token instead: `metadata.nextPageToken`
  (nested: `metadata.pagination.nextPageToken`), null on the last page.
- Enum words are spelled as seed 004's schemas write them: lower camel
  case for its enums (`public`, `head`, `github`, `contributor`, `global`,
  `individual`, `succeeded`, `spark`, `active`, `markForDeletion`), the
  seed's own capitalisation where it shows one (`executionStatus`
  `Succeeded`, `capacityLevel`, `ActiveRevision`, `stdOut`, `Staging`,
  `GiB`). Servers may capitalise the lower-case ones (`Public`, `Head`):
  the gateway reads any case.
- Failures are `{"errors": ["..."], "requestId": "<uuid>"}`: 400 for a bad
  parameter or body (a non-integer, a limit out of range, an id that is not
  24 hex digits, an unknown enum word), 401 without the API key, 403 for the
  forbidden project (private, another user's) and everything in it, 404 for
  an unknown id or name and for unknown routes, 405 for a wrong method, 500 on
  a crash.
- Paths are routed as sent, as Domino does: an encoded `/` (`%2F`) stays in
  its segment (a registered model named `a/` is one name, not a route with a
  trailing slash), and no path is redirected to another.

Paging: `offset` >= 0 (default 0), `limit` 1..1000 (defaults as the seed:
10; 20 for model versions; `maxResults` 25 for models); an offset past the
end gives an empty page. Lists come in creation order (model versions and
snapshots oldest first) except jobs.

Jobs (`GET /api/jobs/beta/jobs`, `projectId` required): `sortBy` number
(default), title, command, startedTime, duration, status, user (user name),
commentCount or dominoStatsField (with `dominoStatsSortFieldName`, numeric);
jobs without the value (not started, no such stat) sort last either way, ties
by number. `ascending` defaults to false. `statusFilter` (any case): `all`,
`queued` (Queued, Pending, Preparing, Building, Pulling: not yet running),
`running` (Running, Finishing, StopRequested), `completed` (`isCompleted`),
`active` (queued or running) and `archived` (only archived jobs). Archived
jobs are left out unless `showArchived=true` or `statusFilter=archived`.
`tagFilter` matches a tag name exactly. Logs: `logType` any case of stdOut,
stdErr, prepareOutput or complete (all, the default); `limit` 1..10000
(default 10000), the first lines after `latestTimeNano`; `isComplete` when the
job has completed and nothing was cut.

Writes change this app's state only, never `data`: starting a job (Queued,
the next number in its project, started by the self user, the project's
default tier and environment unless named, title = run command) and tagging
(tags are global by name: an existing name is reused, a job holds a tag once)
or untagging a job. Records render once and are cached as JSON until a write
changes them, so a 500-job page costs a filter, a sort and a join.

Auth: with `api_key`, every route needs `X-Domino-Api-Key: <key>` or
`Authorization: Bearer <key>`. Every request is appended to `app.state.calls`
as `(method, raw path with query)` before faults and auth act on it; injected
faults answer with the failure envelope.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, TypeVar
from urllib.parse import unquote

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mlgraph.sandbox.domino_data import (
    DominoData,
    DominoDataset,
    DominoEnvironment,
    DominoHardwareTier,
    DominoJob,
    DominoModelVersion,
    DominoProject,
    DominoRegisteredModel,
    DominoSnapshot,
    DominoTag,
    DominoUser,
    iso,
    parse_iso,
    project_accessible,
)
from mlgraph.sandbox.faults import Faults
from mlgraph.sandbox.middleware import CallLog, RecentLog

Pagination = Literal["flat", "nested"]
_T = TypeVar("_T")
LIMIT_MAX = 1000
LOG_LIMIT_MAX = 10000
_OBJECT_ID = re.compile(r"[0-9a-f]{24}")
_QUEUED = frozenset({"Queued", "Pending", "Preparing", "Building", "Pulling"})
_RUNNING = frozenset({"Running", "Finishing", "StopRequested"})
_STATUS_FILTERS = ("all", "queued", "running", "completed", "archived", "active")
_JOB_SORTS = (
    "number", "title", "command", "startedTime", "duration", "status", "user", "commentCount", "dominoStatsField",
)
_LOG_TYPES = {"stdout": "stdOut", "stderr": "stdErr", "prepareoutput": "prepareOutput", "complete": "complete"}
_CLUSTER_TYPES = ("dask", "mpi", "ray", "spark")
_DATASET_PERMISSIONS = (
    "DeleteDatasetRwV2", "EditSecurityDatasetRwV2", "ListDatasetRwV2", "PerformDatasetRwActionsInProjectV2",
    "PermanentDeleteDatasetRwV2", "ReadDatasetRwV2", "UpdateDatasetRwV2", "PerformDatasetRwActionsAsAdminV2",
)
_SHARED_PERMISSIONS = frozenset({"ListDatasetRwV2", "ReadDatasetRwV2"})
"""What a user holds on a dataset shared with them from a project they cannot open."""
_MODEL_ORDER_COLUMNS = ("name", "last_updated_timestamp")
_COLLABORATOR_ROLES = ("contributor", "resultsConsumer", "launcherUser")
_HELP_LINK = "https://docs.dominodatalab.com/en/latest/user_guide/troubleshooting.html"
_JUPYTER = {
    "iconUrl": "/assets/images/workspace-logos/Jupyter.svg",
    "name": "jupyter",
    "proxyConfig": {
        "internalPath": "/{{ownerUsername}}/{{projectName}}/{{sessionPathComponent}}/{{runId}}/"
        "{{#if pathToOpen}}tree/{{pathToOpen}}{{/if}}",
        "port": 8888,
        "requireSubdomain": False,
        "rewrite": False,
    },
    "startScripts": ["/opt/domino/workspaces/jupyter/start"],
    "supportedFileExtensions": [".ipynb"],
    "title": "Jupyter (Python, R, Julia)",
}


def create_domino_emulator(
    data: DominoData,
    api_key: str | None = None,
    faults: Faults | None = None,
    pagination: Pagination = "flat",
) -> Starlette:
    """An ASGI app serving `data` as a Domino Data Lab server (see the module docstring)."""
    if pagination not in ("flat", "nested"):
        raise ValueError(f"unknown pagination {pagination!r}")
    emulator = _Emulator(data, pagination)
    calls: RecentLog[tuple[str, str]] = RecentLog()
    middleware = [Middleware(CallLog, calls=calls)]
    if faults is not None:
        middleware.append(Middleware(faults.wrap, body=_fault_body))
    if api_key:
        middleware.append(Middleware(_ApiKeyAuth, api_key=api_key))
    app = Starlette(
        routes=emulator.routes(),
        middleware=middleware,
        exception_handlers={
            _ApiError: _api_error_response,
            HTTPException: _http_error_response,
            Exception: _crash_response,
        },
    )
    app.router.redirect_slashes = False  # an unknown path is a 404 envelope, never a 307 elsewhere
    app.state.calls = calls
    return app


# ---------------------------------------------------------------- errors and responses


class _ApiError(Exception):
    """An error answer: its status and the one message of the failure envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _request_id() -> str:
    return str(uuid.uuid4())


def _failure(message: str) -> bytes:
    return orjson.dumps({"errors": [message], "requestId": _request_id()})


def _fault_body() -> bytes:
    return _failure("injected fault")


def _json(content: bytes, status: int = 200) -> Response:
    return Response(content, status_code=status, media_type="application/json")


async def _api_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _ApiError)
    return _json(_failure(exc.message), exc.status)


async def _http_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"No route for {request.method} {request.url.path}"
    else:
        message = str(exc.detail)
    return _json(_failure(message), exc.status_code)


async def _crash_response(request: Request, exc: Exception) -> Response:
    return _json(_failure(f"Internal server error: {type(exc).__name__}"), 500)


def _bad(message: str) -> _ApiError:
    return _ApiError(400, message)


def _missing(kind: str, key: object) -> _ApiError:
    return _ApiError(404, f"{kind} with id {key} not found")


def _forbidden(kind: str, key: object) -> _ApiError:
    return _ApiError(403, f"User is not authorized to access {kind} {key}")


class _ApiKeyAuth:
    """`X-Domino-Api-Key: <key>` or `Authorization: Bearer <key>`, else 401."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(b"x-domino-api-key", b"").decode("latin-1").strip()
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        offered = [value for value in (key, token.strip() if scheme.lower() == "bearer" else "") if value]
        if self.api_key in offered:
            await self.app(scope, receive, send)
            return
        message = "Invalid API key or token" if offered else "Missing API key or bearer token"
        await _json(_failure(message), 401)(scope, receive, send)


class _RawRoute(Route):
    """A route matched against the path as sent, its parameters decoded after.

    Starlette matches the decoded path, where a name's encoded ``/`` would
    split its segment (``a%2Fversions`` would list model ``a``'s versions).
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raw = scope.get("raw_path")
        if scope["type"] != "http" or raw is None:
            return super().matches(scope)
        match, child = super().matches({**scope, "path": raw.decode("latin-1")})
        if match is not Match.NONE:
            child["path_params"] = {name: unquote(value) for name, value in child["path_params"].items()}
        return match, child


# ---------------------------------------------------------------- parameters


def _int(raw: str | None, name: str, default: int, low: int, high: int | None = None) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad(f"Invalid value for parameter '{name}': '{raw}' is not an integer") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _bad(f"Invalid value for parameter '{name}': {value} must be {bound}")
    return value


def _bool(raw: str | None, name: str, default: bool) -> bool:
    if raw is None:
        return default
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise _bad(f"Invalid value for parameter '{name}': '{raw}' is not a boolean")
    return value == "true"


def _object_id(raw: str, name: str) -> str:
    if not _OBJECT_ID.fullmatch(raw):
        raise _bad(f"Invalid value for parameter '{name}': '{raw}' is not a valid id")
    return raw


def _paging(request: Request, default_limit: int) -> tuple[int, int]:
    params = request.query_params
    offset = _int(params.get("offset"), "offset", 0, 0)
    limit = _int(params.get("limit"), "limit", default_limit, 1, LIMIT_MAX)
    return offset, limit


@lru_cache(maxsize=1 << 16)
def _instant(timestamp: str) -> datetime:
    """`parse_iso`, memoised: sorting by duration and paging logs parse the same stamps again and again."""
    return parse_iso(timestamp)


def _sorted(
    items: Sequence[Any], key: Callable[[Any], Any], ascending: bool, tiebreak: Callable[[Any], Any]
) -> list[Any]:
    """Sorted by `key`, items whose key is None last either way, ties by `tiebreak` in the same direction."""
    present = [(key(item), item) for item in items]
    valued = sorted(
        ((value, item) for value, item in present if value is not None),
        key=lambda pair: (pair[0], tiebreak(pair[1])),
        reverse=not ascending,
    )
    rest = sorted((item for value, item in present if value is None), key=tiebreak, reverse=not ascending)
    return [item for _, item in valued] + rest


# ---------------------------------------------------------------- the emulator


class _Emulator:
    """The routes over this app's own copy of the data set's indexes."""

    def __init__(self, data: DominoData, pagination: Pagination) -> None:
        self.nested = pagination == "nested"
        self.self_id = data.self_user_id
        self.users = {u.id: u for u in data.users}
        self.projects = {p.id: p for p in data.projects}
        self.tiers = {t.id: t for t in data.hardware_tiers}
        self.environments = {e.id: e for e in data.environments}
        self.tags = {t.id: t for t in data.tags}
        self.jobs = {j.id: j for j in data.jobs}
        self.project_jobs: dict[str, list[str]] = {p.id: [] for p in data.projects}
        for job in sorted(data.jobs, key=lambda j: j.number):
            self.project_jobs[job.project_id].append(job.id)
        self.datasets = {d.id: d for d in data.datasets}
        self.snapshots = {s.id: s for s in data.snapshots}
        self.models = {m.name: m for m in data.registered_models}
        self.versions: dict[str, list[DominoModelVersion]] = {m.name: [] for m in data.registered_models}
        for version in sorted(data.model_versions, key=lambda v: v.version):
            self.versions[version.model_name].append(version)
        self.clock = parse_iso(data.now)
        self.rng = random.Random(f"domino-emulator:{data.now}")
        self.cache: dict[tuple[str, str], bytes] = {}

    def routes(self) -> list[Route]:
        return [
            _RawRoute("/api/jobs/beta/jobs", self.list_jobs, methods=["GET"]),
            _RawRoute("/api/jobs/beta/jobs/{jobId}", self.get_job, methods=["GET"]),
            _RawRoute("/api/jobs/beta/jobs/{jobId}/logs", self.job_logs, methods=["GET"]),
            _RawRoute("/api/jobs/v1/jobs", self.start_job, methods=["POST"]),
            _RawRoute("/api/jobs/v1/jobs/{jobId}/tags", self.add_tag, methods=["POST"]),
            _RawRoute("/api/jobs/v1/jobs/{jobId}/tags/{tagId}", self.remove_tag, methods=["DELETE"]),
            _RawRoute("/api/hardwaretiers/v1/hardwaretiers", self.list_tiers, methods=["GET"]),
            _RawRoute("/api/hardwaretiers/v1/hardwaretiers/{hardwareTierId}", self.get_tier, methods=["GET"]),
            _RawRoute("/api/datasetrw/v1/datasets", self.list_datasets, methods=["GET"]),
            _RawRoute("/api/datasetrw/v1/datasets/{datasetId}", self.get_dataset, methods=["GET"]),
            _RawRoute("/api/datasetrw/v1/datasets/{datasetId}/snapshots", self.list_snapshots, methods=["GET"]),
            _RawRoute("/api/datasetrw/v1/snapshots/{snapshotId}", self.get_snapshot, methods=["GET"]),
            _RawRoute("/api/datasetrw/v2/datasets", self.list_datasets_v2, methods=["GET"]),
            _RawRoute("/api/environments/v1/environments/{environmentId}", self.get_environment, methods=["GET"]),
            _RawRoute("/api/projects/beta/projects", self.list_projects, methods=["GET"]),
            _RawRoute("/api/projects/v1/projects/{projectId}", self.get_project, methods=["GET"]),
            _RawRoute("/api/registeredmodels/v1", self.list_models, methods=["GET"]),
            _RawRoute("/api/registeredmodels/v1/{modelName}", self.get_model, methods=["GET"]),
            _RawRoute("/api/registeredmodels/v1/{modelName}/versions", self.list_versions, methods=["GET"]),
            _RawRoute("/api/registeredmodels/v1/{modelName}/versions/{version}", self.get_version, methods=["GET"]),
            _RawRoute("/api/users/v1/users", self.list_users, methods=["GET"]),
            _RawRoute("/api/users/v1/self", self.get_self, methods=["GET"]),
        ]

    # -- state

    def tick(self) -> str:
        self.clock += timedelta(seconds=1)
        return iso(self.clock)

    def new_id(self) -> str:
        return f"{int(self.clock.timestamp()):08x}{self.rng.getrandbits(64):016x}"

    def accessible(self, project: DominoProject) -> bool:
        return project_accessible(project, self.self_id)

    def readable(self, dataset: DominoDataset) -> bool:
        return self.self_id in dataset.reader_ids or self.accessible(self.projects[dataset.project_id])

    def user_name(self, user_id: str) -> str | None:
        user = self.users.get(user_id)
        return None if user is None else user.user_name

    # -- lookups (400 malformed, 404 unknown, 403 forbidden)

    def lookup(self, items: dict[str, _T], raw: str, param: str, kind: str, allowed: Callable[[_T], bool]) -> _T:
        found = items.get(_object_id(raw, param))
        if found is None:
            raise _missing(kind, raw)
        if not allowed(found):
            raise _forbidden(kind.lower(), raw)
        return found

    def project(self, raw: str, param: str = "projectId") -> DominoProject:
        return self.lookup(self.projects, raw, param, "Project", self.accessible)

    def job(self, raw: str) -> DominoJob:
        return self.lookup(self.jobs, raw, "jobId", "Job", lambda j: self.accessible(self.projects[j.project_id]))

    def dataset(self, raw: str) -> DominoDataset:
        return self.lookup(self.datasets, raw, "datasetId", "Dataset", self.readable)

    def model(self, name: str) -> DominoRegisteredModel:
        model = self.models.get(name)
        if model is None:
            raise _ApiError(404, f"Registered model {name} not found")
        if not (model.discoverable or self.accessible(self.projects[model.project_id])):
            raise _forbidden("registered model", name)
        return model

    # -- rendering

    def cached(self, kind: str, key: str, render: Callable[[], object]) -> bytes:
        found = self.cache.get((kind, key))
        if found is None:
            found = orjson.dumps(render())
            self.cache[(kind, key)] = found
        return found

    def metadata(self) -> dict[str, Any]:
        return {"requestId": _request_id(), "notices": []}

    def page_metadata(self, **paging: Any) -> dict[str, Any]:
        meta = self.metadata()
        if self.nested:
            meta["pagination"] = paging
        else:
            meta.update(paging)
        return meta

    def envelope(self, name: str, record: bytes) -> Response:
        return _json(b'{"' + name.encode() + b'":' + record + b',"metadata":' + orjson.dumps(self.metadata()) + b"}")

    def page(self, name: str, records: Iterable[bytes], offset: int, limit: int, total: int) -> Response:
        meta = orjson.dumps(self.page_metadata(offset=offset, limit=limit, totalCount=total))
        return _json(b'{"' + name.encode() + b'":[' + b",".join(records) + b'],"metadata":' + meta + b"}")

    def paged(
        self, request: Request, name: str, kind: str, items: Sequence[Any], key: Callable[[Any], str],
        render: Callable[[Any], object], default_limit: int = 10,
    ) -> Response:
        offset, limit = _paging(request, default_limit)
        chosen = items[offset : offset + limit]
        records = (self.cached(kind, key(i), lambda i=i: render(i)) for i in chosen)
        return self.page(name, records, offset, limit, len(items))

    def user_record(self, user: DominoUser) -> dict[str, Any]:
        return {
            "avatarUrl": user.avatar_url,
            "companyName": user.company_name,
            "email": user.email,
            "firstName": user.first_name,
            "fullName": user.full_name,
            "id": user.id,
            "lastName": user.last_name,
            "phoneNumber": None,
            "userName": user.user_name,
        }

    def project_record(self, project: DominoProject) -> dict[str, Any]:
        repository = None
        if project.git_repo_uri is not None:
            repository = {
                "defaultRef": {"refType": "head"},
                "id": project.git_repo_id,
                "name": project.name,
                "serviceProvider": "github",
                "uri": project.git_repo_uri,
            }
        return {
            "collaborators": [
                {"id": user_id, "role": _COLLABORATOR_ROLES[i % len(_COLLABORATOR_ROLES)]}
                for i, user_id in enumerate(project.collaborator_ids)
            ],
            "description": project.description,
            "id": project.id,
            "mainRepository": repository,
            "name": project.name,
            "ownerId": project.owner_id,
            "ownerUsername": self.user_name(project.owner_id),
            "visibility": project.visibility,
        }

    def project_summary(self, project_id: str) -> dict[str, Any]:
        project = self.projects[project_id]
        return {
            "id": project.id,
            "isGitBasedProject": project.git_repo_uri is not None,
            "name": project.name,
            "ownerUsername": self.user_name(project.owner_id),
        }

    def tier_record(self, tier: DominoHardwareTier) -> dict[str, Any]:
        available = max(0, tier.max_concurrent_runs - tier.executing_runs)
        if tier.is_archived:
            level = "Unknown"
        elif available == 0:
            level = "Full"
        elif tier.executing_runs:
            level = "CanExecuteWithCurrentInstances"
        else:
            level = "RequiresLaunchingInstance"
        memory = {"value": tier.memory_gib, "units": "GiB"}
        gpu = None if not tier.gpu_count else {"gpuKey": tier.gpu_key, "numberOfGpus": tier.gpu_count}
        return {
            "availabilityZones": [],
            "capacity": {
                "availableCapacityWithoutLaunching": available if tier.executing_runs else 0,
                "capacityLevel": level,
                "executingRuns": tier.executing_runs,
                "maxAvailableCapacity": tier.max_concurrent_runs,
                "maxConcurrentRuns": tier.max_concurrent_runs,
                "maxNumberOfExecutors": tier.max_concurrent_runs,
                "numberOfExecutors": tier.executing_runs,
                "queuedRuns": tier.queued_runs,
            },
            "centsPerMinute": tier.cents_per_minute,
            "computeClusterRestrictions": {
                "restrictToDask": False, "restrictToMpi": False, "restrictToRay": False, "restrictToSpark": False,
            },
            "creationTime": tier.creation_time,
            "dataPlaneId": "000000000000000000000000",
            "flags": {
                "isArchived": tier.is_archived,
                "isDataAnalystTier": tier.is_data_analyst_tier,
                "isDefault": tier.is_default,
                "isDefaultForModelApi": tier.is_model_api_tier,
                "isGlobal": tier.is_global,
                "isModelApiTier": tier.is_model_api_tier,
                "isVisible": tier.is_visible,
            },
            "gpuConfiguration": gpu,
            "id": tier.id,
            "maxSimultaneousExecutions": tier.max_concurrent_runs,
            "metadata": {},
            "name": tier.name,
            "nodePool": tier.node_pool,
            "overProvisioning": {
                "daysOfWeek": [], "fromTime": None, "instances": 0, "schedulingEnabled": False,
                "timezone": "UTC", "toTime": None,
            },
            "podCustomization": {
                "additionalAnnotations": {}, "additionalLabels": {}, "additionalLimits": {},
                "additionalRequests": {}, "capabilities": [], "hugepages": {},
            },
            "resources": {
                "allowSharedMemoryToExceedDefault": False,
                "cores": tier.cores,
                "coresLimit": tier.cores,
                "memory": memory,
                "memoryLimit": memory,
                "memorySwapLimit": None,
                "sharedMemoryLimit": {"value": tier.memory_gib / 2, "units": "GiB"},
            },
            "tags": [],
            "updateTime": tier.update_time,
        }

    def environment_record(self, environment: DominoEnvironment) -> dict[str, Any]:
        revision = {
            "availableTools": [_JUPYTER],
            "id": environment.revision_ids[-1] if environment.revision_ids else None,
            "number": environment.latest_revision,
            "status": "succeeded",
        }
        return {
            "activeRevisionTags": [],
            "archived": environment.archived,
            "id": environment.id,
            "internalTags": [],
            "isCurated": environment.is_curated,
            "latestRevision": revision,
            "name": environment.name,
            "owner": {
                "id": environment.owner_id,
                "ownerType": "individual",
                "username": self.user_name(environment.owner_id),
            },
            "restrictedRevision": None,
            "selectedRevision": revision,
            "supportedClusters": ["spark"] if "Spark" in environment.name else [],
            "visibility": environment.visibility,
        }

    def tag_record(self, tag: DominoTag) -> dict[str, Any]:
        return {"createdAt": tag.created_at, "creatorId": tag.creator_id, "id": tag.id, "name": tag.name}

    def dataset_record(self, dataset: DominoDataset) -> dict[str, Any]:
        return {
            "createdAt": dataset.created_at,
            "description": dataset.description,
            "id": dataset.id,
            "name": dataset.name,
            "projectId": dataset.project_id,
            "snapshotIds": list(dataset.snapshot_ids),
            "tags": dict(dataset.tags),
        }

    def snapshot_record(self, snapshot: DominoSnapshot) -> dict[str, Any]:
        return {
            "createdAt": snapshot.created_at,
            "creatorId": snapshot.creator_id,
            "datasetId": snapshot.dataset_id,
            "description": snapshot.description,
            "id": snapshot.id,
            "lastMounted": snapshot.last_mounted,
            "status": snapshot.status,
        }

    def job_record(self, job: DominoJob) -> dict[str, Any]:
        """JobV1."""
        project = self.projects[job.project_id]
        mounted = [{"commitId": job.input_commit_id, "projectId": job.project_id}]
        mounted += [
            {"commitId": self.projects[other].head_commit_id, "projectId": other}
            for other in project.imported_project_ids
        ]
        return {
            "commitDetails": {"inputCommitId": job.input_commit_id, "outputCommitId": job.output_commit_id},
            "computeCluster": {
                "clusterType": job.cluster_type,
                "computeEnvironmentId": job.environment_id,
                "computeEnvironmentRevisionSpec": "ActiveRevision",
                "masterHardwareTierId": job.hardware_tier_id,
                "maxWorkerCount": None,
                "workerCount": job.worker_count,
                "workerHardwareTier": job.worker_hardware_tier_id,
                "workerStorageMB": None,
            },
            "datasetMounts": [
                {
                    "containerPath": mount.container_path,
                    "datasetName": self.datasets[mount.dataset_id].name,
                    "id": mount.dataset_id,
                    "isInput": mount.is_input,
                    "projectId": self.datasets[mount.dataset_id].project_id,
                    "snapshotId": mount.snapshot_id,
                    "snapshotVersion": mount.snapshot_version,
                }
                for mount in job.dataset_mounts
            ],
            "dominoStats": [{"name": name, "value": value} for name, value in job.domino_stats.items()],
            "externalVolumeMounts": [],
            "gitRepos": [],
            "id": job.id,
            "mainRepoGitRef": {"refType": "head"},
            "number": job.number,
            "projects": mounted,
            "runCommand": job.run_command,
            "runLauncherId": None,
            "stageTimes": {
                "completedTime": job.completed_time,
                "startTime": job.start_time,
                "submissionTime": job.submission_time,
            },
            "startedById": job.started_by_id,
            "status": {
                "executionStatus": job.status,
                "isArchived": job.is_archived,
                "isCompleted": job.is_completed,
                "isScheduled": job.is_scheduled,
            },
            "title": job.title,
            "usage": {"cpuPercentage": job.cpu_percentage, "memoryGiB": job.memory_gib},
        }

    def job_details(self, job: DominoJob) -> dict[str, Any]:
        """JobDetailsV1: JobV1 plus comments, goals, tags and the queue explanation."""
        record = self.job_record(job)
        queued = None
        if job.status in ("Queued", "Pending"):
            tier = self.tiers[job.hardware_tier_id]
            queued = {
                "expectedWait": "Less than a minute" if job.status == "Pending" else "A few minutes",
                "explanation": f"Your run is waiting for a machine in hardware tier '{tier.name}'",
                "helpText": "It will start being prepared for execution once a machine is available",
            }
        record.update(
            commentsCount=job.comments_count,
            goalIds=list(job.goal_ids),
            queuedJobStatusDetails=queued,
            tags=[self.tag_record(self.tags[t]) for t in job.tag_ids],
        )
        return record

    def model_record(self, model: DominoRegisteredModel) -> dict[str, Any]:
        versions = self.versions[model.name]
        access = self.accessible(self.projects[model.project_id])
        record: dict[str, Any] = {
            "createdAt": model.created_at,
            "description": model.description,
            "latestVersion": versions[-1].version if versions else None,
            "name": model.name,
            "ownerUsername": self.user_name(model.owner_id),
            "project": self.project_summary(model.project_id),
            "requestingUserAccess": {
                "canEditModel": access, "canEditProjectAssets": access, "canViewExperimentRuns": access,
                "canViewModelApis": access, "canViewProject": access, "canViewProjectFiles": access,
            },
            "tags": dict(model.tags),
            "updatedAt": model.updated_at,
        }
        if model.discoverable:  # "This field may be omitted when false."
            record["discoverable"] = True
        return record

    def version_overview(self, version: DominoModelVersion) -> dict[str, Any]:
        return {
            "createdAt": version.created_at,
            "experimentRunId": version.experiment_run_id,
            "modelName": version.model_name,
            "modelVersion": version.version,
            "ownerUsername": self.user_name(version.owner_id),
            "project": self.project_summary(version.project_id),
            "updatedAt": version.updated_at,
        }

    def version_details(self, version: DominoModelVersion) -> dict[str, Any]:
        record = self.version_overview(version)
        record.update(
            currentStage=version.stage,
            modelVersionDescription=version.description,
            reviewSummary=None,
            tags={},
            versionUiDetails={
                "experimentRunInfo": {
                    "metrics": [
                        {"key": key, "timestamp": version.created_at, "value": value}
                        for key, value in version.metrics.items()
                    ],
                    "params": [{"key": key, "value": value} for key, value in version.params.items()],
                    "runUrl": f"/experiments/{self.project_summary(version.project_id)['ownerUsername']}/"
                    f"{self.projects[version.project_id].name}/runs/{version.experiment_run_id}",
                },
                "modelVersionDataSources": [],
                "modelVersionDatasets": [],
            },
        )
        return record

    def job_json(self, job: DominoJob) -> bytes:
        return self.cached("job", job.id, lambda: self.job_record(job))

    def job_details_json(self, job: DominoJob) -> bytes:
        return self.cached("jobDetails", job.id, lambda: self.job_details(job))

    def forget_job(self, job_id: str) -> None:
        self.cache.pop(("job", job_id), None)
        self.cache.pop(("jobDetails", job_id), None)

    # -- jobs

    async def list_jobs(self, request: Request) -> Response:
        params = request.query_params
        raw_project = params.get("projectId")
        if not raw_project:
            raise _bad("Missing required parameter 'projectId'")
        _object_id(raw_project, "projectId")
        offset, limit = _paging(request, 10)
        sort_by = params.get("sortBy", "number")
        if sort_by not in _JOB_SORTS:
            raise _bad(f"Invalid value for parameter 'sortBy': '{sort_by}'. Expected one of {', '.join(_JOB_SORTS)}")
        stat = params.get("dominoStatsSortFieldName")
        if sort_by == "dominoStatsField" and not stat:
            raise _bad("Parameter 'dominoStatsSortFieldName' is required when sortBy is dominoStatsField")
        ascending = _bool(params.get("ascending"), "ascending", False)
        show_archived = _bool(params.get("showArchived"), "showArchived", False)
        status_filter = params.get("statusFilter", "all").lower()
        if status_filter not in _STATUS_FILTERS:
            raise _bad(
                f"Invalid value for parameter 'statusFilter': '{params['statusFilter']}'. "
                f"Expected one of {', '.join(_STATUS_FILTERS)}"
            )
        tag_filter = params.get("tagFilter")
        project = self.project(raw_project)
        jobs = [self.jobs[i] for i in self.project_jobs[project.id]]
        if status_filter == "archived":
            jobs = [j for j in jobs if j.is_archived]
        else:
            if not show_archived:
                jobs = [j for j in jobs if not j.is_archived]
            if status_filter != "all":
                jobs = [j for j in jobs if _phase_matches(status_filter, j)]
        if tag_filter is not None:
            tag_ids = {t.id for t in self.tags.values() if t.name == tag_filter}
            jobs = [j for j in jobs if tag_ids.intersection(j.tag_ids)]
        ordered = _sorted(jobs, self.job_sort_key(sort_by, stat), ascending, lambda j: j.number)
        chosen = ordered[offset : offset + limit]
        return self.page("jobs", (self.job_json(j) for j in chosen), offset, limit, len(ordered))

    def job_sort_key(self, sort_by: str, stat: str | None) -> Callable[[DominoJob], Any]:
        if sort_by == "number":
            return lambda j: j.number
        if sort_by == "title":
            return lambda j: j.title.lower()
        if sort_by == "command":
            return lambda j: j.run_command.lower()
        if sort_by == "startedTime":
            return lambda j: j.start_time
        if sort_by == "status":
            return lambda j: j.status
        if sort_by == "user":
            return lambda j: (self.user_name(j.started_by_id) or "").lower()
        if sort_by == "commentCount":
            return lambda j: j.comments_count
        if sort_by == "duration":
            now = self.clock

            def duration(j: DominoJob) -> float | None:
                if j.start_time is None:
                    return None
                end = _instant(j.completed_time) if j.completed_time else now
                return (end - _instant(j.start_time)).total_seconds()

            return duration

        def stat_value(j: DominoJob) -> float | None:
            try:
                return float(j.domino_stats[stat or ""])
            except (KeyError, ValueError):
                return None

        return stat_value

    async def get_job(self, request: Request) -> Response:
        job = self.job(request.path_params["jobId"])
        return self.envelope("job", self.job_details_json(job))

    async def job_logs(self, request: Request) -> Response:
        job = self.job(request.path_params["jobId"])
        params = request.query_params
        raw_type = params.get("logType", "complete")
        log_type = _LOG_TYPES.get(raw_type.lower())
        if log_type is None:
            raise _bad(f"Invalid value for parameter 'logType': '{raw_type}'")
        limit = _int(params.get("limit"), "limit", LOG_LIMIT_MAX, 1, LOG_LIMIT_MAX)
        after = _int(params.get("latestTimeNano"), "latestTimeNano", -1, 0)
        lines = [line for line in job.logs if log_type == "complete" or line.log_type == log_type]
        if after >= 0:
            lines = [line for line in lines if _nanos(line.timestamp) > after]
        chosen = lines[:limit]
        latest = _nanos(chosen[-1].timestamp) if chosen else max(after, 0)
        failed = job.status in ("Failed", "Error")
        logs = {
            "helpLink": _HELP_LINK if failed else None,
            "isComplete": job.is_completed and len(chosen) == len(lines),
            "logContent": [
                {"log": line.log, "logType": line.log_type, "size": len(line.log), "timestamp": line.timestamp}
                for line in chosen
            ],
            "problem": job.problem if failed else None,
        }
        meta = self.page_metadata(latestTimeNano=str(latest), limit=limit)
        return _json(orjson.dumps({"logs": logs, "metadata": meta}))

    async def body(self, request: Request) -> dict[str, Any]:
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise _bad("Request body is not valid JSON") from None
        if not isinstance(payload, dict):
            raise _bad("Request body must be a JSON object")
        return payload

    def tier_for_job(self, raw: object, name: str) -> str:
        if not isinstance(raw, str):
            raise _bad(f"Invalid value for '{name}': expected a hardware tier id")
        tier = self.tiers.get(raw)
        if tier is None:
            raise _bad(f"Hardware tier '{raw}' does not exist")
        if tier.is_archived:
            raise _bad(f"Hardware tier '{raw}' is archived")
        return tier.id

    async def start_job(self, request: Request) -> Response:
        body = await self.body(request)
        project_id, command = body.get("projectId"), body.get("runCommand")
        if not isinstance(project_id, str) or not project_id:
            raise _bad("Missing required field 'projectId'")
        if not isinstance(command, str) or not command.strip():
            raise _bad("Missing required field 'runCommand'")
        title = body.get("title")
        if title is not None and not isinstance(title, str):
            raise _bad("Invalid value for 'title': expected a string")
        commit = body.get("commitId")
        if commit is not None and not isinstance(commit, str):
            raise _bad("Invalid value for 'commitId': expected a string")
        cluster = body.get("computeCluster")
        if cluster is not None and not isinstance(cluster, dict):
            raise _bad("Invalid value for 'computeCluster': expected an object")
        cluster = cluster or {}
        project = self.project(project_id)
        tier_id = self.tier_for_job(
            cluster.get("masterHardwareTierId") or body.get("hardwareTier") or project.default_hardware_tier_id,
            "hardwareTier",
        )
        environment_id = (
            cluster.get("computeEnvironmentId") or body.get("environmentId") or project.default_environment_id
        )
        environment = self.environments.get(environment_id) if isinstance(environment_id, str) else None
        if environment is None or environment.archived:
            raise _bad(f"Environment '{environment_id}' does not exist or is archived")
        worker_tier = worker_count = cluster_type = None
        if cluster.get("clusterType") is not None:
            cluster_type = str(cluster["clusterType"]).lower()
            if cluster_type not in _CLUSTER_TYPES:
                raise _bad(f"Invalid value for 'clusterType': '{cluster['clusterType']}'")
            worker_tier = self.tier_for_job(cluster.get("workerHardwareTier") or tier_id, "workerHardwareTier")
            worker_count = cluster.get("workerCount", 1)
            if not isinstance(worker_count, int) or isinstance(worker_count, bool) or worker_count < 1:
                raise _bad("Invalid value for 'workerCount': expected a positive integer")
        submitted = self.tick()
        job_ids = self.project_jobs[project.id]
        number = max((self.jobs[i].number for i in job_ids), default=0) + 1
        job = DominoJob(
            id=self.new_id(),
            number=number,
            project_id=project.id,
            title=title or command,
            run_command=command,
            started_by_id=self.self_id,
            status="Queued",
            is_completed=False,
            is_archived=False,
            is_scheduled=False,
            submission_time=submitted,
            start_time=None,
            completed_time=None,
            hardware_tier_id=tier_id,
            worker_hardware_tier_id=worker_tier,
            worker_count=worker_count,
            environment_id=environment.id,
            input_commit_id=commit or project.head_commit_id,
            output_commit_id=None,
            cpu_percentage=None,
            memory_gib=None,
            tag_ids=[],
            dataset_mounts=[],
            goal_ids=[],
            comments_count=0,
            domino_stats={},
            logs=[],
            cluster_type=cluster_type,
        )
        self.jobs[job.id] = job
        job_ids.append(job.id)
        tier = self.tiers[tier_id]
        self.tiers[tier_id] = replace(tier, queued_runs=tier.queued_runs + 1)
        self.cache.pop(("tier", tier_id), None)
        return self.envelope("job", self.job_details_json(job))

    async def add_tag(self, request: Request) -> Response:
        job = self.job(request.path_params["jobId"])
        body = await self.body(request)
        project_id, name = body.get("projectId"), body.get("tagName")
        if not isinstance(project_id, str) or not project_id:
            raise _bad("Missing required field 'projectId'")
        if not isinstance(name, str) or not name.strip():
            raise _bad("Missing required field 'tagName'")
        if _object_id(project_id, "projectId") != job.project_id:
            raise _bad(f"Job {job.id} does not belong to project {project_id}")
        tag = next((t for t in self.tags.values() if t.name == name), None)
        if tag is None:
            tag = DominoTag(id=self.new_id(), name=name, created_at=self.tick(), creator_id=self.self_id)
            self.tags[tag.id] = tag
        if tag.id not in job.tag_ids:
            self.jobs[job.id] = replace(job, tag_ids=[*job.tag_ids, tag.id])
            self.forget_job(job.id)
        return self.envelope("tag", orjson.dumps(self.tag_record(tag)))

    async def remove_tag(self, request: Request) -> Response:
        job = self.job(request.path_params["jobId"])
        tag_id = _object_id(request.path_params["tagId"], "tagId")
        project_id = request.query_params.get("projectId")
        if project_id is not None and _object_id(project_id, "projectId") != job.project_id:
            raise _bad(f"Job {job.id} does not belong to project {project_id}")
        if tag_id not in job.tag_ids:
            raise _ApiError(404, f"Tag with id {tag_id} not found on job {job.id}")
        self.jobs[job.id] = replace(job, tag_ids=[t for t in job.tag_ids if t != tag_id])
        self.forget_job(job.id)
        return _json(orjson.dumps({"metadata": self.metadata(), "success": True}))

    # -- hardware tiers, environments

    async def list_tiers(self, request: Request) -> Response:
        include_archived = _bool(request.query_params.get("includeArchived"), "includeArchived", False)
        tiers = [t for t in self.tiers.values() if include_archived or not t.is_archived]
        return self.paged(request, "hardwareTiers", "tier", tiers, lambda t: t.id, self.tier_record)

    async def get_tier(self, request: Request) -> Response:
        key = request.path_params["hardwareTierId"]
        tier = self.tiers.get(key)
        if tier is None:
            raise _missing("Hardware tier", key)
        return self.envelope("hardwareTier", self.cached("tier", tier.id, lambda: self.tier_record(tier)))

    async def get_environment(self, request: Request) -> Response:
        environment = self.lookup(
            self.environments, request.path_params["environmentId"], "environmentId", "Environment", lambda e: True
        )
        record = self.cached("environment", environment.id, lambda: self.environment_record(environment))
        return self.envelope("environment", record)

    # -- datasets

    def dataset_json(self, dataset: DominoDataset) -> bytes:
        return self.cached("dataset", dataset.id, lambda: self.dataset_record(dataset))

    async def list_datasets(self, request: Request) -> Response:
        raw_project = request.query_params.get("projectId")
        datasets = [d for d in self.datasets.values() if self.readable(d)]
        if raw_project is not None:
            if _object_id(raw_project, "projectId") not in self.projects:
                raise _missing("Project", raw_project)
            datasets = [d for d in datasets if d.project_id == raw_project]
        return self.paged(request, "datasets", "dataset", datasets, lambda d: d.id, self.dataset_record)

    async def list_datasets_v2(self, request: Request) -> Response:
        params = request.query_params
        include = [_object_id(p, "projectIdsToInclude") for p in params.getlist("projectIdsToInclude")]
        exclude = [_object_id(p, "projectIdsToExclude") for p in params.getlist("projectIdsToExclude")]
        if include and exclude:
            raise _bad("Pass either projectIdsToInclude or projectIdsToExclude, not both")
        with_info = _bool(params.get("includeProjectInfo"), "includeProjectInfo", False)
        permission = params.get("minimumPermission")
        if permission is not None and permission not in _DATASET_PERMISSIONS:
            raise _bad(f"Invalid value for parameter 'minimumPermission': '{permission}'")
        offset, limit = _paging(request, 10)
        datasets = [d for d in self.datasets.values() if self.readable(d)]
        if include:
            datasets = [d for d in datasets if d.project_id in include]
        if exclude:
            datasets = [d for d in datasets if d.project_id not in exclude]
        if permission is not None and permission not in _SHARED_PERMISSIONS:
            datasets = [d for d in datasets if self.accessible(self.projects[d.project_id])]
        chosen = datasets[offset : offset + limit]
        records = (
            b'{"dataset":' + self.dataset_json(d) + b',"projectInfo":'
            + (self.cached("projectInfo", d.project_id, lambda d=d: self.project_info(d)) if with_info else b"null")
            + b"}"
            for d in chosen
        )
        return self.page("datasets", records, offset, limit, len(datasets))

    def project_info(self, dataset: DominoDataset) -> dict[str, Any]:
        project = self.projects[dataset.project_id]
        return {
            "projectId": project.id,
            "projectName": project.name,
            "projectOwnerUsername": self.user_name(project.owner_id),
        }

    async def get_dataset(self, request: Request) -> Response:
        dataset = self.dataset(request.path_params["datasetId"])
        return self.envelope("dataset", self.dataset_json(dataset))

    async def list_snapshots(self, request: Request) -> Response:
        dataset = self.dataset(request.path_params["datasetId"])
        snapshots = [self.snapshots[s] for s in dataset.snapshot_ids]
        return self.paged(request, "snapshots", "snapshot", snapshots, lambda s: s.id, self.snapshot_record)

    async def get_snapshot(self, request: Request) -> Response:
        snapshot = self.lookup(
            self.snapshots, request.path_params["snapshotId"], "snapshotId", "Snapshot",
            lambda s: self.readable(self.datasets[s.dataset_id]),
        )
        return self.envelope("snapshot", self.cached("snapshot", snapshot.id, lambda: self.snapshot_record(snapshot)))

    # -- projects, users

    async def list_projects(self, request: Request) -> Response:
        projects = [p for p in self.projects.values() if self.accessible(p)]
        return self.paged(request, "projects", "project", projects, lambda p: p.id, self.project_record)

    async def get_project(self, request: Request) -> Response:
        project = self.project(request.path_params["projectId"])
        return self.envelope("project", self.cached("project", project.id, lambda: self.project_record(project)))

    async def list_users(self, request: Request) -> Response:
        users = list(self.users.values())
        return self.paged(request, "users", "user", users, lambda u: u.id, self.user_record)

    async def get_self(self, request: Request) -> Response:
        user = self.users[self.self_id]
        return self.envelope("user", self.cached("user", user.id, lambda: self.user_record(user)))

    # -- registered models

    async def list_models(self, request: Request) -> Response:
        params = request.query_params
        size = _int(params.get("maxResults"), "maxResults", 25, 1, LIMIT_MAX)
        start = _decode_page_token(params.get("pageToken"))
        order = _model_order(params.get("orderBy"))
        models = [
            m for m in self.models.values()
            if m.discoverable or self.accessible(self.projects[m.project_id])
        ]
        raw_project = params.get("projectId")
        if raw_project is not None:
            project = self.project(raw_project)
            models = [m for m in models if m.project_id == project.id]
        pattern = params.get("searchPattern")
        if pattern:
            models = [m for m in models if pattern.lower() in m.name.lower()]
        models.sort(key=lambda m: m.name)  # the tiebreak, name ascending
        for column, descending in reversed(order):
            models.sort(key=(lambda m: m.name) if column == "name" else (lambda m: m.updated_at), reverse=descending)
        chosen = models[start : start + size]
        following = start + size if start + size < len(models) else None
        token = None if following is None else _encode_page_token(following)
        meta = self.metadata()
        if self.nested:
            meta["pagination"] = {"nextPageToken": token}
        else:
            meta["nextPageToken"] = token
        records = (self.cached("model", m.name, lambda m=m: self.model_record(m)) for m in chosen)
        return _json(b'{"items":[' + b",".join(records) + b'],"metadata":' + orjson.dumps(meta) + b"}")

    async def get_model(self, request: Request) -> Response:
        model = self.model(request.path_params["modelName"])
        return _json(self.cached("model", model.name, lambda: self.model_record(model)))

    async def list_versions(self, request: Request) -> Response:
        model = self.model(request.path_params["modelName"])
        return self.paged(
            request, "items", "versionOverview", self.versions[model.name],
            lambda v: f"{v.model_name}/{v.version}", self.version_overview, default_limit=20,
        )

    async def get_version(self, request: Request) -> Response:
        raw = request.path_params["version"]
        number = _int(raw, "version", 0, 1)
        model = self.model(request.path_params["modelName"])
        version = next((v for v in self.versions[model.name] if v.version == number), None)
        if version is None:
            raise _ApiError(404, f"Version {number} of registered model {model.name} not found")
        key = f"{model.name}/{number}"
        return _json(self.cached("versionDetails", key, lambda: self.version_details(version)))


def _phase_matches(status_filter: str, job: DominoJob) -> bool:
    if status_filter == "completed":
        return job.is_completed
    if status_filter == "queued":
        return job.status in _QUEUED
    if status_filter == "running":
        return job.status in _RUNNING
    return not job.is_completed  # active


def _nanos(timestamp: str) -> int:
    moment = _instant(timestamp)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def _encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"offset": offset})).decode("ascii")


def _decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        offset = payload["offset"]
    except (binascii.Error, ValueError, UnicodeEncodeError, KeyError, TypeError):
        raise _bad(f"Invalid page token '{token}'") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise _bad(f"Invalid page token '{token}'")
    return offset


def _model_order(raw: str | None) -> list[tuple[str, bool]]:
    """`orderBy`: comma-separated `name` / `last_updated_timestamp`, each optionally ASC or DESC."""
    if not raw:
        return []
    order = []
    for clause in raw.split(","):
        words = clause.split()
        column = words[0].lower() if words else ""
        direction = words[1].upper() if len(words) > 1 else "ASC"
        if column not in _MODEL_ORDER_COLUMNS or direction not in ("ASC", "DESC") or len(words) > 2:
            raise _bad(f"Invalid value for parameter 'orderBy': '{raw}'")
        order.append((column, direction == "DESC"))
    return order
