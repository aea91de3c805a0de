"""An emulated Abacus.AI API server over a seeded `AbacusData`.

`create_abacus_emulator(data)` returns an ASGI app speaking the part of the
Abacus.AI REST API (seed 002, and the official `abacusai` SDK's `client.py`)
the gateway reads: pipelines, their versions, steps and step versions with
their references and logs, running a pipeline, datasets and dataset
versions, models and model versions, deployments, feature groups and their
versions, batch predictions, projects and users. Each kind answers the
SDK's list and describe calls (method names, GET or POST and parameters as
its `client.py` sends them).

Wire, as the SDK sends and reads it:

- Every call is `/api/v0/{method}` with the key in the `apiKey` header.
  Parameters come as query parameters (GET) or a JSON object body (POST);
  both are read for every method, the body winning, so a method works over
  whichever transport a client picks. The SDK sends `describePipeline`,
  `listPipelineVersions` and `runPipeline` as POST with a JSON body, the rest
  as GET. `runPipeline` is a write: POST only (GET answers 405). Null and
  absent parameters are the same; GET lists/objects arrive JSON-encoded.
- Answers are `{"success": true, "result": ...}`; failures
  `{"success": false, "error": "<message>", "errorType": "<SDK exception
  class>", "requestId": "<uuid>"}`: 400 `MissingParameterError` (a required
  parameter absent) or `InvalidParameterError` (not an integer, out of
  range, malformed body or mappings, a paging id that is not in the list),
  401 `PermissionDeniedError` (no or a wrong `apiKey`), 404
  `DataNotFoundError` (an unknown id) or `Generic404Error` (an unknown
  method or route), 405 `MethodNotAllowed`, 500 `InternalServerError` (a
  crash, and injected faults). `error` is always a string: the SDK appends
  to it.
- Start-up: `getApiEndpoint` answers `apiEndpoint`, `predictEndpoint` and
  `proxyEndpoint` (all this server's own base URL, taken from the request),
  and `version` (no key needed) answers `SERVER_VERSION`.
- Field names camelCase, records as the SDK classes take them; links are
  ids. `listOrganizationUsers` lists every user.

Paging: `listProjects`, `listDatasets`, `listFeatureGroups` (`limit`
default 100, `startAfterId`), `listDatasetVersions`, `listModelVersions`,
`listFeatureGroupVersions` (`limit` default 100, `startAfterVersion`),
`listPipelineVersions` (`limit` default 200), `listBatchPredictions`
(`limit`, default 1000). `limit` is 1..1000. Lists are newest first (creation
time descending), the items after `startAfterId` / `startAfterVersion` in
that order; so are the unpaged `listPipelines` (optionally by `projectId`),
`listModels` and `listDeployments` (by `projectId`, required, as for
`listBatchPredictions`). There are no feature group templates:
`listFeatureGroups` naming one (`featureGroupTemplateId`) is a 404.

Running a pipeline (`runPipeline`, `pipelineId`, optional
`pipelineVariableMappings`: a list of `{"name", "value", ...}` overriding the
pipeline's variables by name) creates a version that is PENDING for
`pending_seconds`, then RUNNING for `running_seconds` while its steps run one
after another in an equal share each (PENDING, RUNNING, COMPLETE), then
COMPLETE. A variable valued `"fail"` makes the last step fail, and
`"fail:<step name>"` that step: it ends FAILED with an error, the steps
after it SKIPPED, the version FAILED with the step's error. Time is the
injectable `clock` (default `time.monotonic`); every call reports the state
at call time, timestamps are `data.now` plus the clock's advance since the
app was made. A step that completes references what the same step wrote in
the pipeline's newest seeded version. Writes never touch `data`: each app
keeps its own runs, so several apps over one data set stay independent.

Records render once and are cached as JSON (a run's once it has finished),
so describing a 200-step version costs a dictionary lookup. Every request is
appended to `app.state.calls` as `(method, raw path with query)` before
faults and auth act on it; injected faults answer with the failure envelope
(`errorType` `InternalServerError`).
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mlgraph.sandbox.abacus_data import (
    AbacusArgument,
    AbacusBatchPrediction,
    AbacusCodeSource,
    AbacusData,
    AbacusDataset,
    AbacusDatasetColumn,
    AbacusDatasetVersion,
    AbacusDeployment,
    AbacusFeatureGroup,
    AbacusFeatureGroupVersion,
    AbacusModel,
    AbacusModelVersion,
    AbacusOutput,
    AbacusPipeline,
    AbacusPipelineStep,
    AbacusPipelineStepVersion,
    AbacusPipelineVersion,
    AbacusProject,
    AbacusReference,
    AbacusUser,
    iso,
    parse_iso,
    step_logs,
)
from mlgraph.sandbox.faults import Faults
from mlgraph.sandbox.middleware import CallLog, RecentLog

SERVER_VERSION = "1.4.119"
"""What `version` answers: the SDK release this emulator was checked against."""
LIMIT_MAX = 1000
_PIPELINE_REFERENCE_TYPES = {
    "DATASET_VERSION": ("DATASET", "datasetId"),
    "FEATURE_GROUP_VERSION": ("FEATURE_GROUP", "featureGroupId"),
    "MODEL_VERSION": ("MODEL", "modelId"),
    "DEPLOYMENT_VERSION": ("DEPLOYMENT", "deploymentId"),
    "BATCH_PREDICTION": ("BATCH_PREDICTION", "batchPredictionDescriptionId"),
}

Handler = Callable[[Request, dict[str, Any]], Awaitable[bytes]]


def create_abacus_emulator(
    data: AbacusData,
    api_key: str | None = None,
    faults: Faults | None = None,
    clock: Callable[[], float] | None = None,
    *,
    pending_seconds: float = 0.2,
    running_seconds: float = 0.5,
) -> Starlette:
    """An ASGI app serving `data` as an Abacus.AI server (see the module docstring)."""
    if pending_seconds < 0 or running_seconds < 0:
        raise ValueError("pending_seconds and running_seconds must be >= 0")
    emulator = _Emulator(data, clock or time.monotonic, pending_seconds, running_seconds)
    calls: RecentLog[tuple[str, str]] = RecentLog()
    middleware = [Middleware(CallLog, calls=calls)]
    if faults is not None:
        middleware.append(Middleware(faults.wrap, body=_fault_body))
    if api_key:
        middleware.append(Middleware(_ApiKeyAuth, api_key=api_key))
    app = Starlette(
        routes=[Route("/api/v0/{method}", emulator.dispatch, methods=["GET", "POST"])],
        middleware=middleware,
        exception_handlers={
            _ApiError: _api_error_response,
            HTTPException: _http_error_response,
            Exception: _crash_response,
        },
    )
    app.state.calls = calls
    return app


# ---------------------------------------------------------------- errors and responses


class _ApiError(Exception):
    """A failure answer: HTTP status, the SDK's exception class name, the message."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def _failure(error_type: str, message: str) -> bytes:
    return orjson.dumps(
        {"success": False, "error": message, "errorType": error_type, "requestId": str(uuid.uuid4())}
    )


