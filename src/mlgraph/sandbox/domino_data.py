"""The seeded, deterministic data set the Domino Data Lab emulator serves.

`DominoData.generate(seed=7, projects=3, jobs=60)` builds the demo set:

- 5 `users`; the first is the API key's owner (`self_user_id`);
- `projects` projects the self user can open (one public and owned by self,
  one private and owned by self and git-based, one searchable owned by
  someone else with self as a collaborator, then public ones) plus one more,
  last: private, owned by another user, self not a collaborator. That one is
  the forbidden project: the emulator answers 403 for it and everything in it
  (`DominoData.can_access`);
- 6 `hardware_tiers` (`small-k8s` (default), `medium-k8s`, `large-k8s`,
  `gpu-k8s` with one GPU, `model-api-k8s` (a model API tier) and the
  archived `legacy-k8s`), their `executing_runs` / `queued_runs` counted from
  the jobs;
- 4 `environments` (one archived, one private), 6 job `tags`;
- `jobs` jobs spread over the projects, two of them (from 6 jobs on) in the
  forbidden project. The newest jobs are in progress, one of each
  in-progress status (Queued, Pending, Preparing, Building, Pulling, Running,
  Finishing, StopRequested) first; older ones completed (Succeeded, Failed,
  Error, Stopped, each at least once from 14 jobs on). Queued and Pending jobs
  have not started; no in-progress job has completed. Some completed jobs are
  archived, some scheduled. Jobs reuse few users and tiers, so per-job
  lookups repeat;
- 8 `datasets`, 6 in the visible projects, one in the forbidden project shared
  with the self user (`reader_ids`), one there not shared. Each starts with
  snapshot 1 (every other one with a second); Succeeded jobs write further
  `snapshots` (to 3 a dataset) as output mounts, and jobs mount the latest
  snapshot of a dataset of their project (or the shared one) as input. The
  first dataset also has a `pending` snapshot taken just before `now`; one
  old snapshot is `markForDeletion`. So each dataset has 1-4 snapshots;
- 3 `registered_models` in visible projects with 2-4 `model_versions` each,
  stages None / Staging / Production / Archived.

The same arguments always give the same objects: ids come from
`random.Random(seed)` (Mongo ObjectId-like, 24 hex, their leading 8 the
creation second), timestamps from a fixed epoch, never the wall clock.
Timestamps are ISO 8601 strings with milliseconds and `Z`, as Domino sends
them, so they sort as strings. Enum-like words are stored as seed 004
spells them (`"public"`, `"active"`, `"spark"`), and sent so.

The data set is plain dataclasses in lists, in creation order; links are ids.
Treat the objects as read-only: the emulator copies what it changes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

EPOCH = datetime(2025, 1, 6, 9, 0, 0, tzinfo=timezone.utc)
"""Every timestamp in a data set is an offset from this instant."""

IN_PROGRESS_STATUSES = (
    "Queued", "Pending", "Preparing", "Building", "Pulling", "Running", "Finishing", "StopRequested",
)
COMPLETED_STATUSES = ("Stopped", "Succeeded", "Failed", "Error")
JOB_STATUSES = IN_PROGRESS_STATUSES + COMPLETED_STATUSES
NOT_STARTED_STATUSES = frozenset({"Queued", "Pending"})
MODEL_STAGES = ("None", "Staging", "Production", "Archived")


def iso(moment: datetime) -> str:
    """`2025-01-06T09:00:00.000Z`: UTC, milliseconds, `Z`."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> datetime:
    """The instant of a timestamp written by `iso`."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _at(seconds: float) -> str:
    return iso(EPOCH + timedelta(seconds=seconds))


@dataclass(slots=True)
class DominoUser:
    id: str
    user_name: str
    first_name: str
    last_name: str
    full_name: str
    email: str
    company_name: str
    avatar_url: str | None


@dataclass(slots=True)
class DominoProject:
    id: str
    name: str
    description: str
    owner_id: str
    visibility: str
    """`public`, `private` or `searchable`."""
    default_hardware_tier_id: str
    default_environment_id: str
    collaborator_ids: list[str]
    created_at: str = ""
    head_commit_id: str = ""
    """The commit a new job starts from when it names none."""
    git_repo_uri: str | None = None
    """The main repository of a git-based project; None for a DFS project."""
    git_repo_id: str | None = None
    imported_project_ids: list[str] = field(default_factory=list)
    """Projects whose files every job of this one mounts too."""


@dataclass(slots=True)
class DominoHardwareTier:
    id: str
    name: str
    cores: float
    memory_gib: float
    gpu_count: int
    gpu_key: str | None
    cents_per_minute: float
    max_concurrent_runs: int
    executing_runs: int
    queued_runs: int
    is_archived: bool
    is_default: bool
    is_global: bool
    is_visible: bool
    is_model_api_tier: bool
    is_data_analyst_tier: bool
    node_pool: str
    creation_time: str
    update_time: str


@dataclass(slots=True)
class DominoEnvironment:
    id: str
    name: str
    owner_id: str
    visibility: str
    """`global`, `private` or `organization`."""
    archived: bool
    latest_revision: int
    is_curated: bool
    revision_ids: list[str] = field(default_factory=list)
    """Revision ids, revision 1 first; the last is `latest_revision`."""


@dataclass(slots=True)
class DominoTag:
    id: str
    name: str
    created_at: str
    creator_id: str


@dataclass(slots=True)
class DominoDatasetMount:
    dataset_id: str
    snapshot_id: str
    snapshot_version: int
    is_input: bool
    container_path: str


@dataclass(slots=True)
class DominoLogLine:
    log_type: str
    """`stdOut`, `stdErr` or `prepareOutput`."""
    log: str
    timestamp: str


@dataclass(slots=True)
class DominoJob:
    id: str
    number: int
    """1, 2, ... within the job's project, in submission order."""
    project_id: str
    title: str
    run_command: str
    started_by_id: str
    status: str
    """The `executionStatus` word, as servers send it (`Succeeded`, `StopRequested`)."""
    is_completed: bool
    is_archived: bool
    is_scheduled: bool
    submission_time: str
    start_time: str | None
    completed_time: str | None
    hardware_tier_id: str
    """The master node's tier (`computeCluster.masterHardwareTierId`)."""
    worker_hardware_tier_id: str | None
    worker_count: int | None
    environment_id: str
    input_commit_id: str
    output_commit_id: str | None
    cpu_percentage: float | None
    memory_gib: float | None
    tag_ids: list[str]
    dataset_mounts: list[DominoDatasetMount]
    goal_ids: list[str]
    comments_count: int
    domino_stats: dict[str, str]
    logs: list[DominoLogLine]
    cluster_type: str | None = None
    """`spark`, `ray` or `dask` for a job with workers."""
    problem: str | None = None
    """What went wrong, for a Failed or Error job."""


