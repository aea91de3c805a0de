"""The Abacus.AI emulator and its seeded data set, tested over HTTP as a client sees them."""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

import mlgraph.sandbox.abacus as abacus_module
from mlgraph.sandbox.abacus import LIMIT_MAX, SERVER_VERSION, create_abacus_emulator
from mlgraph.sandbox.abacus_data import (
    CPU_SIZES,
    MEMORY_SIZES,
    REFERENCE_TYPES,
    AbacusData,
    AbacusPipeline,
    parse_iso,
)
from mlgraph.sandbox.faults import Faults

KEY = "abacus-test-key"
AUTH = {"apiKey": KEY}
API = "/api/v0"
ABACUS_ID = re.compile(r"[0-9a-f]{10}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")

# Field names of the SDK classes (abacusai 1.4.119), camelCase as on the wire.
PIPELINE_KEYS = {
    "pipelineName", "pipelineId", "createdAt", "notebookId", "cron", "nextRunTime", "isProd", "warning", "createdBy",
    "steps", "pipelineReferences", "latestPipelineVersion", "codeSource", "pipelineVariableMappings",
}
VERSION_KEYS = {
    "pipelineName", "pipelineId", "pipelineVersion", "createdAt", "updatedAt", "completedAt", "status", "error",
    "stepVersions", "codeSource", "pipelineVariableMappings",
}
STEP_VERSION_KEYS = {
    "stepName", "pipelineStepVersion", "pipelineStepId", "pipelineId", "pipelineVersion", "createdAt", "updatedAt",
    "status", "error", "outputErrors", "pythonFunctionId", "functionVariableMappings", "stepDependencies",
    "outputVariableMappings", "cpuSize", "memory", "timeout", "pipelineStepVersionReferences", "codeSource",
}
REFERENCE_KEYS = {
    "pipelineStepVersionReferenceId", "pipelineStepVersion", "objectType", "datasetVersion", "modelVersion",
    "deploymentVersion", "batchPredictionId", "modelMonitorVersion", "notebookVersion", "featureGroupVersion",
    "status", "error",
}
CODE_SOURCE_KEYS = {
    "sourceType", "sourceCode", "applicationConnectorId", "applicationConnectorInfo", "packageRequirements",
    "status", "error", "publishingMsg", "moduleDependencies",
}
ARGUMENT_KEYS = {"name", "variableType", "value", "pipelineVariable", "isRequired"}
STEP_KEYS = {
    "pipelineStepId", "pipelineId", "stepName", "pipelineName", "createdAt", "updatedAt", "pythonFunctionId",
    "stepDependencies", "cpuSize", "memory", "timeout", "pythonFunction", "codeSource",
}
USER_KEYS = {"userId", "name", "email", "createdAt", "status", "organizationGroups"}
PROJECT_KEYS = {"projectId", "name", "useCase", "problemType", "createdAt", "tags"}
DATASET_VERSION_KEYS = {
    "datasetVersion", "status", "datasetId", "size", "rowCount", "fileInspectMetadata", "createdAt", "error",
    "incrementalQueriedAt", "uploadId", "mergeFileSchemas", "databaseConnectorConfig", "applicationConnectorConfig",
    "invalidRecords",
}
MODEL_VERSION_REQUIRED = {
    "modelVersion", "modelConfigType", "status", "modelId", "trainingStartedAt", "trainingCompletedAt",
    "featureGroupVersions", "error", "pendingDeploymentIds", "failedDeploymentIds", "cpuSize", "memory",
    "bestAlgorithm", "useGpu", "codeSource",
}
DATASET_REQUIRED = {"datasetId", "sourceType", "dataSource", "createdAt", "latestDatasetVersion", "schema"}
MODEL_REQUIRED = {"name", "modelId", "createdAt", "projectId", "cpuSize", "memory", "useGpu", "latestModelVersion"}
DEPLOYMENT_REQUIRED = {
    "deploymentId", "name", "status", "description", "deployedAt", "createdAt", "projectId", "modelId",
    "modelVersion", "featureGroupId", "featureGroupVersion",
}
FG_VERSION_REQUIRED = {
    "featureGroupVersion", "featureGroupId", "sql", "sourceTables", "sourceDatasetVersions", "createdAt", "status",
    "error", "cpuSize", "memory", "materializationStartedAt", "materializationCompletedAt", "features",
}
BATCH_PREDICTION_REQUIRED = {
    "batchPredictionId", "createdAt", "name", "deploymentId", "modelVersion", "outputFeatureGroupId",
    "latestBatchPredictionVersion",
}


@pytest.fixture(scope="module")
def data() -> AbacusData:
    return AbacusData.generate()


