"""The Abacus.AI graph over the emulator: data, call counts, the mutation, errors."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mlgraph.demo import build_sandbox
from mlgraph.graph.abacus.types import STATUS_MAP, execution_status
from mlgraph.graph.ids import global_id
from mlgraph.graph.interfaces import ExecutionStatus
from mlgraph.sandbox.abacus_data import STEP_VERSION_STATUSES, AbacusData
from mlgraph.sandbox.faults import Faults
from tests.conftest import Gateway, open_gateway

CANONICAL = """
query Version($id: ID!) {
  abacus {
    pipelineVersion(id: $id) {
      name
      status
      steps(first: 1000) {
        totalCount
        nodes {
          name
          status
          nativeStatus
          ... on AbacusPipelineStepVersion {
            resources { name memoryGib timeoutMinutes }
            references {
              objectType
              status
              error
              target {
                __typename
                ... on AbacusDatasetVersion { nativeId status rowCount }
                ... on AbacusModelVersion { nativeId status }
                ... on AbacusDeployment { nativeId status }
                ... on AbacusFeatureGroupVersion { nativeId status }
                ... on AbacusBatchPrediction { nativeId status }
              }
            }
          }
        }
      }
    }
  }
}
"""


def calls_of(answer) -> list[str]:
    return [entry["path"] for entry in answer.ledger["entries"] if entry["platform"] == "abacus"]


def methods_of(answer) -> list[str]:
    return [path.split("?")[0].rsplit("/", 1)[-1] for path in calls_of(answer)]


def steps_of(data: AbacusData, version_id: str) -> list:
    version = next(v for v in data.pipeline_versions if v.id == version_id)
    by_id = {step.id: step for step in data.step_versions}
    return [by_id[i] for i in version.step_version_ids]


def target_of(data: AbacusData, reference) -> tuple[str, str, str]:
    """The referenced object's (type, id, status) from the data set."""
    if reference.dataset_version:
        obj = next(o for o in data.dataset_versions if o.id == reference.dataset_version)
        return "AbacusDatasetVersion", obj.id, obj.status
    if reference.model_version:
        obj = next(o for o in data.model_versions if o.id == reference.model_version)
        return "AbacusModelVersion", obj.id, obj.status
    if reference.deployment_version:
        obj = next(o for o in data.deployments if o.id == reference.deployment_version)
        return "AbacusDeployment", obj.id, obj.status
    if reference.feature_group_version:
        obj = next(o for o in data.feature_group_versions if o.id == reference.feature_group_version)
        return "AbacusFeatureGroupVersion", obj.id, obj.status
    obj = next(o for o in data.batch_predictions if o.id == reference.batch_prediction_id)
    return "AbacusBatchPrediction", obj.id, obj.status


def test_canonical_query_answers_from_the_data_set(gateway: Gateway) -> None:
    data = gateway.sandbox.abacus
    for version in data.pipeline_versions:
        answer = gateway(CANONICAL, {"id": global_id("AbacusPipelineVersion", version.id)})
        assert answer.errors == []
        node = answer.data["abacus"]["pipelineVersion"]
        assert node["status"] == execution_status(version.status).name
        expected = steps_of(data, version.id)
        assert node["steps"]["totalCount"] == len(expected)
        for given, step in zip(node["steps"]["nodes"], expected):
            assert (given["name"], given["nativeStatus"]) == (step.name, step.status)
            assert given["resources"] == {"name": step.cpu_size, "memoryGib": step.memory, "timeoutMinutes": step.timeout}
            assert len(given["references"]) == len(step.references)
            for ref_given, reference in zip(given["references"], step.references):
                assert (ref_given["objectType"], ref_given["status"], ref_given["error"]) == (
                    reference.object_type, reference.status, reference.error
                )
                type_name, object_id, status = target_of(data, reference)
                assert ref_given["target"]["__typename"] == type_name
                assert ref_given["target"]["nativeId"] == object_id
                assert ref_given["target"]["status"] == status