@dataclass(slots=True)
class DominoDataset:
    id: str
    name: str
    description: str
    project_id: str
    created_at: str
    snapshot_ids: list[str]
    """Oldest (version 1) first."""
    tags: dict[str, str]
    """Tag name -> snapshot id."""
    reader_ids: list[str] = field(default_factory=list)
    """Users granted the dataset beyond its project's members."""


@dataclass(slots=True)
class DominoSnapshot:
    id: str
    dataset_id: str
    version: int
    creator_id: str
    created_at: str
    description: str
    status: str
    """`active`, `pending`, `markForDeletion`, ... as the docs spell it."""
    last_mounted: str | None


@dataclass(slots=True)
class DominoRegisteredModel:
    name: str
    description: str
    project_id: str
    owner_id: str
    created_at: str
    updated_at: str
    discoverable: bool
    tags: dict[str, str]


@dataclass(slots=True)
class DominoModelVersion:
    model_name: str
    version: int
    description: str
    project_id: str
    owner_id: str
    experiment_run_id: str
    stage: str
    """`None`, `Staging`, `Production` or `Archived`."""
    created_at: str
    updated_at: str
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class DominoData:
    users: list[DominoUser]
    projects: list[DominoProject]
    hardware_tiers: list[DominoHardwareTier]
    environments: list[DominoEnvironment]
    tags: list[DominoTag]
    jobs: list[DominoJob]
    datasets: list[DominoDataset]
    snapshots: list[DominoSnapshot]
    registered_models: list[DominoRegisteredModel]
    model_versions: list[DominoModelVersion]
    self_user_id: str
    """The user the API key belongs to."""
    now: str
    """A timestamp after every event: the emulator's clock for writes."""

    @classmethod
    def generate(cls, seed: int = 7, projects: int = 3, jobs: int = 60) -> DominoData:
        """Build the data set; the same arguments give the same data set."""
        if projects < 1 or jobs < 0:
            raise ValueError("projects must be >= 1 and jobs >= 0")
        return _Generator(seed, projects, jobs).build()

    def can_access(self, project_id: str) -> bool:
        """Whether the self user may open the project (else the emulator says 403)."""
        project = next((p for p in self.projects if p.id == project_id), None)
        return project is not None and project_accessible(project, self.self_user_id)

    def can_read_dataset(self, dataset: DominoDataset) -> bool:
        """Whether the self user may see the dataset: its project's, or shared."""
        return self.self_user_id in dataset.reader_ids or self.can_access(dataset.project_id)


