"""Abacus.AI's API (seed 002): wire models and the async client.

Every call is ``{url}/api/v0/{method}`` with the key in an ``apiKey`` header,
a GET with query parameters or, for a few methods, a POST with a JSON body
(as the official SDK sends them). Answers are ``{"success": true, "result":
…}``; failures ``{"success": false, "error": "…", "errorType": "…"}`` with
the HTTP status, classified by ``errorType`` first and the status second.
Wire names are camelCase; unknown fields are ignored and an explicit
``null`` reads as a missing field.

Abacus has no call that fetches several objects: ``get_many`` makes the
describes concurrently under the connection's bound.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from mlgraph.backends.cache import CATALOGUE, TERMINAL, Keep, read_json, records_of
from mlgraph.backends.client import POOL_CONNECTIONS, BackendConnection, SingleGetClient
from mlgraph.backends.errors import BackendError, BadResponse, Forbidden, NotFound, Rejected, Unavailable, sanitize
from mlgraph.backends.resilience import readiness_check
from mlgraph.backends.wire import NullableList, ReadThroughModel

PLATFORM = "abacus"
API = "/api/v0"
#: The largest ``limit`` the list methods are asked for.
MAX_PAGE_SIZE = 1000


class AbacusModel(ReadThroughModel):
    """camelCase on the wire, snake_case in Python; unknown fields ignored,
    an explicit ``null`` list read as empty (``NullableList``), all in Rust."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class AbacusCodeSource(AbacusModel):
    source_type: str | None = None
    source_code: str | None = None
    application_connector_id: str | None = None
    package_requirements: NullableList[Any] = None
    status: str | None = None
    error: str | None = None
    module_dependencies: NullableList[Any] = None


class AbacusFunctionArgument(AbacusModel):
    """A ``PythonFunctionArgument``: a named variable and where its value comes from."""

    name: str | None = None
    variable_type: str | None = None
    value: Any = None
    pipeline_variable: str | None = None
    is_required: bool | None = None


class AbacusReference(AbacusModel):
    """A ``PipelineStepVersionReference``: an object a step version made or used."""

    pipeline_step_version_reference_id: str | None = None
    pipeline_step_version: str | None = None
    object_type: str | None = None
    dataset_version: str | None = None
    model_version: str | None = None
    deployment_version: str | None = None
    batch_prediction_id: str | None = None
    model_monitor_version: str | None = None
    notebook_version: str | None = None
    feature_group_version: str | None = None
    status: str | None = None
    error: str | None = None


class AbacusStepVersion(AbacusModel):
    pipeline_step_version: str
    step_name: str | None = None
    pipeline_step_id: str | None = None
    pipeline_id: str | None = None
    pipeline_version: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    status: str | None = None
    error: str | None = None
    output_errors: str | None = None
    python_function_id: str | None = None
    function_variable_mappings: Any = None
    step_dependencies: NullableList[str] = None
    output_variable_mappings: Any = None
    cpu_size: str | None = None
    memory: float | None = None
    timeout: int | None = None
    pipeline_step_version_references: NullableList[AbacusReference] = None
    code_source: AbacusCodeSource | None = None

    @property
    def id(self) -> str:
        return self.pipeline_step_version


class AbacusPipelineVersion(AbacusModel):
    pipeline_version: str
    pipeline_name: str | None = None
    pipeline_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    status: str | None = None
    error: str | None = None
    step_versions: NullableList[AbacusStepVersion] = None
    code_source: AbacusCodeSource | None = None
    pipeline_variable_mappings: NullableList[AbacusFunctionArgument] = None

    @property
    def id(self) -> str:
        return self.pipeline_version


class AbacusPipelineStep(AbacusModel):
    pipeline_step_id: str
    pipeline_id: str | None = None
    step_name: str | None = None
    pipeline_name: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    python_function_id: str | None = None
    step_dependencies: NullableList[str] = None
    cpu_size: str | None = None
    memory: float | None = None
    timeout: int | None = None
    code_source: AbacusCodeSource | None = None

    @property
    def id(self) -> str:
        return self.pipeline_step_id


class AbacusPipeline(AbacusModel):
    pipeline_id: str
    pipeline_name: str | None = None
    created_at: datetime | None = None
    notebook_id: str | None = None
    cron: str | None = None
    next_run_time: datetime | None = None
    is_prod: bool | None = None
    warning: str | None = None
    created_by: str | None = None
    steps: NullableList[AbacusPipelineStep] = None
    latest_pipeline_version: AbacusPipelineVersion | None = None
    code_source: AbacusCodeSource | None = None
    pipeline_variable_mappings: NullableList[AbacusFunctionArgument] = None

    @property
    def id(self) -> str:
        return self.pipeline_id


