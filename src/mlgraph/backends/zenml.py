"""ZenML server REST API: wire models and the async client.

Two record layouts exist (see CONTRACTS.md). The seeds document the older one,
where related objects are embedded in ``body`` (``body.user``) and the project
in ``metadata``; ZenML 0.98 sends ``body.user_id`` and puts related objects
under ``resources``. Both are read as if ``resources``, ``metadata`` and
``body`` were flattened into one mapping (``flatten_record``), so each model
declares its fields once; the models do it with validation aliases
(``wire_alias``), so that pydantic-core validates a page from its bytes
(``parse_json``) without running Python per record. Unknown fields are
ignored, never fatal.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timezone
from typing import Annotated, Any, Generic, TypeVar

import httpx
from pydantic import (
    AfterValidator,
    AliasChoices,
    AliasGenerator,
    AliasPath,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)

from mlgraph.backends.cache import CATALOGUE, TERMINAL, Keep, RecordCache, read_json, records_of
from mlgraph.backends.client import POOL_CONNECTIONS, BackendClient, BackendConnection
from mlgraph.backends.errors import BadResponse, NotFound
from mlgraph.backends.ledger import Ledger
from mlgraph.backends.resilience import readiness_check
from mlgraph.backends.wire import ReadAs, install_read_through

PLATFORM = "zenml"
API = "/api/v1"
#: ZenML on SQLite fails above 997 ids in one ``oneof``; stay well under it.
ONEOF_CHUNK = 500
#: The server refuses larger pages with 422.
MAX_PAGE_SIZE = 10_000


def _utc(value: datetime | None) -> datetime | None:
    """ZenML 0.98 sends naive timestamps that are UTC; the seeds send ``Z``."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


#: Stored as parsed; read as UTC when naive.
UTCDateTime = Annotated[datetime | None, ReadAs(_utc)]

#: Related objects whose id a record carries either as ``<name>_id`` or embedded.
_RELATIONS = ("user", "project", "pipeline", "artifact", "model", "model_version", "pipeline_run", "snapshot")
_SECTIONS = ("body", "metadata", "resources")


def flatten_record(raw: Any) -> Any:
    """Merge a record's ``resources``, ``metadata`` and ``body`` into one mapping.

    This is what the wire models read, spelled as a function: ``body`` wins
    over ``metadata``, which wins over ``resources``; ``id`` and ``name`` come
    from the top level; ``<relation>_id`` falls back to the embedded object's
    id. The models themselves do it declaratively (``wire_alias``), in Rust.
    ``hydrated`` says whether the server sent ``metadata``: thin records lack
    fields (times, config, email) that a detail call fills in.
    """
    if not isinstance(raw, dict) or "body" not in raw:
        return raw
    flat: dict[str, Any] = {}
    for section in ("resources", "metadata", "body"):
        part = raw.get(section)
        if isinstance(part, dict):
            flat.update(part)
    for key in ("id", "name"):
        if key in raw:
            flat[key] = raw[key]
    flat["hydrated"] = isinstance(raw.get("metadata"), dict)
    for relation in _RELATIONS:
        nested = flat.get(relation)
        if isinstance(nested, dict) and not flat.get(f"{relation}_id") and nested.get("id"):
            flat[f"{relation}_id"] = nested["id"]
    return flat


def wire_alias(name: str) -> AliasChoices:
    """Where a field lives in a record, first match wins (``flatten_record``'s order).

    ``id``/``name`` at the top level, anything else in ``body``, ``metadata``
    or ``resources``; ``<relation>_id`` is the embedded object's id when the
    record embeds it (the seed layout), else the plain id (0.98). The bare
    name comes last, so a record already flat validates too.
    """
    sections = [AliasPath(section, name) for section in _SECTIONS]
    if name in ("id", "name"):
        return AliasChoices(name, *sections)
    relation = name.removesuffix("_id")
    if name.endswith("_id") and relation in _RELATIONS:
        embedded = [AliasPath(section, relation, "id") for section in _SECTIONS]
        return AliasChoices(*embedded, *sections, name)
    return AliasChoices(*sections, name)


