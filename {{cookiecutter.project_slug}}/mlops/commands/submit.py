"""`mlops submit`: register what changed, submit the pipeline by name:version, follow it, and after a successful
run register the model its evaluation promoted and write the release manifest.

A dry run goes through the same steps against the dry-run workspace: it registers and submits nothing, and its
manifest is a rehearsal (mlops/manifest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlops import evaluation, manifest, provenance
from mlops.assets import release_assets
from mlops.azure_job import pipeline_job
from mlops.commands.register import Registration, register
from mlops.errors import MlopsError
from mlops.polling import follow
from mlops.settings import AzureSettings, PipelineSettings
from mlops.workspace import JobState, JobStatus, Workspace

if TYPE_CHECKING:
    from azure.ai.ml.entities import PipelineJob


@dataclass
class Submission:
    registrations: list[Registration]
    job: PipelineJob
    state: JobState
    verdict: evaluation.Verdict | None = None
    model_name: str | None = None
    model_version: str | None = None
    manifest: Path | None = None
    error: str | None = None  # why the job failed, as Azure ML recorded it
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The job completed, or is still running because nobody waited, or was never sent (a dry run)."""
        return self.state.status not in {JobStatus.FAILED, JobStatus.CANCELED, JobStatus.NOT_RESPONDING}


def submit(
    pipeline: PipelineSettings,
    azure: AzureSettings,
    workspace: Workspace,
    *,
    wait_for_it: bool = False,
    timeout: float = 3600,
    poll: float = 15,
    manifest_path: Path | None = None,
    report: Callable[[JobState], None] = lambda state: None,
) -> Submission:
    assets = release_assets(pipeline, azure)
    registrations = register(assets, workspace)
    tags = provenance.tags(pipeline.root, azure.environment)
    job = pipeline_job(pipeline, azure, assets, workspace, tags)
    try:
        state = workspace.submit(job)
        report(state)
        if wait_for_it:
            state = follow(workspace, state, timeout, poll, report)
    except KeyboardInterrupt:  # Ctrl-C, or Stop from SIGTERM (a cancelled CI job): never leave the job running
        workspace.cancel(job.name)
        raise MlopsError(f"stopped: job {job.name} was cancelled") from None
    submission = Submission(registrations, job, state, tags=tags)
    if state.status is JobStatus.FAILED:
        submission.error = workspace.failure(state.name)
    if state.status is JobStatus.COMPLETED:
        submission.verdict = evaluation.read(workspace, state.name)
        if submission.verdict.promote:
            submission.model_name = pipeline.model_name
            lineage = {**tags, "data": assets.data.reference}
            submission.model_version = evaluation.register_model(
                workspace, pipeline.model_name, state.name, submission.verdict, lineage
            )
    rehearsal = state.status is JobStatus.NOT_SUBMITTED
    if manifest_path is not None and (state.status is JobStatus.COMPLETED or rehearsal):
        if rehearsal:
            model = {"name": pipeline.model_name, "version": "<registered by the dev run>"}
        elif submission.model_version:
            model = {"name": pipeline.model_name, "version": submission.model_version}
        else:
            model = None
        verdict = submission.verdict
        submission.manifest = manifest.write(
            manifest_path,
            assets=assets,
            workspace=azure.workspace,
            job_name=state.name,
            tags=tags,
            model=model,
            metrics=verdict.metrics if verdict else None,
            decision=verdict.decision if verdict else None,
            rehearsal=rehearsal,
        )
    return submission
