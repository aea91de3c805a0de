"""Round trips: a backend call whose inputs the query already gives goes out
beside its parent, and an identical GET is sent once per request.

The ledger counts round trips from when each call was asked for and when it
was answered, so these tests give every emulated call 20 ms: calls asked for
together overlap, calls that waited for an answer do not.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlgraph.demo import build_sandbox
from mlgraph.settings import Settings
from tests.conftest import Gateway, open_gateway
from tests.test_graph_domino import visible_projects
from tests.test_graph_zenml import completed_run

BENCHMARK_QUERIES = Path(__file__).parent.parent / "benchmarks" / "queries"
ZENML_RUN = (BENCHMARK_QUERIES / "zenml_run.graphql").read_text()
DOMINO_JOBS = (BENCHMARK_QUERIES / "domino_jobs.graphql").read_text()


@pytest.fixture(scope="module", params=[True, False], ids=["level-by-level", "generic"])
def slow(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    sandbox = build_sandbox(latency_ms=20, settings=Settings(compiled_execution=request.param))
    yield from open_gateway(sandbox)


def test_the_canonical_zenml_query_takes_two_round_trips(slow: Gateway) -> None:
    answer = slow(ZENML_RUN, {"id": completed_run(slow.sandbox.zenml)})
    assert answer.errors == [] and answer.data["zenml"]["pipelineRun"]["steps"]["nodes"]
    ledger = answer.ledger
    assert ledger["calls"] == 3 and ledger["roundTrips"] == 2
    paths = [entry["path"] for entry in ledger["entries"]]
    assert paths[2].startswith("/api/v1/users")  # the only call that needed an answer first


def test_steps_are_not_started_when_the_query_does_not_ask_for_them(slow: Gateway) -> None:
    answer = slow("query($id: ID!) { zenml { pipelineRun(id: $id) { name } } }", {"id": completed_run(slow.sandbox.zenml)})
    assert answer.errors == [] and answer.ledger["calls"] == 1


def test_the_canonical_domino_query_takes_one_round_trip(slow: Gateway) -> None:
    project = visible_projects(slow.sandbox.domino)[0]
    answer = slow(DOMINO_JOBS, {"project": project, "first": 50})
    assert answer.errors == []
    jobs = answer.data["domino"]["jobs"]["nodes"]
    assert jobs and all(job["user"] and job["project"] and job["hardwareTier"] for job in jobs)
    assert answer.ledger["calls"] == 4 and answer.ledger["roundTrips"] == 1


def test_an_identical_get_is_sent_once_in_flight_or_answered(slow: Gateway) -> None:
    """The same run's steps asked at the root and again three levels down,
    after the first answer came: one call."""
    dataset = slow.sandbox.zenml
    run_id = completed_run(dataset)
    step = next(step for step in dataset.steps if step.pipeline_run_id == run_id)
    query = """query($run: ID!, $step: ID!) { zenml {
        pipelineRun(id: $run) { steps(first: 5) { nodes { name } } }
        stepRun(id: $step) { pipelineRun { steps(first: 5) { nodes { name } } } } } }"""
    answer = slow(query, {"run": run_id, "step": step.id})
    assert answer.errors == []
    root = answer.data["zenml"]
    assert root["pipelineRun"]["steps"] == root["stepRun"]["pipelineRun"]["steps"]
    step_lists = [entry for entry in answer.ledger["entries"] if f"/runs/{run_id}/steps" in entry["path"]]
    assert len(step_lists) == 1


PAGE = """query($id: ID!, $after: String) { zenml { pipelineRun(id: $id) { id
    steps(first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { name } } } } }"""


def test_paging_a_runs_steps_costs_one_call_a_page(slow: Gateway) -> None:
    dataset = slow.sandbox.zenml
    run_id = completed_run(dataset)
    expected = [step.name for step in dataset.steps if step.pipeline_run_id == run_id]
    names, after = [], None
    while True:
        answer = slow(PAGE, {"id": run_id, "after": after})
        assert answer.errors == [] and answer.ledger["calls"] == 1
        steps = answer.data["zenml"]["pipelineRun"]["steps"]
        names += [node["name"] for node in steps["nodes"]]
        if not steps["pageInfo"]["hasNextPage"]:
            break
        after = steps["pageInfo"]["endCursor"]
    assert names == expected and len(expected) > 3


def test_a_missing_run_whose_steps_are_asked_is_not_found(slow: Gateway) -> None:
    answer = slow(PAGE, {"id": "00000000-0000-4000-8000-000000000000", "after": None})
    assert answer.codes() == ["NOT_FOUND"] and answer.data["zenml"]["pipelineRun"]["steps"] is None
