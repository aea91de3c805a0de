"""The ZenML emulator and its seeded data set, tested over HTTP as a client sees them."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from mlgraph.sandbox.faults import Faults
from mlgraph.sandbox.zenml import create_zenml_emulator
from mlgraph.sandbox.zenml_data import StepRun, ZenMLDataset

API = "/api/v1"

# Key sets of the records a real ZenML 0.98 server returned (zenml-samples/).
RECORD_KEYS = {"body", "metadata", "resources", "id", "permission_denied", "name"}
CURRENT_KEYS: dict[str, dict[str, set[str]]] = {
    "step": {
        "body": {"created", "updated", "user_id", "project_id", "type", "status", "version", "is_retriable",
                 "start_time", "end_time", "latest_heartbeat", "model_version_id", "resource_request_id",
                 "substitutions", "heartbeat_threshold"},
        "metadata": {"config", "spec", "cache_key", "cache_expires_at", "code_hash", "docstring", "source_code",
                     "exception_info", "snapshot_id", "pipeline_run_id", "original_step_run_id",
                     "parent_step_ids", "run_metadata"},
        "resources": {"user", "log_collection", "model_version", "inputs", "outputs", "resource_request"},
    },
    "run": {
        "body": {"created", "updated", "user_id", "project_id", "status", "in_progress", "status_reason",
                 "index", "pipeline_id", "child_key", "root_run_id"},
        "metadata": {"run_metadata", "config", "start_time", "end_time", "client_environment",
                     "orchestrator_environment", "orchestrator_run_id", "code_path", "template_id",
                     "is_templatable", "trigger_info", "enable_heartbeat", "exception_info",
                     "trigger_execution_info"},
        "resources": {"user", "snapshot", "source_snapshot", "stack", "pipeline", "build", "schedule",
                      "code_reference", "model_version", "tags", "log_collection", "visualizations",
                      "trigger", "original_run", "parent_run", "active_wait_condition", "outputs"},
    },
    "artifact_version": {
        "body": {"created", "updated", "user_id", "project_id", "artifact", "version", "uri", "type",
                 "materializer", "data_type", "save_type", "artifact_store_id", "content_hash", "item_count"},
        "metadata": {"visualizations", "run_metadata"},
        "resources": {"user", "tags", "producer_step_run_id", "producer_pipeline_run_id"},
    },
    "model": {
        "body": {"created", "updated", "user_id", "project_id"},
        "metadata": {"license", "description", "audience", "use_cases", "limitations", "trade_offs", "ethics",
                     "save_models_to_registry"},
        "resources": {"user", "tags", "latest_version_name", "latest_version_id", "visualizations"},
    },
    "model_version": {
        "body": {"created", "updated", "user_id", "project_id", "stage", "number", "model"},
        "metadata": {"description", "run_metadata"},
        "resources": {"user", "services", "tags"},
    },
    "service": {
        "body": {"created", "updated", "user_id", "project_id", "service_type", "labels", "state"},
        "metadata": {"service_source", "admin_state", "config", "status", "endpoint", "prediction_url",
                     "health_check_url"},
        "resources": {"user", "pipeline_run", "model_version"},
    },
    "user": {
        "body": {"created", "updated", "active", "activation_token", "full_name", "email_opted_in",
                 "is_service_account", "is_admin", "default_project_id", "avatar_url"},
        "metadata": {"password_changed_at", "email", "external_user_id", "user_metadata", "oidc_claims"},
    },
    "project": {
        "body": {"created", "updated", "display_name"},
        "metadata": {"description", "project_metadata"},
    },
}
CURRENT_PATHS = {
    "step": "steps", "run": "runs", "artifact_version": "artifact_versions", "model": "models",
    "model_version": "model_versions", "service": "services", "user": "users", "project": "projects",
}
# Key sets of seed 000's fully hydrated step.
SEED_STEP_BODY = {"created", "updated", "user", "status", "start_time", "end_time", "inputs", "outputs",
                  "model_version_id"}
SEED_STEP_METADATA = {"project", "config", "spec", "cache_key", "code_hash", "docstring", "source_code", "logs",
                      "deployment_id", "pipeline_run_id", "original_step_run_id", "parent_step_ids", "run_metadata"}
SEED_ARTIFACT_VERSION_BODY = {"created", "updated", "user", "artifact", "version", "uri", "type", "materializer",
                              "data_type", "tags", "producer_pipeline_run_id", "save_type", "artifact_store_id"}
SEED_ARTIFACT_VERSION_METADATA = {"project", "producer_step_run_id", "visualizations", "run_metadata"}


class Client:
    """A synchronous client over httpx's ASGI transport, one event loop per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://zenml") as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(send())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture(scope="module")