def test_calls_are_bounded_by_distinct_ids_not_nesting() -> None:
    counts = []
    for steps in (5, 40):
        sandbox = build_sandbox(abacus_pipelines=1, abacus_versions_per_pipeline=2, abacus_steps_per_pipeline=steps)
        for gateway in open_gateway(sandbox):
            data = sandbox.abacus
            version = data.pipeline_versions[0]
            answer = gateway(CANONICAL, {"id": version.id})
            assert answer.errors == []
            referenced = {
                target_of(data, ref)[:2] for step in steps_of(data, version.id) for ref in step.references
            }
            calls = calls_of(answer)
            # One describe of the version, then one describe per distinct referenced object.
            assert methods_of(answer)[0] == "describePipelineVersion"
            assert len(calls) == 1 + len(referenced)
            assert len(set(calls)) == len(calls)
            counts.append((len(steps_of(data, version.id)), len(calls)))
    (few_steps, _), (many_steps, _) = counts
    assert many_steps == 8 * few_steps


def test_step_version_fields_logs_dag_and_upstream(gateway: Gateway) -> None:
    data = gateway.sandbox.abacus
    version = next(v for v in data.pipeline_versions if v.status == "FAILED")
    answer = gateway(
        """query($id: ID!) { abacus { pipelineVersion(id: $id) {
            nativeId error nativeStatus startedAt endedAt
            pipeline { nativeId name createdBy creator { email } }
            user { email }
            variableMappings { name variableType value pipelineVariable isRequired }
            codeSource { sourceType sourceCode }
            dag { execution { name } upstream { name } }
            steps(first: 100) { nodes { ... on AbacusPipelineStepVersion {
              nativeId name error outputErrors durationSeconds functionVariableMappings outputVariableMappings
              codeSource { sourceType } upstream { name } pipelineRun { nativeId } step { nativeId name }
              logs { text } outputs { nativeId producer { nativeId } }
            } } } } } }""",
        {"id": version.id},
    )
    assert answer.errors == []
    node = answer.data["abacus"]["pipelineVersion"]
    pipeline = next(p for p in data.pipelines if p.id == version.pipeline_id)
    creator = next(u for u in data.users if u.id == pipeline.created_by_id)
    assert node["error"] == version.error and node["nativeStatus"] == "FAILED"
    assert node["pipeline"] == {"nativeId": pipeline.id, "name": pipeline.name, "createdBy": creator.email, "creator": {"email": creator.email}}
    assert node["user"] == {"email": creator.email}
    assert [m["name"] for m in node["variableMappings"]] == [m.name for m in version.variable_mappings]
    steps = steps_of(data, version.id)
    assert [d["execution"]["name"] for d in node["dag"]] == [s.name for s in steps]
    for dependency, step in zip(node["dag"], steps):
        assert [u["name"] for u in dependency["upstream"]] == step.step_dependencies
    for given, step in zip(node["steps"]["nodes"], steps):
        assert given["error"] == step.error
        assert [u["name"] for u in given["upstream"]] == step.step_dependencies
        assert given["pipelineRun"] == {"nativeId": version.id}
        assert given["step"]["nativeId"] == step.step_id
        assert (given["logs"] or {"text": ""})["text"] == step.logs
        datasets = [ref.dataset_version for ref in step.references if ref.dataset_version]
        assert [o["nativeId"] for o in given["outputs"]] == datasets
        assert all(o["producer"]["nativeId"] == step.id for o in given["outputs"])
    methods = methods_of(answer)
    # The run's logs come in one call for all its steps; its steps in one describe.
    assert methods.count("listPipelineVersionLogs") == 1
    assert methods.count("describePipelineStep") == len({s.step_id for s in steps})


def test_status_map_covers_every_abacus_status() -> None:
    for status in STEP_VERSION_STATUSES:
        assert status.casefold() in STATUS_MAP
    assert execution_status("COMPLETE") is ExecutionStatus.SUCCEEDED
    assert execution_status("SKIPPED") is ExecutionStatus.SKIPPED  # after a step it waited for failed
    assert execution_status("CANCELLED") is ExecutionStatus.STOPPED
    assert execution_status("PENDING") is ExecutionStatus.QUEUED
    assert execution_status(None) is ExecutionStatus.UNKNOWN


