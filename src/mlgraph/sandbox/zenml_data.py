"""The seeded, deterministic data set the ZenML emulator serves.

`ZenMLDataset.generate(seed=7, pipelines=3, runs_per_pipeline=10,
steps_per_run=10)` builds the demo set: 3 users, one project ("default"),
3 pipelines, 30 pipeline runs, 300 step runs, their artifacts and artifact
versions, 2 models with 4 versions each, 3 services and 10 tags. The same
arguments always give the same objects: ids come from `random.Random(seed)`,
timestamps from a fixed epoch, never from the wall clock.

The data set is plain dataclasses in lists, in creation order, so tests can
assert against it:

- `projects` (one, also `project`), `users`, `tags`, `stack`,
  `artifact_store_id`, `server_id`, `now` (a timestamp after every event: the
  emulator's clock for writes and its "last activity");
- `pipelines`; `snapshots` (one a pipeline: what its runs were compiled into,
  every step with its wiring and settings); `runs` (`PipelineRun`); `steps`
  (`StepRun`, run by run, each run's steps in execution order);
- `artifacts` (one per step output name of a pipeline, named as ZenML names
  unnamed outputs: `pipeline::step::output`) and `artifact_versions` (a new
  version each time a step produces that output);
- `models`, `model_versions` (each links to the run that produced it),
  `services` (linked to model versions and their runs).

Links are ids (`StepRun.pipeline_run_id`, `ArtifactVersion.artifact_id`, ...).
Timestamps are ISO strings as ZenML 0.98 sends them (naive UTC, microseconds),
so they sort and compare as strings.

The steps of a run form a DAG: a pipeline has one template per step, each
with 1-2 outputs, and each step after the first reads one or two outputs of
earlier steps (`SnapshotStep.input_sources` and `upstream_steps`, which a step run
has as its `plan`, and `StepRun.parent_step_ids`).
Statuses: most runs complete; in a failed run one step fails (its
`failure` is what it raised) and the steps after it never start, so, as on a
real server, they have no step run: only the run's snapshot names them. The newest run of
some pipelines is still `running` (one step `running`, later ones
`initializing`); some completed runs reuse a prefix of steps from the previous
run as `cached` steps, whose `original_step_run_id` is the step that really ran
and whose outputs are that step's artifact versions.

Treat the objects as read-only: the emulator replaces what it changes.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

EPOCH = datetime(2025, 3, 3, 8, 0, 0)
"""Every timestamp in a data set is an offset from this instant."""


def _at(seconds: float) -> str:
    return (EPOCH + timedelta(seconds=seconds)).isoformat(timespec="microseconds")


@dataclass(slots=True)
class Project:
    id: str
    name: str
    display_name: str
    description: str
    created: str


@dataclass(slots=True)
class User:
    id: str
    name: str
    full_name: str
    email: str
    is_admin: bool
    created: str
    user_metadata: dict[str, str]


@dataclass(slots=True)
class Tag:
    id: str
    name: str
    color: str
    exclusive: bool
    user_id: str
    created: str


@dataclass(slots=True)
class Stack:
    id: str
    name: str
    created: str


@dataclass(slots=True)
class Pipeline:
    id: str
    name: str
    description: str
    user_id: str
    created: str
    snapshot_id: str
    """The snapshot (compiled pipeline) every run of the pipeline uses."""
    tag_ids: list[str]


@dataclass(slots=True)
class SnapshotStep:
    """A step as its pipeline's snapshot compiles it, whether a run starts it or not."""

    name: str
    docstring: str
    upstream_steps: list[str]
    input_sources: dict[str, tuple[str, str]]
    """Input name -> (upstream step name, its output name)."""
    settings: dict[str, dict[str, object]]
    output_kinds: dict[str, str]
    source_module: str
    source_code: str
    code_hash: str


@dataclass(slots=True)
class Snapshot:
    """What a pipeline's runs are compiled into: every step, in execution order."""

    id: str
    pipeline_id: str
    user_id: str
    created: str
    steps: list[SnapshotStep]