class AbacusDatasetVersion(AbacusModel):
    dataset_version: str
    dataset_id: str | None = None
    status: str | None = None
    size: int | None = None
    row_count: int | None = None
    created_at: datetime | None = None
    error: str | None = None
    incremental_queried_at: datetime | None = None
    upload_id: str | None = None

    @property
    def id(self) -> str:
        return self.dataset_version


class AbacusDataset(AbacusModel):
    dataset_id: str
    source_type: str | None = None
    data_source: str | None = None
    created_at: datetime | None = None
    feature_group_table_name: str | None = None
    connector_type: str | None = None
    incremental: bool | None = None
    is_documentset: bool | None = None
    latest_dataset_version: AbacusDatasetVersion | None = None

    @property
    def id(self) -> str:
        return self.dataset_id


class AbacusModelVersion(AbacusModel):
    model_version: str
    model_id: str | None = None
    model_config_type: str | None = None
    status: str | None = None
    training_started_at: datetime | None = None
    training_completed_at: datetime | None = None
    feature_group_versions: NullableList[str] = None
    error: str | None = None
    pending_deployment_ids: NullableList[str] = None
    failed_deployment_ids: NullableList[str] = None
    cpu_size: str | None = None
    memory: float | None = None
    best_algorithm: Any = None
    use_gpu: bool | None = None

    @property
    def id(self) -> str:
        return self.model_version


class AbacusModelRecord(AbacusModel):
    """A ``Model`` (named so not to clash with pydantic's own)."""

    model_id: str
    name: str | None = None
    created_at: datetime | None = None
    project_id: str | None = None
    cpu_size: str | None = None
    memory: float | None = None
    use_gpu: bool | None = None
    latest_model_version: AbacusModelVersion | None = None

    @property
    def id(self) -> str:
        return self.model_id


class AbacusDeployment(AbacusModel):
    deployment_id: str
    name: str | None = None
    status: str | None = None
    description: str | None = None
    deployed_at: datetime | None = None
    created_at: datetime | None = None
    project_id: str | None = None
    model_id: str | None = None
    model_version: str | None = None
    feature_group_id: str | None = None
    feature_group_version: str | None = None
    calls_per_second: float | None = None
    auto_deploy: bool | None = None
    regions: NullableList[Any] = None
    error: str | None = None

    @property
    def id(self) -> str:
        return self.deployment_id


class AbacusFeatureGroupVersion(AbacusModel):
    feature_group_version: str
    feature_group_id: str | None = None
    sql: str | None = None
    source_tables: NullableList[str] = None
    source_dataset_versions: NullableList[str] = None
    created_at: datetime | None = None
    status: str | None = None
    error: str | None = None
    deployable: bool | None = None
    cpu_size: str | None = None
    memory: float | None = None
    materialization_started_at: datetime | None = None
    materialization_completed_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.feature_group_version


class AbacusBatchPredictionVersion(AbacusModel):
    batch_prediction_version: str | None = None
    status: str | None = None
    predictions_started_at: datetime | None = None
    predictions_completed_at: datetime | None = None
    total_predictions: int | None = None
    failed_predictions: int | None = None
    error: str | None = None


class AbacusBatchPrediction(AbacusModel):
    batch_prediction_id: str
    name: str | None = None
    created_at: datetime | None = None
    deployment_id: str | None = None
    model_version: str | None = None
    algorithm: str | None = None
    file_output_format: str | None = None
    output_feature_group_id: str | None = None
    latest_batch_prediction_version: AbacusBatchPredictionVersion | None = None

    @property
    def id(self) -> str:
        return self.batch_prediction_id


class AbacusProject(AbacusModel):
    project_id: str
    name: str | None = None
    use_case: str | None = None
    problem_type: str | None = None
    created_at: datetime | None = None
    tags: NullableList[str] = None

    @property
    def id(self) -> str:
        return self.project_id


class AbacusUser(AbacusModel):
    user_id: str | None = None
    name: str | None = None
    email: str | None = None
    created_at: datetime | None = None
    status: str | None = None

    @property
    def id(self) -> str:
        return self.user_id or self.email or ""


class AbacusStepLogs(AbacusModel):
    step_name: str | None = None
    pipeline_step_id: str | None = None
    pipeline_step_version: str | None = None
    logs: str | None = None


