"""Populate a ZenML server with a small, known set of pipeline runs.

Runs inside the harness's own ZenML virtualenv (never the project's venv:
ZenML pins its own FastAPI and pydantic), connected to the server under test
through the environment the harness sets:

- ``ZENML_STORE_URL=http://127.0.0.1:<port>`` and ``ZENML_STORE_API_KEY`` —
  ZenML's REST store reads every ``ZENML_STORE_*`` variable as store config;
- ``ZENML_CONFIG_PATH`` — a throwaway client config dir, so the developer's
  own ``~/.config/zenml`` is neither read nor written.

The server's ``default`` stack (local orchestrator + local artifact store
under the server's config dir) is used as is: server and client share the
machine, so the client can write the artifact store's files directly.

What it creates (all in the ``default`` project), so gateway tests can assert
on exact names:

- pipeline ``gateway_demo`` with steps ``load_data -> (features, labels)``,
  ``train_model -> trained_model``, ``evaluate -> accuracy``;
- model ``gateway_demo_model``; every run makes a new numbered version
  (1..N); the last successful version is promoted to stage ``production``;
- three completed runs (``gateway_demo-run-1..3``) and one failed run
  (``gateway_demo-run-failed``) whose ``evaluate`` step raises;
- tags: ``gateway-tests`` on every run, ``lr-<value>`` per run,
  ``expected-failure`` on the failed run, ``dataset`` on features/labels,
  ``model`` on trained_model.

Caching is off so every step really executes and has its own outputs.

A second pipeline, ``fan_out`` (no model), is wide rather than deep:
``fan_source -> fan_branch_0..29 (in parallel) -> fan_in``, 32 steps. It
runs three times: ``fan_out-ok`` (every step executes), ``fan_out-cached``
(identical inputs, so ZenML's step cache answers every step: status
``cached``, outputs produced by the first run) and ``fan_out-failed``
(branch 29 raises; the source and the other branches are cached;
``fan_in`` never starts, so the run lists 31 steps). Its
summary is ``fan_out`` (runs keyed ``ok``, ``cached``, ``failed``), kept
apart from ``runs`` so tests about ``gateway_demo`` see only its runs.

The last line of stdout is ``MLGRAPH_POPULATE_SUMMARY <json>``; the harness
parses it (ZenML's own logging goes to stdout/stderr before it).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any, Dict, List, Tuple

from zenml import ArtifactConfig, Model, pipeline, step
from zenml.client import Client
from zenml.enums import ArtifactType, ExecutionMode

SUMMARY_PREFIX = "MLGRAPH_POPULATE_SUMMARY "
PIPELINE_NAME = "gateway_demo"
MODEL_NAME = "gateway_demo_model"
STEP_NAMES = ["load_data", "train_model", "evaluate"]
FAILING_STEP = "evaluate"
SUCCESS_LEARNING_RATES = [0.1, 0.05, 0.01]
FAN_OUT_NAME = "fan_out"
FAN_OUT_WIDTH = 30
FAN_OUT_FAILING_BRANCH = FAN_OUT_WIDTH - 1
#: The fan-out steps keep no logs, metadata or visualizations: they would cost
#: calls per step (~40% of the fan-out's time) and no test reads them.
LEAN_STEP = dict(
    enable_step_logs=False,
    enable_artifact_metadata=False,
    enable_artifact_visualization=False,
)


@step
def load_data(
    n: int = 8,
) -> Tuple[
    Annotated[
        List[List[float]], ArtifactConfig(name="features", tags=["dataset"])
    ],
    Annotated[List[int], ArtifactConfig(name="labels", tags=["dataset"])],
]:
    """Make a tiny deterministic dataset (two outputs: features, labels)."""
    features = [[float(i), float(i % 3)] for i in range(n)]
    labels = [i % 2 for i in range(n)]
    return features, labels


@step
def train_model(
    features: List[List[float]], labels: List[int], learning_rate: float = 0.1
) -> Annotated[
    Dict[str, Any],
    ArtifactConfig(
        name="trained_model", artifact_type=ArtifactType.MODEL, tags=["model"]
    ),
]:
    """'Train' a model: a dict of weights, enough to be an artifact."""
    weights = [learning_rate * sum(col) for col in zip(*features)]
    return {"weights": weights, "bias": sum(labels) / len(labels)}


@step
def evaluate(
    model: Dict[str, Any],
    features: List[List[float]],
    labels: List[int],
    fail: bool = False,
) -> Annotated[float, "accuracy"]:
    """Score the model; raises when ``fail`` so one run ends failed."""
    if fail:
        raise RuntimeError("evaluation failed on purpose (gateway tests)")
    return 0.5 + 0.1 * len(model["weights"]) / (1 + len(features) + len(labels))


@pipeline(
    name=PIPELINE_NAME,
    enable_cache=False,
    tags=["gateway-tests"],
    model=Model(
        name=MODEL_NAME,
        description="Demo model for mlgraph gateway tests",
        license="Apache-2.0",
        tags=["gateway-tests"],
    ),
)
def gateway_demo(learning_rate: float = 0.1, fail: bool = False) -> None:
    """load_data -> train_model -> evaluate, all linked to the model."""
    features, labels = load_data()
    model = train_model(features, labels, learning_rate=learning_rate)
    evaluate(model, features, labels, fail=fail)


@step(**LEAN_STEP)
def fan_source() -> Annotated[int, "seed"]:
    """The one input every branch reads."""
    return 7


@step(**LEAN_STEP)
def fan_branch(seed: int, index: int, fail: bool = False) -> Annotated[int, "part"]:
    """One of the parallel branches; raises when ``fail``."""
    if fail:
        raise RuntimeError(f"branch {index} failed on purpose (gateway tests)")
    return seed * index


@step(**LEAN_STEP)
def fan_in(parts: List[int]) -> Annotated[int, "total"]:
    """Join every branch's part."""
    return sum(parts)