@dataclass(frozen=True, slots=True)
class StepFailure:
    """What a failed step raised, as ZenML 0.98 records it (`exception_info`)."""

    traceback: str
    source: str
    """The exception's class, as ZenML writes a source path."""
    message: str
    user_code_line: int


@dataclass(slots=True)
class PipelineRun:
    id: str
    name: str
    pipeline_id: str
    index: int
    """1 for the pipeline's first run, 2 for its second, ..."""
    user_id: str
    status: str
    status_reason: str | None
    created: str
    updated: str
    start_time: str
    end_time: str | None
    step_ids: list[str]
    tag_ids: list[str]
    model_version_id: str | None
    enable_cache: bool
    parameters: dict[str, object]
    orchestrator_run_id: str
    log_id: str


@dataclass(slots=True)
class StepRun:
    id: str
    name: str
    pipeline_run_id: str
    user_id: str
    status: str
    created: str
    updated: str
    start_time: str | None
    end_time: str | None
    inputs: dict[str, str]
    """Input name -> the artifact version the step read."""
    outputs: dict[str, list[str]]
    """Output name -> the artifact versions the step wrote (or, cached, reused)."""
    plan: SnapshotStep
    """The step as its run's snapshot has it: its wiring, settings and code."""
    parent_step_ids: list[str]
    original_step_run_id: str | None
    cache_key: str
    model_version_id: str | None
    run_metadata: dict[str, object]
    failure: StepFailure | None
    log_id: str
    lazy_inputs: tuple[str, ...] = ()
    """Input names loaded at run time (an update's `loaded_artifact_versions`), not wired in the spec."""


@dataclass(slots=True)
class Artifact:
    id: str
    name: str
    user_id: str
    created: str
    has_custom_name: bool
    tag_ids: list[str]
    version_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ArtifactKind:
    """How ZenML stores one kind of step output."""

    type: str
    materializer: tuple[str, str, str]
    data_type: tuple[str, str, str]
    visualization: str | None


ARTIFACT_KINDS: dict[str, ArtifactKind] = {
    "frame": ArtifactKind(
        "DataArtifact",
        ("zenml.integrations.pandas.materializers.pandas_materializer", "PandasMaterializer", "internal"),
        ("pandas.core.frame", "DataFrame", "distribution_package"),
        "csv",
    ),
    "model": ArtifactKind(
        "ModelArtifact",
        ("zenml.integrations.sklearn.materializers.sklearn_materializer", "SklearnMaterializer", "internal"),
        ("sklearn.ensemble._forest", "RandomForestClassifier", "distribution_package"),
        None,
    ),
    "dict": ArtifactKind(
        "BaseArtifact",
        ("zenml.materializers.built_in_materializer", "BuiltInContainerMaterializer", "internal"),
        ("builtins", "dict", "builtin"),
        "json",
    ),
    "list": ArtifactKind(
        "BaseArtifact",
        ("zenml.materializers.built_in_materializer", "BuiltInContainerMaterializer", "internal"),
        ("builtins", "list", "builtin"),
        None,
    ),
    "report": ArtifactKind(
        "DataAnalysisArtifact",
        ("zenml.materializers.structured_string_materializer", "StructuredStringMaterializer", "internal"),
        ("zenml.types", "HTMLString", "internal"),
        "html",
    ),
}


@dataclass(slots=True)
class ArtifactVersion:
    id: str
    artifact_id: str
    version: str
    user_id: str
    created: str
    uri: str
    kind: str
    """Key into ARTIFACT_KINDS: type, materializer, data type, visualization."""
    producer_step_run_id: str
    producer_pipeline_run_id: str
    content_hash: str
    item_count: int | None
    run_metadata: dict[str, object]
    visualization_id: str | None
    tag_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Model:
    id: str
    name: str
    user_id: str
    created: str
    license: str
    description: str
    tag_ids: list[str]
    version_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ModelVersion:
    id: str
    model_id: str
    number: int
    stage: str | None
    user_id: str
    created: str
    description: str
    pipeline_run_id: str | None
    """The run that produced this version (None when the data set has too few runs)."""
    model_artifact_version_ids: list[str]
    data_artifact_version_ids: list[str]
    tag_ids: list[str]
    run_metadata: dict[str, object]

    @property
    def name(self) -> str:
        return str(self.number)