def _fault_body() -> bytes:
    return _failure("InternalServerError", "injected fault")


def _json(content: bytes, status: int = 200) -> Response:
    return Response(content, status_code=status, media_type="application/json")


def _success(result: bytes) -> Response:
    return _json(b'{"success":true,"result":' + result + b"}")


async def _api_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _ApiError)
    return _json(_failure(exc.error_type, exc.message), exc.status)


async def _http_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return _json(_failure("MethodNotAllowed", f"{request.method} is not allowed for {request.url.path}"), 405)
    if exc.status_code == 404:
        return _json(_failure("Generic404Error", f"No route for {request.method} {request.url.path}"), 404)
    return _json(_failure("ApiException", str(exc.detail)), exc.status_code)


async def _crash_response(request: Request, exc: Exception) -> Response:
    return _json(_failure("InternalServerError", f"Internal server error: {type(exc).__name__}"), 500)


def _missing_parameter(name: str) -> _ApiError:
    return _ApiError(400, "MissingParameterError", f"Missing required parameter '{name}'")


def _invalid(message: str) -> _ApiError:
    return _ApiError(400, "InvalidParameterError", message)


def _not_found(kind: str, key: object) -> _ApiError:
    return _ApiError(404, "DataNotFoundError", f"{kind} {key} not found")