def ds() -> ZenMLDataset:
    return ZenMLDataset.generate()


@pytest.fixture
def client(ds: ZenMLDataset) -> Client:
    return Client(create_zenml_emulator(ds))


def get(client: Client, path: str, **params: Any) -> Any:
    response = client.get(API + path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def model_step(ds: ZenMLDataset) -> StepRun:
    """A completed step with two inputs and a model version: the heaviest kind of record."""
    return next(s for s in ds.steps if s.status == "completed" and len(s.inputs) == 2 and s.model_version_id)


# ---------------------------------------------------------------- data set


def test_default_dataset_has_the_demo_shape(ds: ZenMLDataset) -> None:
    assert (len(ds.pipelines), len(ds.runs), len(ds.steps)) == (3, 30, 290)
    assert [u.email for u in ds.users] == ["ada@example.com", "grace@example.com", "alan@example.com"]
    assert [p.name for p in ds.projects] == ["default"]
    assert len(ds.models) == 2 and len(ds.model_versions) == 8 and len(ds.services) == 3
    assert len(ds.tags) >= 5
    statuses = Counter(s.status for s in ds.steps)
    assert statuses["completed"] > 200
    assert {"failed", "cached", "running", "initializing"} <= set(statuses)
    assert {r.status for r in ds.runs} == {"completed", "failed", "running"}
    assert {r.user_id for r in ds.runs} == {u.id for u in ds.users}
    resources = [s.plan.settings["resources"] for s in ds.steps if "resources" in s.plan.settings]
    assert resources and any(r.get("gpu_count") for r in resources)
    assert any(r.tag_ids for r in ds.runs) and any(a.tag_ids for a in ds.artifacts)
    assert all(m.tag_ids for m in ds.models)


def test_model_versions_and_services_link_to_the_runs_that_produced_them(ds: ZenMLDataset) -> None:
    runs = {r.id: r for r in ds.runs}
    linked = [v for v in ds.model_versions if v.pipeline_run_id]
    assert len(linked) == 8
    for version in linked:
        run = runs[version.pipeline_run_id]
        assert run.status == "completed" and run.model_version_id == version.id
    versions = {v.id for v in ds.model_versions}
    assert all(s.model_version_id in versions and s.pipeline_run_id in runs for s in ds.services)


def test_same_seed_same_data_other_seed_other_ids() -> None:
    first, second = ZenMLDataset.generate(seed=3), ZenMLDataset.generate(seed=3)
    assert first == second
    assert ZenMLDataset.generate(seed=4).steps[0].id != first.steps[0].id


def test_same_seed_gives_byte_identical_responses() -> None:
    paths = ["/steps?size=50&hydrate=true", "/runs?hydrate=true", "/artifact_versions?size=100", "/model_versions",
             "/services?hydrate=true", "/tags", "/users", "/info"]
    for layout in ("seed", "current"):
        bodies = [
            [Client(create_zenml_emulator(ZenMLDataset.generate(seed=11), layout=layout)).get(API + p).content
             for p in paths]
            for _ in range(2)
        ]
        assert bodies[0] == bodies[1]


def test_small_and_large_datasets() -> None:
    tiny = ZenMLDataset.generate(pipelines=1, runs_per_pipeline=1, steps_per_run=1)
    assert len(tiny.runs) == 1 and len(tiny.steps) == 1 and tiny.steps[0].status == "completed"
    medium = ZenMLDataset.generate(steps_per_run=200)
    assert 3 * 9 * 200 < len(medium.steps) <= 3 * 10 * 200  # a failed run's later steps never start
    started = time.perf_counter()
    large = ZenMLDataset.generate(pipelines=1, runs_per_pipeline=1, steps_per_run=1000)
    assert time.perf_counter() - started < 5
    assert len(large.steps) == 1000 and len({s.name for s in large.steps}) == 1000
    assert len(large.artifact_versions) >= 1000


def test_steps_form_a_dag_whose_inputs_were_produced_earlier(ds: ZenMLDataset) -> None:
    steps = {s.id: s for s in ds.steps}
    versions = {v.id: v for v in ds.artifact_versions}
    runs = {r.id: r for r in ds.runs}
    checked = 0
    for run in ds.runs:
        seen: dict[str, set[str]] = {}
        for step_id in run.step_ids:
            step = steps[step_id]
            assert step.pipeline_run_id == run.id
            earlier = {steps[i].name: i for i in seen}
            assert [earlier[name] for name in step.plan.upstream_steps] == step.parent_step_ids
            for name, version_id in step.inputs.items():
                upstream_name, output = step.plan.input_sources[name]
                assert upstream_name in step.plan.upstream_steps
                assert version_id in steps[earlier[upstream_name]].outputs[output]
                assert version_id in seen[earlier[upstream_name]]
                checked += 1
            if step.status == "cached":
                original = steps[step.original_step_run_id]
                assert original.name == step.name and original.status == "completed"
                assert runs[original.pipeline_run_id].start_time < run.start_time
                assert original.outputs == step.outputs and original.inputs == step.inputs
            else:
                for ids in step.outputs.values():
                    assert all(versions[i].producer_step_run_id == step.id for i in ids)
            seen[step_id] = {i for ids in step.outputs.values() for i in ids}
    assert checked > 200


def test_failed_runs_stop_later_steps_and_running_runs_have_pending_steps(ds: ZenMLDataset) -> None:
    """As on a real server, a step that never started has no step run: a
    failed run's steps end with the one that failed; its snapshot has them all."""
    steps = {s.id: s for s in ds.steps}
    snapshots = {p.id: next(s for s in ds.snapshots if s.id == p.snapshot_id) for p in ds.pipelines}
    for run in ds.runs:
        statuses = [steps[i].status for i in run.step_ids]
        planned = [step.name for step in snapshots[run.pipeline_id].steps]
        if run.status == "failed":
            assert statuses[-1] == "failed" and "failed" not in statuses[:-1] and run.end_time is not None
            assert not steps[run.step_ids[-1]].outputs and steps[run.step_ids[-1]].failure is not None
            assert [steps[i].name for i in run.step_ids] == planned[: len(statuses)] and len(statuses) < len(planned)
        else:
            assert [steps[i].name for i in run.step_ids] == planned
        if run.status == "running":
            cut = statuses.index("running")
            assert set(statuses[cut + 1 :]) <= {"initializing"} and run.end_time is None


# ---------------------------------------------------------------- paging, filters, sorting


def test_paging_bounds(client: Client) -> None:
    page = get(client, "/steps", page=2, size=7)
    assert (page["index"], page["max_size"], page["total"], page["total_pages"]) == (2, 7, 290, 42)
    assert len(page["items"]) == 7
    assert len(get(client, "/steps", page=42, size=7)["items"]) == 290 - 41 * 7
    assert get(client, "/steps", size=10000)["total_pages"] == 1
    empty = get(client, "/steps", name="no-such-step")
    assert (empty["total"], empty["total_pages"], empty["items"]) == (0, 1, [])

    beyond = client.get(f"{API}/runs", params={"page": 99, "size": 20, "name": "startswith:churn"})
    assert beyond.status_code == 400
    assert beyond.json() == {"detail": ["ValueError", (
        "Invalid page 99. The requested page size is 20 and there are a total of 10 items for this query. "
        "The maximum page value therefore is 1."
    )]}
    for params in ({"size": 0}, {"page": 0}, {"page": "x"}):
        response = client.get(f"{API}/steps", params=params)
        assert response.status_code == 422
        assert response.json()["detail"][0] == "ValueError"
    too_big = client.get(f"{API}/steps", params={"size": 10001})  # a bare list, as a real 0.98 sends
    assert too_big.status_code == 422 and too_big.json()[0] == "ValueError"


def test_oneof_returns_known_ids_in_sort_order(client: Client, ds: ZenMLDataset) -> None:
    chosen = [ds.steps[120], ds.steps[3], ds.steps[45]]
    unknown = "00000000-0000-4000-8000-000000000000"
    ids = json.dumps([s.id for s in chosen] + [unknown])
    ascending = get(client, "/steps", id=f"oneof:{ids}")
    assert ascending["total"] == 3
    expected = [s.id for s in sorted(chosen, key=lambda s: s.created)]
    assert [item["id"] for item in ascending["items"]] == expected
    descending = get(client, "/steps", id=f"oneof:{ids}", sort_by="desc:created")
    assert [item["id"] for item in descending["items"]] == expected[::-1]

    refused = client.get(f"{API}/steps", params={"id": f"in:{ids}"})
    assert refused.status_code == 422 and refused.json()["detail"][0] == "ValueError"
    assert client.get(f"{API}/steps", params={"id": "oneof:not-json"}).status_code == 422


def test_filters(client: Client, ds: ZenMLDataset) -> None:
    run = ds.runs[4]
    in_run = get(client, "/steps", pipeline_run_id=run.id, size=100)
    assert {i["id"] for i in in_run["items"]} == set(run.step_ids)

    failed = get(client, "/steps", status="failed")
    assert failed["total"] == sum(s.status == "failed" for s in ds.steps) > 0

    ada = ds.users[0]
    by_name, by_id = get(client, "/runs", user="ada", size=50), get(client, "/runs", user_id=ada.id, size=50)
    assert by_name["total"] == by_id["total"] == sum(r.user_id == ada.id for r in ds.runs) > 0

    cached = get(client, "/steps", original_step_run_id=f"notequals:{ds.steps[0].id}", status="cached")
    assert cached["total"] == sum(s.status == "cached" and s.original_step_run_id != ds.steps[0].id for s in ds.steps)

    pivot = sorted(r.created for r in ds.runs)[10]
    later = get(client, "/runs", created=f"gt:{pivot}", size=50)
    assert later["total"] == 19
    assert get(client, "/runs", created=f"gte:{pivot.replace('T', ' ')}", size=50)["total"] == 20

    either = get(client, "/runs", status="failed", name="startswith:fraud", logical_operator="or", size=50)
    assert either["total"] == sum(r.status == "failed" or r.name.startswith("fraud") for r in ds.runs)

    assert get(client, "/runs", bogus_field="whatever")["total"] == 30
    assert get(client, "/model_versions", model=ds.models[1].name)["total"] == 4
    assert get(client, "/artifact_versions", type="ModelArtifact")["total"] == sum(
        v.kind == "model" for v in ds.artifact_versions
    )
    assert client.get(f"{API}/runs", params={"created": "gt:yesterday"}).status_code == 422
    assert client.get(f"{API}/runs", params={"logical_operator": "xor"}).status_code == 422


def test_sorting(client: Client, ds: ZenMLDataset) -> None:
    names = [i["name"] for i in get(client, "/runs", sort_by="asc:name", size=50)["items"]]
    assert names == sorted(r.name for r in ds.runs)
    newest = get(client, "/runs", sort_by="desc:created", size=1)["items"][0]
    assert newest["id"] == max(ds.runs, key=lambda r: r.created).id
    default = [i["id"] for i in get(client, "/runs", size=50)["items"]]
    assert default == [r.id for r in sorted(ds.runs, key=lambda r: r.created)]

    bad = client.get(f"{API}/runs", params={"sort_by": "bogus"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0] == "ValueError"
    assert "You can only sort by valid fields" in bad.json()["detail"][1]


# ---------------------------------------------------------------- errors


def test_error_bodies(client: Client, ds: ZenMLDataset) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    for path, label in (("steps", "step run"), ("runs", "pipeline run"), ("artifact_versions", "artifact version"),
                        ("model_versions", "model version"), ("services", "service")):
        response = client.get(f"{API}/{path}/{missing}")
        assert response.status_code == 404
        assert response.json() == {"detail": [
            "KeyError", f"\"Unable to get {label} with ID '{missing}': No {label} with this ID found\"",
        ]}
    malformed = client.get(f"{API}/runs/not-a-uuid")
    assert malformed.status_code == 422
    body = malformed.json()
    assert isinstance(body, list) and body[0] == "ValueError" and "'run_id'" in body[1]
    assert client.get(f"{API}/runs/{ds.runs[0].id}", params={"hydrate": "maybe"}).status_code == 422
    assert client.get(f"{API}/runs/{missing}/steps").status_code == 404
    assert client.get(f"{API}/users/nobody").status_code == 404


def test_lookup_by_name_where_zenml_allows_it(client: Client, ds: ZenMLDataset) -> None:
    assert get(client, "/users/grace")["metadata"]["email"] == "grace@example.com"
    assert get(client, "/projects/default")["id"] == ds.project.id
    assert get(client, f"/projects/{ds.project.id}")["name"] == "default"
    tag = get(client, "/tags/production")
    assert tag["body"]["tagged_count"] > 0
    assert get(client, "/current-user")["name"] == "ada"


# ---------------------------------------------------------------- layouts and hydration


def test_hydrated_seed_step_duplicates_what_thin_leaves_out(client: Client, ds: ZenMLDataset) -> None:
    step = model_step(ds)
    hydrated = client.get(f"{API}/steps/{step.id}").content
    thin = client.get(f"{API}/steps/{step.id}", params={"hydrate": "false"}).content
    assert len(hydrated) > 4 * len(thin)
    assert 10_000 < len(hydrated) < 40_000
    text = hydrated.decode()
    assert text.count(f'"id":"{step.user_id}"') >= 6
    assert text.count(f'"id":"{ds.project.id}"') >= 6

    record = json.loads(thin)
    assert record["metadata"] is None and record["resources"] is None
    assert record["body"]["user"]["metadata"] is None
    for version in record["body"]["inputs"].values():
        assert version["metadata"] is None and "user" not in version["body"]
        assert version["body"]["artifact"]["metadata"] is None  # thin, but there: it names the version


def test_seed_layout_matches_seed_000(client: Client, ds: ZenMLDataset) -> None:
    step = model_step(ds)
    record = get(client, f"/steps/{step.id}")
    assert set(record) == RECORD_KEYS
    assert set(record["body"]) == SEED_STEP_BODY and set(record["metadata"]) == SEED_STEP_METADATA
    assert record["body"]["user"]["metadata"]["email"].endswith("@example.com")
    assert record["metadata"]["project"]["name"] == "default"
    assert record["resources"]["model_version"]["id"] == step.model_version_id
    name, version = next(iter(record["body"]["inputs"].items()))
    assert version["id"] == step.inputs[name] and version["input_type"] == "step_output"
    assert set(version["body"]) == SEED_ARTIFACT_VERSION_BODY
    assert set(version["metadata"]) == SEED_ARTIFACT_VERSION_METADATA
    assert version["body"]["artifact"]["metadata"]["project"]["id"] == ds.project.id
    outputs = record["body"]["outputs"]
    assert {n: [v["id"] for v in vs] for n, vs in outputs.items()} == step.outputs
    spec = record["metadata"]["spec"]
    assert spec["upstream_steps"] == step.plan.upstream_steps
    assert record["metadata"]["parent_step_ids"] == step.parent_step_ids
    run = get(client, f"/runs/{step.pipeline_run_id}")
    assert run["body"]["user"]["id"] == step.user_id and run["body"]["pipeline"]["name"]
    assert run["metadata"]["start_time"] and run["metadata"]["project"]["name"] == "default"


@pytest.mark.parametrize("kind", sorted(CURRENT_KEYS))
def test_current_layout_matches_the_zenml_098_samples(ds: ZenMLDataset, kind: str) -> None:
    client = Client(create_zenml_emulator(ds, layout="current"))
    path = CURRENT_PATHS[kind]
    item = get(client, f"/{path}", size=1)["items"][0]
    detail = get(client, f"/{path}/{item['id']}")
    expected = CURRENT_KEYS[kind]
    for record in (item, detail):
        keys = RECORD_KEYS - ({"name"} if kind == "artifact_version" else set())
        assert set(record) == keys
        assert set(record["body"]) == expected["body"]
        if "resources" in expected:
            assert set(record["resources"]) == expected["resources"]
        else:
            assert record["resources"] is None
    assert item["metadata"] is None
    assert set(detail["metadata"]) == expected["metadata"]


def test_current_layout_relations_live_under_resources(ds: ZenMLDataset) -> None:
    client = Client(create_zenml_emulator(ds, layout="current"))
    step = model_step(ds)
    record = get(client, f"/steps/{step.id}")
    assert record["body"]["user_id"] == step.user_id and "user" not in record["body"]
    assert record["resources"]["user"]["metadata"] is None
    assert {n: vs[0]["id"] for n, vs in record["resources"]["inputs"].items()} == step.inputs
    assert all(len(vs) == 1 for vs in record["resources"]["inputs"].values())
    assert record["resources"]["model_version"]["id"] == step.model_version_id
    config = record["metadata"]["config"]
    assert config["name"] == step.name and config["settings"] == step.plan.settings
    version_id = step.outputs[next(iter(step.outputs))][0]
    version = get(client, f"/artifact_versions/{version_id}")
    assert version["resources"]["producer_step_run_id"] == step.id
    assert version["resources"]["producer_pipeline_run_id"] == step.pipeline_run_id


def test_run_steps_are_thin_and_filterable(client: Client, ds: ZenMLDataset) -> None:
    run = next(r for r in ds.runs if r.status == "failed")
    page = get(client, f"/runs/{run.id}/steps", hydrate="true", size=100)
    assert [i["id"] for i in page["items"]] == run.step_ids
    assert all(i["metadata"] is None for i in page["items"])
    failed = get(client, f"/runs/{run.id}/steps", status="failed")
    assert failed["total"] == sum(s.status == "failed" for s in ds.steps if s.pipeline_run_id == run.id) == 1


def test_a_thousand_step_run_renders_quickly() -> None:
    big = ZenMLDataset.generate(pipelines=1, runs_per_pipeline=1, steps_per_run=1000)
    client = Client(create_zenml_emulator(big))
    started = time.perf_counter()
    page = get(client, f"/runs/{big.runs[0].id}/steps", size=1000)
    assert time.perf_counter() - started < 3
    assert len(page["items"]) == 1000 and page["total"] == 1000


# ---------------------------------------------------------------- writes


def test_put_step(client: Client, ds: ZenMLDataset) -> None:
    step = next(s for s in ds.steps if s.status == "running")
    extra, loaded = ds.artifact_versions[0].id, ds.artifact_versions[1].id
    update = {"status": "completed", "end_time": "2025-03-09T10:00:00Z",
              "outputs": {"report": [extra]}, "loaded_artifact_versions": {"lookup": loaded}}
    response = client.put(f"{API}/steps/{step.id}", json=update)
    assert response.status_code == 200
    record = response.json()
    assert record["metadata"] is not None
    assert record["body"]["status"] == "completed" and record["body"]["end_time"] == "2025-03-09T10:00:00.000000"
    assert [v["id"] for v in record["body"]["outputs"]["report"]] == [extra]
    assert record["body"]["inputs"]["lookup"]["input_type"] == "lazy_loaded"
    assert get(client, f"/steps/{step.id}")["body"]["status"] == "completed"
    assert get(client, "/steps", status="running")["total"] == sum(s.status == "running" for s in ds.steps) - 1
    assert step.status == "running"  # the data set itself is untouched

    assert client.put(f"{API}/steps/{step.id}", json={"status": "done"}).status_code == 422
    assert client.put(f"{API}/steps/00000000-0000-0000-0000-000000000000", json={}).status_code == 404
    unknown_output = {"outputs": {"x": ["00000000-0000-0000-0000-000000000001"]}}
    assert client.put(f"{API}/steps/{step.id}", json=unknown_output).status_code == 404


def test_service_crud_round_trip(client: Client, ds: ZenMLDataset) -> None:
    version = ds.model_versions[2]
    request = {
        "user": ds.users[1].id, "project": ds.project.id, "name": "churn-shadow",
        "service_type": {"type": "model-serving", "flavor": "mlflow", "name": "mlflow-deployment",
                         "description": "", "logo_url": ""},
        "service_source": "zenml.services.service.BaseService", "admin_state": "active",
        "config": {"model_name": "churn_classifier"}, "labels": {"env": "shadow"},
        "status": {"state": "active"}, "endpoint": {"port": 8000},
        "prediction_url": "http://shadow/predict", "health_check_url": "http://shadow/health",
        "model_version_id": version.id, "pipeline_run_id": version.pipeline_run_id,
    }
    created = client.post(f"{API}/services", json=request)
    assert created.status_code == 200
    service = created.json()
    assert service["name"] == "churn-shadow" and service["body"]["state"] == "active"
    assert service["metadata"]["prediction_url"] == "http://shadow/predict"
    assert service["resources"]["model_version"]["id"] == version.id
    assert service["resources"]["user"]["id"] == ds.users[1].id
    assert get(client, "/services")["total"] == 4

    updated = client.put(f"{API}/services/{service['id']}", json={"name": "churn-canary", "labels": {"env": "canary"}})
    assert updated.status_code == 200
    assert updated.json()["name"] == "churn-canary" and updated.json()["body"]["labels"] == {"env": "canary"}
    assert updated.json()["metadata"]["config"] == {"model_name": "churn_classifier"}
    assert updated.json()["body"]["updated"] > service["body"]["updated"]
    assert get(client, f"/services/{service['id']}")["name"] == "churn-canary"

    deleted = client.delete(f"{API}/services/{service['id']}")
    assert deleted.status_code == 200 and deleted.content == b"null"
    assert client.get(f"{API}/services/{service['id']}").status_code == 404
    assert get(client, "/services")["total"] == 3

    assert client.post(f"{API}/services", json={"name": "no-type"}).status_code == 422
    bad_state = client.put(f"{API}/services/{ds.services[0].id}", json={"admin_state": "sleepy"})
    assert bad_state.status_code == 422 and isinstance(bad_state.json(), list)


# ---------------------------------------------------------------- auth


def test_auth(ds: ZenMLDataset) -> None:
    client = Client(create_zenml_emulator(ds, token="secret", api_key="ZENKEY_abc"))
    missing = client.get(f"{API}/steps")
    assert missing.status_code == 401 and missing.json() == {"detail": "Not authenticated"}
    wrong = client.get(f"{API}/steps", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["detail"][0] == "CredentialsNotValid"
    for credential in ("secret", "ZENKEY_abc"):
        assert client.get(f"{API}/steps", headers={"Authorization": f"Bearer {credential}"}).status_code == 200
    assert client.get(f"{API}/info").json()["auth_scheme"] == "OAUTH2_PASSWORD_BEARER"

    for form in ({"password": "ZENKEY_abc"}, {"username": "default", "password": "secret"}):
        login = client.post(f"{API}/login", data=form)
        assert login.status_code == 200
        assert login.json()["access_token"] == "secret" and login.json()["token_type"] == "bearer"
    assert client.post(f"{API}/login", data={"username": "default", "password": "bad"}).status_code == 401

    open_client = Client(create_zenml_emulator(ds))
    assert open_client.get(f"{API}/steps").status_code == 200
    assert open_client.get(f"{API}/info").json()["auth_scheme"] == "NO_AUTH"


# ---------------------------------------------------------------- faults and the call log


def test_faults_status_garbage_and_latency(ds: ZenMLDataset) -> None:
    slept: list[float] = []

    async def record_sleep(seconds: float) -> None:
        slept.append(seconds)

    faults = Faults(latency_ms=5, sleep=record_sleep)
    app = create_zenml_emulator(ds, faults=faults)
    client = Client(app)
    faults.set("/api/v1/users", status=503)
    faults.set("/api/v1/runs", garbage=True)
    faults.set("/api/v1/steps", latency_ms=50)

    unavailable = client.get(f"{API}/users")
    assert unavailable.status_code == 503
    assert unavailable.json() == {"detail": ["ServiceUnavailable", "injected fault"]}
    garbage = client.get(f"{API}/runs/{ds.runs[0].id}/steps")
    assert garbage.status_code == 200
    with pytest.raises(ValueError):
        garbage.json()
    assert client.get(f"{API}/steps", params={"size": 1}).status_code == 200
    assert client.get(f"{API}/models").status_code == 200

    assert [entry.latency_ms for entry in faults.log] == [5, 5, 55, 5]
    assert slept == [0.005, 0.005, 0.055, 0.005]
    assert app.state.calls == [
        ("GET", f"{API}/users"),
        ("GET", f"{API}/runs/{ds.runs[0].id}/steps"),
        ("GET", f"{API}/steps?size=1"),
        ("GET", f"{API}/models"),
    ]

    faults.clear()
    assert client.get(f"{API}/users").status_code == 200
    assert len(app.state.calls) == 5


def test_fault_prefixes_match_whole_segments_and_the_longest_wins() -> None:
    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse("hello")

    faults = Faults()
    inner = Starlette(routes=[Route("/a/{rest:path}", hello), Route("/ab", hello)])
    client = Client(faults.wrap(inner))
    faults.set("/a", status=500)
    faults.set("/a/b/", status=502)
    assert client.get("/ab").status_code == 200
    assert client.get("/a/x").status_code == 500
    assert client.get("/a/b/c").status_code == 502
    with pytest.raises(ValueError):
        faults.set("/a", status=42)


def test_calls_log_counts_every_request(ds: ZenMLDataset) -> None:
    app = create_zenml_emulator(ds)
    client = Client(app)
    ids = json.dumps([s.id for s in ds.steps[:3]])
    client.get(f"{API}/steps", params={"id": f"oneof:{ids}"})
    client.get(f"{API}/steps/not-a-uuid")
    client.put(f"{API}/steps/{ds.steps[0].id}", json={"status": "failed"})
    assert [method for method, _ in app.state.calls] == ["GET", "GET", "PUT"]
    assert app.state.calls[0][1].startswith(f"{API}/steps?id=oneof")
    assert app.state.calls[1] == ("GET", f"{API}/steps/not-a-uuid")


def test_unknown_layout_is_refused(ds: ZenMLDataset) -> None:
    with pytest.raises(ValueError):
        create_zenml_emulator(ds, layout="legacy")  # type: ignore[arg-type]