@dataclass(slots=True)
class Service:
    id: str
    name: str
    user_id: str
    created: str
    updated: str
    service_type: dict[str, str]
    service_source: str | None
    admin_state: str | None
    config: dict[str, object]
    labels: dict[str, str]
    status: dict[str, object] | None
    endpoint: dict[str, object] | None
    prediction_url: str | None
    health_check_url: str | None
    model_version_id: str | None
    pipeline_run_id: str | None

    @property
    def state(self) -> str:
        """The operational state ZenML shows in the body, taken from `status`."""
        return str((self.status or {}).get("state") or "inactive")


@dataclass(slots=True)
class ZenMLDataset:
    seed: int
    server_id: str
    artifact_store_id: str
    stack: Stack
    projects: list[Project]
    users: list[User]
    tags: list[Tag]
    pipelines: list[Pipeline]
    snapshots: list[Snapshot]
    runs: list[PipelineRun]
    steps: list[StepRun]
    artifacts: list[Artifact]
    artifact_versions: list[ArtifactVersion]
    models: list[Model]
    model_versions: list[ModelVersion]
    services: list[Service]
    now: str

    @property
    def project(self) -> Project:
        return self.projects[0]

    @classmethod
    def generate(
        cls,
        seed: int = 7,
        pipelines: int = 3,
        runs_per_pipeline: int = 10,
        steps_per_run: int = 10,
    ) -> ZenMLDataset:
        """Build the data set; the same arguments give the same data set."""
        if min(pipelines, runs_per_pipeline, steps_per_run) < 1:
            raise ValueError("pipelines, runs_per_pipeline and steps_per_run must be >= 1")
        return _Generator(seed, pipelines, runs_per_pipeline, steps_per_run).build()


_USERS = [
    ("ada", "Ada Lovelace", True, {"team": "ml-platform", "timezone": "Europe/London"}),
    ("grace", "Grace Hopper", False, {"team": "forecasting", "timezone": "America/New_York"}),
    ("alan", "Alan Turing", False, {"team": "risk-models", "timezone": "Europe/London"}),
]
_TAGS = [
    ("production", "green", False),
    ("staging", "yellow", False),
    ("experiment", "purple", False),
    ("nightly", "blue", False),
    ("baseline", "grey", False),
    ("latest", "teal", True),
    ("data", "lime", False),
    ("metric", "orange", False),
    ("classification", "magenta", False),
    ("forecasting", "turquoise", False),
]
_RUN_TAGS = ("experiment", "nightly", "baseline")
_PIPELINES = [
    ("churn_training", "Trains the customer churn classifier from the CRM export."),
    ("demand_forecasting", "Weekly demand forecast per store and product family."),
    ("fraud_detection", "Scores card transactions and retrains the fraud model."),
]
_STEPS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("load_data", "Read the raw extract from the warehouse.", [("raw_data", "frame")]),
    ("validate_data", "Check schema, ranges and missing values.", [("validation_report", "report")]),
    ("clean_data", "Drop duplicates and impute missing values.", [("cleaned_data", "frame")]),
    ("split_data", "Split into train and test sets by time.", [("train_set", "frame"), ("test_set", "frame")]),
    ("engineer_features", "Build the model features.", [("features", "frame"), ("feature_names", "list")]),
    ("train_model", "Fit the model on the training set.", [("model", "model")]),
    ("tune_hyperparameters", "Search the hyperparameter space.", [("best_params", "dict"), ("tuning_report", "report")]),
    ("evaluate_model", "Score the model on the test set.", [("metrics", "dict")]),
    ("explain_model", "Compute feature importances.", [("feature_importance", "frame")]),
    ("register_model", "Write the model card and register the version.", [("model_card", "report")]),
]
_HEAVY_STEPS = ("train_model", "tune_hyperparameters")
_RESOURCE_PROFILES: list[dict[str, object]] = [
    {"cpu_count": 2, "memory": "4GB"},
    {"cpu_count": 4, "gpu_count": 1, "memory": "16GB"},
    {"cpu_count": 8, "gpu_count": 2, "memory": "64GB"},
]
_MODELS = [
    ("churn_classifier", "Predicts which customers cancel within 90 days.", "classification"),
    ("demand_forecaster", "Forecasts weekly demand per store and product family.", "forecasting"),
]
_STAGES = ("archived", None, "staging", "production")
_SERVICES = [
    # (name, model index, version offset from newest, flavor, state)
    ("churn-classifier-prod", 0, 0, "mlflow", "active"),
    ("demand-forecaster-prod", 1, 0, "bentoml", "active"),
    ("churn-classifier-staging", 0, 1, "seldon", "inactive"),
]
_RUN_SPACING_S = 4 * 3600
#: A failed run's later steps: no step run, only the snapshot's step.
_NEVER_STARTED = "never started"
_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID_V4 = (0x8000 << 48) | (4 << 76)


