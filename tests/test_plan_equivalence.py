"""The level-by-level executor answers exactly as Strawberry's generic one.

Each query runs on two gateways over identical emulators, one per executor;
data must be equal, errors equal as a set (their order may differ), and the
level-by-level executor may never cost more backend calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mlgraph.demo import build_sandbox
from mlgraph.graph.ids import global_id
from mlgraph.graph.schema import schema
from mlgraph.sandbox.zenml_data import ZenMLDataset
from mlgraph.settings import Settings
from tests.conftest import Gateway, GraphQLAnswer, open_gateway


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Gateway, Gateway]]:
    compiled = build_sandbox(settings=Settings(compiled_execution=True))
    generic = build_sandbox(settings=Settings(compiled_execution=False))
    for fast in open_gateway(compiled):
        for slow in open_gateway(generic):
            yield fast, slow


def dataset() -> ZenMLDataset:
    return ZenMLDataset.generate()


def _ids() -> dict[str, str]:
    data = dataset()
    run = next(r for r in data.runs if r.status == "completed")
    failed = next(r for r in data.runs if r.status == "failed")
    cached = next(s for s in data.steps if s.status == "cached")
    return {
        "run": run.id,
        "failedRun": global_id("ZenMLPipelineRun", failed.id),
        "cached": cached.id,
        "user": global_id("ZenMLUser", data.users[0].id),
        "missing": global_id("ZenMLStepRun", "00000000-0000-4000-8000-000000000000"),
        "model": global_id("ZenMLModel", data.models[0].id),
        "service": data.services[0].id,
    }


QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "nested run": (
        """query($run: ID!) { zenml { pipelineRun(id: $run) { name status startedAt endedAt user { name email }
             steps(first: 50) { totalCount pageInfo { hasNextPage endCursor startCursor hasPreviousPage }
               edges { cursor node { __typename id name status nativeStatus durationSeconds
                 inputs { name version } outputs { uri producer { name user { name email } } consumers { name } } } } } } } }""",
        {},
    ),
    "fragments and aliases": (
        """fragment Who on User { name email isServiceAccount }
           fragment StepBits on ZenMLStepRun { nativeId cacheKey namedOutputs { name artifactVersion { version } } }
           query($run: ID!) { zenml { a: pipelineRun(id: $run) { n: name steps(first: 5) { nodes { ...StepBits
             ... on Execution { user { ...Who } pipelineRun { name } } __typename } } } } }""",
        {},
    ),
    "skip and include": (
        """query($run: ID!, $yes: Boolean!, $no: Boolean!) { zenml { pipelineRun(id: $run) {
             name @include(if: $yes) status @skip(if: $yes)
             steps(first: 3) @include(if: $no) { totalCount } dag { execution { name } upstream { name } } } } }""",
        {"yes": True, "no": False},
    ),
    "nodes with a missing slot": (
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on User { name } ... on Execution { name status } } }",
        {"ids": ["user", "missing", "failedRun"]},
    ),
    "errors beside data": (
        """query($missing: ID!) { bad: node(id: $missing) { id } worse: node(id: "garbage!") { id }
             zenml { users(first: 2) { nodes { name } } stepRun(id: "not-a-uuid") { name } } }""",
        {},
    ),
    "enum arguments and paging": (
        """{ zenml { stepRuns(first: 7, status: FAILED) { totalCount nodes { name status resources { cpuCores memoryGib gpuCount } } }
             page2: pipelineRuns(first: 4, after: "b2Zmc2V0OjM") { edges { cursor node { name } } } } }""",
        {},
    ),
    "models and services": (
        """query($model: ID!, $service: ID!) { node(id: $model) { ... on ZenMLModel { name description tags { name }
             versions(first: 10) { nodes { name number stage runMetadata model { name } } } } }
             zenml { service(id: $service) { name serviceType { type flavor } labels config pipelineRun { name } modelVersion { name } } } }""",
        {},
    ),
    "cached producer and lineage": (
        """query($cached: ID!) { zenml { stepRun(id: $cached) { status originalStepRun { name status }
             outputs { producer { nativeId } artifact { name latestVersion { version } } tags { name } } } } }""",
        {},
    ),
    "typename only": ("{ __typename zenml { __typename } }", {}),
    "null skip condition": ("query($run: ID!, $s: Boolean = true) { zenml { pipelineRun(id: $run) { name @skip(if: $s) status } } }", {"s": None}),
    "first zero and bad first": ("{ zenml { a: stepRuns(first: 0) { totalCount nodes { name } } b: stepRuns(first: 100000) { totalCount } } }", {}),
}


def resolve_variables(variables: dict[str, Any]) -> dict[str, Any]:
    ids = _ids()
    resolved = {name: ids.get(value, value) if isinstance(value, str) else value for name, value in variables.items()}
    resolved.update({name: None for name, value in variables.items() if value is None})
    if "ids" in resolved:
        resolved["ids"] = [ids[name] for name in variables["ids"]]
    for name in ("run", "cached", "model", "service"):
        resolved.setdefault(name, ids[name])
    resolved.setdefault("missing", ids["missing"])
    return resolved


def comparable(answer: GraphQLAnswer) -> tuple[Any, list[tuple[str, str, str]]]:
    errors = sorted(
        (repr(error.get("path")), error["message"], repr(sorted(error.get("extensions", {}).items())))
        for error in answer.errors
    )
    return answer.data, errors


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_same_answer_both_ways(pair: tuple[Gateway, Gateway], name: str) -> None:
    query, variables = QUERIES[name]
    declared = {part.split(":")[0].strip() for part in query.split("query(", 1)[1].split(")")[0].split("$")[1:]} if "query(" in query else set()
    values = {key: value for key, value in resolve_variables(variables).items() if key in declared}
    assert schema.plans.get(query, None) is not None  # the fast gateway did not fall back
    fast, slow = (gateway(query, values) for gateway in pair)
    assert comparable(fast) == comparable(slow)
    assert fast.calls <= slow.calls
    assert fast.data is not None or fast.errors


def test_invalid_documents_fall_back_with_the_same_errors(pair: tuple[Gateway, Gateway]) -> None:
    for query in ("{ zenml { nope } }", "{ zenml { ", "query($x: Int!) { __typename }"):
        fast, slow = (gateway(query) for gateway in pair)
        assert comparable(fast) == comparable(slow) and fast.errors
    introspection = "{ __schema { queryType { name } } }"
    assert schema.plans.get(introspection, None) is None  # left to the generic executor
    fast, slow = (gateway(introspection) for gateway in pair)
    assert comparable(fast) == comparable(slow) and fast.data == {"__schema": {"queryType": {"name": "Query"}}}


def test_variables_are_coerced_the_same(pair: tuple[Gateway, Gateway]) -> None:
    query = "query($first: Int!) { zenml { users(first: $first) { totalCount } } }"
    for variables in ({"first": "two"}, {}, {"first": 2}):
        fast, slow = (gateway(query, variables) for gateway in pair)
        assert comparable(fast) == comparable(slow)


NULL_DATA = {
    "a failing non-null root beside a failing slot": (
        '{ nodes(ids: ["garbage!"]) { id } person(email: "x") { email } }',
        ["person"],
    ),
    "a failing non-null root after a nullable failure": (
        '{ a: node(id: "garbage!") { id } person(email: "x") { email } }',
        ["person"],
    ),
    "two failing non-null roots": ('{ p: person(email: "x") { email } q: person(email: "y") { email } }', ["p"]),
    "a failing root before merged lists": (
        "{ pipelineRuns(first: -1) { nodes { id } } modelVersions { incomplete } }",
        ["pipelineRuns"],
    ),
    "a failing root after merged lists": (
        "{ executions(first: 5) { nodes { id } } pipelineRuns(first: -1) { nodes { id } } }",
        ["pipelineRuns"],
    ),
}


@pytest.mark.parametrize("name", sorted(NULL_DATA))
def test_null_data_reports_the_errors_that_nulled_it(pair: tuple[Gateway, Gateway], name: str) -> None:
    """data: null carries exactly the errors that reached the root, on both
    executors, and the fast one stops what can no longer be answered."""
    query, paths = NULL_DATA[name]
    assert schema.plans.get(query, None) is not None
    fast, slow = (gateway(query) for gateway in pair)
    assert fast.data is None and slow.data is None
    assert comparable(fast) == comparable(slow)
    assert [error["path"][0] for error in fast.errors] == paths
    assert fast.calls <= slow.calls
    if "merged lists" in name:
        assert fast.calls == 0  # the merged lists were stopped before their calls went out


def test_loads_of_one_kind_batch_across_root_fields(pair: tuple[Gateway, Gateway]) -> None:
    steps = dataset().steps
    first, second = (global_id("ZenMLStepRun", step.id) for step in steps[:2])
    query = "query($a: ID!, $b: ID!) { node(id: $a) { id } nodes(ids: [$b]) { id } }"
    fast, slow = (gateway(query, {"a": first, "b": second}) for gateway in pair)
    assert comparable(fast) == comparable(slow)
    assert fast.data == {"node": {"id": first}, "nodes": [{"id": second}]}
    assert fast.calls == slow.calls == 1
