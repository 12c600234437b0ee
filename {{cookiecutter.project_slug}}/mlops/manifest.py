"""The release manifest: what passed in dev, exactly (every name, version and content hash, the job, the model).

``mlops submit --manifest`` writes it; ``mlops promote`` reads it back and refuses a checkout that no longer
rebuilds the same versions; ``mlops deploy`` reads which model to serve from it. Promotion without a registry adds
the model the target environment trained itself (``"promoted": {"prod": {...}}``). A dry run writes a rehearsal
manifest (``"rehearsal": true``, no trained model), so the whole CD path can be previewed offline; only a dry run
accepts one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops.assets import Asset, ReleaseAssets
from mlops.errors import MlopsError

VERSION = 1


def write(
    path: Path,
    *,
    assets: ReleaseAssets,
    workspace: str,
    job_name: str,
    tags: Mapping[str, str],
    model: Mapping[str, str] | None,
    metrics: Mapping[str, Any] | None,
    decision: Mapping[str, Any] | None,
    rehearsal: bool = False,
) -> Path:
    manifest = {
        "manifest_version": VERSION,
        "rehearsal": rehearsal,
        "commit": tags.get("git_commit"),
        "workspace": workspace,
        "pipeline_job": job_name,
        "environment": _entry(assets.environment),
        "components": {step: _entry(asset) for step, asset in assets.components.items()},
        "data": _entry(assets.data),
        "model": dict(model) if model else None,
        "metrics": metrics,
        "decision": decision,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path


def _entry(asset: Asset) -> dict[str, str]:
    v = asset.versioned
    return {"name": v.name, "version": v.version, "content_hash": v.content_hash}


def load(path: Path, *, allow_rehearsal: bool = False) -> dict[str, Any]:
    if not path.is_file():
        raise MlopsError(
            f"release manifest {path} not found: run `mlops submit --env dev --wait --manifest {path}` first "
            f"(or `mlops submit --env dev --dry-run --manifest {path}` to rehearse offline)"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise MlopsError(f"release manifest {path} is not valid JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("manifest_version") != VERSION:
        raise MlopsError(f"release manifest {path} is not a version {VERSION} manifest written by mlops submit")
    if manifest.get("rehearsal") and not allow_rehearsal:
        raise MlopsError(
            f"release manifest {path} was written by a dry run and names no trained model: only a dry run "
            "accepts it. Write a real one with `mlops submit --env dev --wait --manifest ...`"
        )
    return manifest


def differences(manifest: Mapping[str, Any], assets: ReleaseAssets) -> list[str]:
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


def record_promotion(path: Path, environment: str, *, job_name: str, model: Mapping[str, str]) -> None:
    """Add the model an environment trained and registered itself (promotion without a registry), for deploy."""
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.setdefault("promoted", {})[environment] = {"pipeline_job": job_name, "model": dict(model)}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)
