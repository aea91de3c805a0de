"""The seeded, deterministic data set the Abacus.AI emulator serves.

`AbacusData.generate(seed=7, projects=2, pipelines=4, versions_per_pipeline=5)`
builds the demo set:

- 4 `users`; the first (Ada Lovelace) is the API key's owner
  (`self_user_id`). Emails are written as people type them, so matching them
  against other platforms must ignore case: Ada's is
  `Ada.Lovelace@acme.example` (Domino's `ada.lovelace@acme.example`),
  Grace's `Grace@Example.com` (ZenML's `grace@example.com`);
- `projects` projects (use case, problem type, tags);
- `pipelines` pipelines spread over the projects, each created by a user and
  holding 2-5 steps (the first pipeline always 5; `steps_per_pipeline` fixes
  the count, for benchmarks). Steps form a DAG: every step after the first
  depends on the one before it, some also on the one before that, so the
  index order is a topological order (`batch_predict` always waits for
  both `train_model` and `deploy_model`). The canonical steps and what each
  writes: `load_data` (a dataset version), `build_features` (a feature group
  version), `train_model` (a model version), `deploy_model` (a deployment),
  `batch_predict` (a batch prediction); steps past the fifth cycle through
  those kinds and a kind that writes nothing. Each writing step owns its
  parent object (dataset, feature group, model, deployment, batch
  prediction). Steps carry a TEXT code source, cpu size (`SMALL`, `MEDIUM`,
  `LARGE`), memory (GB) and timeout (minutes);
- `versions_per_pipeline` pipeline versions a pipeline, a day apart. Each has
  one step version per step with a `pipelineStepVersionReference` to what the
  step wrote (reference status and error mirror the object). Some versions
  FAILED: the failing step is FAILED with an error and a failed object, the
  steps after it SKIPPED (not run, no references). The newest version of
  every pipeline with an odd index is RUNNING: the steps before the running
  one COMPLETE, the running step's object in progress (IMPORTING,
  GENERATING, TRAINING, DEPLOYING or PREDICTING), later steps PENDING. At
  least one version (from two versions a pipeline) is FAILED;
- the objects the steps wrote: `dataset_versions` (every dataset also has
  one uploaded version from before the first run), `feature_group_versions`,
  `model_versions`, `batch_predictions` (a run updates the batch prediction's
  latest version), `deployments` (a run deploys a model version; a failed
  deploy leaves the previous model version serving); their parents
  `datasets`, `feature_groups` (a SQL definition each version materializes)
  and `models`;
- logs: every step version that ran has stdout/stderr lines.

Status words are Abacus.AI's (the SDK's `wait_for_*` states): pipeline and
step versions `PENDING`, `RUNNING`, `COMPLETE`, `FAILED` (steps also
`SKIPPED`); dataset versions `IMPORTING`/`COMPLETE`/`FAILED`; feature group
versions `GENERATING`/`COMPLETE`/`FAILED`; model versions
`TRAINING`/`COMPLETE`/`FAILED`; deployments `DEPLOYING`/`ACTIVE`/`FAILED`;
batch prediction versions `PREDICTING`/`COMPLETE`/`FAILED`.

The same arguments always give the same objects: ids are 10 hex digits from
`random.Random(seed)`, timestamps offsets from a fixed epoch, never the wall
clock, written as Abacus.AI does (`2025-01-06T09:00:00+00:00`). The data set
is plain dataclasses in lists, oldest first; links are ids. Treat the
objects as read-only: the emulator copies what it changes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

EPOCH = datetime(2025, 1, 6, 9, 0, 0, tzinfo=timezone.utc)
"""Every timestamp in a data set is an offset from this instant."""

PIPELINE_VERSION_STATUSES = ("PENDING", "RUNNING", "COMPLETE", "FAILED")
STEP_VERSION_STATUSES = ("PENDING", "RUNNING", "COMPLETE", "FAILED", "SKIPPED")
CPU_SIZES = ("SMALL", "MEDIUM", "LARGE")
MEMORY_SIZES = (16, 32, 64)
"""GB, the SDK's `MemorySize` values."""

DATASET_VERSION = "DATASET_VERSION"
FEATURE_GROUP_VERSION = "FEATURE_GROUP_VERSION"
MODEL_VERSION = "MODEL_VERSION"
DEPLOYMENT_VERSION = "DEPLOYMENT_VERSION"
BATCH_PREDICTION = "BATCH_PREDICTION"
REFERENCE_TYPES = (DATASET_VERSION, FEATURE_GROUP_VERSION, MODEL_VERSION, DEPLOYMENT_VERSION, BATCH_PREDICTION)
"""`objectType` of a step version reference, by what the step wrote."""

