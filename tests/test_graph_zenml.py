"""The ZenML graph over the emulator: data, call counts, mutations, errors."""

from __future__ import annotations

from urllib.parse import unquote

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from mlgraph.app import create_app
from mlgraph.demo import ZENML_SANDBOX_URL, build_sandbox
from mlgraph.graph.ids import global_id
from mlgraph.graph.interfaces import ExecutionStatus
from mlgraph.graph.zenml.types import STATUS_MAP, ZenMLExecutionStatus, execution_status
from mlgraph.sandbox.faults import Faults
from mlgraph.sandbox.zenml_data import ZenMLDataset
from mlgraph.settings import Settings, ZenMLSettings
from tests.conftest import Gateway, open_gateway

NESTED = """
query Run($id: ID!) {
  zenml {
    pipelineRun(id: $id) {
      name
      steps(first: 1000) {
        totalCount
        nodes {
          name
          status
          outputs { name uri producer { name user { name email } } }
        }
      }
    }
  }
}
"""


def completed_run(dataset: ZenMLDataset) -> str:
    return next(run.id for run in dataset.runs if run.status == "completed")


def users_by_id(dataset: ZenMLDataset) -> dict[str, object]:
    return {user.id: user for user in dataset.users}


@pytest.fixture(scope="module")
def small_and_large() -> Iterator[tuple[Gateway, Gateway]]:
    small = build_sandbox(pipelines=1, runs_per_pipeline=2, steps_per_run=10)
    large = build_sandbox(pipelines=1, runs_per_pipeline=2, steps_per_run=200)
    for gateway_small in open_gateway(small):
        for gateway_large in open_gateway(large):
            yield gateway_small, gateway_large


def test_nested_query_costs_the_same_calls_at_10_and_200_steps(
    small_and_large: tuple[Gateway, Gateway],
) -> None:
    answers = []
    for gateway in small_and_large:
        dataset = gateway.sandbox.zenml
        run_id = completed_run(dataset)
        answer = gateway(NESTED, {"id": run_id})
        assert answer.errors == []
        steps = answer.data["zenml"]["pipelineRun"]["steps"]
        expected = [step for step in dataset.steps if step.pipeline_run_id == run_id]
        assert steps["totalCount"] == len(expected) == len(steps["nodes"])
        users = users_by_id(dataset)
        producers = {version.id: version for version in dataset.artifact_versions}
        artifact_names = {artifact.id: artifact.name for artifact in dataset.artifacts}
        for node, step in zip(steps["nodes"], expected):
            assert node["name"] == step.name
            assert len(node["outputs"]) == sum(len(ids) for ids in step.outputs.values())
            for output, version_id in zip(node["outputs"], [i for ids in step.outputs.values() for i in ids]):
                assert output["name"] == artifact_names[producers[version_id].artifact_id]
                producer = next(s for s in dataset.steps if s.id == producers[version_id].producer_step_run_id)
                assert output["producer"]["name"] == producer.name
                assert output["producer"]["user"]["email"] == users[producer.user_id].email
        answers.append(answer)
    small, large = answers
    assert small.calls == large.calls
    assert small.calls == 3  # the run, its steps, the users with their emails
    # The steps, filtered by the run id the query gave, go out beside the run
    # (tests/test_round_trips.py times it).
    first_round = sorted(entry["path"] for entry in large.ledger["entries"][:2])
    run_id = completed_run(small_and_large[1].sandbox.zenml)
    assert first_round[0].startswith(f"/api/v1/runs/{run_id}/steps")
    assert first_round[1].startswith("/api/v1/runs?") and run_id in unquote(first_round[1])
    assert large.ledger["entries"][2]["path"].startswith("/api/v1/users")  # one user: /users/{id}


LISTS = [
    ("stepRuns", "stepRun", "ZenMLStepRun"),
    ("pipelineRuns", "pipelineRun", "ZenMLPipelineRun"),
    ("pipelines", "pipeline", "ZenMLPipeline"),
    ("artifacts", "artifact", "ZenMLArtifact"),
    ("artifactVersions", "artifactVersion", "ZenMLArtifactVersion"),
    ("models", "model", "ZenMLModel"),
    ("modelVersions", "modelVersion", "ZenMLModelVersion"),
    ("users", "user", "ZenMLUser"),
    ("projects", "project", "ZenMLProject"),
    ("tags", "tag", "ZenMLTag"),
    ("services", "service", "ZenMLService"),
]


