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
    notes: tuple[str, ...]  # what the steps say about the data (summary.json), then how the run differs from Azure ML
    model_name: str | None = None  # the name the model is (or would be) registered under


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
    model_name = settings.model_name if file is not None else settings.model_name_for(dict(overrides or {}))
    if result.ok and {"model", "evaluation"} <= set(plan.outputs):
        decision_file = result.output(plan, "evaluation") / "decision.json"
        if not decision_file.is_file():
            raise MlopsError(f"the pipeline's evaluation output has no {decision_file.name}: {decision_file.parent}")
        decision = json.loads(decision_file.read_text(encoding="utf-8"))
        if decision.get("promote") and register:
            model = result.output(plan, "model")
            model_version = register_once(settings, model, run_id, decision, model_name, experiment)
    notes = (*step_notes(plan, result), *plan.notes, ENVIRONMENT_NOTE)
    return RunOutcome(plan, result, decision, model_version, notes, model_name)


def step_notes(plan: Plan, result: RunResult) -> list[str]:
    """The notes a step leaves for the run summary: ``notes`` in a ``summary.json`` among its outputs (data_prep
    writes one saying what it did with each column), prefixed with the step's name."""
    notes = []
    for name in plan.order():
        step = result.steps.get(name)
        for output in step.outputs.values() if step and step.ok else ():
            summary = output / "summary.json"
            if summary.is_file():
                try:
                    lines = json.loads(summary.read_text(encoding="utf-8")).get("notes", [])
                except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
                    lines = [f"{summary} is not readable JSON"]
                notes += [f"{name}: {line}" for line in lines if isinstance(line, str)]
    return notes


def register_once(
    settings: PipelineSettings, model: Path, run_id: str, decision: Mapping[str, Any], name: str, experiment: str
) -> str:
    """Register a promoted model; the same model (by content, say from a cached re-run) is registered only once.

    The registry itself is asked, by the content key tagged on each version, so a deleted or replaced mlruns/ means
    registering again rather than reporting a version that is not there."""
    key = content_hash(model)
    existing = model_registry.find_version(settings.mlruns, name, key)
    if existing is not None:
        return existing
    tags = {"run": run_id, "source": "local", "content_key": key, decision["primary_metric"]: str(decision["value"])}
    return model_registry.register_model(settings.mlruns, name, model, tags, experiment)