class Clock:
    """An injectable emulator clock: seconds, moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(data: AbacusData, clock: Clock) -> TestClient:
    return TestClient(create_abacus_emulator(data, api_key=KEY, clock=clock), headers=AUTH)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and set(body) == {"success", "result"}
    return body["result"]


def fails(response: httpx.Response, status: int, error_type: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"success", "error", "errorType", "requestId"}
    assert body["success"] is False
    assert body["errorType"] == error_type
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["requestId"], str) and body["requestId"]
    return body["error"]


def get(client: TestClient, method: str, **params: Any) -> httpx.Response:
    return client.get(f"{API}/{method}", params=params)


def post(client: TestClient, method: str, **body: Any) -> httpx.Response:
    return client.post(f"{API}/{method}", json=body)


def pipeline_versions(data: AbacusData, pipeline: AbacusPipeline) -> list[Any]:
    return [v for v in data.pipeline_versions if v.pipeline_id == pipeline.id]


# ---------------------------------------------------------------- the data set


def test_generate_is_deterministic(data: AbacusData) -> None:
    assert AbacusData.generate() == data
    assert AbacusData.generate(seed=8) != data


def test_required_counts(data: AbacusData) -> None:
    assert len(data.projects) >= 2
    assert len(data.users) >= 3
    assert len(data.pipelines) == 4
    assert len(data.pipeline_versions) == 20
    assert all(2 <= len(p.steps) <= 5 for p in data.pipelines)
    assert len(data.step_versions) == sum(len(p.steps) * 5 for p in data.pipelines)
    for kind in ("datasets", "dataset_versions", "models", "model_versions", "deployments", "feature_groups",
                 "feature_group_versions", "batch_predictions"):
        assert getattr(data, kind), kind
    assert {p.project_id for p in data.pipelines} == {p.id for p in data.projects}


def test_ids_are_short_hex_and_unique(data: AbacusData) -> None:
    ids = (
        [p.id for p in data.projects] + [u.id for u in data.users] + [p.id for p in data.pipelines]
        + [s.id for s in data.steps] + [v.id for v in data.pipeline_versions] + [s.id for s in data.step_versions]
        + [r.id for s in data.step_versions for r in s.references] + [d.id for d in data.datasets]
        + [v.id for v in data.dataset_versions] + [m.id for m in data.models] + [v.id for v in data.model_versions]
        + [d.id for d in data.deployments] + [g.id for g in data.feature_groups]
        + [v.id for v in data.feature_group_versions]
        + [b.id for b in data.batch_predictions]
    )
    assert all(ABACUS_ID.fullmatch(i) for i in ids)
    assert len(ids) == len(set(ids))


def test_timestamps_are_before_now(data: AbacusData) -> None:
    now = parse_iso(data.now)
    stamps = [v.created_at for v in data.pipeline_versions] + [
        s.updated_at for s in data.step_versions
    ] + [v.completed_at for v in data.pipeline_versions if v.completed_at]
    assert all(TIMESTAMP.fullmatch(s) and parse_iso(s) < now for s in stamps)


def test_steps_form_a_dag_with_resources(data: AbacusData) -> None:
    for pipeline in data.pipelines:
        seen: set[str] = set()
        for step in pipeline.steps:
            assert set(step.step_dependencies) <= seen  # dependencies come earlier: a topological order
            seen.add(step.name)
            assert step.cpu_size in CPU_SIZES and step.memory in MEMORY_SIZES and step.timeout > 0
            assert step.code_source.source_type == "TEXT" and step.code_source.source_code.startswith("def ")
        assert all(s.step_dependencies for s in pipeline.steps[1:])
    assert any(len(s.step_dependencies) > 1 for s in data.steps)


def test_version_statuses(data: AbacusData) -> None:
    statuses = Counter(v.status for v in data.pipeline_versions)
    assert statuses["FAILED"] >= 1 and statuses["RUNNING"] >= 1 and statuses["COMPLETE"] >= 10
    steps = {s.id: s for s in data.step_versions}
    for pipeline in data.pipelines:
        mine = pipeline_versions(data, pipeline)
        assert all(v.status != "RUNNING" for v in mine[:-1])
    for version in data.pipeline_versions:
        states = [steps[s].status for s in version.step_version_ids]
        if version.status == "COMPLETE":
            assert set(states) == {"COMPLETE"} and version.error is None and version.completed_at
        elif version.status == "FAILED":
            failed = states.index("FAILED")
            assert states == ["COMPLETE"] * failed + ["FAILED"] + ["SKIPPED"] * (len(states) - failed - 1)
            assert version.error == steps[version.step_version_ids[failed]].error
            assert all(not steps[s].references and not steps[s].logs for s in version.step_version_ids[failed + 1 :])
        else:
            running = states.index("RUNNING")
            assert states == ["COMPLETE"] * running + ["RUNNING"] + ["PENDING"] * (len(states) - running - 1)
            assert version.completed_at is None


def test_references_point_at_objects(data: AbacusData) -> None:
    datasets = {v.id: v for v in data.dataset_versions}
    models = {v.id: v for v in data.model_versions}
    deployments = {d.id for d in data.deployments}
    groups = {v.id: v for v in data.feature_group_versions}
    predictions = {b.id for b in data.batch_predictions}
    kinds = Counter()
    for step in data.step_versions:
        for reference in step.references:
            kinds[reference.object_type] += 1
            assert reference.step_version_id == step.id
            assert (reference.error is None) == (reference.status != "FAILED")
            if reference.object_type == "DATASET_VERSION":
                assert datasets[reference.dataset_version].status == reference.status
            elif reference.object_type == "MODEL_VERSION":
                assert models[reference.model_version].status == reference.status
            elif reference.object_type == "FEATURE_GROUP_VERSION":
                assert groups[reference.feature_group_version].status == reference.status
            elif reference.object_type == "DEPLOYMENT_VERSION":
                assert reference.deployment_version in deployments
            else:
                assert reference.batch_prediction_id in predictions
    assert set(kinds) == set(REFERENCE_TYPES)
    assert any(r.status == "FAILED" for s in data.step_versions for r in s.references)
    owners = {key: g for g in data.feature_groups for key in g.version_ids}
    assert set(owners) == set(groups)
    assert all(owners[v.id].id == v.feature_group_id and owners[v.id].sql == v.sql for v in groups.values())


def test_logs_for_steps_that_ran(data: AbacusData) -> None:
    for step in data.step_versions:
        if step.status in ("PENDING", "SKIPPED"):
            assert step.logs == ""
        else:
            assert f"Starting step {step.name}" in step.logs
        if step.status == "FAILED":
            assert step.error in step.logs


def test_users_include_cross_platform_colleagues(data: AbacusData) -> None:
    emails = {u.email.lower() for u in data.users}
    assert "ada.lovelace@acme.example" in emails  # Domino's sandbox
    assert "grace@example.com" in emails  # ZenML's sandbox
    assert any(u.email != u.email.lower() for u in data.users)  # only a case-insensitive match finds them
    assert data.self_user_id == data.users[0].id


def test_scale_knobs() -> None:
    started = time.perf_counter()
    big = AbacusData.generate(pipelines=1, versions_per_pipeline=2, steps_per_pipeline=200)
    assert time.perf_counter() - started < 2
    assert [len(p.steps) for p in big.pipelines] == [200]
    assert len(big.step_versions) == 400
    assert len(AbacusData.generate(projects=3, pipelines=7, versions_per_pipeline=2).pipeline_versions) == 14
    with pytest.raises(ValueError):
        AbacusData.generate(pipelines=0)
    with pytest.raises(ValueError):
        AbacusData.generate(steps_per_pipeline=0)


# ---------------------------------------------------------------- start-up, auth, envelope


def test_get_api_endpoint_and_version(client: TestClient) -> None:
    endpoints = ok(get(client, "getApiEndpoint"))
    assert endpoints["apiEndpoint"] == endpoints["predictEndpoint"] == endpoints["proxyEndpoint"] == "http://testserver"
    assert ok(get(client, "version")) == SERVER_VERSION
    assert ok(TestClient(client.app).get(f"{API}/version")) == SERVER_VERSION  # no key needed


def test_auth(client: TestClient) -> None:
    bare = TestClient(client.app)
    assert "Missing" in fails(bare.get(f"{API}/describeUser"), 401, "PermissionDeniedError")
    assert "Invalid" in fails(bare.get(f"{API}/describeUser", headers={"apiKey": "nope"}), 401, "PermissionDeniedError")
    fails(bare.get(f"{API}/getApiEndpoint"), 401, "PermissionDeniedError")
    assert ok(bare.get(f"{API}/describeUser", headers={"APIKEY": KEY}))  # header names ignore case


def test_no_auth_without_api_key(data: AbacusData) -> None:
    assert ok(TestClient(create_abacus_emulator(data)).get(f"{API}/describeUser"))


def test_unknown_method_and_route(client: TestClient) -> None:
    assert "nope" in fails(get(client, "nope"), 404, "Generic404Error")
    fails(client.get("/api/v1/describeUser"), 404, "Generic404Error")


def test_wrong_http_verb(client: TestClient, data: AbacusData) -> None:
    fails(client.delete(f"{API}/describeUser"), 405, "MethodNotAllowed")
    fails(get(client, "runPipeline", pipelineId=data.pipelines[0].id), 405, "MethodNotAllowed")


def test_bad_bodies(client: TestClient) -> None:
    fails(client.post(f"{API}/describePipeline", content=b"{nope"), 400, "InvalidParameterError")
    fails(client.post(f"{API}/describePipeline", json=["x"]), 400, "InvalidParameterError")
    fails(post(client, "describePipeline", pipelineId=12), 400, "InvalidParameterError")


def test_crash_is_an_internal_server_error(
    client: TestClient, data: AbacusData, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(project: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(abacus_module, "_project", boom)
    crashing = TestClient(client.app, headers=AUTH, raise_server_exceptions=False)
    message = fails(crashing.get(f"{API}/describeProject", params={"projectId": data.projects[0].id}), 500,
                    "InternalServerError")
    assert "boom" not in message


@pytest.mark.parametrize(
    ("method", "param"),
    [
        ("describePipeline", "pipelineId"), ("listPipelineVersions", "pipelineId"),
        ("describePipelineVersion", "pipelineVersion"), ("describePipelineStep", "pipelineStepId"),
        ("describePipelineStepVersion", "pipelineStepVersion"), ("listPipelineVersionLogs", "pipelineVersion"),
        ("describeDataset", "datasetId"), ("describeDatasetVersion", "datasetVersion"),
        ("listDatasetVersions", "datasetId"), ("describeModel", "modelId"), ("describeModelVersion", "modelVersion"),
        ("listModelVersions", "modelId"), ("describeDeployment", "deploymentId"),
        ("describeFeatureGroupVersion", "featureGroupVersion"), ("describeBatchPrediction", "batchPredictionId"),
        ("describeProject", "projectId"), ("runPipeline", "pipelineId"), ("listPipelines", "projectId"),
        ("listModels", "projectId"), ("listDeployments", "projectId"), ("listBatchPredictions", "projectId"),
        ("describeFeatureGroup", "featureGroupId"), ("listFeatureGroupVersions", "featureGroupId"),
        ("listFeatureGroups", "featureGroupTemplateId"),
    ],
)
def test_unknown_ids_and_missing_parameters(client: TestClient, method: str, param: str) -> None:
    message = fails(post(client, method, **{param: "0000000000"}), 404, "DataNotFoundError")
    assert "0000000000" in message
    if method not in ("listPipelines", "listFeatureGroups"):  # optional there
        assert param in fails(post(client, method), 400, "MissingParameterError")
    if method != "runPipeline":
        fails(get(client, method, **{param: "0000000000"}), 404, "DataNotFoundError")


# ---------------------------------------------------------------- users and projects


def test_describe_user(client: TestClient, data: AbacusData) -> None:
    user = ok(get(client, "describeUser"))
    me = data.users[0]
    assert set(user) == USER_KEYS
    assert (user["userId"], user["name"], user["email"], user["status"]) == (me.id, me.name, me.email, "ACTIVE")
    assert {g["groupName"] for g in user["organizationGroups"]} == {g.name for g in me.organization_groups}
    assert set(user["organizationGroups"][0]) == {
        "organizationGroupId", "permissions", "groupName", "defaultGroup", "admin", "createdAt",
    }
    everyone = ok(get(client, "listOrganizationUsers"))
    assert [u["userId"] for u in everyone] == [u.id for u in data.users]


def test_projects(client: TestClient, data: AbacusData) -> None:
    project = ok(get(client, "describeProject", projectId=data.projects[0].id))
    assert set(project) == PROJECT_KEYS
    assert (project["name"], project["useCase"], project["problemType"], project["tags"]) == (
        data.projects[0].name, data.projects[0].use_case, data.projects[0].problem_type, data.projects[0].tags,
    )
    newest_first = [p.id for p in sorted(data.projects, key=lambda p: p.created_at, reverse=True)]
    assert [p["projectId"] for p in ok(get(client, "listProjects"))] == newest_first
    assert [p["projectId"] for p in ok(get(client, "listProjects", limit=1))] == newest_first[:1]
    after = ok(get(client, "listProjects", startAfterId=newest_first[0]))
    assert [p["projectId"] for p in after] == newest_first[1:]
    assert ok(get(client, "listProjects", startAfterId=newest_first[-1])) == []


@pytest.mark.parametrize("limit", ["0", "-1", str(LIMIT_MAX + 1), "ten", "1.5"])
def test_bad_limits(client: TestClient, data: AbacusData, limit: str) -> None:
    assert "limit" in fails(get(client, "listProjects", limit=limit), 400, "InvalidParameterError")
    fails(get(client, "listModelVersions", modelId=data.models[0].id, limit=limit), 400, "InvalidParameterError")


def test_limits_in_json_bodies(client: TestClient, data: AbacusData) -> None:
    pipeline = data.pipelines[0]
    assert len(ok(post(client, "listPipelineVersions", pipelineId=pipeline.id, limit=2))) == 2
    fails(post(client, "listPipelineVersions", pipelineId=pipeline.id, limit=True), 400, "InvalidParameterError")
    fails(post(client, "listPipelineVersions", pipelineId=pipeline.id, limit=0), 400, "InvalidParameterError")
    assert len(ok(post(client, "listPipelineVersions", pipelineId=pipeline.id, limit=None))) == 5  # null = absent


def test_unknown_paging_ids(client: TestClient, data: AbacusData) -> None:
    fails(get(client, "listProjects", startAfterId="0000000000"), 400, "InvalidParameterError")
    other = data.datasets[1].version_ids[0]
    fails(get(client, "listDatasetVersions", datasetId=data.datasets[0].id, startAfterVersion=other), 400,
          "InvalidParameterError")


# ---------------------------------------------------------------- pipelines


def test_describe_pipeline_over_both_transports(client: TestClient, data: AbacusData) -> None:
    pipeline = data.pipelines[0]
    by_post = ok(post(client, "describePipeline", pipelineId=pipeline.id))
    by_get = ok(get(client, "describePipeline", pipelineId=pipeline.id))
    assert by_post == by_get
    assert set(by_post) == PIPELINE_KEYS
    assert by_post["pipelineName"] == pipeline.name
    assert by_post["createdBy"] == data.users[0].email
    assert [s["stepName"] for s in by_post["steps"]] == [s.name for s in pipeline.steps]
    assert set(by_post["steps"][0]) == STEP_KEYS
    assert set(by_post["codeSource"]) == CODE_SOURCE_KEYS
    assert all(set(a) == ARGUMENT_KEYS for a in by_post["pipelineVariableMappings"])
    assert by_post["latestPipelineVersion"]["pipelineVersion"] == pipeline_versions(data, pipeline)[-1].id
    references = by_post["pipelineReferences"]
    assert {r["objectType"] for r in references} == {"DATASET", "FEATURE_GROUP", "MODEL", "DEPLOYMENT",
                                                     "BATCH_PREDICTION"}
    dataset = next(r for r in references if r["objectType"] == "DATASET")
    assert ok(get(client, "describeDataset", datasetId=dataset["datasetId"]))


def test_list_pipelines(client: TestClient, data: AbacusData) -> None:
    newest_first = sorted(data.pipelines, key=lambda p: p.created_at, reverse=True)
    every = ok(get(client, "listPipelines"))
    assert [p["pipelineId"] for p in every] == [p.id for p in newest_first]
    project = data.projects[1]
    mine = ok(get(client, "listPipelines", projectId=project.id))
    assert [p["pipelineId"] for p in mine] == [p.id for p in newest_first if p.project_id == project.id]
    assert all(set(p) == PIPELINE_KEYS for p in every)


def test_list_pipeline_versions(client: TestClient, data: AbacusData) -> None:
    pipeline = data.pipelines[1]
    ids = [v.id for v in reversed(pipeline_versions(data, pipeline))]
    assert [v["pipelineVersion"] for v in ok(post(client, "listPipelineVersions", pipelineId=pipeline.id))] == ids
    limited = ok(get(client, "listPipelineVersions", pipelineId=pipeline.id, limit=2))
    assert [v["pipelineVersion"] for v in limited] == ids[:2]
    assert limited[0]["status"] == "RUNNING"  # the newest of an odd-indexed pipeline


def test_describe_pipeline_version(client: TestClient, data: AbacusData) -> None:
    version = next(v for v in data.pipeline_versions if v.status == "FAILED")
    steps = {s.id: s for s in data.step_versions}
    got = ok(get(client, "describePipelineVersion", pipelineVersion=version.id))
    assert set(got) == VERSION_KEYS
    assert (got["status"], got["error"], got["completedAt"]) == (version.status, version.error, version.completed_at)
    assert [s["pipelineStepVersion"] for s in got["stepVersions"]] == version.step_version_ids
    for step in got["stepVersions"]:
        want = steps[step["pipelineStepVersion"]]
        assert set(step) == STEP_VERSION_KEYS
        assert (step["status"], step["error"], step["cpuSize"], step["memory"], step["timeout"]) == (
            want.status, want.error, want.cpu_size, want.memory, want.timeout,
        )
        assert step["stepDependencies"] == want.step_dependencies
        assert all(set(r) == REFERENCE_KEYS for r in step["pipelineStepVersionReferences"])
        assert [r["pipelineStepVersionReferenceId"] for r in step["pipelineStepVersionReferences"]] == [
            r.id for r in want.references
        ]
    assert ok(post(client, "describePipelineVersion", pipelineVersion=version.id)) == got


def test_describe_pipeline_step_and_step_version(client: TestClient, data: AbacusData) -> None:
    step = data.pipelines[0].steps[3]
    got = ok(get(client, "describePipelineStep", pipelineStepId=step.id))
    assert set(got) == STEP_KEYS
    assert (got["stepName"], got["stepDependencies"], got["cpuSize"]) == (step.name, step.step_dependencies,
                                                                          step.cpu_size)
    assert got["pythonFunction"]["functionName"] == step.function_name
    version = next(s for s in data.step_versions if s.step_id == step.id and s.references)
    got = ok(get(client, "describePipelineStepVersion", pipelineStepVersion=version.id))
    assert set(got) == STEP_VERSION_KEYS
    reference = got["pipelineStepVersionReferences"][0]
    assert reference["objectType"] == "DEPLOYMENT_VERSION"
    assert ok(get(client, "describeDeployment", deploymentId=reference["deploymentVersion"]))


def test_list_pipeline_version_logs(client: TestClient, data: AbacusData) -> None:
    version = data.pipeline_versions[0]
    steps = {s.id: s for s in data.step_versions}
    logs = ok(get(client, "listPipelineVersionLogs", pipelineVersion=version.id))
    assert logs == {
        "stepLogs": [
            {"stepName": steps[s].name, "pipelineStepId": steps[s].step_id, "pipelineStepVersion": s,
             "logs": steps[s].logs}
            for s in version.step_version_ids
        ]
    }


def test_describe_many_steps_is_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 200-step version's describe is built once and then served as built
    (what keeps the benchmarks' emulator from being what they measure)."""
    import mlgraph.sandbox.abacus as emulator

    built: list[str] = []
    build = emulator._version

    def counting(version: Any, *args: Any) -> Any:
        built.append(version.id)
        return build(version, *args)

    monkeypatch.setattr(emulator, "_version", counting)
    big = AbacusData.generate(pipelines=1, versions_per_pipeline=2, steps_per_pipeline=200)
    client = TestClient(create_abacus_emulator(big))
    version = big.pipeline_versions[-1].id
    answers = [ok(get(client, "describePipelineVersion", pipelineVersion=version)) for _ in range(6)]
    assert len(answers[0]["stepVersions"]) == 200 and all(answer == answers[0] for answer in answers)
    assert built == [version]