@pytest.mark.parametrize(("list_field", "get_field", "type_name"), LISTS)
def test_every_root_list_and_get(gateway: Gateway, list_field: str, get_field: str, type_name: str) -> None:
    listed = gateway(f"{{ zenml {{ {list_field}(first: 2) {{ totalCount nodes {{ id nativeId __typename }} }} }} }}")
    assert listed.errors == []
    page = listed.data["zenml"][list_field]
    assert page["totalCount"] >= 1 and 1 <= len(page["nodes"]) <= 2
    first = page["nodes"][0]
    assert first["__typename"] == type_name and first["id"] == global_id(type_name, first["nativeId"])
    for by in (first["id"], first["nativeId"]):
        got = gateway(f'{{ zenml {{ {get_field}(id: "{by}") {{ id nativeId }} }} }}')
        assert got.errors == [] and got.data["zenml"][get_field] == {"id": first["id"], "nativeId": first["nativeId"]}
    node = gateway(f'{{ node(id: "{first["id"]}") {{ id __typename }} }}')
    assert node.data["node"] == {"id": first["id"], "__typename": type_name}


def test_pages_resume_with_cursors_and_keep_the_backend_order(gateway: Gateway) -> None:
    dataset = gateway.sandbox.zenml
    seen: list[str] = []
    after = None
    while True:
        answer = gateway(
            "query($after: String) { zenml { stepRuns(first: 7, after: $after) "
            "{ totalCount pageInfo { hasNextPage endCursor } nodes { nativeId } } } }",
            {"after": after},
        )
        page = answer.data["zenml"]["stepRuns"]
        seen += [node["nativeId"] for node in page["nodes"]]
        assert answer.calls == 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    newest_first = [step.id for step in sorted(dataset.steps, key=lambda s: s.created, reverse=True)]
    assert sorted(seen) == sorted(newest_first) and len(seen) == len(set(seen)) == len(dataset.steps)
    assert [dataset_created(dataset, i) for i in seen] == sorted((dataset_created(dataset, i) for i in seen), reverse=True)


def dataset_created(dataset: ZenMLDataset, step_id: str) -> str:
    return next(step.created for step in dataset.steps if step.id == step_id)


def test_filters_are_pushed_to_zenml(gateway: Gateway) -> None:
    dataset = gateway.sandbox.zenml
    run = dataset.runs[0]
    answer = gateway(
        'query($run: ID!) { zenml { stepRuns(first: 100, pipelineRun: $run, status: SUCCEEDED) { totalCount nodes { name status nativeStatus } } } }',
        {"run": global_id("ZenMLPipelineRun", run.id)},
    )
    # The filter takes the status the results carry: SUCCEEDED, ZenML's completed.
    expected = [s for s in dataset.steps if s.pipeline_run_id == run.id and execution_status(s.status).name == "SUCCEEDED"]
    assert answer.data["zenml"]["stepRuns"]["totalCount"] == len(expected)
    assert {n["status"] for n in answer.data["zenml"]["stepRuns"]["nodes"]} <= {"SUCCEEDED"}
    assert "pipeline_run_id=" in answer.ledger["entries"][0]["path"]
    assert answer.calls == 1


def test_every_status_filter_answers_exactly_that_status(gateway: Gateway) -> None:
    dataset = gateway.sandbox.zenml
    query = "query($s: ExecutionStatus) { zenml { stepRuns(first: 1000, status: $s) { totalCount nodes { status } } pipelineRuns(first: 1000, status: $s) { totalCount nodes { status } } } }"
    for status in ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "STOPPED", "CACHED"):
        answer = gateway(query, {"s": status})
        assert answer.errors == [] and answer.calls == 2
        root = answer.data["zenml"]
        assert root["stepRuns"]["totalCount"] == sum(execution_status(s.status).name == status for s in dataset.steps)
        assert root["pipelineRuns"]["totalCount"] == sum(execution_status(r.status).name == status for r in dataset.runs)
        assert {n["status"] for n in root["stepRuns"]["nodes"] + root["pipelineRuns"]["nodes"]} <= {status}