class AbacusVersionLogs(AbacusModel):
    step_logs: NullableList[AbacusStepLogs] = None


R = TypeVar("R")


class AbacusEnvelope(BaseModel, Generic[R]):
    """``{"success", "result"}``; what a failure adds is read from the raw body."""

    model_config = ConfigDict(extra="ignore")

    success: bool
    result: R


#: ``errorType`` names Abacus (and its SDK's exception classes) use, by class of failure.
ERROR_TYPES: dict[str, type[BackendError]] = {
    "DataNotFoundError": NotFound,
    "PermissionDeniedError": Forbidden,
    "UnauthorizedError": Forbidden,
    "MissingParameterError": Rejected,
    "InvalidParameterError": Rejected,
    "InvalidRequest": Rejected,
    "InvalidEnumParameterError": Rejected,
    "ConflictError": Rejected,
    "AlreadyExistsError": Rejected,
    "NotReadyError": Rejected,
    "TooManyRequestsError": Unavailable,
    "InternalServerError": Unavailable,
    "GatewayTimeoutError": Unavailable,
    "FailedDependencyError": Unavailable,
}


class AbacusConnection(BackendConnection):
    """Process-wide Abacus.AI state: the pool, the key and the concurrency bound."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        api_key: str | None = None,
        max_concurrency: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = POOL_CONNECTIONS,
    ) -> None:
        super().__init__(base_url, timeout=timeout, transport=transport, max_connections=max_connections)
        self.headers = {"apiKey": api_key} if api_key else {}
        self.max_concurrency = max_concurrency


M = TypeVar("M")


class AbacusClient(SingleGetClient):
    """Abacus.AI calls for one GraphQL request."""

    platform = PLATFORM
    connection: AbacusConnection

    async def auth_headers(self) -> dict[str, str]:
        return self.connection.headers

    def error_for(self, response: httpx.Response) -> BackendError:
        """``errorType`` says what failed; the status decides when it does not."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("errorType"), str):
            kind = ERROR_TYPES.get(body["errorType"])
            if kind is not None:
                detail = sanitize(str(body.get("error") or ""))
                suffix = f": {detail}" if detail else ""
                return kind(PLATFORM, f"abacus {body['errorType']}{suffix}", response.status_code)
        return super().error_for(response)

    def error_detail(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return ""
        return str(body.get("error") or "") if isinstance(body, dict) else ""

    def reads(self, method: str, path: str) -> bool:
        """The SDK POSTs some reads (``describePipeline``, ``listPipelineVersions``)."""
        name = path.rsplit("/", 1)[-1]
        return name.startswith(("describe", "list", "get"))

    async def call(
        self,
        result: type[M],
        method: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> M:
        """One API method: a POST when it takes a body, else a GET."""
        query = {key: value for key, value in (params or {}).items() if value is not None}
        if body is None:
            response = await self.send("GET", f"{API}/{method}", params=query)
        else:
            payload = {key: value for key, value in body.items() if value is not None}
            response = await self.send("POST", f"{API}/{method}", params=query, json_body=payload)
        if response.status_code >= 400:
            raise self.error_for(response)
        try:
            envelope = AbacusEnvelope[result].model_validate_json(self.json_body(response))  # type: ignore[valid-type]
        except ValidationError as exc:
            if any(error["type"] == "json_invalid" for error in exc.errors(include_url=False)):
                raise BadResponse(PLATFORM, "abacus sent a body that is not JSON") from exc
            if _failed(response):
                raise self.error_for(response) from None
            raise BadResponse(PLATFORM, f"abacus sent a malformed {method} answer") from exc
        if not envelope.success:
            raise self.error_for(response)
        return envelope.result

    async def _describe(self, result: type[M], method: str, label: str, key: str, **params: Any) -> M:
        try:
            return await self.call(result, method, params=params)
        except NotFound as exc:
            raise NotFound(PLATFORM, f"abacus {label} {key} not found", 404) from exc

    # ---------------------------------------------------------------- pipelines

    async def run_pipeline(self, pipeline_id: str, variable_mappings: list[dict[str, Any]] | None) -> AbacusPipelineVersion:
        body = {"pipelineId": pipeline_id, "pipelineVariableMappings": variable_mappings}
        try:
            return await self.call(AbacusPipelineVersion, "runPipeline", body=body)
        except NotFound as exc:
            raise NotFound(PLATFORM, f"abacus pipeline {pipeline_id} not found", 404) from exc

    async def describe_pipeline(self, pipeline_id: str) -> AbacusPipeline:
        try:
            return await self.call(AbacusPipeline, "describePipeline", body={"pipelineId": pipeline_id})
        except NotFound as exc:
            raise NotFound(PLATFORM, f"abacus pipeline {pipeline_id} not found", 404) from exc

    async def list_pipelines(self, project_id: str | None = None) -> list[AbacusPipeline]:
        return await self.call(list[AbacusPipeline], "listPipelines", params={"projectId": project_id})

    async def list_pipeline_versions(self, pipeline_id: str, limit: int) -> list[AbacusPipelineVersion]:
        try:
            return await self.call(
                list[AbacusPipelineVersion], "listPipelineVersions", body={"pipelineId": pipeline_id, "limit": limit}
            )
        except NotFound as exc:
            raise NotFound(PLATFORM, f"abacus pipeline {pipeline_id} not found", 404) from exc

    async def describe_pipeline_version(self, version: str) -> AbacusPipelineVersion:
        return await self._describe(
            AbacusPipelineVersion, "describePipelineVersion", "pipeline version", version, pipelineVersion=version
        )

    async def describe_pipeline_step(self, step_id: str) -> AbacusPipelineStep:
        return await self._describe(AbacusPipelineStep, "describePipelineStep", "pipeline step", step_id, pipelineStepId=step_id)

    async def describe_pipeline_step_version(self, version: str) -> AbacusStepVersion:
        return await self._describe(
            AbacusStepVersion, "describePipelineStepVersion", "pipeline step version", version, pipelineStepVersion=version
        )

    async def list_pipeline_version_logs(self, version: str) -> AbacusVersionLogs:
        return await self._describe(
            AbacusVersionLogs, "listPipelineVersionLogs", "pipeline version", version, pipelineVersion=version
        )

    # ---------------------------------------------------------------- what steps reference

    async def describe_dataset(self, dataset_id: str) -> AbacusDataset:
        return await self._describe(AbacusDataset, "describeDataset", "dataset", dataset_id, datasetId=dataset_id)

    async def describe_dataset_version(self, version: str) -> AbacusDatasetVersion:
        return await self._describe(
            AbacusDatasetVersion, "describeDatasetVersion", "dataset version", version, datasetVersion=version
        )

    async def list_dataset_versions(
        self, dataset_id: str, *, limit: int, start_after: str | None = None
    ) -> list[AbacusDatasetVersion]:
        return await self._describe(
            list[AbacusDatasetVersion], "listDatasetVersions", "dataset", dataset_id,
            datasetId=dataset_id, limit=limit, startAfterVersion=start_after,
        )

    async def describe_model(self, model_id: str) -> AbacusModelRecord:
        return await self._describe(AbacusModelRecord, "describeModel", "model", model_id, modelId=model_id)

    async def describe_model_version(self, version: str) -> AbacusModelVersion:
        return await self._describe(AbacusModelVersion, "describeModelVersion", "model version", version, modelVersion=version)

    async def list_model_versions(
        self, model_id: str, *, limit: int, start_after: str | None = None
    ) -> list[AbacusModelVersion]:
        return await self._describe(
            list[AbacusModelVersion], "listModelVersions", "model", model_id,
            modelId=model_id, limit=limit, startAfterVersion=start_after,
        )

    async def describe_deployment(self, deployment_id: str) -> AbacusDeployment:
        return await self._describe(AbacusDeployment, "describeDeployment", "deployment", deployment_id, deploymentId=deployment_id)

    async def describe_feature_group_version(self, version: str) -> AbacusFeatureGroupVersion:
        return await self._describe(
            AbacusFeatureGroupVersion, "describeFeatureGroupVersion", "feature group version", version,
            featureGroupVersion=version,
        )

    async def describe_batch_prediction(self, prediction_id: str) -> AbacusBatchPrediction:
        return await self._describe(
            AbacusBatchPrediction, "describeBatchPrediction", "batch prediction", prediction_id,
            batchPredictionId=prediction_id,
        )

    # ---------------------------------------------------------------- projects and users

    async def describe_project(self, project_id: str) -> AbacusProject:
        return await self._describe(AbacusProject, "describeProject", "project", project_id, projectId=project_id)

    async def list_projects(self, *, limit: int, start_after: str | None = None) -> list[AbacusProject]:
        return await self.call(list[AbacusProject], "listProjects", params={"limit": limit, "startAfterId": start_after})

    async def list_organization_users(self) -> list[AbacusUser]:
        """Everyone in the organization: how an email on a record becomes a user."""
        return await self.call(list[AbacusUser], "listOrganizationUsers")

    async def describe_user(self) -> AbacusUser:
        """The user the API key belongs to (Abacus describes no other)."""
        return await self.call(AbacusUser, "describeUser")

    async def ping(self) -> None:
        """Whether Abacus answers and accepts the key; raises if not."""
        with readiness_check():
            await self.describe_user()

    # ---------------------------------------------------------------- record cache

    def credential(self) -> str:
        """The API key the calls carry, the gateway's or a caller's."""
        return self.connection.headers.get("apiKey", "")

    def lists(self, request: httpx.Request) -> bool:
        """Every ``list…`` method, GET or the SDK's read by POST."""
        return request.url.path.rsplit("/", 1)[-1].startswith("list")

    def cache_class(self, request: httpx.Request, body: bytes) -> Keep | None:
        """A finished pipeline version (its step versions finished too), a
        finished step version, dataset, feature group or model version cannot
        change, nor the logs of a version known finished; pipelines, projects,
        users, datasets, models, deployments and batch predictions are
        catalogues while nothing in them is under way. Version lists grow."""
        name = request.url.path.rsplit("/", 1)[-1]
        answer = read_json(body)
        if not isinstance(answer, dict) or answer.get("success") is not True:
            return None
        result = answer.get("result")
        arguments = dict(request.url.params) if request.method == "GET" else read_json(request.content)
        if not isinstance(arguments, dict):
            return None
        if name in _CATALOGUES:
            if _under_way(result):
                return None
            records = records_of(answer, "result") if name == "listPipelines" else None
            ids = [record.get("pipelineId") for record in records or ()] + [arguments.get("pipelineId")]
            return Keep(CATALOGUE, tuple(key for key in ids if isinstance(key, str)))
        if name == "listPipelineVersionLogs":
            version = arguments.get("pipelineVersion")
            return Keep(TERMINAL, related=(version,), after=version) if isinstance(version, str) else None
        argument = _FINAL_WHEN_FINISHED.get(name)
        if argument is None or not isinstance(result, dict) or not _finished(result):
            return None
        ids = [arguments.get(argument)]
        if name == "describePipelineVersion":
            steps = records_of(result, "stepVersions")
            if steps is None or not all(_finished(step) for step in steps):
                return None
            ids += [step.get("pipelineStepVersion") for step in steps]
        ids = [key for key in ids if isinstance(key, str)]
        return Keep(TERMINAL, tuple(ids), marks=tuple(ids[:1]) if name == "describePipelineVersion" else ())

    def cache_evicts(self, request: httpx.Request, answer: bytes | None) -> list[str]:
        """The objects a write names (``runPipeline``'s ``pipelineId``: its latest version changes)."""
        arguments = read_json(request.content) if request.content else dict(request.url.params)
        if not isinstance(arguments, dict):
            return []
        return [value for key, value in arguments.items() if key.endswith("Id") and isinstance(value, str)]


#: Status words after which an object no longer changes.
_FINISHED = frozenset({"complete", "completed", "failed", "skipped", "cancelled"})
#: Status words of an object still being made.
_UNDER_WAY = frozenset(
    {"pending", "running", "importing", "inspecting", "generating", "training", "deploying", "predicting", "stopping"}
)
#: Describes whose object is final once its status is finished, by the argument naming it.
_FINAL_WHEN_FINISHED = {
    "describePipelineVersion": "pipelineVersion",
    "describePipelineStepVersion": "pipelineStepVersion",
    "describeDatasetVersion": "datasetVersion",
    "describeFeatureGroupVersion": "featureGroupVersion",
    "describeModelVersion": "modelVersion",
}
#: Methods answering with slowly changing objects.
_CATALOGUES = frozenset({
    "describePipeline", "listPipelines", "describePipelineStep", "describeDataset", "describeModel",
    "describeDeployment", "describeBatchPrediction", "describeProject", "listProjects", "listOrganizationUsers",
    "describeUser",
})


def _finished(record: dict[str, Any]) -> bool:
    return str(record.get("status")).casefold() in _FINISHED


def _under_way(result: Any) -> bool:
    """Whether an object, or the latest version it embeds, is still being made."""
    for record in result if isinstance(result, list) else [result]:
        if not isinstance(record, dict):
            continue
        nested = [value for key, value in record.items() if key.startswith("latest") and isinstance(value, dict)]
        if any(str(item.get("status")).casefold() in _UNDER_WAY for item in [record, *nested]):
            return True
    return False


def _failed(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("success") is False