class _Present(BaseModel):
    """Any JSON object, its contents skipped: says that a section was sent."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def _sent(value: Any) -> bool:
    return value is True or isinstance(value, _Present)


def _always(value: Callable[[], Any]) -> Callable[[Any], Any]:
    return lambda _: value()


class ZenMLRecord(BaseModel):
    """Fields every ZenML response model has.

    Every field is found through ``wire_alias`` (the alias generator) and
    converted, where needed, on access (``ReadAs``), so validating from bytes
    (``model_validate_json``) runs no Python per record.
    """

    model_config = ConfigDict(
        extra="ignore", frozen=True, alias_generator=AliasGenerator(validation_alias=wire_alias)
    )

    id: str
    name: str | None = None
    created: UTCDateTime = None
    updated: UTCDateTime = None
    #: Whether the server sent ``metadata``: thin records lack fields (times,
    #: config, email) that a detail call fills in. Stored as the skipped
    #: section, read as a bool.
    hydrated: Annotated[None | _Present | Any, Field(union_mode="left_to_right"), ReadAs(_sent)] = Field(
        False, validation_alias=AliasChoices("metadata", "hydrated")
    )
    user_id: str | None = None
    project_id: str | None = None

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, getattr(self, name) if isinstance(name, str) else value

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        install_read_through(cls)


install_read_through(ZenMLRecord)


class ZenMLUser(ZenMLRecord):
    full_name: str | None = None
    email: str | None = None
    active: bool | None = None
    is_service_account: bool | None = None
    is_admin: bool | None = None


class ZenMLServiceAccount(ZenMLUser):
    """A record of ``/service_accounts``, which does not say what it is."""

    is_service_account: bool | None = True


class ZenMLProject(ZenMLRecord):
    display_name: str | None = None
    description: str | None = None


class ZenMLTag(ZenMLRecord):
    color: str | None = None
    exclusive: bool | None = None
    tagged_count: int | None = None


class _TagPage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    items: list[ZenMLTag] | None = None


#: Runs carry tags either as a list or as a page of them; null is no tags.
TagList = Annotated[
    list[ZenMLTag]
    | Annotated[_TagPage, AfterValidator(lambda page: page.items or [])]
    | Annotated[None, AfterValidator(_always(list))],
    Field(union_mode="left_to_right"),
]


class _Tagged(ZenMLRecord):
    user: ZenMLUser | None = None
    tags: TagList = Field(default_factory=list)


class ZenMLArtifact(_Tagged):
    latest_version_name: str | None = None
    latest_version_id: str | None = None
    has_custom_name: bool | None = None


class ZenMLArtifactVersion(_Tagged):
    artifact: ZenMLArtifact | None = None
    artifact_id: str | None = None
    version: str | None = Field(None, coerce_numbers_to_str=True)
    uri: str | None = None
    type: str | None = None
    materializer: dict[str, Any] | None = None
    data_type: dict[str, Any] | None = None
    save_type: str | None = None
    content_hash: str | None = None
    producer_step_run_id: str | None = None
    producer_pipeline_run_id: str | None = None
    run_metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def artifact_name(self) -> str | None:
        return self.artifact.name if self.artifact else self.name


class ZenMLModel(_Tagged):
    description: str | None = None
    license: str | None = None
    latest_version_name: str | None = None
    latest_version_id: str | None = None


class ZenMLModelVersion(_Tagged):
    model: ZenMLModel | None = None
    model_id: str | None = None
    number: int | None = None
    stage: str | None = None
    description: str | None = None
    run_metadata: dict[str, Any] = Field(default_factory=dict)


#: Seed layout maps a name to one artifact version, 0.98 to a list of them;
#: anything but an object is no artifacts.
ArtifactMap = Annotated[
    dict[
        str,
        Annotated[
            list[ZenMLArtifactVersion] | Annotated[ZenMLArtifactVersion, AfterValidator(lambda one: [one])],
            Field(union_mode="left_to_right"),
        ],
    ]
    | Annotated[None | list[Any] | str | int | float | bool, AfterValidator(_always(dict))],
    Field(union_mode="left_to_right"),
]


class ZenMLExceptionInfo(BaseModel):
    """What a failed step (or run) raised: 0.98 sends ``message`` and the
    exception class (``source``); older servers the traceback alone."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    traceback: str | None = None
    message: str | None = None
    source: str | None = None


