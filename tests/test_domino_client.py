"""The Domino client against hand-made responses: envelopes, paging, enums,
failure envelopes, authentication and the bounded concurrent gets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mlgraph.backends import domino as wire
from mlgraph.backends.domino import DominoClient, DominoConnection
from mlgraph.backends.errors import BadResponse, Forbidden, NotFound, Rejected, Unavailable
from mlgraph.backends.ledger import Ledger

JOB = {
    "id": "6231365e7a0af0281c01a69f",
    "number": 4,
    "title": "K-means",
    "runCommand": "main.py",
    "startedById": "6231342b7a0af0281c01a69e",
    "projects": [{"projectId": "623130ad7a0af0281c01a698", "commitId": "f1da"}],
    "status": {"executionStatus": "Succeeded", "isCompleted": True, "isArchived": False, "isScheduled": False},
    "stageTimes": {
        "submissionTime": "2022-03-12T02:13:44.467Z",
        "startTime": "2022-03-12T02:15:44.848Z",
        "completedTime": "2022-03-12T02:16:43.127Z",
    },
    "computeCluster": {"masterHardwareTierId": "small-k8s", "workerHardwareTier": "large-k8s", "workerCount": 2},
    "mainRepoGitRef": {"refType": "Head"},
    "usage": {"cpuPercentage": 5, "memoryGiB": 0.73},
    "somethingNew": {"ignored": True},
}


def client_for(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    api_key: str | None = "key-1",
    token: str | None = None,
    max_concurrency: int = 8,
) -> tuple[DominoClient, Ledger]:
    connection = DominoConnection(
        "http://domino.test",
        timeout=5,
        api_key=api_key,
        token=token,
        max_concurrency=max_concurrency,
        transport=httpx.MockTransport(handler),
    )
    ledger = Ledger()
    return DominoClient(connection, ledger), ledger


def answer(body: Any, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=body)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_job_page_with_flat_metadata_reads_records_and_total() -> None:
    client, ledger = client_for(
        answer({"jobs": [JOB], "metadata": {"requestId": "r", "notices": [], "offset": 0, "limit": 10, "totalCount": 31}})
    )
    page = run(client.jobs("623130ad7a0af0281c01a698", limit=10))
    job = page.items[0]
    assert page.total == 31
    assert job.project_id == "623130ad7a0af0281c01a698"
    assert job.hardware_tier_id == "small-k8s"
    assert job.status.execution_status == "Succeeded"
    assert job.usage is not None and job.usage.memory_gi_b == 0.73
    assert job.main_repo_git_ref is not None and job.main_repo_git_ref.ref_type is wire.GitRefType.HEAD
    assert not job.detailed
    assert ledger.calls[0].path == "/api/jobs/beta/jobs?projectId=623130ad7a0af0281c01a698&offset=0&limit=10"


def test_nested_pagination_metadata_is_read_too() -> None:
    client, _ = client_for(
        answer({"users": [{"id": "u1", "userName": "ann"}], "metadata": {"pagination": {"offset": 0, "limit": 1, "totalCount": 5}}})
    )
    page = run(client.users(limit=1))
    assert page.total == 5
    assert page.items[0].user_name == "ann"


def test_listed_job_without_a_project_takes_the_listed_project() -> None:
    bare = {key: value for key, value in JOB.items() if key != "projects"}
    client, _ = client_for(answer({"jobs": [bare], "metadata": {"totalCount": 1}}))
    page = run(client.jobs("p-listed"))
    assert page.items[0].project_id == "p-listed"


def test_job_detail_envelope_carries_tags() -> None:
    detail = {**JOB, "tags": [{"id": "t1", "name": "nightly"}], "commentsCount": 2, "goalIds": ["g"]}
    client, _ = client_for(answer({"job": detail, "metadata": {"requestId": "r", "notices": []}}))
    job = run(client.job(JOB["id"]))
    assert job.detailed
    assert [tag.name for tag in job.tags or []] == ["nightly"]
    assert job.comments_count == 2


@pytest.mark.parametrize("word,member", [("Public", "PUBLIC"), ("PRIVATE", "PRIVATE"), ("searchable", "SEARCHABLE"), ("Galactic", "UNKNOWN")])
def test_enums_read_case_insensitively_and_unknown_words_survive(word: str, member: str) -> None:
    client, _ = client_for(answer({"project": {"id": "p1", "name": "x", "visibility": word}, "metadata": {}}))
    project = run(client.project("p1"))
    assert project.visibility is wire.ProjectVisibility[member]


def capitalised(word: str) -> str:
    return word[0].upper() + word[1:]


# GitRefV1.refType as seed 004 lists it: head | commitId | tags | branches.
@pytest.mark.parametrize(
    "word,member", [("head", "HEAD"), ("commitId", "COMMIT_ID"), ("tags", "TAGS"), ("branches", "BRANCHES")]
)
def test_git_ref_types_read_in_the_seeds_spelling_and_capitalised(word: str, member: str) -> None:
    for sent in (word, capitalised(word)):
        job = {**JOB, "mainRepoGitRef": {"refType": sent, "value": "v1"}}
        client, _ = client_for(answer({"job": job, "metadata": {}}))
        ref = run(client.job(JOB["id"])).main_repo_git_ref
        assert ref is not None and ref.ref_type is wire.GitRefType[member], sent


# SnapshotDetailsV1.status as seed 004 lists it.
@pytest.mark.parametrize(
    "word,member",
    [
        ("active", "ACTIVE"), ("markForDeletion", "MARK_FOR_DELETION"), ("deletionInProgress", "DELETION_IN_PROGRESS"),
        ("deleted", "DELETED"), ("pending", "PENDING"), ("failed", "FAILED"), ("copying", "COPYING"),
    ],
)
def test_snapshot_statuses_read_in_the_seeds_spelling_and_capitalised(word: str, member: str) -> None:
    for sent in (word, capitalised(word)):
        client, _ = client_for(answer({"snapshot": {"id": "s1", "status": sent}, "metadata": {}}))
        assert run(client.snapshot("s1")).status is wire.SnapshotStatus[member], sent


def test_registered_model_and_version_come_bare() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/versions/3"):
            return httpx.Response(200, json={"modelName": "churn", "modelVersion": 3, "currentStage": "Staging"})
        return httpx.Response(200, json={"name": "churn", "latestVersion": 3, "project": {"id": "p1"}})

    client, ledger = client_for(handler)
    model = run(client.registered_model("churn"))
    version = run(client.model_version("churn", 3))
    assert model.id == "churn" and model.latest_version == 3
    assert version.id == "churn/3" and version.current_stage == "Staging"
    assert [call.path for call in ledger.calls] == ["/api/registeredmodels/v1/churn", "/api/registeredmodels/v1/churn/versions/3"]


def test_model_names_cannot_escape_their_path_segment() -> None:
    client, ledger = client_for(answer({"name": "a/../b"}))
    run(client.registered_model("a/../b"))
    assert ledger.calls[0].path == "/api/registeredmodels/v1/a%2F..%2Fb"


def test_model_list_reads_the_next_page_token() -> None:
    client, _ = client_for(answer({"items": [{"name": "a"}], "metadata": {"nextPageToken": "tok2"}}))
    page = run(client.registered_models(max_results=1))
    assert page.metadata.page_token == "tok2"
    assert [model.name for model in page.items] == ["a"]


@pytest.mark.parametrize(
    "status,error,code_word",
    [(400, Rejected, "rejected"), (401, Forbidden, "credentials"), (403, Forbidden, "does not allow"),
     (404, NotFound, "not found"), (500, Unavailable, "failed")],
)
def test_failure_envelopes_map_to_typed_errors(status: int, error: type[Exception], code_word: str) -> None:
    client, _ = client_for(answer({"errors": ["project is archived"], "requestId": "abc"}, status))
    with pytest.raises(error) as raised:
        run(client.project("p1"))
    assert code_word in str(raised.value)
    assert "domino.test" not in str(raised.value)


def test_garbage_and_wrong_shapes_are_bad_responses() -> None:
    client, _ = client_for(lambda request: httpx.Response(200, content=b"<html>oops</html>"))
    with pytest.raises(BadResponse, match="not JSON"):
        run(client.project("p1"))
    client, _ = client_for(answer({"jobs": "nope"}))
    with pytest.raises(BadResponse, match="malformed"):
        run(client.jobs("p1"))


@pytest.mark.parametrize(
    "api_key,token,header,value",
    [("k1", None, "x-domino-api-key", "k1"), (None, "t1", "authorization", "Bearer t1"), ("k1", "t1", "x-domino-api-key", "k1")],
)
def test_credentials_go_in_the_header_domino_reads(api_key: str | None, token: str | None, header: str, value: str) -> None:
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200, json={"user": {"id": "u1"}})

    client, _ = client_for(handler, api_key=api_key, token=token)
    run(client.self_user())
    assert seen[0][header] == value


def test_get_many_bounds_concurrency_and_keeps_failures_per_id() -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        project_id = request.url.path.rsplit("/", 1)[-1]
        if project_id == "gone":
            return httpx.Response(404, json={"errors": ["not found"], "requestId": "r"})
        if project_id == "broken":
            return httpx.Response(500, json={"errors": ["boom"], "requestId": "r"})
        return httpx.Response(200, json={"project": {"id": project_id, "name": project_id}})

    client, ledger = client_for(handler, max_concurrency=3)
    ids = [f"p{i}" for i in range(10)] + ["gone", "broken"]
    found = run(client.get_many(client.project, ids))
    assert peak == 3
    assert len(ledger.calls) == 12
    assert "gone" not in found
    assert isinstance(found["broken"], Unavailable)
    assert found["p7"].name == "p7"


def test_all_users_pages_through_the_whole_list() -> None:
    users = [{"id": f"u{i}", "userName": f"user{i}"} for i in range(2500)]

    def handler(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        return httpx.Response(200, json={"users": users[offset : offset + limit], "metadata": {"offset": offset, "limit": limit, "totalCount": len(users)}})

    client, ledger = client_for(handler)
    everyone = run(client.all_users())
    assert [user.id for user in everyone] == [user["id"] for user in users]
    assert len(ledger.calls) == 3


def test_job_writes_send_domino_bodies() -> None:
    bodies: list[tuple[str, str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        bodies.append((request.method, request.url.raw_path.decode(), body))
        if request.method == "DELETE":
            return httpx.Response(200, json={"metadata": {"requestId": "r", "notices": []}})
        if request.url.path.endswith("/tags"):
            return httpx.Response(200, json={"tag": {"id": "t9", "name": body["tagName"]}})
        return httpx.Response(200, json={"job": {**JOB, "tags": []}})

    client, _ = client_for(handler)
    job = run(client.start_job({"projectId": "p1", "runCommand": "main.py"}))
    tag = run(client.add_job_tag(job.id, project_id="p1", tag_name="nightly"))
    run(client.remove_job_tag(job.id, tag.id, project_id="p1"))
    assert bodies == [
        ("POST", "/api/jobs/v1/jobs", {"projectId": "p1", "runCommand": "main.py"}),
        ("POST", f"/api/jobs/v1/jobs/{JOB['id']}/tags", {"projectId": "p1", "tagName": "nightly"}),
        ("DELETE", f"/api/jobs/v1/jobs/{JOB['id']}/tags/t9?projectId=p1", None),
    ]


def test_memory_units_convert_to_gib() -> None:
    tier = wire.DominoHardwareTier.model_validate(
        {"id": "small-k8s", "resources": {"cores": 1, "memory": {"value": 4096, "units": "MiB"}}}
    )
    assert tier.resources is not None and tier.resources.memory is not None
    assert tier.resources.memory.gib == 4.0
    assert wire.DominoInformation(value=2, units="GB").gib == pytest.approx(1.863, abs=1e-3)


def test_explicit_nulls_read_as_absent_fields() -> None:
    body = {
        "jobs": [{"id": "a", "status": {"executionStatus": None}, "stageTimes": None, "datasetMounts": None, "title": None}],
        "metadata": {"notices": None, "totalCount": None, "pagination": None},
    }
    client, _ = client_for(answer(body))
    job = run(client.jobs("p1")).items[0]
    assert job.status.execution_status == "Unknown"
    assert job.dataset_mounts == [] and job.stage_times.start_time is None
    tier = wire.DominoHardwareTier.model_validate({"id": "t", "flags": None, "tags": None})
    assert tier.flags.is_visible and tier.tags == []


def test_listing_whole_without_a_total_stops_at_a_short_page() -> None:
    users = [{"id": f"u{i}", "userName": f"user{i}"} for i in range(1500)]

    def handler(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        return httpx.Response(200, json={"users": users[offset : offset + limit], "metadata": {}})

    client, ledger = client_for(handler)
    assert len(run(client.all_users())) == 1500
    assert len(ledger.calls) == 2


def test_a_bogus_total_cannot_start_a_flood() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json={"users": [{"id": f"u{offset}"}], "metadata": {"totalCount": 10**9}})

    client, ledger = client_for(handler, max_concurrency=4)
    assert len(run(client.all_users())) == wire.MAX_LIST_PAGES
    assert len(ledger.calls) == wire.MAX_LIST_PAGES