OBJECT_STATUSES: dict[str, tuple[str, str, str]] = {
    DATASET_VERSION: ("IMPORTING", "COMPLETE", "FAILED"),
    FEATURE_GROUP_VERSION: ("GENERATING", "COMPLETE", "FAILED"),
    MODEL_VERSION: ("TRAINING", "COMPLETE", "FAILED"),
    DEPLOYMENT_VERSION: ("DEPLOYING", "ACTIVE", "FAILED"),
    BATCH_PREDICTION: ("PREDICTING", "COMPLETE", "FAILED"),
}
"""A written object's status while its step runs, after it completed, after it failed."""


def iso(moment: datetime) -> str:
    """`2025-01-06T09:00:00+00:00`: UTC, whole seconds, as Abacus.AI writes timestamps."""
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def parse_iso(value: str) -> datetime:
    """The instant of a timestamp written by `iso`."""
    return datetime.fromisoformat(value)


def at(seconds: float) -> str:
    """The timestamp `seconds` after `EPOCH`."""
    return iso(EPOCH + timedelta(seconds=seconds))


# ---------------------------------------------------------------- the records


@dataclass(slots=True)
class AbacusOrganizationGroup:
    id: str
    name: str
    permissions: list[str]
    default_group: bool
    admin: bool
    created_at: str


@dataclass(slots=True)
class AbacusUser:
    id: str
    name: str
    email: str
    created_at: str
    status: str
    """`ACTIVE` or `INVITED`."""
    organization_groups: list[AbacusOrganizationGroup]


@dataclass(slots=True)
class AbacusProject:
    id: str
    name: str
    use_case: str
    problem_type: str
    created_at: str
    tags: list[str]


@dataclass(slots=True)
class AbacusCodeSource:
    source_type: str
    """`TEXT` here (also `PYTHON`, `FILE_UPLOAD`, `APPLICATION_CONNECTOR` on real servers)."""
    source_code: str
    package_requirements: list[str]
    status: str = "COMPLETE"
    error: str | None = None
    module_dependencies: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AbacusArgument:
    """A `PythonFunctionArgument`: a pipeline variable or a step input."""

    name: str
    variable_type: str
    """`STRING`, `INTEGER`, `DATASET_ID`, ... (the SDK's `PythonFunctionArgumentType`)."""
    value: Any = None
    pipeline_variable: str | None = None
    """The pipeline variable (or an earlier step's output) the value comes from."""
    is_required: bool = True


@dataclass(slots=True)
class AbacusOutput:
    """An `OutputVariableMapping`: a value a step function returns."""

    name: str
    variable_type: str


@dataclass(slots=True)
class AbacusPipelineStep:
    id: str
    pipeline_id: str
    name: str
    function_name: str
    python_function_id: str
    created_at: str
    updated_at: str
    step_dependencies: list[str]
    """Names of the steps this one waits for (earlier steps only)."""
    cpu_size: str
    memory: int
    """GB."""
    timeout: int
    """Minutes."""
    code_source: AbacusCodeSource
    input_mappings: list[AbacusArgument]
    output_mappings: list[AbacusOutput]
    writes: str | None
    """The `objectType` of what a run of the step writes, or None."""
    target_id: str | None
    """The object the step writes into: dataset, feature group, model, deployment or batch prediction id."""


@dataclass(slots=True)
class AbacusPipeline:
    id: str
    name: str
    project_id: str
    created_at: str
    created_by_id: str
    """A user id; the wire carries the user's email (`createdBy`)."""
    cron: str | None
    next_run_time: str | None
    is_prod: bool
    notebook_id: str | None
    steps: list[AbacusPipelineStep]
    """In a topological order (dependencies first)."""
    variable_mappings: list[AbacusArgument]
    code_source: AbacusCodeSource


@dataclass(slots=True)
class AbacusReference:
    """A `PipelineStepVersionReference`: one object a step version wrote."""

    id: str
    step_version_id: str
    object_type: str
    status: str
    error: str | None = None
    dataset_version: str | None = None
    model_version: str | None = None
    deployment_version: str | None = None
    """Deployments have no version ids in the public API: this is the deployment id."""
    batch_prediction_id: str | None = None
    feature_group_version: str | None = None
    model_monitor_version: str | None = None
    notebook_version: str | None = None


@dataclass(slots=True)
class AbacusPipelineStepVersion:
    id: str
    step_id: str
    pipeline_id: str
    pipeline_version: str
    name: str
    created_at: str
    updated_at: str
    status: str
    error: str | None
    output_errors: str | None
    python_function_id: str
    step_dependencies: list[str]
    cpu_size: str
    memory: int
    timeout: int
    code_source: AbacusCodeSource
    input_mappings: list[AbacusArgument]
    output_mappings: list[AbacusOutput]
    references: list[AbacusReference]
    started_at: str | None
    completed_at: str | None
    logs: str
    """stdout and stderr of the step, one line each; empty when it did not run."""


@dataclass(slots=True)
class AbacusPipelineVersion:
    id: str
    pipeline_id: str
    created_at: str
    updated_at: str
    completed_at: str | None
    status: str
    error: str | None
    step_version_ids: list[str]
    """In the pipeline's step order."""
    variable_mappings: list[AbacusArgument]
    code_source: AbacusCodeSource


