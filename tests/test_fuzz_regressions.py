"""Counterexamples the executor fuzz found (tests/test_fuzz_executors.py), shrunk
by hand and kept as explicit tests: both executors must agree on each (data,
error set, no INTERNAL_SERVER_ERROR, no more calls level by level).

`{name}` in a query is a value of the demo data (`values`), so the documents
name the same objects however the data's ids are generated.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from graphql import parse, validate

from mlgraph.graph.ids import global_id
from mlgraph.graph.schema import schema
from tests.executor_pair import Pair, check_agreement, open_pair

COUNTEREXAMPLES: dict[str, str] = {
    # Found at a0ff840 (before 17e7b0d). node and nodes each loaded the same
    # kind in their own batch, level by level: 2 ZenML calls, generic 1.
    "node and nodes load one kind in one batch": (
        "{ node(id: {artifact_version_a}) { id } nodes(ids: [{artifact_version_b}]) { id } }"
    ),
    # ... and the level below them, reached from both roots, too: 4 calls for 3.
    "node and nodes batch the level below them too": (
        "{ node(id: {artifact_version_a}) { ... on ZenMLArtifactVersion { producer { id } } }"
        " nodes(ids: [{run}, {artifact_version_b}]) { id ... on ZenMLArtifactVersion { producer { id } } } }"
    ),
    # A non-null root failing nulls the whole answer; level by level the
    # other roots still ran: `platforms` made 3 calls, generic 0.
    "a failing non-null root stops its siblings' calls": '{ person(email: "x") { email } platforms { code } }',
    # ... the same with a merged list refusing its cursor (one of another filter).
    "a failing merged list stops its siblings' calls": (
        '{ pipelineRuns(first: 0, after: {pipeline_runs_cursor}, filter: { nameContains: "run" }) { incomplete }'
        " platforms { code } }"
    ),
    # Level by level reported every failing non-null root; generic, only the
    # one that nulled the answer.
    "two failing non-null roots": '{ person(email: "a") { email } person1: person(email: "b") { email } }',
    "two failing merged lists": "{ executions(first: -1) { incomplete } hardwareTiers(first: -1) { incomplete } }",
    # ... and a slot of `nodes` that failed beside it (issue 14's example).
    "a failing slot beside a failing non-null root": '{ nodes(ids: ["garbage!"]) { id } person(email: "x") { email } }',
    # Found at 1860755. Two failing non-null roots again: level by level the
    # first in the document (a merged list, which checks its arguments when
    # awaited), generic the first to fail (person, which fails at once).
    "a merged list failing before a failing non-null root": (
        '{ users(first: -1) { incomplete } person(email: "x") { email } }'
    ),
    # abacus.me (level 2) asked describeUser again after platforms' readiness
    # ping (level 1) had answered it: 4 calls, generic 3, which shares the
    # GET while in flight.
    "a GET already answered in the request is not sent again": "{ abacus { me { fullName } } platforms { code } }",
    # ... the same between a merged list's Abacus.AI source and abacus.pipelines
    # (listPipelines), found in a working tree between 1860755 and its successor.
    "a merged list and a platform field share one GET": (
        "{ pipelineRuns { incomplete } abacus { pipelines { nodes { name } } } }"
    ),
    # Found at e2c97c8 by the fuzz in CI. The generic executor finds the step's
    # pipeline among those abacus.pipelines listed (the list primes the
    # loader); level by level it is read again by describePipeline: 3 calls for 2.
    "a sibling list's records serve a nested load": (
        "{ node(id: {abacus_step}) { ... on AbacusPipelineStep { pipeline { createdBy } } }"
        " abacus { pipelines { totalCount } } }"
    ),
    # Found in issue 16's working tree (the schema's new fields moved the
    # fuzz's draws). A project's jobs started their tier and user lists
    # beside the list and forgot them: level by level they went out, generic
    # the answer came first (2 Domino calls for 1) when the window held no
    # job: none asked for, ...
    "a window of no jobs starts none of their look-ups": (
        "{ domino { jobs(project: {domino_project}, first: 0) { nodes { hardwareTier { name } } } } }"
    ),
    # ... or none left by a filter; now the list waits for its look-ups.
    "a status no job has: the look-ups are made alike": (
        "{ domino { jobs(project: {domino_project}, status: UNKNOWN) { nodes { hardwareTier { name } } } } }"
    ),
    "a tag no job has: the look-ups are made alike": (
        '{ domino { jobs(project: {domino_project}, tag: "0309758340") { nodes { user { name } } } } }'
    ),
}
#: Found at 17e7b0d by the fuzz's harvest (whose first version wrote `dag { }`),
#: not by the fuzz: graphql-core parses an empty selection set and the depth
#: rule then failed on max() of nothing: INTERNAL_SERVER_ERROR on both
#: executors, with HTTP 500 level by level and 200 generic.
EMPTY_SELECTIONS = ["{ zenml { } }", "{ node(id: {run}) { } }"]


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    yield from open_pair()


@pytest.fixture(scope="module")
def values(pair: Pair) -> dict[str, str]:
    """Values for the queries' `{name}`s, as GraphQL literals."""
    sandbox = pair[1].sandbox
    first_page = pair[1]("{ pipelineRuns(first: 2) { pageInfo { endCursor } } }")
    literals = {
        "artifact_version_a": global_id("ZenMLArtifactVersion", sandbox.zenml.artifact_versions[0].id),
        "artifact_version_b": global_id("ZenMLArtifactVersion", sandbox.zenml.artifact_versions[1].id),
        "run": global_id("ZenMLPipelineRun", sandbox.zenml.runs[0].id),
        "abacus_step": global_id("AbacusPipelineStep", sandbox.abacus.pipelines[0].steps[0].id),
        "domino_project": global_id(
            "DominoProject", next(p.id for p in sandbox.domino.projects if sandbox.domino.can_access(p.id))
        ),
        "pipeline_runs_cursor": first_page.data["pipelineRuns"]["pageInfo"]["endCursor"],
    }
    return {name: f'"{value}"' for name, value in literals.items()}


def filled(query: str, values: dict[str, str]) -> str:
    for key, literal in values.items():
        query = query.replace("{" + key + "}", literal)
    return query


@pytest.mark.parametrize("name", sorted(COUNTEREXAMPLES))
def test_executors_agree_on_counterexample(pair: Pair, values: dict[str, str], name: str) -> None:
    query = filled(COUNTEREXAMPLES[name], values)
    assert not validate(schema._schema, parse(query)), "the schema changed under the counterexample: update it"
    fast, slow = (gateway(query) for gateway in pair)
    check_agreement(query, fast, slow)


@pytest.mark.parametrize("query", EMPTY_SELECTIONS)
def test_an_empty_selection_set_is_refused_alike(pair: Pair, values: dict[str, str], query: str) -> None:
    query = filled(query, values)
    fast, slow = (gateway(query) for gateway in pair)
    check_agreement(query, fast, slow)
    assert fast.codes() == ["GRAPHQL_VALIDATION_FAILED"]