# ---------------------------------------------------------------- running a pipeline


def test_run_pipeline_progresses_with_the_clock(client: TestClient, data: AbacusData, clock: Clock) -> None:
    pipeline = data.pipelines[0]
    n = len(pipeline.steps)
    started = ok(post(client, "runPipeline", pipelineId=pipeline.id))
    assert set(started) == VERSION_KEYS
    assert started["status"] == "PENDING" and started["completedAt"] is None
    assert started["createdAt"] == data.now  # the emulator clock starts at data.now
    assert [s["status"] for s in started["stepVersions"]] == ["PENDING"] * n
    key = started["pipelineVersion"]
    assert ABACUS_ID.fullmatch(key)

    def describe() -> dict[str, Any]:
        return ok(get(client, "describePipelineVersion", pipelineVersion=key))

    clock.now += 0.25  # pending 0.2 s, then each step 0.5 / n s
    running = describe()
    assert running["status"] == "RUNNING"
    assert [s["status"] for s in running["stepVersions"]] == ["RUNNING"] + ["PENDING"] * (n - 1)
    clock.now += 0.5 * 2 / n
    states = [s["status"] for s in describe()["stepVersions"]]
    assert states[:2] == ["COMPLETE", "COMPLETE"] and "RUNNING" in states
    clock.now += 10
    done = describe()
    assert done["status"] == "COMPLETE" and done["error"] is None
    assert parse_iso(done["completedAt"]) >= parse_iso(done["createdAt"])
    assert [s["status"] for s in done["stepVersions"]] == ["COMPLETE"] * n
    assert all(s["pipelineStepVersionReferences"] for s in done["stepVersions"])
    step = done["stepVersions"][0]
    assert ok(get(client, "describePipelineStepVersion", pipelineStepVersion=step["pipelineStepVersion"])) == step
    logs = ok(get(client, "listPipelineVersionLogs", pipelineVersion=key))["stepLogs"]
    assert all("finished" in s["logs"] for s in logs)
    # The run is the pipeline's latest version, first in its list.
    assert ok(post(client, "describePipeline", pipelineId=pipeline.id))["latestPipelineVersion"] == done
    assert ok(post(client, "listPipelineVersions", pipelineId=pipeline.id, limit=1)) == [done]