@dataclass(slots=True)
class AbacusDatasetColumn:
    name: str
    data_type: str
    feature_type: str


@dataclass(slots=True)
class AbacusDataset:
    id: str
    name: str
    """Its feature group table name."""
    source_type: str
    data_source: str
    created_at: str
    schema: list[AbacusDatasetColumn]
    version_ids: list[str]
    """Oldest first."""


@dataclass(slots=True)
class AbacusDatasetVersion:
    id: str
    dataset_id: str
    status: str
    created_at: str
    size: int | None
    """Bytes."""
    row_count: int | None
    error: str | None
    upload_id: str | None = None


@dataclass(slots=True)
class AbacusModel:
    id: str
    name: str
    project_id: str
    created_at: str
    cpu_size: str
    memory: int
    use_gpu: bool
    train_function_name: str
    predict_function_name: str
    training_feature_group_ids: list[str]
    code_source: AbacusCodeSource
    version_ids: list[str]
    """Oldest first."""


@dataclass(slots=True)
class AbacusModelVersion:
    id: str
    model_id: str
    status: str
    created_at: str
    training_started_at: str
    training_completed_at: str | None
    feature_group_versions: list[str]
    error: str | None
    cpu_size: str
    memory: int
    use_gpu: bool
    best_algorithm: dict[str, Any] | None
    code_source: AbacusCodeSource
    pending_deployment_ids: list[str] = field(default_factory=list)
    failed_deployment_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AbacusDeployment:
    id: str
    name: str
    description: str
    project_id: str
    model_id: str
    created_at: str
    status: str
    model_version: str | None
    """The model version serving (the last one deployed successfully)."""
    deployed_at: str | None
    pending_model_version: str | None
    error: str | None
    calls_per_second: int
    auto_deploy: bool
    regions: list[str]


@dataclass(slots=True)
class AbacusFeatureGroup:
    id: str
    table_name: str
    created_at: str
    sql: str
    source_tables: list[str]
    columns: list[AbacusDatasetColumn]
    version_ids: list[str]
    """Oldest first."""


@dataclass(slots=True)
class AbacusFeatureGroupVersion:
    id: str
    feature_group_id: str
    status: str
    created_at: str
    error: str | None
    sql: str
    source_tables: list[str]
    source_dataset_versions: list[str]
    cpu_size: str
    memory: int
    materialization_started_at: str | None
    materialization_completed_at: str | None
    columns: list[AbacusDatasetColumn]


@dataclass(slots=True)
class AbacusBatchPrediction:
    id: str
    name: str
    project_id: str
    created_at: str
    deployment_id: str | None
    model_id: str | None
    model_version: str | None
    output_feature_group_id: str
    """The latest version's fields follow (`latestBatchPredictionVersion`)."""
    version_id: str | None
    status: str | None
    predictions_started_at: str | None
    predictions_completed_at: str | None
    total_predictions: int | None
    failed_predictions: int | None
    error: str | None


@dataclass
class AbacusData:
    projects: list[AbacusProject]
    users: list[AbacusUser]
    pipelines: list[AbacusPipeline]
    pipeline_versions: list[AbacusPipelineVersion]
    step_versions: list[AbacusPipelineStepVersion]
    datasets: list[AbacusDataset]
    dataset_versions: list[AbacusDatasetVersion]
    models: list[AbacusModel]
    model_versions: list[AbacusModelVersion]
    deployments: list[AbacusDeployment]
    feature_groups: list[AbacusFeatureGroup]
    feature_group_versions: list[AbacusFeatureGroupVersion]
    batch_predictions: list[AbacusBatchPrediction]
    self_user_id: str
    """The user the API key belongs to (`describeUser`)."""
    now: str
    """A timestamp after every event: where the emulator's clock starts."""

    @classmethod
    def generate(
        cls,
        seed: int = 7,
        projects: int = 2,
        pipelines: int = 4,
        versions_per_pipeline: int = 5,
        steps_per_pipeline: int | None = None,
    ) -> AbacusData:
        """Build the data set; the same arguments give the same data set.

        `steps_per_pipeline` fixes every pipeline's step count (default: 2-5,
        the first pipeline 5), e.g. 200 to benchmark a version with many steps.
        """
        if projects < 1 or pipelines < 1 or versions_per_pipeline < 1:
            raise ValueError("projects, pipelines and versions_per_pipeline must be >= 1")
        if steps_per_pipeline is not None and steps_per_pipeline < 1:
            raise ValueError("steps_per_pipeline must be >= 1")
        return _Generator(seed, projects, pipelines, versions_per_pipeline, steps_per_pipeline).build()

    @property
    def steps(self) -> list[AbacusPipelineStep]:
        """Every pipeline's steps, pipeline by pipeline."""
        return [step for pipeline in self.pipelines for step in pipeline.steps]


# ---------------------------------------------------------------- generation

