"""An emulated ZenML server over a seeded `ZenMLDataset`.

`create_zenml_emulator(dataset)` returns an ASGI app speaking the ZenML REST
API under `/api/v1`: pages, filters (`field=op:value`, `oneof:[...]`),
sorting, `hydrate`, the error bodies of a real server, bearer auth and
`/login`, and the payload duplication of hydrated records, so the gateway's
batching and de-duplication are measured against something realistic.

Two record layouts, fixed per app:

- `"seed"`: the layout of the seed documents (older ZenML). Related objects
  are embedded in `body` (`body.user`, a step's `body.inputs` / `body.outputs`,
  an artifact version's `body.artifact` / `body.tags`, a run's
  `body.pipeline`), and `metadata.project` is the embedded project. Embedded
  objects are hydrated when the record is, so a hydrated step repeats the same
  user and project many times. A thin record embeds one level deep: its
  embedded objects are thin and embed no `user`, `pipeline`, `stack` or
  `tags` of their own, as a gateway asking for thin records would want; they
  keep the `artifact` or `model` that names them, as ZenML's body always does. Only top-level steps and runs carry `resources`
  (`{"model_version": ...}`), and only when hydrated.
- `"current"`: the ZenML 0.98 layout of `zenml-samples/`: `body.user_id`,
  `body.project_id`, related objects under `resources` (always present on
  top-level records), embedded objects always thin with `resources: null`.

Services have the seed 003 shape (already the current one) in both layouts.
A pipeline's snapshot (every step it planned, started or not) is served under
`/pipeline_snapshots` and its pre-0.90 name `/pipeline_deployments`, as 0.98
does; runs and steps name it `snapshot_id` (current) or `deployment_id`
(seed). A failed step's `exception_info` has 0.98's message and exception
class (current), or the older traceback alone (seed, on failed steps only).
Lists default to `hydrate=false`, single gets to `hydrate=true`;
`/runs/{id}/steps` is always thin. Records render from the data set once and
are cached as JSON until the next write, so big pages stay cheap.

Errors follow the real server: 404 `{"detail": ["KeyError", str(KeyError(msg))]}`
(the message arrives quoted); filter-model problems (`page`, `size`,
`sort_by`, `logical_operator`, filter values) 422 `{"detail": ["ValueError",
...]}`; request-parameter and body problems (`hydrate`, a path id that is not
a UUID, a bad JSON body) 422 with a bare `["ValueError", ...]`. A page after
the last is 400; page 1 of nothing is `total: 0, total_pages: 1`. String
`contains`/`startswith`/`endswith` ignore case, as ZenML's SQL LIKE does.

Every request is appended to `app.state.calls` as `(method, raw path with
query)` before faults and auth act on it.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mlgraph.sandbox.faults import Faults
from mlgraph.sandbox.middleware import CallLog as _CallLog, RecentLog
from mlgraph.sandbox.zenml_data import (
    ARTIFACT_KINDS,
    Artifact,
    ArtifactVersion,
    Model,
    ModelVersion,
    Pipeline,
    PipelineRun,
    Project,
    Service,
    Snapshot,
    SnapshotStep,
    StepRun,
    Tag,
    User,
    ZenMLDataset,
)

API = "/api/v1"
Layout = Literal["seed", "current"]
StepStatus = Literal[
    "initializing", "provisioning", "running", "completed", "failed",
    "cached", "retrying", "retried", "stopped", "stopping",
]
ServiceState = Literal["active", "inactive", "pending_startup", "pending_shutdown", "error", "scaled_to_zero"]
PAGE_SIZE_MAX = 10000
TOKEN_LIFETIME_S = 3600
_OPEN_PATHS = frozenset({f"{API}/info", f"{API}/login"})
_OPS = ("equals", "notequals", "contains", "startswith", "endswith", "oneof", "gt", "gte", "lt", "lte")
_PIPELINE_HOOKS = (
    "failure_hook_source", "success_hook_source", "start_hook_source", "end_hook_source",
    "pause_hook_source", "resume_hook_source", "init_hook_source", "cleanup_hook_source",
)
_CLIENT_ENVIRONMENT = {
    "environment": "native",
    "os": "linux",
    "linux_distro": "debian",
    "linux_distro_like": "",
    "linux_distro_version": "12",
    "python_version": "3.11.7",
    "zenml_version": "0.98.0",
}


def create_zenml_emulator(
    dataset: ZenMLDataset,
    token: str | None = None,
    faults: Faults | None = None,
    layout: Layout = "seed",
    api_key: str | None = None,
) -> Starlette:
    """An ASGI app serving `dataset` as a ZenML server.

    With `token` (or `api_key`) set, every route but `/info` and `/login`
    needs `Authorization: Bearer <token or api key>`. Writes (PUT step,
    service create/update/delete) change this app's view only, never
    `dataset`.
    """
    if layout not in ("seed", "current"):
        raise ValueError(f"unknown layout {layout!r}")
    emulator = _Emulator(dataset, layout, token, api_key)
    calls: RecentLog[tuple[str, str]] = RecentLog()
    middleware = [Middleware(_CallLog, calls=calls)]
    if faults is not None:
        middleware.append(Middleware(faults.wrap))
    accepted = frozenset(secret for secret in (token, api_key) if secret)
    if accepted:
        middleware.append(Middleware(_BearerAuth, accepted=accepted))
    app = Starlette(
        routes=emulator.routes(),
        middleware=middleware,
        exception_handlers={_ApiError: _api_error_response, HTTPException: _http_error_response},
    )
    app.state.calls = calls
    return app


# ---------------------------------------------------------------- errors


class _ApiError(Exception):
    """An error answer with ZenML's body."""

    def __init__(self, status: int, payload: object) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload


def _not_found(label: str, key: str, by: str = "ID") -> _ApiError:
    # ZenML sends str(KeyError(message)), which wraps the message in quotes.
    message = f"Unable to get {label} with {by} '{key}': No {label} with this {by} found"
    return _ApiError(404, {"detail": ["KeyError", str(KeyError(message))]})


def _filter_error(model: str, field: str, message: str, value: object) -> _ApiError:
    """A filter-model validation failure: 422 with a `detail` pair."""
    text = (
        f"1 validation error for {model}\n{field}\n"
        f"  {message} [type=value_error, input_value={value!r}, input_type=str]"
    )
    return _ApiError(422, {"detail": ["ValueError", text]})


def _request_error(kind: str, loc: tuple[str, ...], message: str, value: object) -> _ApiError:
    """A request-parameter or body validation failure: 422 with a bare pair."""
    error = {"type": kind, "loc": loc, "msg": message, "input": value}
    return _ApiError(422, ["ValueError", f"1 validation error:\n  {error}"])


def _json_response(content: bytes | str, status: int = 200) -> Response:
    return Response(content, status_code=status, media_type="application/json")


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def _api_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _ApiError)
    return _json_response(_dumps(exc.payload), exc.status)


async def _http_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _json_response(_dumps({"detail": exc.detail}), exc.status_code)


# ---------------------------------------------------------------- middleware


class _BearerAuth:
    """ZenML's OAuth2 bearer check, with its two 401 bodies."""

    def __init__(self, app: ASGIApp, accepted: frozenset[str]) -> None:
        self.app = app
        self.accepted = accepted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not credential:
            body: object = {"detail": "Not authenticated"}
        elif credential.strip() not in self.accepted:
            body = {"detail": ["CredentialsNotValid", "Authentication error: invalid or expired access token."]}
        else:
            await self.app(scope, receive, send)
            return
        response = Response(_dumps(body), 401, {"WWW-Authenticate": "Bearer"}, "application/json")
        await response(scope, receive, send)


# ---------------------------------------------------------------- filters


FieldKind = Literal["uuid", "ref", "str", "int", "datetime", "bool"]


@dataclass(frozen=True, slots=True)
class _Field:
    """A filterable field: its kind and how to read it off an object.

    `ref` fields (`user`, `model`, `project`, `tag`, ...) read a tuple of
    alternatives (an id and a name, or several tag names); a condition holds
    when it holds for any of them. They filter but do not sort.
    """

    kind: FieldKind
    get: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Condition:
    field: _Field
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class _ListQuery:
    page: int
    size: int
    sort: _Field
    descending: bool
    use_or: bool
    conditions: list[_Condition]
    hydrate: bool