def test_run_dag_matches_zenml_parent_steps(gateway: Gateway) -> None:
    dataset = gateway.sandbox.zenml
    run_id = completed_run(dataset)
    answer = gateway(
        '{ zenml { pipelineRun(id: "%s") { dag { execution { name } upstream { name } } } } }' % run_id
    )
    assert answer.errors == []
    names = {step.id: step.name for step in dataset.steps}
    expected = {
        step.name: sorted(names[p] for p in step.parent_step_ids) for step in dataset.steps if step.pipeline_run_id == run_id
    }
    got = {d["execution"]["name"]: sorted(u["name"] for u in d["upstream"]) for d in answer.data["zenml"]["pipelineRun"]["dag"]}
    assert got == expected
    assert answer.calls <= 3


def test_cached_steps_outputs_name_the_original_producer(gateway: Gateway) -> None:
    dataset = gateway.sandbox.zenml
    cached = next(s for s in dataset.steps if s.status == "cached" and s.outputs)
    answer = gateway(
        '{ zenml { stepRun(id: "%s") { status outputs { producer { nativeId status } } } } }' % cached.id
    )
    assert answer.errors == []
    got = answer.data["zenml"]["stepRun"]
    assert got["status"] == "CACHED"
    assert {o["producer"]["nativeId"] for o in got["outputs"]} == {cached.original_step_run_id}
    assert {o["producer"]["status"] for o in got["outputs"]} == {"SUCCEEDED"}


def test_artifact_lineage_producer_and_consumers(gateway: Gateway) -> None:
    dataset = gateway.sandbox.zenml
    consumed = {version_id for step in dataset.steps for version_id in step.inputs.values()}
    version = next(v for v in dataset.artifact_versions if v.id in consumed)
    answer = gateway(
        '{ zenml { artifactVersion(id: "%s") { name version uri producer { nativeId } consumers { nativeId } '
        "artifact { name latestVersion { version } } } } }" % version.id
    )
    assert answer.errors == []
    got = answer.data["zenml"]["artifactVersion"]
    assert got["uri"] == version.uri and got["producer"]["nativeId"] == version.producer_step_run_id
    expected = {
        s.id for s in dataset.steps if s.pipeline_run_id == version.producer_pipeline_run_id and version.id in s.inputs.values()
    }
    assert {c["nativeId"] for c in got["consumers"]} == expected and expected


def test_everything_around_models_and_services(gateway: Gateway) -> None:
    answer = gateway(
        """{ zenml {
          models(first: 5) { nodes { name description license tags { name } user { name }
            latestVersion { name } versions(first: 10) { totalCount nodes { name number stage description runMetadata model { name } } } } }
          services(first: 5) { nodes { name state adminState serviceType { type flavor } labels config predictionUrl
            healthCheckUrl serviceStatus endpoint pipelineRun { name status } modelVersion { name model { name } } user { name } } }
          pipelines(first: 5) { nodes { name latestRunStatus latestRun { name } runs(first: 3) { totalCount nodes { name startedAt endedAt user { email } pipeline { name } tags { name color } } } } }
          projects { nodes { name displayName description } }
          tags(first: 20) { nodes { name color exclusive taggedCount } }
        } }"""
    )
    assert answer.errors == []
    data, dataset = answer.data["zenml"], gateway.sandbox.zenml
    assert {m["name"] for m in data["models"]["nodes"]} == {m.name for m in dataset.models}
    for model in data["models"]["nodes"]:
        assert model["versions"]["totalCount"] == 4 and model["description"]
        assert all(v["model"]["name"] == model["name"] for v in model["versions"]["nodes"])
    assert len(data["services"]["nodes"]) == len(dataset.services)
    assert all(p["runs"]["totalCount"] == 10 for p in data["pipelines"]["nodes"])
    assert all(r["startedAt"] and r["user"]["email"].endswith("@example.com") for p in data["pipelines"]["nodes"] for r in p["runs"]["nodes"])
    assert data["projects"]["nodes"][0]["name"] == "default"


def test_step_run_details(gateway: Gateway) -> None:
    dataset = gateway.sandbox.zenml
    step = next(s for s in dataset.steps if s.plan.settings.get("resources") and s.inputs)
    answer = gateway(
        """query($id: ID!) { zenml { stepRun(id: $id) { name status nativeStatus startedAt endedAt durationSeconds
          resources { cpuCores memoryGib gpuCount } pipelineRun { nativeId } upstream { name }
          namedInputs { name artifactVersion { nativeId } } cacheKey sourceCode docstring codeHash config runMetadata } } }""",
        {"id": step.id},
    )
    assert answer.errors == []
    got = answer.data["zenml"]["stepRun"]
    assert got["nativeStatus"] == step.status and got["status"] == execution_status(step.status).name
    assert got["pipelineRun"]["nativeId"] == step.pipeline_run_id
    assert got["resources"]["cpuCores"] == step.plan.settings["resources"]["cpu_count"]
    assert {i["name"]: i["artifactVersion"]["nativeId"] for i in got["namedInputs"]} == step.inputs
    assert got["cacheKey"] == step.cache_key and got["sourceCode"] == step.plan.source_code


