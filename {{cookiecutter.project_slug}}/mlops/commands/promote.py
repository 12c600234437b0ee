"""`mlops promote`: move exactly what passed in dev to another environment (prod).

The release manifest written by the dev run names every environment, component and data version with its content
hash, and the model that passed. Promotion rebuilds those hashes from the current checkout and refuses on any
difference. Then, by how the project was generated:

- with an Azure ML registry: the dev model itself is shared to the registry (unless it is there already), and prod
  serves that very model (`mlops deploy --env prod`): prod trains nothing;
- without one: prod registers the same versions and retrains with them, its evaluation gates the result, and the
  model prod registered is recorded in the manifest for `mlops deploy --env prod`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops import manifest
from mlops.assets import release_assets
from mlops.commands.submit import Submission, submit
from mlops.errors import MlopsError
from mlops.settings import AzureSettings, PipelineSettings
from mlops.workspace import Action, JobState, JobStatus, Workspace


@dataclass
class Promotion:
    manifest: dict[str, Any]
    submission: Submission | None = None  # without a registry: prod's own run
    shared_model: str | None = None  # with a registry: the model's URI there
    shared: Action | None = None  # registered now, already there (a re-run), or planned (a dry run)


def promote(
    manifest_path: Path,
    pipeline: PipelineSettings,
    target: AzureSettings,
    workspace: Workspace,
    *,
    dev: Workspace | None = None,
    wait_for_it: bool = False,
    timeout: float = 3600,
    poll: float = 15,
    report: Callable[[JobState], None] = lambda state: None,
) -> Promotion:
    released = manifest.load(manifest_path, allow_rehearsal=workspace.dry_run)
    if not released.get("model"):
        reasons = " ".join((released.get("decision") or {}).get("reasons", []))
        raise MlopsError(f"the dev run {released.get('pipeline_job')} promoted no model: nothing to promote. {reasons}")
    found = manifest.differences(released, release_assets(pipeline, target))
    if found:
        raise MlopsError(
            "this checkout does not rebuild what passed in dev (" + "; ".join(found) + "): check out commit "
            f"{released.get('commit')} or run the dev stage again"
        )
    if target.ml_registry:
        if dev is None:
            raise MlopsError("promoting through a registry needs the dev workspace too (AZURE_SUBSCRIPTION_ID for dev)")
        model = released["model"]
        shared = dev.share_model(model["name"], model["version"], target.ml_registry)
        uri = f"azureml://registries/{target.ml_registry}/models/{model['name']}/versions/{model['version']}"
        return Promotion(released, shared_model=uri, shared=shared)
    submission = submit(pipeline, target, workspace, wait_for_it=wait_for_it, timeout=timeout, poll=poll, report=report)
    if submission.model_version and not workspace.dry_run:
        manifest.record_promotion(
            manifest_path,
            target.environment,
            job_name=submission.state.name,
            model={"name": submission.model_name, "version": submission.model_version},
        )
    elif submission.state.status is JobStatus.COMPLETED and submission.verdict and not submission.verdict.promote:
        raise MlopsError(
            f"{target.environment} retrained with the released versions, and its evaluation did not promote the "
            f"model: {submission.verdict.reasons} Nothing is deployed; see job {submission.state.name}",
        )
    return Promotion(released, submission=submission)