class _Compiled(ZenMLRecord):
    """A record of a run's making, which names the snapshot it was compiled
    into: ``snapshot_id`` since 0.90, ``deployment_id`` before."""

    snapshot_id: str | None = None
    deployment_id: str | None = None

    @property
    def snapshot_ref(self) -> tuple[ZenMLResource[ZenMLSnapshot], str] | None:
        """The collection holding its snapshot and the snapshot's id, in the
        words of the server that wrote the record."""
        if self.snapshot_id:
            return SNAPSHOTS, self.snapshot_id
        if self.deployment_id:
            return DEPLOYMENTS, self.deployment_id
        return None


class ZenMLStepRun(_Compiled):
    user: ZenMLUser | None = None
    status: str = "unknown"
    start_time: UTCDateTime = None
    end_time: UTCDateTime = None
    inputs: ArtifactMap = Field(default_factory=dict)
    outputs: ArtifactMap = Field(default_factory=dict)
    model_version: ZenMLModelVersion | None = None
    model_version_id: str | None = None
    pipeline_run_id: str | None = None
    original_step_run_id: str | None = None
    parent_step_ids: list[str] | None = None
    config: dict[str, Any] | None = None
    spec: dict[str, Any] | None = None
    cache_key: str | None = None
    code_hash: str | None = None
    docstring: str | None = None
    source_code: str | None = None
    exception_info: ZenMLExceptionInfo | None = None
    run_metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def upstream_step_names(self) -> list[str]:
        return list((self.spec or {}).get("upstream_steps") or [])

    @property
    def resource_settings(self) -> dict[str, Any] | None:
        settings = (self.config or {}).get("settings") or {}
        resources = settings.get("resources")
        return resources if isinstance(resources, dict) else None


class ZenMLPipeline(_Tagged):
    latest_run_id: str | None = None
    latest_run_status: str | None = None


class ZenMLPipelineRun(_Tagged, _Compiled):
    status: str = "unknown"
    status_reason: str | None = None
    #: 0.98 says whether a run may still start steps (a failed run may:
    #: ``continue_on_failure``); older servers do not.
    in_progress: bool | None = None
    exception_info: ZenMLExceptionInfo | None = None
    pipeline: ZenMLPipeline | None = None
    pipeline_id: str | None = None
    model_version: ZenMLModelVersion | None = None
    model_version_id: str | None = None
    start_time: UTCDateTime = None
    end_time: UTCDateTime = None
    run_metadata: dict[str, Any] = Field(default_factory=dict)