def test_pipelines_projects_versions_and_me(gateway: Gateway) -> None:
    data = gateway.sandbox.abacus
    answer = gateway(
        """{ abacus { me { nativeId name email }
             projects(first: 10) { totalCount nodes { nativeId name useCase tags pipelines { nodes { nativeId project { nativeId } } } } }
             pipelines { totalCount nodes { nativeId steps { name stepDependencies } latestVersion { nativeId } versions(first: 2) { pageInfo { hasNextPage } nodes { nativeId } } } }
             firstTwo: pipelines(first: 2) { totalCount pageInfo { hasNextPage } nodes { nativeId } } } }"""
    )
    assert answer.errors == []
    root = answer.data["abacus"]
    me = next(u for u in data.users if u.id == data.self_user_id)
    assert root["me"] == {"nativeId": me.id, "name": me.name, "email": me.email}
    assert root["projects"]["totalCount"] == len(data.projects)
    for project in root["projects"]["nodes"]:
        expected = {p.id for p in data.pipelines if p.project_id == project["nativeId"]}
        assert {p["nativeId"] for p in project["pipelines"]["nodes"]} == expected
        assert all(p["project"]["nativeId"] == project["nativeId"] for p in project["pipelines"]["nodes"])
    assert root["pipelines"]["totalCount"] == root["firstTwo"]["totalCount"] == len(data.pipelines)
    assert [p["nativeId"] for p in root["firstTwo"]["nodes"]] == [p["nativeId"] for p in root["pipelines"]["nodes"]][:2]
    assert root["firstTwo"]["pageInfo"]["hasNextPage"] == (len(data.pipelines) > 2)
    for pipeline in root["pipelines"]["nodes"]:
        versions = sorted((v for v in data.pipeline_versions if v.pipeline_id == pipeline["nativeId"]), key=lambda v: v.created_at, reverse=True)
        assert pipeline["latestVersion"]["nativeId"] == versions[0].id
        assert [v["nativeId"] for v in pipeline["versions"]["nodes"]] == [v.id for v in versions[:2]]
        assert pipeline["versions"]["pageInfo"]["hasNextPage"] == (len(versions) > 2)


def test_objects_by_id_and_their_relations(gateway: Gateway) -> None:
    data = gateway.sandbox.abacus
    model_version = next(v for v in data.model_versions if v.feature_group_versions)
    answer = gateway(
        """query($mv: ID!, $ds: ID!, $dep: ID!, $bp: ID!) { abacus {
            modelVersion(id: $mv) { nativeId status trainingStartedAt model { nativeId name latestVersion { nativeId } versions(first: 10) { nodes { nativeId } } }
              featureGroupVersions { nativeId sourceDatasetVersions { nativeId name } } }
            dataset(id: $ds) { nativeId name sourceType latestVersion { nativeId } versions(first: 10) { nodes { nativeId status } } }
            deployment(id: $dep) { nativeId name status modelVersion { nativeId } project { nativeId } }
            batchPrediction(id: $bp) { nativeId status totalPredictions deployment { nativeId } } } }""",
        {"mv": model_version.id, "ds": data.datasets[0].id, "dep": data.deployments[0].id, "bp": data.batch_predictions[0].id},
    )
    assert answer.errors == []
    root = answer.data["abacus"]
    model = next(m for m in data.models if m.id == model_version.model_id)
    assert root["modelVersion"]["model"]["nativeId"] == model.id
    assert {v["nativeId"] for v in root["modelVersion"]["model"]["versions"]["nodes"]} == set(model.version_ids)
    assert [f["nativeId"] for f in root["modelVersion"]["featureGroupVersions"]] == model_version.feature_group_versions
    dataset = data.datasets[0]
    assert root["dataset"]["name"] == dataset.name
    assert {v["nativeId"] for v in root["dataset"]["versions"]["nodes"]} == set(dataset.version_ids)
    deployment = data.deployments[0]
    assert (root["deployment"]["status"], root["deployment"]["modelVersion"]["nativeId"]) == (deployment.status, deployment.model_version)
    prediction = data.batch_predictions[0]
    assert root["batchPrediction"]["deployment"]["nativeId"] == prediction.deployment_id
    ids = [
        global_id("AbacusPipeline", data.pipelines[0].id),
        global_id("AbacusPipelineStepVersion", data.step_versions[0].id),
        global_id("AbacusUser", data.self_user_id),
        global_id("AbacusProject", data.projects[0].id),
    ]
    nodes = gateway("""query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }""", {"ids": ids})
    assert nodes.errors == []
    assert [n["id"] for n in nodes.data["nodes"]] == ids


