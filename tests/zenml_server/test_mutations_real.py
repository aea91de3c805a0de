"""Writes through the gateway against a real ZenML server, read back through it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import httpx

import pytest
from fastapi.testclient import TestClient

from mlgraph.app import create_app
from mlgraph.graph.ids import global_id
from mlgraph.settings import Settings, ZenMLSettings
from tests.conftest import Gateway

from .harness import ZenMLServer

pytestmark = pytest.mark.zenml_server


@pytest.fixture(scope="module")
def real(zenml_server: ZenMLServer) -> Iterator[Gateway]:
    settings = Settings(zenml=ZenMLSettings(url=zenml_server.base_url, api_key=zenml_server.api_key, timeout=30))
    with TestClient(create_app(settings)) as client:
        yield Gateway(client, sandbox=None)  # type: ignore[arg-type]


UPDATE = """
mutation($id: ID!, $status: ZenMLExecutionStatus, $end: DateTime) {
  updateStepRun(id: $id, input: {status: $status, endTime: $end}) { nativeId status nativeStatus endedAt }
}
"""
READ_STEP = '{ zenml { stepRun(id: "%s") { nativeStatus endedAt } } }'


@pytest.fixture(scope="module")
def running_step(zenml_server: ZenMLServer) -> Iterator[str]:
    """A step still running, in a run still running: ZenML refuses to change
    the status of a finished step, so populate's steps cannot serve. The run
    and the model version ZenML makes for it are deleted afterwards, so the
    server holds what populate made for the other tests."""
    assert zenml_server.populated is not None
    project = zenml_server.populated["project_id"]
    now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat()
    with httpx.Client(base_url=zenml_server.api_url, headers=zenml_server.headers(zenml_server.gateway_token), timeout=30) as api:
        finished = api.get(f"/runs/{zenml_server.populated['runs'][0]['id']}").json()
        run, _ = api.post(
            "/runs",
            json={"name": "gateway-running-run", "snapshot": finished["resources"]["snapshot"]["id"],
                  "project": project, "status": "running", "start_time": now, "orchestrator_run_id": "mlgraph-test"},
        ).json()
        step = api.post(
            "/steps",
            json={"name": "load_data", "status": "running", "pipeline_run_id": run["id"], "start_time": now, "project": project},
        )
        assert step.status_code == 200, step.text
        try:
            yield step.json()["id"]
        finally:
            model_version = (run["resources"].get("model_version") or {}).get("id")
            assert api.delete(f"/runs/{run['id']}").status_code == 200
            if model_version:
                assert api.delete(f"/model_versions/{model_version}").status_code == 200


def test_update_step_run_status_and_read_it_back(real: Gateway, running_step: str) -> None:
    before = real(READ_STEP % running_step).data["zenml"]["stepRun"]
    assert before == {"nativeStatus": "running", "endedAt": None}
    changed = real(UPDATE, {"id": global_id("ZenMLStepRun", running_step), "status": "COMPLETED", "end": "2030-01-02T03:04:05Z"})
    assert changed.errors == [], changed.errors
    assert changed.data["updateStepRun"]["status"] == "SUCCEEDED"
    assert changed.data["updateStepRun"]["nativeStatus"] == "completed"
    read = real(READ_STEP % running_step).data["zenml"]["stepRun"]
    assert read["nativeStatus"] == "completed" and read["endedAt"].startswith("2030-01-02T03:04:05")


def test_a_finished_step_keeps_its_status_and_says_why(real: Gateway, zenml_server: ZenMLServer) -> None:
    assert zenml_server.populated is not None
    step_id = zenml_server.populated["failed_run"]["failed_step_id"]
    refused = real(UPDATE, {"id": step_id, "status": "COMPLETED"})
    assert refused.data is None or refused.data.get("updateStepRun") is None
    (error,) = refused.errors
    assert error["extensions"] == {"code": "FORBIDDEN", "platform": "zenml"}
    assert "finished steps" in error["message"]
    assert real(READ_STEP % step_id).data["zenml"]["stepRun"]["nativeStatus"] == "failed"


CREATE = """
mutation($mv: ID!, $run: ID!) {
  createService(input: {
    name: "gateway-made-service", serviceType: {type: "model-serving", flavor: "fake", name: "fake-model-server"},
    serviceSource: "zenml.services.service.BaseService", config: {replicas: 1}, labels: {owner: "gateway"},
    status: {state: "active"}, predictionUrl: "http://127.0.0.1:9/p", healthCheckUrl: "http://127.0.0.1:9/h",
    modelVersion: $mv, pipelineRun: $run
  }) { id nativeId name labels config predictionUrl modelVersion { nativeId } pipelineRun { nativeId } user { name } }
}
"""


def test_service_create_update_delete(real: Gateway, zenml_server: ZenMLServer) -> None:
    assert zenml_server.populated is not None
    run = zenml_server.populated["runs"][0]
    version_id = run["model_version"]["id"]
    created = real(CREATE, {"mv": version_id, "run": global_id("ZenMLPipelineRun", run["id"])})
    assert created.errors == [], created.errors
    service = created.data["createService"]
    assert service["name"] == "gateway-made-service" and service["labels"] == {"owner": "gateway"}
    assert service["modelVersion"]["nativeId"] == version_id and service["pipelineRun"]["nativeId"] == run["id"]
    assert service["user"]["name"] == zenml_server.service_account_name
    assert service["config"]["replicas"] == 1

    listed = real('{ zenml { services(name: "gateway-made") { nodes { nativeId } } } }')
    assert [n["nativeId"] for n in listed.data["zenml"]["services"]["nodes"]] == [service["nativeId"]]

    updated = real(
        'mutation($id: ID!) { updateService(id: $id, input: {labels: {owner: "platform"}, '
        'predictionUrl: "http://127.0.0.1:9/v2"}) { labels predictionUrl } }',
        {"id": service["id"]},
    )
    assert updated.errors == [], updated.errors
    read = real('{ node(id: "%s") { ... on ZenMLService { labels predictionUrl } } }' % service["id"])
    assert read.data["node"] == {"labels": {"owner": "platform"}, "predictionUrl": "http://127.0.0.1:9/v2"}

    deleted = real('mutation($id: ID!) { deleteService(id: $id) { nativeId name } }', {"id": service["id"]})
    assert deleted.errors == [] and deleted.data["deleteService"]["nativeId"] == service["nativeId"]
    gone = real('{ node(id: "%s") { id } }' % service["id"])
    assert gone.data["node"] is None and gone.codes() == ["NOT_FOUND"]
