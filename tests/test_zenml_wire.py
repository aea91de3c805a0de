"""ZenML wire models read both layouts: the seeds' and a real 0.98 server's."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from mlgraph.backends import zenml as wire

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "zenml"


def sample(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def seed_step() -> dict:
    """The hydrated step of seed 000, in the layout the seeds document."""
    return sample("seed_000_step_detail.json")


def test_thin_step_of_a_real_server() -> None:
    page = wire.ZenMLPage[wire.ZenMLStepRun].model_validate(sample("steps_list_hydrate_false.json"))
    assert page.total == 14 and len(page.items) == 3
    train = next(step for step in page.items if step.name == "train_model")
    assert not train.hydrated
    assert train.status == "completed"
    assert train.user_id == "5545bc72-686e-46b9-b674-a02b2ee68a8d"
    assert train.user is not None and train.user.name == "gateway-tests"
    assert set(train.inputs) == {"features", "labels"}
    assert train.inputs["features"][0].artifact_name == "features"
    assert train.start_time is not None and train.start_time.tzinfo is not None
    assert train.pipeline_run_id is None  # only hydrated records say


def test_hydrated_step_of_a_real_server() -> None:
    step = wire.ZenMLStepRun.model_validate(sample("step_detail.json"))
    assert step.hydrated and step.name == "evaluate"
    assert step.upstream_step_names == ["load_data", "train_model"]
    assert step.pipeline_run_id == "1f36ba7d-f096-4989-bcda-bf2d0a54e681"
    assert len(step.parent_step_ids or []) == 2
    assert step.outputs["accuracy"][0].uri


def test_seed_layout_step() -> None:
    step = wire.ZenMLStepRun.model_validate(seed_step())
    assert step.hydrated
    assert step.user is not None and step.user.email == "text"
    assert step.user_id == step.user.id
    assert step.project_id == "123e4567-e89b-12d3-a456-426614174000"  # from metadata.project
    assert step.pipeline_run_id == "123e4567-e89b-12d3-a456-426614174000"
    (name,) = step.inputs
    assert len(step.inputs[name]) == 1  # the seed maps a name to one version
    output = step.outputs[name][0]
    assert output.producer_step_run_id and output.artifact is not None


@pytest.mark.parametrize(
    ("file", "model"),
    [
        ("artifact_version_detail.json", wire.ZenMLArtifactVersion),
        ("run_detail.json", wire.ZenMLPipelineRun),
        ("model_version_detail.json", wire.ZenMLModelVersion),
        ("service_detail.json", wire.ZenMLService),
        ("current_user.json", wire.ZenMLUser),
    ],
)
def test_real_details_parse(file: str, model: type[wire.ZenMLRecord]) -> None:
    record = model.model_validate(sample(file))
    assert record.hydrated and record.id


def test_real_relations_resolve_to_ids() -> None:
    version = wire.ZenMLArtifactVersion.model_validate(sample("artifact_version_detail.json"))
    assert version.producer_step_run_id == "88ac716e-f531-471a-b436-91a97fcb11c9"
    assert version.producer_pipeline_run_id == "1f36ba7d-f096-4989-bcda-bf2d0a54e681"
    run = wire.ZenMLPipelineRun.model_validate(sample("run_detail.json"))
    assert run.pipeline_id == "3fd300cf-f474-405f-a210-514943cc6555"
    assert run.model_version_id == "72a17c51-599e-4dc9-b998-4c316707ba82"
    assert run.start_time is not None
    service = wire.ZenMLService.model_validate(sample("service_detail.json"))
    assert service.pipeline_run_id == "a5807783-bc4c-4dcf-a092-0a6f1d39731a"
    assert service.prediction_url == "http://127.0.0.1:9/predict"


@pytest.mark.parametrize(
    ("file", "model"),
    [
        ("runs_list_hydrate_false.json", wire.ZenMLPipelineRun),
        ("runs_list_hydrate_true.json", wire.ZenMLPipelineRun),
        ("artifact_versions_list.json", wire.ZenMLArtifactVersion),
        ("artifacts_list.json", wire.ZenMLArtifact),
        ("model_versions_list.json", wire.ZenMLModelVersion),
        ("models_list_hydrate_true.json", wire.ZenMLModel),
        ("pipelines_list.json", wire.ZenMLPipeline),
        ("services_list.json", wire.ZenMLService),
        ("users_list_hydrate_true.json", wire.ZenMLUser),
        ("projects_list_hydrate_true.json", wire.ZenMLProject),
        ("service_accounts_list.json", wire.ZenMLUser),
        ("run_steps.json", wire.ZenMLStepRun),
    ],
)
def test_real_pages_parse(file: str, model: type[wire.ZenMLRecord]) -> None:
    raw = sample(file)
    page = wire.ZenMLPage[model].model_validate(raw)
    assert page.total == raw["total"] and [item.id for item in page.items] == [i["id"] for i in raw["items"]]


def test_unknown_fields_are_ignored() -> None:
    raw = sample("current_user.json")
    raw["body"]["brand_new_field"] = {"nested": [1, 2]}
    raw["surprise"] = True
    assert wire.ZenMLUser.model_validate(raw).name == "default"


FIXTURE_MODELS = {
    "artifact_version_detail.json": wire.ZenMLArtifactVersion,
    "run_detail.json": wire.ZenMLPipelineRun,
    "model_version_detail.json": wire.ZenMLModelVersion,
    "service_detail.json": wire.ZenMLService,
    "current_user.json": wire.ZenMLUser,
    "step_detail.json": wire.ZenMLStepRun,
    "seed_000_step_detail.json": wire.ZenMLStepRun,
    "runs_list_hydrate_false.json": wire.ZenMLPipelineRun,
    "runs_list_hydrate_true.json": wire.ZenMLPipelineRun,
    "artifact_versions_list.json": wire.ZenMLArtifactVersion,
    "artifacts_list.json": wire.ZenMLArtifact,
    "model_versions_list.json": wire.ZenMLModelVersion,
    "models_list_hydrate_true.json": wire.ZenMLModel,
    "pipelines_list.json": wire.ZenMLPipeline,
    "services_list.json": wire.ZenMLService,
    "users_list_hydrate_true.json": wire.ZenMLUser,
    "projects_list_hydrate_true.json": wire.ZenMLProject,
    "service_accounts_list.json": wire.ZenMLUser,
    "run_steps.json": wire.ZenMLStepRun,
    "steps_list_hydrate_false.json": wire.ZenMLStepRun,
    "steps_list_hydrate_true.json": wire.ZenMLStepRun,
}


def parse_both(file: str) -> tuple[list[dict], list[wire.ZenMLRecord], list[wire.ZenMLRecord]]:
    """Raw records, parsed from bytes (as the client does) and from Python objects."""
    model = FIXTURE_MODELS[file]
    content = (FIXTURES / file).read_bytes()
    raw = json.loads(content)
    if "items" in raw:
        page = wire.ZenMLPage[model]
        return raw["items"], wire.parse_json(page, content).items, page.model_validate(raw).items
    return [raw], [wire.parse_json(model, content)], [model.model_validate(raw)]


@pytest.mark.parametrize("file", sorted(FIXTURE_MODELS))
def test_bytes_and_objects_parse_alike(file: str) -> None:
    _, from_bytes, from_objects = parse_both(file)
    assert from_bytes == from_objects


@pytest.mark.parametrize("file", sorted(FIXTURE_MODELS))
def test_flatten_record_says_what_the_models_read(file: str) -> None:
    """``flatten_record`` spells out the aliases: every plain value it finds is
    the one the model holds, so the contract test may rely on it."""
    raws, records, _ = parse_both(file)
    for raw, record in zip(raws, records):
        flat = wire.flatten_record(raw)
        assert record.hydrated is flat["hydrated"]
        for field in set(flat) & set(type(record).model_fields) - {"hydrated"}:
            value = flat[field]
            if isinstance(value, str) and field in ("created", "updated", "start_time", "end_time"):
                assert getattr(record, field) == datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
            elif isinstance(value, (str, bool, int)) or value is None:
                expected = str(value) if field == "version" and value is not None else value
                assert getattr(record, field) == expected, field


def test_times_read_as_utc_and_copies_keep_working() -> None:
    step = wire.parse_json(wire.ZenMLStepRun, (FIXTURES / "step_detail.json").read_bytes())
    assert step.start_time is not None and step.start_time.utcoffset() == timedelta(0)
    assert step.created is not None and step.created.tzinfo is not None
    assert step.user is not None and step.user.created is not None and step.user.created.tzinfo is not None
    assert step.hydrated is True and isinstance(step.hydrated, bool)
    assert "start_time" in wire.ZenMLStepRun.model_fields and "hydrated" in wire.ZenMLRecord.model_fields
    copy = step.model_copy(update={"pipeline_run_id": "run-1", "start_time": datetime(2025, 1, 1)})
    assert copy.pipeline_run_id == "run-1" and copy.name == step.name and copy.hydrated
    assert copy.start_time == datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert step.model_copy(update={"hydrated": False}).hydrated is False
    with pytest.raises(ValueError):
        step.status = "failed"  # still frozen
    seed = wire.parse_json(wire.ZenMLStepRun, json.dumps(seed_step()))
    assert seed.start_time is not None and seed.start_time.utcoffset() == timedelta(0)  # sent with "Z"


def test_irregular_shapes_read_as_before() -> None:
    version = {"id": "av1", "body": {"version": 3, "artifact": {"id": "a1", "name": "art", "body": {}}}}
    user = {"id": "u1", "name": "ada", "body": {}, "metadata": None}
    body = {"user_id": None, "inputs": {"one": version, "two": [version, version]}, "outputs": None}
    step = wire.ZenMLStepRun.model_validate_json(
        json.dumps({"id": "s", "body": body, "metadata": [], "resources": {"user": user}})
    )
    assert {name: len(items) for name, items in step.inputs.items()} == {"one": 1, "two": 2}
    assert step.outputs == {} and not step.hydrated
    assert step.user_id == "u1"  # null id, embedded user
    assert step.inputs["one"][0].version == "3" and step.inputs["one"][0].artifact_id == "a1"
    tag = {"id": "t1", "body": {"color": "red"}}
    for tags, expected in (({"items": [tag], "total": 1}, ["t1"]), ({"items": None}, []), (None, []), ([tag], ["t1"])):
        run = wire.ZenMLPipelineRun.model_validate_json(json.dumps({"id": "r", "body": {"tags": tags}}))
        assert [t.id for t in run.tags] == expected
    precedence = wire.ZenMLStepRun.model_validate(
        {"id": "top", "body": {"id": "inner", "status": "body"}, "metadata": {"status": "meta", "cache_key": "m"},
         "resources": {"cache_key": "r", "pipeline_run_id": "r"}}
    )
    read = (precedence.id, precedence.status, precedence.cache_key, precedence.pipeline_run_id)
    assert read == ("top", "body", "m", "r")
    with pytest.raises(ValidationError):
        wire.ZenMLStepRun.model_validate_json(json.dumps({"id": "s", "body": {"inputs": {"x": [{"body": {}}]}}}))