@pipeline(
    name=FAN_OUT_NAME,
    enable_cache=True,
    tags=["gateway-tests"],
    enable_pipeline_logs=False,
)
def fan_out(fail_branch: int = -1) -> None:
    """fan_source -> FAN_OUT_WIDTH branches side by side -> fan_in."""
    seed = fan_source()
    parts = [
        fan_branch(seed, index, fail=index == fail_branch, id=f"fan_branch_{index}")
        for index in range(FAN_OUT_WIDTH)
    ]
    fan_in(parts)


def _populate_fan_out(client: Client) -> Dict[str, Any]:
    """Run ``fan_out`` fresh, cached and failing; its summary."""
    runs: Dict[str, Any] = {}
    for key in ("ok", "cached"):
        run = fan_out.with_options(run_name=f"{FAN_OUT_NAME}-{key}")()
        assert run is not None, "pipeline call returned no run"
        runs[key] = _run_summary(client, run.id)
    failed_name = f"{FAN_OUT_NAME}-failed"
    try:
        # Every branch gets its chance (cached but the failing one); the
        # join waits on the failed branch, so it never starts.
        fan_out.with_options(
            run_name=failed_name, execution_mode=ExecutionMode.CONTINUE_ON_FAILURE
        )(fail_branch=FAN_OUT_FAILING_BRANCH)
    except Exception as exc:  # the failure is the point of this run
        print(f"expected failure: {type(exc).__name__}: {exc}", file=sys.stderr)
    else:
        raise SystemExit("the failing fan-out run did not fail")
    runs["failed"] = _run_summary(client, client.get_pipeline_run(failed_name).id)
    return {
        "pipeline_name": FAN_OUT_NAME,
        "width": FAN_OUT_WIDTH,
        "failed_step": f"fan_branch_{FAN_OUT_FAILING_BRANCH}",
        "runs": runs,
    }


def _run_summary(client: Client, run_id: Any) -> Dict[str, Any]:
    """Describe one run as the gateway tests need it (ids as strings)."""
    run = client.get_pipeline_run(run_id, hydrate=True)
    steps = {
        name: {"id": str(s.id), "status": str(s.status.value)}
        for name, s in run.steps.items()
    }
    mv = run.model_version
    return {
        "id": str(run.id),
        "name": run.name,
        "status": str(run.status.value),
        "tags": sorted(t.name for t in run.tags),
        "steps": steps,
        "model_version": (
            {"id": str(mv.id), "name": mv.name, "number": mv.number}
            if mv is not None
            else None
        ),
    }


def main() -> int:
    """Run the pipeline 3x successfully and once failing; print the summary."""
    started = time.monotonic()
    client = Client()
    runs: List[Dict[str, Any]] = []

    for i, lr in enumerate(SUCCESS_LEARNING_RATES, start=1):
        run = gateway_demo.with_options(
            run_name=f"{PIPELINE_NAME}-run-{i}", tags=[f"lr-{lr}"]
        )(learning_rate=lr)
        assert run is not None, "pipeline call returned no run"
        runs.append(_run_summary(client, run.id))

    failed_name = f"{PIPELINE_NAME}-run-failed"
    try:
        gateway_demo.with_options(
            run_name=failed_name, tags=["expected-failure", "lr-0.5"]
        )(learning_rate=0.5, fail=True)
    except Exception as exc:  # the failure is the point of this run
        print(f"expected failure: {type(exc).__name__}: {exc}", file=sys.stderr)
    else:
        raise SystemExit("the failing run did not fail")
    failed_run = client.get_pipeline_run(failed_name)
    runs.append(_run_summary(client, failed_run.id))

    last_ok = runs[len(SUCCESS_LEARNING_RATES) - 1]["model_version"]
    client.update_model_version(
        MODEL_NAME, last_ok["id"], stage="production", force=True
    )

    fan_started = time.monotonic()
    fan = _populate_fan_out(client)
    fan["seconds"] = round(time.monotonic() - fan_started, 2)

    model = client.get_model(MODEL_NAME)
    versions = client.list_model_versions(MODEL_NAME, size=100)
    summary = {
        "pipeline_name": PIPELINE_NAME,
        "pipeline_id": str(failed_run.pipeline.id) if failed_run.pipeline else None,
        "project_id": str(failed_run.project_id),
        "step_names": STEP_NAMES,
        "runs": runs,
        "failed_run": {
            "id": str(failed_run.id),
            "name": failed_run.name,
            "failed_step": FAILING_STEP,
            "failed_step_id": runs[-1]["steps"][FAILING_STEP]["id"],
        },
        "model": {
            "id": str(model.id),
            "name": model.name,
            "versions": sorted(
                (
                    {
                        "id": str(v.id),
                        "name": v.name,
                        "number": v.number,
                        "stage": str(v.stage) if v.stage else None,
                    }
                    for v in versions.items
                ),
                key=lambda v: v["number"],
            ),
            "production_version_id": last_ok["id"],
        },
        "artifact_names": ["features", "labels", "trained_model", "accuracy"],
        "fan_out": fan,
        "seconds": round(time.monotonic() - started, 2),
    }
    print(SUMMARY_PREFIX + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