def test_run_pipeline_failing(client: TestClient, data: AbacusData, clock: Clock) -> None:
    pipeline = data.pipelines[0]
    names = [s.name for s in pipeline.steps]
    mappings = [{"name": "mode", "variableType": "STRING", "value": "fail:train_model"}]
    started = ok(post(client, "runPipeline", pipelineId=pipeline.id, pipelineVariableMappings=mappings))
    assert next(m for m in started["pipelineVariableMappings"] if m["name"] == "mode")["value"] == "fail:train_model"
    clock.now += 10
    done = ok(get(client, "describePipelineVersion", pipelineVersion=started["pipelineVersion"]))
    index = names.index("train_model")
    assert done["status"] == "FAILED" and "train_model" in done["error"]
    assert [s["status"] for s in done["stepVersions"]] == (
        ["COMPLETE"] * index + ["FAILED"] + ["SKIPPED"] * (len(names) - index - 1)
    )
    assert done["stepVersions"][index]["error"] == done["error"]
    # "fail" alone fails the last step; mappings also arrive as snake_case or JSON text
    plain = ok(post(client, "runPipeline", pipelineId=pipeline.id,
                    pipelineVariableMappings='[{"name": "mode", "value": "FAIL", "variable_type": "STRING"}]'))
    clock.now += 10
    done = ok(get(client, "describePipelineVersion", pipelineVersion=plain["pipelineVersion"]))
    assert [s["status"] for s in done["stepVersions"]] == ["COMPLETE"] * (len(names) - 1) + ["FAILED"]