_USERS = [
    ("Ada Lovelace", "Ada.Lovelace@acme.example", "ACTIVE", True),
    ("Grace Hopper", "Grace@Example.com", "ACTIVE", False),
    ("Katherine Johnson", "katherine.johnson@acme.example", "ACTIVE", False),
    ("Tuan Nguyen", "tuan.nguyen@acme.example", "INVITED", False),
]
_PROJECTS = [
    ("Customer Churn", "CUSTOMER_CHURN", "PREDICTIVE_MODELING", ["retention", "production"]),
    ("Demand Forecasting", "RETAIL_SALES_FORECASTING", "FORECASTING", ["forecasting"]),
    ("Card Fraud", "FRAUD_TRANSACTIONS", "PREDICTIVE_MODELING", ["risk", "nightly"]),
    ("Support Assistant", "CHAT_LLM", "CHAT_LLM", []),
]
_PIPELINES = [
    ("churn-training", "churn_events", "0 3 * * *", True),
    ("demand-forecast-refresh", "store_sales", "0 5 * * 1", True),
    ("churn-feature-backfill", "churn_events_backfill", None, False),
    ("fraud-scoring", "card_transactions", "30 * * * *", False),
    ("ticket-router-eval", "support_tickets", None, False),
]
# name, function, writes, returns (name, type), package requirements
_STEP_KINDS: list[tuple[str, str | None, tuple[str, str] | None, list[str]]] = [
    ("load_data", DATASET_VERSION, ("dataset_id", "DATASET_ID"), ["pandas>=2.0"]),
    ("build_features", FEATURE_GROUP_VERSION, ("feature_group_id", "FEATURE_GROUP_ID"), ["pandas>=2.0"]),
    ("train_model", MODEL_VERSION, ("model_id", "MODEL_ID"), ["scikit-learn>=1.3", "pandas>=2.0"]),
    ("deploy_model", DEPLOYMENT_VERSION, ("deployment_id", "DEPLOYMENT_ID"), []),
    ("batch_predict", BATCH_PREDICTION, ("batch_prediction_id", "BATCH_PREDICTION_ID"), []),
]
_EXTRA_KINDS: list[str | None] = [None, DATASET_VERSION, FEATURE_GROUP_VERSION, MODEL_VERSION, None, BATCH_PREDICTION]
_RETURNS = {kind: returns for _, kind, returns, _ in _STEP_KINDS if kind is not None}
_REQUIREMENTS = {kind: req for _, kind, _, req in _STEP_KINDS if kind is not None}
_STEP_ERRORS = {
    DATASET_VERSION: "FileNotFoundError: s3://acme-ml/{table}/ has no files for the requested date",
    FEATURE_GROUP_VERSION: "SQL error: column 'tenure_days' cannot be resolved in {table}",
    MODEL_VERSION: "ValueError: Input contains NaN in column 'monthly_spend'",
    DEPLOYMENT_VERSION: "Deployment health check failed: predict() raised KeyError: 'customer_id'",
    BATCH_PREDICTION: "Batch prediction aborted: 4112 rows failed (limit 1000)",
    None: "RuntimeError: step exited with code 1",
}
_OBJECT_ERRORS = {
    DATASET_VERSION: "No files found at the data source location",
    FEATURE_GROUP_VERSION: "Feature group materialization failed: unresolved column 'tenure_days'",
    MODEL_VERSION: "Training failed: Input contains NaN in column 'monthly_spend'",
    DEPLOYMENT_VERSION: "Model failed to load: KeyError 'customer_id'",
    BATCH_PREDICTION: "Too many failed predictions",
}
_SCHEMA = [
    AbacusDatasetColumn("customer_id", "STRING", "CATEGORICAL"),
    AbacusDatasetColumn("event_time", "DATETIME", "TIMESTAMP"),
    AbacusDatasetColumn("monthly_spend", "FLOAT", "NUMERICAL"),
    AbacusDatasetColumn("tenure_days", "INTEGER", "NUMERICAL"),
    AbacusDatasetColumn("churned", "BOOLEAN", "CATEGORICAL"),
]
_DAY = 86400.0