# ---------------------------------------------------------------- the mutation


@pytest.fixture
def fresh() -> Iterator[Gateway]:
    yield from open_gateway(build_sandbox())


RUN = """mutation($p: ID!, $m: [AbacusVariableInput!]) { runAbacusPipeline(pipelineId: $p, variableMappings: $m) {
    nativeId status nativeStatus pipeline { nativeId } steps(first: 50) { nodes { name nativeStatus } } } }"""
POLL = """query($id: ID!) { abacus { pipelineVersion(id: $id) { nativeStatus error
    steps(first: 50) { nodes { name nativeStatus ... on AbacusPipelineStepVersion { error } } } } } }"""


def poll_until_done(gateway: Gateway, version_id: str) -> dict:
    deadline = time.monotonic() + 10
    while True:
        node = gateway(POLL, {"id": version_id}).data["abacus"]["pipelineVersion"]
        if node["nativeStatus"] in ("COMPLETE", "FAILED") or time.monotonic() > deadline:
            return node
        time.sleep(0.1)


def test_run_abacus_pipeline_then_poll_to_completion(fresh: Gateway) -> None:
    pipeline = fresh.sandbox.abacus.pipelines[0]
    variable = pipeline.variable_mappings[0]
    mapping = {"name": variable.name, "variableType": variable.variable_type, "value": variable.value}
    answer = fresh(RUN, {"p": global_id("AbacusPipeline", pipeline.id), "m": [mapping]})
    assert answer.errors == []
    version = answer.data["runAbacusPipeline"]
    assert (version["status"], version["nativeStatus"]) == ("QUEUED", "PENDING")
    assert version["pipeline"]["nativeId"] == pipeline.id
    assert [s["name"] for s in version["steps"]["nodes"]] == [s.name for s in pipeline.steps]
    done = poll_until_done(fresh, version["nativeId"])
    assert done["nativeStatus"] == "COMPLETE"
    assert all(step["nativeStatus"] == "COMPLETE" for step in done["steps"]["nodes"])
    post = next(e for e in answer.ledger["entries"] if e["method"] == "POST")
    assert post["path"] == "/api/v0/runPipeline"


def test_a_failing_run_reports_its_step_error(fresh: Gateway) -> None:
    pipeline = fresh.sandbox.abacus.pipelines[0]
    variable = pipeline.variable_mappings[0]
    answer = fresh(RUN, {"p": pipeline.id, "m": [{"name": variable.name, "variableType": variable.variable_type, "value": "fail"}]})
    done = poll_until_done(fresh, answer.data["runAbacusPipeline"]["nativeId"])
    assert done["nativeStatus"] == "FAILED" and done["error"]
    failed = [s for s in done["steps"]["nodes"] if s["nativeStatus"] == "FAILED"]
    assert len(failed) == 1 and failed[0]["error"]