@pytest.mark.parametrize(
    "mappings",
    [
        {"name": "mode"}, [{"value": 1}], ["mode"], [{"name": "nope", "value": 1}],
        [{"name": "mode", "value": "fail:nope"}], "[not json",
    ],
)
def test_run_pipeline_bad_mappings(client: TestClient, data: AbacusData, mappings: Any) -> None:
    fails(post(client, "runPipeline", pipelineId=data.pipelines[0].id, pipelineVariableMappings=mappings), 400,
          "InvalidParameterError")


def test_runs_never_touch_the_data_set(data: AbacusData, clock: Clock) -> None:
    before = AbacusData.generate()
    first = TestClient(create_abacus_emulator(data, clock=clock))
    second = TestClient(create_abacus_emulator(data, clock=clock))
    pipeline = data.pipelines[0]
    run = ok(post(first, "runPipeline", pipelineId=pipeline.id,
                  pipelineVariableMappings=[{"name": "lookback_days", "value": 5}]))
    clock.now += 5
    ok(get(first, "describePipelineVersion", pipelineVersion=run["pipelineVersion"]))
    assert data == before
    fails(get(second, "describePipelineVersion", pipelineVersion=run["pipelineVersion"]), 404, "DataNotFoundError")
    latest = ok(post(second, "describePipeline", pipelineId=pipeline.id))["latestPipelineVersion"]
    assert latest["pipelineVersion"] == pipeline_versions(data, pipeline)[-1].id