def test_update_step_run_and_read_it_back() -> None:
    sandbox = build_sandbox(pipelines=1, runs_per_pipeline=2)
    step = next(s for s in sandbox.zenml.steps if s.status in ("running", "initializing", "completed"))
    for gateway in open_gateway(sandbox):
        changed = gateway(
            'mutation($id: ID!) { updateStepRun(id: $id, input: {status: FAILED, endTime: "2026-01-02T03:04:05Z"}) '
            "{ nativeId status nativeStatus endedAt } }",
            {"id": global_id("ZenMLStepRun", step.id)},
        )
        assert changed.errors == []
        assert changed.data["updateStepRun"]["status"] == "FAILED"
        assert changed.data["updateStepRun"]["endedAt"].startswith("2026-01-02T03:04:05")
        again = gateway('{ zenml { stepRun(id: "%s") { nativeStatus endedAt } } }' % step.id)
        assert again.data["zenml"]["stepRun"]["nativeStatus"] == "failed"
        assert any(e["method"] == "PUT" for e in changed.ledger["entries"])


def test_service_create_update_delete_round_trip() -> None:
    sandbox = build_sandbox(pipelines=1, runs_per_pipeline=3)
    version = sandbox.zenml.model_versions[0]
    for gateway in open_gateway(sandbox):
        created = gateway(
            """mutation($mv: ID!) { createService(input: {name: "churn-api", serviceType: {type: "model-serving", flavor: "bentoml"},
                serviceSource: "zenml.services.service.BaseService", adminState: ACTIVE, config: {replicas: 2},
                labels: {team: "ml"}, predictionUrl: "http://churn/predict", modelVersion: $mv})
              { id name serviceType { flavor } labels config predictionUrl adminState modelVersion { nativeId } } }""",
            {"mv": global_id("ZenMLModelVersion", version.id)},
        )
        assert created.errors == []
        service = created.data["createService"]
        assert service["name"] == "churn-api" and service["serviceType"]["flavor"] == "bentoml"
        assert service["config"] == {"replicas": 2} and service["modelVersion"]["nativeId"] == version.id
        updated = gateway(
            'mutation($id: ID!) { updateService(id: $id, input: {adminState: INACTIVE, labels: {team: "platform"}}) { adminState labels name } }',
            {"id": service["id"]},
        )
        assert updated.errors == [] and updated.data["updateService"]["labels"] == {"team": "platform"}
        read = gateway('{ node(id: "%s") { ... on ZenMLService { adminState labels } } }' % service["id"])
        assert read.data["node"] == {"adminState": "inactive", "labels": {"team": "platform"}}
        deleted = gateway('mutation($id: ID!) { deleteService(id: $id) { name } }', {"id": service["id"]})
        assert deleted.data["deleteService"]["name"] == "churn-api"
        gone = gateway('{ node(id: "%s") { id } }' % service["id"])
        assert gone.data["node"] is None and gone.codes() == ["NOT_FOUND"]


def test_unknown_and_forged_ids(gateway: Gateway) -> None:
    missing = global_id("ZenMLStepRun", "00000000-0000-4000-8000-000000000000")
    answer = gateway('{ node(id: "%s") { id } zenml { stepRun(id: "%s") { id } } }' % (missing, missing))
    assert answer.data == {"node": None, "zenml": {"stepRun": None}}
    assert answer.codes() == ["NOT_FOUND", "NOT_FOUND"]
    assert all(error["extensions"]["platform"] == "zenml" for error in answer.errors)
    forged = gateway(
        '{ a: node(id: "%s") { id } b: node(id: "bm90LWEtdHlwZQ") { id } c: node(id: "%s") { id } }'
        % (global_id("NoSuchType", "1"), global_id("ZenMLPipelineRun", "1"))
    )
    assert forged.data == {"a": None, "b": None, "c": None}
    assert set(forged.codes()) <= {"BAD_USER_INPUT", "NOT_FOUND"} and "BAD_USER_INPUT" in forged.codes()
    wrong_type = gateway('{ zenml { stepRun(id: "%s") { id } } }' % global_id("ZenMLUser", "x"))
    assert wrong_type.codes() == ["BAD_USER_INPUT"]


