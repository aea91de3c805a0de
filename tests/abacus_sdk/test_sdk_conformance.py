"""The official `abacusai` SDK against the emulator: every method the gateway uses, and
the list and describe calls of every kind of object the graph reaches.

One SDK process runs the whole plan (start-up, reads, two pipeline runs
waited to the end, errors) and reports what the SDK objects hold; each test
compares one part with the data set the server was built from.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from mlgraph.sandbox.abacus_data import (
    AbacusData,
    AbacusPipelineStepVersion,
    AbacusPipelineVersion,
)

from .conftest import record_timing
from .harness import ABACUSAI_MIN_VERSION, EmulatorServer, _version_key, run_sdk_plan

DATA = AbacusData.generate(seed=7)  # what serve.py serves
MISSING = "0000000000"

PIPELINE = DATA.pipelines[0]
RUN_FAIL_PIPELINE = DATA.pipelines[2]
FAIL_STEP = RUN_FAIL_PIPELINE.steps[1].name
VERSIONS = {v.id: v for v in DATA.pipeline_versions}
STEP_VERSIONS = {s.id: s for s in DATA.step_versions}
COMPLETE_VERSION = next(v for v in DATA.pipeline_versions if v.pipeline_id == PIPELINE.id and v.status == "COMPLETE")
FAILED_VERSION = next(v for v in DATA.pipeline_versions if v.status == "FAILED")
STEP = PIPELINE.steps[2]
STEP_VERSION = next(
    STEP_VERSIONS[s] for s in COMPLETE_VERSION.step_version_ids if STEP_VERSIONS[s].step_id == STEP.id
)
DATASET = next(d for d in DATA.datasets if len(d.version_ids) >= 3)
DATASET_VERSIONS = {v.id: v for v in DATA.dataset_versions}
MODEL = next(m for m in DATA.models if len(m.version_ids) >= 3)
MODEL_VERSIONS = {v.id: v for v in DATA.model_versions}
MODEL_VERSION = next(MODEL_VERSIONS[v] for v in MODEL.version_ids if MODEL_VERSIONS[v].status == "COMPLETE")
DEPLOYMENT = DATA.deployments[0]
FEATURE_GROUP = next(g for g in DATA.feature_groups if len(g.version_ids) >= 3)
FG_VERSION = DATA.feature_group_versions[0]
FG_VERSIONS = {v.id: v for v in DATA.feature_group_versions}
BATCH_PREDICTION = next(b for b in DATA.batch_predictions if b.version_id is not None)
PROJECT = DATA.projects[0]
SELF = next(u for u in DATA.users if u.id == DATA.self_user_id)


def newest_first(items: list[Any]) -> list[Any]:
    """The order of every Abacus.AI list: creation time descending."""
    return sorted(items, key=lambda item: (item.created_at, item.id), reverse=True)


PROJECTS_NEWEST_FIRST = newest_first(DATA.projects)
DATASETS_NEWEST_FIRST = newest_first(DATA.datasets)
FEATURE_GROUPS_NEWEST_FIRST = newest_first(DATA.feature_groups)

PLAN: list[dict[str, Any]] = [
    {"label": "describe_user", "call": "describe_user"},
    {"label": "list_organization_users", "call": "list_organization_users"},
    {"label": "describe_project", "call": "describe_project", "args": [PROJECT.id]},
    {"label": "list_projects", "call": "list_projects"},
    {"label": "list_projects_page", "call": "list_projects",
     "kwargs": {"limit": 1, "start_after_id": PROJECTS_NEWEST_FIRST[0].id}},
    {"label": "list_pipelines", "call": "list_pipelines"},
    {"label": "list_pipelines_project", "call": "list_pipelines", "args": [PROJECT.id]},
    {"label": "describe_pipeline", "call": "describe_pipeline", "args": [PIPELINE.id]},
    {"label": "list_pipeline_versions", "call": "list_pipeline_versions", "args": [PIPELINE.id, 3]},
    {"label": "describe_pipeline_version", "call": "describe_pipeline_version", "args": [COMPLETE_VERSION.id]},
    {"label": "describe_failed_version", "call": "describe_pipeline_version", "args": [FAILED_VERSION.id]},
    {"label": "describe_pipeline_step", "call": "describe_pipeline_step", "args": [STEP.id]},
    {"label": "describe_pipeline_step_version", "call": "describe_pipeline_step_version", "args": [STEP_VERSION.id]},
    {"label": "list_pipeline_version_logs", "call": "list_pipeline_version_logs", "args": [FAILED_VERSION.id]},
    {"label": "list_datasets", "call": "list_datasets"},
    {"label": "list_datasets_page", "call": "list_datasets",
     "kwargs": {"limit": 2, "start_after_id": DATASETS_NEWEST_FIRST[0].id}},
    {"label": "describe_dataset", "call": "describe_dataset", "args": [DATASET.id]},
    {"label": "describe_dataset_version", "call": "describe_dataset_version", "args": [DATASET.version_ids[0]]},
    {"label": "list_dataset_versions", "call": "list_dataset_versions", "args": [DATASET.id], "kwargs": {"limit": 2}},
    {"label": "list_dataset_versions_after", "call": "list_dataset_versions", "args": [DATASET.id],
     "kwargs": {"start_after_version": DATASET.version_ids[-2]}},
    {"label": "list_models", "call": "list_models", "args": [PROJECT.id]},
    {"label": "describe_model", "call": "describe_model", "args": [MODEL.id]},
    {"label": "describe_model_version", "call": "describe_model_version", "args": [MODEL_VERSION.id]},
    {"label": "list_model_versions", "call": "list_model_versions", "args": [MODEL.id]},
    {"label": "list_model_versions_page", "call": "list_model_versions", "args": [MODEL.id],
     "kwargs": {"limit": 1, "start_after_version": MODEL.version_ids[-1]}},
    {"label": "list_deployments", "call": "list_deployments", "args": [PROJECT.id]},
    {"label": "describe_deployment", "call": "describe_deployment", "args": [DEPLOYMENT.id]},
    {"label": "list_feature_groups", "call": "list_feature_groups"},
    {"label": "list_feature_groups_page", "call": "list_feature_groups",
     "kwargs": {"limit": 1, "start_after_id": FEATURE_GROUPS_NEWEST_FIRST[0].id}},
    {"label": "describe_feature_group", "call": "describe_feature_group", "args": [FEATURE_GROUP.id]},
    {"label": "list_feature_group_versions", "call": "list_feature_group_versions", "args": [FEATURE_GROUP.id],
     "kwargs": {"limit": 2}},
    {"label": "list_feature_group_versions_after", "call": "list_feature_group_versions", "args": [FEATURE_GROUP.id],
     "kwargs": {"start_after_version": FEATURE_GROUP.version_ids[-2]}},
    {"label": "describe_feature_group_version", "call": "describe_feature_group_version", "args": [FG_VERSION.id]},
    {"label": "list_batch_predictions", "call": "list_batch_predictions", "args": [PROJECT.id]},
    {"label": "list_batch_predictions_limit", "call": "list_batch_predictions", "args": [PROJECT.id],
     "kwargs": {"limit": 1}},
    {"label": "describe_batch_prediction", "call": "describe_batch_prediction", "args": [BATCH_PREDICTION.id]},
    {"label": "run_ok", "run": PIPELINE.id},
    {"label": "run_fail", "run": RUN_FAIL_PIPELINE.id, "mappings": [{"name": "mode", "value": f"fail:{FAIL_STEP}"}]},
    {"label": "wait_ok", "wait": "run_ok"},
    {"label": "wait_fail", "wait": "run_fail"},
    {"label": "after_run_pipeline", "call": "describe_pipeline", "args": [PIPELINE.id]},
    {"label": "after_run_versions", "call": "list_pipeline_versions", "args": [PIPELINE.id, 2]},
    {"label": "missing_dataset", "call": "describe_dataset", "args": [MISSING]},
    {"label": "missing_pipeline_version", "call": "describe_pipeline_version", "args": [MISSING]},
    {"label": "missing_pipeline", "call": "describe_pipeline", "args": [MISSING]},
    {"label": "missing_feature_group", "call": "describe_feature_group", "args": [MISSING]},
    {"label": "missing_project_deployments", "call": "list_deployments", "args": [MISSING]},
    {"label": "missing_parameter", "call": "describe_project", "args": [None]},
    {"label": "invalid_limit", "call": "list_projects", "kwargs": {"limit": 0}},
    {"label": "bad_paging_id", "call": "list_model_versions", "args": [MODEL.id],
     "kwargs": {"start_after_version": MISSING}},
    {"label": "wrong_key", "call": "describe_user", "api_key": "not-the-key"},
]


@pytest.fixture(scope="module")
def sdk(abacus_sdk_python: Path, abacus_server: EmulatorServer) -> dict[str, Any]:
    started = time.monotonic()
    results = run_sdk_plan(abacus_sdk_python, abacus_server, PLAN)
    record_timing("sdk plan", time.monotonic() - started)
    return results


def value(sdk: dict[str, Any], label: str) -> Any:
    outcome = sdk[label]
    assert "error" not in outcome, f"{label}: the SDK raised {outcome['error']}"
    return outcome["value"]


def failure(sdk: dict[str, Any], label: str) -> dict[str, Any]:
    outcome = sdk[label]
    assert "error" in outcome, f"{label}: expected the SDK to raise, got {outcome.get('value')!r}"
    return outcome["error"]


def argument(name: str, variable_type: str, value: Any, pipeline_variable: str | None, is_required: bool) -> dict:
    """A `PythonFunctionArgument` as the SDK builds it (an ApiClass: snake_case fields)."""
    return {
        "__class__": "PythonFunctionArgument", "variable_type": variable_type, "name": name,
        "is_required": is_required, "value": value, "pipeline_variable": pipeline_variable, "description": None,
        "long_description": None, "item_type": None,
    }


def assert_step_version(got: dict[str, Any], expected: AbacusPipelineStepVersion) -> None:
    assert got["__class__"] == "PipelineStepVersion"
    assert got["pipeline_step_version"] == got["id"] == expected.id
    assert got["step_name"] == expected.name
    assert got["pipeline_step_id"] == expected.step_id
    assert got["pipeline_id"] == expected.pipeline_id
    assert got["pipeline_version"] == expected.pipeline_version
    assert (got["created_at"], got["updated_at"]) == (expected.created_at, expected.updated_at)
    assert (got["status"], got["error"], got["output_errors"]) == (expected.status, expected.error, None)
    assert got["python_function_id"] == expected.python_function_id
    assert got["step_dependencies"] == expected.step_dependencies
    assert (got["cpu_size"], got["memory"], got["timeout"]) == (expected.cpu_size, expected.memory, expected.timeout)
    # Raw JSON the SDK leaves alone: camelCase keys.
    assert got["function_variable_mappings"] == [
        {"name": a.name, "variableType": a.variable_type, "value": a.value, "pipelineVariable": a.pipeline_variable,
         "isRequired": a.is_required}
        for a in expected.input_mappings
    ]
    assert got["output_variable_mappings"] == [
        {"name": o.name, "variableType": o.variable_type} for o in expected.output_mappings
    ]
    assert got["code_source"]["__class__"] == "CodeSource"
    assert got["code_source"]["source_type"] == "TEXT"
    assert got["code_source"]["source_code"] == expected.code_source.source_code
    assert got["code_source"]["package_requirements"] == expected.code_source.package_requirements
    references = got["pipeline_step_version_references"]
    assert [r["__class__"] for r in references] == ["PipelineStepVersionReference"] * len(expected.references)
    for ref, want in zip(references, expected.references, strict=True):
        assert ref["pipeline_step_version_reference_id"] == want.id
        assert ref["pipeline_step_version"] == expected.id
        assert (ref["object_type"], ref["status"], ref["error"]) == (want.object_type, want.status, want.error)
        assert ref["dataset_version"] == want.dataset_version
        assert ref["model_version"] == want.model_version
        assert ref["deployment_version"] == want.deployment_version
        assert ref["batch_prediction_id"] == want.batch_prediction_id
        assert ref["feature_group_version"] == want.feature_group_version
        assert ref["model_monitor_version"] is None and ref["notebook_version"] is None


def assert_version(got: dict[str, Any], expected: AbacusPipelineVersion) -> None:
    assert got["__class__"] == "PipelineVersion"
    assert got["pipeline_version"] == got["id"] == expected.id
    assert got["pipeline_id"] == expected.pipeline_id
    assert got["pipeline_name"] == next(p.name for p in DATA.pipelines if p.id == expected.pipeline_id)
    assert (got["created_at"], got["updated_at"], got["completed_at"]) == (
        expected.created_at, expected.updated_at, expected.completed_at,
    )
    assert (got["status"], got["error"]) == (expected.status, expected.error)
    assert got["code_source"]["source_code"] == expected.code_source.source_code
    assert got["pipeline_variable_mappings"] == [
        argument(a.name, a.variable_type, a.value, a.pipeline_variable, a.is_required)
        for a in expected.variable_mappings
    ]
    assert [s["pipeline_step_version"] for s in got["step_versions"]] == expected.step_version_ids
    for step, key in zip(got["step_versions"], expected.step_version_ids, strict=True):
        assert_step_version(step, STEP_VERSIONS[key])


# ---------------------------------------------------------------- start-up


def test_client_start_up(sdk: dict[str, Any], abacus_server: EmulatorServer) -> None:
    client = sdk["_client"]
    assert _version_key(client["sdk_version"]) >= _version_key(ABACUSAI_MIN_VERSION)
    assert client["api_endpoint"] == abacus_server.base_url  # from getApiEndpoint
    assert client["prediction_endpoint"] == abacus_server.base_url
    assert client["proxy_endpoint"] == abacus_server.base_url
    assert client["web_version"] == "1.4.119"  # from version
    assert client["server"] == abacus_server.base_url


def test_the_whole_plan_is_quick(sdk: dict[str, Any]) -> None:
    # Two runs waited to the end included: the SDK polls every 2 s at least.
    assert sdk["_client"]["seconds"] < 30


# ---------------------------------------------------------------- users and projects


def test_describe_user(sdk: dict[str, Any]) -> None:
    user = value(sdk, "describe_user")
    assert user["__class__"] == "User"
    assert (user["user_id"], user["name"], user["email"]) == (SELF.id, SELF.name, SELF.email)
    assert (user["created_at"], user["status"]) == (SELF.created_at, SELF.status)
    groups = user["organization_groups"]
    assert [g["__class__"] for g in groups] == ["OrganizationGroup"] * len(SELF.organization_groups)
    assert [(g["organization_group_id"], g["group_name"], g["admin"], g["default_group"]) for g in groups] == [
        (g.id, g.name, g.admin, g.default_group) for g in SELF.organization_groups
    ]


def test_list_organization_users(sdk: dict[str, Any]) -> None:
    users = value(sdk, "list_organization_users")
    assert [u["__class__"] for u in users] == ["User"] * len(DATA.users)
    assert [(u["user_id"], u["name"], u["email"], u["status"]) for u in users] == [
        (u.id, u.name, u.email, u.status) for u in DATA.users
    ]


def test_describe_project(sdk: dict[str, Any]) -> None:
    project = value(sdk, "describe_project")
    assert project == {
        "__class__": "Project", "id": PROJECT.id, "project_id": PROJECT.id, "name": PROJECT.name,
        "use_case": PROJECT.use_case, "problem_type": PROJECT.problem_type, "created_at": PROJECT.created_at,
        "tags": PROJECT.tags,
    }


def test_list_projects_newest_first_and_paged(sdk: dict[str, Any]) -> None:
    assert [p["project_id"] for p in value(sdk, "list_projects")] == [p.id for p in PROJECTS_NEWEST_FIRST]
    assert [p["project_id"] for p in value(sdk, "list_projects_page")] == [PROJECTS_NEWEST_FIRST[1].id]


# ---------------------------------------------------------------- pipelines


def test_describe_pipeline(sdk: dict[str, Any]) -> None:
    pipeline = value(sdk, "describe_pipeline")
    assert pipeline["__class__"] == "Pipeline"
    assert pipeline["pipeline_id"] == pipeline["id"] == PIPELINE.id
    assert pipeline["pipeline_name"] == PIPELINE.name
    assert (pipeline["created_at"], pipeline["cron"], pipeline["is_prod"]) == (
        PIPELINE.created_at, PIPELINE.cron, PIPELINE.is_prod,
    )
    assert pipeline["next_run_time"] == PIPELINE.next_run_time
    assert pipeline["notebook_id"] == PIPELINE.notebook_id
    assert pipeline["created_by"] == next(u.email for u in DATA.users if u.id == PIPELINE.created_by_id)
    steps = pipeline["steps"]
    assert [s["__class__"] for s in steps] == ["PipelineStep"] * len(PIPELINE.steps)
    assert [s["pipeline_step_id"] for s in steps] == [s.id for s in PIPELINE.steps]
    assert [s["step_dependencies"] for s in steps] == [s.step_dependencies for s in PIPELINE.steps]
    references = pipeline["pipeline_references"]
    assert {r["object_type"] for r in references} == {
        "DATASET", "FEATURE_GROUP", "MODEL", "DEPLOYMENT", "BATCH_PREDICTION",
    }
    assert {r["model_id"] for r in references} - {None} == {STEP.target_id}
    assert pipeline["pipeline_variable_mappings"] == [
        argument(a.name, a.variable_type, a.value, a.pipeline_variable, a.is_required)
        for a in PIPELINE.variable_mappings
    ]
    newest = [v for v in DATA.pipeline_versions if v.pipeline_id == PIPELINE.id][-1]
    assert_version(pipeline["latest_pipeline_version"], newest)


def test_list_pipelines(sdk: dict[str, Any]) -> None:
    every = value(sdk, "list_pipelines")
    newest_first = sorted(DATA.pipelines, key=lambda p: (p.created_at, p.id), reverse=True)
    assert [p["pipeline_id"] for p in every] == [p.id for p in newest_first]
    assert all(p["__class__"] == "Pipeline" and p["latest_pipeline_version"] for p in every)
    in_project = value(sdk, "list_pipelines_project")
    assert [p["pipeline_id"] for p in in_project] == [p.id for p in newest_first if p.project_id == PROJECT.id]


def test_list_pipeline_versions_newest_first_with_limit(sdk: dict[str, Any]) -> None:
    versions = value(sdk, "list_pipeline_versions")
    mine = [v for v in DATA.pipeline_versions if v.pipeline_id == PIPELINE.id]
    assert [v["pipeline_version"] for v in versions] == [v.id for v in reversed(mine)][:3]
    for got in versions:
        assert_version(got, VERSIONS[got["pipeline_version"]])


def test_describe_pipeline_version(sdk: dict[str, Any]) -> None:
    assert_version(value(sdk, "describe_pipeline_version"), COMPLETE_VERSION)


def test_describe_failed_pipeline_version(sdk: dict[str, Any]) -> None:
    got = value(sdk, "describe_failed_version")
    assert_version(got, FAILED_VERSION)
    statuses = [s["status"] for s in got["step_versions"]]
    failed = statuses.index("FAILED")
    assert set(statuses[:failed]) <= {"COMPLETE"} and set(statuses[failed + 1 :]) <= {"SKIPPED"}
    assert got["error"] == got["step_versions"][failed]["error"] and got["error"]


def test_describe_pipeline_step(sdk: dict[str, Any]) -> None:
    step = value(sdk, "describe_pipeline_step")
    assert step["__class__"] == "PipelineStep"
    assert (step["pipeline_step_id"], step["pipeline_id"], step["step_name"], step["pipeline_name"]) == (
        STEP.id, PIPELINE.id, STEP.name, PIPELINE.name,
    )
    assert (step["created_at"], step["updated_at"]) == (STEP.created_at, STEP.updated_at)
    assert step["python_function_id"] == STEP.python_function_id
    assert step["step_dependencies"] == STEP.step_dependencies
    assert (step["cpu_size"], step["memory"], step["timeout"]) == (STEP.cpu_size, STEP.memory, STEP.timeout)
    function = step["python_function"]
    assert function["__class__"] == "PythonFunction"
    assert (function["python_function_id"], function["function_name"], function["function_type"]) == (
        STEP.python_function_id, STEP.function_name, "STEP_FUNCTION",
    )
    assert function["code_source"]["source_code"] == STEP.code_source.source_code
    assert step["code_source"]["source_code"] == STEP.code_source.source_code


def test_describe_pipeline_step_version(sdk: dict[str, Any]) -> None:
    got = value(sdk, "describe_pipeline_step_version")
    assert_step_version(got, STEP_VERSION)
    assert got["pipeline_step_version_references"][0]["model_version"] in MODEL_VERSIONS


def test_list_pipeline_version_logs(sdk: dict[str, Any]) -> None:
    logs = value(sdk, "list_pipeline_version_logs")
    assert logs["__class__"] == "PipelineVersionLogs"
    expected = [STEP_VERSIONS[s] for s in FAILED_VERSION.step_version_ids]
    assert [
        (s["__class__"], s["step_name"], s["pipeline_step_id"], s["pipeline_step_version"], s["logs"])
        for s in logs["step_logs"]
    ] == [("PipelineStepVersionLogs", s.name, s.step_id, s.id, s.logs) for s in expected]
    assert any("ERROR" in s["logs"] for s in logs["step_logs"])


# ---------------------------------------------------------------- running a pipeline


def test_run_pipeline_to_completion(sdk: dict[str, Any]) -> None:
    started = value(sdk, "run_ok")
    assert started["__class__"] == "PipelineVersion"
    assert started["pipeline_id"] == PIPELINE.id and started["pipeline_name"] == PIPELINE.name
    assert started["status"] in ("PENDING", "RUNNING")
    assert started["pipeline_version"] not in VERSIONS
    assert [s["step_name"] for s in started["step_versions"]] == [s.name for s in PIPELINE.steps]
    waited = value(sdk, "wait_ok")
    final = waited["version"]
    assert final["pipeline_version"] == started["pipeline_version"]
    assert final["status"] == "COMPLETE" and final["error"] is None and final["completed_at"]
    assert [s["status"] for s in final["step_versions"]] == ["COMPLETE"] * len(PIPELINE.steps)
    writes = [s for s, step in zip(final["step_versions"], PIPELINE.steps) if step.writes]
    assert writes and all(s["pipeline_step_version_references"] for s in writes)
    assert waited["waited_seconds"] < 15


def test_run_pipeline_that_fails(sdk: dict[str, Any]) -> None:
    started = value(sdk, "run_fail")
    names = [s.name for s in RUN_FAIL_PIPELINE.steps]
    # The SDK sent the mapping (a PythonFunctionArgument) camelCased; the emulator applied it.
    mode = next(m for m in started["pipeline_variable_mappings"] if m["name"] == "mode")
    assert mode["value"] == f"fail:{FAIL_STEP}"
    final = value(sdk, "wait_fail")["version"]
    assert final["status"] == "FAILED"
    index = names.index(FAIL_STEP)
    statuses = [s["status"] for s in final["step_versions"]]
    assert statuses == ["COMPLETE"] * index + ["FAILED"] + ["SKIPPED"] * (len(names) - index - 1)
    assert FAIL_STEP in final["error"] and final["step_versions"][index]["error"] == final["error"]


def test_runs_show_up_as_latest_versions(sdk: dict[str, Any]) -> None:
    run_id = value(sdk, "run_ok")["pipeline_version"]
    pipeline = value(sdk, "after_run_pipeline")
    assert pipeline["latest_pipeline_version"]["pipeline_version"] == run_id
    assert pipeline["latest_pipeline_version"]["status"] == "COMPLETE"
    versions = value(sdk, "after_run_versions")
    newest_seeded = [v for v in DATA.pipeline_versions if v.pipeline_id == PIPELINE.id][-1]
    assert [v["pipeline_version"] for v in versions] == [run_id, newest_seeded.id]


# ---------------------------------------------------------------- datasets, models, the rest


def test_list_datasets_newest_first_and_paged(sdk: dict[str, Any]) -> None:
    datasets = value(sdk, "list_datasets")
    assert [d["__class__"] for d in datasets] == ["Dataset"] * len(DATA.datasets)
    assert [(d["dataset_id"], d["feature_group_table_name"], d["created_at"]) for d in datasets] == [
        (d.id, d.name, d.created_at) for d in DATASETS_NEWEST_FIRST
    ]
    assert [d["latest_dataset_version"]["dataset_version"] for d in datasets] == [
        d.version_ids[-1] for d in DATASETS_NEWEST_FIRST
    ]
    assert [d["dataset_id"] for d in value(sdk, "list_datasets_page")] == [d.id for d in DATASETS_NEWEST_FIRST[1:3]]


def test_describe_dataset(sdk: dict[str, Any]) -> None:
    dataset = value(sdk, "describe_dataset")
    assert dataset["__class__"] == "Dataset"
    assert (dataset["dataset_id"], dataset["source_type"], dataset["data_source"], dataset["created_at"]) == (
        DATASET.id, DATASET.source_type, DATASET.data_source, DATASET.created_at,
    )
    assert dataset["feature_group_table_name"] == DATASET.name
    assert [c["name"] for c in dataset["schema"]] == [c.name for c in DATASET.schema]
    assert dataset["schema"][0]["__class__"] == "DatasetColumn"
    latest = dataset["latest_dataset_version"]
    assert latest["__class__"] == "DatasetVersion" and latest["dataset_version"] == DATASET.version_ids[-1]


def test_describe_dataset_version(sdk: dict[str, Any]) -> None:
    got = value(sdk, "describe_dataset_version")
    want = DATASET_VERSIONS[DATASET.version_ids[0]]
    assert got["__class__"] == "DatasetVersion"
    assert (got["dataset_version"], got["dataset_id"], got["status"], got["created_at"]) == (
        want.id, want.dataset_id, want.status, want.created_at,
    )
    assert (got["size"], got["row_count"], got["error"], got["upload_id"]) == (
        want.size, want.row_count, want.error, want.upload_id,
    )


def test_list_dataset_versions_paged(sdk: dict[str, Any]) -> None:
    newest_first = list(reversed(DATASET.version_ids))
    assert [v["dataset_version"] for v in value(sdk, "list_dataset_versions")] == newest_first[:2]
    assert [v["dataset_version"] for v in value(sdk, "list_dataset_versions_after")] == newest_first[2:]


def test_list_models_of_a_project(sdk: dict[str, Any]) -> None:
    models = value(sdk, "list_models")
    want = newest_first([m for m in DATA.models if m.project_id == PROJECT.id])
    assert want and [m["__class__"] for m in models] == ["Model"] * len(want)
    assert [(m["model_id"], m["name"], m["project_id"]) for m in models] == [
        (m.id, m.name, m.project_id) for m in want
    ]
    assert [m["latest_model_version"]["model_version"] for m in models] == [m.version_ids[-1] for m in want]


def test_describe_model(sdk: dict[str, Any]) -> None:
    model = value(sdk, "describe_model")
    assert model["__class__"] == "Model"
    assert (model["model_id"], model["name"], model["project_id"], model["created_at"]) == (
        MODEL.id, MODEL.name, MODEL.project_id, MODEL.created_at,
    )
    assert (model["cpu_size"], model["memory"], model["use_gpu"]) == (MODEL.cpu_size, MODEL.memory, MODEL.use_gpu)
    assert model["training_feature_group_ids"] == MODEL.training_feature_group_ids
    assert model["code_source"]["source_code"] == MODEL.code_source.source_code
    assert model["latest_model_version"]["model_version"] == MODEL.version_ids[-1]


def test_describe_model_version(sdk: dict[str, Any]) -> None:
    got = value(sdk, "describe_model_version")
    want = MODEL_VERSION
    assert got["__class__"] == "ModelVersion"
    assert (got["model_version"], got["model_id"], got["status"], got["error"]) == (
        want.id, want.model_id, want.status, want.error,
    )
    assert (got["training_started_at"], got["training_completed_at"]) == (
        want.training_started_at, want.training_completed_at,
    )
    assert got["feature_group_versions"] == want.feature_group_versions
    assert (got["cpu_size"], got["memory"], got["use_gpu"]) == (want.cpu_size, want.memory, want.use_gpu)
    assert got["best_algorithm"] == want.best_algorithm
    assert got["pending_deployment_ids"] == want.pending_deployment_ids
    assert got["failed_deployment_ids"] == want.failed_deployment_ids
    assert got["code_source"]["__class__"] == "CodeSource"


def test_list_model_versions_paged(sdk: dict[str, Any]) -> None:
    newest_first = list(reversed(MODEL.version_ids))
    assert [v["model_version"] for v in value(sdk, "list_model_versions")] == newest_first
    assert [v["model_version"] for v in value(sdk, "list_model_versions_page")] == newest_first[1:2]


def test_list_deployments_of_a_project(sdk: dict[str, Any]) -> None:
    deployments = value(sdk, "list_deployments")
    want = newest_first([d for d in DATA.deployments if d.project_id == PROJECT.id])
    assert want and [d["__class__"] for d in deployments] == ["Deployment"] * len(want)
    assert [(d["deployment_id"], d["name"], d["status"], d["model_id"], d["model_version"]) for d in deployments] == [
        (d.id, d.name, d.status, d.model_id, d.model_version) for d in want
    ]


def test_describe_deployment(sdk: dict[str, Any]) -> None:
    got = value(sdk, "describe_deployment")
    want = DEPLOYMENT
    assert got["__class__"] == "Deployment"
    assert (got["deployment_id"], got["name"], got["status"], got["description"]) == (
        want.id, want.name, want.status, want.description,
    )
    assert (got["project_id"], got["model_id"], got["model_version"]) == (
        want.project_id, want.model_id, want.model_version,
    )
    assert (got["deployed_at"], got["created_at"], got["error"]) == (want.deployed_at, want.created_at, want.error)
    assert got["pending_model_version"] == want.pending_model_version
    assert got["regions"] == want.regions


def test_describe_feature_group(sdk: dict[str, Any]) -> None:
    got = value(sdk, "describe_feature_group")
    want = FEATURE_GROUP
    assert got["__class__"] == "FeatureGroup"
    assert (got["feature_group_id"], got["table_name"], got["name"], got["created_at"]) == (
        want.id, want.table_name, want.table_name, want.created_at,
    )
    assert (got["sql"], got["source_tables"], got["feature_group_source_type"]) == (
        want.sql, want.source_tables, "SQL",
    )
    assert [(f["__class__"], f["name"], f["data_type"]) for f in got["features"]] == [
        ("Feature", c.name, c.data_type) for c in want.columns
    ]
    latest = got["latest_feature_group_version"]
    assert latest["__class__"] == "FeatureGroupVersion"
    assert (latest["feature_group_version"], latest["feature_group_id"], latest["status"]) == (
        want.version_ids[-1], want.id, FG_VERSIONS[want.version_ids[-1]].status,
    )


def test_list_feature_groups_newest_first_and_paged(sdk: dict[str, Any]) -> None:
    groups = value(sdk, "list_feature_groups")
    assert [g["__class__"] for g in groups] == ["FeatureGroup"] * len(DATA.feature_groups)
    assert [(g["feature_group_id"], g["table_name"]) for g in groups] == [
        (g.id, g.table_name) for g in FEATURE_GROUPS_NEWEST_FIRST
    ]
    page = value(sdk, "list_feature_groups_page")
    assert [g["feature_group_id"] for g in page] == [FEATURE_GROUPS_NEWEST_FIRST[1].id]


def test_list_feature_group_versions_paged(sdk: dict[str, Any]) -> None:
    newest_first_ids = list(reversed(FEATURE_GROUP.version_ids))
    versions = value(sdk, "list_feature_group_versions")
    assert [(v["__class__"], v["feature_group_version"], v["status"]) for v in versions] == [
        ("FeatureGroupVersion", key, FG_VERSIONS[key].status) for key in newest_first_ids[:2]
    ]
    after = value(sdk, "list_feature_group_versions_after")
    assert [v["feature_group_version"] for v in after] == newest_first_ids[2:]


def test_describe_feature_group_version(sdk: dict[str, Any]) -> None:
    got = value(sdk, "describe_feature_group_version")
    want = FG_VERSION
    assert got["__class__"] == "FeatureGroupVersion"
    assert (got["feature_group_version"], got["feature_group_id"], got["status"], got["error"]) == (
        want.id, want.feature_group_id, want.status, want.error,
    )
    assert (got["sql"], got["source_tables"], got["source_dataset_versions"]) == (
        want.sql, want.source_tables, want.source_dataset_versions,
    )
    assert (got["materialization_started_at"], got["materialization_completed_at"]) == (
        want.materialization_started_at, want.materialization_completed_at,
    )
    assert [f["name"] for f in got["features"]] == [c.name for c in want.columns]
    assert got["features"][0]["__class__"] == "Feature"


def test_list_batch_predictions_of_a_project(sdk: dict[str, Any]) -> None:
    predictions = value(sdk, "list_batch_predictions")
    want = newest_first([b for b in DATA.batch_predictions if b.project_id == PROJECT.id])
    assert want and [b["__class__"] for b in predictions] == ["BatchPrediction"] * len(want)
    assert [(b["batch_prediction_id"], b["name"], b["deployment_id"]) for b in predictions] == [
        (b.id, b.name, b.deployment_id) for b in want
    ]
    assert [(b["latest_batch_prediction_version"] or {}).get("batch_prediction_version") for b in predictions] == [
        b.version_id for b in want
    ]
    assert [b["batch_prediction_id"] for b in value(sdk, "list_batch_predictions_limit")] == [want[0].id]


def test_describe_batch_prediction(sdk: dict[str, Any]) -> None:
    got = value(sdk, "describe_batch_prediction")
    want = BATCH_PREDICTION
    assert got["__class__"] == "BatchPrediction"
    assert (got["batch_prediction_id"], got["name"], got["created_at"]) == (want.id, want.name, want.created_at)
    assert (got["deployment_id"], got["model_version"], got["output_feature_group_id"]) == (
        want.deployment_id, want.model_version, want.output_feature_group_id,
    )
    latest = got["latest_batch_prediction_version"]
    assert latest["__class__"] == "BatchPredictionVersion"
    assert (latest["batch_prediction_version"], latest["status"], latest["error"]) == (
        want.version_id, want.status, want.error,
    )
    assert (latest["total_predictions"], latest["failed_predictions"]) == (
        want.total_predictions, want.failed_predictions,
    )


# ---------------------------------------------------------------- errors as SDK exceptions


@pytest.mark.parametrize(
    "label",
    ["missing_dataset", "missing_pipeline_version", "missing_pipeline", "missing_feature_group",
     "missing_project_deployments"],
)
def test_unknown_ids_raise_data_not_found(sdk: dict[str, Any], label: str) -> None:
    error = failure(sdk, label)
    assert (error["class"], error["http_status"], error["exception"]) == ("DataNotFoundError", 404, "DataNotFoundError")
    assert MISSING in error["message"]


def test_missing_parameter(sdk: dict[str, Any]) -> None:
    error = failure(sdk, "missing_parameter")
    assert (error["class"], error["http_status"]) == ("MissingParameterError", 400)
    assert "projectId" in error["message"]


@pytest.mark.parametrize("label", ["invalid_limit", "bad_paging_id"])
def test_invalid_parameters(sdk: dict[str, Any], label: str) -> None:
    error = failure(sdk, label)
    assert (error["class"], error["http_status"]) == ("InvalidParameterError", 400)


def test_wrong_api_key(sdk: dict[str, Any]) -> None:
    error = failure(sdk, "wrong_key")
    assert (error["class"], error["http_status"]) == ("PermissionDeniedError", 401)
    assert "Request ID" in error["message"]  # the SDK appends the envelope's requestId
