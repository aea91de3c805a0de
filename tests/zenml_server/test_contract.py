"""The emulator stays faithful: the same endpoints asked of the real server and
of the emulator must have the shapes the client relies on.

The emulator's ``current`` layout is compared with the real 0.98 server key by
key and type by type; its ``seed`` layout (the one the seeds document) must
give the client's wire models the same information the real layout does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from mlgraph.backends import zenml as wire
from mlgraph.sandbox.zenml import create_zenml_emulator
from mlgraph.sandbox.zenml_data import ZenMLDataset

from .harness import ZenMLServer

pytestmark = pytest.mark.zenml_server

MISSING = "00000000-0000-4000-8000-000000000000"


class Side:
    """One backend to ask: the real server or an emulator, with ids to ask about."""

    def __init__(self, client: httpx.Client | TestClient, ids: dict[str, str]) -> None:
        self.client = client
        self.ids = ids

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get("/api/v1" + path.format(**self.ids), params=params)


def real_ids(zs: ZenMLServer) -> dict[str, str]:
    assert zs.populated is not None and zs.service is not None
    run = zs.populated["runs"][0]
    client = httpx.Client(base_url=zs.api_url, headers=zs.headers(zs.gateway_token), timeout=30)
    with client:
        version = client.get("/artifact_versions", params={"size": 1}).json()["items"][0]["id"]
        snapshot = client.get(f"/runs/{run['id']}").json()["resources"]["snapshot"]["id"]
    return {
        "run": run["id"],
        "step": run["steps"]["evaluate"]["id"],
        "artifact_version": version,
        "model_version": zs.populated["model"]["production_version_id"],
        "service": zs.service["id"],
        "snapshot": snapshot,
    }


def emulator_ids(dataset: ZenMLDataset) -> dict[str, str]:
    run = next(r for r in dataset.runs if r.status == "completed")
    step = next(s for s in dataset.steps if s.pipeline_run_id == run.id and s.inputs and s.outputs)
    pipeline = next(p for p in dataset.pipelines if p.id == run.pipeline_id)
    return {
        "run": run.id,
        "step": step.id,
        "artifact_version": dataset.artifact_versions[0].id,
        "model_version": dataset.model_versions[0].id,
        "service": dataset.services[0].id,
        "snapshot": pipeline.snapshot_id,
    }


@pytest.fixture(scope="module")
def sides(zenml_server: ZenMLServer) -> Iterator[dict[str, Side]]:
    dataset = ZenMLDataset.generate(pipelines=1, runs_per_pipeline=4, steps_per_run=4)
    real = httpx.Client(base_url=zenml_server.base_url, headers=zenml_server.headers(zenml_server.gateway_token), timeout=30)
    with real, TestClient(create_zenml_emulator(dataset, layout="current")) as current, TestClient(
        create_zenml_emulator(dataset, layout="seed")
    ) as seed:
        ids = emulator_ids(dataset)
        yield {"real": Side(real, real_ids(zenml_server)), "current": Side(current, ids), "seed": Side(seed, ids)}


RECORDS: list[tuple[str, dict[str, Any], type[wire.ZenMLRecord]]] = [
    ("/steps", {"hydrate": "false", "size": 2}, wire.ZenMLStepRun),
    ("/steps", {"hydrate": "true", "size": 2}, wire.ZenMLStepRun),
    ("/steps/{step}", {}, wire.ZenMLStepRun),
    ("/runs", {"hydrate": "false", "size": 2}, wire.ZenMLPipelineRun),
    ("/runs", {"hydrate": "true", "size": 2}, wire.ZenMLPipelineRun),
    ("/runs/{run}", {}, wire.ZenMLPipelineRun),
    ("/runs/{run}/steps", {"size": 2}, wire.ZenMLStepRun),
    ("/pipelines", {"size": 2}, wire.ZenMLPipeline),
    ("/artifacts", {"size": 2}, wire.ZenMLArtifact),
    ("/artifact_versions", {"size": 2}, wire.ZenMLArtifactVersion),
    ("/artifact_versions/{artifact_version}", {}, wire.ZenMLArtifactVersion),
    ("/models", {"hydrate": "true", "size": 2}, wire.ZenMLModel),
    ("/model_versions", {"size": 2}, wire.ZenMLModelVersion),
    ("/model_versions/{model_version}", {}, wire.ZenMLModelVersion),
    ("/services", {"size": 2}, wire.ZenMLService),
    ("/services/{service}", {}, wire.ZenMLService),
    ("/projects", {"hydrate": "true", "size": 2}, wire.ZenMLProject),
    ("/current-user", {}, wire.ZenMLUser),
    ("/pipeline_snapshots/{snapshot}", {}, wire.ZenMLSnapshot),
    ("/pipeline_snapshots", {"hydrate": "true", "size": 2}, wire.ZenMLSnapshot),
    ("/pipeline_deployments/{snapshot}", {}, wire.ZenMLSnapshot),
]


def first_record(body: Any) -> dict[str, Any]:
    if isinstance(body, dict) and "items" in body:
        assert body["items"], "need at least one item to compare"
        return body["items"][0]
    return body


def kind(value: Any) -> str:
    return "null" if value is None else "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def shape_differences(real: dict[str, Any], emulated: dict[str, Any]) -> list[str]:
    """Keys the real record has that the emulated one lacks, and type clashes.

    ``null`` on either side is no clash: thin and optional fields are null.
    Only the levels the client reads are compared: the record, its body,
    metadata and resources, and one level into embedded objects.
    """
    problems = []
    for section in ("", "body", "metadata", "resources"):
        left = real.get(section) if section else real
        right = emulated.get(section) if section else emulated
        if not isinstance(left, dict):
            if kind(left) != "null" and kind(left) != kind(right):
                problems.append(f"{section}: {kind(left)} vs {kind(right)}")
            continue
        if not isinstance(right, dict):
            problems.append(f"{section}: dict vs {kind(right)}")
            continue
        for key, value in left.items():
            where = f"{section}.{key}" if section else key
            if key not in right:
                problems.append(f"{where} missing")
            elif "null" not in (kind(value), kind(right[key])) and kind(value) != kind(right[key]):
                problems.append(f"{where}: {kind(value)} vs {kind(right[key])}")
    return problems


@pytest.mark.parametrize(("path", "params", "model"), RECORDS, ids=[f"{p}{q}" for p, q, _ in RECORDS])
def test_current_layout_matches_the_real_server(sides: dict[str, Side], path: str, params: dict, model: type) -> None:
    real, emulated = sides["real"].get(path, **params), sides["current"].get(path, **params)
    assert real.status_code == emulated.status_code == 200, (real.text[:300], emulated.text[:300])
    real_body, emulated_body = real.json(), emulated.json()
    if "items" in real_body:
        assert set(real_body) == set(emulated_body) == {"index", "max_size", "total_pages", "total", "items"}
        assert real_body["max_size"] == emulated_body["max_size"] == 2 and real_body["index"] == emulated_body["index"] == 1
    assert shape_differences(first_record(real_body), first_record(emulated_body)) == []


def provided(model: type[wire.ZenMLRecord], raw: dict[str, Any]) -> set[str]:
    """The wire model's fields a raw record carries, whatever their values."""
    return set(wire.flatten_record(raw)) & set(model.model_fields)