class _ApiKeyAuth:
    """`apiKey: <key>`, else 401 `PermissionDeniedError`; `version` is public."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/api/v0/version":
            await self.app(scope, receive, send)
            return
        offered = dict(scope["headers"]).get(b"apikey", b"").decode("latin-1").strip()
        if offered == self.api_key:
            await self.app(scope, receive, send)
            return
        message = "Invalid API key" if offered else "Missing API key: pass it in the apiKey header"
        await _json(_failure("PermissionDeniedError", message), 401)(scope, receive, send)


# ---------------------------------------------------------------- parameters


def _string(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _invalid(f"Invalid value for parameter '{name}': expected a string")
    return value


def _required(params: dict[str, Any], name: str) -> str:
    value = _string(params, name)
    if value is None:
        raise _missing_parameter(name)
    return value


def _limit(params: dict[str, Any], default: int) -> int:
    raw = params.get("limit")
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise _invalid(f"Invalid value for parameter 'limit': {raw!r} is not an integer")
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(f"Invalid value for parameter 'limit': {raw!r} is not an integer") from None
    if not 1 <= value <= LIMIT_MAX:
        raise _invalid(f"Invalid value for parameter 'limit': {value} must be between 1 and {LIMIT_MAX}")
    return value


def _after(items: Sequence[Any], start_after: str | None, name: str) -> Sequence[Any]:
    """The items after the one whose id is `start_after` (all of them without it)."""
    if start_after is None:
        return items
    for index, item in enumerate(items):
        if item.id == start_after:
            return items[index + 1 :]
    raise _invalid(f"Invalid value for parameter '{name}': {start_after} is not in this list")


def _newest_first(items: Iterable[Any]) -> list[Any]:
    """Lists come newest first; ties (same second) by id, descending too."""
    return sorted(items, key=lambda item: (item.created_at, item.id), reverse=True)


def _array(records: Iterable[bytes]) -> bytes:
    return b"[" + b",".join(records) + b"]"


def _derived_id(*parts: str) -> str:
    """A stable 10-hex-digit id for something the data set does not name (pipeline references)."""
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:10]


# ---------------------------------------------------------------- records


def _code_source(source: AbacusCodeSource) -> dict[str, Any]:
    return {
        "sourceType": source.source_type,
        "sourceCode": source.source_code,
        "applicationConnectorId": None,
        "applicationConnectorInfo": None,
        "packageRequirements": list(source.package_requirements),
        "status": source.status,
        "error": source.error,
        "publishingMsg": None,
        "moduleDependencies": list(source.module_dependencies),
    }


def _argument(argument: AbacusArgument) -> dict[str, Any]:
    return {
        "name": argument.name,
        "variableType": argument.variable_type,
        "value": argument.value,
        "pipelineVariable": argument.pipeline_variable,
        "isRequired": argument.is_required,
    }


def _output(output: AbacusOutput) -> dict[str, Any]:
    return {"name": output.name, "variableType": output.variable_type}


def _column(column: AbacusDatasetColumn) -> dict[str, Any]:
    return {
        "name": column.name,
        "dataType": column.data_type,
        "detectedDataType": column.data_type,
        "featureType": column.feature_type,
        "detectedFeatureType": column.feature_type,
        "originalName": column.name,
        "validDataTypes": [column.data_type, "STRING"] if column.data_type != "STRING" else ["STRING"],
        "timeFormat": "%Y-%m-%dT%H:%M:%S" if column.data_type == "DATETIME" else None,
        "timestampFrequency": None,
    }


def _reference(reference: AbacusReference) -> dict[str, Any]:
    return {
        "pipelineStepVersionReferenceId": reference.id,
        "pipelineStepVersion": reference.step_version_id,
        "objectType": reference.object_type,
        "datasetVersion": reference.dataset_version,
        "modelVersion": reference.model_version,
        "deploymentVersion": reference.deployment_version,
        "batchPredictionId": reference.batch_prediction_id,
        "modelMonitorVersion": reference.model_monitor_version,
        "notebookVersion": reference.notebook_version,
        "featureGroupVersion": reference.feature_group_version,
        "status": reference.status,
        "error": reference.error,
    }


def _step_version(step: AbacusPipelineStepVersion) -> dict[str, Any]:
    return {
        "stepName": step.name,
        "pipelineStepVersion": step.id,
        "pipelineStepId": step.step_id,
        "pipelineId": step.pipeline_id,
        "pipelineVersion": step.pipeline_version,
        "createdAt": step.created_at,
        "updatedAt": step.updated_at,
        "status": step.status,
        "error": step.error,
        "outputErrors": step.output_errors,
        "pythonFunctionId": step.python_function_id,
        "functionVariableMappings": [_argument(a) for a in step.input_mappings],
        "stepDependencies": list(step.step_dependencies),
        "outputVariableMappings": [_output(o) for o in step.output_mappings],
        "cpuSize": step.cpu_size,
        "memory": step.memory,
        "timeout": step.timeout,
        "pipelineStepVersionReferences": [_reference(r) for r in step.references],
        "codeSource": _code_source(step.code_source),
    }


def _version(version: AbacusPipelineVersion, pipeline: AbacusPipeline, steps: list[bytes]) -> bytes:
    head = orjson.dumps({
        "pipelineName": pipeline.name,
        "pipelineId": version.pipeline_id,
        "pipelineVersion": version.id,
        "createdAt": version.created_at,
        "updatedAt": version.updated_at,
        "completedAt": version.completed_at,
        "status": version.status,
        "error": version.error,
        "codeSource": _code_source(version.code_source),
        "pipelineVariableMappings": [_argument(a) for a in version.variable_mappings],
    })
    return head[:-1] + b',"stepVersions":[' + b",".join(steps) + b"]}"


def _step(step: AbacusPipelineStep, pipeline: AbacusPipeline) -> dict[str, Any]:
    return {
        "pipelineStepId": step.id,
        "pipelineId": step.pipeline_id,
        "stepName": step.name,
        "pipelineName": pipeline.name,
        "createdAt": step.created_at,
        "updatedAt": step.updated_at,
        "pythonFunctionId": step.python_function_id,
        "stepDependencies": list(step.step_dependencies),
        "cpuSize": step.cpu_size,
        "memory": step.memory,
        "timeout": step.timeout,
        "pythonFunction": {
            "notebookId": pipeline.notebook_id,
            "name": step.function_name,
            "createdAt": step.created_at,
            "functionVariableMappings": [_argument(a) for a in step.input_mappings],
            "outputVariableMappings": [_output(o) for o in step.output_mappings],
            "functionName": step.function_name,
            "pythonFunctionId": step.python_function_id,
            "functionType": "STEP_FUNCTION",
            "packageRequirements": list(step.code_source.package_requirements),
            "description": None,
            "examples": None,
            "connectors": None,
            "configurations": None,
            "codeSource": _code_source(step.code_source),
        },
        "codeSource": _code_source(step.code_source),
    }


def _user(user: AbacusUser) -> dict[str, Any]:
    return {
        "userId": user.id,
        "name": user.name,
        "email": user.email,
        "createdAt": user.created_at,
        "status": user.status,
        "organizationGroups": [
            {
                "organizationGroupId": group.id,
                "permissions": list(group.permissions),
                "groupName": group.name,
                "defaultGroup": group.default_group,
                "admin": group.admin,
                "createdAt": group.created_at,
            }
            for group in user.organization_groups
        ],
    }


def _project(project: AbacusProject) -> dict[str, Any]:
    return {
        "projectId": project.id,
        "name": project.name,
        "useCase": project.use_case,
        "problemType": project.problem_type,
        "createdAt": project.created_at,
        "tags": list(project.tags),
    }


def _dataset_version(version: AbacusDatasetVersion) -> dict[str, Any]:
    return {
        "datasetVersion": version.id,
        "status": version.status,
        "datasetId": version.dataset_id,
        "size": version.size,
        "rowCount": version.row_count,
        "fileInspectMetadata": None if version.status != "COMPLETE" else {"fileFormat": "PARQUET", "numFiles": 1},
        "createdAt": version.created_at,
        "error": version.error,
        "incrementalQueriedAt": None,
        "uploadId": version.upload_id,
        "mergeFileSchemas": False,
        "databaseConnectorConfig": None,
        "applicationConnectorConfig": None,
        "invalidRecords": None,
    }


def _dataset(dataset: AbacusDataset, latest: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "datasetId": dataset.id,
        "sourceType": dataset.source_type,
        "dataSource": dataset.data_source,
        "createdAt": dataset.created_at,
        "ignoreBefore": None,
        "ephemeral": False,
        "lookbackDays": None,
        "databaseConnectorId": None,
        "databaseConnectorConfig": None,
        "connectorType": "FILE",
        "featureGroupTableName": dataset.name,
        "applicationConnectorId": None,
        "applicationConnectorConfig": None,
        "incremental": False,
        "isDocumentset": False,
        "extractBoundingBoxes": False,
        "mergeFileSchemas": False,
        "referenceOnlyDocumentset": False,
        "versionLimit": None,
        "disableRealtimeContentProcessing": None,
        "forceFullResync": None,
        "realtimeContentStoreConfig": None,
        "schema": [_column(c) for c in dataset.schema],
        "refreshSchedules": [],
        "latestDatasetVersion": latest,
        "parsingConfig": None,
        "documentProcessingConfig": None,
        "attachmentParsingConfig": None,
    }


def _model_version(version: AbacusModelVersion) -> dict[str, Any]:
    return {
        "modelVersion": version.id,
        "modelConfigType": None,
        "status": version.status,
        "modelId": version.model_id,
        "modelPredictionConfig": None,
        "trainingStartedAt": version.training_started_at,
        "trainingCompletedAt": version.training_completed_at,
        "featureGroupVersions": list(version.feature_group_versions),
        "customAlgorithms": None,
        "builtinAlgorithms": None,
        "error": version.error,
        "pendingDeploymentIds": list(version.pending_deployment_ids),
        "failedDeploymentIds": list(version.failed_deployment_ids),
        "cpuSize": version.cpu_size,
        "memory": version.memory,
        "automlComplete": version.status == "COMPLETE",
        "trainingFeatureGroupIds": None,
        "trainingDocumentRetrieverVersions": None,
        "documentRetrieverMappings": None,
        "bestAlgorithm": version.best_algorithm,
        "defaultAlgorithm": version.best_algorithm,
        "featureAnalysisStatus": None,
        "dataClusterInfo": None,
        "customAlgorithmConfigs": None,
        "trainedModelTypes": None,
        "useGpu": version.use_gpu,
        "partialComplete": None,
        "modelFeatureGroupSchemaMappings": None,
        "trainingConfigUpdated": None,
        "codeSource": _code_source(version.code_source),
        "modelConfig": None,
        "deployableAlgorithms": [],
    }


def _model(model: AbacusModel, latest: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "name": model.name,
        "modelId": model.id,
        "modelConfigType": None,
        "modelPredictionConfig": None,
        "createdAt": model.created_at,
        "projectId": model.project_id,
        "trainFunctionName": model.train_function_name,
        "predictFunctionName": model.predict_function_name,
        "predictManyFunctionName": None,
        "initializeFunctionName": None,
        "trainingInputTables": [],
        "sourceCode": model.code_source.source_code,
        "cpuSize": model.cpu_size,
        "memory": model.memory,
        "trainingFeatureGroupIds": list(model.training_feature_group_ids),
        "algorithmModelConfigs": None,
        "trainingVectorStoreVersions": None,
        "documentRetrievers": None,
        "documentRetrieverIds": None,
        "isPythonModel": True,
        "defaultAlgorithm": None,
        "customAlgorithmConfigs": None,
        "restrictedAlgorithms": None,
        "useGpu": model.use_gpu,
        "notebookId": None,
        "trainingRequired": False,
        "refreshSchedules": [],
        "codeSource": _code_source(model.code_source),
        "databaseConnector": None,
        "dataLlmFeatureGroups": None,
        "latestModelVersion": latest,
        "modelConfig": None,
    }


def _deployment(deployment: AbacusDeployment) -> dict[str, Any]:
    return {
        "deploymentId": deployment.id,
        "name": deployment.name,
        "status": deployment.status,
        "description": deployment.description,
        "deployedAt": deployment.deployed_at,
        "createdAt": deployment.created_at,
        "projectId": deployment.project_id,
        "modelId": deployment.model_id,
        "modelVersion": deployment.model_version,
        "featureGroupId": None,
        "featureGroupVersion": None,
        "callsPerSecond": deployment.calls_per_second,
        "autoDeploy": deployment.auto_deploy,
        "skipMetricsCheck": False,
        "algoName": "Custom Python Model",
        "regions": list(deployment.regions),
        "error": deployment.error,
        "batchStreamingUpdates": False,
        "algorithm": "USER_DEFINED",
        "pendingModelVersion": deployment.pending_model_version,
        "modelDeploymentConfig": None,
        "predictionOperatorId": None,
        "predictionOperatorVersion": None,
        "pendingPredictionOperatorVersion": None,
        "onlineFeatureGroupId": None,
        "outputOnlineFeatureGroupId": None,
        "realtimeMonitorId": None,
        "runtimeConfigs": None,
        "isSystemCreated": False,
        "refreshSchedules": [],
        "featureGroupExportConfig": None,
        "defaultPredictionArguments": None,
    }


def _feature_group_version(version: AbacusFeatureGroupVersion) -> dict[str, Any]:
    return {
        "featureGroupVersion": version.id,
        "featureGroupId": version.feature_group_id,
        "sql": version.sql,
        "sourceTables": list(version.source_tables),
        "sourceDatasetVersions": list(version.source_dataset_versions),
        "createdAt": version.created_at,
        "status": version.status,
        "error": version.error,
        "deployable": version.status == "COMPLETE",
        "cpuSize": version.cpu_size,
        "memory": version.memory,
        "useOriginalCsvNames": False,
        "pythonFunctionBindings": None,
        "indexingConfigWarningMsg": None,
        "materializationStartedAt": version.materialization_started_at,
        "materializationCompletedAt": version.materialization_completed_at,
        "columns": [c.name for c in version.columns],
        "templateBindings": None,
        "features": _features(version.columns, version.source_tables),
        "pointInTimeGroups": [],
        "codeSource": None,
        "annotationConfig": None,
        "indexingConfig": None,
    }


def _features(columns: list[AbacusDatasetColumn], source_tables: list[str]) -> list[dict[str, Any]]:
    """A feature group's (or version's) `features`: one SDK `Feature` a column, read from its first source table."""
    return [
        {
            "name": c.name,
            "selectClause": None,
            "featureMapping": None,
            "sourceTable": source_tables[0] if source_tables else None,
            "originalName": c.name,
            "usingClause": None,
            "orderClause": None,
            "whereClause": None,
            "featureType": c.feature_type,
            "dataType": c.data_type,
            "detectedFeatureType": c.feature_type,
            "detectedDataType": c.data_type,
            "columns": None,
            "pointInTimeInfo": None,
        }
        for c in columns
    ]


def _feature_group(group: AbacusFeatureGroup, latest: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "featureGroupId": group.id,
        "modificationLock": False,
        "name": group.table_name,
        "featureGroupSourceType": "SQL",
        "tableName": group.table_name,
        "sql": group.sql,
        "datasetId": None,
        "functionSourceCode": None,
        "functionName": None,
        "sourceTables": list(group.source_tables),
        "createdAt": group.created_at,
        "description": None,
        "sqlError": None,
        "latestVersionOutdated": False,
        "referencedFeatureGroups": [],
        "tags": [],
        "primaryKey": None,
        "updateTimestampKey": None,
        "lookupKeys": [],
        "streamingEnabled": False,
        "incremental": False,
        "mergeConfig": None,
        "samplingConfig": None,
        "cpuSize": None,
        "memory": None,
        "streamingReady": False,
        "featureTags": {},
        "moduleName": None,
        "templateBindings": None,
        "featureExpression": None,
        "useOriginalCsvNames": False,
        "pythonFunctionBindings": None,
        "pythonFunctionName": None,
        "useGpu": False,
        "versionLimit": None,
        "exportOnMaterialization": False,
        "features": _features(group.columns, group.source_tables),
        "duplicateFeatures": [],
        "pointInTimeGroups": [],
        "annotationConfig": None,
        "concatenationConfig": None,
        "indexingConfig": None,
        "codeSource": None,
        "featureGroupTemplate": None,
        "explanation": None,
        "refreshSchedules": [],
        "exportConnectorConfig": None,
        "latestFeatureGroupVersion": latest,
        "operatorConfig": None,
    }


def _batch_prediction(prediction: AbacusBatchPrediction) -> dict[str, Any]:
    latest = None
    if prediction.version_id is not None:
        latest = {
            "batchPredictionVersion": prediction.version_id,
            "batchPredictionId": prediction.id,
            "status": prediction.status,
            "driftMonitorStatus": None,
            "deploymentId": prediction.deployment_id,
            "modelId": prediction.model_id,
            "modelVersion": prediction.model_version,
            "predictionsStartedAt": prediction.predictions_started_at,
            "predictionsCompletedAt": prediction.predictions_completed_at,
            "databaseOutputError": None,
            "totalPredictions": prediction.total_predictions,
            "failedPredictions": prediction.failed_predictions,
            "error": prediction.error,
            "outputFeatureGroupId": prediction.output_feature_group_id,
            "outputFeatureGroupVersion": None,
            "fileOutputFormat": "CSV",
        }
    return {
        "batchPredictionId": prediction.id,
        "createdAt": prediction.created_at,
        "name": prediction.name,
        "deploymentId": prediction.deployment_id,
        "fileConnectorOutputLocation": f"s3://acme-ml/predictions/{prediction.name}/",
        "databaseConnectorId": None,
        "databaseOutputConfiguration": None,
        "fileOutputFormat": "CSV",
        "connectorType": "FILE_CONNECTOR",
        "legacyInputLocation": None,
        "outputFeatureGroupId": prediction.output_feature_group_id,
        "featureGroupTableName": f"{prediction.name.replace('-', '_')}_output",
        "outputFeatureGroupTableName": f"{prediction.name.replace('-', '_')}_output",
        "summaryFeatureGroupTableName": None,
        "csvInputPrefix": None,
        "csvPredictionPrefix": None,
        "csvExplanationsPrefix": None,
        "outputIncludesMetadata": False,
        "resultInputColumns": None,
        "modelMonitorId": None,
        "modelVersion": prediction.model_version,
        "bpAcrossVersionsMonitorId": None,
        "algorithm": "USER_DEFINED",
        "batchPredictionArgsType": None,
        "batchInputs": None,
        "latestBatchPredictionVersion": latest,
        "refreshSchedules": [],
        "inputFeatureGroups": [],
        "globalPredictionArgs": None,
        "batchPredictionArgs": None,
    }


# ---------------------------------------------------------------- runs


@dataclass
class _Run:
    """A pipeline version this app started: its state is a function of the clock."""

    version: AbacusPipelineVersion
    pipeline: AbacusPipeline
    start: float
    """The emulator clock (seconds since the app was made) when it was started."""
    step_version_ids: list[str]
    templates: list[list[AbacusReference]]
    reference_ids: list[list[str]]
    fail_at: int | None
    fail_error: str | None
    cached: bytes | None = None
    step_cache: dict[int, bytes] = field(default_factory=dict)


# ---------------------------------------------------------------- the emulator


class _Emulator:
    def __init__(self, data: AbacusData, clock: Callable[[], float], pending: float, running: float) -> None:
        self.clock = clock
        self.clock0 = clock()
        self.now = parse_iso(data.now)
        self.pending = pending
        self.running = running
        self.self_id = data.self_user_id
        self.users = {u.id: u for u in data.users}
        self.projects = {p.id: p for p in data.projects}
        self.pipelines = {p.id: p for p in data.pipelines}
        self.steps = {s.id: s for p in data.pipelines for s in p.steps}
        self.versions = {v.id: v for v in data.pipeline_versions}
        self.step_versions = {s.id: s for s in data.step_versions}
        self.pipeline_versions: dict[str, list[str]] = {p.id: [] for p in data.pipelines}
        for version in sorted(data.pipeline_versions, key=lambda v: v.created_at):
            self.pipeline_versions[version.pipeline_id].append(version.id)
        self.datasets = {d.id: d for d in data.datasets}
        self.dataset_versions = {v.id: v for v in data.dataset_versions}
        self.models = {m.id: m for m in data.models}
        self.model_versions = {v.id: v for v in data.model_versions}
        self.deployments = {d.id: d for d in data.deployments}
        self.feature_groups = {g.id: g for g in data.feature_groups}
        self.fg_versions = {v.id: v for v in data.feature_group_versions}
        self.batch_predictions = {b.id: b for b in data.batch_predictions}
        self.runs: dict[str, _Run] = {}
        self.run_steps: dict[str, tuple[_Run, int]] = {}
        self.taken = set(self.users) | set(self.projects) | set(self.pipelines) | set(self.steps) | set(
            self.versions) | set(self.step_versions) | set(self.datasets) | set(self.dataset_versions) | set(
            self.models) | set(self.model_versions) | set(self.deployments) | set(self.feature_groups) | set(
            self.fg_versions) | set(self.batch_predictions) | {r.id for s in data.step_versions for r in s.references}
        self.rng = random.Random(f"abacus-emulator:{data.now}")
        self.cache: dict[tuple[str, str], bytes] = {}
        self.methods: dict[str, tuple[Handler, frozenset[str]]] = {
            "getApiEndpoint": (self.get_api_endpoint, _READ),
            "version": (self.server_version, _READ),
            "describeUser": (self.describe_user, _READ),
            "listOrganizationUsers": (self.list_users, _READ),
            "describeProject": (self.describe_project, _READ),
            "listProjects": (self.list_projects, _READ),
            "listPipelines": (self.list_pipelines, _READ),
            "describePipeline": (self.describe_pipeline, _READ),
            "listPipelineVersions": (self.list_pipeline_versions, _READ),
            "describePipelineVersion": (self.describe_pipeline_version, _READ),
            "describePipelineStep": (self.describe_pipeline_step, _READ),
            "describePipelineStepVersion": (self.describe_pipeline_step_version, _READ),
            "listPipelineVersionLogs": (self.list_pipeline_version_logs, _READ),
            "runPipeline": (self.run_pipeline, _WRITE),
            "listDatasets": (self.list_datasets, _READ),
            "describeDataset": (self.describe_dataset, _READ),
            "describeDatasetVersion": (self.describe_dataset_version, _READ),
            "listDatasetVersions": (self.list_dataset_versions, _READ),
            "listModels": (self.list_models, _READ),
            "describeModel": (self.describe_model, _READ),
            "describeModelVersion": (self.describe_model_version, _READ),
            "listModelVersions": (self.list_model_versions, _READ),
            "listDeployments": (self.list_deployments, _READ),
            "describeDeployment": (self.describe_deployment, _READ),
            "listFeatureGroups": (self.list_feature_groups, _READ),
            "describeFeatureGroup": (self.describe_feature_group, _READ),
            "listFeatureGroupVersions": (self.list_feature_group_versions, _READ),
            "describeFeatureGroupVersion": (self.describe_feature_group_version, _READ),
            "listBatchPredictions": (self.list_batch_predictions, _READ),
            "describeBatchPrediction": (self.describe_batch_prediction, _READ),
        }

    # -- dispatch

    async def dispatch(self, request: Request) -> Response:
        name = request.path_params["method"]
        found = self.methods.get(name)
        if found is None:
            raise _ApiError(404, "Generic404Error", f"Unknown API method '{name}'")
        handler, allowed = found
        if request.method not in allowed:
            allowed_text = "/".join(sorted(allowed))
            raise _ApiError(405, "MethodNotAllowed", f"{name} does not accept {request.method}; use {allowed_text}")
        params: dict[str, Any] = dict(request.query_params)
        if request.method == "POST":
            raw = await request.body()
            if raw.strip():
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise _invalid("The request body is not valid JSON") from None
                if not isinstance(body, dict):
                    raise _invalid("The request body must be a JSON object")
                params.update(body)
        params = {key: value for key, value in params.items() if value is not None}
        return _success(await handler(request, params))

    # -- helpers

    def cached(self, kind: str, key: str, render: Callable[[], object]) -> bytes:
        found = self.cache.get((kind, key))
        if found is None:
            found = orjson.dumps(render())
            self.cache[(kind, key)] = found
        return found

    def lookup(self, items: dict[str, Any], params: dict[str, Any], name: str, kind: str) -> Any:
        key = _required(params, name)
        found = items.get(key)
        if found is None:
            raise _not_found(kind, key)
        return found

    def page(self, params: dict[str, Any], items: Sequence[Any], after: str, render: Callable[[Any], bytes]) -> bytes:
        """Up to `limit` (default 100) of `items`, from after the one the `after` parameter names."""
        limit = _limit(params, 100)
        return _array(render(item) for item in _after(items, _string(params, after), after)[:limit])

    def elapsed(self) -> float:
        return self.clock() - self.clock0

    def stamp(self, seconds: float) -> str:
        """The timestamp `seconds` of emulator clock after the app was made."""
        return iso(self.now + timedelta(seconds=seconds))

    def new_id(self) -> str:
        while True:
            value = f"{self.rng.getrandbits(40):010x}"
            if value not in self.taken:
                self.taken.add(value)
                return value

    # -- start-up

    async def get_api_endpoint(self, request: Request, params: dict[str, Any]) -> bytes:
        base = str(request.base_url).rstrip("/")
        return orjson.dumps({
            "apiEndpoint": base,
            "predictEndpoint": base,
            "proxyEndpoint": base,
            "llmEndpoint": None,
            "externalChatEndpoint": None,
            "dashboardEndpoint": base,
            "hostingDomain": None,
            "publicHostingDomain": None,
        })

    async def server_version(self, request: Request, params: dict[str, Any]) -> bytes:
        return orjson.dumps(SERVER_VERSION)

    # -- users and projects

    async def describe_user(self, request: Request, params: dict[str, Any]) -> bytes:
        user = self.users[self.self_id]
        return self.cached("user", user.id, lambda: _user(user))

    async def list_users(self, request: Request, params: dict[str, Any]) -> bytes:
        return _array(self.cached("user", u.id, lambda u=u: _user(u)) for u in self.users.values())

    def project_json(self, project: AbacusProject) -> bytes:
        return self.cached("project", project.id, lambda: _project(project))

    async def describe_project(self, request: Request, params: dict[str, Any]) -> bytes:
        return self.project_json(self.lookup(self.projects, params, "projectId", "Project"))

    async def list_projects(self, request: Request, params: dict[str, Any]) -> bytes:
        return self.page(params, _newest_first(self.projects.values()), "startAfterId", self.project_json)

    # -- pipelines

    def pipeline_static(self, pipeline: AbacusPipeline) -> bytes:
        """The pipeline record without `latestPipelineVersion` (which moves with runs)."""

        def render() -> dict[str, Any]:
            creator = self.users.get(pipeline.created_by_id)
            references = []
            for step in pipeline.steps:
                if step.writes is None or step.target_id is None:
                    continue
                object_type, key = _PIPELINE_REFERENCE_TYPES[step.writes]
                reference: dict[str, Any] = {
                    "pipelineReferenceId": _derived_id(pipeline.id, step.target_id),
                    "pipelineId": pipeline.id,
                    "objectType": object_type,
                    "datasetId": None,
                    "modelId": None,
                    "deploymentId": None,
                    "batchPredictionDescriptionId": None,
                    "modelMonitorId": None,
                    "notebookId": None,
                    "featureGroupId": None,
                }
                reference[key] = step.target_id
                references.append(reference)
            return {
                "pipelineName": pipeline.name,
                "pipelineId": pipeline.id,
                "createdAt": pipeline.created_at,
                "notebookId": pipeline.notebook_id,
                "cron": pipeline.cron,
                "nextRunTime": pipeline.next_run_time,
                "isProd": pipeline.is_prod,
                "warning": None,
                "createdBy": None if creator is None else creator.email,
                "steps": [_step(s, pipeline) for s in pipeline.steps],
                "pipelineReferences": references,
                "codeSource": _code_source(pipeline.code_source),
                "pipelineVariableMappings": [_argument(a) for a in pipeline.variable_mappings],
            }

        return self.cached("pipeline", pipeline.id, render)

    def pipeline_json(self, pipeline: AbacusPipeline, now: float) -> bytes:
        versions = self.pipeline_versions[pipeline.id]
        latest = self.version_json(versions[-1], now) if versions else b"null"
        return self.pipeline_static(pipeline)[:-1] + b',"latestPipelineVersion":' + latest + b"}"

    async def list_pipelines(self, request: Request, params: dict[str, Any]) -> bytes:
        project_id = _string(params, "projectId")
        if project_id is not None and project_id not in self.projects:
            raise _not_found("Project", project_id)
        pipelines = [p for p in self.pipelines.values() if project_id is None or p.project_id == project_id]
        now = self.elapsed()
        return _array(self.pipeline_json(p, now) for p in _newest_first(pipelines))

    async def describe_pipeline(self, request: Request, params: dict[str, Any]) -> bytes:
        pipeline = self.lookup(self.pipelines, params, "pipelineId", "Pipeline")
        return self.pipeline_json(pipeline, self.elapsed())

    async def list_pipeline_versions(self, request: Request, params: dict[str, Any]) -> bytes:
        pipeline = self.lookup(self.pipelines, params, "pipelineId", "Pipeline")
        limit = _limit(params, 200)
        now = self.elapsed()
        chosen = list(reversed(self.pipeline_versions[pipeline.id]))[:limit]
        return _array(self.version_json(v, now) for v in chosen)

    async def describe_pipeline_version(self, request: Request, params: dict[str, Any]) -> bytes:
        key = _required(params, "pipelineVersion")
        if key not in self.versions and key not in self.runs:
            raise _not_found("Pipeline version", key)
        return self.version_json(key, self.elapsed())

    async def describe_pipeline_step(self, request: Request, params: dict[str, Any]) -> bytes:
        step = self.lookup(self.steps, params, "pipelineStepId", "Pipeline step")
        return self.cached("step", step.id, lambda: _step(step, self.pipelines[step.pipeline_id]))

    async def describe_pipeline_step_version(self, request: Request, params: dict[str, Any]) -> bytes:
        key = _required(params, "pipelineStepVersion")
        if key in self.run_steps:
            run, index = self.run_steps[key]
            return self.run_step_json(run, index, self.elapsed())
        step = self.step_versions.get(key)
        if step is None:
            raise _not_found("Pipeline step version", key)
        return self.step_version_json(step)

    async def list_pipeline_version_logs(self, request: Request, params: dict[str, Any]) -> bytes:
        key = _required(params, "pipelineVersion")
        if key in self.runs:
            run = self.runs[key]
            now = self.elapsed()
            steps = [self.run_step(run, i, now) for i in range(len(run.step_version_ids))]
        elif key in self.versions:
            steps = [self.step_versions[s] for s in self.versions[key].step_version_ids]
        else:
            raise _not_found("Pipeline version", key)
        return orjson.dumps({
            "stepLogs": [
                {
                    "stepName": s.name,
                    "pipelineStepId": s.step_id,
                    "pipelineStepVersion": s.id,
                    "logs": s.logs,
                }
                for s in steps
            ]
        })

    def step_version_json(self, step: AbacusPipelineStepVersion) -> bytes:
        return self.cached("stepVersion", step.id, lambda: _step_version(step))

    def version_json(self, key: str, now: float) -> bytes:
        run = self.runs.get(key)
        if run is not None:
            return self.run_json(run, now)
        found = self.cache.get(("version", key))
        if found is None:
            version = self.versions[key]
            steps = [self.step_version_json(self.step_versions[s]) for s in version.step_version_ids]
            found = _version(version, self.pipelines[version.pipeline_id], steps)
            self.cache[("version", key)] = found
        return found

    # -- running a pipeline

    async def run_pipeline(self, request: Request, params: dict[str, Any]) -> bytes:
        pipeline = self.lookup(self.pipelines, params, "pipelineId", "Pipeline")
        variables, fail_at, fail_error = self.variables(pipeline, params.get("pipelineVariableMappings"))
        now = self.elapsed()
        version_id = self.new_id()
        created = self.stamp(now)
        templates: list[list[AbacusReference]] = []
        for step in pipeline.steps:
            found: list[AbacusReference] = []
            for version_key in reversed(self.pipeline_versions[pipeline.id]):
                version = self.versions.get(version_key)
                if version is None:
                    continue
                done = [
                    self.step_versions[s] for s in version.step_version_ids
                    if self.step_versions[s].step_id == step.id and self.step_versions[s].status == "COMPLETE"
                ]
                if done:
                    found = done[0].references
                    break
            templates.append(found)
        run = _Run(
            version=AbacusPipelineVersion(
                id=version_id, pipeline_id=pipeline.id, created_at=created, updated_at=created, completed_at=None,
                status="PENDING", error=None, step_version_ids=[], variable_mappings=variables,
                code_source=pipeline.code_source,
            ),
            pipeline=pipeline,
            start=now,
            step_version_ids=[self.new_id() for _ in pipeline.steps],
            templates=templates,
            reference_ids=[[self.new_id() for _ in refs] for refs in templates],
            fail_at=fail_at,
            fail_error=fail_error,
        )
        run.version.step_version_ids = list(run.step_version_ids)
        self.runs[version_id] = run
        for index, key in enumerate(run.step_version_ids):
            self.run_steps[key] = (run, index)
        self.pipeline_versions[pipeline.id].append(version_id)
        return self.run_json(run, now)

    def variables(
        self, pipeline: AbacusPipeline, raw: Any
    ) -> tuple[list[AbacusArgument], int | None, str | None]:
        """The pipeline's variables with `raw` applied, and where a `"fail"` value makes the run fail."""
        variables = [
            AbacusArgument(a.name, a.variable_type, a.value, a.pipeline_variable, a.is_required)
            for a in pipeline.variable_mappings
        ]
        if isinstance(raw, str):
            try:
                raw = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise _invalid("Invalid value for parameter 'pipelineVariableMappings': not JSON") from None
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise _invalid("Invalid value for parameter 'pipelineVariableMappings': expected a list")
        by_name = {a.name: a for a in variables}
        fail_at: int | None = None
        fail_error: str | None = None
        names = [s.name for s in pipeline.steps]
        for item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise _invalid("Invalid value for parameter 'pipelineVariableMappings': each item needs a 'name'")
            target = by_name.get(item["name"])
            if target is None:
                raise _invalid(f"Pipeline variable '{item['name']}' is not defined for pipeline {pipeline.id}")
            if "value" in item:
                target.value = item["value"]
            kind = item.get("variableType", item.get("variable_type"))
            if isinstance(kind, str):
                target.variable_type = kind
            source = item.get("pipelineVariable", item.get("pipeline_variable"))
            if isinstance(source, str):
                target.pipeline_variable = source
            value = target.value
            if isinstance(value, str) and (value.lower() == "fail" or value.lower().startswith("fail:")):
                step_name = value[5:] if value.lower().startswith("fail:") else names[-1]
                if step_name not in names:
                    raise _invalid(f"Pipeline {pipeline.id} has no step named '{step_name}'")
                fail_at = names.index(step_name)
                fail_error = (
                    f"Step {step_name} failed: RuntimeError: failure requested by pipeline variable "
                    f"'{target.name}'"
                )
        return variables, fail_at, fail_error

    def step_window(self, run: _Run, index: int) -> tuple[float, float]:
        """When step `index` of `run` runs, in seconds after the run started."""
        share = self.running / max(1, len(run.step_version_ids))
        return self.pending + index * share, self.pending + (index + 1) * share

    def run_step(self, run: _Run, index: int, now: float) -> AbacusPipelineStepVersion:
        """Step version `index` of `run` as it is `now` (emulator clock)."""
        step = run.pipeline.steps[index]
        elapsed = now - run.start
        begin, end = self.step_window(run, index)
        fail_end = None if run.fail_at is None else self.step_window(run, run.fail_at)[1]
        started = finished = None
        error = None
        references: list[AbacusReference] = []
        if run.fail_at is not None and index > run.fail_at and elapsed >= (fail_end or 0):
            status = "SKIPPED"
        elif elapsed < begin:
            status = "PENDING"
        elif elapsed < end:
            status, started = "RUNNING", begin
        else:
            started, finished = begin, end
            if index == run.fail_at:
                status, error = "FAILED", run.fail_error
            else:
                status = "COMPLETE"
                references = [
                    AbacusReference(
                        id=ref_id, step_version_id=run.step_version_ids[index], object_type=template.object_type,
                        status=template.status, error=template.error, dataset_version=template.dataset_version,
                        model_version=template.model_version, deployment_version=template.deployment_version,
                        batch_prediction_id=template.batch_prediction_id,
                        feature_group_version=template.feature_group_version,
                    )
                    for ref_id, template in zip(run.reference_ids[index], run.templates[index])
                ]
        created = run.version.created_at
        started_at = None if started is None else self.stamp(run.start + started)
        finished_at = None if finished is None else self.stamp(run.start + finished)
        if status == "SKIPPED" and fail_end is not None:
            updated = self.stamp(run.start + fail_end)
        else:
            updated = finished_at or started_at or created
        return AbacusPipelineStepVersion(
            id=run.step_version_ids[index], step_id=step.id, pipeline_id=run.pipeline.id,
            pipeline_version=run.version.id, name=step.name, created_at=created, updated_at=updated,
            status=status, error=error, output_errors=None, python_function_id=step.python_function_id,
            step_dependencies=list(step.step_dependencies), cpu_size=step.cpu_size, memory=step.memory,
            timeout=step.timeout, code_source=step.code_source, input_mappings=step.input_mappings,
            output_mappings=step.output_mappings, references=references, started_at=started_at,
            completed_at=finished_at,
            logs=step_logs(step.name, status, started_at, finished_at, error, references),
        )

    def run_finished_at(self, run: _Run) -> float:
        """Seconds after its start when `run` ends."""
        if run.fail_at is not None:
            return self.step_window(run, run.fail_at)[1]
        return self.pending + self.running

    def run_step_json(self, run: _Run, index: int, now: float) -> bytes:
        found = run.step_cache.get(index)
        if found is not None:
            return found
        rendered = orjson.dumps(_step_version(self.run_step(run, index, now)))
        if now - run.start >= self.run_finished_at(run):
            run.step_cache[index] = rendered
        return rendered

    def run_json(self, run: _Run, now: float) -> bytes:
        if run.cached is not None:
            return run.cached
        elapsed = now - run.start
        version = run.version
        finish = self.run_finished_at(run)
        done = elapsed >= finish
        if done:
            version.status = "FAILED" if run.fail_at is not None else "COMPLETE"
            version.error = run.fail_error
            version.completed_at = version.updated_at = self.stamp(run.start + finish)
        elif elapsed >= self.pending:
            version.status = "RUNNING"
            version.updated_at = self.stamp(run.start + self.pending)
        steps = [self.run_step_json(run, i, now) for i in range(len(run.step_version_ids))]
        rendered = _version(version, run.pipeline, steps)
        if done:
            run.cached = rendered
        return rendered

    # -- datasets, models and the rest

    def with_latest(
        self, kind: str, parent: Any, versions: dict[str, Any], render_version: Callable[[Any], dict[str, Any]],
        render: Callable[[Any, dict[str, Any] | None], dict[str, Any]],
    ) -> bytes:
        """`parent` (a dataset, model or feature group) with its newest version embedded, as the SDK reads it."""

        def record() -> dict[str, Any]:
            latest = versions[parent.version_ids[-1]] if parent.version_ids else None
            return render(parent, None if latest is None else render_version(latest))

        return self.cached(kind, parent.id, record)

    def versions_page(
        self, params: dict[str, Any], parent: Any, versions: dict[str, Any], render: Callable[[Any], bytes]
    ) -> bytes:
        """`parent`'s versions newest first, paged by `startAfterVersion`."""
        return self.page(params, [versions[key] for key in reversed(parent.version_ids)], "startAfterVersion", render)

    def in_project(self, params: dict[str, Any], items: Iterable[Any]) -> list[Any]:
        """The items of the project `projectId` names (required), newest first."""
        project = self.lookup(self.projects, params, "projectId", "Project")
        return _newest_first(item for item in items if item.project_id == project.id)

    def dataset_json(self, dataset: AbacusDataset) -> bytes:
        return self.with_latest("dataset", dataset, self.dataset_versions, _dataset_version, _dataset)

    def dataset_version_json(self, version: AbacusDatasetVersion) -> bytes:
        return self.cached("datasetVersion", version.id, lambda: _dataset_version(version))

    async def list_datasets(self, request: Request, params: dict[str, Any]) -> bytes:
        # `excludeStreaming` changes nothing: no dataset here streams.
        return self.page(params, _newest_first(self.datasets.values()), "startAfterId", self.dataset_json)

    async def describe_dataset(self, request: Request, params: dict[str, Any]) -> bytes:
        return self.dataset_json(self.lookup(self.datasets, params, "datasetId", "Dataset"))

    async def describe_dataset_version(self, request: Request, params: dict[str, Any]) -> bytes:
        version = self.lookup(self.dataset_versions, params, "datasetVersion", "Dataset version")
        return self.dataset_version_json(version)

    async def list_dataset_versions(self, request: Request, params: dict[str, Any]) -> bytes:
        dataset = self.lookup(self.datasets, params, "datasetId", "Dataset")
        return self.versions_page(params, dataset, self.dataset_versions, self.dataset_version_json)

    def model_json(self, model: AbacusModel) -> bytes:
        return self.with_latest("model", model, self.model_versions, _model_version, _model)

    def model_version_json(self, version: AbacusModelVersion) -> bytes:
        return self.cached("modelVersion", version.id, lambda: _model_version(version))

    async def list_models(self, request: Request, params: dict[str, Any]) -> bytes:
        return _array(self.model_json(m) for m in self.in_project(params, self.models.values()))

    async def describe_model(self, request: Request, params: dict[str, Any]) -> bytes:
        return self.model_json(self.lookup(self.models, params, "modelId", "Model"))

    async def describe_model_version(self, request: Request, params: dict[str, Any]) -> bytes:
        return self.model_version_json(self.lookup(self.model_versions, params, "modelVersion", "Model version"))

    async def list_model_versions(self, request: Request, params: dict[str, Any]) -> bytes:
        model = self.lookup(self.models, params, "modelId", "Model")
        return self.versions_page(params, model, self.model_versions, self.model_version_json)

    def deployment_json(self, deployment: AbacusDeployment) -> bytes:
        return self.cached("deployment", deployment.id, lambda: _deployment(deployment))

    async def list_deployments(self, request: Request, params: dict[str, Any]) -> bytes:
        return _array(self.deployment_json(d) for d in self.in_project(params, self.deployments.values()))

    async def describe_deployment(self, request: Request, params: dict[str, Any]) -> bytes:
        return self.deployment_json(self.lookup(self.deployments, params, "deploymentId", "Deployment"))

    def feature_group_json(self, group: AbacusFeatureGroup) -> bytes:
        return self.with_latest("featureGroup", group, self.fg_versions, _feature_group_version, _feature_group)

    def feature_group_version_json(self, version: AbacusFeatureGroupVersion) -> bytes:
        return self.cached("featureGroupVersion", version.id, lambda: _feature_group_version(version))

    async def list_feature_groups(self, request: Request, params: dict[str, Any]) -> bytes:
        template = _string(params, "featureGroupTemplateId")
        if template is not None:  # no feature group template here
            raise _not_found("Feature group template", template)
        return self.page(params, _newest_first(self.feature_groups.values()), "startAfterId", self.feature_group_json)

    async def describe_feature_group(self, request: Request, params: dict[str, Any]) -> bytes:
        return self.feature_group_json(self.lookup(self.feature_groups, params, "featureGroupId", "Feature group"))

    async def list_feature_group_versions(self, request: Request, params: dict[str, Any]) -> bytes:
        group = self.lookup(self.feature_groups, params, "featureGroupId", "Feature group")
        return self.versions_page(params, group, self.fg_versions, self.feature_group_version_json)

    async def describe_feature_group_version(self, request: Request, params: dict[str, Any]) -> bytes:
        version = self.lookup(self.fg_versions, params, "featureGroupVersion", "Feature group version")
        return self.feature_group_version_json(version)

    def batch_prediction_json(self, prediction: AbacusBatchPrediction) -> bytes:
        return self.cached("batchPrediction", prediction.id, lambda: _batch_prediction(prediction))

    async def list_batch_predictions(self, request: Request, params: dict[str, Any]) -> bytes:
        mine = self.in_project(params, self.batch_predictions.values())
        return _array(self.batch_prediction_json(b) for b in mine[: _limit(params, LIMIT_MAX)])

    async def describe_batch_prediction(self, request: Request, params: dict[str, Any]) -> bytes:
        prediction = self.lookup(self.batch_predictions, params, "batchPredictionId", "Batch prediction")
        return self.batch_prediction_json(prediction)


_READ = frozenset({"GET", "POST"})
_WRITE = frozenset({"POST"})
