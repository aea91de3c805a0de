"""The Domino Data Lab emulator and its seeded data set, tested over HTTP as a client sees them."""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mlgraph.sandbox.domino import create_domino_emulator
from mlgraph.sandbox.domino_data import (
    COMPLETED_STATUSES,
    JOB_STATUSES,
    DominoData,
    DominoJob,
    DominoProject,
    parse_iso,
)
from mlgraph.sandbox.faults import Faults

KEY = "domino-test-key"
AUTH = {"X-Domino-Api-Key": KEY}
JOBS = "/api/jobs/beta/jobs"
TIERS = "/api/hardwaretiers/v1/hardwaretiers"
DATASETS = "/api/datasetrw/v1/datasets"
DATASETS_V2 = "/api/datasetrw/v2/datasets"
MODELS = "/api/registeredmodels/v1"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
OBJECT_ID = re.compile(r"[0-9a-f]{24}")

# Field names of the seed 004 models.
JOB_KEYS = {
    "commitDetails", "computeCluster", "datasetMounts", "dominoStats", "externalVolumeMounts", "gitRepos", "id",
    "mainRepoGitRef", "number", "projects", "runCommand", "runLauncherId", "stageTimes", "startedById", "status",
    "title", "usage",
}
JOB_DETAILS_KEYS = JOB_KEYS | {"commentsCount", "goalIds", "queuedJobStatusDetails", "tags"}
TIER_KEYS = {
    "availabilityZones", "capacity", "centsPerMinute", "computeClusterRestrictions", "creationTime", "dataPlaneId",
    "flags", "gpuConfiguration", "id", "maxSimultaneousExecutions", "metadata", "name", "nodePool",
    "overProvisioning", "podCustomization", "resources", "tags", "updateTime",
}
PROJECT_KEYS = {"collaborators", "description", "id", "mainRepository", "name", "ownerId", "ownerUsername", "visibility"}
USER_KEYS = {"avatarUrl", "companyName", "email", "firstName", "fullName", "id", "lastName", "phoneNumber", "userName"}
DATASET_KEYS = {"createdAt", "description", "id", "name", "projectId", "snapshotIds", "tags"}
SNAPSHOT_KEYS = {"createdAt", "creatorId", "datasetId", "description", "id", "lastMounted", "status"}
MODEL_KEYS = {
    "createdAt", "description", "latestVersion", "name", "ownerUsername", "project", "requestingUserAccess", "tags",
    "updatedAt",
}
VERSION_KEYS = {"createdAt", "experimentRunId", "modelName", "modelVersion", "ownerUsername", "project", "updatedAt"}
VERSION_DETAILS_KEYS = VERSION_KEYS | {
    "currentStage", "modelVersionDescription", "reviewSummary", "tags", "versionUiDetails",
}
ENVIRONMENT_KEYS = {
    "activeRevisionTags", "archived", "id", "internalTags", "isCurated", "latestRevision", "name", "owner",
    "restrictedRevision", "selectedRevision", "supportedClusters", "visibility",
}


@pytest.fixture(scope="module")
def data() -> DominoData:
    return DominoData.generate()