def test_default_clock_runs_in_real_time(data: AbacusData) -> None:
    client = TestClient(create_abacus_emulator(data, pending_seconds=0.0, running_seconds=0.05))
    key = ok(post(client, "runPipeline", pipelineId=data.pipelines[3].id))["pipelineVersion"]
    time.sleep(0.1)
    assert ok(get(client, "describePipelineVersion", pipelineVersion=key))["status"] == "COMPLETE"


# ---------------------------------------------------------------- datasets, models and the rest


def test_datasets(client: TestClient, data: AbacusData) -> None:
    dataset = data.datasets[0]
    got = ok(get(client, "describeDataset", datasetId=dataset.id))
    assert DATASET_REQUIRED <= set(got)
    assert (got["sourceType"], got["dataSource"], got["featureGroupTableName"]) == (
        dataset.source_type, dataset.data_source, dataset.name,
    )
    assert got["latestDatasetVersion"]["datasetVersion"] == dataset.version_ids[-1]
    assert [c["name"] for c in got["schema"]] == [c.name for c in dataset.schema]
    version = ok(get(client, "describeDatasetVersion", datasetVersion=dataset.version_ids[0]))
    assert set(version) == DATASET_VERSION_KEYS
    assert (version["datasetId"], version["status"], version["uploadId"]) == (dataset.id, "COMPLETE",
                                                                              data.dataset_versions[0].upload_id)
    newest_first = list(reversed(dataset.version_ids))
    listed = ok(get(client, "listDatasetVersions", datasetId=dataset.id))
    assert [v["datasetVersion"] for v in listed] == newest_first
    page = ok(get(client, "listDatasetVersions", datasetId=dataset.id, limit=2, startAfterVersion=newest_first[1]))
    assert [v["datasetVersion"] for v in page] == newest_first[2:4]