def _parse_bool(raw: str, name: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    message = "Input should be a valid boolean, unable to interpret input"
    raise _request_error("bool_parsing", ("query", name), message, raw)


def _parse_page_number(raw: str, name: str, model: str, maximum: int | None) -> int:
    try:
        value = int(raw)
    except ValueError:
        message = "Input should be a valid integer, unable to parse string as an integer"
        raise _filter_error(model, name, message, raw) from None
    if value < 1:
        raise _filter_error(model, name, "Input should be greater than or equal to 1", raw)
    if maximum is not None and value > maximum:
        # A real 0.98 server refuses this in its query parameters, before the filter model.
        message = f"Input should be less than or equal to {maximum}"
        raise _request_error("less_than_equal", ("query", name), message, raw)
    return value


def _canonical_datetime(raw: str) -> str:
    moment = datetime.fromisoformat(raw.strip())
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def _normalise(field: _Field, raw: str) -> Any:
    """The filter value in the form the field's values are compared in."""
    if field.kind in ("uuid", "ref"):
        return raw.strip().lower()
    if field.kind == "int":
        return int(raw)
    if field.kind == "datetime":
        return _canonical_datetime(raw)
    if field.kind == "bool":
        if raw.lower() not in ("true", "false"):
            raise ValueError(raw)
        return raw.lower() == "true"
    return raw


def _parse_condition(name: str, field: _Field, raw: str, model: str) -> _Condition:
    op, sep, rest = raw.partition(":")
    if sep and op == "in":
        message = f"Value error, Invalid filter operator 'in'. Use one of {', '.join(_OPS)}"
        raise _filter_error(model, name, message, raw)
    if not (sep and op in _OPS):
        op, rest = "equals", raw
    try:
        if op == "oneof":
            items = json.loads(rest)
            if not isinstance(items, list):
                raise ValueError(rest)
            return _Condition(field, op, frozenset(_normalise(field, str(item)) for item in items))
        if op in ("contains", "startswith", "endswith"):
            return _Condition(field, op, rest.lower())
        return _Condition(field, op, _normalise(field, rest))
    except ValueError:
        raise _filter_error(model, name, f"Value error, Invalid value for filter '{name}'", raw) from None


def _holds(op: str, value: Any, target: Any) -> bool:
    if value is None:
        return op == "notequals"
    if op == "equals":
        return bool(value == target)
    if op == "notequals":
        return bool(value != target)
    if op == "oneof":
        return value in target
    if op in ("contains", "startswith", "endswith"):
        text = str(value).lower()
        if op == "contains":
            return target in text
        return text.startswith(target) if op == "startswith" else text.endswith(target)
    try:
        if op == "gt":
            return bool(value > target)
        if op == "gte":
            return bool(value >= target)
        if op == "lt":
            return bool(value < target)
        return bool(value <= target)
    except TypeError:
        return False


def _matches(condition: _Condition, obj: Any) -> bool:
    value = condition.field.get(obj)
    if condition.field.kind != "ref":
        return _holds(condition.op, value, condition.value)
    candidates = [str(v).lower() for v in value if v is not None]
    if condition.op == "notequals":
        return all(_holds("notequals", v, condition.value) for v in candidates)
    return any(_holds(condition.op, v, condition.value) for v in candidates)


def _sort_key(field: _Field) -> Callable[[Any], tuple[bool, Any]]:
    def key(obj: Any) -> tuple[bool, Any]:
        value = field.get(obj)
        return (value is not None, "" if value is None else value)

    return key


# ---------------------------------------------------------------- request models


class _StepRunUpdate(BaseModel):
    """Seed 000's step update body."""

    model_config = ConfigDict(extra="ignore")
    outputs: dict[str, list[uuid.UUID]] = {}
    loaded_artifact_versions: dict[str, uuid.UUID] = {}
    status: StepStatus | None = None
    end_time: datetime | None = None


class _ServiceType(BaseModel):
    type: str
    flavor: str
    name: str = ""
    description: str = ""
    logo_url: str = ""


class _ServiceRequest(BaseModel):
    """Seed 003's service create body."""

    model_config = ConfigDict(extra="ignore")
    user: uuid.UUID | None = None
    project: uuid.UUID | None = None
    name: str
    service_type: _ServiceType
    service_source: str | None = None
    admin_state: ServiceState | None = None
    config: dict[str, Any]
    labels: dict[str, str] | None = None
    status: dict[str, Any] | None = None
    endpoint: dict[str, Any] | None = None
    prediction_url: str | None = None
    health_check_url: str | None = None
    model_version_id: uuid.UUID | None = None
    pipeline_run_id: uuid.UUID | None = None


class _ServiceUpdate(BaseModel):
    """Seed 003's service update body; only the fields sent change."""

    model_config = ConfigDict(extra="ignore")
    name: str | None = None
    admin_state: ServiceState | None = None
    service_source: str | None = None
    status: dict[str, Any] | None = None
    endpoint: dict[str, Any] | None = None
    prediction_url: str | None = None
    health_check_url: str | None = None
    labels: dict[str, str] | None = None
    model_version_id: uuid.UUID | None = None


def _validate(model: type[BaseModel], payload: object) -> Any:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ("body", *(str(part) for part in first["loc"]))
        raise _request_error(first["type"], loc, first["msg"], first.get("input")) from None


# ---------------------------------------------------------------- store


class _Store:
    """The emulator's view of the data set: lookups, derived facts, writes."""

    def __init__(self, ds: ZenMLDataset) -> None:
        self.ds = ds
        self.project: Project = ds.project
        self.projects = {p.id: p for p in ds.projects}
        self.users = {u.id: u for u in ds.users}
        self.tags = {t.id: t for t in ds.tags}
        self.pipelines = {p.id: p for p in ds.pipelines}
        #: 0.98 serves snapshots under both names, the older one deprecated.
        self.pipeline_snapshots = self.pipeline_deployments = {s.id: s for s in ds.snapshots}
        self.runs = {r.id: r for r in ds.runs}
        self.steps = {s.id: s for s in ds.steps}
        self.artifacts = {a.id: a for a in ds.artifacts}
        self.artifact_versions = {v.id: v for v in ds.artifact_versions}
        self.models = {m.id: m for m in ds.models}
        self.model_versions = {v.id: v for v in ds.model_versions}
        self.services = {s.id: s for s in ds.services}
        self.latest_run = {r.pipeline_id: r for r in ds.runs}
        tagged: list[Iterable[str]] = [
            *(r.tag_ids for r in ds.runs),
            *(p.tag_ids for p in ds.pipelines),
            *(a.tag_ids for a in ds.artifacts),
            *(v.tag_ids for v in ds.artifact_versions),
            *(m.tag_ids for m in ds.models),
            *(v.tag_ids for v in ds.model_versions),
        ]
        self.tagged_count = {t: 0 for t in self.tags}
        for ids in tagged:
            for tag_id in ids:
                self.tagged_count[tag_id] += 1
        self.rng = random.Random(f"zenml-emulator:{ds.seed}")
        self.clock = datetime.fromisoformat(ds.now)

    def user_ref(self, user_id: str) -> tuple[str, str]:
        return (user_id, self.users[user_id].name)

    def project_ref(self, _: object) -> tuple[str, str]:
        return (self.project.id, self.project.name)

    def tag_names(self, tag_ids: list[str]) -> tuple[str, ...]:
        return tuple(self.tags[t].name for t in tag_ids)

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def tick(self) -> str:
        """The next write's timestamp: a second after the previous, never the wall clock."""
        self.clock += timedelta(seconds=1)
        return self.clock.isoformat(timespec="microseconds")


# ---------------------------------------------------------------- entities


@dataclass(frozen=True, slots=True)
class _Entity:
    """One REST collection: where it lives, how it is named, what filters it."""

    kind: str
    collection: str
    label: str
    filter_model: str
    param: str
    by_name: bool
    fields: dict[str, _Field]

    def items(self, store: _Store) -> dict[str, Any]:
        return getattr(store, self.collection)  # type: ignore[no-any-return]


def _entities(store: _Store) -> dict[str, _Entity]:
    """Filter tables per collection (ZenML's filter models, the useful part)."""
    user = _Field("ref", lambda o: store.user_ref(o.user_id))
    project = _Field("ref", store.project_ref)

    def base(**extra: _Field) -> dict[str, _Field]:
        return {
            "id": _Field("uuid", lambda o: o.id),
            "created": _Field("datetime", lambda o: o.created),
            "updated": _Field("datetime", lambda o: getattr(o, "updated", o.created)),
            **extra,
        }

    def scoped(**extra: _Field) -> dict[str, _Field]:
        common = base(
            name=_Field("str", lambda o: o.name),
            user=user,
            user_id=_Field("uuid", lambda o: o.user_id),
            project=project,
        )
        return {**common, **extra}

    def tags(o: Any) -> tuple[str, ...]:
        return store.tag_names(o.tag_ids)

    steps = scoped(
        status=_Field("str", lambda s: s.status),
        pipeline_run_id=_Field("uuid", lambda s: s.pipeline_run_id),
        original_step_run_id=_Field("uuid", lambda s: s.original_step_run_id),
        model_version_id=_Field("uuid", lambda s: s.model_version_id),
        start_time=_Field("datetime", lambda s: s.start_time),
        end_time=_Field("datetime", lambda s: s.end_time),
        cache_key=_Field("str", lambda s: s.cache_key),
        code_hash=_Field("str", lambda s: s.plan.code_hash),
    )
    runs = scoped(
        status=_Field("str", lambda r: r.status),
        index=_Field("int", lambda r: r.index),
        pipeline_id=_Field("uuid", lambda r: r.pipeline_id),
        pipeline=_Field("ref", lambda r: (r.pipeline_id, store.pipelines[r.pipeline_id].name)),
        model_version_id=_Field("uuid", lambda r: r.model_version_id),
        start_time=_Field("datetime", lambda r: r.start_time),
        end_time=_Field("datetime", lambda r: r.end_time),
        tag=_Field("ref", tags),
    )
    artifact_versions = scoped(
        name=_Field("str", lambda v: store.artifacts[v.artifact_id].name),
        artifact_id=_Field("uuid", lambda v: v.artifact_id),
        artifact=_Field("ref", lambda v: (v.artifact_id, store.artifacts[v.artifact_id].name)),
        version=_Field("str", lambda v: v.version),
        type=_Field("str", lambda v: ARTIFACT_KINDS[v.kind].type),
        pipeline_run_id=_Field("uuid", lambda v: v.producer_pipeline_run_id),
        tag=_Field("ref", tags),
    )
    model_versions = scoped(
        name=_Field("str", lambda v: v.name),
        number=_Field("int", lambda v: v.number),
        stage=_Field("str", lambda v: v.stage),
        model_id=_Field("uuid", lambda v: v.model_id),
        model=_Field("ref", lambda v: (v.model_id, store.models[v.model_id].name)),
        tag=_Field("ref", tags),
    )
    services = scoped(
        type=_Field("str", lambda s: s.service_type.get("type")),
        flavor=_Field("str", lambda s: s.service_type.get("flavor")),
        model_version_id=_Field("uuid", lambda s: s.model_version_id),
        pipeline_run_id=_Field("uuid", lambda s: s.pipeline_run_id),
    )
    users = base(
        name=_Field("str", lambda u: u.name),
        full_name=_Field("str", lambda u: u.full_name),
        email=_Field("str", lambda u: u.email),
    )
    tag_fields = base(
        name=_Field("str", lambda t: t.name),
        color=_Field("str", lambda t: t.color),
        exclusive=_Field("bool", lambda t: t.exclusive),
        user=user,
    )
    projects = base(name=_Field("str", lambda p: p.name), display_name=_Field("str", lambda p: p.display_name))
    tagged = scoped(tag=_Field("ref", tags))
    snapshots = scoped(pipeline_id=_Field("uuid", lambda s: s.pipeline_id))
    table = [
        _Entity("step", "steps", "step run", "StepRunFilter", "step_id", False, steps),
        _Entity("run", "runs", "pipeline run", "PipelineRunFilter", "run_id", False, runs),
        _Entity("pipeline", "pipelines", "pipeline", "PipelineFilter", "pipeline_id", False, tagged),
        _Entity("artifact", "artifacts", "artifact", "ArtifactFilter", "artifact_id", False, tagged),
        _Entity("artifact_version", "artifact_versions", "artifact version", "ArtifactVersionFilter",
                "artifact_version_id", False, artifact_versions),
        _Entity("model", "models", "model", "ModelFilter", "model_id", False, tagged),
        _Entity("model_version", "model_versions", "model version", "ModelVersionFilter",
                "model_version_id", False, model_versions),
        _Entity("user", "users", "user", "UserFilter", "user_name_or_id", True, users),
        _Entity("project", "projects", "project", "ProjectFilter", "project_name_or_id", True, projects),
        _Entity("tag", "tags", "tag", "TagFilter", "tag_name_or_id", True, tag_fields),
        _Entity("service", "services", "service", "ServiceFilter", "service_id", False, services),
        _Entity("snapshot", "pipeline_snapshots", "pipeline snapshot", "PipelineSnapshotFilter", "snapshot_id",
                False, snapshots),
        _Entity("deployment", "pipeline_deployments", "pipeline snapshot", "PipelineSnapshotFilter",
                "deployment_id", False, snapshots),
    ]
    return {e.kind: e for e in table}


# ---------------------------------------------------------------- records


_NO_NAME = object()


def _record(body: object, metadata: object, resources: object, id: str, name: object = _NO_NAME) -> dict[str, Any]:
    record = {"body": body, "metadata": metadata, "resources": resources, "id": id, "permission_denied": False}
    if name is not _NO_NAME:
        record["name"] = name
    return record


def _source(module: str, attribute: str, kind: str) -> dict[str, str]:
    return {"module": module, "attribute": attribute, "type": kind}


def _substitutions(run: PipelineRun) -> dict[str, str]:
    date, _, time = run.start_time.partition("T")
    return {"date": date.replace("-", "_"), "time": time.replace(":", "_").replace(".", "_")}


class _Records:
    """Renders store objects as ZenML records, memoised until the next write.

    `nested` records are the ones embedded in another record. Subclasses give
    the two layouts; each `_<kind>(obj, hydrated, nested)` method builds one
    record and may embed others through `self.record`.
    """

    nested_hydrated = False
    """Whether embedded records follow the parent's hydration (seed) or stay thin."""

    def __init__(self, store: _Store) -> None:
        self.store = store
        self._records: dict[tuple[str, str, bool, bool], dict[str, Any]] = {}
        self._json: dict[tuple[str, str, bool], str] = {}

    def clear(self) -> None:
        self._records.clear()
        self._json.clear()

    def record(self, kind: str, obj: Any, hydrated: bool, nested: bool) -> dict[str, Any]:
        key = (kind, obj.id, hydrated, nested)
        found = self._records.get(key)
        if found is None:
            found = getattr(self, f"_{kind}")(obj, hydrated, nested)
            self._records[key] = found
        return found

    def json(self, kind: str, obj: Any, hydrated: bool) -> str:
        key = (kind, obj.id, hydrated)
        found = self._json.get(key)
        if found is None:
            found = _dumps(self.record(kind, obj, hydrated, False))
            self._json[key] = found
        return found

    def user(self, user_id: str, hydrated: bool) -> dict[str, Any]:
        return self.record("user", self.store.users[user_id], hydrated, True)

    def tag_list(self, tag_ids: list[str], hydrated: bool) -> list[dict[str, Any]]:
        return [self.record("tag", self.store.tags[t], hydrated, True) for t in tag_ids]

    def model_version(self, version_id: str | None, hydrated: bool) -> dict[str, Any] | None:
        if version_id is None:
            return None
        return self.record("model_version", self.store.model_versions[version_id], hydrated, True)

    def run_config(self, run: PipelineRun) -> dict[str, Any]:
        pipeline = self.store.pipelines[run.pipeline_id]
        version = self.store.model_versions.get(run.model_version_id or "")
        return {
            "enable_cache": run.enable_cache,
            "enable_artifact_metadata": None,
            "enable_artifact_visualization": None,
            "enable_step_logs": None,
            "enable_heartbeat": None,
            "environment": {},
            "secrets": [],
            "enable_pipeline_logs": None,
            "execution_mode": "continue_on_failure",
            "settings": {},
            "tags": list(self.store.tag_names(run.tag_ids)),
            "extra": {},
            **dict.fromkeys(_PIPELINE_HOOKS),
            "init_hook_kwargs": None,
            "model": self.model_config(version),
            "parameters": run.parameters,
            "retry": None,
            "substitutions": _substitutions(run),
            "cache_policy": None,
            "name": pipeline.name,
            "steps_to_skip": [],
            "skip_successful_steps": False,
            "step_input_overrides": {},
            "step_default_input_overrides": {},
        }

    def model_config(self, version: ModelVersion | None) -> dict[str, Any] | None:
        if version is None:
            return None
        model = self.store.models[version.model_id]
        return {
            "name": model.name,
            **_model_card(model),
            "tags": list(self.store.tag_names(model.tag_ids)),
            "version": version.name,
            "model_version_id": version.id,
            "suppress_class_validation_warnings": True,
        }

    def step_outputs_config(self, step: SnapshotStep) -> dict[str, Any]:
        return {
            name: {
                "materializer_source": [_source(*ARTIFACT_KINDS[kind].materializer)],
                "default_materializer_source": None,
                "artifact_config": None,
            }
            for name, kind in step.output_kinds.items()
        }

    def step_config(
        self, step: SnapshotStep, run: PipelineRun | None, version: ModelVersion | None
    ) -> dict[str, Any]:
        """A step's config as the seeds' servers wrote it: a step run's, or
        (no run) its snapshot's."""
        return {
            "enable_cache": run.enable_cache if run else None,
            "enable_artifact_metadata": None,
            "enable_artifact_visualization": None,
            "enable_step_logs": None,
            "step_operator": None,
            "experiment_tracker": None,
            "parameters": {},
            "settings": step.settings,
            "extra": {},
            "failure_hook_source": None,
            "success_hook_source": None,
            "model": self.model_config(version),
            "retry": None,
            "substitutions": _substitutions(run) if run else {},
            "outputs": self.step_outputs_config(step),
            "name": step.name,
            "caching_parameters": {"step_source": step.code_hash},
            "external_input_artifacts": {},
            "model_artifacts_or_metadata": {},
            "client_lazy_loaders": {},
        }

    def snapshot_configuration(self, snapshot: Snapshot) -> dict[str, Any]:
        """A snapshot's pipeline configuration: its pipeline's newest run's."""
        latest = self.store.latest_run.get(snapshot.pipeline_id)
        return self.run_config(latest) if latest else {}

    def _deployment(self, snapshot: Snapshot, hydrated: bool, nested: bool) -> dict[str, Any]:
        """The route's older name answers the same record."""
        return self.record("snapshot", snapshot, hydrated, nested)

    def latest_artifact_version(self, artifact: Artifact) -> tuple[str | None, str | None]:
        """(name, id) of the artifact's newest version."""
        if not artifact.version_ids:
            return None, None
        latest = self.store.artifact_versions[artifact.version_ids[-1]]
        return latest.version, latest.id

    def latest_model_version(self, model: Model) -> tuple[str | None, str | None]:
        """(name, id) of the model's newest version."""
        if not model.version_ids:
            return None, None
        latest = self.store.model_versions[model.version_ids[-1]]
        return latest.name, latest.id

    def artifact_ids_by_name(self, version_ids: list[str]) -> dict[str, dict[str, str]]:
        result: dict[str, dict[str, str]] = {}
        for version_id in version_ids:
            version = self.store.artifact_versions[version_id]
            name = self.store.artifacts[version.artifact_id].name
            result.setdefault(name, {})[version.version] = version.id
        return result

    def _service(self, service: Service, hydrated: bool, nested: bool) -> dict[str, Any]:
        """Seed 003's shape, which is also the current one."""
        inner = hydrated and not nested and self.nested_hydrated
        run = self.store.runs.get(service.pipeline_run_id or "")
        body = {
            "created": service.created,
            "updated": service.updated,
            "user_id": service.user_id,
            "project_id": self.store.project.id,
            "service_type": service.service_type,
            "labels": service.labels,
            "state": service.state,
        }
        metadata = {
            "service_source": service.service_source,
            "admin_state": service.admin_state,
            "config": service.config,
            "status": service.status,
            "endpoint": service.endpoint,
            "prediction_url": service.prediction_url,
            "health_check_url": service.health_check_url,
        } if hydrated else None
        resources = None if nested else {
            "user": self.user(service.user_id, inner),
            "pipeline_run": None if run is None else self.record("run", run, inner, True),
            "model_version": self.model_version(service.model_version_id, inner),
        }
        return _record(body, metadata, resources, service.id, service.name)


_EMBEDDED_KEYS = ("user", "pipeline", "stack", "tags")


class _SeedRecords(_Records):
    """The seed documents' layout: related objects embedded in `body`."""

    nested_hydrated = True

    def shallow(self, body: dict[str, Any], hydrated: bool, nested: bool) -> dict[str, Any]:
        """A thin embedded record embeds nothing itself.

        Thin records embed their related objects one level deep: a thin step
        carries its user and artifact versions, and those carry no user,
        pipeline or tags of their own. They keep the object that names them
        (a version's artifact, a model version's model), as ZenML's body
        always does. That keeps thin pages small, as a gateway asking for
        thin records expects; hydrated records embed all the way down.
        """
        if nested and not hydrated:
            for key in _EMBEDDED_KEYS:
                body.pop(key, None)
        return body

    def project_record(self, hydrated: bool) -> dict[str, Any]:
        return self.record("project", self.store.project, hydrated, True)

    def _user(self, user: User, hydrated: bool, nested: bool) -> dict[str, Any]:
        body = {
            "created": user.created,
            "updated": user.created,
            "active": True,
            "activation_token": None,
            "full_name": user.full_name,
            "email_opted_in": False,
            "is_service_account": False,
            "is_admin": user.is_admin,
            "default_project_id": self.store.project.id,
        }
        metadata = None
        if hydrated:
            metadata = {"email": user.email, "external_user_id": None, "user_metadata": user.user_metadata}
        return _record(body, metadata, None, user.id, user.name)

    def _project(self, project: Project, hydrated: bool, nested: bool) -> dict[str, Any]:
        body = {"created": project.created, "updated": project.created, "display_name": project.display_name}
        return _record(body, {"description": project.description} if hydrated else None, None, project.id, project.name)

    def _tag(self, tag: Tag, hydrated: bool, nested: bool) -> dict[str, Any]:
        body = {
            "created": tag.created,
            "updated": tag.created,
            "user": self.user(tag.user_id, hydrated),
            "color": tag.color,
            "exclusive": tag.exclusive,
            "tagged_count": self.store.tagged_count[tag.id],
        }
        return _record(self.shallow(body, hydrated, nested), {} if hydrated else None, None, tag.id, tag.name)

    def stack_record(self, hydrated: bool) -> dict[str, Any]:
        stack = self.store.ds.stack
        body = {"created": stack.created, "updated": stack.created, "user": None}
        metadata = {"project": self.project_record(True), "components": {}, "description": ""} if hydrated else None
        return _record(body, metadata, None, stack.id, stack.name)

    def _pipeline(self, pipeline: Pipeline, hydrated: bool, nested: bool) -> dict[str, Any]:
        latest = self.store.latest_run.get(pipeline.id)
        body = {
            "created": pipeline.created,
            "updated": pipeline.created,
            "user": self.user(pipeline.user_id, hydrated),
            "latest_run_id": latest.id if latest else None,
            "latest_run_status": latest.status if latest else None,
            "tags": self.tag_list(pipeline.tag_ids, hydrated),
        }
        metadata = {"project": self.project_record(True), "description": pipeline.description} if hydrated else None
        return _record(self.shallow(body, hydrated, nested), metadata, None, pipeline.id, pipeline.name)

    def _run(self, run: PipelineRun, hydrated: bool, nested: bool) -> dict[str, Any]:
        pipeline = self.store.pipelines[run.pipeline_id]
        body = {
            "created": run.created,
            "updated": run.updated,
            "user": self.user(run.user_id, hydrated),
            "status": run.status,
            "stack": self.stack_record(hydrated),
            "pipeline": self.record("pipeline", pipeline, hydrated, True),
            "build": None,
            "schedule": None,
            "code_reference": None,
            "deployment_id": pipeline.snapshot_id,
            "trigger_execution": None,
            "model_version_id": run.model_version_id,
            "tags": self.tag_list(run.tag_ids, hydrated),
        }
        metadata = {
            "project": self.project_record(True),
            "run_metadata": {},
            "config": self.run_config(run),
            "start_time": run.start_time,
            "end_time": run.end_time,
            "client_environment": _CLIENT_ENVIRONMENT,
            "orchestrator_environment": _CLIENT_ENVIRONMENT,
            "orchestrator_run_id": run.orchestrator_run_id,
            "code_path": None,
            "template_id": None,
            "is_templatable": False,
        } if hydrated else None
        resources = {"model_version": self.model_version(run.model_version_id, True)} if hydrated and not nested else None
        return _record(self.shallow(body, hydrated, nested), metadata, resources, run.id, run.name)

    def _artifact(self, artifact: Artifact, hydrated: bool, nested: bool) -> dict[str, Any]:
        latest_name, latest_id = self.latest_artifact_version(artifact)
        body = {
            "created": artifact.created,
            "updated": artifact.created,
            "user": self.user(artifact.user_id, hydrated),
            "tags": self.tag_list(artifact.tag_ids, hydrated),
            "latest_version_name": latest_name,
            "latest_version_id": latest_id,
        }
        metadata = {"project": self.project_record(True), "has_custom_name": artifact.has_custom_name} if hydrated else None
        return _record(self.shallow(body, hydrated, nested), metadata, None, artifact.id, artifact.name)

    def _artifact_version(self, version: ArtifactVersion, hydrated: bool, nested: bool) -> dict[str, Any]:
        kind = ARTIFACT_KINDS[version.kind]
        body = {
            "created": version.created,
            "updated": version.created,
            "user": self.user(version.user_id, hydrated),
            "artifact": self.record("artifact", self.store.artifacts[version.artifact_id], hydrated, True),
            "version": version.version,
            "uri": version.uri,
            "type": kind.type,
            "materializer": _source(*kind.materializer),
            "data_type": _source(*kind.data_type),
            "tags": self.tag_list(version.tag_ids, hydrated),
            "producer_pipeline_run_id": version.producer_pipeline_run_id,
            "save_type": "step_output",
            "artifact_store_id": self.store.ds.artifact_store_id,
        }
        metadata = {
            "project": self.project_record(True),
            "producer_step_run_id": version.producer_step_run_id,
            "visualizations": _visualizations(version, True),
            "run_metadata": version.run_metadata,
        } if hydrated else None
        return _record(self.shallow(body, hydrated, nested), metadata, None, version.id)

    def _step(self, step: StepRun, hydrated: bool, nested: bool) -> dict[str, Any]:
        versions = self.store.artifact_versions
        body = {
            "created": step.created,
            "updated": step.updated,
            "user": self.user(step.user_id, hydrated),
            "status": step.status,
            "start_time": step.start_time,
            "end_time": step.end_time,
            "inputs": {
                name: {
                    **self.record("artifact_version", versions[version_id], hydrated, True),
                    "input_type": "lazy_loaded" if name in step.lazy_inputs else "step_output",
                }
                for name, version_id in step.inputs.items()
            },
            "outputs": {
                name: [self.record("artifact_version", versions[i], hydrated, True) for i in ids]
                for name, ids in step.outputs.items()
            },
            "model_version_id": step.model_version_id,
        }
        metadata = self._step_metadata(step) if hydrated else None
        resources = {"model_version": self.model_version(step.model_version_id, True)} if hydrated and not nested else None
        return _record(body, metadata, resources, step.id, step.name)

    def _step_metadata(self, step: StepRun) -> dict[str, Any]:
        run = self.store.runs[step.pipeline_run_id]
        pipeline = self.store.pipelines[run.pipeline_id]
        version = self.store.model_versions.get(step.model_version_id or "")
        metadata = {
            "project": self.project_record(True),
            "config": self.step_config(step.plan, run, version),
            "spec": self.step_spec(step.plan),
            "cache_key": step.cache_key,
            "code_hash": step.plan.code_hash,
            "docstring": step.plan.docstring,
            "source_code": step.plan.source_code,
            "logs": _record(
                {"created": step.created, "updated": step.created, "uri": _log_uri(step.log_id)},
                {"step_run_id": step.id, "pipeline_run_id": run.id, "artifact_store_id": self.store.ds.artifact_store_id},
                None,
                step.log_id,
            ),
            "deployment_id": pipeline.snapshot_id,
            "pipeline_run_id": step.pipeline_run_id,
            "original_step_run_id": step.original_step_run_id,
            "parent_step_ids": step.parent_step_ids,
            "run_metadata": step.run_metadata,
        }
        if step.failure is not None:
            # Seed 000's step did not fail; what a failed one carries here is
            # the exception info of the servers after it: a traceback, no message.
            metadata["exception_info"] = {
                "traceback": step.failure.traceback,
                "step_code_line": step.failure.user_code_line,
            }
        return metadata

    def step_spec(self, step: SnapshotStep) -> dict[str, Any]:
        return {
            "source": _source(step.source_module, step.name, "user"),
            "upstream_steps": step.upstream_steps,
            "inputs": {name: {"step_name": s, "output_name": o} for name, (s, o) in step.input_sources.items()},
            "pipeline_parameter_name": step.name,
        }

    def _snapshot(self, snapshot: Snapshot, hydrated: bool, nested: bool) -> dict[str, Any]:
        """A deployment, as older servers name a snapshot: its steps by name."""
        pipeline = self.store.pipelines[snapshot.pipeline_id]
        body = {
            "created": snapshot.created,
            "updated": snapshot.created,
            "user": self.user(snapshot.user_id, hydrated),
            "pipeline": self.record("pipeline", pipeline, hydrated, True),
            "stack": self.stack_record(hydrated),
        }
        metadata = {
            "project": self.project_record(True),
            "run_name_template": f"{pipeline.name}-{{date}}-{{time}}",
            "pipeline_configuration": self.snapshot_configuration(snapshot),
            "step_configurations": {
                step.name: {"spec": self.step_spec(step), "config": self.step_config(step, None, None)}
                for step in snapshot.steps
            },
            "client_environment": _CLIENT_ENVIRONMENT,
            "client_version": "0.60.0",
            "server_version": "0.60.0",
            "pipeline_version_hash": hashlib.md5(snapshot.id.encode()).hexdigest(),
            "pipeline_spec": {"version": "0.4", "steps": [self.step_spec(step) for step in snapshot.steps]},
            "code_path": None,
            "template_id": None,
        } if hydrated else None
        return _record(self.shallow(body, hydrated, nested), metadata, None, snapshot.id, None)

    def _model(self, model: Model, hydrated: bool, nested: bool) -> dict[str, Any]:
        latest_name, latest_id = self.latest_model_version(model)
        body = {
            "created": model.created,
            "updated": model.created,
            "user": self.user(model.user_id, hydrated),
            "tags": self.tag_list(model.tag_ids, hydrated),
            "latest_version_name": latest_name,
            "latest_version_id": latest_id,
        }
        metadata = {"project": self.project_record(True), **_model_card(model)} if hydrated else None
        return _record(self.shallow(body, hydrated, nested), metadata, None, model.id, model.name)

    def _model_version(self, version: ModelVersion, hydrated: bool, nested: bool) -> dict[str, Any]:
        run = self.store.runs.get(version.pipeline_run_id or "")
        body = {
            "created": version.created,
            "updated": version.created,
            "user": self.user(version.user_id, hydrated),
            "stage": version.stage,
            "number": version.number,
            "model": self.record("model", self.store.models[version.model_id], hydrated, True),
            "model_artifact_ids": self.artifact_ids_by_name(version.model_artifact_version_ids),
            "data_artifact_ids": self.artifact_ids_by_name(version.data_artifact_version_ids),
            "deployment_artifact_ids": {},
            "pipeline_run_ids": {run.name: run.id} if run else {},
            "tags": self.tag_list(version.tag_ids, hydrated),
        }
        metadata = {
            "project": self.project_record(True),
            "description": version.description,
            "run_metadata": version.run_metadata,
        } if hydrated else None
        return _record(self.shallow(body, hydrated, nested), metadata, None, version.id, version.name)


class _CurrentRecords(_Records):
    """ZenML 0.98's layout: ids in `body`, related objects under `resources`."""

    def scope(self, obj: Any) -> dict[str, Any]:
        return {
            "created": obj.created,
            "updated": getattr(obj, "updated", obj.created),
            "user_id": obj.user_id,
            "project_id": self.store.project.id,
        }

    def _user(self, user: User, hydrated: bool, nested: bool) -> dict[str, Any]:
        body = {
            "created": user.created,
            "updated": user.created,
            "active": True,
            "activation_token": None,
            "full_name": user.full_name,
            "email_opted_in": False,
            "is_service_account": False,
            "is_admin": user.is_admin,
            "default_project_id": None,
            "avatar_url": None,
        }
        metadata = {
            "password_changed_at": None,
            "email": user.email,
            "external_user_id": None,
            "user_metadata": user.user_metadata,
            "oidc_claims": {},
        } if hydrated else None
        return _record(body, metadata, None, user.id, user.name)

    def _project(self, project: Project, hydrated: bool, nested: bool) -> dict[str, Any]:
        body = {"created": project.created, "updated": project.created, "display_name": project.display_name}
        metadata = {"description": project.description, "project_metadata": {}} if hydrated else None
        return _record(body, metadata, None, project.id, project.name)

    def _tag(self, tag: Tag, hydrated: bool, nested: bool) -> dict[str, Any]:
        body = {
            "created": tag.created,
            "updated": tag.created,
            "user_id": tag.user_id,
            "color": tag.color,
            "exclusive": tag.exclusive,
        }
        resources = None if nested else {
            "user": self.user(tag.user_id, False),
            "tagged_count": self.store.tagged_count[tag.id],
        }
        return _record(body, {} if hydrated else None, resources, tag.id, tag.name)

    def thin(self, kind: str, obj: Any) -> dict[str, Any]:
        return self.record(kind, obj, False, True)

    def _pipeline(self, pipeline: Pipeline, hydrated: bool, nested: bool) -> dict[str, Any]:
        latest = self.store.latest_run.get(pipeline.id)
        resources = None if nested else {
            "user": self.user(pipeline.user_id, False),
            "latest_run_user": self.user(latest.user_id, False) if latest else None,
            "latest_run_id": latest.id if latest else None,
            "latest_run_status": latest.status if latest else None,
            "tags": self.tag_list(pipeline.tag_ids, False),
            "visualizations": [],
        }
        metadata = {"description": pipeline.description} if hydrated else None
        return _record(self.scope(pipeline), metadata, resources, pipeline.id, pipeline.name)

    def _run(self, run: PipelineRun, hydrated: bool, nested: bool) -> dict[str, Any]:
        pipeline = self.store.pipelines[run.pipeline_id]
        body = {
            **self.scope(run),
            "status": run.status,
            "in_progress": run.end_time is None,
            "status_reason": run.status_reason,
            "index": run.index,
            "pipeline_id": run.pipeline_id,
            "child_key": None,
            "root_run_id": None,
        }
        metadata = {
            "run_metadata": {},
            "config": self.run_config(run),
            "start_time": run.start_time,
            "end_time": run.end_time,
            "client_environment": _CLIENT_ENVIRONMENT,
            "orchestrator_environment": _CLIENT_ENVIRONMENT,
            "orchestrator_run_id": run.orchestrator_run_id,
            "code_path": None,
            "template_id": None,
            "is_templatable": False,
            "trigger_info": None,
            "enable_heartbeat": True,
            "exception_info": None,
            "trigger_execution_info": None,
        } if hydrated else None
        resources = None if nested else {
            "user": self.user(run.user_id, False),
            "snapshot": self.thin("snapshot", self.store.pipeline_snapshots[pipeline.snapshot_id]),
            "source_snapshot": None,
            "stack": self.stack_record(),
            "pipeline": self.thin("pipeline", pipeline),
            "build": None,
            "schedule": None,
            "code_reference": None,
            "model_version": self.model_version(run.model_version_id, False),
            "tags": self.tag_list(run.tag_ids, False),
            "log_collection": [self.log_record(run, run.log_id, "client", None, run.id)],
            "visualizations": [],
            "trigger": None,
            "original_run": None,
            "parent_run": None,
            "active_wait_condition": None,
            "outputs": {},
        }
        return _record(body, metadata, resources, run.id, run.name)

    def stack_record(self) -> dict[str, Any]:
        stack = self.store.ds.stack
        body = {"created": stack.created, "updated": stack.created, "user_id": None}
        return _record(body, None, None, stack.id, stack.name)

    def log_record(
        self, owner: Any, log_id: str, source: str, step_id: str | None, run_id: str | None
    ) -> dict[str, Any]:
        body = {
            **self.scope(owner),
            "uri": _log_uri(log_id),
            "source": source,
            "step_run_id": step_id,
            "pipeline_run_id": run_id,
            "artifact_store_id": self.store.ds.artifact_store_id,
            "log_store_id": None,
            "hook_invocation_id": None,
        }
        return _record(body, None, None, log_id)

    def _artifact(self, artifact: Artifact, hydrated: bool, nested: bool) -> dict[str, Any]:
        latest_name, latest_id = self.latest_artifact_version(artifact)
        resources = None if nested else {
            "user": self.user(artifact.user_id, False),
            "tags": self.tag_list(artifact.tag_ids, False),
            "latest_version_name": latest_name,
            "latest_version_id": latest_id,
        }
        metadata = {"has_custom_name": artifact.has_custom_name} if hydrated else None
        return _record(self.scope(artifact), metadata, resources, artifact.id, artifact.name)

    def _artifact_version(self, version: ArtifactVersion, hydrated: bool, nested: bool) -> dict[str, Any]:
        kind = ARTIFACT_KINDS[version.kind]
        body = {
            **self.scope(version),
            "artifact": self.thin("artifact", self.store.artifacts[version.artifact_id]),
            "version": version.version,
            "uri": version.uri,
            "type": kind.type,
            "materializer": _source(*kind.materializer),
            "data_type": _source(*kind.data_type),
            "save_type": "step_output",
            "artifact_store_id": self.store.ds.artifact_store_id,
            "content_hash": version.content_hash,
            "item_count": version.item_count,
        }
        metadata = None
        if hydrated:
            metadata = {"visualizations": _visualizations(version, False), "run_metadata": version.run_metadata}
        resources = None if nested else {
            "user": self.user(version.user_id, False),
            "tags": self.tag_list(version.tag_ids, False),
            "producer_step_run_id": version.producer_step_run_id,
            "producer_pipeline_run_id": version.producer_pipeline_run_id,
        }
        return _record(body, metadata, resources, version.id)

    def _step(self, step: StepRun, hydrated: bool, nested: bool) -> dict[str, Any]:
        run = self.store.runs[step.pipeline_run_id]
        versions = self.store.artifact_versions
        body = {
            **self.scope(step),
            "type": None,
            "status": step.status,
            "version": 1,
            "is_retriable": False,
            "start_time": step.start_time,
            "end_time": step.end_time,
            "latest_heartbeat": None,
            "model_version_id": step.model_version_id,
            "resource_request_id": None,
            "substitutions": _substitutions(run),
            "heartbeat_threshold": None,
        }
        metadata = self._step_metadata(step, run) if hydrated else None
        resources = None if nested else {
            "user": self.user(step.user_id, False),
            "log_collection": [self.log_record(step, step.log_id, "step", step.id, None)],
            "model_version": self.model_version(step.model_version_id, False),
            "inputs": {
                name: [{
                    **self.thin("artifact_version", versions[version_id]),
                    "input_type": "lazy_loaded" if name in step.lazy_inputs else "step_output",
                    "index": 0,
                    "chunk_index": None,
                    "chunk_size": None,
                }]
                for name, version_id in step.inputs.items()
            },
            "outputs": {
                name: [self.thin("artifact_version", versions[i]) for i in ids]
                for name, ids in step.outputs.items()
            },
            "resource_request": None,
        }
        return _record(body, metadata, resources, step.id, step.name)

    def _step_metadata(self, step: StepRun, run: PipelineRun) -> dict[str, Any]:
        pipeline = self.store.pipelines[run.pipeline_id]
        version = self.store.model_versions.get(step.model_version_id or "")
        failure = step.failure
        return {
            "config": self.step_config(step.plan, run, version),
            "spec": self.step_spec(step.plan),
            "cache_key": step.cache_key,
            "cache_expires_at": None,
            "code_hash": step.plan.code_hash,
            "docstring": step.plan.docstring,
            "source_code": step.plan.source_code,
            "exception_info": None if failure is None else {
                "traceback": failure.traceback,
                "source": failure.source,
                "message": failure.message,
                "user_code_line": failure.user_code_line,
            },
            "snapshot_id": pipeline.snapshot_id,
            "pipeline_run_id": step.pipeline_run_id,
            "original_step_run_id": step.original_step_run_id,
            "parent_step_ids": step.parent_step_ids,
            "run_metadata": step.run_metadata,
        }

    def step_config(
        self, step: SnapshotStep, run: PipelineRun | None, version: ModelVersion | None
    ) -> dict[str, Any]:
        """0.98 adds hooks, secrets, a runtime and the like to the older config."""
        return {
            **super().step_config(step, run, version),
            "environment": {},
            "secrets": [],
            "start_hook_source": None,
            "end_hook_source": None,
            "cache_policy": None,
            "runtime": None,
            "heartbeat_healthy_threshold": 30,
            "group": None,
            "step_type": None,
            "template": None,
            "command": None,
        }

    def step_spec(self, step: SnapshotStep) -> dict[str, Any]:
        return {
            "source": _source(step.source_module, step.name, "user"),
            "upstream_steps": step.upstream_steps,
            "inputs": {
                name: {"step_name": s, "output_name": o, "chunk_index": None, "chunk_size": None}
                for name, (s, o) in step.input_sources.items()
            },
            "invocation_id": step.name,
            "enable_heartbeat": False,
            "parameter_spec": {},
        }

    def _snapshot(self, snapshot: Snapshot, hydrated: bool, nested: bool) -> dict[str, Any]:
        """0.98's snapshot: the steps by invocation id, each with its spec and config."""
        pipeline = self.store.pipelines[snapshot.pipeline_id]
        body = {
            **self.scope(snapshot),
            "runnable": False,
            "deployable": False,
            "is_dynamic": False,
            "pipeline_id": pipeline.id,
        }
        metadata = None
        if hydrated:
            specs = [self.step_spec(step) for step in snapshot.steps]
            metadata = {
                "description": None,
                "source_code": _pipeline_source(pipeline),
                "run_name_template": f"{pipeline.name}-{{date}}-{{time}}",
                "pipeline_configuration": self.snapshot_configuration(snapshot),
                "step_configurations": {
                    step.name: {"spec": spec, "config": config, "step_config_overrides": config}
                    for step, spec in zip(snapshot.steps, specs)
                    for config in [self.step_config(step, None, None)]
                },
                "client_environment": _CLIENT_ENVIRONMENT,
                "client_version": "0.98.0",
                "server_version": "0.98.0",
                "pipeline_version_hash": hashlib.md5(snapshot.id.encode()).hexdigest(),
                "pipeline_spec": {
                    "version": "0.5",
                    "source": _source(f"{pipeline.name}.pipeline", pipeline.name, "user"),
                    "parameters": {},
                    "input_schema": {"properties": {}, "title": "PipelineInput", "type": "object"},
                    "steps": specs,
                    "outputs": [],
                    "output_schema": {"properties": {}, "title": "PipelineOutput", "type": "object"},
                },
                "code_path": None,
                "template_id": None,
                "source_snapshot_id": None,
                "config_template": None,
                "config_schema": None,
            }
        resources = None if nested else {
            "user": self.user(snapshot.user_id, False),
            "pipeline": self.thin("pipeline", pipeline),
            "stack": self.stack_record(),
            "build": None,
            "schedule": None,
            "code_reference": None,
            "deployment": None,
            "tags": [],
            "latest_run_id": None,
            "latest_run_status": None,
            "latest_run_user": None,
            "visualizations": [],
        }
        return _record(body, metadata, resources, snapshot.id, None)

    def _model(self, model: Model, hydrated: bool, nested: bool) -> dict[str, Any]:
        latest_name, latest_id = self.latest_model_version(model)
        resources = None if nested else {
            "user": self.user(model.user_id, False),
            "tags": self.tag_list(model.tag_ids, False),
            "latest_version_name": latest_name,
            "latest_version_id": latest_id,
            "visualizations": [],
        }
        return _record(self.scope(model), _model_card(model) if hydrated else None, resources, model.id, model.name)

    def _model_version(self, version: ModelVersion, hydrated: bool, nested: bool) -> dict[str, Any]:
        body = {
            **self.scope(version),
            "stage": version.stage,
            "number": version.number,
            "model": self.thin("model", self.store.models[version.model_id]),
        }
        metadata = {"description": version.description, "run_metadata": version.run_metadata} if hydrated else None
        services = [self.thin("service", s) for s in self.store.services.values() if s.model_version_id == version.id]
        resources = None if nested else {
            "user": self.user(version.user_id, False),
            "services": {"index": 1, "max_size": 5, "total_pages": 1, "total": len(services), "items": services[:5]},
            "tags": self.tag_list(version.tag_ids, False),
        }
        return _record(body, metadata, resources, version.id, version.name)


def _model_card(model: Model) -> dict[str, Any]:
    return {
        "license": model.license,
        "description": model.description,
        "audience": None,
        "use_cases": None,
        "limitations": None,
        "trade_offs": None,
        "ethics": None,
        "save_models_to_registry": True,
    }


def _pipeline_source(pipeline: Pipeline) -> str:
    return f'@pipeline(name="{pipeline.name}")\ndef {pipeline.name}() -> None:\n    """{pipeline.description}"""\n'


def _log_uri(log_id: str) -> str:
    return f"s3://mlgraph-artifacts/logs/{log_id}.log"


def _visualizations(version: ArtifactVersion, hydrated: bool) -> list[dict[str, Any]]:
    kind = ARTIFACT_KINDS[version.kind].visualization
    if version.visualization_id is None or kind is None:
        return []
    body = {
        "created": version.created,
        "updated": version.created,
        "type": kind,
        "uri": f"{version.uri}/visualizations/0.{kind}",
    }
    metadata = {"artifact_version_id": version.id} if hydrated else None
    return [_record(body, metadata, None, version.visualization_id)]


# ---------------------------------------------------------------- endpoints


class _Emulator:
    """The routes and their handlers over one store and one layout."""

    def __init__(self, ds: ZenMLDataset, layout: Layout, token: str | None, api_key: str | None) -> None:
        self.store = _Store(ds)
        self.records: _Records = _SeedRecords(self.store) if layout == "seed" else _CurrentRecords(self.store)
        self.entities = _entities(self.store)
        self.token = token
        self.api_key = api_key

    def routes(self) -> list[Route]:
        routes = [
            Route(f"{API}/info", self.info, methods=["GET"]),
            Route(f"{API}/login", self.login, methods=["POST"]),
            Route(f"{API}/current-user", self.current_user, methods=["GET"]),
            Route(f"{API}/runs/{{run_id}}/steps", self.run_steps, methods=["GET"]),
            Route(f"{API}/steps/{{step_id}}", self.update_step, methods=["PUT"]),
            Route(f"{API}/services", self.create_service, methods=["POST"]),
            Route(f"{API}/services/{{service_id}}", self.update_service, methods=["PUT"]),
            Route(f"{API}/services/{{service_id}}", self.delete_service, methods=["DELETE"]),
        ]
        for entity in self.entities.values():
            collection = f"{API}/{entity.collection}"
            routes.append(Route(collection, self.list_endpoint(entity), methods=["GET"]))
            routes.append(Route(f"{collection}/{{{entity.param}}}", self.get_endpoint(entity), methods=["GET"]))
        return routes

    # -- reading

    def list_endpoint(self, entity: _Entity) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            query = self.parse_query(entity, request, hydrate_default=False)
            return self.page(entity, entity.items(self.store).values(), query)

        return endpoint

    def get_endpoint(self, entity: _Entity) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            obj = self.lookup(entity, request.path_params[entity.param])
            hydrate = _parse_bool(request.query_params.get("hydrate", "true"), "hydrate")
            return _json_response(self.records.json(entity.kind, obj, hydrate))

        return endpoint

    async def run_steps(self, request: Request) -> Response:
        run = self.lookup(self.entities["run"], request.path_params["run_id"])
        entity = self.entities["step"]
        query = self.parse_query(entity, request, hydrate_default=False, hydrate_allowed=False)
        return self.page(entity, (self.store.steps[i] for i in run.step_ids), query)

    async def current_user(self, request: Request) -> Response:
        hydrate = _parse_bool(request.query_params.get("hydrate", "true"), "hydrate")
        return _json_response(self.records.json("user", self.store.ds.users[0], hydrate))

    async def info(self, request: Request) -> Response:
        ds = self.store.ds
        return _json_response(_dumps({
            "id": ds.server_id,
            "name": "default",
            "version": "0.98.0",
            "active": True,
            "debug": False,
            "deployment_type": "other",
            "database_type": "sqlite",
            "secrets_store_type": "sql",
            "auth_scheme": "OAUTH2_PASSWORD_BEARER" if self.token or self.api_key else "NO_AUTH",
            "server_url": "",
            "dashboard_url": "",
            "analytics_enabled": False,
            "metadata": {},
            "last_user_activity": ds.now,
            "pro_dashboard_url": None,
            "pro_api_url": None,
            "pro_organization_id": None,
            "pro_organization_name": None,
            "pro_workspace_id": None,
            "pro_workspace_name": None,
        }))

    async def login(self, request: Request) -> Response:
        """OAuth2 password form: the token or the API key as password buys the token.

        The username is not checked (a real server wants `default` or a user's
        name with a password, and none with an API key).
        """
        form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        password = (form.get("password") or [""])[-1]
        secrets = {s for s in (self.token, self.api_key) if s}
        if secrets and password not in secrets:
            body = {"detail": ["CredentialsNotValid", "Authentication error: invalid username or password"]}
            return Response(_dumps(body), 401, {"WWW-Authenticate": "Bearer"}, "application/json")
        access = self.token or self.api_key or "sandbox-no-auth"
        return _json_response(_dumps({"access_token": access, "token_type": "bearer", "expires_in": TOKEN_LIFETIME_S}))

    def lookup(self, entity: _Entity, key: str) -> Any:
        items = entity.items(self.store)
        try:
            parsed = str(uuid.UUID(key))
        except ValueError:
            if not entity.by_name:
                loc = ("path", entity.param)
                raise _request_error("uuid_parsing", loc, "Input should be a valid UUID", key) from None
            found = next((o for o in items.values() if o.name == key), None)
            if found is None:
                raise _not_found(entity.label, key, "name")
            return found
        if parsed not in items:
            raise _not_found(entity.label, key)
        return items[parsed]

    def parse_query(
        self, entity: _Entity, request: Request, hydrate_default: bool, hydrate_allowed: bool = True
    ) -> _ListQuery:
        params = request.query_params
        model = entity.filter_model
        page = _parse_page_number(params.get("page", "1"), "page", model, None)
        size = _parse_page_number(params.get("size", "20"), "size", model, PAGE_SIZE_MAX)
        sort_raw = params.get("sort_by", "created")
        direction, sep, sort_name = sort_raw.partition(":")
        if not sep:
            direction, sort_name = "asc", sort_raw
        sort = entity.fields.get(sort_name)
        if direction not in ("asc", "desc") or sort is None or sort.kind == "ref":
            message = "Value error, You can only sort by valid fields of this resource"
            raise _filter_error(model, "sort_by", message, sort_raw)
        logical = params.get("logical_operator", "and")
        if logical not in ("and", "or"):
            raise _filter_error(model, "logical_operator", "Input should be 'and' or 'or'", logical)
        conditions = [
            _parse_condition(name, entity.fields[name], raw, model)
            for name, raw in params.items()
            if name in entity.fields
        ]
        hydrate = hydrate_default
        if hydrate_allowed and "hydrate" in params:
            hydrate = _parse_bool(params["hydrate"], "hydrate")
        return _ListQuery(page, size, sort, direction == "desc", logical == "or", conditions, hydrate)

    def page(self, entity: _Entity, objects: Iterable[Any], query: _ListQuery) -> Response:
        if query.conditions:
            combine = any if query.use_or else all
            conditions = query.conditions
            objects = [o for o in objects if combine(_matches(c, o) for c in conditions)]
        ordered = sorted(objects, key=_sort_key(query.sort), reverse=query.descending)
        total = len(ordered)
        total_pages = max(1, -(-total // query.size))
        if query.page > total_pages:
            message = (
                f"Invalid page {query.page}. The requested page size is {query.size} and there are a total of "
                f"{total} items for this query. The maximum page value therefore is {total_pages}."
            )
            raise _ApiError(400, {"detail": ["ValueError", message]})
        start = (query.page - 1) * query.size
        items = ",".join(self.records.json(entity.kind, o, query.hydrate) for o in ordered[start : start + query.size])
        head = f'"index":{query.page},"max_size":{query.size},"total_pages":{total_pages},"total":{total}'
        return _json_response(f'{{{head},"items":[{items}]}}')

    # -- writing

    async def body(self, request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except ValueError:
            raise _request_error("json_invalid", ("body",), "JSON decode error", None) from None

    def artifact_version_id(self, value: uuid.UUID) -> str:
        key = str(value)
        if key not in self.store.artifact_versions:
            raise _not_found("artifact version", key)
        return key

    async def update_step(self, request: Request) -> Response:
        step = self.lookup(self.entities["step"], request.path_params["step_id"])
        update = _validate(_StepRunUpdate, await self.body(request))
        outputs = {name: list(ids) for name, ids in step.outputs.items()}
        for name, ids in update.outputs.items():
            outputs.setdefault(name, []).extend(self.artifact_version_id(i) for i in ids)
        inputs = dict(step.inputs)
        loaded = {name: self.artifact_version_id(i) for name, i in update.loaded_artifact_versions.items()}
        inputs.update(loaded)
        changes: dict[str, Any] = {"outputs": outputs, "inputs": inputs, "lazy_inputs": (*step.lazy_inputs, *loaded)}
        if update.status is not None:
            changes["status"] = update.status
        if update.end_time is not None:
            end = update.end_time
            if end.tzinfo is not None:
                end = end.astimezone(timezone.utc).replace(tzinfo=None)
            changes["end_time"] = changes["updated"] = end.isoformat(timespec="microseconds")
        updated = replace(step, **changes)
        self.store.steps[step.id] = updated
        self.records.clear()
        return _json_response(self.records.json("step", updated, True))

    def checked_ref(self, entity: str, value: uuid.UUID | None) -> str | None:
        if value is None:
            return None
        return self.lookup(self.entities[entity], str(value)).id  # type: ignore[no-any-return]

    async def create_service(self, request: Request) -> Response:
        payload = _validate(_ServiceRequest, await self.body(request))
        store = self.store
        user_id = self.checked_ref("user", payload.user) or store.ds.users[0].id
        if payload.project is not None:
            self.checked_ref("project", payload.project)
        now = store.tick()
        service = Service(
            id=store.new_id(),
            name=payload.name,
            user_id=user_id,
            created=now,
            updated=now,
            service_type=payload.service_type.model_dump(),
            service_source=payload.service_source,
            admin_state=payload.admin_state,
            config=payload.config,
            labels=payload.labels or {},
            status=payload.status,
            endpoint=payload.endpoint,
            prediction_url=payload.prediction_url,
            health_check_url=payload.health_check_url,
            model_version_id=self.checked_ref("model_version", payload.model_version_id),
            pipeline_run_id=self.checked_ref("run", payload.pipeline_run_id),
        )
        store.services[service.id] = service
        self.records.clear()
        return _json_response(self.records.json("service", service, True))

    async def update_service(self, request: Request) -> Response:
        service = self.lookup(self.entities["service"], request.path_params["service_id"])
        update = _validate(_ServiceUpdate, await self.body(request))
        changes = {name: getattr(update, name) for name in update.model_fields_set}
        if "model_version_id" in changes:
            changes["model_version_id"] = self.checked_ref("model_version", update.model_version_id)
        if "labels" in changes:
            changes["labels"] = update.labels or {}
        updated = replace(service, **changes, updated=self.store.tick())
        self.store.services[service.id] = updated
        self.records.clear()
        return _json_response(self.records.json("service", updated, True))

    async def delete_service(self, request: Request) -> Response:
        service = self.lookup(self.entities["service"], request.path_params["service_id"])
        del self.store.services[service.id]
        self.records.clear()
        return _json_response("null")
