"""queries/: every operation is valid, named after its file, and answers the demo data."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlgraph.demo import Sandbox, build_sandbox
from mlgraph.graph.schema import DEPTH_RULE, schema
from mlgraph.persisted.client import first_list
from mlgraph.persisted.manifest import (
    CHECKOUT_QUERIES,
    Manifest,
    ManifestError,
    check_folder,
    discover_folder,
    load_manifest,
    operation_from_text,
)

QUERIES = Path(__file__).resolve().parents[1] / "queries"
MANIFEST = load_manifest(QUERIES)
WINDOW = {"startedAfter": "2025-01-01T00:00:00Z", "startedBefore": "2026-01-01T00:00:00Z"}


def variables_for(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    """Real ids from the demo data, per operation; a new file needs an entry."""
    zenml, domino, abacus = sandbox.zenml, sandbox.domino, sandbox.abacus
    run = next(r for r in zenml.runs if r.model_version_id and r.status == "completed")
    step = next(s for s in zenml.steps if s.pipeline_run_id == run.id and s.inputs)
    project = next(p for p in domino.projects if domino.can_access(p.id))
    job = next(j for j in domino.jobs if j.project_id == project.id and j.logs)
    gpu = next(t for t in domino.hardware_tiers if t.gpu_count and not t.is_archived)
    pipeline = abacus.pipelines[0]
    return {
        "RunOverview": {"run": run.id},
        "RecentPipelineRuns": {"first": 5},
        "ModelVersionLineage": {"modelVersion": run.model_version_id},
        "StepRunDetail": {"step": step.id},
        "ZenMLModels": {},
        "UpdateStepRun": {"step": step.id, "status": "FAILED", "endTime": "2026-01-02T03:04:05Z"},
        "GpuHardwareTiers": {},
        "DominoProjects": {},
        "DominoProjectJobs": {"project": project.id},
        "DominoJobLogs": {"job": job.id},
        "StartDominoJob": {"project": project.id, "command": "train.py --epochs 3", "title": "Train", "hardwareTier": gpu.id},
        "AbacusPipelines": {},
        "AbacusPipelineVersions": {"pipeline": pipeline.id},
        "RunAbacusPipeline": {"pipeline": pipeline.id},
        "FailedExecutions": WINDOW,
    }


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[TestClient, Sandbox]]:
    sandbox = build_sandbox()
    with TestClient(sandbox.app) as client:
        yield client, sandbox


def test_there_are_at_least_ten_operations_each_named_after_its_file() -> None:
    assert len(MANIFEST) >= 10
    for operation in MANIFEST:
        assert operation.path is not None and operation.path.stem == operation.name
    kinds = {o.type for o in MANIFEST}
    assert kinds == {"query", "mutation"}


def test_every_file_is_valid_against_the_schema() -> None:
    results = check_folder(QUERIES, schema._schema, [DEPTH_RULE])
    assert len(results) == len(MANIFEST)
    assert [(p.name, why) for p, why in results if why is not None] == []


def test_every_operation_has_demo_variables(shared: tuple[TestClient, Sandbox]) -> None:
    assert set(variables_for(shared[1])) == set(MANIFEST.by_name)


@pytest.mark.parametrize("name", sorted(MANIFEST.by_name))
def test_operation_answers_the_demo_data(name: str, shared: tuple[TestClient, Sandbox]) -> None:
    """Queries against one sandbox; mutations each against a fresh one."""
    operation = MANIFEST.by_name[name]
    client, sandbox = shared
    fresh = None
    if operation.type == "mutation":
        sandbox = build_sandbox()
        fresh = TestClient(sandbox.app)
        client = fresh.__enter__()
    try:
        body = {"query": operation.body, "variables": variables_for(sandbox)[name]}
        answer = client.post("/graphql", json=body).json()
    finally:
        if fresh is not None:
            fresh.__exit__(None, None, None)
    assert "errors" not in answer, answer["errors"]
    data = answer["data"]
    assert data and all(value is not None for value in data.values())
    rows = first_list(data)
    assert rows is None or rows, f"{name}: its first list is empty"


def test_gpu_tiers_include_a_gpu(shared: tuple[TestClient, Sandbox]) -> None:
    client, _ = shared
    answer = client.post("/graphql", json={"query": MANIFEST.by_name["GpuHardwareTiers"].body}).json()
    tiers = answer["data"]["domino"]["hardwareTiers"]["nodes"]
    assert any(t["gpuCount"] > 0 and t["gpuType"] for t in tiers)


def test_failed_executions_come_from_every_platform_in_the_window(shared: tuple[TestClient, Sandbox]) -> None:
    client, _ = shared
    answer = client.post("/graphql", json={"query": MANIFEST.by_name["FailedExecutions"].body, "variables": WINDOW}).json()
    executions = answer["data"]["executions"]
    assert executions["incomplete"] is False
    nodes = executions["nodes"]
    assert {n["platform"] for n in nodes} == {"ZENML", "DOMINO", "ABACUS"}
    assert {n["status"] for n in nodes} == {"FAILED"}
    assert all(WINDOW["startedAfter"][:10] <= n["startedAt"][:10] < WINDOW["startedBefore"][:10] for n in nodes)
    narrow = {"startedAfter": "2025-03-01T00:00:00Z", "startedBefore": "2025-04-01T00:00:00Z"}
    march = client.post("/graphql", json={"query": MANIFEST.by_name["FailedExecutions"].body, "variables": narrow}).json()
    assert 0 < len(march["data"]["executions"]["nodes"]) < len(nodes)
    assert all(n["startedAt"].startswith("2025-03") for n in march["data"]["executions"]["nodes"])


def test_ids_are_apollos_hash_of_the_printed_sorted_document() -> None:
    text = """
    # a comment that does not count
    fragment Who on ZenMLUser { name   email }
    query   Users($first: Int = 2) { zenml { users(first: $first) { nodes { ...Who } } } }
    """
    operation = operation_from_text(text)
    assert operation.body == (
        "query Users($first: Int = 2) {\n  zenml {\n    users(first: $first) {\n      nodes {\n"
        "        ...Who\n      }\n    }\n  }\n}\n\nfragment Who on ZenMLUser {\n  name\n  email\n}"
    )
    assert operation.id == hashlib.sha256(operation.body.encode()).hexdigest()
    assert (operation.name, operation.type) == ("Users", "query")
    reformatted = operation_from_text(" ".join(text.replace("# a comment that does not count", "").split()))
    assert reformatted.id == operation.id
    changed = operation_from_text(text.replace("email", "fullName"))
    assert changed.id != operation.id


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("query A { __typename } query B { __typename }", "holds 2 operations"),
        ("{ __typename }", "has no name"),
        ("fragment F on Query { __typename }", "holds 0 operations"),
        ("query A { ", "Syntax Error"),
    ],
)
def test_a_file_must_hold_one_named_operation(text: str, reason: str, tmp_path: Path) -> None:
    (tmp_path / "Bad.graphql").write_text(text)
    with pytest.raises(ManifestError, match=reason) as caught:
        load_manifest(tmp_path)
    assert "Bad.graphql" in str(caught.value)


def test_names_are_unique_across_files(tmp_path: Path) -> None:
    (tmp_path / "One.graphql").write_text("query Same { __typename }")
    (tmp_path / "Two.graphql").write_text("query Same { __typename __schema { description } }")
    with pytest.raises(ManifestError, match="operation Same repeats"):
        load_manifest(tmp_path)
    results = dict(check_folder(tmp_path, schema._schema))
    assert results[tmp_path / "One.graphql"] is None
    assert "also in One.graphql" in (results[tmp_path / "Two.graphql"] or "")


def test_check_reports_schema_errors_per_file(tmp_path: Path) -> None:
    (tmp_path / "Good.graphql").write_text("query Good { zenml { users(first: 1) { totalCount } } }")
    (tmp_path / "Stale.graphql").write_text("query Stale { zenml { userz { totalCount } } }")
    results = {p.name: why for p, why in check_folder(tmp_path, schema._schema, [DEPTH_RULE])}
    assert results["Good.graphql"] is None
    assert "Cannot query field 'userz' on type 'ZenMLQuery'" in (results["Stale.graphql"] or "")


def test_manifest_formats() -> None:
    apollo = MANIFEST.apollo()
    assert (apollo["format"], apollo["version"]) == ("apollo-persisted-query-manifest", 1)
    assert [o["name"] for o in apollo["operations"]] == sorted(MANIFEST.by_name)
    first = apollo["operations"][0]
    assert set(first) == {"id", "name", "type", "body"}
    assert first["id"] == hashlib.sha256(first["body"].encode()).hexdigest()
    assert MANIFEST.relay() == {o["id"]: o["body"] for o in apollo["operations"]}


def test_the_folder_is_configured_else_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert discover_folder(tmp_path / "mine") == tmp_path / "mine"
    assert discover_folder(None, cwd=tmp_path) == CHECKOUT_QUERIES == QUERIES  # a checkout's own
    (tmp_path / "queries").mkdir()
    assert discover_folder(None, cwd=tmp_path) == tmp_path / "queries"
    monkeypatch.chdir(tmp_path)
    assert discover_folder(None) == Path("queries")
    with pytest.raises(ManifestError, match="does not exist"):
        load_manifest(tmp_path / "missing")
    assert len(load_manifest(None)) == 0 and len(Manifest()) == 0
