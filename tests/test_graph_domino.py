"""The Domino graph over the emulator: data, call counts, mutations, errors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime

import pytest

from mlgraph.demo import Sandbox, build_sandbox
from mlgraph.graph.domino.types import STATUS_MAP, DominoSnapshotStatus, execution_status
from mlgraph.graph.ids import global_id
from mlgraph.graph.interfaces import ExecutionStatus
from mlgraph.sandbox.domino_data import JOB_STATUSES, DominoData, parse_iso
from mlgraph.sandbox.faults import Faults
from mlgraph.settings import Settings
from tests.conftest import Gateway, open_gateway

CANONICAL = """
query Jobs($project: ID!, $first: Int) {
  domino {
    jobs(project: $project, first: $first) {
      totalCount
      nodes {
        nativeId
        name
        status
        nativeStatus
        user { name email }
        project { name }
        hardwareTier { name cpuCores memoryGib gpuCount centsPerMinute }
      }
    }
  }
}
"""


def visible_projects(data: DominoData) -> list[str]:
    return [project.id for project in data.projects if data.can_access(project.id)]


def busiest_project(data: DominoData) -> str:
    counts = Counter(job.project_id for job in data.jobs if data.can_access(job.project_id))
    return counts.most_common(1)[0][0]


def jobs_of(data: DominoData, project_id: str) -> list:
    """A project's unarchived jobs in Domino's default order: number, descending."""
    jobs = [job for job in data.jobs if job.project_id == project_id and not job.is_archived]
    return sorted(jobs, key=lambda job: job.number, reverse=True)


def domino_calls(gateway_answer) -> list[str]:
    return [entry["path"].split("?")[0] for entry in gateway_answer.ledger["entries"] if entry["platform"] == "domino"]


@pytest.fixture(scope="module")
def small_and_large() -> Iterator[tuple[Gateway, Gateway]]:
    small = build_sandbox(domino_projects=1, domino_jobs=12)
    large = build_sandbox(domino_projects=1, domino_jobs=300)
    for gateway_small in open_gateway(small):
        for gateway_large in open_gateway(large):
            yield gateway_small, gateway_large


def test_canonical_query_answers_from_the_data_set(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    project_id = busiest_project(data)
    answer = gateway(CANONICAL, {"project": project_id, "first": 100})
    assert answer.errors == []
    connection = answer.data["domino"]["jobs"]
    expected = jobs_of(data, project_id)
    assert connection["totalCount"] == len(expected)
    users = {user.id: user for user in data.users}
    tiers = {tier.id: tier for tier in data.hardware_tiers}
    project = next(p for p in data.projects if p.id == project_id)
    assert [node["nativeId"] for node in connection["nodes"]] == [job.id for job in expected]
    for node, job in zip(connection["nodes"], expected):
        assert node["nativeStatus"] == job.status
        assert node["status"] == execution_status(job.status).name
        assert node["user"] == {"name": users[job.started_by_id].user_name, "email": users[job.started_by_id].email}
        assert node["project"] == {"name": project.name}
        tier = tiers[job.hardware_tier_id]
        assert node["hardwareTier"]["name"] == tier.name
        assert node["hardwareTier"]["cpuCores"] == tier.cores
        assert node["hardwareTier"]["memoryGib"] == pytest.approx(tier.memory_gib)
        assert node["hardwareTier"]["gpuCount"] == tier.gpu_count
        assert node["hardwareTier"]["centsPerMinute"] == tier.cents_per_minute


def test_jobs_user_project_tier_calls_do_not_grow_with_jobs(small_and_large: tuple[Gateway, Gateway]) -> None:
    counts = []
    for gateway in small_and_large:
        data = gateway.sandbox.domino
        project_id = busiest_project(data)
        answer = gateway(CANONICAL, {"project": project_id, "first": 1000})
        assert answer.errors == []
        nodes = answer.data["domino"]["jobs"]["nodes"]
        assert len(nodes) == len(jobs_of(data, project_id))
        calls = domino_calls(answer)
        # One list of jobs, one of users, one of tiers, one get per distinct project.
        assert calls.count("/api/jobs/beta/jobs") == 1
        assert calls.count("/api/users/v1/users") == 1
        assert calls.count("/api/hardwaretiers/v1/hardwaretiers") == 1
        assert calls.count(f"/api/projects/v1/projects/{project_id}") == 1
        counts.append(len(calls))
    small, large = counts
    assert len(small_and_large[1].sandbox.domino.jobs) > 10 * len(small_and_large[0].sandbox.domino.jobs)
    assert small == large == 4


def test_job_tags_cost_one_get_per_distinct_job(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    project_id = busiest_project(data)
    answer = gateway(
        """query($p: ID!) { domino { jobs(project: $p, first: 8) { nodes { nativeId tags { name } commentsCount goalIds } } } }""",
        {"p": project_id},
    )
    assert answer.errors == []
    tags = {tag.id: tag.name for tag in data.tags}
    jobs = {job.id: job for job in data.jobs}
    for node in answer.data["domino"]["jobs"]["nodes"]:
        job = jobs[node["nativeId"]]
        assert sorted(tag["name"] for tag in node["tags"]) == sorted(tags[t] for t in job.tag_ids)
        assert node["commentsCount"] == job.comments_count
        assert node["goalIds"] == job.goal_ids
    calls = domino_calls(answer)
    gets = [path for path in calls if path.startswith("/api/jobs/beta/jobs/")]
    assert len(gets) == len(set(gets)) == 8
    assert len(calls) == 9


def test_every_job_field(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    job = next(j for j in data.jobs if j.status == "Succeeded" and j.worker_hardware_tier_id and data.can_access(j.project_id))
    answer = gateway(
        """
        query($id: ID!) { domino { job(id: $id) {
          id nativeId platform name number title runCommand status nativeStatus
          isCompleted isArchived isScheduled submittedAt startedAt endedAt durationSeconds
          usage { cpuPercentage memoryGib } commitDetails { inputCommitId outputCommitId }
          mainRepoGitRef { refType value } dominoStats { name value }
          computeCluster { clusterType workerCount masterHardwareTier { nativeId } workerHardwareTier { nativeId } environment { nativeId name } }
          user { nativeId } project { nativeId } hardwareTier { nativeId } resources { name cpuCores }
          inputs { nativeId name version type producer { nativeId } }
          outputs { nativeId name version producer { nativeId } dataset { nativeId } }
          pipelineRun { id } upstream { id } tags { nativeId name createdAt creator { nativeId } }
          goalIds commentsCount queuedStatus { expectedWait }
        } } }
        """,
        {"id": global_id("DominoJob", job.id)},
    )
    assert answer.errors == []
    node = answer.data["domino"]["job"]
    assert node["id"] == global_id("DominoJob", job.id)
    assert node["platform"] == "DOMINO"
    assert (node["name"], node["number"], node["runCommand"]) == (job.title, job.number, job.run_command)
    assert (node["status"], node["nativeStatus"]) == ("SUCCEEDED", "Succeeded")
    assert (node["isCompleted"], node["isArchived"], node["isScheduled"]) == (job.is_completed, job.is_archived, job.is_scheduled)
    started, ended = parse_iso(job.start_time), parse_iso(job.completed_time)
    assert datetime.fromisoformat(node["startedAt"]) == started
    assert datetime.fromisoformat(node["submittedAt"]) == parse_iso(job.submission_time)
    assert node["durationSeconds"] == (ended - started).total_seconds()
    assert node["usage"] == {"cpuPercentage": job.cpu_percentage, "memoryGib": job.memory_gib}
    assert node["commitDetails"] == {"inputCommitId": job.input_commit_id, "outputCommitId": job.output_commit_id}
    assert node["mainRepoGitRef"]["refType"] == "HEAD"
    assert {stat["name"]: stat["value"] for stat in node["dominoStats"]} == job.domino_stats
    cluster = node["computeCluster"]
    assert cluster["workerCount"] == job.worker_count
    assert cluster["masterHardwareTier"]["nativeId"] == job.hardware_tier_id
    assert cluster["workerHardwareTier"]["nativeId"] == job.worker_hardware_tier_id
    assert cluster["environment"]["nativeId"] == job.environment_id
    assert node["user"]["nativeId"] == job.started_by_id
    assert node["project"]["nativeId"] == job.project_id
    assert node["hardwareTier"]["nativeId"] == job.hardware_tier_id
    tier = next(t for t in data.hardware_tiers if t.id == job.hardware_tier_id)
    assert node["resources"] == {"name": tier.name, "cpuCores": tier.cores}
    inputs = [m for m in job.dataset_mounts if m.is_input]
    outputs = [m for m in job.dataset_mounts if not m.is_input]
    assert [i["nativeId"] for i in node["inputs"]] == [m.snapshot_id for m in inputs]
    assert [o["nativeId"] for o in node["outputs"]] == [m.snapshot_id for m in outputs]
    datasets = {d.id: d for d in data.datasets}
    for given, mount in zip(node["inputs"], inputs):
        assert given["name"] == datasets[mount.dataset_id].name
        assert given["version"] == str(mount.snapshot_version)
        assert given["type"] == "dataset" and given["producer"] is None
    for given, mount in zip(node["outputs"], outputs):
        assert given["producer"] == {"nativeId": job.id}
        assert given["dataset"] == {"nativeId": mount.dataset_id}
    assert node["pipelineRun"] is None and node["upstream"] is None
    tags = {tag.id: tag for tag in data.tags}
    assert sorted(t["nativeId"] for t in node["tags"]) == sorted(job.tag_ids)
    for tag in node["tags"]:
        assert tag["creator"]["nativeId"] == tags[tag["nativeId"]].creator_id
    assert node["commentsCount"] == job.comments_count


def test_job_logs_by_type_and_limit(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    job = next(j for j in data.jobs if j.status == "Failed" and data.can_access(j.project_id))
    query = """query($id: ID!, $type: DominoLogType, $limit: Int) { domino { job(id: $id) {
        logs(logType: $type, limit: $limit) { isComplete problem lines { log logType timestamp } } } } }"""
    answer = gateway(query, {"id": job.id})
    assert answer.errors == []
    logs = answer.data["domino"]["job"]["logs"]
    assert [line["log"] for line in logs["lines"]] == [line.log for line in job.logs]
    assert logs["problem"] == job.problem
    answer = gateway(query, {"id": job.id, "type": "STD_ERR", "limit": 1})
    lines = answer.data["domino"]["job"]["logs"]["lines"]
    assert len(lines) == 1 and lines[0]["logType"] == "STD_ERR"
    assert "logType=stdErr" in answer.ledger["entries"][-1]["path"]
    answer = gateway(query, {"id": job.id, "limit": 20000})
    assert answer.codes() == ["BAD_USER_INPUT"] and answer.calls == 1


def test_status_map_covers_every_domino_status() -> None:
    for status in JOB_STATUSES:
        assert status.casefold() in STATUS_MAP, status
    assert execution_status("SUCCEEDED") is ExecutionStatus.SUCCEEDED
    assert execution_status("StopRequested") is ExecutionStatus.RUNNING
    assert execution_status("Queued") is ExecutionStatus.QUEUED
    assert execution_status("Error") is ExecutionStatus.FAILED
    assert execution_status("NewFangled") is ExecutionStatus.UNKNOWN


def test_every_status_reaches_the_graph(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    seen: set[str] = set()
    for project_id in visible_projects(data):
        answer = gateway(
            """query($p: ID!) { domino { jobs(project: $p, first: 1000, showArchived: true) { nodes { nativeStatus status } } } }""",
            {"p": project_id},
        )
        assert answer.errors == []
        for node in answer.data["domino"]["jobs"]["nodes"]:
            assert node["status"] == execution_status(node["nativeStatus"]).name
            seen.add(node["nativeStatus"])
    assert seen == set(JOB_STATUSES)


def test_job_list_filters_and_paging(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    project_id = busiest_project(data)
    expected = jobs_of(data, project_id)
    query = """query($p: ID!, $after: String, $category: DominoJobStatusCategory, $tag: String, $sort: DominoJobSort, $asc: Boolean) {
      domino { jobs(project: $p, first: 3, after: $after, statusCategory: $category, tag: $tag, sortBy: $sort, ascending: $asc) {
        totalCount pageInfo { hasNextPage endCursor } nodes { nativeId number nativeStatus tags { name } } } } }"""
    seen: list[str] = []
    after = None
    while True:
        answer = gateway(query, {"p": project_id, "after": after})
        assert answer.errors == []
        page = answer.data["domino"]["jobs"]
        seen += [node["nativeId"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [job.id for job in expected]
    answer = gateway(query, {"p": project_id, "sort": "NUMBER", "asc": True})
    numbers = [node["number"] for node in answer.data["domino"]["jobs"]["nodes"]]
    assert numbers == sorted(job.number for job in expected)[:3]
    answer = gateway(query, {"p": project_id, "category": "RUNNING"})
    assert "statusFilter=running" in answer.ledger["entries"][0]["path"]
    tag_name = next(tag.name for tag in data.tags if any(tag.id in job.tag_ids for job in expected))
    answer = gateway(query, {"p": project_id, "tag": tag_name})
    assert answer.errors == []
    assert answer.data["domino"]["jobs"]["nodes"]
    assert all(tag_name in [t["name"] for t in node["tags"]] for node in answer.data["domino"]["jobs"]["nodes"])


def test_a_status_filter_answers_exactly_that_status(gateway: Gateway) -> None:
    """The filter takes the status the jobs answer with: FAILED is failed jobs
    only, though Domino's category sent for it (completed) holds more."""
    data = gateway.sandbox.domino
    project_id = busiest_project(data)
    query = """query($p: ID!, $status: ExecutionStatus, $after: String) { domino { jobs(project: $p, first: 2, status: $status, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { nativeId status } } } }"""
    for status in ("FAILED", "SUCCEEDED", "RUNNING", "QUEUED"):
        expected = [job.id for job in jobs_of(data, project_id) if execution_status(job.status).name == status]
        seen, after = [], None
        while True:
            answer = gateway(query, {"p": project_id, "status": status, "after": after})
            assert answer.errors == []
            page = answer.data["domino"]["jobs"]
            assert page["totalCount"] == len(expected)
            assert {node["status"] for node in page["nodes"]} <= {status}
            seen += [node["nativeId"] for node in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == expected, status
    answer = gateway(query, {"p": project_id, "status": "FAILED"})
    assert "statusFilter=completed" in answer.ledger["entries"][0]["path"]


def test_project_fields_and_its_lists(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    project = next(p for p in data.projects if data.can_access(p.id) and any(d.project_id == p.id for d in data.datasets))
    answer = gateway(
        """query($id: ID!) { domino { project(id: $id) { nativeId name description visibility ownerUsername
            owner { nativeId } jobs(first: 2) { totalCount } datasets(first: 50) { nodes { nativeId } }
            registeredModels(first: 10) { nodes { name } } } } }""",
        {"id": global_id("DominoProject", project.id)},
    )
    assert answer.errors == []
    node = answer.data["domino"]["project"]
    owner = next(u for u in data.users if u.id == project.owner_id)
    assert (node["name"], node["description"], node["visibility"]) == (project.name, project.description, project.visibility.upper())
    assert node["owner"]["nativeId"] == owner.id and node["ownerUsername"] == owner.user_name
    assert node["jobs"]["totalCount"] == len(jobs_of(data, project.id))
    assert {d["nativeId"] for d in node["datasets"]["nodes"]} == {d.id for d in data.datasets if d.project_id == project.id}
    assert {m["name"] for m in node["registeredModels"]["nodes"]} == {
        m.name for m in data.registered_models if m.project_id == project.id
    }


def test_lists_of_projects_users_and_me(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    answer = gateway(
        """{ domino { projects(first: 100) { totalCount nodes { nativeId } }
             users(first: 2) { totalCount nodes { name fullName email } }
             me { nativeId name } } }"""
    )
    assert answer.errors == []
    root = answer.data["domino"]
    assert {p["nativeId"] for p in root["projects"]["nodes"]} == set(visible_projects(data))
    assert root["users"]["totalCount"] == len(data.users)
    assert root["users"]["nodes"][0] == {"name": data.users[0].user_name, "fullName": data.users[0].full_name, "email": data.users[0].email}
    assert root["me"]["nativeId"] == data.self_user_id


def test_hardware_tiers_with_gpus_and_archived(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    query = """query($archived: Boolean!) { domino { hardwareTiers(first: 50, includeArchived: $archived) { totalCount nodes {
        nativeId name cpuCores memoryGib gpuCount gpuType centsPerMinute nodePool
        capacity { maxConcurrentRuns executingRuns queuedRuns } flags { isArchived isDefault isModelApiTier } } } } }"""
    answer = gateway(query, {"archived": False})
    assert answer.errors == []
    nodes = answer.data["domino"]["hardwareTiers"]["nodes"]
    live = [tier for tier in data.hardware_tiers if not tier.is_archived]
    assert [node["nativeId"] for node in nodes] == [tier.id for tier in live]
    for node, tier in zip(nodes, live):
        assert node["gpuCount"] == tier.gpu_count and node["gpuType"] == tier.gpu_key
        assert node["memoryGib"] == pytest.approx(tier.memory_gib)
        assert node["capacity"] == {"maxConcurrentRuns": tier.max_concurrent_runs, "executingRuns": tier.executing_runs, "queuedRuns": tier.queued_runs}
        assert node["flags"]["isDefault"] == tier.is_default
    assert any(node["gpuCount"] > 0 for node in nodes)
    archived = gateway(query, {"archived": True}).data["domino"]["hardwareTiers"]
    assert archived["totalCount"] == len(data.hardware_tiers)


def test_datasets_snapshots_and_tags(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    dataset = next(d for d in data.datasets if data.can_access(d.project_id) and len(d.snapshot_ids) >= 2 and d.tags)
    answer = gateway(
        """query($id: ID!) { domino { dataset(id: $id) { nativeId name description createdAt snapshotCount
            project { nativeId } tags { name snapshot { nativeId } }
            snapshots(first: 10) { totalCount nodes { nativeId version status createdAt description creator { nativeId } dataset { nativeId } name } } } } }""",
        {"id": global_id("DominoDataset", dataset.id)},
    )
    assert answer.errors == []
    node = answer.data["domino"]["dataset"]
    assert (node["name"], node["snapshotCount"]) == (dataset.name, len(dataset.snapshot_ids))
    assert node["project"]["nativeId"] == dataset.project_id
    assert {t["name"]: t["snapshot"]["nativeId"] for t in node["tags"]} == dataset.tags
    snapshots = [s for s in data.snapshots if s.dataset_id == dataset.id]
    assert node["snapshots"]["totalCount"] == len(snapshots)
    for given, snapshot in zip(node["snapshots"]["nodes"], snapshots):
        assert given["nativeId"] == snapshot.id
        assert given["version"] == str(snapshot.version)
        assert given["status"] == DominoSnapshotStatus(snapshot.status).name
        assert given["creator"]["nativeId"] == snapshot.creator_id
        assert given["dataset"]["nativeId"] == dataset.id and given["name"] == dataset.name
    listed = gateway("{ domino { datasets(first: 100) { totalCount nodes { nativeId } } } }")
    assert {d["nativeId"] for d in listed.data["domino"]["datasets"]["nodes"]} == {
        d.id for d in data.datasets if data.can_read_dataset(d)
    }


def test_registered_models_and_versions(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    model = data.registered_models[0]
    versions = sorted((v for v in data.model_versions if v.model_name == model.name), key=lambda v: v.version)
    answer = gateway(
        """query($name: String!) { domino { registeredModel(name: $name) { id name description discoverable
            owner { nativeId } project { nativeId } tags { key value }
            latestVersion { number stage }
            versions(first: 10) { totalCount nodes { name number stage description experimentRunId owner { nativeId } model { name } project { nativeId } } } } } }""",
        {"name": model.name},
    )
    assert answer.errors == []
    node = answer.data["domino"]["registeredModel"]
    assert node["id"] == global_id("DominoRegisteredModel", model.name)
    assert (node["description"], node["discoverable"]) == (model.description, model.discoverable)
    assert node["owner"]["nativeId"] == model.owner_id and node["project"]["nativeId"] == model.project_id
    assert {t["key"]: t["value"] for t in node["tags"]} == model.tags
    assert node["latestVersion"] == {"number": versions[-1].version, "stage": versions[-1].stage}
    given = sorted(node["versions"]["nodes"], key=lambda v: v["number"])
    assert [v["number"] for v in given] == [v.version for v in versions]
    for entry, version in zip(given, versions):
        assert entry["stage"] == version.stage and entry["description"] == version.description
        assert entry["experimentRunId"] == version.experiment_run_id
        assert entry["model"] == {"name": model.name} and entry["owner"]["nativeId"] == version.owner_id
    answer = gateway(
        """query($m: String!, $v: Int!) { domino { modelVersion(model: $m, version: $v) { id stage } } }""",
        {"m": model.name, "v": versions[0].version},
    )
    assert answer.data["domino"]["modelVersion"]["stage"] == versions[0].stage
    version_id = answer.data["domino"]["modelVersion"]["id"]
    again = gateway("""query($id: ID!) { node(id: $id) { ... on DominoModelVersion { number modelName } } }""", {"id": version_id})
    assert again.data["node"] == {"number": versions[0].version, "modelName": model.name}


def test_registered_model_list_pages_by_token(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    names = []
    after = None
    while True:
        answer = gateway(
            """query($after: String) { domino { registeredModels(first: 1, after: $after) { pageInfo { hasNextPage endCursor } nodes { name } } } }""",
            {"after": after},
        )
        assert answer.errors == []
        page = answer.data["domino"]["registeredModels"]
        names += [node["name"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(names) == sorted(model.name for model in data.registered_models)
    assert len(names) == len(set(names))


def test_environment_and_node_for_every_type(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    env = data.environments[0]
    answer = gateway(
        """query($id: ID!) { domino { environment(id: $id) { nativeId name archived visibility isCurated latestRevision { number } } } }""",
        {"id": env.id},
    )
    assert answer.errors == []
    node = answer.data["domino"]["environment"]
    assert (node["name"], node["archived"], node["visibility"]) == (env.name, env.archived, env.visibility.upper())
    assert node["latestRevision"]["number"] == env.latest_revision
    project = next(p for p in data.projects if data.can_access(p.id))
    job = next(j for j in data.jobs if j.project_id == project.id)
    dataset = next(d for d in data.datasets if d.project_id == project.id)
    ids = {
        global_id("DominoJob", job.id): "DominoJob",
        global_id("DominoProject", project.id): "DominoProject",
        global_id("DominoUser", data.users[1].id): "DominoUser",
        global_id("DominoHardwareTier", data.hardware_tiers[0].id): "DominoHardwareTier",
        global_id("DominoDataset", dataset.id): "DominoDataset",
        global_id("DominoDatasetSnapshot", dataset.snapshot_ids[0]): "DominoDatasetSnapshot",
        global_id("DominoEnvironment", env.id): "DominoEnvironment",
        global_id("DominoRegisteredModel", data.registered_models[0].name): "DominoRegisteredModel",
    }
    answer = gateway("""query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }""", {"ids": list(ids)})
    assert answer.errors == []
    assert [(n["id"], n["__typename"]) for n in answer.data["nodes"]] == list(ids.items())


def test_user_ids_resolve_from_one_list_per_request(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    ids = [global_id("DominoUser", user.id) for user in data.users]
    answer = gateway("""query($ids: [ID!]!) { nodes(ids: $ids) { ... on DominoUser { name } } }""", {"ids": ids})
    assert [n["name"] for n in answer.data["nodes"]] == [u.user_name for u in data.users]
    assert domino_calls(answer) == ["/api/users/v1/users"]


# ---------------------------------------------------------------- mutations


@pytest.fixture
def fresh() -> Iterator[Gateway]:
    """A gateway of its own: writes must not leak into the shared demo data."""
    yield from open_gateway(build_sandbox())


def test_start_domino_job(fresh: Gateway) -> None:
    data = fresh.sandbox.domino
    project = next(p for p in data.projects if data.can_access(p.id))
    gpu = next(t for t in data.hardware_tiers if t.gpu_count > 0 and not t.is_archived)
    answer = fresh(
        """mutation($input: StartDominoJobInput!) { startDominoJob(input: $input) {
            nativeId title runCommand status nativeStatus number project { nativeId } hardwareTier { nativeId gpuCount } user { nativeId } } }""",
        {"input": {"project": global_id("DominoProject", project.id), "runCommand": "train.py --epochs 3", "title": "Train", "hardwareTier": gpu.id}},
    )
    assert answer.errors == []
    job = answer.data["startDominoJob"]
    assert (job["title"], job["runCommand"], job["status"], job["nativeStatus"]) == ("Train", "train.py --epochs 3", "QUEUED", "Queued")
    assert job["project"]["nativeId"] == project.id
    assert job["hardwareTier"] == {"nativeId": gpu.id, "gpuCount": gpu.gpu_count}
    assert job["user"]["nativeId"] == data.self_user_id
    assert job["number"] == max(j.number for j in data.jobs if j.project_id == project.id) + 1
    post = next(e for e in answer.ledger["entries"] if e["method"] == "POST")
    assert post["path"] == "/api/jobs/v1/jobs"
    listed = fresh(
        """query($p: ID!) { domino { jobs(project: $p, first: 1) { nodes { nativeId } } } }""", {"p": project.id}
    )
    assert listed.data["domino"]["jobs"]["nodes"][0]["nativeId"] == job["nativeId"]


@pytest.mark.parametrize(
    "input,code",
    [
        ({"runCommand": "  "}, "BAD_USER_INPUT"),
        ({"hardwareTier": "../../users"}, "BAD_USER_INPUT"),
        ({"hardwareTier": "no-such-tier"}, "BAD_USER_INPUT"),
        ({"project": "0123456789abcdef01234567"}, "NOT_FOUND"),
    ],
)
def test_start_domino_job_refusals(fresh: Gateway, input: dict, code: str) -> None:
    data = fresh.sandbox.domino
    project = next(p for p in data.projects if data.can_access(p.id))
    variables = {"input": {"project": project.id, "runCommand": "main.py", **input}}
    answer = fresh("""mutation($input: StartDominoJobInput!) { startDominoJob(input: $input) { nativeId } }""", variables)
    assert answer.data is None
    assert answer.codes() == [code]


def test_tag_and_untag_domino_job(fresh: Gateway) -> None:
    data = fresh.sandbox.domino
    job = next(j for j in data.jobs if data.can_access(j.project_id) and j.tag_ids)
    known = {tag.id: tag.name for tag in data.tags}
    query = """mutation($job: ID!, $tag: String!) { tagDominoJob(job: $job, tag: $tag) { nativeId tags { nativeId name } } }"""
    answer = fresh(query, {"job": global_id("DominoJob", job.id), "tag": "reviewed"})
    assert answer.errors == []
    names = [t["name"] for t in answer.data["tagDominoJob"]["tags"]]
    assert sorted(names) == sorted([known[t] for t in job.tag_ids] + ["reviewed"])
    again = fresh(query, {"job": job.id, "tag": "reviewed"})
    assert [t["name"] for t in again.data["tagDominoJob"]["tags"]].count("reviewed") == 1
    untag = """mutation($job: ID!, $tag: String!) { untagDominoJob(job: $job, tag: $tag) { tags { name } } }"""
    answer = fresh(untag, {"job": job.id, "tag": "reviewed"})
    assert answer.errors == []
    assert sorted(t["name"] for t in answer.data["untagDominoJob"]["tags"]) == sorted(known[t] for t in job.tag_ids)
    delete = next(e for e in answer.ledger["entries"] if e["method"] == "DELETE")
    assert delete["path"].startswith(f"/api/jobs/v1/jobs/{job.id}/tags/")
    missing = fresh(untag, {"job": job.id, "tag": "never-there"})
    assert missing.codes() == ["NOT_FOUND"]


# ---------------------------------------------------------------- errors


def test_unknown_and_forged_ids(gateway: Gateway) -> None:
    answer = gateway("""{ domino { job(id: "0123456789abcdef01234567") { name } } }""")
    assert answer.data == {"domino": {"job": None}}
    assert answer.codes() == ["NOT_FOUND"]
    assert answer.errors[0]["extensions"]["platform"] == "domino"
    for forged in ("../../api/users/v1/self", "a b", "x" * 300, global_id("ZenMLStepRun", "abc")):
        answer = gateway("""query($id: ID!) { domino { job(id: $id) { name } } }""", {"id": forged})
        assert answer.codes() == ["BAD_USER_INPUT"], forged
        assert answer.calls == 0
    answer = gateway("""{ domino { modelVersion(model: "x", version: 0) { name } } }""")
    assert answer.codes() == ["BAD_USER_INPUT"] and answer.calls == 0


def test_forbidden_project_is_forbidden(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    hidden = next(p for p in data.projects if not data.can_access(p.id))
    answer = gateway("""query($id: ID!) { domino { project(id: $id) { name } jobs(project: $id) { totalCount } } }""", {"id": hidden.id})
    assert answer.data == {"domino": {"project": None, "jobs": None}}
    assert answer.codes() == ["FORBIDDEN", "FORBIDDEN"]


@pytest.mark.parametrize(
    "fault,code",
    [({"status": 500}, "BACKEND_UNAVAILABLE"), ({"status": 503}, "BACKEND_UNAVAILABLE"), ({"garbage": True}, "BAD_BACKEND_RESPONSE"),
     ({"status": 401}, "FORBIDDEN"), ({"status": 403}, "FORBIDDEN"), ({"status": 404}, "NOT_FOUND"), ({"status": 400}, "BAD_USER_INPUT")],
)
def test_failure_envelopes_map_to_codes(gateway: Gateway, faults: Faults, fault: dict, code: str) -> None:
    data = gateway.sandbox.domino
    project_id = busiest_project(data)
    faults.set("/api/jobs", **fault)
    answer = gateway(CANONICAL, {"project": project_id, "first": 5})
    assert answer.data == {"domino": {"jobs": None}}
    assert answer.codes() == [code]
    error = answer.errors[0]
    assert error["extensions"]["platform"] == "domino"
    assert "sandbox" not in error["message"] and "Traceback" not in answer.raw.decode()


def test_one_failing_relation_nulls_only_its_field(gateway: Gateway, faults: Faults) -> None:
    data = gateway.sandbox.domino
    project_id = busiest_project(data)
    faults.set("/api/hardwaretiers", status=500)
    answer = gateway(CANONICAL, {"project": project_id, "first": 5})
    nodes = answer.data["domino"]["jobs"]["nodes"]
    assert len(nodes) == 5
    assert all(node["hardwareTier"] is None and node["user"] is not None for node in nodes)
    assert set(answer.codes()) == {"BACKEND_UNAVAILABLE"}
    # The tier list failed once for the request: no call per job.
    assert domino_calls(answer).count("/api/hardwaretiers/v1/hardwaretiers") == 1


def test_unconfigured_domino_is_an_error_not_a_crash() -> None:
    from fastapi.testclient import TestClient

    from mlgraph.app import create_app

    app = create_app(Settings(zenml=None, domino=None))
    with TestClient(app) as client:
        body = client.post("/graphql", json={"query": "{ domino { me { name } } }"}).json()
    assert body["data"] == {"domino": None}
    assert body["errors"][0]["extensions"]["code"] == "PLATFORM_NOT_CONFIGURED"


def test_nested_pagination_metadata_gives_the_same_totals() -> None:
    sandbox: Sandbox = build_sandbox(domino_pagination="nested")
    for gateway in open_gateway(sandbox):
        data = sandbox.domino
        project_id = busiest_project(data)
        answer = gateway(CANONICAL, {"project": project_id, "first": 2})
        assert answer.errors == []
        assert answer.data["domino"]["jobs"]["totalCount"] == len(jobs_of(data, project_id))


def test_related_projects_cost_one_get_per_distinct_project(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    answer = gateway("{ domino { datasets(first: 100) { nodes { nativeId project { nativeId name } } } } }")
    nodes = answer.data["domino"]["datasets"]["nodes"]
    readable = [d for d in data.datasets if data.can_read_dataset(d)]
    assert [n["nativeId"] for n in nodes] == [d.id for d in readable]
    distinct = {d.project_id for d in readable}
    assert len(distinct) < len(readable)
    gets = [path for path in domino_calls(answer) if path.startswith("/api/projects/v1/projects/")]
    assert sorted(gets) == sorted(f"/api/projects/v1/projects/{p}" for p in distinct)
    for node, dataset in zip(nodes, readable):
        if data.can_access(dataset.project_id):
            assert node["project"]["nativeId"] == dataset.project_id
        else:
            # Shared with the gateway's user from a project it may not open.
            assert node["project"] is None
    assert set(answer.codes()) <= {"FORBIDDEN"}
    assert answer.codes().count("FORBIDDEN") == sum(1 for d in readable if not data.can_access(d.project_id))


def test_adversarial_arguments_are_refused_before_any_call(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    project_id = busiest_project(data)
    forged = "b2Zmc2V0OjEwMDAwMDAwMDAwMDAwMDAwMDAwMA"  # "offset:100000000000000000000"
    cases = [
        ("""{ domino { registeredModel(name: ".") { name } } }""", {}),
        ("""{ domino { registeredModel(name: "..") { name } } }""", {}),
        ("""{ domino { modelVersion(model: "..", version: 1) { name } } }""", {}),
        ("""query($p: ID!, $a: String) { domino { jobs(project: $p, first: 2, after: $a) { totalCount } } }""", {"p": project_id, "a": forged}),
        ("""query($p: ID!) { domino { jobs(project: $p, first: 5000) { totalCount } } }""", {"p": project_id}),
        ("""query($p: ID!) { domino { jobs(project: $p, first: -1) { totalCount } } }""", {"p": project_id}),
    ]
    for query, variables in cases:
        answer = gateway(query, variables)
        assert answer.codes() == ["BAD_USER_INPUT"], query
        assert answer.calls == 0, query


def test_first_zero_gives_the_total_and_no_items(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    project_id = busiest_project(data)
    answer = gateway(
        """query($p: ID!) { domino { jobs(project: $p, first: 0) { totalCount nodes { name } pageInfo { hasNextPage } }
             hardwareTiers(first: 0) { totalCount nodes { name } } } }""",
        {"p": project_id},
    )
    assert answer.errors == []
    jobs = answer.data["domino"]["jobs"]
    assert jobs == {"totalCount": len(jobs_of(data, project_id)), "nodes": [], "pageInfo": {"hasNextPage": True}}
    assert answer.data["domino"]["hardwareTiers"]["nodes"] == []


def test_unknown_enum_words_are_not_sent_to_domino(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    job = next(j for j in data.jobs if data.can_access(j.project_id))
    answer = gateway("""query($id: ID!) { domino { job(id: $id) { logs(logType: UNKNOWN) { isComplete } } } }""", {"id": job.id})
    assert answer.codes() == ["BAD_USER_INPUT"]
    assert not any("/logs" in entry["path"] for entry in answer.ledger["entries"])


def test_tag_ids_resolve_through_their_job(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    job = next(j for j in data.jobs if data.can_access(j.project_id) and j.tag_ids)
    answer = gateway("""query($id: ID!) { domino { job(id: $id) { tags { id name } } } }""", {"id": job.id})
    tag = answer.data["domino"]["job"]["tags"][0]
    again = gateway("""query($id: ID!) { node(id: $id) { id ... on DominoTag { name } } }""", {"id": tag["id"]})
    assert again.errors == []
    assert again.data["node"] == tag
    missing = gateway("""query($id: ID!) { node(id: $id) { id } }""", {"id": global_id("DominoTag", f"{job.id}/0123456789abcdef01234567")})
    assert missing.codes() == ["NOT_FOUND"]