def test_run_refusals(fresh: Gateway) -> None:
    answer = fresh(RUN, {"p": "0000000000"})
    assert answer.codes() == ["NOT_FOUND"]
    answer = fresh(RUN, {"p": "../describeUser"})
    assert answer.codes() == ["BAD_USER_INPUT"] and answer.calls == 0
    answer = fresh(RUN, {"p": fresh.sandbox.abacus.pipelines[0].id, "m": [{"name": " ", "variableType": "STRING"}]})
    assert answer.codes() == ["BAD_USER_INPUT"] and answer.calls == 0


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "fault,code",
    [({"status": 500}, "BACKEND_UNAVAILABLE"), ({"garbage": True}, "BAD_BACKEND_RESPONSE"), ({"status": 401}, "BACKEND_UNAVAILABLE")],
)
def test_fault_bodies_map_to_codes(gateway: Gateway, faults: Faults, fault: dict, code: str) -> None:
    # The injected body always says InternalServerError, whatever the status:
    # errorType decides before the status does.
    version = gateway.sandbox.abacus.pipeline_versions[0]
    faults.set("/api/v0/describePipelineVersion", **fault)
    answer = gateway(CANONICAL, {"id": version.id})
    assert answer.data == {"abacus": {"pipelineVersion": None}}
    assert answer.codes() == [code]
    assert answer.errors[0]["extensions"]["platform"] == "abacus"
    assert "sandbox" not in answer.raw.decode()


def test_error_types_map_to_codes(gateway: Gateway) -> None:
    answer = gateway("""{ abacus { pipelineVersion(id: "0000000000") { name } } }""")
    assert answer.codes() == ["NOT_FOUND"]
    answer = gateway("""{ abacus { pipelineVersion(id: "not an id!") { name } } }""")
    assert answer.codes() == ["BAD_USER_INPUT"] and answer.calls == 0


def test_one_failing_reference_nulls_only_its_target(gateway: Gateway, faults: Faults) -> None:
    data = gateway.sandbox.abacus
    version = next(v for v in data.pipeline_versions if v.status == "COMPLETE")
    faults.set("/api/v0/describeModelVersion", status=500)
    answer = gateway(CANONICAL, {"id": version.id})
    steps = answer.data["abacus"]["pipelineVersion"]["steps"]["nodes"]
    targets = [ref["target"] for step in steps for ref in step["references"]]
    assert any(t is None for t in targets) and any(t is not None for t in targets)
    assert set(answer.codes()) == {"BACKEND_UNAVAILABLE"}


def test_a_wrong_api_key_is_forbidden() -> None:
    from mlgraph.demo import ABACUS_SANDBOX_URL
    from mlgraph.settings import AbacusSettings, Settings

    settings = Settings(abacus=AbacusSettings(url=ABACUS_SANDBOX_URL, api_key="wrong-key"))
    for gateway in open_gateway(build_sandbox(settings=settings)):
        answer = gateway("{ abacus { me { name } } }")
        assert answer.codes() == ["FORBIDDEN"]
        assert "wrong-key" not in answer.raw.decode()
        assert gateway.client.get("/readyz").json()["platforms"]["abacus"] == "FORBIDDEN"


def test_version_pages_resume_from_cursors(gateway: Gateway) -> None:
    data = gateway.sandbox.abacus
    pipeline = data.pipelines[0]
    expected = [v.id for v in sorted((v for v in data.pipeline_versions if v.pipeline_id == pipeline.id), key=lambda v: v.created_at, reverse=True)]
    seen: list[str] = []
    after = None
    while True:
        answer = gateway(
            """query($p: ID!, $a: String) { abacus { pipelineVersions(pipeline: $p, first: 2, after: $a) {
                totalCount pageInfo { hasNextPage endCursor } nodes { nativeId } } } }""",
            {"p": pipeline.id, "a": after},
        )
        assert answer.errors == [] and answer.calls == 1
        page = answer.data["abacus"]["pipelineVersions"]
        seen += [node["nativeId"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            assert page["totalCount"] == len(expected)
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected
    deep = gateway("""query($p: ID!) { abacus { pipelineVersions(pipeline: $p, first: 1000) { totalCount } } }""", {"p": pipeline.id})
    assert deep.codes() == ["BAD_USER_INPUT"] and deep.calls == 0
