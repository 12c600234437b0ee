"""`mlops submit`: register what changed, submit the pipeline by name:version, wait for it honestly, and after a
successful run register the model its evaluation promoted and write the release manifest."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.assets import ReleaseAssets, release_assets
from mlops.commands.register import Registration, register
from mlops.errors import MlopsError
from mlops.settings import AzureSettings, PipelineSettings

if TYPE_CHECKING:
    from azure.ai.ml.entities import PipelineJob

    from mlops.workspace import JobState, Workspace

MANIFEST_VERSION = 1


class Stop(KeyboardInterrupt):
    """Raised by the SIGTERM handler (a cancelled CI job): handled exactly like Ctrl-C."""


@dataclass
class Submission:
    registrations: list[Registration]
    job: PipelineJob
    state: JobState | None = None  # None for --dry-run
    decision: Mapping[str, Any] | None = None
    metrics: Mapping[str, Any] | None = None
    model_name: str | None = None
    model_version: str | None = None
    manifest: Path | None = None
    error: str | None = None  # why the job failed, as Azure ML recorded it
    tags: dict[str, str] = field(default_factory=dict)


def git_commit(root: Path) -> str:
    result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def ci_run_url(environ: Mapping[str, str] = os.environ) -> str | None:
    if environ.get("GITHUB_RUN_ID"):
        return f"{environ['GITHUB_SERVER_URL']}/{environ['GITHUB_REPOSITORY']}/actions/runs/{environ['GITHUB_RUN_ID']}"
    if environ.get("BUILD_BUILDID"):
        project = f"{environ['SYSTEM_COLLECTIONURI']}{environ['SYSTEM_TEAMPROJECT']}"
        return f"{project}/_build/results?buildId={environ['BUILD_BUILDID']}"
    return None


def publish_job_name(name: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """Make the job name a step output in GitHub Actions or Azure DevOps; returns what it printed, if anything."""
    if environ.get("GITHUB_OUTPUT"):
        with open(environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as output:
            output.write(f"job_name={name}\n")
        return None
    if environ.get("TF_BUILD"):
        return f"##vso[task.setvariable variable=job_name;isoutput=true]{name}"
    return None


def pipeline_job(
    pipeline: PipelineSettings,
    azure: AzureSettings,
    assets: ReleaseAssets,
    workspace: Workspace | None,
    tags: Mapping[str, str],
) -> PipelineJob:
    """The pipeline on Azure ML: registered components by name:version, the registered data, the cluster."""
    from mlops.pipeline import build_pipeline

    if workspace is None:  # dry run: the local entities, carrying the versions they would be registered with
        steps = {step: asset.entity for step, asset in assets.components.items()}
    else:
        steps = {
            step: workspace.component(a.versioned.name, a.versioned.version) for step, a in assets.components.items()
        }
    job = build_pipeline(pipeline, compute=azure.compute, steps=steps, input_data=assets.data.reference)
    job.experiment_name = azure.experiment
    job.display_name = f"{azure.experiment} {tags.get('git_commit', '')[:8]}".strip()
    job.tags = dict(tags)
    return job


def wait(
    workspace: Workspace, state: JobState, timeout: float, poll: float, report: Callable[[JobState], None]
) -> JobState:
    """Follow the job until it ends; on timeout the Azure ML job is cancelled (Ctrl-C and SIGTERM: see submit)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        state = workspace.state(state.name)
        if (state.status, dict(state.steps)) != last:
            report(state)
            last = (state.status, dict(state.steps))
        if state.finished:
            return state
        if time.monotonic() >= deadline:
            workspace.cancel(state.name)
            raise MlopsError(f"job {state.name} did not finish within {timeout:.0f} s and was cancelled")
        time.sleep(poll)


def read_evaluation(workspace: Workspace, job_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        evaluation = workspace.download_output(job_name, "evaluation", Path(folder))
        decision_file, metrics_file = evaluation / "decision.json", evaluation / "metrics.json"
        if not decision_file.is_file():
            raise MlopsError(f"job {job_name} has no evaluation/decision.json; the evaluate step did not write it")
        return json.loads(decision_file.read_text()), json.loads(metrics_file.read_text())


def write_manifest(
    path: Path, submission: Submission, assets: ReleaseAssets, azure: AzureSettings, model_name: str
) -> Path:
    """What passed in dev, exactly: promote reads it back and refuses anything that no longer matches."""
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "commit": submission.tags.get("git_commit"),
        "workspace": azure.workspace,
        "pipeline_job": submission.state.name,
        "environment": _entry(assets.environment),
        "components": {step: _entry(asset) for step, asset in assets.components.items()},
        "data": _entry(assets.data),
        "model": {"name": model_name, "version": submission.model_version} if submission.model_version else None,
        "metrics": submission.metrics,
        "decision": submission.decision,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path


def _entry(asset) -> dict[str, str]:
    v = asset.versioned
    return {"name": v.name, "version": v.version, "content_hash": v.content_hash}


def submit(
    pipeline: PipelineSettings,
    azure: AzureSettings,
    workspace: Workspace | None,
    *,
    wait_for_it: bool = False,
    timeout: float = 3600,
    poll: float = 15,
    manifest: Path | None = None,
    report: Callable[[JobState], None] = lambda state: None,
) -> Submission:
    assets = release_assets(pipeline, azure)
    registrations = register(assets, workspace)
    tags = {"git_commit": git_commit(pipeline.root), "environment": azure.environment}
    if url := ci_run_url():
        tags["ci_run"] = url
    job = pipeline_job(pipeline, azure, assets, workspace, tags)
    submission = Submission(registrations, job, tags=tags)
    if workspace is None:
        return submission
    # Named here, not by the service, so that a stop even while the job is being created can cancel it.
    job.name = f"{azure.experiment.replace('-', '_')}_{uuid.uuid4().hex[:12]}"
    try:
        submission.state = workspace.submit(job, azure.experiment)
        report(submission.state)
        if not wait_for_it:
            return submission
        submission.state = wait(workspace, submission.state, timeout, poll, report)
    except KeyboardInterrupt:  # Ctrl-C, or Stop from SIGTERM (a cancelled CI job): never leave the job running
        workspace.cancel(job.name)
        raise MlopsError(f"stopped: job {job.name} was cancelled") from None
    if submission.state.status == "Failed":
        submission.error = workspace.failure(submission.state.name)
    if submission.state.status != "Completed":
        return submission
    submission.decision, submission.metrics = read_evaluation(workspace, submission.state.name)
    if submission.decision.get("promote"):
        lineage = {
            **tags,
            "pipeline_job": submission.state.name,
            "data": assets.data.reference,
            **{f"metric_{k}": str(v) for k, v in submission.metrics.items()},
        }
        submission.model_name = pipeline.model_name
        submission.model_version = workspace.register_model(
            pipeline.model_name, submission.state.name, "model", lineage
        )
    if manifest is not None:
        submission.manifest = write_manifest(manifest, submission, assets, azure, pipeline.model_name)
    return submission