def project_accessible(project: DominoProject, user_id: str) -> bool:
    """Public projects, and those the user owns or collaborates on."""
    return project.visibility == "public" or project.owner_id == user_id or user_id in project.collaborator_ids


# ---------------------------------------------------------------- generation

# (login, first, last, email): Grace signs in everywhere with one address,
# typed in another case on each platform, for matching people across them.
_USERS = [
    ("ada_lovelace", "Ada", "Lovelace", "ada.lovelace@acme.example"),
    ("steve_holt", "Steve", "Holt", "steve.holt@acme.example"),
    ("martin_hito", "Martin", "Hito", "martin.hito@acme.example"),
    ("grace_hopper", "Grace", "Hopper", "GRACE@example.com"),
    ("tuan_nguyen", "Tuan", "Nguyen", "tuan.nguyen@acme.example"),
]
_PROJECTS = [
    ("churn-analysis", "Predict which customers leave next quarter"),
    ("fraud-detection", "Card fraud scoring, trained nightly"),
    ("demand-forecasting", "Weekly demand per store and product line"),
    ("pricing-experiments", "Price elasticity studies"),
    ("support-triage", "Routing support tickets to the right queue"),
    ("energy-usage", "Forecasting data-centre power draw"),
]
_FORBIDDEN_PROJECT = ("exec-compensation", "Board-only compensation modelling")
# (id, name, cores, memory GiB, gpus, gpu key, cents/min, max runs, node pool, archived, default, model api)
_TIERS = [
    ("small-k8s", "Small", 1.0, 4.0, 0, None, 0.5, 20, "default", False, True, False),
    ("medium-k8s", "Medium", 4.0, 16.0, 0, None, 2.0, 10, "default", False, False, False),
    ("large-k8s", "Large", 8.0, 32.0, 0, None, 4.5, 6, "default", False, False, False),
    ("gpu-k8s", "GPU (1x V100)", 8.0, 61.0, 1, "nvidia.com/gpu", 18.0, 4, "default-gpu", False, False, False),
    ("model-api-k8s", "Model API", 1.0, 2.0, 0, None, 0.4, 40, "default", False, False, True),
    ("legacy-k8s", "Legacy (retired)", 2.0, 8.0, 0, None, 1.0, 5, "legacy", True, False, False),
]
_JOB_TIER_WEIGHTS = {"small-k8s": 45, "medium-k8s": 30, "large-k8s": 12, "gpu-k8s": 8, "legacy-k8s": 5}
_ENVIRONMENTS = [
    ("Domino Standard Environment Py3.10 R4.3", "global", False, 6, True),
    ("Domino Spark Environment", "global", False, 3, False),
    ("team-pytorch", "private", False, 2, False),
    ("tensorflow-1.x", "global", True, 4, False),
]
_TAG_NAMES = ["baseline", "nightly", "experiment", "prod-candidate", "gpu", "needs-review"]
_COMMANDS = [
    ("train.py", "Train model"),
    ("train.py --epochs 20", "Train model (long)"),
    ("evaluate.py", "Evaluate"),
    ("etl/extract.py", "Extract features"),
    ("notebooks/report.ipynb", "Weekly report"),
    ("score.py --batch", "Batch scoring"),
    ("sweep.sh", "Hyper-parameter sweep"),
]
_DATASETS = [
    ("raw-events", "Raw clickstream events"),
    ("features", "Engineered feature tables"),
    ("transactions", "Card transactions, daily partitions"),
    ("labels", "Confirmed fraud labels"),
    ("sales-history", "Sales per store and week"),
    ("store-metadata", "Store locations and sizes"),
]
_FORBIDDEN_DATASETS = [("salary-bands", "Salary bands (shared read-only)", True), ("board-notes", "Board notes", False)]
_MODELS = [
    ("churn-prediction", "Customer churn model", {"team": "retention", "framework": "sklearn"}, True),
    ("fraud-detector", "Card fraud classifier", {"team": "risk", "framework": "xgboost"}, False),
    ("demand-forecast", "Weekly demand forecaster", {}, False),
]
_STAGE_PATTERNS = [
    ["Archived", "Production", "Staging"],
    ["Archived", "None", "Production", "Staging"],
    ["Production", "None"],
]
_COMPLETED_WEIGHTS = {"Succeeded": 70, "Failed": 15, "Error": 5, "Stopped": 10}
_DAY = 86400.0