def test_models(client: TestClient, data: AbacusData) -> None:
    model = data.models[0]
    got = ok(get(client, "describeModel", modelId=model.id))
    assert MODEL_REQUIRED <= set(got)
    assert (got["name"], got["projectId"], got["latestModelVersion"]["modelVersion"]) == (
        model.name, model.project_id, model.version_ids[-1],
    )
    version = next(v for v in data.model_versions if v.model_id == model.id and v.feature_group_versions)
    got = ok(get(client, "describeModelVersion", modelVersion=version.id))
    assert MODEL_VERSION_REQUIRED <= set(got)
    assert (got["status"], got["featureGroupVersions"], got["trainingStartedAt"]) == (
        version.status, version.feature_group_versions, version.training_started_at,
    )
    assert ok(get(client, "describeFeatureGroupVersion", featureGroupVersion=version.feature_group_versions[0]))
    newest_first = list(reversed(model.version_ids))
    assert [v["modelVersion"] for v in ok(get(client, "listModelVersions", modelId=model.id))] == newest_first
    page = ok(get(client, "listModelVersions", modelId=model.id, limit=1, startAfterVersion=newest_first[0]))
    assert [v["modelVersion"] for v in page] == newest_first[1:2]


def test_deployment(client: TestClient, data: AbacusData) -> None:
    deployment = data.deployments[0]
    got = ok(get(client, "describeDeployment", deploymentId=deployment.id))
    assert DEPLOYMENT_REQUIRED <= set(got)
    assert (got["status"], got["modelId"], got["modelVersion"], got["projectId"]) == (
        deployment.status, deployment.model_id, deployment.model_version, deployment.project_id,
    )
    assert ok(get(client, "describeModelVersion", modelVersion=got["modelVersion"]))["status"] == "COMPLETE"