#: What the seeds' layout keeps only in ``metadata`` (so thin records lack it)
#: or never had; the client hydrates for the first and does without the second.
#: It names a run's snapshot ``deployment_id`` (``snapshot_ref`` reads either),
#: and only a failed step's exception info.
SEED_LAYOUT_LACKS = {
    wire.ZenMLArtifactVersion: {"producer_step_run_id", "content_hash"},
    wire.ZenMLPipelineRun: {"status_reason", "in_progress", "snapshot_id", "exception_info"},
    wire.ZenMLStepRun: {"snapshot_id", "exception_info"},
    # Older servers had no dynamic pipelines.
    wire.ZenMLSnapshot: {"is_dynamic"},
}


@pytest.mark.parametrize(("path", "params", "model"), RECORDS, ids=[f"{p}{q}" for p, q, _ in RECORDS])
def test_client_reads_the_same_from_both_layouts(sides: dict[str, Side], path: str, params: dict, model: type) -> None:
    """The seed layout embeds related objects where 0.98 sends ids and resources;
    the wire models must find the same fields in either."""
    raw = {}
    for name in ("real", "seed", "current"):
        raw[name] = first_record(sides[name].get(path, **params).json())
        model.model_validate(raw[name])
    real = provided(model, raw["real"])
    assert real - provided(model, raw["current"]) == set()
    lacks = SEED_LAYOUT_LACKS.get(model, set())
    if raw["seed"].get("metadata") is None:
        # The seeds name the project in metadata and embed the model version
        # in resources only when hydrated; thin records carry model_version_id.
        lacks = lacks | {"project_id", "model_version"}
    assert real - provided(model, raw["seed"]) - lacks == set()
    if issubclass(model, wire.ZenMLStepRun | wire.ZenMLPipelineRun) and raw["seed"].get("metadata") is not None:
        assert model.model_validate(raw["seed"]).snapshot_ref is not None


