"""`mlops promote`: move exactly what passed in dev to prod.

The release manifest written by the dev run names every environment, component and data version with its content
hash. Promotion rebuilds those hashes from the current checkout and refuses on any difference, then registers the
same versions in prod and runs the pipeline there; with an Azure ML registry, the validated model itself is shared
to the registry, so prod can use it without retraining.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.assets import ReleaseAssets, release_assets
from mlops.commands.register import Registration
from mlops.commands.submit import MANIFEST_VERSION, Submission, submit
from mlops.errors import MlopsError
from mlops.settings import AzureSettings, PipelineSettings

if TYPE_CHECKING:
    from mlops.workspace import JobState, Workspace


@dataclass
class Promotion:
    manifest: dict[str, Any]
    registrations: list[Registration]
    submission: Submission
    shared_model: str | None = None


def load_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise MlopsError(
            f"release manifest {path} not found: run `mlops submit --env dev --wait --manifest {path}` first"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise MlopsError(f"release manifest {path} is not valid JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("manifest_version") != MANIFEST_VERSION:
        raise MlopsError(
            f"release manifest {path} is not a version {MANIFEST_VERSION} manifest written by mlops submit"
        )
    return manifest


def differences(manifest: dict[str, Any], assets: ReleaseAssets) -> list[str]:
    """What the checkout would register that differs from what passed in dev (by version and content hash)."""
    expected = {"environment": manifest["environment"], "data": manifest["data"], **manifest["components"]}
    actual = {"environment": assets.environment, "data": assets.data, **assets.components}
    found = []
    for key in sorted(set(expected) | set(actual)):
        if key not in actual or key not in expected:
            found.append(f"{key} is {'only in the manifest' if key in expected else 'new in this checkout'}")
            continue
        versioned = actual[key].versioned
        if (versioned.version, versioned.content_hash) != (expected[key]["version"], expected[key]["content_hash"]):
            found.append(f"{key}: manifest {expected[key]['version']}, checkout {versioned.version}")
    return found


def promote(
    manifest_path: Path,
    pipeline: PipelineSettings,
    prod: AzureSettings,
    workspace: Workspace | None,
    *,
    dev: Workspace | None = None,
    wait_for_it: bool = False,
    timeout: float = 3600,
    poll: float = 15,
    report: Callable[[JobState], None] = lambda state: None,
) -> Promotion:
    manifest = load_manifest(manifest_path)
    if not manifest.get("model"):
        reasons = " ".join((manifest.get("decision") or {}).get("reasons", []))
        raise MlopsError(f"the dev run {manifest.get('pipeline_job')} promoted no model: nothing to promote. {reasons}")
    found = differences(manifest, release_assets(pipeline, prod))
    if found:
        raise MlopsError(
            "this checkout does not rebuild what passed in dev (" + "; ".join(found) + "): check out commit "
            f"{manifest.get('commit')} or run the dev stage again"
        )
    shared = None
    if prod.ml_registry and workspace is not None:
        if dev is None:
            raise MlopsError("promoting through a registry needs the dev workspace too (AZURE_SUBSCRIPTION_ID for dev)")
        model = manifest["model"]
        shared = dev.share_model(model["name"], model["version"], prod.ml_registry)
    submission = submit(pipeline, prod, workspace, wait_for_it=wait_for_it, timeout=timeout, poll=poll, report=report)
    return Promotion(manifest, submission.registrations, submission, shared)