class _Generator:
    def __init__(self, seed: int, n_projects: int, n_jobs: int) -> None:
        self.rng = random.Random(seed)
        self.n_projects = n_projects
        self.n_jobs = n_jobs

    # -- ids

    def oid(self, seconds: float) -> str:
        """An ObjectId-like id: the creation second, then 16 random hex digits."""
        stamp = int((EPOCH + timedelta(seconds=seconds)).timestamp())
        return f"{stamp:08x}{self.rng.getrandbits(64):016x}"

    def commit(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    # -- build

    def build(self) -> DominoData:
        users = self.users()
        self_id = users[0].id
        tiers = self.tiers()
        environments = self.environments(users)
        projects = self.projects(users, environments)
        tags = [DominoTag(self.oid(3 * _DAY + i * 600), name, _at(3 * _DAY + i * 600), users[i % 3].id)
                for i, name in enumerate(_TAG_NAMES)]
        datasets, snapshots = self.datasets(projects, users)
        span = max(30 * _DAY, self.n_jobs * 900.0)
        now = 5 * _DAY + span + 4 * 3600
        jobs = self.jobs(projects, users, environments, tags, datasets, snapshots, span, now)
        for tier in tiers:
            mine = [j for j in jobs if j.hardware_tier_id == tier.id and not j.is_completed]
            tier.queued_runs = sum(1 for j in mine if j.status in NOT_STARTED_STATUSES)
            tier.executing_runs = len(mine) - tier.queued_runs
        self.finish_snapshots(datasets, snapshots, self_id, now)
        models, versions = self.models(projects, users)
        return DominoData(
            users=users,
            projects=projects,
            hardware_tiers=tiers,
            environments=environments,
            tags=tags,
            jobs=jobs,
            datasets=datasets,
            snapshots=snapshots,
            registered_models=models,
            model_versions=versions,
            self_user_id=self_id,
            now=_at(now),
        )

    def users(self) -> list[DominoUser]:
        users = []
        for i, (login, first, last, email) in enumerate(_USERS):
            avatar = None if i % 2 else f"https://www.gravatar.com/avatar/{self.rng.getrandbits(128):032x}"
            users.append(DominoUser(
                id=self.oid(i * 3600),
                user_name=login,
                first_name=first,
                last_name=last,
                full_name=f"{first} {last}",
                email=email,
                company_name="Acme Analytics",
                avatar_url=avatar,
            ))
        return users

    def tiers(self) -> list[DominoHardwareTier]:
        tiers = []
        for i, (tier_id, name, cores, memory, gpus, key, cents, runs, pool, archived, default, api) in enumerate(_TIERS):
            created = _at(_DAY + i * 900)
            tiers.append(DominoHardwareTier(
                id=tier_id, name=name, cores=cores, memory_gib=memory, gpu_count=gpus, gpu_key=key,
                cents_per_minute=cents, max_concurrent_runs=runs, executing_runs=0, queued_runs=0,
                is_archived=archived, is_default=default, is_global=True, is_visible=not archived,
                is_model_api_tier=api, is_data_analyst_tier=False, node_pool=pool,
                creation_time=created, update_time=_at(20 * _DAY + i * 900) if archived else created,
            ))
        return tiers

    def environments(self, users: list[DominoUser]) -> list[DominoEnvironment]:
        environments = []
        for i, (name, visibility, archived, revisions, curated) in enumerate(_ENVIRONMENTS):
            created = 2 * _DAY + i * 1800
            owner = users[0].id if visibility == "private" else users[3].id
            environments.append(DominoEnvironment(
                id=self.oid(created), name=name, owner_id=owner, visibility=visibility, archived=archived,
                latest_revision=revisions, is_curated=curated,
                revision_ids=[self.oid(created + r * 3600) for r in range(revisions)],
            ))
        return environments

    def projects(self, users: list[DominoUser], environments: list[DominoEnvironment]) -> list[DominoProject]:
        self_id = users[0].id
        projects = []
        for i in range(self.n_projects):
            name, description = _PROJECTS[i % len(_PROJECTS)]
            if i >= len(_PROJECTS):
                name = f"{name}-{i // len(_PROJECTS) + 1}"
            if i == 0:
                visibility, owner, collaborators = "public", self_id, [users[2].id, users[3].id]
            elif i == 1:
                visibility, owner, collaborators = "private", self_id, [users[4].id]
            elif i == 2:
                visibility, owner, collaborators = "searchable", users[2].id, [self_id, users[3].id]
            else:
                visibility, owner, collaborators = "public", users[2 + i % 3].id, []
            created = 4 * _DAY + i * 3600
            projects.append(DominoProject(
                id=self.oid(created), name=name, description=description, owner_id=owner,
                visibility=visibility,
                default_hardware_tier_id="medium-k8s" if i % 3 == 1 else "small-k8s",
                default_environment_id=environments[1 if i % 3 == 2 else 0].id,
                collaborator_ids=collaborators, created_at=_at(created), head_commit_id=self.commit(),
            ))
        git = projects[1] if len(projects) > 1 else projects[0]
        git.git_repo_uri = f"https://github.com/acme-analytics/{git.name}"
        git.git_repo_id = self.oid(4 * _DAY + 7200)
        if len(projects) > 2:
            projects[2].imported_project_ids = [projects[0].id]
        name, description = _FORBIDDEN_PROJECT
        created = 4 * _DAY + self.n_projects * 3600
        projects.append(DominoProject(
            id=self.oid(created), name=name, description=description, owner_id=users[1].id,
            visibility="private", default_hardware_tier_id="large-k8s", default_environment_id=environments[0].id,
            collaborator_ids=[users[3].id], created_at=_at(created), head_commit_id=self.commit(),
        ))
        return projects

    def datasets(
        self, projects: list[DominoProject], users: list[DominoUser]
    ) -> tuple[list[DominoDataset], list[DominoSnapshot]]:
        visible, forbidden = projects[:-1], projects[-1]
        placed = [
            (name, description, visible[i % len(visible)], False) for i, (name, description) in enumerate(_DATASETS)
        ]
        placed += [(name, description, forbidden, shared) for name, description, shared in _FORBIDDEN_DATASETS]
        datasets, snapshots = [], []
        for i, (name, description, project, shared) in enumerate(placed):
            created = 4.5 * _DAY + i * 1200
            dataset = DominoDataset(
                id=self.oid(created), name=name, description=description, project_id=project.id,
                created_at=_at(created), snapshot_ids=[], tags={},
                reader_ids=[users[0].id] if shared else [],
            )
            first = DominoSnapshot(
                id=self.oid(created + 60), dataset_id=dataset.id, version=1, creator_id=project.owner_id,
                created_at=_at(created + 60), description="Initial snapshot", status="active", last_mounted=None,
            )
            dataset.snapshot_ids.append(first.id)
            datasets.append(dataset)
            snapshots.append(first)
            if i % 2 == 0:
                second = DominoSnapshot(
                    id=self.oid(created + 3600), dataset_id=dataset.id, version=2, creator_id=users[0].id,
                    created_at=_at(created + 3600), description="Cleaned", status="active", last_mounted=None,
                )
                dataset.snapshot_ids.append(second.id)
                snapshots.append(second)
        return datasets, snapshots

    def job_plan(self, visible: int) -> tuple[list[int], list[str]]:
        """Per job: a project index (visible ones, or `visible` for the forbidden one) and a status."""
        n = self.n_jobs
        forbidden_slots = {n // 3, (2 * n) // 3} if n >= 6 else set()
        where = [visible if i in forbidden_slots else self.rng.randrange(visible) for i in range(n)]
        mine = [i for i in range(n) if i not in forbidden_slots]
        statuses = [""] * n
        in_progress = mine[-max(len(IN_PROGRESS_STATUSES), n // 20):] if len(mine) >= 12 else mine[-len(mine) // 2:]
        for k, i in enumerate(in_progress):
            statuses[i] = IN_PROGRESS_STATUSES[k] if k < len(IN_PROGRESS_STATUSES) else self.rng.choice(
                ("Queued", "Running", "Running", "Preparing")
            )
        done = [i for i in range(n) if not statuses[i]]
        open_done = [i for i in done if i not in forbidden_slots]
        forced = self.rng.sample(open_done, min(len(COMPLETED_STATUSES), len(open_done)))
        for status, i in zip(COMPLETED_STATUSES, forced):
            statuses[i] = status
        names, weights = list(_COMPLETED_WEIGHTS), list(_COMPLETED_WEIGHTS.values())
        for i in done:
            if not statuses[i]:
                statuses[i] = self.rng.choices(names, weights)[0]
        return where, statuses

    def jobs(
        self,
        projects: list[DominoProject],
        users: list[DominoUser],
        environments: list[DominoEnvironment],
        tags: list[DominoTag],
        datasets: list[DominoDataset],
        snapshots: list[DominoSnapshot],
        span: float,
        now: float,
    ) -> list[DominoJob]:
        rng = self.rng
        visible = len(projects) - 1
        where, statuses = self.job_plan(visible)
        datasets_of: dict[str, list[DominoDataset]] = {}
        for dataset in datasets:
            datasets_of.setdefault(dataset.project_id, []).append(dataset)
        shared = [d for d in datasets if d.reader_ids]
        numbers: dict[str, int] = {}
        tier_names, tier_weights = list(_JOB_TIER_WEIGHTS), list(_JOB_TIER_WEIGHTS.values())
        first = 5 * _DAY
        completed_count = sum(1 for s in statuses if s in COMPLETED_STATUSES)
        in_progress_total = self.n_jobs - completed_count
        archived_forced = next(
            (i for i, s in enumerate(statuses) if s == "Succeeded" and where[i] != visible), None
        )
        jobs: list[DominoJob] = []
        times: list[tuple[float, float | None, float | None]] = []
        inputs: list[list[DominoDataset]] = []
        outputs: list[bool] = []
        completed_seen = in_progress_seen = 0
        for i in range(self.n_jobs):
            project = projects[where[i]]
            status = statuses[i]
            completed = status in COMPLETED_STATUSES
            if completed:
                submitted = first + (span - 6 * 3600) * completed_seen / max(1, completed_count)
                submitted += rng.uniform(0, 600)
                completed_seen += 1
            else:
                submitted = now - 3000 + 2900 * in_progress_seen / max(1, in_progress_total)
                in_progress_seen += 1
            started = None if status in NOT_STARTED_STATUSES else submitted + rng.uniform(5, 120)
            duration = rng.uniform(5, 60) if status == "Error" else rng.uniform(30, 7200)
            finished = started + duration if completed and started is not None else None
            numbers[project.id] = numbers.get(project.id, 0) + 1
            command, title = rng.choice(_COMMANDS)
            if rng.random() < 0.2:
                title = command
            user = users[0] if rng.random() < 0.5 else rng.choice(users[1:4])
            workers = rng.random() < 0.1
            candidates = datasets_of.get(project.id, []) + shared
            job = DominoJob(
                id=self.oid(submitted),
                number=numbers[project.id],
                project_id=project.id,
                title=title,
                run_command=command,
                started_by_id=user.id,
                status=status,
                is_completed=completed,
                is_archived=completed and (i == archived_forced or rng.random() < 0.08),
                is_scheduled=rng.random() < 0.15,
                submission_time=_at(submitted),
                start_time=None if started is None else _at(started),
                completed_time=None if finished is None else _at(finished),
                hardware_tier_id=rng.choices(tier_names, tier_weights)[0],
                worker_hardware_tier_id=rng.choice(("medium-k8s", "large-k8s")) if workers else None,
                worker_count=rng.randint(2, 4) if workers else None,
                environment_id=(
                    project.default_environment_id if rng.random() < 0.75 else rng.choice(environments).id
                ),
                input_commit_id=self.commit(),
                output_commit_id=self.commit() if completed and status != "Error" and rng.random() < 0.7 else None,
                cpu_percentage=None if started is None else round(rng.uniform(3, 99), 1),
                memory_gib=None if started is None else round(rng.uniform(0.2, 12), 2),
                tag_ids=[t.id for t in rng.sample(tags, rng.choices((0, 1, 2), (40, 35, 25))[0])],
                dataset_mounts=[],
                goal_ids=[self.oid(4 * _DAY)] if rng.random() < 0.1 else [],
                comments_count=rng.choices((0, 1, 2, 3), (70, 15, 10, 5))[0],
                domino_stats={},
                logs=[],
                cluster_type=rng.choice(("spark", "ray", "dask")) if workers else None,
            )
            if status == "Succeeded" and rng.random() < 0.6:
                job.domino_stats = {"R-squared": f"{rng.uniform(0.5, 0.99):.2f}", "rmse": f"{rng.uniform(0.1, 3):.3f}"}
            if status == "Failed":
                job.problem = "ValueError: Input contains NaN, infinity or a value too large for dtype('float64')."
            elif status == "Error":
                job.problem = f"python: can't open file '{command.split()[0]}': [Errno 2] No such file or directory"
            job.logs = self.logs(job, submitted, started, finished)
            chosen = rng.sample(candidates, min(len(candidates), rng.randint(1, 2))) if rng.random() < 0.4 else []
            jobs.append(job)
            times.append((submitted, started, finished))
            inputs.append(chosen)
            outputs.append(status == "Succeeded" and rng.random() < 0.3)
        self.mount(jobs, times, inputs, outputs, datasets_of, snapshots)
        return sorted(jobs, key=lambda j: j.submission_time)

    def mount(
        self,
        jobs: list[DominoJob],
        times: list[tuple[float, float | None, float | None]],
        inputs: list[list[DominoDataset]],
        outputs: list[bool],
        datasets_of: dict[str, list[DominoDataset]],
        snapshots: list[DominoSnapshot],
    ) -> None:
        """Dataset mounts in time order: an input is the dataset's latest snapshot
        when the job starts (or, not started, now); a Succeeded job may write the
        next snapshot of one of its project's datasets when it completes."""
        snapshot_by_id = {s.id: s for s in snapshots}
        events = []
        for i, (submitted, started, finished) in enumerate(times):
            if inputs[i]:
                events.append((started if started is not None else submitted, 0, i))
            if outputs[i] and finished is not None:
                events.append((finished, 1, i))
        for at, kind, i in sorted(events):
            job = jobs[i]
            if kind == 0:
                for dataset in inputs[i]:
                    snapshot = snapshot_by_id[dataset.snapshot_ids[-1]]
                    job.dataset_mounts.append(DominoDatasetMount(
                        dataset.id, snapshot.id, snapshot.version, True, f"/domino/datasets/local/{dataset.name}",
                    ))
                    if job.start_time is not None:
                        snapshot.last_mounted = job.start_time
                continue
            room = [d for d in datasets_of.get(job.project_id, []) if len(d.snapshot_ids) < 3]
            if not room:
                continue
            dataset = self.rng.choice(room)
            snapshot = DominoSnapshot(
                id=self.oid(at), dataset_id=dataset.id, version=len(dataset.snapshot_ids) + 1,
                creator_id=job.started_by_id, created_at=_at(at),
                description=f"Written by job #{job.number}", status="active", last_mounted=None,
            )
            dataset.snapshot_ids.append(snapshot.id)
            snapshots.append(snapshot)
            snapshot_by_id[snapshot.id] = snapshot
            job.dataset_mounts.append(DominoDatasetMount(
                dataset.id, snapshot.id, snapshot.version, False, f"/domino/datasets/local/{dataset.name}",
            ))

    def logs(
        self, job: DominoJob, submitted: float, started: float | None, finished: float | None
    ) -> list[DominoLogLine]:
        if started is None:
            return []
        image = f"172.20.22.242:5000/domino-{job.environment_id}:{1 + int(submitted) % 5}"
        lines = [
            DominoLogLine("prepareOutput", f'Pulling image "{image}"', _at(started + 1)),
            DominoLogLine("prepareOutput", f'Successfully pulled image "{image}"', _at(started + 4)),
        ]
        if job.status in ("Preparing", "Building", "Pulling"):
            return lines
        lines.append(DominoLogLine("prepareOutput", "Starting run container", _at(started + 5)))
        lines.append(DominoLogLine("stdOut", f"Running {job.run_command}", _at(started + 6)))
        end = finished if finished is not None else started + 60
        for step in range(1, 1 + self.rng.randint(2, 5)):
            at = started + 6 + (end - started - 7) * step / 6
            lines.append(DominoLogLine("stdOut", f"step {step}: loss={self.rng.uniform(0.05, 1.5):.4f}", _at(at)))
        if job.status == "Failed":
            lines.append(DominoLogLine("stdErr", "Traceback (most recent call last):", _at(end - 1)))
            where = f'  File "{job.run_command.split()[0]}", line 42, in <module>'
            lines.append(DominoLogLine("stdErr", where, _at(end - 1)))
            lines.append(DominoLogLine("stdErr", job.problem or "", _at(end - 1)))
        elif job.status == "Error":
            lines = lines[:3] + [DominoLogLine("stdErr", job.problem or "", _at(end - 1))]
        elif job.status == "Stopped":
            lines.append(DominoLogLine("stdErr", "Received SIGTERM, stopping", _at(end - 1)))
        elif job.status == "Succeeded":
            lines.append(DominoLogLine("stdOut", "Done.", _at(end - 1)))
        return lines

    def finish_snapshots(
        self, datasets: list[DominoDataset], snapshots: list[DominoSnapshot], self_id: str, now: float
    ) -> None:
        """Tags on some datasets; the oldest snapshot of one dataset marked for
        deletion; a new snapshot of the first dataset still pending; snapshots
        in creation order."""
        snapshots.sort(key=lambda s: s.created_at)
        by_id = {s.id: s for s in snapshots}
        for i, dataset in enumerate(datasets):
            if i % 3 == 0:
                dataset.tags["latest"] = dataset.snapshot_ids[-1]
            if i % 4 == 1 and len(dataset.snapshot_ids) > 1:
                dataset.tags["baseline"] = dataset.snapshot_ids[0]
        multi = [d for d in datasets if len(d.snapshot_ids) > 2]
        if multi:
            by_id[multi[-1].snapshot_ids[0]].status = "markForDeletion"
        dataset = datasets[0]
        pending = DominoSnapshot(
            id=self.oid(now - 600), dataset_id=dataset.id, version=len(dataset.snapshot_ids) + 1,
            creator_id=self_id, created_at=_at(now - 600), description="Refresh (in progress)",
            status="pending", last_mounted=None,
        )
        dataset.snapshot_ids.append(pending.id)
        snapshots.append(pending)

    def models(
        self, projects: list[DominoProject], users: list[DominoUser]
    ) -> tuple[list[DominoRegisteredModel], list[DominoModelVersion]]:
        visible = projects[:-1]
        models, versions = [], []
        for i, (name, description, tags, discoverable) in enumerate(_MODELS):
            project = visible[i % len(visible)]
            stages = _STAGE_PATTERNS[i]
            created = 10 * _DAY + i * _DAY
            mine = []
            for v, stage in enumerate(stages, start=1):
                at = created + (v - 1) * 3 * _DAY
                owner = users[(i + v) % 4].id
                mine.append(DominoModelVersion(
                    model_name=name, version=v, description=f"{description} v{v}", project_id=project.id,
                    owner_id=owner, experiment_run_id=f"{self.rng.getrandbits(128):032x}", stage=stage,
                    created_at=_at(at), updated_at=_at(at + (_DAY if stage != "None" else 0)),
                    metrics={name: round(self.rng.uniform(0.7, 0.95), 3) for name in ("auc", "accuracy")},
                    params={
                        "max_depth": str(self.rng.randint(3, 12)),
                        "n_estimators": str(100 * self.rng.randint(1, 5)),
                    },
                ))
            models.append(DominoRegisteredModel(
                name=name, description=description, project_id=project.id, owner_id=mine[0].owner_id,
                created_at=mine[0].created_at, updated_at=max(v.updated_at for v in mine),
                discoverable=discoverable, tags=dict(tags),
            ))
            versions.extend(mine)
        return models, versions
