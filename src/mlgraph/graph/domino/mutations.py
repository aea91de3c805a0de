"""Domino's writes (seed 004): start a job, tag and untag one, each returning the job."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from mlgraph.backends import domino as wire
from mlgraph.graph.domino.types import DominoGitRefType, DominoJob, domino_id, loaders, not_found
from mlgraph.graph.errors import UserInputError


@strawberry.input(description="Which git reference to check the main repository out at.")
class DominoGitRefInput:
    ref_type: DominoGitRefType
    value: str | None = None


@strawberry.input(description="A compute cluster to attach to the job (Spark, Ray, Dask, MPI).")
class DominoComputeClusterInput:
    cluster_type: str
    worker_count: int
    worker_hardware_tier: str
    master_hardware_tier: str | None = None
    max_worker_count: int | None = None
    worker_storage_mb: float | None = None
    compute_environment: strawberry.ID | None = None


@strawberry.input(description="Domino's NewJobV1: unset fields take the project's defaults.")
class StartDominoJobInput:
    project: strawberry.ID
    run_command: str
    title: str | None = None
    hardware_tier: strawberry.ID | None = strawberry.field(
        default=None, description="A tier's global id or Domino id (`small-k8s`)."
    )
    environment: strawberry.ID | None = None
    environment_revision_spec: str | None = None
    commit_id: str | None = None
    main_repo_git_ref: DominoGitRefInput | None = None
    external_volume_mount_ids: list[str] | None = None
    snapshot_datasets_on_completion: bool | None = None
    compute_cluster: DominoComputeClusterInput | None = None


def _new_job(job: StartDominoJobInput) -> dict[str, object]:
    """The NewJobV1 body: fields the caller left out are not sent."""
    if not job.run_command.strip():
        raise UserInputError("`runCommand` must not be empty")
    body: dict[str, object] = {
        "projectId": domino_id(job.project, "DominoProject"),
        "runCommand": job.run_command,
        "title": job.title,
        "hardwareTier": domino_id(job.hardware_tier, "DominoHardwareTier") if job.hardware_tier else None,
        "environmentId": domino_id(job.environment, "DominoEnvironment") if job.environment else None,
        "environmentRevisionSpec": job.environment_revision_spec,
        "commitId": job.commit_id,
        "externalVolumeMountIds": job.external_volume_mount_ids,
        "snapshotDatasetsOnCompletion": job.snapshot_datasets_on_completion,
    }
    if job.main_repo_git_ref is not None:
        if job.main_repo_git_ref.ref_type is wire.GitRefType.UNKNOWN:
            raise UserInputError("`mainRepoGitRef.refType` UNKNOWN is not a git reference")
        body["mainRepoGitRef"] = {"refType": job.main_repo_git_ref.ref_type.value, "value": job.main_repo_git_ref.value}
    if job.compute_cluster is not None:
        cluster = job.compute_cluster
        body["computeCluster"] = {
            "clusterType": cluster.cluster_type,
            "workerCount": cluster.worker_count,
            "workerHardwareTier": domino_id(cluster.worker_hardware_tier, "DominoHardwareTier"),
            "masterHardwareTierId": domino_id(cluster.master_hardware_tier, "DominoHardwareTier")
            if cluster.master_hardware_tier
            else None,
            "maxWorkerCount": cluster.max_worker_count,
            "workerStorageMB": cluster.worker_storage_mb,
            "computeEnvironmentId": domino_id(cluster.compute_environment, "DominoEnvironment")
            if cluster.compute_environment
            else None,
        }
    return {key: value for key, value in body.items() if value is not None}


async def _fresh_job(info: Info, job_id: str) -> DominoJob:
    """The job as Domino now has it, also for later fields of this request."""
    record = await loaders(info).client.job(job_id)
    loaders(info).jobs.clear(job_id)
    loaders(info).jobs.known[job_id] = record
    return DominoJob(record=record)


async def _project_of_job(info: Info, job_id: str, project: strawberry.ID | None) -> str:
    if project is not None:
        return domino_id(project, "DominoProject")
    record = await loaders(info).jobs.get(job_id)
    if record is None:
        raise not_found("job", job_id)
    if record.project_id is None:
        raise UserInputError("Domino did not say which project this job is in: pass `project`")
    return record.project_id


@strawberry.type
class DominoMutation:
    @strawberry.mutation(description="Start a Domino job (NewJobV1); returns it, queued.")
    async def start_domino_job(self, info: Info, input: StartDominoJobInput) -> DominoJob:
        record = await loaders(info).client.start_job(_new_job(input))
        loaders(info).jobs.known[record.id] = record
        return DominoJob(record=record)

    @strawberry.mutation(description="Add a tag to a job (an existing name is reused); returns the job.")
    async def tag_domino_job(
        self, info: Info, job: strawberry.ID, tag: str, project: strawberry.ID | None = None
    ) -> DominoJob:
        job_id = domino_id(job, "DominoJob")
        if not tag.strip():
            raise UserInputError("a tag name must not be empty")
        project_id = await _project_of_job(info, job_id, project)
        await loaders(info).client.add_job_tag(job_id, project_id=project_id, tag_name=tag)
        return await _fresh_job(info, job_id)

    @strawberry.mutation(description="Remove a tag, given by name or id, from a job; returns the job.")
    async def untag_domino_job(
        self, info: Info, job: strawberry.ID, tag: str, project: strawberry.ID | None = None
    ) -> DominoJob:
        job_id = domino_id(job, "DominoJob")
        record = await loaders(info).jobs.get(job_id)
        if record is None:
            raise not_found("job", job_id)
        tag_id = _tag_id(tag)
        match = next((t for t in record.tags or [] if t.id == tag_id or t.name == tag), None)
        if match is None:
            raise not_found("tag on job", tag)
        project_id = domino_id(project, "DominoProject") if project is not None else record.project_id
        if project_id is None:
            raise UserInputError("Domino did not say which project this job is in: pass `project`")
        await loaders(info).client.remove_job_tag(job_id, match.id, project_id=project_id)
        return await _fresh_job(info, job_id)


def _tag_id(value: str) -> str | None:
    """A tag's Domino id if ``value`` is a DominoTag global id or looks like an id."""
    try:
        return domino_id(value, "DominoTag")
    except UserInputError:
        return None
