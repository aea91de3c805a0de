"""Failures told whole on a real ZenML 0.98 server: the failing run of
``gateway_demo`` and the fan-out whose branch 29 raised, so that ``fan_in``
never started. A real server makes no step run for a step that never
starts: only the run's snapshot names it."""

from __future__ import annotations

import pytest

from mlgraph.graph.ids import global_id
from tests.conftest import GraphQLAnswer, Gateway

from .harness import PopulateSummary, ZenMLServer
from .test_calls_real import real  # noqa: F401  (both executors, no record cache: each query pays its calls)

pytestmark = pytest.mark.zenml_server

FAILURES = """query($id: ID!) { zenml { pipelineRun(id: $id) {
  status failure { message }
  failedExecutions { name failure { message exceptionType source detail } downstream { __typename name status } }
  dag { execution { __typename name status nativeStatus } upstream { name } downstream { name } }
} } }"""


def populated(zs: ZenMLServer) -> PopulateSummary:
    assert zs.populated is not None
    return zs.populated


def paths(answer: GraphQLAnswer) -> list[str]:
    return [entry["path"].split("?")[0] for entry in answer.ledger["entries"]]


def test_the_failing_run_names_its_step_and_what_it_raised(real: Gateway, zenml_server: ZenMLServer) -> None:
    failed = populated(zenml_server)["failed_run"]
    answer = real(FAILURES, {"id": failed["id"]})
    assert answer.errors == []
    run = answer.data["zenml"]["pipelineRun"]
    message = "evaluation failed on purpose (gateway tests)"
    # 0.98 records the reason on the step that raised, none on the run.
    assert run["status"] == "FAILED" and run["failure"] is None
    (step,) = run["failedExecutions"]
    assert step["name"] == failed["failed_step"] == "evaluate"
    assert step["failure"]["message"] == message
    assert step["failure"]["exceptionType"] == "builtins.RuntimeError" and step["failure"]["source"] == "exception_info"
    assert step["failure"]["detail"].endswith(f"RuntimeError: {message}") and "in evaluate" in step["failure"]["detail"]
    assert step["downstream"] == []  # the last step: it blocked nothing
    dag = {entry["execution"]["name"]: entry for entry in run["dag"]}
    assert list(dag) == ["load_data", "train_model", "evaluate"]
    assert {entry["execution"]["__typename"] for entry in run["dag"]} == {"ZenMLStepRun"}
    assert [u["name"] for u in dag["evaluate"]["upstream"]] == ["load_data", "train_model"]
    assert [d["name"] for d in dag["load_data"]["downstream"]] == ["train_model", "evaluate"]
    # The run, its steps hydrated beside it, then its snapshot: no more.
    assert sorted(paths(answer)) == ["/api/v1/pipeline_snapshots", "/api/v1/runs", "/api/v1/steps"]
    assert answer.ledger["roundTrips"] == 2


def test_the_failed_fan_out_lists_every_step_and_the_join_it_blocked(real: Gateway, zenml_server: ZenMLServer) -> None:
    fan = populated(zenml_server)["fan_out"]
    run = fan["runs"]["failed"]
    branches = [f"fan_branch_{index}" for index in range(fan["width"])]
    assert len(run["steps"]) == fan["width"] + 1 and "fan_in" not in run["steps"]  # what the server made
    answer = real(FAILURES, {"id": run["id"]})
    assert answer.errors == []
    got = answer.data["zenml"]["pipelineRun"]
    dag = {entry["execution"]["name"]: entry for entry in got["dag"]}
    assert len(got["dag"]) == len(dag) == fan["width"] + 2 == 32
    assert set(dag) == {"fan_source", "fan_in", *branches}
    join = dag["fan_in"]
    assert join["execution"] == {
        "__typename": "ZenMLSnapshotStep", "name": "fan_in", "status": "SKIPPED", "nativeStatus": "not_started"
    }
    assert sorted(u["name"] for u in join["upstream"]) == sorted(branches) and join["downstream"] == []
    assert sorted(d["name"] for d in dag["fan_source"]["downstream"]) == sorted(branches)
    for branch in branches:
        assert [u["name"] for u in dag[branch]["upstream"]] == ["fan_source"]
        assert [d["name"] for d in dag[branch]["downstream"]] == ["fan_in"]
        assert dag[branch]["execution"]["status"] == ("FAILED" if branch == fan["failed_step"] else "CACHED")
    (failed,) = got["failedExecutions"]
    assert failed["name"] == fan["failed_step"] == "fan_branch_29"
    assert failed["failure"]["message"] == "branch 29 failed on purpose (gateway tests)"
    assert failed["failure"]["exceptionType"] == "builtins.RuntimeError"
    assert failed["downstream"] == [{"__typename": "ZenMLSnapshotStep", "name": "fan_in", "status": "SKIPPED"}]
    assert sorted(paths(answer)) == ["/api/v1/pipeline_snapshots", "/api/v1/runs", "/api/v1/steps"]


def test_a_never_started_step_is_a_node_on_a_real_server(real: Gateway, zenml_server: ZenMLServer) -> None:
    run = populated(zenml_server)["fan_out"]["runs"]["failed"]
    node_id = global_id("ZenMLSnapshotStep", f"{run['id']}/fan_in")
    answer = real("""query($id: ID!) { node(id: $id) { id ... on ZenMLSnapshotStep {
        name status pipelineRun { name } upstream { name } downstream { name } } } }""", {"id": node_id})
    assert answer.errors == []
    node = answer.data["node"]
    assert (node["id"], node["name"], node["status"]) == (node_id, "fan_in", "SKIPPED")
    assert node["pipelineRun"] == {"name": run["name"]} and len(node["upstream"]) == 30 and node["downstream"] == []
    # No run read for the DAG: its steps name their snapshot; the run once, for its name.
    assert sorted(paths(answer)) == ["/api/v1/pipeline_snapshots", "/api/v1/runs", "/api/v1/steps"]


def test_listed_runs_read_only_the_snapshots_of_runs_that_did_not_complete(real: Gateway, zenml_server: ZenMLServer) -> None:
    """A completed run ran every step its snapshot planned: its steps are its DAG."""
    answer = real("{ zenml { pipelineRuns(first: 20) { nodes { name status dag { execution { name status } } } } } }")
    assert answer.errors == []
    runs = answer.data["zenml"]["pipelineRuns"]["nodes"]
    fan = populated(zenml_server)["fan_out"]
    sizes = {run["name"]: len(run["dag"]) for run in runs}
    assert sizes[fan["runs"]["ok"]["name"]] == sizes[fan["runs"]["failed"]["name"]] == 32
    assert {len(run["dag"]) for run in runs if run["name"].startswith("gateway_demo")} == {3}
    called = paths(answer)
    assert called.count("/api/v1/pipeline_snapshots") == 1  # the two failed runs' snapshots, one oneof call
    assert called.count("/api/v1/steps") == len(runs) and answer.calls == len(runs) + 2
