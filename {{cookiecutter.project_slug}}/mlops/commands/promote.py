"""`mlops promote`: move exactly what passed in dev to prod.

The release manifest written by the dev run names every environment, component and data version with its content
hash. Promotion rebuilds those hashes from the current checkout and refuses on any difference, then registers the
same versions in prod and runs the pipeline there; with an Azure ML registry, the validated model itself is shared
to the registry, so prod can use it without retraining.
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
from mlops.workspace import Action, JobState, Workspace


@dataclass
class Promotion:
    manifest: dict[str, Any]
    submission: Submission
    shared_model: str | None = None  # the model's URI in the registry
    shared: Action | None = None  # registered now, already there (a re-run), or planned (a dry run)


def promote(
    manifest_path: Path,
    pipeline: PipelineSettings,
    prod: AzureSettings,
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
    found = manifest.differences(released, release_assets(pipeline, prod))
    if found:
        raise MlopsError(
            "this checkout does not rebuild what passed in dev (" + "; ".join(found) + "): check out commit "
            f"{released.get('commit')} or run the dev stage again"
        )
    shared = uri = None
    if prod.ml_registry:
        if dev is None:
            raise MlopsError("promoting through a registry needs the dev workspace too (AZURE_SUBSCRIPTION_ID for dev)")
        model = released["model"]
        shared = dev.share_model(model["name"], model["version"], prod.ml_registry)
        uri = f"azureml://registries/{prod.ml_registry}/models/{model['name']}/versions/{model['version']}"
    submission = submit(pipeline, prod, workspace, wait_for_it=wait_for_it, timeout=timeout, poll=poll, report=report)
    return Promotion(released, submission, uri, shared)
