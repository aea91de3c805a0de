"""One graph across platforms: merged lists, partial failure, platforms, a person."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from mlgraph.demo import build_sandbox
from mlgraph.graph.abacus.types import execution_status as abacus_status
from mlgraph.graph.domino.types import execution_status as domino_status
from mlgraph.graph.interfaces import ExecutionStatus
from mlgraph.graph.zenml.types import ZenMLExecutionStatus
from mlgraph.graph.zenml.types import execution_status as zenml_status
from mlgraph.sandbox.abacus_data import STEP_VERSION_STATUSES, PIPELINE_VERSION_STATUSES
from mlgraph.sandbox.domino_data import JOB_STATUSES
from mlgraph.settings import Settings
from tests.conftest import Gateway, open_gateway

PAGE = """query($first: Int, $after: String, $filter: ExecutionFilter) {
  executions(first: $first, after: $after, filter: $filter) {
    incomplete
    failures { platform code }
    pageInfo { hasNextPage endCursor }
    nodes { __typename nativeId: id platform name status startedAt }
  }
}"""


@pytest.fixture(scope="module", params=[True, False], ids=["level-by-level", "generic"])
def small(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    sandbox = build_sandbox(
        pipelines=1, runs_per_pipeline=2, steps_per_run=5, domino_projects=2, domino_jobs=16,
        abacus_pipelines=2, abacus_versions_per_pipeline=2, settings=Settings(compiled_execution=request.param),
    )
    yield from open_gateway(sandbox)


def expected_count(gateway: Gateway) -> int:
    sandbox = gateway.sandbox
    domino = sandbox.domino
    jobs = [j for j in domino.jobs if domino.can_access(j.project_id) and not j.is_archived]
    return len(sandbox.zenml.steps) + len(jobs) + len(sandbox.abacus.step_versions)


def read_all(gateway: Gateway, first: int, filter: dict | None = None) -> list[dict]:
    nodes: list[dict] = []
    after = None
    for _ in range(1000):
        answer = gateway(PAGE, {"first": first, "after": after, "filter": filter})
        assert answer.errors == [], answer.errors
        page = answer.data["executions"]
        assert len(page["nodes"]) <= first
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("paging did not end")


def test_paging_merged_executions_yields_each_once_in_order(small: Gateway) -> None:
    pages = {size: read_all(small, size) for size in (1, 7, 50)}
    ids = [node["nativeId"] for node in pages[50]]
    assert len(ids) == len(set(ids)) == expected_count(small)
    for size in (1, 7):
        assert [node["nativeId"] for node in pages[size]] == ids
    assert {node["platform"] for node in pages[50]} == {"ZENML", "DOMINO", "ABACUS"}


def test_merged_order_is_newest_created_first(small: Gateway) -> None:
    sandbox = small.sandbox
    created: dict[str, datetime] = {}
    for step in sandbox.zenml.steps:
        created[step.id] = datetime.fromisoformat(step.created).replace(tzinfo=timezone.utc)
    for job in sandbox.domino.jobs:
        created[job.id] = datetime.fromisoformat(job.submission_time.replace("Z", "+00:00"))
    for step in sandbox.abacus.step_versions:
        created[step.id] = datetime.fromisoformat(step.created_at)
    from mlgraph.graph.ids import GlobalId

    times = [created[GlobalId.decode(node["nativeId"]).native_id] for node in read_all(small, 50)]
    assert times == sorted(times, reverse=True)


def test_a_merged_page_costs_a_bounded_number_of_calls(small: Gateway) -> None:
    sandbox = small.sandbox
    answer = small(PAGE, {"first": 10})
    visible_projects = sum(1 for p in sandbox.domino.projects if sandbox.domino.can_access(p.id))
    calls = [e["path"].split("?")[0] for e in answer.ledger["entries"]]
    # ZenML: one page of steps. Domino: the projects, one job page each.
    # Abacus.AI: the pipelines, one version list each.
    assert calls.count("/api/v1/steps") == 1
    assert calls.count("/api/projects/beta/projects") == 1
    assert calls.count("/api/jobs/beta/jobs") == visible_projects
    assert calls.count("/api/v0/listPipelines") == 1
    assert calls.count("/api/v0/listPipelineVersions") == len(sandbox.abacus.pipelines)
    assert len(calls) == 3 + visible_projects + len(sandbox.abacus.pipelines)
    limits = [int(q) for q in re.findall(r"limit=(\d+)", " ".join(e["path"] for e in answer.ledger["entries"]))]
    assert max(limits) <= 10 + 1 or max(limits) == 1000  # a page asks each source for the page's size


def test_one_platform_down_gives_the_others_and_its_error(small: Gateway) -> None:
    faults = small.sandbox.faults
    try:
        faults.set("/api/v0", status=503)
        answer = small(PAGE, {"first": 50})
    finally:
        faults.clear()
    page = answer.data["executions"]
    assert page["incomplete"] is True
    assert page["failures"] == [{"platform": "ABACUS", "code": "BACKEND_UNAVAILABLE"}]
    assert {node["platform"] for node in page["nodes"]} == {"ZENML", "DOMINO"}
    assert [(e["extensions"]["code"], e["extensions"]["platform"]) for e in answer.errors] == [("BACKEND_UNAVAILABLE", "abacus")]
    assert "sandbox" not in answer.raw.decode()


def test_filters_go_to_the_backends_that_have_them(small: Gateway) -> None:
    after = datetime(2020, 1, 1, tzinfo=timezone.utc).isoformat()
    filter = {"statuses": ["FAILED"], "startedAfter": after, "platforms": ["ZENML", "DOMINO", "ABACUS"]}
    nodes = read_all(small, 50, filter)
    assert nodes and all(node["status"] == "FAILED" for node in nodes)
    answer = small(PAGE, {"first": 5, "filter": filter})
    paths = [e["path"] for e in answer.ledger["entries"]]
    steps = next(p for p in paths if p.startswith("/api/v1/steps"))
    assert "status=oneof" in steps and "start_time=gte" in steps
    sandbox = small.sandbox
    failed = sum(1 for s in sandbox.zenml.steps if zenml_status(s.status) is ExecutionStatus.FAILED)
    failed += sum(1 for j in sandbox.domino.jobs if sandbox.domino.can_access(j.project_id) and not j.is_archived and domino_status(j.status) is ExecutionStatus.FAILED)
    failed += sum(1 for s in sandbox.abacus.step_versions if abacus_status(s.status) is ExecutionStatus.FAILED)
    assert len(nodes) == failed
    only = read_all(small, 50, {"platforms": ["DOMINO"]})
    assert {node["platform"] for node in only} == {"DOMINO"}


def test_unconfigured_platforms_are_absent_without_error() -> None:
    from mlgraph.demo import ZENML_SANDBOX_URL
    from mlgraph.settings import ZenMLSettings

    sandbox = build_sandbox()
    from mlgraph.app import create_app
    import httpx

    app = create_app(
        Settings(zenml=ZenMLSettings(url=ZENML_SANDBOX_URL)),
        transports={"zenml": httpx.ASGITransport(app=sandbox.zenml_emulator)},
    )
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        body = client.post("/graphql", json={"query": "{ platforms { platform host reachable } executions(first: 3) { incomplete nodes { platform } } }"}).json()
    assert "errors" not in body
    assert body["data"]["platforms"] == [{"platform": "ZENML", "host": "zenml.sandbox", "reachable": True}]
    assert {node["platform"] for node in body["data"]["executions"]["nodes"]} == {"ZENML"}
    assert body["data"]["executions"]["incomplete"] is False


def test_platforms_say_who_answered(small: Gateway) -> None:
    faults = small.sandbox.faults
    try:
        faults.set("/api/users/v1/self", status=500)
        answer = small("{ platforms { platform host reachable code } }")
    finally:
        faults.clear()
    assert answer.errors == []
    states = {s["platform"]: s for s in answer.data["platforms"]}
    assert states["DOMINO"] == {"platform": "DOMINO", "host": "domino.sandbox", "reachable": False, "code": "BACKEND_UNAVAILABLE"}
    assert states["ZENML"]["reachable"] and states["ABACUS"]["reachable"]
    assert "key" not in answer.raw.decode().lower()


def test_person_is_found_on_all_three_platforms(small: Gateway) -> None:
    answer = small(
        """{ person(email: "grace@EXAMPLE.com") { email accounts { __typename platform email }
             executions(first: 100) { nodes { __typename platform } } } }"""
    )
    assert answer.errors == []
    person = answer.data["person"]
    assert sorted(a["platform"] for a in person["accounts"]) == ["ABACUS", "DOMINO", "ZENML"]
    assert all(a["email"].casefold() == "grace@example.com" for a in person["accounts"])
    sandbox = small.sandbox
    grace_zenml = next(u.id for u in sandbox.zenml.users if u.email.casefold() == "grace@example.com")
    grace_domino = next(u.id for u in sandbox.domino.users if u.email.casefold() == "grace@example.com")
    grace_abacus = next(u.id for u in sandbox.abacus.users if u.email.casefold() == "grace@example.com")
    expected = sum(1 for s in sandbox.zenml.steps if s.user_id == grace_zenml)
    expected += sum(1 for j in sandbox.domino.jobs if j.started_by_id == grace_domino and sandbox.domino.can_access(j.project_id) and not j.is_archived)
    pipelines = {p.id for p in sandbox.abacus.pipelines if p.created_by_id == grace_abacus}
    expected += sum(1 for s in sandbox.abacus.step_versions if s.pipeline_id in pipelines)
    assert len(person["executions"]["nodes"]) == expected
    bad = small("""{ person(email: "nobody") { email } }""")
    assert bad.codes() == ["BAD_USER_INPUT"]


def test_other_merged_lists(small: Gateway) -> None:
    answer = small(
        """{ users(first: 100) { nodes { __typename platform } }
             hardwareTiers(first: 50, minGpus: 1) { nodes { name gpuCount } }
             modelVersions(first: 100) { nodes { __typename } }
             datasets(first: 100) { nodes { __typename name } }
             pipelineRuns(first: 100) { nodes { __typename status } } }"""
    )
    assert answer.errors == []
    data = answer.data
    sandbox = small.sandbox
    assert len(data["users"]["nodes"]) == len(sandbox.zenml.users) + len(sandbox.domino.users) + len(sandbox.abacus.users)
    assert data["hardwareTiers"]["nodes"] and all(t["gpuCount"] >= 1 for t in data["hardwareTiers"]["nodes"])
    assert len(data["modelVersions"]["nodes"]) == len(sandbox.zenml.model_versions) + len(sandbox.domino.model_versions)
    assert len(data["datasets"]["nodes"]) == sum(1 for d in sandbox.domino.datasets if sandbox.domino.can_read_dataset(d))
    runs = data["pipelineRuns"]["nodes"]
    assert len(runs) == len(sandbox.zenml.runs) + len(sandbox.abacus.pipeline_versions)


def test_forged_merged_cursors_are_refused(small: Gateway) -> None:
    for cursor in ("bWVyZ2VkOnsiemVubWwiOi0xfQ", "b2Zmc2V0OjU", "!!"):
        answer = small(PAGE, {"first": 3, "after": cursor})
        assert answer.codes() == ["BAD_USER_INPUT"], cursor
        assert answer.calls == 0


def test_docs_status_table_matches_the_code() -> None:
    """Every native status each platform names is in docs/graph.md's table, in
    the row of the unified status the code maps it to."""
    readme = (Path(__file__).parent.parent / "docs" / "graph.md").read_text()
    table = {}
    for line in readme.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[3] in ExecutionStatus.__members__:
            table[cells[3]] = tuple(cells[:3])
    natives = {
        0: ([s.value for s in ZenMLExecutionStatus], zenml_status),
        1: (list(JOB_STATUSES), domino_status),
        2: (sorted(set(STEP_VERSION_STATUSES) | set(PIPELINE_VERSION_STATUSES)), abacus_status),
    }
    for column, (words, mapping) in natives.items():
        for word in words:
            unified = mapping(word).name
            cell = table[unified][column]
            assert word.casefold() in [w.strip().casefold() for w in cell.split(",")], (word, unified, cell)


def test_a_sparse_filter_pages_on_instead_of_sticking() -> None:
    """A filter the backend applies only in part (ZenML takes one time bound,
    the other is checked after reading) may match nothing in what one page
    reads: the page says where it read to, and paging goes on, in order."""
    sandbox = build_sandbox(pipelines=3, runs_per_pipeline=100, steps_per_run=10)
    started = sorted(s.start_time for s in sandbox.zenml.steps if s.start_time)
    window = {"platforms": ["ZENML"], "startedAfter": started[0] + "Z", "startedBefore": started[200] + "Z"}
    expected = [s.id for s in sorted(sandbox.zenml.steps, key=lambda s: s.created, reverse=True)
                if s.start_time and started[0] <= s.start_time <= started[200]]
    for gateway in open_gateway(sandbox):
        from mlgraph.graph.ids import GlobalId

        seen: list[str] = []
        after = None
        for _ in range(200):
            answer = gateway(PAGE, {"first": 10, "after": after, "filter": window})
            assert answer.errors == []
            page = answer.data["executions"]
            seen += [GlobalId.decode(node["nativeId"]).native_id for node in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            assert page["pageInfo"]["endCursor"], "a page with more to come must say where to go on"
            after = page["pageInfo"]["endCursor"]
        assert seen == expected


def test_a_slow_platform_is_left_out_after_the_deadline() -> None:
    sandbox = build_sandbox(
        pipelines=1, runs_per_pipeline=1, steps_per_run=3, settings=Settings(merged_list_timeout=0.3)
    )
    sandbox.faults.set("/api/v0", latency_ms=3000)
    for gateway in open_gateway(sandbox):
        answer = gateway(PAGE, {"first": 5})
        page = answer.data["executions"]
        assert page["incomplete"] is True
        assert page["failures"] == [{"platform": "ABACUS", "code": "BACKEND_UNAVAILABLE"}]
        assert {node["platform"] for node in page["nodes"]} <= {"ZENML", "DOMINO"} and page["nodes"]
        assert answer.errors[0]["message"] == "Abacus.AI did not answer in 0.3 s"


def test_errors_beside_data_carry_the_response_path(small: Gateway) -> None:
    faults = small.sandbox.faults
    try:
        faults.set("/api/v0", status=500)
        answer = small(
            """{ a: executions(first: 2) { incomplete } b: pipelineRuns(first: 2) { incomplete }
                 p: person(email: "grace@example.com") { accounts { platform } executions(first: 2) { incomplete } } }"""
        )
    finally:
        faults.clear()
    paths = sorted(tuple(error["path"]) for error in answer.errors)
    assert paths == [("a",), ("b",), ("p", "accounts"), ("p", "executions")]
    assert all(error["extensions"] == {"platform": "abacus", "code": "BACKEND_UNAVAILABLE"} for error in answer.errors)


def test_cursors_belong_to_their_list_and_filter(small: Gateway) -> None:
    cursor = small(PAGE, {"first": 2}).data["executions"]["pageInfo"]["endCursor"]
    other = small("""query($a: String) { users(first: 2, after: $a) { nodes { name } } }""", {"a": cursor})
    assert other.codes() == ["BAD_USER_INPUT"] and other.calls == 0
    filtered = small(PAGE, {"first": 2, "after": cursor, "filter": {"statuses": ["FAILED"]}})
    assert filtered.codes() == ["BAD_USER_INPUT"] and filtered.calls == 0


def test_first_zero_costs_no_call(small: Gateway) -> None:
    answer = small(PAGE, {"first": 0})
    assert answer.errors == [] and answer.calls == 0
    assert answer.data["executions"]["nodes"] == []