@pytest.fixture
def client(data: DominoData) -> TestClient:
    return TestClient(create_domino_emulator(data, api_key=KEY), headers=AUTH)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def failure(response: httpx.Response, status: int) -> str:
    """The one error message of a failure envelope with `status`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors", "requestId"}
    assert uuid.UUID(body["requestId"])
    [message] = body["errors"]
    assert isinstance(message, str) and message
    return message


def visible(data: DominoData) -> list[DominoProject]:
    return [p for p in data.projects if data.can_access(p.id)]


def forbidden(data: DominoData) -> DominoProject:
    [project] = [p for p in data.projects if not data.can_access(p.id)]
    return project


def busiest(data: DominoData) -> DominoProject:
    """The visible project with the most jobs."""
    counts = Counter(j.project_id for j in data.jobs if data.can_access(j.project_id))
    project_id = counts.most_common(1)[0][0]
    return next(p for p in data.projects if p.id == project_id)


def project_jobs(data: DominoData, project: DominoProject, archived: bool = False) -> list[DominoJob]:
    return [j for j in data.jobs if j.project_id == project.id and (archived or not j.is_archived)]


def user_name(data: DominoData, user_id: str) -> str:
    return next(u.user_name for u in data.users if u.id == user_id)


def list_jobs(client: TestClient, project: DominoProject, **params: Any) -> list[dict[str, Any]]:
    body = ok(client.get(JOBS, params={"projectId": project.id, "limit": 1000, **params}))
    return body["jobs"]  # type: ignore[no-any-return]


# ---------------------------------------------------------------- the data set


def test_data_set_is_deterministic_and_seeded(data: DominoData) -> None:
    assert DominoData.generate() == data
    assert DominoData.generate(seed=8) != data
    assert DominoData.generate(seed=8) == DominoData.generate(seed=8)


def test_data_set_has_the_required_counts(data: DominoData) -> None:
    assert len(visible(data)) >= 3
    assert len(data.jobs) == 60
    assert {j.status for j in data.jobs if data.can_access(j.project_id)} == set(JOB_STATUSES)
    assert len({j.project_id for j in data.jobs}) == len(data.projects)
    assert len(data.hardware_tiers) == 6
    assert any(t.gpu_count > 0 and t.gpu_key for t in data.hardware_tiers)
    assert any(t.is_archived for t in data.hardware_tiers)
    assert {"small-k8s", "medium-k8s", "large-k8s"} <= {t.id for t in data.hardware_tiers}
    assert len(data.datasets) == 8
    assert all(1 <= len(d.snapshot_ids) <= 4 for d in data.datasets)
    assert len(data.registered_models) == 3
    per_model = Counter(v.model_name for v in data.model_versions)
    assert set(per_model) == {m.name for m in data.registered_models}
    assert all(2 <= n <= 4 for n in per_model.values())
    assert {v.stage for v in data.model_versions} == {"None", "Staging", "Production", "Archived"}
    assert len(data.users) == 5
    assert data.self_user_id == data.users[0].id
    assert len(data.environments) >= 3 and len(data.tags) >= 4
    tag_counts = Counter(len(j.tag_ids) for j in data.jobs)
    assert tag_counts[0] and tag_counts[2]


def test_data_set_invariants(data: DominoData) -> None:
    now = data.now
    for job in data.jobs:
        assert OBJECT_ID.fullmatch(job.id)
        assert (job.start_time is None) == (job.status in ("Queued", "Pending"))
        assert job.is_completed == (job.status in COMPLETED_STATUSES)
        assert (job.completed_time is None) == (not job.is_completed)
        assert not job.is_archived or job.is_completed
        for stamp in (job.submission_time, job.start_time, job.completed_time):
            assert stamp is None or (TIMESTAMP.fullmatch(stamp) and stamp < now)
        if job.start_time:
            assert job.submission_time <= job.start_time <= (job.completed_time or now)
        for mount in job.dataset_mounts:
            snapshot = next(s for s in data.snapshots if s.id == mount.snapshot_id)
            assert snapshot.dataset_id == mount.dataset_id and snapshot.version == mount.snapshot_version
    for project in data.projects:
        numbers = [j.number for j in data.jobs if j.project_id == project.id]
        assert numbers == list(range(1, len(numbers) + 1))
    # Few users and tiers across many jobs: per-job lookups repeat.
    assert len({j.started_by_id for j in data.jobs}) <= 5
    assert len({j.hardware_tier_id for j in data.jobs}) <= 6
    assert any(any(m.is_input for m in j.dataset_mounts) for j in data.jobs)
    assert any(any(not m.is_input for m in j.dataset_mounts) for j in data.jobs)
    for dataset in data.datasets:
        versions = [next(s for s in data.snapshots if s.id == i).version for i in dataset.snapshot_ids]
        assert versions == list(range(1, len(versions) + 1))
        assert set(dataset.tags.values()) <= set(dataset.snapshot_ids)
    assert [s.created_at for s in data.snapshots] == sorted(s.created_at for s in data.snapshots)
    assert [j.submission_time for j in data.jobs] == sorted(j.submission_time for j in data.jobs)
    locked = forbidden(data)
    assert locked.visibility == "private" and locked.owner_id != data.self_user_id
    assert data.self_user_id not in locked.collaborator_ids


def test_data_set_scales_to_benchmark_sizes() -> None:
    started = time.perf_counter()
    big = DominoData.generate(jobs=500)
    assert time.perf_counter() - started < 2
    assert len(big.jobs) == 500
    assert {j.status for j in big.jobs if big.can_access(j.project_id)} == set(JOB_STATUSES)
    assert len(DominoData.generate(projects=5).projects) == 6
    with pytest.raises(ValueError):
        DominoData.generate(projects=0)


# ---------------------------------------------------------------- auth, routing, faults, call log


def test_auth_accepts_both_headers_and_rejects_the_rest(data: DominoData) -> None:
    app = create_domino_emulator(data, api_key=KEY)
    bare = TestClient(app)
    assert "Missing" in failure(bare.get("/api/users/v1/self"), 401)
    failure(bare.get("/api/users/v1/self", headers={"X-Domino-Api-Key": "wrong"}), 401)
    failure(bare.get("/api/users/v1/self", headers={"Authorization": "Bearer wrong"}), 401)
    failure(bare.get("/api/users/v1/self", headers={"Authorization": f"Basic {KEY}"}), 401)
    failure(bare.get("/nowhere"), 401)
    assert ok(bare.get("/api/users/v1/self", headers=AUTH))["user"]["id"] == data.self_user_id
    assert ok(bare.get("/api/users/v1/self", headers={"Authorization": f"Bearer {KEY}"}))["user"]["id"]
    open_app = TestClient(create_domino_emulator(data))
    assert ok(open_app.get("/api/users/v1/self"))["user"]["userName"] == data.users[0].user_name


def test_unknown_routes_and_methods_answer_the_failure_envelope(client: TestClient) -> None:
    assert "/api/nothing" in failure(client.get("/api/nothing"), 404)
    failure(client.delete(JOBS), 405)


def test_pagination_mode_is_checked(data: DominoData) -> None:
    with pytest.raises(ValueError):
        create_domino_emulator(data, pagination="deep")  # type: ignore[arg-type]


def test_faults_answer_with_the_domino_envelope_and_calls_are_logged(data: DominoData) -> None:
    slept: list[float] = []

    async def record_sleep(seconds: float) -> None:
        slept.append(seconds)

    faults = Faults(latency_ms=2, sleep=record_sleep)
    app = create_domino_emulator(data, api_key=KEY, faults=faults)
    client = TestClient(app, headers=AUTH)
    faults.set("/api/users", status=503)
    faults.set("/api/projects", garbage=True)
    first = client.get("/api/users/v1/self")
    assert failure(first, 503) == "injected fault"
    second = client.get("/api/users/v1/users")
    assert failure(second, 503) == "injected fault"
    assert first.json()["requestId"] != second.json()["requestId"]
    garbage = client.get("/api/projects/beta/projects")
    assert garbage.status_code == 200
    with pytest.raises(ValueError):
        garbage.json()
    failure(TestClient(app).get(TIERS, params={"limit": 2}), 401)
    faults.clear()
    assert ok(client.get("/api/users/v1/self"))["user"]["id"] == data.self_user_id
    assert slept == [0.002] * 5
    assert app.state.calls == [
        ("GET", "/api/users/v1/self"),
        ("GET", "/api/users/v1/users"),
        ("GET", "/api/projects/beta/projects"),
        ("GET", f"{TIERS}?limit=2"),
        ("GET", "/api/users/v1/self"),
    ]


# ---------------------------------------------------------------- jobs: list


def test_job_list_defaults(client: TestClient, data: DominoData) -> None:
    project = busiest(data)
    body = ok(client.get(JOBS, params={"projectId": project.id}))
    expected = sorted(project_jobs(data, project), key=lambda j: j.number, reverse=True)
    assert [j["id"] for j in body["jobs"]] == [j.id for j in expected[:10]]
    meta = body["metadata"]
    assert meta["offset"] == 0 and meta["limit"] == 10 and meta["totalCount"] == len(expected)
    assert meta["notices"] == [] and uuid.UUID(meta["requestId"])
    assert all(set(j) == JOB_KEYS for j in body["jobs"])


def test_job_list_pages_and_nested_metadata(data: DominoData) -> None:
    project = busiest(data)
    flat = TestClient(create_domino_emulator(data))
    nested = TestClient(create_domino_emulator(data, pagination="nested"))
    total = len(project_jobs(data, project))
    seen = []
    for offset in range(0, total, 7):
        body = ok(flat.get(JOBS, params={"projectId": project.id, "offset": offset, "limit": 7}))
        assert body["metadata"]["offset"] == offset and body["metadata"]["limit"] == 7
        seen += [j["id"] for j in body["jobs"]]
    assert seen == [j["id"] for j in list_jobs(flat, project)]
    past = ok(flat.get(JOBS, params={"projectId": project.id, "offset": total + 5}))
    assert past["jobs"] == [] and past["metadata"]["totalCount"] == total
    body = ok(nested.get(JOBS, params={"projectId": project.id, "offset": 3, "limit": 4}))
    assert set(body["metadata"]) == {"requestId", "notices", "pagination"}
    assert body["metadata"]["pagination"] == {"offset": 3, "limit": 4, "totalCount": total}
    assert [j["id"] for j in body["jobs"]] == seen[3:7]


@pytest.mark.parametrize(
    "sort_by",
    ["number", "title", "command", "startedTime", "duration", "status", "user", "commentCount", "dominoStatsField"],
)
@pytest.mark.parametrize("ascending", [True, False])
def test_job_list_sorts(client: TestClient, data: DominoData, sort_by: str, ascending: bool) -> None:
    project = busiest(data)
    now = parse_iso(data.now)

    def key(job: DominoJob) -> Any:
        if sort_by == "number":
            return job.number
        if sort_by == "title":
            return job.title.lower()
        if sort_by == "command":
            return job.run_command.lower()
        if sort_by == "startedTime":
            return job.start_time
        if sort_by == "duration":
            if job.start_time is None:
                return None
            end = parse_iso(job.completed_time) if job.completed_time else now
            return (end - parse_iso(job.start_time)).total_seconds()
        if sort_by == "status":
            return job.status
        if sort_by == "user":
            return user_name(data, job.started_by_id)
        if sort_by == "commentCount":
            return job.comments_count
        return float(job.domino_stats["rmse"]) if "rmse" in job.domino_stats else None

    jobs = project_jobs(data, project)
    valued = sorted((j for j in jobs if key(j) is not None), key=lambda j: (key(j), j.number), reverse=not ascending)
    missing = sorted((j for j in jobs if key(j) is None), key=lambda j: j.number, reverse=not ascending)
    params = {"sortBy": sort_by, "ascending": str(ascending).lower(), "dominoStatsSortFieldName": "rmse"}
    assert [j["id"] for j in list_jobs(client, project, **params)] == [j.id for j in valued + missing]


def test_job_list_status_filters(client: TestClient, data: DominoData) -> None:
    project = busiest(data)
    everything = project_jobs(data, project, archived=True)
    live = [j for j in everything if not j.is_archived]
    queued = {"Queued", "Pending", "Preparing", "Building", "Pulling"}
    running = {"Running", "Finishing", "StopRequested"}
    expected = {
        "all": live,
        "queued": [j for j in live if j.status in queued],
        "running": [j for j in live if j.status in running],
        "completed": [j for j in live if j.is_completed],
        "active": [j for j in live if not j.is_completed],
        "archived": [j for j in everything if j.is_archived],
    }
    for status_filter, jobs in expected.items():
        got = list_jobs(client, project, statusFilter=status_filter.upper(), ascending="true")
        assert [j["id"] for j in got] == [j.id for j in jobs], status_filter
    assert expected["archived"], "the busiest project has archived jobs"
    with_archived = list_jobs(client, project, showArchived="true", ascending="true")
    assert [j["id"] for j in with_archived] == [j.id for j in everything]
    done = list_jobs(client, project, statusFilter="completed", showArchived="true")
    assert {j["id"] for j in done} == {j.id for j in everything if j.is_completed}


def test_job_list_tag_filter(client: TestClient, data: DominoData) -> None:
    project = busiest(data)
    tag = Counter(t for j in project_jobs(data, project) for t in j.tag_ids).most_common(1)[0][0]
    name = next(t.name for t in data.tags if t.id == tag)
    got = list_jobs(client, project, tagFilter=name, ascending="true")
    assert [j["id"] for j in got] == [j.id for j in project_jobs(data, project) if tag in j.tag_ids]
    assert list_jobs(client, project, tagFilter=name.upper()) == []


def test_job_list_errors(client: TestClient, data: DominoData) -> None:
    project = busiest(data)
    assert "projectId" in failure(client.get(JOBS), 400)
    failure(client.get(JOBS, params={"projectId": "not-an-id"}), 400)
    bad = [
        {"limit": "ten"}, {"limit": 0}, {"limit": 1001}, {"offset": -1}, {"offset": "1.5"},
        {"ascending": "yes"}, {"showArchived": "1"}, {"sortBy": "colour"}, {"statusFilter": "done"},
        {"sortBy": "dominoStatsField"},
    ]
    for params in bad:
        failure(client.get(JOBS, params={"projectId": project.id, **params}), 400)
    failure(client.get(JOBS, params={"projectId": "0" * 24}), 404)
    failure(client.get(JOBS, params={"projectId": forbidden(data).id}), 403)
    assert len(list_jobs(client, project, limit=1000)) == len(project_jobs(data, project))


def test_a_500_job_project_lists_fast() -> None:
    big = DominoData.generate(jobs=500, projects=1)
    project = visible(big)[0]
    client = TestClient(create_domino_emulator(big))
    params = {"projectId": project.id, "limit": 1000, "showArchived": "true", "sortBy": "duration"}
    assert len(ok(client.get(JOBS, params=params))["jobs"]) == len(project_jobs(big, project, archived=True))
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        ok(client.get(JOBS, params=params))
        timings.append(time.perf_counter() - started)
    assert min(timings) < 0.05


# ---------------------------------------------------------------- jobs: one job


def test_job_details(client: TestClient, data: DominoData) -> None:
    job = next(
        j for j in data.jobs
        if len(j.tag_ids) == 2 and j.dataset_mounts and j.domino_stats and data.can_access(j.project_id)
    )
    body = ok(client.get(f"{JOBS}/{job.id}"))
    assert set(body) == {"job", "metadata"} and body["metadata"]["notices"] == []
    record = body["job"]
    assert set(record) == JOB_DETAILS_KEYS
    assert record["id"] == job.id and record["number"] == job.number and record["title"] == job.title
    assert record["runCommand"] == job.run_command and record["startedById"] == job.started_by_id
    assert record["projects"][0] == {"projectId": job.project_id, "commitId": job.input_commit_id}
    assert record["computeCluster"]["masterHardwareTierId"] == job.hardware_tier_id
    assert record["computeCluster"]["computeEnvironmentId"] == job.environment_id
    assert record["computeCluster"]["workerHardwareTier"] == job.worker_hardware_tier_id
    assert record["stageTimes"] == {
        "submissionTime": job.submission_time, "startTime": job.start_time, "completedTime": job.completed_time,
    }
    assert record["status"] == {
        "executionStatus": job.status, "isCompleted": job.is_completed, "isArchived": job.is_archived,
        "isScheduled": job.is_scheduled,
    }
    assert record["usage"] == {"cpuPercentage": job.cpu_percentage, "memoryGiB": job.memory_gib}
    assert record["commitDetails"] == {"inputCommitId": job.input_commit_id, "outputCommitId": job.output_commit_id}
    assert record["mainRepoGitRef"] == {"refType": "head"}
    assert record["dominoStats"] == [{"name": k, "value": v} for k, v in job.domino_stats.items()]
    tags = {t.id: t for t in data.tags}
    assert record["tags"] == [
        {"id": t, "name": tags[t].name, "createdAt": tags[t].created_at, "creatorId": tags[t].creator_id}
        for t in job.tag_ids
    ]
    datasets = {d.id: d for d in data.datasets}
    assert record["datasetMounts"] == [
        {
            "id": m.dataset_id, "datasetName": datasets[m.dataset_id].name,
            "projectId": datasets[m.dataset_id].project_id,
            "snapshotId": m.snapshot_id, "snapshotVersion": m.snapshot_version, "isInput": m.is_input,
            "containerPath": m.container_path,
        }
        for m in job.dataset_mounts
    ]
    assert record["commentsCount"] == job.comments_count and record["goalIds"] == job.goal_ids
    assert record["queuedJobStatusDetails"] is None


def test_queued_and_cluster_jobs(client: TestClient, data: DominoData) -> None:
    queued = next(j for j in data.jobs if j.status == "Queued")
    record = ok(client.get(f"{JOBS}/{queued.id}"))["job"]
    assert set(record["queuedJobStatusDetails"]) == {"expectedWait", "explanation", "helpText"}
    assert record["stageTimes"]["startTime"] is None and record["usage"]["cpuPercentage"] is None
    cluster = next(j for j in data.jobs if j.worker_count and data.can_access(j.project_id))
    compute = ok(client.get(f"{JOBS}/{cluster.id}"))["job"]["computeCluster"]
    assert compute["workerCount"] == cluster.worker_count
    assert compute["clusterType"] == cluster.cluster_type
    imported = next(p for p in data.projects if p.imported_project_ids)
    job = next(j for j in data.jobs if j.project_id == imported.id)
    projects = ok(client.get(f"{JOBS}/{job.id}"))["job"]["projects"]
    assert [p["projectId"] for p in projects] == [imported.id, *imported.imported_project_ids]


def test_job_get_errors(client: TestClient, data: DominoData) -> None:
    failure(client.get(f"{JOBS}/nope"), 400)
    failure(client.get(f"{JOBS}/{'a' * 24}"), 404)
    locked = next(j for j in data.jobs if j.project_id == forbidden(data).id)
    failure(client.get(f"{JOBS}/{locked.id}"), 403)
    failure(client.get(f"{JOBS}/{locked.id}/logs"), 403)


def test_job_logs(client: TestClient, data: DominoData) -> None:
    job = next(j for j in data.jobs if j.status == "Failed" and data.can_access(j.project_id))
    body = ok(client.get(f"{JOBS}/{job.id}/logs"))
    logs = body["logs"]
    assert set(logs) == {"helpLink", "isComplete", "logContent", "problem"}
    assert logs["logContent"] == [
        {"log": line.log, "logType": line.log_type, "size": len(line.log), "timestamp": line.timestamp}
        for line in job.logs
    ]
    assert logs["isComplete"] is True and logs["problem"] == job.problem and logs["helpLink"]
    assert uuid.UUID(body["metadata"]["requestId"])
    for raw, kind in (("STDERR", "stdErr"), ("stdout", "stdOut"), ("prepareOutput", "prepareOutput")):
        got = ok(client.get(f"{JOBS}/{job.id}/logs", params={"logType": raw}))["logs"]["logContent"]
        assert [line["log"] for line in got] == [line.log for line in job.logs if line.log_type == kind]
        assert got
    cut = ok(client.get(f"{JOBS}/{job.id}/logs", params={"limit": 2}))
    assert len(cut["logs"]["logContent"]) == 2 and cut["logs"]["isComplete"] is False
    resume = int(cut["metadata"]["latestTimeNano"])
    rest = ok(client.get(f"{JOBS}/{job.id}/logs", params={"latestTimeNano": resume}))["logs"]["logContent"]
    assert [line["timestamp"] for line in rest] == [
        line.timestamp for line in job.logs if line.timestamp > job.logs[1].timestamp
    ]
    queued = next(j for j in data.jobs if j.status == "Queued")
    empty = ok(client.get(f"{JOBS}/{queued.id}/logs"))["logs"]
    assert empty["logContent"] == [] and empty["isComplete"] is False and empty["problem"] is None
    for params in ({"limit": 10001}, {"limit": 0}, {"logType": "stdin"}, {"latestTimeNano": "soon"}):
        failure(client.get(f"{JOBS}/{job.id}/logs", params=params), 400)
    failure(client.get(f"{JOBS}/{'b' * 24}/logs"), 404)


# ---------------------------------------------------------------- jobs: writes


def test_start_job_with_defaults_then_read_it(client: TestClient, data: DominoData) -> None:
    project = visible(data)[0]
    tier = next(t for t in data.hardware_tiers if t.id == project.default_hardware_tier_id)
    before = len(data.jobs)
    body = ok(client.post("/api/jobs/v1/jobs", json={"projectId": project.id, "runCommand": "main.py"}))
    job = body["job"]
    assert set(body) == {"job", "metadata"} and set(job) == JOB_DETAILS_KEYS
    assert OBJECT_ID.fullmatch(job["id"]) and job["title"] == "main.py" and job["runCommand"] == "main.py"
    assert job["number"] == max(j.number for j in data.jobs if j.project_id == project.id) + 1
    assert job["startedById"] == data.self_user_id
    assert job["status"]["executionStatus"] == "Queued" and job["status"]["isCompleted"] is False
    assert job["computeCluster"]["masterHardwareTierId"] == project.default_hardware_tier_id
    assert job["computeCluster"]["computeEnvironmentId"] == project.default_environment_id
    assert job["projects"][0] == {"projectId": project.id, "commitId": project.head_commit_id}
    assert job["stageTimes"]["submissionTime"] > data.now and job["stageTimes"]["startTime"] is None
    assert job["tags"] == [] and job["queuedJobStatusDetails"] is not None
    assert ok(client.get(f"{JOBS}/{job['id']}"))["job"] == job
    assert list_jobs(client, project)[0]["id"] == job["id"]
    assert list_jobs(client, project, statusFilter="queued")[0]["id"] == job["id"]
    record = ok(client.get(f"{TIERS}/{tier.id}"))["hardwareTier"]
    assert record["capacity"]["queuedRuns"] == tier.queued_runs + 1
    # The data set is untouched, and another emulator over it does not see the job.
    assert len(data.jobs) == before
    failure(TestClient(create_domino_emulator(data)).get(f"{JOBS}/{job['id']}"), 404)


def test_start_job_with_choices(client: TestClient, data: DominoData) -> None:
    project = visible(data)[1]
    environment = next(e for e in data.environments if not e.archived and e.id != project.default_environment_id)
    payload = {
        "projectId": project.id, "runCommand": "train.py", "title": "Nightly", "hardwareTier": "gpu-k8s",
        "environmentId": environment.id, "commitId": "c" * 40,
        "computeCluster": {"clusterType": "spark", "workerHardwareTier": "large-k8s", "workerCount": 3},
    }
    job = ok(client.post("/api/jobs/v1/jobs", json=payload))["job"]
    assert job["title"] == "Nightly" and job["commitDetails"]["inputCommitId"] == "c" * 40
    assert job["computeCluster"]["masterHardwareTierId"] == "gpu-k8s"
    assert job["computeCluster"]["computeEnvironmentId"] == environment.id
    assert (job["computeCluster"]["clusterType"], job["computeCluster"]["workerCount"]) == ("spark", 3)
    assert job["computeCluster"]["workerHardwareTier"] == "large-k8s"
    second = ok(client.post("/api/jobs/v1/jobs", json={"projectId": project.id, "runCommand": "x.py"}))["job"]
    assert second["number"] == job["number"] + 1


def test_start_job_errors(client: TestClient, data: DominoData) -> None:
    project = visible(data)[0]
    archived_tier = next(t for t in data.hardware_tiers if t.is_archived)
    archived_env = next(e for e in data.environments if e.archived)
    start = "/api/jobs/v1/jobs"
    failure(client.post(start, content=b"{not json", headers={"Content-Type": "application/json"}), 400)
    failure(client.post(start, json=["main.py"]), 400)
    failure(client.post(start, json={"runCommand": "main.py"}), 400)
    failure(client.post(start, json={"projectId": project.id}), 400)
    failure(client.post(start, json={"projectId": project.id, "runCommand": "  "}), 400)
    failure(client.post(start, json={"projectId": "x", "runCommand": "a"}), 400)
    failure(client.post(start, json={"projectId": "c" * 24, "runCommand": "a"}), 404)
    failure(client.post(start, json={"projectId": forbidden(data).id, "runCommand": "a"}), 403)
    for extra in (
        {"hardwareTier": "huge-k8s"}, {"hardwareTier": archived_tier.id}, {"environmentId": "d" * 24},
        {"environmentId": archived_env.id}, {"title": 7}, {"computeCluster": "big"},
        {"computeCluster": {"clusterType": "hadoop"}}, {"computeCluster": {"clusterType": "ray", "workerCount": 0}},
    ):
        failure(client.post(start, json={"projectId": project.id, "runCommand": "a", **extra}), 400)
    assert len(list_jobs(client, project, showArchived="true")) == len(project_jobs(data, project, archived=True))


def test_tag_and_untag_a_job(client: TestClient, data: DominoData) -> None:
    job = next(j for j in data.jobs if len(j.tag_ids) == 1 and data.can_access(j.project_id))
    tags = {t.id: t for t in data.tags}
    present = tags[job.tag_ids[0]]
    other = next(t for t in data.tags if t.id not in job.tag_ids)
    add = f"/api/jobs/v1/jobs/{job.id}/tags"

    again = ok(client.post(add, json={"projectId": job.project_id, "tagName": present.name}))
    assert set(again) == {"tag", "metadata"}
    assert again["tag"] == {
        "id": present.id, "name": present.name, "createdAt": present.created_at, "creatorId": present.creator_id,
    }
    reused = ok(client.post(add, json={"projectId": job.project_id, "tagName": other.name}))["tag"]
    assert reused["id"] == other.id
    created = ok(client.post(add, json={"projectId": job.project_id, "tagName": "brand-new"}))["tag"]
    assert created["name"] == "brand-new" and created["creatorId"] == data.self_user_id
    assert OBJECT_ID.fullmatch(created["id"]) and created["id"] not in tags
    record = ok(client.get(f"{JOBS}/{job.id}"))["job"]
    assert [t["id"] for t in record["tags"]] == [present.id, other.id, created["id"]]
    project = next(p for p in data.projects if p.id == job.project_id)
    assert job.id in {j["id"] for j in list_jobs(client, project, tagFilter="brand-new")}

    removed = ok(client.delete(f"{add}/{other.id}", params={"projectId": job.project_id}))
    assert removed["success"] is True and uuid.UUID(removed["metadata"]["requestId"])
    assert [t["id"] for t in ok(client.get(f"{JOBS}/{job.id}"))["job"]["tags"]] == [present.id, created["id"]]
    failure(client.delete(f"{add}/{other.id}"), 404)
    assert job.tag_ids == [present.id]  # the data set is untouched


def test_tag_errors(client: TestClient, data: DominoData) -> None:
    job = next(j for j in data.jobs if j.tag_ids and data.can_access(j.project_id))
    elsewhere = next(p for p in visible(data) if p.id != job.project_id)
    add = f"/api/jobs/v1/jobs/{job.id}/tags"
    failure(client.post(add, json={"tagName": "x"}), 400)
    failure(client.post(add, json={"projectId": job.project_id}), 400)
    failure(client.post(add, json={"projectId": job.project_id, "tagName": ""}), 400)
    failure(client.post(add, json={"projectId": elsewhere.id, "tagName": "x"}), 400)
    failure(client.post(f"/api/jobs/v1/jobs/{'e' * 24}/tags", json={"projectId": job.project_id, "tagName": "x"}), 404)
    failure(client.delete(f"{add}/not-a-tag"), 400)
    failure(client.delete(f"{add}/{job.tag_ids[0]}", params={"projectId": elsewhere.id}), 400)
    failure(client.delete(f"{add}/{'f' * 24}"), 404)
    failure(client.delete(f"/api/jobs/v1/jobs/{'e' * 24}/tags/{job.tag_ids[0]}"), 404)


# ---------------------------------------------------------------- hardware tiers, environments


def test_hardware_tiers(client: TestClient, data: DominoData) -> None:
    body = ok(client.get(TIERS))
    live = [t for t in data.hardware_tiers if not t.is_archived]
    assert [t["id"] for t in body["hardwareTiers"]] == [t.id for t in live]
    assert body["metadata"]["totalCount"] == len(live) and body["metadata"]["limit"] == 10
    every = ok(client.get(TIERS, params={"includeArchived": "true"}))["hardwareTiers"]
    assert [t["id"] for t in every] == [t.id for t in data.hardware_tiers]
    two = ok(client.get(TIERS, params={"includeArchived": "true", "offset": 1, "limit": 2}))["hardwareTiers"]
    assert [t["id"] for t in two] == [t.id for t in data.hardware_tiers[1:3]]
    gpu = next(t for t in data.hardware_tiers if t.gpu_count)
    record = ok(client.get(f"{TIERS}/{gpu.id}"))["hardwareTier"]
    assert set(record) == TIER_KEYS
    assert record["gpuConfiguration"] == {"numberOfGpus": gpu.gpu_count, "gpuKey": gpu.gpu_key}
    assert record["resources"]["cores"] == gpu.cores
    assert record["resources"]["memory"] == {"value": gpu.memory_gib, "units": "GiB"}
    assert record["centsPerMinute"] == gpu.cents_per_minute and record["name"] == gpu.name
    assert record["capacity"]["maxConcurrentRuns"] == gpu.max_concurrent_runs
    assert record["capacity"]["executingRuns"] == gpu.executing_runs
    assert record["creationTime"] == gpu.creation_time and record["nodePool"] == gpu.node_pool
    cpu = next(t for t in every if t["id"] == "small-k8s")
    assert cpu["gpuConfiguration"] is None and cpu["flags"]["isDefault"] is True
    archived = next(t for t in data.hardware_tiers if t.is_archived)
    flags = ok(client.get(f"{TIERS}/{archived.id}"))["hardwareTier"]["flags"]
    assert flags["isArchived"] is True and flags["isVisible"] is False
    failure(client.get(f"{TIERS}/tiny-k8s"), 404)
    failure(client.get(TIERS, params={"includeArchived": "maybe"}), 400)
    failure(client.get(TIERS, params={"limit": -1}), 400)


def test_environments(client: TestClient, data: DominoData) -> None:
    for environment in data.environments:
        body = ok(client.get(f"/api/environments/v1/environments/{environment.id}"))
        record = body["environment"]
        assert set(record) == ENVIRONMENT_KEYS and set(body) == {"environment", "metadata"}
        assert record["name"] == environment.name and record["archived"] == environment.archived
        assert record["visibility"] == environment.visibility
        assert record["latestRevision"]["number"] == environment.latest_revision
        assert record["owner"] == {
            "id": environment.owner_id, "ownerType": "individual", "username": user_name(data, environment.owner_id),
        }
    assert {e.visibility for e in data.environments} >= {"global", "private"}
    failure(client.get("/api/environments/v1/environments/zzz"), 400)
    failure(client.get(f"/api/environments/v1/environments/{'0' * 24}"), 404)


# ---------------------------------------------------------------- datasets and snapshots


def readable(data: DominoData) -> list[Any]:
    return [d for d in data.datasets if data.can_read_dataset(d)]


def test_datasets_v1(client: TestClient, data: DominoData) -> None:
    body = ok(client.get(DATASETS, params={"limit": 100}))
    assert [d["id"] for d in body["datasets"]] == [d.id for d in readable(data)]
    assert body["metadata"]["totalCount"] == len(readable(data)) == len(data.datasets) - 1
    assert all(set(d) == DATASET_KEYS for d in body["datasets"])
    default = ok(client.get(DATASETS))
    assert default["metadata"]["limit"] == 10
    project = visible(data)[0]
    mine = ok(client.get(DATASETS, params={"projectId": project.id}))["datasets"]
    assert [d["id"] for d in mine] == [d.id for d in data.datasets if d.project_id == project.id]
    shared = ok(client.get(DATASETS, params={"projectId": forbidden(data).id}))["datasets"]
    assert [d["id"] for d in shared] == [d.id for d in data.datasets if data.self_user_id in d.reader_ids]
    failure(client.get(DATASETS, params={"projectId": "1" * 24}), 404)
    failure(client.get(DATASETS, params={"projectId": "abc"}), 400)

    dataset = max(data.datasets, key=lambda d: len(d.tags) + len(d.snapshot_ids))
    record = ok(client.get(f"{DATASETS}/{dataset.id}"))
    assert set(record) == {"dataset", "metadata"}
    assert record["dataset"] == {
        "id": dataset.id, "name": dataset.name, "description": dataset.description, "projectId": dataset.project_id,
        "createdAt": dataset.created_at, "snapshotIds": dataset.snapshot_ids, "tags": dataset.tags,
    }
    hidden = next(d for d in data.datasets if not data.can_read_dataset(d))
    failure(client.get(f"{DATASETS}/{hidden.id}"), 403)
    failure(client.get(f"{DATASETS}/{'2' * 24}"), 404)
    failure(client.get(f"{DATASETS}/x"), 400)


def test_snapshots(client: TestClient, data: DominoData) -> None:
    dataset = max(data.datasets, key=lambda d: len(d.snapshot_ids))
    snapshots = {s.id: s for s in data.snapshots}
    body = ok(client.get(f"{DATASETS}/{dataset.id}/snapshots"))
    assert [s["id"] for s in body["snapshots"]] == dataset.snapshot_ids
    assert body["metadata"]["totalCount"] == len(dataset.snapshot_ids)
    page = ok(client.get(f"{DATASETS}/{dataset.id}/snapshots", params={"offset": 1, "limit": 1}))
    assert [s["id"] for s in page["snapshots"]] == dataset.snapshot_ids[1:2]
    for record in body["snapshots"]:
        snapshot = snapshots[record["id"]]
        assert set(record) == SNAPSHOT_KEYS
        assert record == {
            "id": snapshot.id, "datasetId": dataset.id, "creatorId": snapshot.creator_id,
            "createdAt": snapshot.created_at, "description": snapshot.description,
            "lastMounted": snapshot.last_mounted, "status": snapshot.status,
        }
        assert ok(client.get(f"/api/datasetrw/v1/snapshots/{snapshot.id}"))["snapshot"] == record
    assert {s.status for s in data.snapshots} >= {"active", "pending", "markForDeletion"}
    hidden = next(d for d in data.datasets if not data.can_read_dataset(d))
    failure(client.get(f"{DATASETS}/{hidden.id}/snapshots"), 403)
    failure(client.get(f"/api/datasetrw/v1/snapshots/{hidden.snapshot_ids[0]}"), 403)
    failure(client.get(f"/api/datasetrw/v1/snapshots/{'3' * 24}"), 404)
    failure(client.get("/api/datasetrw/v1/snapshots/v1"), 400)
    failure(client.get(f"{DATASETS}/{dataset.id}/snapshots", params={"limit": "all"}), 400)


def test_datasets_v2(client: TestClient, data: DominoData) -> None:
    body = ok(client.get(DATASETS_V2, params={"limit": 100}))
    assert [item["dataset"]["id"] for item in body["datasets"]] == [d.id for d in readable(data)]
    assert all(set(item) == {"dataset", "projectInfo"} and item["projectInfo"] is None for item in body["datasets"])
    assert body["metadata"]["totalCount"] == len(readable(data))
    info = ok(client.get(DATASETS_V2, params={"includeProjectInfo": "true", "limit": 100}))["datasets"]
    projects = {p.id: p for p in data.projects}
    for item in info:
        project = projects[item["dataset"]["projectId"]]
        assert item["projectInfo"] == {
            "projectId": project.id, "projectName": project.name,
            "projectOwnerUsername": user_name(data, project.owner_id),
        }
    first, second = visible(data)[:2]
    both = ok(client.get(f"{DATASETS_V2}?projectIdsToInclude={first.id}&projectIdsToInclude={second.id}&limit=100"))
    assert [i["dataset"]["id"] for i in both["datasets"]] == [
        d.id for d in data.datasets if d.project_id in (first.id, second.id)
    ]
    rest = ok(client.get(DATASETS_V2, params={"projectIdsToExclude": first.id, "limit": 100}))
    assert [i["dataset"]["id"] for i in rest["datasets"]] == [d.id for d in readable(data) if d.project_id != first.id]
    writable = ok(client.get(DATASETS_V2, params={"minimumPermission": "UpdateDatasetRwV2", "limit": 100}))
    assert [i["dataset"]["id"] for i in writable["datasets"]] == [
        d.id for d in data.datasets if data.can_access(d.project_id)
    ]
    listable = ok(client.get(DATASETS_V2, params={"minimumPermission": "ListDatasetRwV2", "limit": 100}))
    assert len(listable["datasets"]) == len(readable(data))
    paged = ok(client.get(DATASETS_V2, params={"offset": 2, "limit": 3}))
    assert [i["dataset"]["id"] for i in paged["datasets"]] == [d.id for d in readable(data)[2:5]]
    failure(client.get(DATASETS_V2, params={"projectIdsToInclude": first.id, "projectIdsToExclude": second.id}), 400)
    failure(client.get(DATASETS_V2, params={"projectIdsToInclude": "p1"}), 400)
    failure(client.get(DATASETS_V2, params={"minimumPermission": "Own"}), 400)
    failure(client.get(DATASETS_V2, params={"includeProjectInfo": "y"}), 400)


# ---------------------------------------------------------------- registered models


def test_registered_model_list(client: TestClient, data: DominoData) -> None:
    body = ok(client.get(MODELS))
    names = sorted(m.name for m in data.registered_models)
    assert [m["name"] for m in body["items"]] == names
    assert set(body["metadata"]) == {"requestId", "notices", "nextPageToken"}
    assert body["metadata"]["nextPageToken"] is None
    model = next(m for m in data.registered_models if m.discoverable)
    record = next(m for m in body["items"] if m["name"] == model.name)
    assert set(record) == MODEL_KEYS | {"discoverable"}
    assert record["latestVersion"] == max(v.version for v in data.model_versions if v.model_name == model.name)
    assert record["project"]["id"] == model.project_id and record["tags"] == model.tags
    assert all("discoverable" not in m for m in body["items"] if m["name"] != model.name)

    seen, token, pages = [], None, 0
    while True:
        params = {"maxResults": 2} | ({"pageToken": token} if token else {})
        page = ok(client.get(MODELS, params=params))
        seen += [m["name"] for m in page["items"]]
        token, pages = page["metadata"]["nextPageToken"], pages + 1
        if token is None:
            break
        assert isinstance(token, str)
    assert seen == names and pages == 2

    descending = ok(client.get(MODELS, params={"orderBy": "name DESC"}))["items"]
    assert [m["name"] for m in descending] == names[::-1]
    recent = ok(client.get(MODELS, params={"orderBy": "last_updated_timestamp desc"}))["items"]
    expected = sorted(data.registered_models, key=lambda m: m.updated_at, reverse=True)
    assert [m["name"] for m in recent] == [m.name for m in expected]
    found = ok(client.get(MODELS, params={"searchPattern": "FRAUD"}))["items"]
    assert [m["name"] for m in found] == [m.name for m in data.registered_models if "fraud" in m.name]
    project = next(p for p in data.projects if p.id == data.registered_models[0].project_id)
    scoped = ok(client.get(MODELS, params={"projectId": project.id}))["items"]
    assert [m["name"] for m in scoped] == sorted(m.name for m in data.registered_models if m.project_id == project.id)

    for params in ({"pageToken": "!!!"}, {"pageToken": "e30"}, {"maxResults": 0}, {"maxResults": "x"},
                   {"orderBy": "colour"}, {"orderBy": "name sideways"}, {"projectId": "q"}):
        failure(client.get(MODELS, params=params), 400)
    failure(client.get(MODELS, params={"projectId": "4" * 24}), 404)
    failure(client.get(MODELS, params={"projectId": forbidden(data).id}), 403)


def test_registered_model_list_nested_token(data: DominoData) -> None:
    nested = TestClient(create_domino_emulator(data, pagination="nested"))
    body = ok(nested.get(MODELS, params={"maxResults": 1}))
    assert set(body["metadata"]) == {"requestId", "notices", "pagination"}
    token = body["metadata"]["pagination"]["nextPageToken"]
    following = ok(nested.get(MODELS, params={"maxResults": 1, "pageToken": token}))
    assert following["items"][0]["name"] == sorted(m.name for m in data.registered_models)[1]


def test_registered_model_and_versions(client: TestClient, data: DominoData) -> None:
    model = max(data.registered_models, key=lambda m: sum(v.model_name == m.name for v in data.model_versions))
    versions = [v for v in data.model_versions if v.model_name == model.name]
    record = ok(client.get(f"{MODELS}/{model.name}"))
    assert "metadata" not in record and record["name"] == model.name
    assert record["description"] == model.description and record["createdAt"] == model.created_at
    assert record["ownerUsername"] == user_name(data, model.owner_id)

    body = ok(client.get(f"{MODELS}/{model.name}/versions"))
    assert [v["modelVersion"] for v in body["items"]] == [v.version for v in versions]
    assert body["metadata"]["limit"] == 20 and body["metadata"]["totalCount"] == len(versions)
    assert all(set(v) == VERSION_KEYS for v in body["items"])
    page = ok(client.get(f"{MODELS}/{model.name}/versions", params={"offset": 1, "limit": 1}))
    assert [v["modelVersion"] for v in page["items"]] == [versions[1].version]

    for version in versions:
        detail = ok(client.get(f"{MODELS}/{model.name}/versions/{version.version}"))
        assert set(detail) == VERSION_DETAILS_KEYS
        assert detail["currentStage"] == version.stage and detail["modelVersion"] == version.version
        assert detail["experimentRunId"] == version.experiment_run_id
        assert detail["modelVersionDescription"] == version.description
        assert detail["ownerUsername"] == user_name(data, version.owner_id)
        assert detail["project"]["id"] == version.project_id
        metrics = detail["versionUiDetails"]["experimentRunInfo"]["metrics"]
        assert {m["key"]: m["value"] for m in metrics} == version.metrics

    failure(client.get(f"{MODELS}/no-such-model"), 404)
    failure(client.get(f"{MODELS}/no-such-model/versions"), 404)
    failure(client.get(f"{MODELS}/{model.name}/versions/latest"), 400)
    failure(client.get(f"{MODELS}/{model.name}/versions/0"), 400)
    failure(client.get(f"{MODELS}/{model.name}/versions/{len(versions) + 1}"), 404)
    failure(client.get(f"{MODELS}/{model.name}/versions", params={"limit": 5000}), 400)


# ---------------------------------------------------------------- projects and users


def test_projects(client: TestClient, data: DominoData) -> None:
    body = ok(client.get("/api/projects/beta/projects"))
    assert [p["id"] for p in body["projects"]] == [p.id for p in visible(data)]
    assert body["metadata"]["totalCount"] == len(visible(data))
    page = ok(client.get("/api/projects/beta/projects", params={"offset": 1, "limit": 1}))
    assert [p["id"] for p in page["projects"]] == [visible(data)[1].id]
    for project in visible(data):
        record = ok(client.get(f"/api/projects/v1/projects/{project.id}"))["project"]
        assert set(record) == PROJECT_KEYS
        assert record["name"] == project.name and record["ownerId"] == project.owner_id
        assert record["ownerUsername"] == user_name(data, project.owner_id)
        assert record["visibility"] == project.visibility
        assert [c["id"] for c in record["collaborators"]] == project.collaborator_ids
        if project.git_repo_uri:
            repository = record["mainRepository"]
            assert repository["uri"] == project.git_repo_uri and repository["serviceProvider"] == "github"
            assert repository["defaultRef"] == {"refType": "head"}
        else:
            assert record["mainRepository"] is None
    assert {p["visibility"] for p in body["projects"]} == {"public", "private", "searchable"}
    assert any(p.git_repo_uri for p in visible(data))
    failure(client.get(f"/api/projects/v1/projects/{forbidden(data).id}"), 403)
    failure(client.get(f"/api/projects/v1/projects/{'5' * 24}"), 404)
    failure(client.get("/api/projects/v1/projects/churn-analysis"), 400)


def test_users(client: TestClient, data: DominoData) -> None:
    body = ok(client.get("/api/users/v1/users"))
    assert [u["id"] for u in body["users"]] == [u.id for u in data.users]
    assert body["metadata"]["totalCount"] == 5 and body["metadata"]["limit"] == 10
    for record, user in zip(body["users"], data.users):
        assert set(record) == USER_KEYS
        assert (record["userName"], record["fullName"], record["email"]) == (user.user_name, user.full_name, user.email)
        assert record["avatarUrl"] == user.avatar_url
    page = ok(client.get("/api/users/v1/users", params={"offset": 3, "limit": 3}))
    assert [u["id"] for u in page["users"]] == [u.id for u in data.users[3:]]
    me = ok(client.get("/api/users/v1/self"))
    assert set(me) == {"user", "metadata"} and me["user"] == body["users"][0]
    failure(client.get("/api/users/v1/users", params={"offset": "first"}), 400)
    failure(client.get(f"/api/users/v1/users/{data.users[1].id}"), 404)


def test_timestamps_are_iso_with_milliseconds(client: TestClient, data: DominoData) -> None:
    job = next(j for j in data.jobs if j.is_completed and data.can_access(j.project_id))
    record = ok(client.get(f"{JOBS}/{job.id}"))["job"]
    assert all(TIMESTAMP.fullmatch(v) for v in record["stageTimes"].values())
    tier = ok(client.get(f"{TIERS}/small-k8s"))["hardwareTier"]
    assert TIMESTAMP.fullmatch(tier["creationTime"]) and TIMESTAMP.fullmatch(tier["updateTime"])


# ---------------------------------------------------------------- enum words as seed 004 spells them

# Each enum the emulator sends, with the words seed 004's schema lists for it.
SEED_ENUMS = {
    "ProjectVisibilityV1": {"public", "searchable", "private"},
    "ProjectCollaboratorV1.role": {"contributor", "launcherUser", "resultsConsumer", "projectImporter"},
    "GitServiceProviderV1": {
        "bitbucket", "bitbucketServer", "github", "githubEnterprise", "gitLab", "gitLabEnterprise", "unknown",
    },
    "GitReferenceTypeV1": {"head", "branch", "tag", "commit"},
    "GitRefV1.refType": {"head", "commitId", "tags", "branches"},
    "ClusterTypeV1": {"dask", "mpi", "ray", "spark"},
    "EnvironmentRevisionSpecV1": {"ActiveRevision", "LatestRevision"},
    "EnvironmentVisibilityV1": {"global", "private", "organization"},
    "EnvironmentOwnerTypeV1": {"individual", "organization"},
    "EnvironmentRevisionBuildStatusV1": {
        "queued", "starting", "pulling", "building", "pushing", "succeeded", "failed", "killed",
    },
    "SnapshotDetailsV1.status": {
        "active", "markForDeletion", "deletionInProgress", "deleted", "pending", "failed", "copying",
    },
    "LogTypeV1": {"stdOut", "stdErr", "prepareOutput", "complete"},
    "HardwareTierCapacityV1.capacityLevel": {
        "CanExecuteWithCurrentInstances", "RequiresLaunchingInstance", "Full", "Unknown",
    },
    "InformationV1.units": {"MB", "MiB", "GB", "GiB"},
}


def test_every_enum_word_is_spelled_as_seed_004_lists_it(client: TestClient, data: DominoData) -> None:
    sent: dict[str, set[str]] = {name: set() for name in SEED_ENUMS}
    for project in visible(data):
        record = ok(client.get(f"/api/projects/v1/projects/{project.id}"))["project"]
        sent["ProjectVisibilityV1"].add(record["visibility"])
        sent["ProjectCollaboratorV1.role"].update(c["role"] for c in record["collaborators"])
        if record["mainRepository"]:
            sent["GitServiceProviderV1"].add(record["mainRepository"]["serviceProvider"])
            sent["GitReferenceTypeV1"].add(record["mainRepository"]["defaultRef"]["refType"])
        for job in ok(client.get(JOBS, params={"projectId": project.id, "limit": 1000}))["jobs"]:
            sent["GitRefV1.refType"].add(job["mainRepoGitRef"]["refType"])
            cluster = job["computeCluster"]
            sent["EnvironmentRevisionSpecV1"].add(cluster["computeEnvironmentRevisionSpec"])
            if cluster["clusterType"] is not None:
                sent["ClusterTypeV1"].add(cluster["clusterType"])
            logs = ok(client.get(f"{JOBS}/{job['id']}/logs"))["logs"]["logContent"]
            sent["LogTypeV1"].update(line["logType"] for line in logs)
    for environment in data.environments:
        record = ok(client.get(f"/api/environments/v1/environments/{environment.id}"))["environment"]
        sent["EnvironmentVisibilityV1"].add(record["visibility"])
        sent["EnvironmentOwnerTypeV1"].add(record["owner"]["ownerType"])
        sent["EnvironmentRevisionBuildStatusV1"].add(record["latestRevision"]["status"])
        sent["ClusterTypeV1"].update(record["supportedClusters"])
    for dataset in readable(data):
        snapshots = ok(client.get(f"{DATASETS}/{dataset.id}/snapshots", params={"limit": 100}))["snapshots"]
        sent["SnapshotDetailsV1.status"].update(s["status"] for s in snapshots)
    for tier in ok(client.get(TIERS, params={"includeArchived": "true"}))["hardwareTiers"]:
        sent["HardwareTierCapacityV1.capacityLevel"].add(tier["capacity"]["capacityLevel"])
        sent["InformationV1.units"].add(tier["resources"]["memory"]["units"])
    for name, words in sent.items():
        assert words and words <= SEED_ENUMS[name], (name, words - SEED_ENUMS[name])
    assert sent["SnapshotDetailsV1.status"] == {"active", "pending", "markForDeletion"}
    assert sent["GitRefV1.refType"] == {"head"}