def test_feature_group_version(client: TestClient, data: AbacusData) -> None:
    version = data.feature_group_versions[0]
    got = ok(get(client, "describeFeatureGroupVersion", featureGroupVersion=version.id))
    assert FG_VERSION_REQUIRED <= set(got)
    assert (got["featureGroupId"], got["status"], got["sourceDatasetVersions"]) == (
        version.feature_group_id, version.status, version.source_dataset_versions,
    )
    assert ok(get(client, "describeDatasetVersion", datasetVersion=got["sourceDatasetVersions"][0]))


def test_batch_prediction(client: TestClient, data: AbacusData) -> None:
    prediction = data.batch_predictions[0]
    got = ok(get(client, "describeBatchPrediction", batchPredictionId=prediction.id))
    assert BATCH_PREDICTION_REQUIRED <= set(got)
    latest = got["latestBatchPredictionVersion"]
    assert (latest["batchPredictionVersion"], latest["status"], latest["totalPredictions"]) == (
        prediction.version_id, prediction.status, prediction.total_predictions,
    )
    assert got["deploymentId"] == prediction.deployment_id


# ---------------------------------------------------------------- call log and faults


def test_call_log(client: TestClient, data: AbacusData) -> None:
    get(client, "describeProject", projectId=data.projects[0].id)
    post(client, "describePipeline", pipelineId=data.pipelines[0].id)
    TestClient(client.app).get(f"{API}/describeUser")  # refused by auth, logged all the same
    assert client.app.state.calls == [
        ("GET", f"{API}/describeProject?projectId={data.projects[0].id}"),
        ("POST", f"{API}/describePipeline"),
        ("GET", f"{API}/describeUser"),
    ]


def test_injected_faults_answer_with_the_failure_envelope(data: AbacusData) -> None:
    faults = Faults()
    client = TestClient(create_abacus_emulator(data, api_key=KEY, faults=faults), headers=AUTH)
    faults.set(f"{API}/describeUser", status=503)
    assert fails(get(client, "describeUser"), 503, "InternalServerError") == "injected fault"
    first = get(client, "describeUser").json()["requestId"]
    assert get(client, "describeUser").json()["requestId"] != first
    assert ok(get(client, "describeProject", projectId=data.projects[0].id))
    faults.set(f"{API}/describeProject", garbage=True)
    response = get(client, "describeProject", projectId=data.projects[0].id)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    faults.clear()
    assert ok(get(client, "describeUser"))
    assert [i.path for i in faults.log][-1] == f"{API}/describeUser"
