"""`mlops run`: execute the training pipeline (or any pipeline YAML of command components) on this machine."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from mlops.errors import MlopsError
from mlops.local import model_registry
from mlops.local.plan import Plan, build_plan
from mlops.local.runner import Progress, RunResult, run_plan
from mlops.settings import PipelineSettings
from mlops.versions import content_hash

# Notes for the summary: what a local run does differently from Azure ML.
ENVIRONMENT_NOTE = "steps ran in this project's Python environment, not in their Azure ML environment image"


@dataclass(frozen=True)
class RunOutcome:
    plan: Plan
    result: RunResult
    decision: Mapping[str, Any] | None  # the evaluate step's decision.json
    model_version: str | None  # the local registry's version of the promoted model
    notes: tuple[str, ...]


def project_spec(settings: PipelineSettings, cache_dir: Path) -> dict[str, Any]:
    """The project pipeline's YAML form, cached by the content it is built from (building imports the SDK: ~2 s)."""
    root = settings.root
    material = [
        content_hash(root / "components"),
        content_hash(root / "mlops" / "pipeline.py"),
        json.dumps(dict(settings.inputs), sort_keys=True),
        version("azure-ai-ml"),
    ]
    key = hashlib.sha256("\n".join(material).encode()).hexdigest()
    cached = cache_dir / f"spec-{key}.json"
    if cached.is_file():
        return json.loads(cached.read_text(encoding="utf-8"))
    from mlops.pipeline import build_pipeline, local_spec

    spec = local_spec(build_pipeline(settings))
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = cached.with_suffix(".tmp")
    temporary.write_text(json.dumps(spec, default=str), encoding="utf-8")
    os.replace(temporary, cached)
    return spec


def run(
    settings: PipelineSettings,
    *,
    file: Path | None = None,
    overrides: Mapping[str, str] | None = None,
    force: bool = False,
    runs_dir: Path | None = None,
    register: bool = True,
    progress: Progress = lambda step, event, result: None,
) -> RunOutcome:
    runs_dir = runs_dir or settings.root / "runs"
    if file is not None:
        if not file.is_file():  # before importing the SDK, which takes seconds
            raise MlopsError(f"pipeline file {file} does not exist")
        from mlops.pipeline import load_pipeline_file, local_spec

        spec, base_dir = local_spec(load_pipeline_file(file)), file.resolve().parent
    else:
        spec, base_dir = project_spec(settings, runs_dir / ".cache"), settings.root
    plan = build_plan(spec, base_dir, overrides)

    experiment = plan.name.replace(" ", "-")
    if not model_registry.experiment_exists(settings.mlruns, experiment):
        model_registry.ensure_experiment(settings.mlruns, experiment)
    env = {
        "MLFLOW_TRACKING_URI": model_registry.tracking_uri(settings.mlruns),
        "MLFLOW_EXPERIMENT_NAME": experiment,
    }
    run_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
    result = run_plan(plan, runs_dir, run_id, env, force=force, progress=progress)

    decision = None
    model_version = None
    if result.ok and {"model", "evaluation"} <= set(plan.outputs):
        decision_file = result.output(plan, "evaluation") / "decision.json"
        if not decision_file.is_file():
            raise MlopsError(f"the pipeline's evaluation output has no {decision_file.name}: {decision_file.parent}")
        decision = json.loads(decision_file.read_text(encoding="utf-8"))
        if decision.get("promote") and register:
            model_version = register_once(settings, result.output(plan, "model"), run_id, decision, runs_dir)
    return RunOutcome(plan, result, decision, model_version, (*plan.notes, ENVIRONMENT_NOTE))


def register_once(
    settings: PipelineSettings, model: Path, run_id: str, decision: Mapping[str, Any], runs_dir: Path
) -> str:
    """Register a promoted model; the same model (by content, say from a cached re-run) is registered only once."""
    marker = runs_dir / ".cache" / f"registered-{content_hash(model)}.json"
    if marker.is_file() and (settings.mlruns / "mlflow.db").is_file():
        return json.loads(marker.read_text(encoding="utf-8"))["version"]
    tags = {"run": run_id, "source": "local", decision["primary_metric"]: str(decision["value"])}
    model_version = model_registry.register_model(settings.mlruns, settings.model_name, model, tags)
    marker.write_text(json.dumps({"version": model_version, "run": run_id}), encoding="utf-8")
    return model_version
