"""`mlops run`: execute the training pipeline (or any pipeline YAML of command components) on this machine."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from mlops.errors import MlopsError
from mlops.local import model_registry, pipeline_file
from mlops.local.executor import StepResult
from mlops.local.plan import Plan, Step, build_plan
from mlops.local.runner import Progress, RunResult, run_plan
from mlops.settings import PipelineSettings
from mlops.versions import content_hash

# Notes for the summary: what a local run does differently from Azure ML.
ENVIRONMENT_NOTE = "steps ran in this project's Python environment, not in their Azure ML environment image"

Announce = Callable[[str], None]  # what the run is doing before and after its steps (the slow parts)


@dataclass(frozen=True)
class RunOutcome:
    plan: Plan
    result: RunResult
    # The project's own pipeline (not a --file): only it has an evaluation to summarise and a model to register.
    project_pipeline: bool
    decision: Mapping[str, Any] | None  # the evaluate step's decision.json
    model_version: str | None  # the local registry's version of the promoted model
    notes: tuple[str, ...]  # what the steps say about the data (summary.json), then how the run differs from Azure ML
    hints: Mapping[str, str]  # failed step -> what to do about it, when its log tells
    model_name: str | None = None  # the name the model is (or would be) registered under


def _quiet(message: str) -> None:
    pass


def _cached_spec(cache_dir: Path, material: list[str], build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A pipeline's YAML form from the SDK, cached by what it is built from (the SDK's import alone takes ~2 s)."""
    key = hashlib.sha256("\n".join([*material, version("azure-ai-ml")]).encode()).hexdigest()
    cached = cache_dir / f"spec-{key}.json"
    if cached.is_file():
        return json.loads(cached.read_text(encoding="utf-8"))
    spec = build()
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = cached.with_suffix(".tmp")
    temporary.write_text(json.dumps(spec, default=str), encoding="utf-8")
    os.replace(temporary, cached)
    return spec


def project_spec(settings: PipelineSettings, cache_dir: Path, announce: Announce = _quiet) -> dict[str, Any]:
    """The project pipeline's YAML form, built from components/, mlops/pipeline.py and config/pipeline.toml."""
    root = settings.root
    material = [
        content_hash(root / "components"),
        content_hash(root / "mlops" / "pipeline.py"),
        json.dumps(dict(settings.inputs), sort_keys=True),
    ]

    def build() -> dict[str, Any]:
        announce("building the pipeline with the Azure ML SDK (kept until the pipeline changes)")
        from mlops.pipeline import build_pipeline, local_spec

        return local_spec(build_pipeline(settings))

    return _cached_spec(cache_dir, material, build)


def file_spec(pipeline: pipeline_file.PipelineFile, cache_dir: Path, announce: Announce = _quiet) -> dict[str, Any]:
    """A pipeline file's YAML form as the SDK loads and validates it, with the values as written."""

    def build() -> dict[str, Any]:
        announce(f"loading {pipeline.path} with the Azure ML SDK (kept until the file changes)")
        from mlops.pipeline import load_pipeline_file, local_spec

        return local_spec(load_pipeline_file(pipeline.path), pipeline.tree)

    return _cached_spec(cache_dir, ["file", pipeline.digest], build)


def plan_pipeline(
    settings: PipelineSettings,
    file: Path | None,
    overrides: Mapping[str, str],
    cache_dir: Path,
    announce: Announce = _quiet,
) -> Plan:
    """The project's pipeline, or the pipeline in ``file``; what cannot run here is refused before any step runs."""
    if file is None:
        on_azure = "run it on Azure ML with `python -m mlops submit --env <env>`"
        return build_plan(project_spec(settings, cache_dir, announce), settings.root, overrides, on_azure=on_azure)
    written = pipeline_file.read(file)
    on_azure = f"run it on Azure ML with `az ml job create --file {file}`"
    base_dir = file.resolve().parent
    if written.plannable:
        # The file as written, before the SDK's import: most refusals are plain here.
        try:
            build_plan(written.tree, base_dir, overrides, on_azure=on_azure)
        except MlopsError:
            raise
        except Exception:  # a form only the SDK reads: the plan of its parse, below, reports what is wrong
            pass
    return build_plan(file_spec(written, cache_dir, announce), base_dir, overrides, on_azure=on_azure)


def failure_hint(step: Step, failure: StepResult) -> str | None:
    """A failed step's cause that a local run itself explains: a module its Azure ML environment would have."""
    if not failure.missing_module:
        return None
    declared = step.component.environment
    environment = f"its Azure ML environment ({declared})" if declared else "an Azure ML environment"
    return (
        f"steps run in this project's .venv, not in {environment}, and '{failure.missing_module}' is not installed "
        "here: add the package that provides it to pyproject.toml's dependencies and run `make setup`"
    )


def run(
    settings: PipelineSettings,
    *,
    file: Path | None = None,
    overrides: Mapping[str, str] | None = None,
    force: bool = False,
    runs_dir: Path | None = None,
    register: bool = True,
    progress: Progress = lambda step, event, result: None,
    announce: Announce = _quiet,
) -> RunOutcome:
    runs_dir = runs_dir or settings.root / "runs"
    project_pipeline = file is None
    plan = plan_pipeline(settings, file, overrides or {}, runs_dir / ".cache", announce)

    experiment = plan.name.replace(" ", "-")
    if not model_registry.experiment_exists(settings.mlruns, experiment):
        announce(f"creating the MLflow experiment '{experiment}' in {settings.mlruns}")
        model_registry.ensure_experiment(settings.mlruns, experiment)
    env = {
        "MLFLOW_TRACKING_URI": model_registry.tracking_uri(settings.mlruns),
        "MLFLOW_EXPERIMENT_NAME": experiment,
    }
    run_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
    result = run_plan(plan, runs_dir, run_id, env, force=force, progress=progress)

    decision = None
    model_version = None
    model_name = settings.model_name_for(dict(overrides or {})) if project_pipeline else None
    if project_pipeline and result.ok:
        decision_file = result.output(plan, "evaluation") / "decision.json"
        if not decision_file.is_file():
            raise MlopsError(f"the pipeline's evaluation output has no {decision_file.name}: {decision_file.parent}")
        decision = json.loads(decision_file.read_text(encoding="utf-8"))
        if decision.get("promote") and register:
            announce("registering the model in the local MLflow registry")
            model = result.output(plan, "model")
            model_version = register_once(settings, model, run_id, decision, model_name, experiment)
    hints = {f.name: hint for f in result.failed if (hint := failure_hint(plan.steps[f.name], f))}
    data_notes = step_notes(plan, result) if project_pipeline else []  # summary.json is this project's convention
    notes = (*data_notes, *plan.notes, ENVIRONMENT_NOTE)
    return RunOutcome(plan, result, project_pipeline, decision, model_version, notes, hints, model_name)


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
