"""Failures told whole, over the emulators: why each platform's execution
failed, a run's DAG with the steps that never started, and what a failure
blocked downstream, with the calls each costs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from mlgraph.backends import zenml as wire
from mlgraph.demo import build_sandbox
from mlgraph.graph.failure import DETAIL_LIMIT, LINE_LIMIT, ExecutionFailure
from mlgraph.graph.ids import global_id
from mlgraph.graph.interfaces import ExecutionStatus
from mlgraph.graph.zenml.dag import RunDag
from mlgraph.sandbox.zenml_data import PipelineRun, Snapshot, SnapshotStep, ZenMLDataset
from tests.conftest import GraphQLAnswer, Gateway, open_gateway


def paths(answer: GraphQLAnswer) -> list[str]:
    return [entry["path"].split("?")[0] for entry in answer.ledger["entries"]]


def without_urls(text: str | None) -> str | None:
    """A platform's text as a failure tells it: a storage path or a host is
    not passed on (Abacus.AI's errors name ``s3://`` locations)."""
    return re.sub(r"\b[a-z][a-z0-9+.-]*://\S+", "<url>", text) if text is not None else None


# ---------------------------------------------------------------- ZenML

ZENML_DAG = """query($id: ID!) { zenml { pipelineRun(id: $id) {
  dag { execution { __typename name status nativeStatus } upstream { name } downstream { name } }
} } }"""

FAILED_STEPS = """query($id: ID!) { zenml { pipelineRun(id: $id) {
  failedExecutions { name status failure { message exceptionType source detail } }
} } }"""


def failed_runs(ds: ZenMLDataset) -> list[PipelineRun]:
    runs = [run for run in ds.runs if run.status == "failed"]
    assert runs
    return runs


def snapshot_of(ds: ZenMLDataset, run: PipelineRun) -> Snapshot:
    pipeline = next(p for p in ds.pipelines if p.id == run.pipeline_id)
    return next(s for s in ds.snapshots if s.id == pipeline.snapshot_id)


def below(steps: list[SnapshotStep], name: str) -> set[str]:
    """The planned steps that wait, however far down, for ``name``."""
    found: set[str] = set()
    for step in steps:  # in execution order: a step comes after those it waits for
        if name in step.upstream_steps or found & set(step.upstream_steps):
            found.add(step.name)
    return found


def test_zenml_dag_of_a_failed_run_lists_the_steps_that_never_started(gateway: Gateway) -> None:
    ds = gateway.sandbox.zenml
    for run in failed_runs(ds):
        planned = snapshot_of(ds, run).steps
        failed = planned[len(run.step_ids) - 1].name
        answer = gateway(ZENML_DAG, {"id": run.id})
        assert answer.errors == []
        dag = answer.data["zenml"]["pipelineRun"]["dag"]
        assert [entry["execution"]["name"] for entry in dag] == [step.name for step in planned]
        for entry, step in zip(dag, planned):
            assert sorted(up["name"] for up in entry["upstream"]) == sorted(step.upstream_steps)
            waiting = [other.name for other in planned if step.name in other.upstream_steps]
            assert sorted(down["name"] for down in entry["downstream"]) == sorted(waiting)
        never = dag[len(run.step_ids) :]
        assert never and {entry["execution"]["__typename"] for entry in never} == {"ZenMLSnapshotStep"}
        assert {(e["execution"]["status"], e["execution"]["nativeStatus"]) for e in never} == {("SKIPPED", "not_started")}
        assert dag[len(run.step_ids) - 1]["execution"]["status"] == "FAILED"
        # The steps, then the deployment they name; the run itself only when
        # a never-started step is not below the failed one (has its run ended?).
        read_run = any(entry["execution"]["name"] not in below(planned, failed) for entry in never)
        assert paths(answer)[:2] == ["/api/v1/steps", "/api/v1/pipeline_deployments"]
        assert answer.calls == 2 + read_run and answer.ledger["roundTrips"] == 2 + read_run


def test_zenml_failed_step_says_what_it_raised(gateway: Gateway) -> None:
    """The seed layout records what older servers did: the traceback alone;
    its last line is the message."""
    ds = gateway.sandbox.zenml
    steps = {step.id: step for step in ds.steps}
    for run in failed_runs(ds):
        answer = gateway(FAILED_STEPS, {"id": run.id})
        step = steps[run.step_ids[-1]]
        assert step.failure is not None
        assert answer.data["zenml"]["pipelineRun"]["failedExecutions"] == [{
            "name": step.name,
            "status": "FAILED",
            "failure": {
                "message": f"ValueError: {step.failure.message}",
                "exceptionType": None,
                "source": "exception_info",
                "detail": step.failure.traceback.rstrip(),
            },
        }]
        assert paths(answer) == ["/api/v1/steps"]  # the run's steps, hydrated: one call


def test_zenml_runs_that_did_not_fail_cost_nothing_more(gateway: Gateway) -> None:
    ds = gateway.sandbox.zenml
    run = next(run for run in ds.runs if run.status == "completed")
    answer = gateway("""query($id: ID!) { zenml { pipelineRun(id: $id) { status failure { message }
        failedExecutions { name } } } }""", {"id": run.id})
    assert answer.data["zenml"]["pipelineRun"] == {"status": "SUCCEEDED", "failure": None, "failedExecutions": []}
    assert paths(answer) == ["/api/v1/runs"]
    for status in ("FAILED", None):
        answer = gateway("""query($status: ExecutionStatus) { zenml { stepRuns(first: 100, status: $status) {
            nodes { status failure { message source } } } } }""", {"status": status})
        nodes = answer.data["zenml"]["stepRuns"]["nodes"]
        assert nodes and all((n["failure"] is not None) == (n["status"] == "FAILED") for n in nodes)
        assert answer.calls == 1  # the list comes hydrated: reasons are metadata


def test_zenml_dags_of_listed_runs_read_their_snapshots_in_one_call(gateway: Gateway) -> None:
    """A listed run says its status: one that completed ran every planned step
    and needs no snapshot; the others' snapshots come in one ``oneof`` call."""
    ds = gateway.sandbox.zenml
    answer = gateway("{ zenml { pipelineRuns(first: 30) { nodes { status dag { execution { name status } } } } } }")
    assert answer.errors == []
    runs = answer.data["zenml"]["pipelineRuns"]["nodes"]
    assert len(runs) == len(ds.runs) == 30
    assert sum(len(run["dag"]) for run in runs) == sum(len(snapshot_of(ds, run).steps) for run in ds.runs)
    called = paths(answer)
    assert called.count("/api/v1/pipeline_deployments") == 1 and called.count("/api/v1/steps") == 30
    assert answer.calls == 32 and answer.ledger["roundTrips"] == 2


def test_zenml_downstream_of_every_step_costs_what_one_dag_costs(gateway: Gateway) -> None:
    ds = gateway.sandbox.zenml
    run = failed_runs(ds)[0]
    planned = snapshot_of(ds, run).steps
    answer = gateway("""query($id: ID!) { zenml { pipelineRun(id: $id) {
        steps(first: 50) { nodes { name downstream { __typename name } } } } } }""", {"id": run.id})
    nodes = answer.data["zenml"]["pipelineRun"]["steps"]["nodes"]
    assert [n["name"] for n in nodes] == [step.name for step in planned[: len(run.step_ids)]]
    for node in nodes:
        assert sorted(d["name"] for d in node["downstream"]) == sorted(
            step.name for step in planned if node["name"] in step.upstream_steps
        )
    # The page of steps; every step's run read once, hydrated, with its deployment.
    assert sorted(paths(answer)) == sorted(["/api/v1/runs/{}/steps".format(run.id), "/api/v1/steps",
                                            "/api/v1/pipeline_deployments"])


def test_zenml_downstream_of_listed_steps_grows_with_their_runs_not_their_number(gateway: Gateway) -> None:
    ds = gateway.sandbox.zenml
    newest = sorted(ds.steps, key=lambda step: step.created, reverse=True)[:40]
    runs = {step.pipeline_run_id for step in newest}
    answer = gateway("{ zenml { stepRuns(first: 40) { nodes { name downstream { name } } } } }")
    assert answer.errors == [] and len(answer.data["zenml"]["stepRuns"]["nodes"]) == 40
    # The list hydrated (a step names its run in metadata), each run's steps, their snapshots at once.
    assert paths(answer).count("/api/v1/steps") == 1 + len(runs) and answer.calls == 2 + len(runs)


def test_zenml_a_never_started_step_is_a_node(gateway: Gateway) -> None:
    ds = gateway.sandbox.zenml
    run = failed_runs(ds)[0]
    planned = snapshot_of(ds, run).steps[len(run.step_ids)]
    node_id = global_id("ZenMLSnapshotStep", f"{run.id}/{planned.name}")
    query = """query($id: ID!) { node(id: $id) { id ... on ZenMLSnapshotStep {
        nativeId name status failure { message } inputs { id } user { name } startedAt
        resources { cpuCores memoryGib } pipelineRun { nativeId } upstream { name } } } }"""
    answer = gateway(query, {"id": node_id})
    assert answer.errors == []
    node = answer.data["node"]
    resources = planned.settings.get("resources")
    assert node["id"] == node_id and node["nativeId"] == f"{run.id}/{planned.name}" and node["name"] == planned.name
    assert (node["status"], node["failure"], node["inputs"], node["user"], node["startedAt"]) == ("SKIPPED", None, [], None, None)
    assert (node["resources"] is None) == (resources is None)
    assert node["pipelineRun"] == {"nativeId": run.id}
    assert sorted(u["name"] for u in node["upstream"]) == sorted(planned.upstream_steps)
    started = next(step for step in ds.steps if step.pipeline_run_id == run.id)
    for missing in (f"{run.id}/{started.name}", f"{run.id}/no-such-step"):
        answer = gateway(query, {"id": global_id("ZenMLSnapshotStep", missing)})
        assert answer.data["node"] is None and answer.codes() == ["NOT_FOUND"]
    answer = gateway(query, {"id": global_id("ZenMLSnapshotStep", "not-a-run/x")})
    assert answer.codes() == ["BAD_USER_INPUT"] and answer.calls == 0


@pytest.fixture(scope="module")
def current() -> Iterator[Gateway]:
    """The ZenML 0.98 layout: exception info with its message and class,
    snapshots under their own name, runs that say whether they go on."""
    yield from open_gateway(build_sandbox(layout="current"))


def test_zenml_0_98_says_the_message_and_the_class(current: Gateway) -> None:
    ds = current.sandbox.zenml
    steps = {step.id: step for step in ds.steps}
    run = failed_runs(ds)[0]
    answer = current("""query($id: ID!) { zenml { pipelineRun(id: $id) { failure { message source }
        failedExecutions { failure { message exceptionType } } dag { execution { name } } } } }""", {"id": run.id})
    node = answer.data["zenml"]["pipelineRun"]
    failure = steps[run.step_ids[-1]].failure
    assert failure is not None
    assert node["failedExecutions"] == [{"failure": {"message": failure.message, "exceptionType": failure.source}}]
    assert node["failure"] == {"message": run.status_reason, "source": "status_reason"}
    assert len(node["dag"]) == len(snapshot_of(ds, run).steps)
    assert "/api/v1/pipeline_snapshots" in paths(answer) and "/api/v1/pipeline_deployments" not in paths(answer)


def step_run(name: str, status: str, parents: list[str] = []) -> wire.ZenMLStepRun:
    return wire.ZenMLStepRun.model_validate({"id": f"id-{name}", "name": name, "status": status, "parent_step_ids": parents})


def snapshot(plan: dict[str, list[str]], dynamic: bool = False) -> wire.ZenMLSnapshot:
    configurations = {name: {"spec": {"upstream_steps": upstream}} for name, upstream in plan.items()}
    return wire.ZenMLSnapshot.model_validate({"id": "s", "is_dynamic": dynamic, "step_configurations": configurations})


def test_a_never_started_step_is_queued_until_it_cannot_start() -> None:
    """Below a failed step it is SKIPPED at once (a 0.98 run goes on with the
    other branches); otherwise it waits while its run goes on."""
    plan = {"a": [], "b": ["a"], "c": ["b"], "side": []}
    dag = RunDag("r", [step_run("a", "failed")], snapshot(plan))
    assert [vertex.name for vertex in dag.vertices] == ["a", "b", "c", "side"]
    assert dag.blocked == {"r/b", "r/c"} and dag.waits_on_run
    dag.run_ended = False
    assert [dag.status(dag.planned[name]) for name in ("b", "c", "side")] == [
        ExecutionStatus.SKIPPED, ExecutionStatus.SKIPPED, ExecutionStatus.QUEUED
    ]
    dag.run_ended = True
    assert dag.status(dag.planned["side"]) is ExecutionStatus.SKIPPED
    running = RunDag("r", [step_run("a", "running")], snapshot(plan))
    assert running.blocked == set() and [v.name for v in running.downstream("id-a")] == ["b"]
    assert [v.name for v in running.upstream("r/c")] == ["b"] and running.upstream("id-a") == []
    assert RunDag("r", [step_run("a", "completed")], snapshot(plan, dynamic=True)).planned == {}


# ---------------------------------------------------------------- the text that leaves

def test_failure_text_is_bounded_and_carries_no_url_or_credential() -> None:
    secrets = [
        "https://admin:hunter2@zenml.internal:8080/api/v1/steps",
        "Authorization: Bearer abc.def.ghi",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
        "ZENKEY_eyJpZCI6IjQ4NTg2YTc0In0=",
        "password='hunter2'",
        "api_key=k-123",
    ]
    traceback = "\n".join(
        [f'  File "steps.py", line {i}, in step\n    call({"x" * 900!r})' for i in range(20)]
        + [f"    raise ValueError({secret!r})" for secret in secrets]
        + [f"ValueError: cannot reach {secrets[0]} with {secrets[1]} token=s3cr3t"]
    )
    failure = ExecutionFailure.of(traceback, "exception_info")
    assert failure is not None and failure.detail is not None
    for text in (failure.message, failure.detail):
        for leak in ("hunter2", "zenml.internal", "abc.def.ghi", "eyJhbGci", "ZENKEY_", "k-123", "s3cr3t"):
            assert leak not in text
    assert failure.message.startswith("ValueError: cannot reach <url> with Authorization: Bearer <redacted>")
    assert len(failure.message) <= LINE_LIMIT and len(failure.detail) <= DETAIL_LIMIT
    assert failure.detail.endswith(failure.message) and failure.detail.startswith("…")
    assert "\n    raise ValueError(" in failure.detail  # indentation kept
    assert ExecutionFailure.of(None, "error") is None and ExecutionFailure.of(" \n", "error") is None
    one_line = ExecutionFailure.of("Step x failed: boom", "error")
    assert one_line is not None and (one_line.message, one_line.detail) == ("Step x failed: boom", None)


# ---------------------------------------------------------------- Domino

def test_domino_failed_jobs_say_why_at_one_small_call_each(gateway: Gateway) -> None:
    """The job record says only that it failed; the reason is its logs'
    ``problem``, read for failed jobs alone, one line of logs each."""
    data = gateway.sandbox.domino
    failed = {job.id for job in data.jobs if job.status in ("Failed", "Error") and data.can_access(job.project_id)}
    project = max({job.project_id for job in data.jobs if job.id in failed},
                  key=lambda p: sum(job.project_id == p for job in data.jobs if job.id in failed))
    answer = gateway("""query($p: ID!) { domino { jobs(project: $p, first: 100, showArchived: true) { nodes {
        nativeId status failure { message exceptionType source detail } upstream { name } downstream { name } } } } }""",
                     {"p": project})
    assert answer.errors == []
    jobs = {job.id: job for job in data.jobs}
    nodes = answer.data["domino"]["jobs"]["nodes"]
    shown_failed = [node for node in nodes if node["nativeId"] in failed]
    assert shown_failed
    for node in nodes:
        job = jobs[node["nativeId"]]
        expected = None
        if node["nativeId"] in failed:
            expected = {"message": job.problem, "exceptionType": None, "source": "logs.problem", "detail": None}
        assert node["failure"] == expected and node["upstream"] is None and node["downstream"] is None
    logs = [entry["path"] for entry in answer.ledger["entries"] if entry["path"].split("?")[0].endswith("/logs")]
    assert len(logs) == len(shown_failed) and all("limit=1" in path for path in logs)
    assert answer.calls == 1 + len(shown_failed)


# ---------------------------------------------------------------- Abacus.AI

ABACUS_FAILED = """query($id: ID!) { abacus { pipelineVersion(id: $id) {
  status failure { message source }
  failedExecutions { name failure { message source detail } downstream { name status } }
  dag { execution { name status } upstream { name } downstream { name } }
} } }"""


def test_abacus_failed_version_names_its_step_and_what_it_blocked(gateway: Gateway) -> None:
    data = gateway.sandbox.abacus
    by_id = {step.id: step for step in data.step_versions}
    versions = [version for version in data.pipeline_versions if version.status == "FAILED"]
    assert versions
    for version in versions:
        steps = [by_id[i] for i in version.step_version_ids]
        (failed,) = [step for step in steps if step.status == "FAILED"]
        answer = gateway(ABACUS_FAILED, {"id": version.id})
        assert answer.errors == []
        node = answer.data["abacus"]["pipelineVersion"]
        assert node["status"] == "FAILED" and node["failure"] == {"message": without_urls(version.error), "source": "error"}
        waiting = [step for step in steps if failed.name in step.step_dependencies]
        assert node["failedExecutions"] == [{
            "name": failed.name,
            "failure": {"message": without_urls(failed.error), "source": "error", "detail": None},
            "downstream": [{"name": step.name, "status": "SKIPPED"} for step in waiting],
        }]
        for entry, step in zip(node["dag"], steps):
            assert [up["name"] for up in entry["upstream"]] == step.step_dependencies
            assert [down["name"] for down in entry["downstream"]] == [s.name for s in steps if step.name in s.step_dependencies]
        after = [entry["execution"]["status"] for entry in node["dag"][steps.index(failed) + 1 :]]
        assert set(after) <= {"SKIPPED"}
        assert [path.split("?")[0].rsplit("/", 1)[-1] for path in paths(answer)] == ["describePipelineVersion"]


def test_abacus_step_downstream_reads_its_run_once(gateway: Gateway) -> None:
    data = gateway.sandbox.abacus
    version = next(version for version in data.pipeline_versions if version.status == "FAILED")
    by_id = {step.id: step for step in data.step_versions}
    steps = [by_id[i] for i in version.step_version_ids]
    ids = [global_id("AbacusPipelineStepVersion", step.id) for step in steps]
    answer = gateway("""query($ids: [ID!]!) { nodes(ids: $ids) { ... on AbacusPipelineStepVersion {
        name downstream { name } failure { message } } } }""", {"ids": ids})
    assert answer.errors == []
    for node, step in zip(answer.data["nodes"], steps):
        assert [d["name"] for d in node["downstream"]] == [s.name for s in steps if step.name in s.step_dependencies]
        assert node["failure"] == ({"message": without_urls(step.error)} if step.status == "FAILED" else None)
    methods: list[Any] = [path.rsplit("/", 1)[-1] for path in paths(answer)]
    assert methods.count("describePipelineVersion") == 1
    assert methods.count("describePipelineStepVersion") == len(steps)