def test_nodes_answer_each_slot(gateway: Gateway) -> None:
    dataset = gateway.sandbox.zenml
    ids = [global_id("ZenMLStepRun", dataset.steps[0].id), global_id("ZenMLStepRun", "00000000-0000-4000-8000-000000000000"),
           global_id("ZenMLUser", dataset.users[0].id), global_id("ZenMLStepRun", dataset.steps[1].id)]
    answer = gateway("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})
    assert [n and n["id"] for n in answer.data["nodes"]] == [ids[0], None, ids[2], ids[3]]
    assert answer.codes() == ["NOT_FOUND"] and answer.errors[0]["path"] == ["nodes", 1]
    assert answer.calls == 2  # one batch for the step runs, one for the user


def test_backend_failure_is_coded_and_the_rest_answers(gateway: Gateway, faults: Faults) -> None:
    faults.set("/api/v1/users", status=503)
    answer = gateway("{ zenml { pipelines(first: 3) { nodes { name } } users(first: 2) { nodes { name } } } }")
    assert len(answer.data["zenml"]["pipelines"]["nodes"]) == 3
    assert answer.data["zenml"]["users"] is None
    (error,) = answer.errors
    assert error["extensions"] == {"code": "BACKEND_UNAVAILABLE", "platform": "zenml"}
    assert error["path"] == ["zenml", "users"]


def test_garbage_from_the_backend_is_bad_backend_response(gateway: Gateway, faults: Faults) -> None:
    faults.set("/api/v1/runs", garbage=True)
    answer = gateway("{ zenml { pipelineRuns(first: 2) { nodes { name } } models { totalCount } } }")
    assert answer.codes() == ["BAD_BACKEND_RESPONSE"]
    assert answer.data["zenml"]["models"]["totalCount"] == 2


def test_down_backend_and_no_leaks() -> None:
    nothing_listens = Settings(zenml=ZenMLSettings(url="http://127.0.0.1:9", token="s3cret-token-value"))
    down = build_sandbox(pipelines=1, runs_per_pipeline=1)
    down.app = create_app(nothing_listens)
    refused = build_sandbox(
        pipelines=1, runs_per_pipeline=1, token="the-right-one",
        settings=Settings(zenml=ZenMLSettings(url=ZENML_SANDBOX_URL, token="s3cret-token-value")),
    )
    query = "{ zenml { stepRuns(first: 1) { nodes { name } } } }"
    for sandbox, code in ((down, "BACKEND_UNAVAILABLE"), (refused, "FORBIDDEN")):
        for gateway in open_gateway(sandbox):
            answer = gateway(query)
            assert answer.codes() == [code]
            text = answer.raw.decode()  # errors and the debug ledger
            for leak in ("s3cret", "the-right-one", "127.0.0.1", "sandbox", "Traceback", "http://", 'File \\"'):
                assert leak not in text


def test_unconfigured_zenml_says_so() -> None:
    with TestClient(create_app(Settings())) as client:
        body = client.post("/graphql", json={"query": "{ zenml { users { totalCount } } }"}).json()
    assert body["data"] is None or body["data"]["zenml"] is None
    assert body["errors"][0]["extensions"]["code"] == "PLATFORM_NOT_CONFIGURED"


def test_every_native_status_is_mapped() -> None:
    for native in ZenMLExecutionStatus:
        assert native.value in STATUS_MAP
        assert execution_status(native.value) is not ExecutionStatus.UNKNOWN
    assert execution_status("something-new") is ExecutionStatus.UNKNOWN
    assert execution_status("COMPLETED") is ExecutionStatus.SUCCEEDED


def test_mutations_never_send_a_forged_id_to_zenml(gateway: Gateway) -> None:
    user = gateway.sandbox.zenml.users[0].id
    before = len(gateway.sandbox.zenml_emulator.state.calls)
    for mutation, type_name in (
        ('updateService(id: $id, input: {name: "pwned"}) { name }', "ZenMLService"),
        ("updateStepRun(id: $id, input: {status: FAILED}) { name }", "ZenMLStepRun"),
        ("deleteService(id: $id) { name }", "ZenMLService"),
    ):
        for forged in (global_id(type_name, f"../users/{user}"), "../runs", global_id("ZenMLUser", user)):
            answer = gateway(f"mutation($id: ID!) {{ {mutation} }}", {"id": forged})
            assert answer.codes() == ["BAD_USER_INPUT"], answer.errors
    assert gateway.sandbox.zenml_emulator.state.calls[before:] == []


def test_user_emails_survive_a_user_list_in_the_same_query(gateway: Gateway) -> None:
    emails = {user.name: user.email for user in gateway.sandbox.zenml.users}
    answer = gateway("{ zenml { users { nodes { name email } } stepRuns(first: 3) { nodes { user { name email } } }"
                     " projects { nodes { name description } } } }")
    assert answer.errors == []
    assert {u["name"]: u["email"] for u in answer.data["zenml"]["users"]["nodes"]} == emails
    assert all(n["user"]["email"] == emails[n["user"]["name"]] for n in answer.data["zenml"]["stepRuns"]["nodes"])
    project = gateway.sandbox.zenml.project
    assert answer.data["zenml"]["projects"]["nodes"] == [{"name": "default", "description": project.description}]


def test_a_cursor_past_the_end_gives_an_empty_page(gateway: Gateway) -> None:
    from mlgraph.graph.connection import encode_cursor

    total = len(gateway.sandbox.zenml.runs)
    run = completed_run(gateway.sandbox.zenml)
    steps = sum(1 for step in gateway.sandbox.zenml.steps if step.pipeline_run_id == run)
    answer = gateway(
        "query($after: String!, $stepsAfter: String!, $run: ID!) { zenml {"
        " pipelineRuns(first: 5, after: $after) { totalCount nodes { name } pageInfo { hasNextPage } }"
        " pipelineRun(id: $run) { steps(first: 5, after: $stepsAfter) { totalCount nodes { name } } } } }",
        {"after": encode_cursor(total + 3), "stepsAfter": encode_cursor(steps + 10), "run": run},
    )
    assert answer.errors == []
    runs = answer.data["zenml"]["pipelineRuns"]
    assert runs == {"totalCount": total, "nodes": [], "pageInfo": {"hasNextPage": False}}
    assert answer.data["zenml"]["pipelineRun"]["steps"] == {"totalCount": steps, "nodes": []}


@pytest.mark.parametrize("layout", ["seed", "current"])
def test_embedded_copies_answer_like_listed_records(layout: str) -> None:
    """Objects met inside other records (a run's pipeline, a step's outputs)
    answer every field as the same objects listed directly."""
    sandbox = build_sandbox(layout=layout)
    dataset = sandbox.zenml
    tagged = {version.id for version in dataset.artifact_versions if version.tag_ids}
    users = {user.id: user.name for user in dataset.users}
    for gateway in open_gateway(sandbox):
        listed = gateway("{ zenml { pipelines { nodes { name latestRunStatus latestRun { name } user { name } tags { name } } } } }")
        by_name = {p["name"]: p for p in listed.data["zenml"]["pipelines"]["nodes"]}
        via_runs = gateway("{ zenml { pipelineRuns(first: 30) { nodes { pipeline { name latestRunStatus latestRun { name } user { name } tags { name } } } } } }")
        assert via_runs.errors == []
        for node in via_runs.data["zenml"]["pipelineRuns"]["nodes"]:
            assert node["pipeline"] == by_name[node["pipeline"]["name"]]
        assert all(p["user"]["name"] in users.values() for p in by_name.values())
        outputs = gateway("{ zenml { stepRuns(first: 300) { nodes { outputs { nativeId tags { name } } } } } }")
        assert outputs.errors == []
        seen = {o["nativeId"]: bool(o["tags"]) for n in outputs.data["zenml"]["stepRuns"]["nodes"] for o in n["outputs"]}
        assert {version for version, has_tags in seen.items() if has_tags} == tagged & set(seen)
        assert outputs.calls <= 3  # the list, then one batch for the listed versions


def test_owners_of_embedded_copies_cost_one_batch() -> None:
    sandbox = build_sandbox(layout="seed")  # nested pipelines carry no user of their own there
    for gateway in open_gateway(sandbox):
        answer = gateway("{ zenml { pipelineRuns(first: 30) { nodes { pipeline { user { name } } } } } }")
        assert answer.errors == []
        assert all(node["pipeline"]["user"]["name"] for node in answer.data["zenml"]["pipelineRuns"]["nodes"])
        assert answer.calls <= 3  # the runs, their pipelines' listed records, the users