class _StepSpec(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    upstream_steps: list[str] = Field(default_factory=list)


class _StepConfig(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    settings: dict[str, Any] | None = None


class ZenMLStepConfiguration(BaseModel):
    """One step as a snapshot compiled it: the steps it waits for, its settings."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    spec: _StepSpec = Field(default_factory=_StepSpec)
    config: _StepConfig = Field(default_factory=_StepConfig)

    @property
    def resource_settings(self) -> dict[str, Any] | None:
        resources = (self.config.settings or {}).get("resources")
        return resources if isinstance(resources, dict) else None


class ZenMLSnapshot(ZenMLRecord):
    """What a run was compiled into (a "deployment" before 0.90): every step
    it planned, by invocation id, the ones that never started too."""

    is_dynamic: bool | None = None
    step_configurations: dict[str, ZenMLStepConfiguration] = Field(default_factory=dict)


class ZenMLService(ZenMLRecord):
    user: ZenMLUser | None = None
    service_type: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, Any] | None = None
    state: str | None = None
    admin_state: str | None = None
    service_source: str | None = None
    config: dict[str, Any] | None = None
    status: dict[str, Any] | None = None
    endpoint: dict[str, Any] | None = None
    prediction_url: str | None = None
    health_check_url: str | None = None
    pipeline_run: ZenMLPipelineRun | None = None
    pipeline_run_id: str | None = None
    model_version: ZenMLModelVersion | None = None
    model_version_id: str | None = None


R = TypeVar("R", bound=ZenMLRecord)
M = TypeVar("M", bound=BaseModel)


class ZenMLPage(BaseModel, Generic[R]):
    model_config = ConfigDict(extra="ignore")

    index: int
    max_size: int
    total_pages: int
    total: int
    items: list[R]


@dataclass(frozen=True)
class ZenMLResource(Generic[R]):
    """A collection of the REST API: its path, wire model and name in messages."""

    path: str
    model: type[R]
    label: str

    @cached_property
    def page(self) -> type[ZenMLPage[R]]:
        """Its page model, built once: pydantic keeps parametrized generics only
        weakly, and rebuilding one costs more than parsing a small page."""
        return ZenMLPage[self.model]  # type: ignore[name-defined]


STEP_RUNS = ZenMLResource("steps", ZenMLStepRun, "step run")
PIPELINE_RUNS = ZenMLResource("runs", ZenMLPipelineRun, "pipeline run")
PIPELINES = ZenMLResource("pipelines", ZenMLPipeline, "pipeline")
ARTIFACTS = ZenMLResource("artifacts", ZenMLArtifact, "artifact")
ARTIFACT_VERSIONS = ZenMLResource("artifact_versions", ZenMLArtifactVersion, "artifact version")
MODELS = ZenMLResource("models", ZenMLModel, "model")
MODEL_VERSIONS = ZenMLResource("model_versions", ZenMLModelVersion, "model version")
USERS = ZenMLResource("users", ZenMLUser, "user")
SERVICE_ACCOUNTS = ZenMLResource("service_accounts", ZenMLServiceAccount, "service account")
PROJECTS = ZenMLResource("projects", ZenMLProject, "project")
TAGS = ZenMLResource("tags", ZenMLTag, "tag")
SERVICES = ZenMLResource("services", ZenMLService, "service")
SNAPSHOTS = ZenMLResource("pipeline_snapshots", ZenMLSnapshot, "pipeline snapshot")
#: The same records under their pre-0.90 name; 0.98 still serves the route.
DEPLOYMENTS = ZenMLResource("pipeline_deployments", ZenMLSnapshot, "pipeline deployment")


def parse_json(model: type[M], content: bytes | str) -> M:
    """Validate a response body straight from its bytes.

    pydantic-core parses the JSON and finds every field (``wire_alias``)
    without Python per record. The cyclic garbage collector is paused
    meanwhile: the acyclic objects a large page makes (tens of thousands
    for 1000 steps) would otherwise set off collections that walk the whole
    heap, which took about as long as the parse itself.
    """
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        return model.model_validate_json(content)
    finally:
        if collecting:
            gc.enable()


def oneof(values: Iterable[str]) -> str:
    """ZenML's many-values filter: ``oneof:`` followed by a JSON list."""
    return "oneof:" + json.dumps(list(values))


class ZenMLConnection(BackendConnection):
    """Process-wide ZenML state: the pool and the bearer token.

    An API key works as a bearer but costs the server ~0.9 s a request, so it is
    exchanged once at ``/login`` for a token, and again only after a 401.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        token: str | None = None,
        api_key: str | None = None,
        project: str = "default",
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = POOL_CONNECTIONS,
    ) -> None:
        super().__init__(base_url, timeout=timeout, transport=transport, max_connections=max_connections)
        self.token = token
        self.api_key = api_key
        self.project = project
        self.project_id: str | None = None
        self.user_id: str | None = None
        self.login_lock = asyncio.Lock()


class ZenMLClient(BackendClient):
    """ZenML server calls for one GraphQL request."""

    platform = PLATFORM
    connection: ZenMLConnection
    #: A ``oneof`` of ``ONEOF_CHUNK`` UUIDs is a 23 KB URL; the server (uvicorn)
    #: takes it (seen: 997 ids reach its database), a proxy limited to 8 KiB would not.
    max_url_bytes = 32 * 1024

    def __init__(self, connection: ZenMLConnection, ledger: Ledger, records: RecordCache | None = None) -> None:
        super().__init__(connection, ledger, records)

    async def auth_headers(self) -> dict[str, str]:
        conn = self.connection
        if conn.token is None and conn.api_key is not None:
            await self._login(stale=None)
        return {"Authorization": f"Bearer {conn.token}"} if conn.token else {}

    async def _login(self, stale: str | None) -> None:
        conn = self.connection
        async with conn.login_lock:
            if conn.token is not None and conn.token != stale:
                return  # another request logged in meanwhile
            response = await self.send(
                "POST", f"{API}/login", form={"password": conn.api_key or ""}, authenticate=False
            )
            body = self.decode(response)
            token = body.get("access_token") if isinstance(body, dict) else None
            if not isinstance(token, str):
                raise BadResponse(PLATFORM, "zenml login answered without an access token")
            conn.token = token

    async def fetch(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send; after a 401 with an exchanged key, log in again once. Errors raise."""
        response = await self.send(method, f"{API}/{path}", **kwargs)
        if response.status_code == 401 and self.connection.api_key is not None:
            # The token this request carried is the stale one: requests that
            # failed together then log in once, not once each.
            sent = response.request.headers.get("authorization", "").removeprefix("Bearer ") or None
            await self._login(stale=sent)
            response = await self.send(method, f"{API}/{path}", **kwargs)
        if response.status_code >= 400:
            raise self.error_for(response)
        return response

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send and decode the JSON body."""
        return self.decode(await self.fetch(method, path, **kwargs))

    def error_detail(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return ""
        detail = body.get("detail") if isinstance(body, dict) else body
        if isinstance(detail, list) and len(detail) >= 2 and isinstance(detail[1], str):
            return detail[1].strip("\"'")
        return detail if isinstance(detail, str) else ""

    def _parse(self, model: type[M], response: httpx.Response) -> M:
        """The response body as ``model``, validated from bytes; malformed is ``BadResponse``."""
        try:
            return parse_json(model, self.json_body(response))
        except ValidationError as exc:
            if exc.error_count() == 1 and exc.errors(include_url=False)[0]["type"] == "json_invalid":
                raise BadResponse(PLATFORM, "zenml sent a body that is not JSON") from exc
            raise BadResponse(PLATFORM, f"zenml sent a malformed {model.__name__} payload") from exc

    async def list(
        self,
        resource: ZenMLResource[R],
        *,
        page: int = 1,
        size: int = 20,
        hydrate: bool = False,
        sort_by: str | None = None,
        filters: dict[str, str] | None = None,
    ) -> ZenMLPage[R]:
        params: dict[str, Any] = {"page": page, "size": size, "hydrate": str(hydrate).lower()}
        if sort_by:
            params["sort_by"] = sort_by
        params.update(filters or {})
        response = await self.fetch("GET", resource.path, params=params)
        return self._parse(resource.page, response)

    async def get(self, resource: ZenMLResource[R], record_id: str, *, hydrate: bool = True) -> R:
        try:
            response = await self.fetch(
                "GET", f"{resource.path}/{record_id}", params={"hydrate": str(hydrate).lower()}
            )
        except NotFound as exc:
            raise NotFound(PLATFORM, f"zenml {resource.label} {record_id} not found", 404) from exc
        return self._parse(resource.model, response)

    async def get_many(
        self, resource: ZenMLResource[R], ids: Sequence[str], *, hydrate: bool = False
    ) -> dict[str, R]:
        """Records by id in one ``oneof`` list call per 500 ids; unknown ids are absent."""
        chunks = [ids[i : i + ONEOF_CHUNK] for i in range(0, len(ids), ONEOF_CHUNK)]
        pages = await asyncio.gather(
            *(
                self.list(resource, size=len(chunk), hydrate=hydrate, filters={"id": oneof(chunk)})
                for chunk in chunks
            )
        )
        return {item.id: item for page in pages for item in page.items}

    async def run_steps(self, run_id: str, *, page: int = 1, size: int = 20) -> ZenMLPage[ZenMLStepRun]:
        response = await self.fetch("GET", f"runs/{run_id}/steps", params={"page": page, "size": size})
        return self._parse(STEP_RUNS.page, response)

    async def update_step_run(self, step_id: str, update: dict[str, Any]) -> ZenMLStepRun:
        return self._parse(ZenMLStepRun, await self.fetch("PUT", f"steps/{step_id}", json_body=update))

    async def current_user_id(self) -> str:
        """The gateway's own user id, looked up once per process."""
        conn = self.connection
        if conn.user_id is None:
            user = self._parse(ZenMLUser, await self.fetch("GET", "current-user"))
            conn.user_id = user.id
        return conn.user_id

    async def project_id(self) -> str:
        """The configured project's id, looked up once per process."""
        conn = self.connection
        if conn.project_id is None:
            project = await self.get(PROJECTS, conn.project)
            conn.project_id = project.id
        return conn.project_id

    async def create_service(self, request: dict[str, Any]) -> ZenMLService:
        """Create a service owned by the gateway's user in the configured project."""
        owner, project = await asyncio.gather(self.current_user_id(), self.project_id())
        body = {"user": owner, "project": project, **request}
        return self._parse(ZenMLService, await self.fetch("POST", "services", json_body=body))

    async def update_service(self, service_id: str, update: dict[str, Any]) -> ZenMLService:
        response = await self.fetch("PUT", f"services/{service_id}", json_body=update)
        return self._parse(ZenMLService, response)

    async def ping(self) -> None:
        """Whether the server answers (``/info`` needs no token); raises if not."""
        with readiness_check():
            await self.fetch("GET", "info", authenticate=False)

    async def delete_service(self, service_id: str) -> None:
        """Seed 003 answers "No content": the body, if any, is not read."""
        await self.fetch("DELETE", f"services/{service_id}")

    # ---------------------------------------------------------------- record cache

    def credential(self) -> str:
        """The API key when the gateway exchanges one (its tokens come and go),
        else the bearer token sent (the gateway's, or a caller's forwarded)."""
        conn = self.connection
        return conn.api_key or conn.token or ""

    def lists(self, request: httpx.Request) -> bool:
        """A collection (``/steps``, ``/runs?…``) or a run's steps."""
        parts = request.url.path.removeprefix(f"{API}/").split("/")
        return (len(parts) == 1 and parts[0] not in ("info", "current-user")) or parts[2:] == ["steps"]

    def cache_class(self, request: httpx.Request, body: bytes) -> Keep | None:
        """Step runs and pipeline runs in a finished state, artifact versions
        and snapshots (what a run was compiled into) cannot change: a record,
        an ``id=oneof`` page of them, or a run's steps once the run is known
        finished (``after``; a finished run is marked for that). Users,
        projects, pipelines, models and the like are catalogues. Any other
        list (filtered, paged through) can grow, and services change state."""
        parts = request.url.path.removeprefix(f"{API}/").split("/")
        if parts[0] in _CATALOGUES:
            return Keep(CATALOGUE)
        if parts[0] not in _FINAL:
            return None
        params = request.url.params
        filters = set(params) - _SHAPING
        after = None
        if len(parts) == 2:
            records = [read_json(body)]
        elif parts[0] == "runs" and parts[2:] == ["steps"] and not filters:
            records, after = records_of(read_json(body), "items"), parts[1]
        elif len(parts) == 1 and filters == {"id"} and params["id"].startswith("oneof:"):
            records = records_of(read_json(body), "items")
        elif parts == ["steps"] and filters == {"pipeline_run_id"}:
            records, after = records_of(read_json(body), "items"), params["pipeline_run_id"]
        else:
            return None
        if not records:
            return None
        flat = [flatten_record(record) for record in records]
        if not all(isinstance(record, dict) and isinstance(record.get("id"), str) for record in flat):
            return None
        if parts[0] in _SETTLING and not all(
            record.get("status") in _FINISHED and record.get("in_progress") is not True for record in flat
        ):
            return None  # a failed run may still be starting steps (``continue_on_failure``)
        ids = tuple(record["id"] for record in flat)
        runs = {record["pipeline_run_id"] for record in flat if isinstance(record.get("pipeline_run_id"), str)}
        marks = ids if parts[0] == "runs" and after is None else ()
        return Keep(TERMINAL, ids, tuple(runs - set(ids)), after, marks)

    def cache_evicts(self, request: httpx.Request, answer: bytes | None) -> list[str]:
        """The record a write names in its path, and the one it answers with and
        that record's run (a step's new status may change its run's)."""
        parts = request.url.path.removeprefix(f"{API}/").split("/")
        ids = parts[1:2]
        record = flatten_record(read_json(answer)) if answer else None
        if isinstance(record, dict):
            ids += [value for value in (record.get("id"), record.get("pipeline_run_id")) if isinstance(value, str)]
        return list(dict.fromkeys(ids))


#: Step and run statuses after which a record no longer changes.
_FINISHED = frozenset({"completed", "failed", "cached", "stopped", "retried"})
#: Collections whose records are final: once finished (steps, runs), or from the start.
_FINAL = frozenset({"steps", "runs", "artifact_versions", "pipeline_snapshots", "pipeline_deployments"})
#: Of those, the ones whose records settle only once finished.
_SETTLING = frozenset({"steps", "runs"})
#: Collections that change slowly.
_CATALOGUES = frozenset({
    "users", "service_accounts", "current-user", "projects", "pipelines", "tags", "models", "model_versions",
    "artifacts",
})
#: List parameters that shape a page but do not choose its records.
_SHAPING = frozenset({"page", "size", "hydrate", "sort_by", "logical_operator"})
