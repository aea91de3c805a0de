"""ZenML server REST API: wire models and the async client.

Two record layouts exist (see CONTRACTS.md). The seeds document the older one,
where related objects are embedded in ``body`` (``body.user``) and the project
in ``metadata``; ZenML 0.98 sends ``body.user_id`` and puts related objects
under ``resources``. Both are read by flattening ``resources``, ``metadata``
and ``body`` into one mapping before validation, so each model declares its
fields once. Unknown fields are ignored, never fatal.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any, Generic, TypeVar

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlgraph.backends.client import BackendClient, BackendConnection
from mlgraph.backends.errors import BadResponse, NotFound
from mlgraph.backends.ledger import Ledger

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


UTCDateTime = Annotated[datetime | None, AfterValidator(_utc)]

#: Related objects whose id a record carries either as ``<name>_id`` or embedded.
_RELATIONS = ("user", "project", "pipeline", "artifact", "model", "model_version", "pipeline_run")


def flatten_record(raw: Any) -> Any:
    """Merge a record's ``resources``, ``metadata`` and ``body`` into one mapping.

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


class ZenMLRecord(BaseModel):
    """Fields every ZenML response model has."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    name: str | None = None
    created: UTCDateTime = None
    updated: UTCDateTime = None
    hydrated: bool = False
    user_id: str | None = None
    project_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, raw: Any) -> Any:
        return flatten_record(raw)


class ZenMLUser(ZenMLRecord):
    full_name: str | None = None
    email: str | None = None
    active: bool | None = None
    is_service_account: bool | None = None
    is_admin: bool | None = None


class ZenMLProject(ZenMLRecord):
    display_name: str | None = None
    description: str | None = None


class ZenMLTag(ZenMLRecord):
    color: str | None = None
    exclusive: bool | None = None
    tagged_count: int | None = None


class _Tagged(ZenMLRecord):
    user: ZenMLUser | None = None
    tags: list[ZenMLTag] = Field(default_factory=list)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        # Runs carry tags either as a list or as a page of them.
        if isinstance(value, dict):
            return value.get("items") or []
        return value or []


class ZenMLArtifact(_Tagged):
    latest_version_name: str | None = None
    latest_version_id: str | None = None
    has_custom_name: bool | None = None


class ZenMLArtifactVersion(_Tagged):
    artifact: ZenMLArtifact | None = None
    artifact_id: str | None = None
    version: str | None = None
    uri: str | None = None
    type: str | None = None
    materializer: dict[str, Any] | None = None
    data_type: dict[str, Any] | None = None
    save_type: str | None = None
    content_hash: str | None = None
    producer_step_run_id: str | None = None
    producer_pipeline_run_id: str | None = None
    run_metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        return None if value is None else str(value)

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


def _artifact_map(value: Any) -> Any:
    """Seed layout maps a name to one artifact version; 0.98 to a list of them."""
    if not isinstance(value, dict):
        return {}
    return {name: item if isinstance(item, list) else [item] for name, item in value.items()}


class ZenMLStepRun(ZenMLRecord):
    user: ZenMLUser | None = None
    status: str = "unknown"
    start_time: UTCDateTime = None
    end_time: UTCDateTime = None
    inputs: dict[str, list[ZenMLArtifactVersion]] = Field(default_factory=dict)
    outputs: dict[str, list[ZenMLArtifactVersion]] = Field(default_factory=dict)
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
    run_metadata: dict[str, Any] = Field(default_factory=dict)

    _maps = field_validator("inputs", "outputs", mode="before")(_artifact_map)

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


class ZenMLPipelineRun(_Tagged):
    status: str = "unknown"
    status_reason: str | None = None
    pipeline: ZenMLPipeline | None = None
    pipeline_id: str | None = None
    model_version: ZenMLModelVersion | None = None
    model_version_id: str | None = None
    start_time: UTCDateTime = None
    end_time: UTCDateTime = None
    run_metadata: dict[str, Any] = Field(default_factory=dict)


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
    pipeline_run_id: str | None = None
    model_version_id: str | None = None


R = TypeVar("R", bound=ZenMLRecord)


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


STEP_RUNS = ZenMLResource("steps", ZenMLStepRun, "step run")
PIPELINE_RUNS = ZenMLResource("runs", ZenMLPipelineRun, "pipeline run")
PIPELINES = ZenMLResource("pipelines", ZenMLPipeline, "pipeline")
ARTIFACTS = ZenMLResource("artifacts", ZenMLArtifact, "artifact")
ARTIFACT_VERSIONS = ZenMLResource("artifact_versions", ZenMLArtifactVersion, "artifact version")
MODELS = ZenMLResource("models", ZenMLModel, "model")
MODEL_VERSIONS = ZenMLResource("model_versions", ZenMLModelVersion, "model version")
USERS = ZenMLResource("users", ZenMLUser, "user")
PROJECTS = ZenMLResource("projects", ZenMLProject, "project")
TAGS = ZenMLResource("tags", ZenMLTag, "tag")
SERVICES = ZenMLResource("services", ZenMLService, "service")


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
    ) -> None:
        super().__init__(base_url, timeout=timeout, transport=transport)
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

    def __init__(self, connection: ZenMLConnection, ledger: Ledger) -> None:
        super().__init__(connection, ledger)

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

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send and decode; after a 401 with an exchanged key, log in again once."""
        response = await self.send(method, f"{API}/{path}", **kwargs)
        if response.status_code == 401 and self.connection.api_key is not None:
            await self._login(stale=self.connection.token)
            response = await self.send(method, f"{API}/{path}", **kwargs)
        return self.decode(response)

    def error_detail(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return ""
        detail = body.get("detail") if isinstance(body, dict) else body
        if isinstance(detail, list) and len(detail) >= 2 and isinstance(detail[1], str):
            return detail[1].strip("\"'")
        return detail if isinstance(detail, str) else ""

    def _parse(self, model: type[BaseModel], body: Any) -> Any:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
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
        body = await self.request("GET", resource.path, params=params)
        return self._parse(ZenMLPage[resource.model], body)

    async def get(self, resource: ZenMLResource[R], record_id: str, *, hydrate: bool = True) -> R:
        try:
            body = await self.request(
                "GET", f"{resource.path}/{record_id}", params={"hydrate": str(hydrate).lower()}
            )
        except NotFound as exc:
            raise NotFound(PLATFORM, f"zenml {resource.label} {record_id} not found", 404) from exc
        return self._parse(resource.model, body)

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
        body = await self.request("GET", f"runs/{run_id}/steps", params={"page": page, "size": size})
        return self._parse(ZenMLPage[ZenMLStepRun], body)

    async def update_step_run(self, step_id: str, update: dict[str, Any]) -> ZenMLStepRun:
        body = await self.request("PUT", f"steps/{step_id}", json_body=update)
        return self._parse(ZenMLStepRun, body)

    async def current_user_id(self) -> str:
        """The gateway's own user id, looked up once per process."""
        conn = self.connection
        if conn.user_id is None:
            user = self._parse(ZenMLUser, await self.request("GET", "current-user"))
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
        return self._parse(ZenMLService, await self.request("POST", "services", json_body=body))

    async def update_service(self, service_id: str, update: dict[str, Any]) -> ZenMLService:
        body = await self.request("PUT", f"services/{service_id}", json_body=update)
        return self._parse(ZenMLService, body)

    async def delete_service(self, service_id: str) -> None:
        await self.request("DELETE", f"services/{service_id}")
