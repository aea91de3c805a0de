"""The gateway against a real ZenML server: what the emulator cannot prove.

The server runs with auth on; the gateway holds only the service account's
API key and exchanges it once. Data comes from ``populate.py``: a pipeline
load_data -> train_model -> evaluate, several runs, one with a failing step,
a model with versions and a service.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from mlgraph.app import create_app
from mlgraph.graph.ids import global_id
from mlgraph.settings import Settings, ZenMLSettings
from mlgraph.demo import build_sandbox
from tests.conftest import Gateway, open_gateway

from .harness import ZenMLServer

pytestmark = pytest.mark.zenml_server

RUN = """
query Run($id: ID!) {
  zenml {
    pipelineRun(id: $id) {
      name status nativeStatus startedAt endedAt
      user { name isServiceAccount }
      pipeline { name }
      modelVersion { name number model { name } }
      tags { name }
      steps(first: 50) {
        totalCount
        nodes {
          name status nativeStatus startedAt
          ... on ZenMLStepRun { nativeId }
          outputs { name uri version producer { name user { name } } }
        }
      }
    }
  }
}
"""


#: A run's DAG, its first steps and who read each step's outputs.
DAG = """
query($id: ID!) { zenml { pipelineRun(id: $id) {
  dag { execution { name } upstream { name } }
  steps(first: 10) { nodes { name ... on ZenMLStepRun {
    namedOutputs { name artifactVersion { consumers { name } artifact { name } } } } } }
} } }
"""

#: The models with their versions, and the services.
MODELS_AND_SERVICES = """{ zenml {
  models { nodes { name description versions(first: 10) { totalCount nodes { name number stage } } } }
  services { nodes { name state predictionUrl modelVersion { number } pipelineRun { name } labels } }
} }"""


@pytest.fixture(scope="module")
def real(zenml_server: ZenMLServer) -> Iterator[Gateway]:
    settings = Settings(zenml=ZenMLSettings(url=zenml_server.base_url, api_key=zenml_server.api_key, timeout=30))
    with TestClient(create_app(settings)) as client:
        yield Gateway(client, sandbox=None)  # type: ignore[arg-type]


def summary(zs: ZenMLServer) -> dict:
    assert zs.populated is not None
    return zs.populated  # type: ignore[return-value]


def test_api_key_is_exchanged_once(real: Gateway) -> None:
    first = real("{ zenml { projects { nodes { name } } } }")
    second = real("{ zenml { projects { nodes { name } } } }")
    assert first.errors == second.errors == []
    logins = [e for e in first.ledger["entries"] + second.ledger["entries"] if e["path"].startswith("/api/v1/login")]
    assert len(logins) <= 1  # the module's first request may carry it; none after
    assert second.calls == 1
    assert second.data["zenml"]["projects"]["nodes"][0]["name"] == "default"
    assert real.client.get("/readyz").json() == {"status": "ready", "platforms": {"zenml": "ok"}, "circuits": {"zenml": "closed"}}


def test_every_run_with_its_real_steps(real: Gateway, zenml_server: ZenMLServer) -> None:
    populated = summary(zenml_server)
    failed_run = populated["failed_run"]
    for run in populated["runs"]:
        answer = real(RUN, {"id": run["id"]})
        assert answer.errors == [], answer.errors
        got = answer.data["zenml"]["pipelineRun"]
        assert got["name"] == run["name"]
        assert got["user"] == {"name": zenml_server.service_account_name, "isServiceAccount": True}
        assert got["pipeline"]["name"] == populated["pipeline_name"]
        assert got["startedAt"] and got["endedAt"]
        steps = {node["name"]: node for node in got["steps"]["nodes"]}
        assert set(steps) == set(populated["step_names"])
        assert got["steps"]["totalCount"] == len(populated["step_names"])
        assert answer.calls <= 5, answer.ledger["entries"]  # run, steps, producers, user (+ run detail)
        if run["id"] == failed_run["id"]:
            assert got["nativeStatus"] == "failed" and got["status"] == "FAILED"
            failed = steps[failed_run["failed_step"]]
            assert failed["status"] == "FAILED" and failed["nativeId"] == failed_run["failed_step_id"]
            continue
        assert got["status"] == "SUCCEEDED"
        assert got["modelVersion"]["model"]["name"] == populated["model"]["name"]
        for name, step in steps.items():
            assert step["nativeId"] == run["steps"][name]["id"]
            assert step["status"] == "SUCCEEDED" and step["nativeStatus"] == "completed"
            for output in step["outputs"]:
                assert output["uri"] and output["version"]
                assert output["name"] in populated["artifact_names"]
                assert output["producer"]["name"] == name  # caching is off: each step wrote its own
                assert output["producer"]["user"]["name"] == zenml_server.service_account_name


def test_calls_stay_bounded_like_against_the_emulator(real: Gateway, zenml_server: ZenMLServer) -> None:
    sandbox = build_sandbox(layout="current")
    emulated_run = next(run.id for run in sandbox.zenml.runs if run.status == "completed")
    for emulator in open_gateway(sandbox):
        emulated = emulator(RUN, {"id": emulated_run})
    assert emulated.errors == []
    real(RUN, {"id": summary(zenml_server)["runs"][0]["id"]})  # the first call of the module may log in
    for run in summary(zenml_server)["runs"]:
        answer = real(RUN, {"id": run["id"]})
        assert answer.calls <= emulated.calls, (answer.ledger["entries"], emulated.ledger["entries"])
    many = real("{ zenml { pipelineRuns(first: 10) { nodes { name steps(first: 10) { nodes { name } } } } } }")
    assert many.errors == []
    runs = many.data["zenml"]["pipelineRuns"]["nodes"]
    assert len(runs) >= 4
    # one list call, then one steps call per run: the steps of a run are its own page
    assert many.calls == 1 + len(runs)


def test_dag_and_lineage_on_real_records(real: Gateway, zenml_server: ZenMLServer) -> None:
    run = summary(zenml_server)["runs"][0]
    answer = real(DAG, {"id": run["id"]})
    assert answer.errors == []
    got = answer.data["zenml"]["pipelineRun"]
    dag = {d["execution"]["name"]: sorted(u["name"] for u in d["upstream"]) for d in got["dag"]}
    assert dag["load_data"] == [] and dag["train_model"] == ["load_data"]
    assert dag["evaluate"] == ["load_data", "train_model"]
    load_data = next(n for n in got["steps"]["nodes"] if n["name"] == "load_data")
    consumers = {o["name"]: sorted(c["name"] for c in o["artifactVersion"]["consumers"]) for o in load_data["namedOutputs"]}
    assert consumers == {"features": ["evaluate", "train_model"], "labels": ["evaluate", "train_model"]}


def test_models_versions_and_the_service(real: Gateway, zenml_server: ZenMLServer) -> None:
    populated = summary(zenml_server)
    answer = real(MODELS_AND_SERVICES)
    assert answer.errors == []
    (model,) = answer.data["zenml"]["models"]["nodes"]
    assert model["name"] == populated["model"]["name"]
    versions = {v["number"]: v for v in model["versions"]["nodes"]}
    assert set(versions) == {v["number"] for v in populated["model"]["versions"]}
    production = next(v for v in populated["model"]["versions"] if v["id"] == populated["model"]["production_version_id"])
    assert versions[production["number"]]["stage"] == "production"
    service = next(s for s in answer.data["zenml"]["services"]["nodes"] if s["name"] == zenml_server.service["name"])
    assert service["modelVersion"]["number"] == production["number"]
    assert service["labels"] == {"env": "test"} and service["predictionUrl"].endswith("/predict")


def test_real_errors_are_coded(real: Gateway) -> None:
    missing = global_id("ZenMLPipelineRun", "00000000-0000-4000-8000-000000000000")
    answer = real('{ node(id: "%s") { id } zenml { stepRun(id: "not-a-uuid") { id } } }' % missing)
    assert answer.data["node"] is None and answer.data["zenml"]["stepRun"] is None
    assert sorted(answer.codes()) == ["BAD_USER_INPUT", "NOT_FOUND"]
    text = answer.raw.decode()
    for leak in ("127.0.0.1", "ZENKEY", "Traceback", 'File \\"', "site-packages"):
        assert leak not in text