@dataclass(slots=True)
class _StepTemplate:
    """One step of a pipeline, the same in every run of it."""

    name: str
    docstring: str
    outputs: dict[str, str]
    input_sources: dict[str, tuple[str, str]]
    upstream: list[int]
    settings: dict[str, dict[str, object]]
    heavy: bool
    source_code: str
    code_hash: str


class _Generator:
    """Builds one data set; every random draw comes from one seeded Random."""

    def __init__(self, seed: int, pipelines: int, runs: int, steps: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.n_pipelines = pipelines
        self.n_runs = runs
        self.n_steps = steps
        self.artifacts: list[Artifact] = []
        self.artifact_versions: list[ArtifactVersion] = []
        self.runs: list[PipelineRun] = []
        self.steps: list[StepRun] = []
        self.step_by_id: dict[str, StepRun] = {}
        self.run_start: dict[str, float] = {}
        self.model_created: dict[str, float] = {}
        self.latest = 0.0

    def uid(self) -> str:
        """`str(uuid.UUID(int=rng.getrandbits(128), version=4))`, spelled out for speed."""
        n = (self.rng.getrandbits(128) & _UUID_CLEAR) | _UUID_V4
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def build(self) -> ZenMLDataset:
        server_id, store_id = self.uid(), self.uid()
        stack = Stack(self.uid(), "default", _at(-40 * 86400))
        project = Project(self.uid(), "default", "default", "", _at(-40 * 86400))
        users = [
            User(self.uid(), name, full, f"{name}@example.com", admin, _at(-30 * 86400 + i * 3600), meta)
            for i, (name, full, admin, meta) in enumerate(_USERS)
        ]
        self.user_ids = [u.id for u in users]
        tags = [
            Tag(self.uid(), name, color, exclusive, users[0].id, _at(-20 * 86400 + i * 60))
            for i, (name, color, exclusive) in enumerate(_TAGS)
        ]
        self.tag = {t.name: t.id for t in tags}
        pipelines = [self.pipeline(i) for i in range(self.n_pipelines)]
        templates = [self.templates(p) for p in pipelines]
        snapshots = [self.snapshot(p, t) for p, t in zip(pipelines, templates)]
        self.generate_runs(pipelines, templates, snapshots)
        models, versions = self.models(pipelines)
        services = self.services(models, versions)
        return ZenMLDataset(
            seed=self.seed,
            server_id=server_id,
            artifact_store_id=store_id,
            stack=stack,
            projects=[project],
            users=users,
            tags=tags,
            pipelines=pipelines,
            snapshots=snapshots,
            runs=self.runs,
            steps=self.steps,
            artifacts=self.artifacts,
            artifact_versions=self.artifact_versions,
            models=models,
            model_versions=versions,
            services=services,
            now=_at(self.latest + 3600),
        )

    def pipeline(self, i: int) -> Pipeline:
        name, description = _PIPELINES[i] if i < len(_PIPELINES) else (f"pipeline_{i}", "")
        return Pipeline(
            id=self.uid(),
            name=name,
            description=description,
            user_id=self.rng.choice(self.user_ids),
            created=_at(-10 * 86400 + i * 3600),
            snapshot_id=self.uid(),
            tag_ids=[self.tag["production"]] if i == 0 else [],
        )

    def snapshot(self, pipeline: Pipeline, templates: list[_StepTemplate]) -> Snapshot:
        steps = [
            SnapshotStep(
                name=t.name,
                docstring=t.docstring,
                upstream_steps=[templates[j].name for j in t.upstream],
                input_sources=t.input_sources,
                settings=t.settings,
                output_kinds=t.outputs,
                source_module=f"{pipeline.name}.steps",
                source_code=t.source_code,
                code_hash=t.code_hash,
            )
            for t in templates
        ]
        return Snapshot(pipeline.snapshot_id, pipeline.id, pipeline.user_id, pipeline.created, steps)

    def templates(self, pipeline: Pipeline) -> list[_StepTemplate]:
        """The pipeline's steps and their wiring: a DAG in execution order."""
        rng = self.rng
        result: list[_StepTemplate] = []
        for i in range(self.n_steps):
            base, docstring, outputs = _STEPS[i % len(_STEPS)]
            suffix = "" if i < len(_STEPS) else f"_{i // len(_STEPS)}"
            upstream: list[int] = []
            if i > 0:
                upstream.append(i - 1 if rng.random() < 0.7 else rng.randrange(i))
                if i > 1 and rng.random() < 0.35:
                    other = rng.randrange(i)
                    if other != upstream[0]:
                        upstream.append(other)
            sources: dict[str, tuple[str, str]] = {}
            for j in upstream:
                parent = result[j]
                out = rng.choice(list(parent.outputs))
                sources[out] = (parent.name, out)
            heavy = base in _HEAVY_STEPS
            if heavy:
                settings = {"resources": dict(_RESOURCE_PROFILES[rng.randrange(1, 3)])}
            elif rng.random() < 0.3:
                settings = {"resources": dict(_RESOURCE_PROFILES[rng.randrange(2)])}
            else:
                settings = {}
            name = base + suffix
            args = ", ".join(f"{arg}: Any" for arg in sources)
            source_code = (
                f"@step\ndef {name}({args}) -> Any:\n"
                f'    """{docstring}"""\n'
                f"    return run_{base}({', '.join(sources)})\n"
            )
            result.append(
                _StepTemplate(
                    name=name,
                    docstring=docstring,
                    outputs={out + suffix: kind for out, kind in outputs},
                    input_sources=sources,
                    upstream=sorted(set(upstream)),
                    settings=settings,
                    heavy=heavy,
                    source_code=source_code,
                    code_hash=hashlib.md5(f"{pipeline.name}:{source_code}".encode()).hexdigest(),
                )
            )
        return result

    def generate_runs(
        self, pipelines: list[Pipeline], templates: list[list[_StepTemplate]], snapshots: list[Snapshot]
    ) -> None:
        """Runs in start order, pipelines interleaved, each after its predecessor."""
        artifact_by_name: dict[str, Artifact] = {}
        previous: list[PipelineRun | None] = [None] * self.n_pipelines
        ready = [0.0] * self.n_pipelines
        running_pipelines = {p for p in (0, 2) if p < self.n_pipelines} if self.n_runs >= 2 else set()
        forced_failures = {(3, 1 % self.n_pipelines), (6, 0)}
        for r in range(self.n_runs):
            for p, pipeline in enumerate(pipelines):
                start = max(ready[p], (r * self.n_pipelines + p) * _RUN_SPACING_S) + self.rng.uniform(0, 1800)
                if r == self.n_runs - 1 and p in running_pipelines:
                    outcome = "running"
                elif r >= 1 and ((r, p) in forced_failures or self.rng.random() < 0.05):
                    outcome = "failed"
                else:
                    outcome = "completed"
                prev = previous[p]
                cached = 0
                can_cache = outcome == "completed" and prev is not None and prev.status == "completed"
                if can_cache and self.rng.random() < 0.5:
                    cached = self.rng.randint(1, max(1, self.n_steps // 3))
                run = self.run(pipeline, templates[p], snapshots[p], r, start, outcome, cached, prev, artifact_by_name)
                previous[p] = run
                ready[p] = self.latest + 600

    def run(
        self,
        pipeline: Pipeline,
        templates: list[_StepTemplate],
        snapshot: Snapshot,
        r: int,
        start: float,
        outcome: str,
        cached: int,
        prev: PipelineRun | None,
        artifact_by_name: dict[str, Artifact],
    ) -> PipelineRun:
        rng = self.rng
        run_id = self.uid()
        user_id = rng.choice(self.user_ids)
        created = _at(start)
        stamp = (EPOCH + timedelta(seconds=start)).strftime("%Y_%m_%d-%H_%M_%S_%f")
        tag_ids = [self.tag[name] for name in _RUN_TAGS if rng.random() < 0.3]
        run = PipelineRun(
            id=run_id,
            name=f"{pipeline.name}-{stamp}",
            pipeline_id=pipeline.id,
            index=r + 1,
            user_id=user_id,
            status=outcome,
            status_reason=None,
            created=created,
            updated=created,
            start_time=created,
            end_time=None,
            step_ids=[],
            tag_ids=tag_ids,
            model_version_id=None,
            enable_cache=cached > 0 or rng.random() < 0.5,
            parameters={"random_seed": r, "learning_rate": rng.choice((0.01, 0.03, 0.05, 0.1))},
            orchestrator_run_id=self.uid(),
            log_id=self.uid(),
        )
        fail_at = rng.randrange(len(templates)) if outcome == "failed" else -1
        running_at = rng.randrange(len(templates)) if outcome == "running" else -1
        prev_steps = {s.name: s for s in self.steps_of(prev)} if cached else {}
        produced: dict[tuple[str, str], str] = {}
        ids_by_name: dict[str, str] = {}
        clock = start + rng.uniform(0.5, 3)
        for i, (template, plan) in enumerate(zip(templates, snapshot.steps)):
            step_id = self.uid()
            ids_by_name[template.name] = step_id
            if i < cached:
                status = "cached"
            elif i == fail_at:
                status = "failed"
            elif 0 <= fail_at < i:
                status = _NEVER_STARTED
            elif i == running_at:
                status = "running"
            elif 0 <= running_at < i:
                status = "initializing"
            else:
                status = "completed"
            started = status in ("cached", "failed", "running", "completed")
            inputs = (
                {name: produced[source] for name, source in template.input_sources.items()}
                if started
                else {}
            )
            original: StepRun | None = None
            if status == "cached":
                previous_step = prev_steps[template.name]
                first_ran = previous_step.original_step_run_id
                original = previous_step if first_ran is None else self.step_by_id[first_ran]
            begin = clock
            if status == "cached":
                clock += rng.uniform(0.05, 0.3)
            elif status in ("completed", "failed"):
                clock += rng.uniform(120, 900) if template.heavy else rng.uniform(5, 90)
            outputs: dict[str, list[str]] = {}
            if original is not None:
                outputs = {name: list(ids) for name, ids in original.outputs.items()}
            elif status == "completed":
                outputs = {
                    name: [
                        self.artifact_version(
                            pipeline, template, name, kind, step_id, run_id, user_id, clock, artifact_by_name
                        )
                    ]
                    for name, kind in template.outputs.items()
                }
            for name, ids in outputs.items():
                produced[(template.name, name)] = ids[0]
            start_time = _at(begin) if started else None
            end_time = _at(clock) if status in ("cached", "completed", "failed") else None
            step = StepRun(
                id=step_id,
                name=template.name,
                pipeline_run_id=run_id,
                user_id=user_id,
                status=status,
                created=start_time or _at(clock),
                updated=end_time or start_time or _at(clock),
                start_time=start_time,
                end_time=end_time,
                inputs=inputs,
                outputs=outputs,
                plan=plan,
                parent_step_ids=[ids_by_name[templates[j].name] for j in template.upstream],
                original_step_run_id=original.id if original else None,
                cache_key=hashlib.md5(f"{template.code_hash}:{sorted(inputs.values())}".encode()).hexdigest(),
                model_version_id=None,
                run_metadata=self.step_metadata(template, status),
                failure=_failure(template.name) if status == "failed" else None,
                log_id=self.uid(),
            )
            if status != _NEVER_STARTED:  # drawn all the same, so that later ids stay put
                self.steps.append(step)
                self.step_by_id[step_id] = step
                run.step_ids.append(step_id)
            if status != "cached":
                clock += rng.uniform(0.5, 3)
        if outcome == "running":
            self.latest = max(self.latest, clock + 120)
        else:
            run.end_time = _at(clock)
            self.latest = max(self.latest, clock)
        run.updated = run.end_time or _at(clock)
        if outcome == "failed":
            run.status_reason = f"Step {templates[fail_at].name} failed."
        self.runs.append(run)
        self.run_start[run.id] = start
        return run

    def steps_of(self, run: PipelineRun | None) -> list[StepRun]:
        if run is None:
            return []
        return [self.step_by_id[i] for i in run.step_ids]

    def step_metadata(self, template: _StepTemplate, status: str) -> dict[str, object]:
        if status != "completed":
            return {}
        if template.name.startswith("evaluate_model"):
            return {"accuracy": round(self.rng.uniform(0.78, 0.95), 4), "f1": round(self.rng.uniform(0.7, 0.9), 4)}
        if template.heavy:
            return {"train_seconds": round(self.rng.uniform(100, 800), 1)}
        return {}

    def artifact_version(
        self,
        pipeline: Pipeline,
        template: _StepTemplate,
        output: str,
        kind: str,
        step_id: str,
        run_id: str,
        user_id: str,
        when: float,
        artifact_by_name: dict[str, Artifact],
    ) -> str:
        name = f"{pipeline.name}::{template.name}::{output}"
        artifact = artifact_by_name.get(name)
        if artifact is None:
            tag = {"frame": "data", "dict": "metric"}.get(kind)
            artifact = Artifact(
                id=self.uid(),
                name=name,
                user_id=user_id,
                created=_at(when),
                has_custom_name=False,
                tag_ids=[self.tag[tag]] if tag else [],
            )
            artifact_by_name[name] = artifact
            self.artifacts.append(artifact)
        av_id = self.uid()
        spec = ARTIFACT_KINDS[kind]
        items = self.rng.randint(1_000, 500_000) if kind == "frame" else None
        metadata: dict[str, object] = {"storage_size": self.rng.randint(400, 50_000_000)}
        if items is not None:
            metadata["shape"] = [items, self.rng.randint(5, 80)]
        version = ArtifactVersion(
            id=av_id,
            artifact_id=artifact.id,
            version=str(len(artifact.version_ids) + 1),
            user_id=user_id,
            created=_at(when),
            uri=f"s3://mlgraph-artifacts/{pipeline.name}/{template.name}/{output}/{av_id}",
            kind=kind,
            producer_step_run_id=step_id,
            producer_pipeline_run_id=run_id,
            content_hash=hashlib.md5(av_id.encode()).hexdigest(),
            item_count=items,
            run_metadata=metadata,
            visualization_id=self.uid() if spec.visualization else None,
            tag_ids=list(artifact.tag_ids),
        )
        artifact.version_ids.append(av_id)
        self.artifact_versions.append(version)
        return av_id

    def models(self, pipelines: list[Pipeline]) -> tuple[list[Model], list[ModelVersion]]:
        """Two models; version n of each comes from one of its pipeline's completed runs."""
        models: list[Model] = []
        versions: list[ModelVersion] = []
        av_by_id = {av.id: av for av in self.artifact_versions}
        for m, (name, description, tag) in enumerate(_MODELS):
            pipeline = pipelines[m % len(pipelines)]
            done = [r for r in self.runs if r.pipeline_id == pipeline.id and r.status == "completed"][-len(_STAGES):]
            runs: list[PipelineRun | None] = [None] * (len(_STAGES) - len(done)) + list(done)
            created = -5 * 86400 + m * 3600
            model = Model(
                id=self.uid(),
                name=name,
                user_id=pipeline.user_id,
                created=_at(created),
                license="Apache-2.0",
                description=description,
                tag_ids=[self.tag[tag]],
            )
            models.append(model)
            self.model_created[model.id] = created
            for n, (stage, run) in enumerate(zip(_STAGES, runs), start=1):
                version = self.model_version(model, n, stage, run, av_by_id)
                model.version_ids.append(version.id)
                versions.append(version)
        return models, versions

    def model_version(
        self,
        model: Model,
        number: int,
        stage: str | None,
        run: PipelineRun | None,
        av_by_id: dict[str, ArtifactVersion],
    ) -> ModelVersion:
        model_avs: list[str] = []
        data_avs: list[str] = []
        if run is not None:
            steps = self.steps_of(run)
            for step in steps:
                for ids in step.outputs.values():
                    model_avs.extend(i for i in ids if av_by_id[i].kind == "model")
            data_avs = [i for ids in steps[0].outputs.values() for i in ids]
        stage_tags = {"production": ["production"], "staging": ["staging"]}.get(stage or "", [])
        version = ModelVersion(
            id=self.uid(),
            model_id=model.id,
            number=number,
            stage=stage,
            user_id=run.user_id if run else model.user_id,
            created=_at(self.run_start[run.id] + 0.5 if run else self.model_created[model.id] + number * 600),
            description=f"{model.name} v{number}",
            pipeline_run_id=run.id if run else None,
            model_artifact_version_ids=model_avs,
            data_artifact_version_ids=data_avs,
            tag_ids=[self.tag[t] for t in stage_tags],
            run_metadata={
                "accuracy": round(self.rng.uniform(0.8, 0.95), 4),
                "training_rows": self.rng.randint(10_000, 900_000),
            },
        )
        if run is not None and run.model_version_id is None:
            run.model_version_id = version.id
            for step in self.steps_of(run):
                step.model_version_id = version.id
            if stage == "production":
                for i in model_avs:
                    av_by_id[i].tag_ids.append(self.tag["production"])
        return version

    def services(self, models: list[Model], versions: list[ModelVersion]) -> list[Service]:
        by_id = {v.id: v for v in versions}
        result: list[Service] = []
        for i, (name, m, offset, flavor, state) in enumerate(_SERVICES):
            model = models[m]
            version = by_id[model.version_ids[-1 - offset]]
            slug = f"{model.name.replace('_', '-')}/v{version.number}"
            created = _at(self.latest + 600 + i * 60)
            result.append(
                Service(
                    id=self.uid(),
                    name=name,
                    user_id=version.user_id,
                    created=created,
                    updated=created,
                    service_type={
                        "type": "model-serving",
                        "flavor": flavor,
                        "name": f"{flavor}-deployment",
                        "description": f"{flavor} prediction service",
                        "logo_url": "",
                    },
                    service_source=(
                        f"zenml.integrations.{flavor}.services.{flavor}_deployment."
                        f"{flavor.capitalize()}DeploymentService"
                    ),
                    admin_state=state,
                    config={"service_name": name, "model_name": model.name, "model_version": version.number},
                    labels={"env": "prod" if offset == 0 else "staging", "model": model.name},
                    status={"state": state, "last_error": ""},
                    endpoint={"protocol": "https", "hostname": "serving.example.com", "port": 443},
                    prediction_url=f"https://serving.example.com/{slug}/predict",
                    health_check_url=f"https://serving.example.com/{slug}/health",
                    model_version_id=version.id,
                    pipeline_run_id=version.pipeline_run_id,
                )
            )
        return result


def _failure(step: str) -> StepFailure:
    message = "could not convert string to float: 'n/a'"
    traceback = (
        f'  File "steps.py", line 42, in {step}\n'
        "    frame = frame.astype(schema)\n"
        f"ValueError: {message}\n"
    )
    return StepFailure(traceback=traceback, source="builtins.ValueError", message=message, user_code_line=3)