class _Generator:
    def __init__(self, seed: int, n_projects: int, n_pipelines: int, n_versions: int, n_steps: int | None) -> None:
        self.rng = random.Random(seed)
        self.n_projects = n_projects
        self.n_pipelines = n_pipelines
        self.n_versions = n_versions
        self.n_steps = n_steps
        self.ids: set[str] = set()
        self.datasets: dict[str, AbacusDataset] = {}
        self.dataset_versions: list[AbacusDatasetVersion] = []
        self.models: dict[str, AbacusModel] = {}
        self.model_versions: list[AbacusModelVersion] = []
        self.deployments: dict[str, AbacusDeployment] = {}
        self.feature_groups: dict[str, AbacusFeatureGroup] = {}
        self.fg_versions: list[AbacusFeatureGroupVersion] = []
        self.batch_predictions: dict[str, AbacusBatchPrediction] = {}
        self.deploy_history: dict[str, list[tuple[str, str, str | None, str]]] = {}
        """Deployment id -> (reference status, model version, error, time), oldest first."""

    def new_id(self) -> str:
        while True:
            value = f"{self.rng.getrandbits(40):010x}"
            if value not in self.ids:
                self.ids.add(value)
                return value

    def build(self) -> AbacusData:
        users = self.users()
        projects = self.projects()
        pipelines = [self.pipeline(i, projects, users) for i in range(self.n_pipelines)]
        now = self.n_versions * _DAY + 8 * 3600
        versions: list[AbacusPipelineVersion] = []
        step_versions: list[AbacusPipelineStepVersion] = []
        # Oldest first across pipelines: version j of every pipeline, then j + 1.
        for j in range(self.n_versions):
            for index, pipeline in enumerate(pipelines):
                version, steps = self.version(index, pipeline, j, now)
                versions.append(version)
                step_versions.extend(steps)
        self.finish_deployments()
        return AbacusData(
            projects=projects,
            users=users,
            pipelines=pipelines,
            pipeline_versions=versions,
            step_versions=step_versions,
            datasets=list(self.datasets.values()),
            dataset_versions=self.dataset_versions,
            models=list(self.models.values()),
            model_versions=self.model_versions,
            deployments=list(self.deployments.values()),
            feature_groups=list(self.feature_groups.values()),
            feature_group_versions=self.fg_versions,
            batch_predictions=list(self.batch_predictions.values()),
            self_user_id=users[0].id,
            now=at(now),
        )

    # -- people and projects

    def users(self) -> list[AbacusUser]:
        created = -60 * _DAY
        everyone = AbacusOrganizationGroup(
            self.new_id(), "Everyone", ["VIEW"], True, False, at(created)
        )
        admins = AbacusOrganizationGroup(
            self.new_id(), "Admins", ["ADMIN", "PROJECT_MANAGE", "VIEW"], False, True, at(created)
        )
        return [
            AbacusUser(
                id=self.new_id(),
                name=name,
                email=email,
                created_at=at(created + i * 3 * _DAY),
                status=status,
                organization_groups=[everyone, admins] if admin else [everyone],
            )
            for i, (name, email, status, admin) in enumerate(_USERS)
        ]

    def projects(self) -> list[AbacusProject]:
        projects = []
        for i in range(self.n_projects):
            name, use_case, problem_type, tags = _PROJECTS[i % len(_PROJECTS)]
            if i >= len(_PROJECTS):
                name = f"{name} {i // len(_PROJECTS) + 1}"
            created = at(-30 * _DAY + i * 3600)
            projects.append(AbacusProject(self.new_id(), name, use_case, problem_type, created, list(tags)))
        return projects

    # -- pipelines and steps

    def pipeline(self, index: int, projects: list[AbacusProject], users: list[AbacusUser]) -> AbacusPipeline:
        name, table, cron, is_prod = _PIPELINES[index % len(_PIPELINES)]
        if index >= len(_PIPELINES):
            name = f"{name}-{index // len(_PIPELINES) + 1}"
        created = -20 * _DAY + index * 7200
        pipeline_id = self.new_id()
        project = projects[index % len(projects)]
        count = self.n_steps if self.n_steps is not None else (5 if index == 0 else self.rng.randint(2, 5))
        steps: list[AbacusPipelineStep] = []
        for i in range(count):
            steps.append(self.step(pipeline_id, name, project, table, i, steps, created + 600 + i * 60))
        variables = [
            AbacusArgument("training_table", "STRING", table, None, True),
            AbacusArgument("lookback_days", "INTEGER", 30 + 30 * (index % 3), None, True),
            AbacusArgument("mode", "STRING", "full", None, False),
        ]
        module = "\n\n".join(step.code_source.source_code for step in steps[:5])
        requirements = sorted({r for s in steps for r in s.code_source.package_requirements})
        return AbacusPipeline(
            id=pipeline_id,
            name=name,
            project_id=project.id,
            created_at=at(created),
            created_by_id=users[index % 3].id,
            cron=cron,
            next_run_time=at(self.n_versions * _DAY + _DAY + index * 3600) if cron else None,
            is_prod=is_prod,
            notebook_id=self.new_id() if index % 2 == 0 else None,
            steps=steps,
            variable_mappings=variables,
            code_source=AbacusCodeSource("TEXT", module, requirements),
        )

    def step(
        self, pipeline_id: str, pipeline_name: str, project: AbacusProject, table: str, i: int,
        earlier: list[AbacusPipelineStep], created: float,
    ) -> AbacusPipelineStep:
        if i < len(_STEP_KINDS):
            name, writes, _, _ = _STEP_KINDS[i]
        else:
            writes = _EXTRA_KINDS[i % len(_EXTRA_KINDS)]
            name = f"step_{i:03d}"
        dependencies = []
        if i >= 1:
            dependencies.append(earlier[i - 1].name)
        if i >= 2 and (self.rng.random() < 0.3 or i == 4):  # batch_predict needs the model and the endpoint
            dependencies.insert(0, earlier[i - 2].name)
        inputs = [AbacusArgument("training_table", "STRING", None, "training_table", True)] if i == 0 else []
        for dependency in dependencies:
            before = next(s for s in earlier if s.name == dependency)
            for output in before.output_mappings:
                source = f"{dependency}.{output.name}"
                inputs.append(AbacusArgument(output.name, output.variable_type, None, source, True))
        outputs = [AbacusOutput(*_RETURNS[writes])] if writes is not None else []
        arguments = ", ".join(a.name for a in inputs)
        body = f"    return client.{name}({arguments})" if outputs else "    print('ok')\n    return None"
        code = AbacusCodeSource(
            "TEXT",
            f"def {name}({arguments}):\n    import abacusai\n    client = abacusai.ApiClient()\n{body}",
            list(_REQUIREMENTS.get(writes, [])) if writes else [],
        )
        step_id = self.new_id()
        return AbacusPipelineStep(
            id=step_id,
            pipeline_id=pipeline_id,
            name=name,
            function_name=name,
            python_function_id=self.new_id(),
            created_at=at(created),
            updated_at=at(created + 3600 * (i % 3)),
            step_dependencies=dependencies,
            cpu_size=self.rng.choice(CPU_SIZES),
            memory=self.rng.choice(MEMORY_SIZES),
            timeout=self.rng.choice((30, 60, 120, 300)),
            code_source=code,
            input_mappings=inputs,
            output_mappings=outputs,
            writes=writes,
            target_id=self.target(writes, pipeline_id, pipeline_name, project, name, table, created),
        )

    def target(self, writes: str | None, pipeline_id: str, pipeline_name: str, project: AbacusProject, step: str,
               table: str, created: float) -> str | None:
        """The parent object a writing step writes into, created with the step."""
        if writes is None:
            return None
        suffix = "" if step in {kind[0] for kind in _STEP_KINDS} else f"_{step}"
        target = self.new_id()
        if writes == DATASET_VERSION:
            name = f"{table}{suffix}"
            upload = self.new_id()
            self.datasets[target] = AbacusDataset(
                id=target, name=name, source_type="FILE_CONNECTOR",
                data_source=f"s3://acme-ml/{name}/", created_at=at(created),
                schema=list(_SCHEMA), version_ids=[upload],
            )
            self.dataset_versions.append(AbacusDatasetVersion(
                id=upload, dataset_id=target, status="COMPLETE", created_at=at(created + 60),
                size=self.rng.randint(1, 400) * 1_000_000, row_count=self.rng.randint(10_000, 2_000_000),
                error=None, upload_id=self.new_id(),
            ))
        elif writes == MODEL_VERSION:
            self.models[target] = AbacusModel(
                id=target, name=f"{pipeline_name}-model{suffix}", project_id=project.id, created_at=at(created),
                cpu_size=self.rng.choice(CPU_SIZES), memory=self.rng.choice(MEMORY_SIZES),
                use_gpu=self.rng.random() < 0.25, train_function_name="train", predict_function_name="predict",
                training_feature_group_ids=[],
                code_source=AbacusCodeSource(
                    "TEXT",
                    "def train(training_data):\n    from sklearn.ensemble import GradientBoostingClassifier\n"
                    "    return GradientBoostingClassifier().fit(training_data.drop(columns=['churned']),"
                    " training_data['churned'])\n\n"
                    "def predict(model, row):\n    return {'churned': float(model.predict_proba([row])[0][1])}",
                    ["scikit-learn>=1.3", "pandas>=2.0"],
                ),
                version_ids=[],
            )
        elif writes == DEPLOYMENT_VERSION:
            model = next(reversed(self.models.values()))  # the pipeline's train step came before
            self.deployments[target] = AbacusDeployment(
                id=target, name=f"{pipeline_name}-endpoint{suffix}",
                description=f"Online predictions for {pipeline_name}", project_id=project.id, model_id=model.id,
                created_at=at(created), status="FAILED", model_version=None, deployed_at=None,
                pending_model_version=None, error=None, calls_per_second=self.rng.choice((5, 10, 25)),
                auto_deploy=True, regions=["us-east-1"],
            )
            self.deploy_history[target] = []
        elif writes == BATCH_PREDICTION:
            self.batch_predictions[target] = AbacusBatchPrediction(
                id=target, name=f"{pipeline_name}-batch{suffix}", project_id=project.id, created_at=at(created),
                deployment_id=None, model_id=None, model_version=None, output_feature_group_id=self.new_id(),
                version_id=None, status=None, predictions_started_at=None, predictions_completed_at=None,
                total_predictions=None, failed_predictions=None, error=None,
            )
        elif writes == FEATURE_GROUP_VERSION:
            source = f"fg_{pipeline_id}_source"
            self.feature_groups[target] = AbacusFeatureGroup(
                id=target, table_name=f"{table}_features{suffix}", created_at=at(created),
                sql=f"SELECT customer_id, monthly_spend, tenure_days, churned FROM {source}", source_tables=[source],
                columns=[c for c in _SCHEMA if c.name != "event_time"], version_ids=[],
            )
        return target

    # -- versions

    def version(
        self, index: int, pipeline: AbacusPipeline, j: int, now: float
    ) -> tuple[AbacusPipelineVersion, list[AbacusPipelineStepVersion]]:
        newest = j == self.n_versions - 1
        spacing = min(37 * 60.0, 4 * 3600.0 / self.n_pipelines)
        created = (j + 1) * _DAY + index * spacing
        n = len(pipeline.steps)
        running_at: int | None = None
        failing_at: int | None = None
        if newest and index % 2 == 1:
            running_at = self.rng.randrange(n)
        elif (index == 0 and j == 1) or (not newest and self.rng.random() < 0.2):
            failing_at = self.rng.randrange(n)
        version_id = self.new_id()
        scale = 5 / max(5, n)
        clock = created + 20  # queued for 20 s
        produced: dict[str, str] = {}  # object type -> id written earlier in this run
        step_versions: list[AbacusPipelineStepVersion] = []
        version_error: str | None = None
        for i, step in enumerate(pipeline.steps):
            step_version_id = self.new_id()
            if (running_at is not None and i > running_at) or (failing_at is not None and i > failing_at):
                state = "PENDING" if running_at is not None else "SKIPPED"
                started = finished = None
            else:
                started = clock
                duration = self.rng.randint(120, 1200) * scale
                if i == running_at:
                    state, finished = "RUNNING", None
                    clock = started + duration / 2
                else:
                    state = "FAILED" if i == failing_at else "COMPLETE"
                    finished = started + duration
                    clock = finished + 5
            error = None
            if state == "FAILED":
                table = pipeline.variable_mappings[0].value
                error = f"Step {step.name} failed: " + _STEP_ERRORS[step.writes].format(table=table)
                version_error = error
            references = []
            if started is not None and step.writes is not None:
                references.append(self.write(step, step_version_id, state, started, finished, produced))
            updated = finished if finished is not None else (started if started is not None else created)
            step_versions.append(AbacusPipelineStepVersion(
                id=step_version_id,
                step_id=step.id,
                pipeline_id=pipeline.id,
                pipeline_version=version_id,
                name=step.name,
                created_at=at(created),
                updated_at=at(updated),
                status=state,
                error=error,
                output_errors=None,
                python_function_id=step.python_function_id,
                step_dependencies=list(step.step_dependencies),
                cpu_size=step.cpu_size,
                memory=step.memory,
                timeout=step.timeout,
                code_source=step.code_source,
                input_mappings=step.input_mappings,
                output_mappings=step.output_mappings,
                references=references,
                started_at=None if started is None else at(started),
                completed_at=None if finished is None else at(finished),
                logs=step_logs(step.name, state, None if started is None else at(started),
                               None if finished is None else at(finished), error, references),
            ))
        if running_at is not None:
            status, completed = "RUNNING", None
        else:
            status, completed = ("FAILED" if failing_at is not None else "COMPLETE"), clock
        assert completed is None or completed < now and clock < now
        variables = [
            AbacusArgument(a.name, a.variable_type, a.value, a.pipeline_variable, a.is_required)
            for a in pipeline.variable_mappings
        ]
        variables[1].value = int(variables[1].value) + 7 * (j % 2)
        version = AbacusPipelineVersion(
            id=version_id,
            pipeline_id=pipeline.id,
            created_at=at(created),
            updated_at=at(clock),
            completed_at=None if completed is None else at(completed),
            status=status,
            error=version_error,
            step_version_ids=[s.id for s in step_versions],
            variable_mappings=variables,
            code_source=pipeline.code_source,
        )
        return version, step_versions

    def write(
        self, step: AbacusPipelineStep, step_version_id: str, state: str, started: float, finished: float | None,
        produced: dict[str, str],
    ) -> AbacusReference:
        """Create the object a step version wrote and the reference to it."""
        kind = step.writes
        assert kind is not None and step.target_id is not None
        running, done, failed = OBJECT_STATUSES[kind]
        status = {"RUNNING": running, "COMPLETE": done, "FAILED": failed}[state]
        error = _OBJECT_ERRORS[kind] if state == "FAILED" else None
        reference = AbacusReference(self.new_id(), step_version_id, kind, status, error)
        end = None if finished is None else at(finished)
        if kind == DATASET_VERSION:
            dataset = self.datasets[step.target_id]
            version = AbacusDatasetVersion(
                id=self.new_id(), dataset_id=dataset.id, status=status, created_at=at(started),
                size=None if state != "COMPLETE" else self.rng.randint(1, 400) * 1_000_000,
                row_count=None if state != "COMPLETE" else self.rng.randint(10_000, 2_000_000), error=error,
            )
            self.dataset_versions.append(version)
            dataset.version_ids.append(version.id)
            reference.dataset_version = version.id
        elif kind == FEATURE_GROUP_VERSION:
            group = self.feature_groups[step.target_id]
            sources = [produced[DATASET_VERSION]] if DATASET_VERSION in produced else []
            version = AbacusFeatureGroupVersion(
                id=self.new_id(), feature_group_id=group.id, status=status, created_at=at(started),
                error=error, sql=group.sql, source_tables=list(group.source_tables), source_dataset_versions=sources,
                cpu_size=step.cpu_size, memory=step.memory, materialization_started_at=at(started),
                materialization_completed_at=end, columns=list(group.columns),
            )
            self.fg_versions.append(version)
            group.version_ids.append(version.id)
            reference.feature_group_version = version.id
        elif kind == MODEL_VERSION:
            model = self.models[step.target_id]
            fg = [produced[FEATURE_GROUP_VERSION]] if FEATURE_GROUP_VERSION in produced else []
            if fg:
                feature_group = next(v.feature_group_id for v in self.fg_versions if v.id == fg[0])
                if feature_group not in model.training_feature_group_ids:
                    model.training_feature_group_ids.append(feature_group)
            version = AbacusModelVersion(
                id=self.new_id(), model_id=model.id, status=status, created_at=at(started),
                training_started_at=at(started), training_completed_at=end, feature_group_versions=fg,
                error=error, cpu_size=model.cpu_size, memory=model.memory, use_gpu=model.use_gpu,
                best_algorithm=None if state != "COMPLETE" else {
                    "name": "Custom Python Model", "algorithm": "USER_DEFINED", "algorithmId": model.id,
                },
                code_source=model.code_source,
            )
            self.model_versions.append(version)
            model.version_ids.append(version.id)
            reference.model_version = version.id
        elif kind == DEPLOYMENT_VERSION:
            deployment = self.deployments[step.target_id]
            model_version = produced.get(MODEL_VERSION)
            self.deploy_history[deployment.id].append((status, model_version or "", error, end or at(started)))
            reference.deployment_version = deployment.id
        elif kind == BATCH_PREDICTION:
            prediction = self.batch_predictions[step.target_id]
            deployment_id = produced.get(DEPLOYMENT_VERSION)
            model_version = produced.get(MODEL_VERSION)
            total = None if state == "RUNNING" else self.rng.randint(5_000, 200_000)
            prediction.deployment_id = deployment_id or prediction.deployment_id
            if model_version is not None:
                prediction.model_version = model_version
                prediction.model_id = next(v.model_id for v in self.model_versions if v.id == model_version)
            prediction.version_id = self.new_id()
            prediction.status = status
            prediction.predictions_started_at = at(started)
            prediction.predictions_completed_at = end
            prediction.total_predictions = total
            if total is None:
                prediction.failed_predictions = None
            else:
                prediction.failed_predictions = 4112 if state == "FAILED" else self.rng.randint(0, 20)
            prediction.error = error
            reference.batch_prediction_id = prediction.id
        produced[kind] = (
            reference.dataset_version or reference.feature_group_version or reference.model_version
            or reference.deployment_version or reference.batch_prediction_id or ""
        )
        return reference

    def finish_deployments(self) -> None:
        """A deployment serves its last good model version; a running deploy is pending."""
        for deployment_id, history in self.deploy_history.items():
            deployment = self.deployments[deployment_id]
            good = [entry for entry in history if entry[0] == "ACTIVE"]
            if good:
                deployment.status = "ACTIVE"
                deployment.model_version = good[-1][1] or None
                deployment.deployed_at = good[-1][3]
            if history:
                last_status, last_version, last_error, _ = history[-1]
                if last_status == "DEPLOYING":
                    deployment.pending_model_version = last_version or None
                    if not good:
                        deployment.status = "DEPLOYING"
                elif last_status == "FAILED":
                    deployment.error = last_error
            for version in self.model_versions:
                if version.id == deployment.pending_model_version:
                    version.pending_deployment_ids.append(deployment_id)
                failed = [entry[1] for entry in history if entry[0] == "FAILED"]
                if version.id in failed and deployment_id not in version.failed_deployment_ids:
                    version.failed_deployment_ids.append(deployment_id)


def step_logs(
    name: str, state: str, started: str | None, finished: str | None, error: str | None,
    references: list[AbacusReference],
) -> str:
    """The stdout/stderr lines of a step version in `state` (empty when it did not run)."""
    if started is None:
        return ""
    lines = [
        f"{started} INFO Starting step {name}",
        f"{started} INFO Installing package requirements",
    ]
    if state == "RUNNING":
        lines.append(f"{started} INFO Running {name}()")
        return "\n".join(lines) + "\n"
    end = finished or started
    for reference in references:
        lines.append(f"{end} INFO Wrote {reference.object_type} ({reference.status})")
    if state == "FAILED":
        lines.append(f"{end} ERROR Traceback (most recent call last):")
        lines.append(f"{end} ERROR {error}")
    else:
        lines.append(f"{end} INFO Step {name} finished")
    return "\n".join(lines) + "\n"