ERRORS: list[tuple[str, dict[str, Any], int]] = [
    ("/runs/" + MISSING, {}, 404),
    ("/steps/" + MISSING, {}, 404),
    ("/runs/not-a-uuid", {}, 422),
    ("/runs", {"page": 99}, 400),
    ("/runs", {"size": 10001}, 422),
    ("/runs", {"sort_by": "bogus"}, 422),
    ("/steps", {"id": 'in:["x"]'}, 422),
]


@pytest.mark.parametrize(("path", "params", "status"), ERRORS, ids=[f"{p}{q}" for p, q, _ in ERRORS])
def test_error_bodies_match(sides: dict[str, Side], path: str, params: dict, status: int) -> None:
    real, emulated = sides["real"].get(path, **params), sides["current"].get(path, **params)
    assert real.status_code == emulated.status_code == status, (real.text[:300], emulated.text[:300])
    real_body, emulated_body = real.json(), emulated.json()
    real_detail = real_body["detail"] if isinstance(real_body, dict) else real_body
    emulated_detail = emulated_body["detail"] if isinstance(emulated_body, dict) else emulated_body
    assert type(real_body) is type(emulated_body)
    assert isinstance(real_detail, list) and isinstance(emulated_detail, list)
    assert real_detail[0] == emulated_detail[0] and len(emulated_detail) == 2


def test_auth_errors_match(zenml_server: ZenMLServer) -> None:
    dataset = ZenMLDataset.generate(pipelines=1, runs_per_pipeline=1, steps_per_run=2)
    with TestClient(create_zenml_emulator(dataset, token="right", layout="current")) as emulated:
        for headers in ({}, {"Authorization": "Bearer not-a-jwt"}):
            real = httpx.get(zenml_server.api_url + "/runs", headers=headers, timeout=30)
            fake = emulated.get("/api/v1/runs", headers=headers)
            assert real.status_code == fake.status_code == 401
            real_detail, fake_detail = real.json()["detail"], fake.json()["detail"]
            assert type(real_detail) is type(fake_detail)
            if isinstance(real_detail, list):
                assert real_detail[0] == fake_detail[0] == "CredentialsNotValid"
            else:
                assert real_detail == fake_detail == "Not authenticated"


def test_snapshot_step_configurations_match(sides: dict[str, Side]) -> None:
    """What the DAG reads of a snapshot: each step's spec (``upstream_steps``)
    and config (``settings``), keyed by invocation id, in both routes' answers."""
    real, emulated = (sides[name].get("/pipeline_snapshots/{snapshot}").json() for name in ("real", "current"))
    real_step, emulated_step = (next(iter(body["metadata"]["step_configurations"].values())) for body in (real, emulated))
    assert set(real_step) == set(emulated_step)
    for part in ("spec", "config"):
        assert set(real_step[part]) - set(emulated_step[part]) == set(), part
    assert isinstance(emulated_step["spec"]["upstream_steps"], list)
    for name in ("real", "current", "seed"):
        snapshot = wire.ZenMLSnapshot.model_validate(sides[name].get("/pipeline_deployments/{snapshot}").json())
        assert snapshot.step_configurations and not snapshot.is_dynamic


def test_a_failed_steps_exception_info_matches(zenml_server: ZenMLServer) -> None:
    """The reason a failed step gives: 0.98's message and exception class
    beside the traceback; the seed layout's older traceback alone reads too."""
    failed = zenml_server.populated["failed_run"] if zenml_server.populated else None
    assert failed is not None
    with httpx.Client(base_url=zenml_server.api_url, headers=zenml_server.headers(), timeout=30) as real:
        real_info = real.get(f"/steps/{failed['failed_step_id']}").json()["metadata"]["exception_info"]
    dataset = ZenMLDataset.generate(pipelines=1, runs_per_pipeline=5, steps_per_run=4)
    step = next(s for s in dataset.steps if s.status == "failed")
    infos = {}
    for layout in ("current", "seed"):
        with TestClient(create_zenml_emulator(dataset, layout=layout)) as emulated:
            infos[layout] = emulated.get(f"/api/v1/steps/{step.id}").json()["metadata"]["exception_info"]
    assert set(real_info) == set(infos["current"]) == {"traceback", "source", "message", "user_code_line"}
    assert {kind(value) for value in real_info.values()} == {kind(value) for value in infos["current"].values()}
    for raw in (real_info, infos["current"], infos["seed"]):
        read = wire.ZenMLExceptionInfo.model_validate(raw)
        assert read.traceback and read.traceback.rstrip().endswith(raw.get("message") or "")
