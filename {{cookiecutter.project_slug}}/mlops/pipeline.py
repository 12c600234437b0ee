"""The training pipeline: the one definition of the graph, for the local engine and for Azure ML alike.

Two ways of defining a component are shown side by side, as in the Azure ML tutorial this project grew from:
``data_prep`` is built in Python with the SDK's ``command()`` (components/data_prep/component.py), while ``train``
and ``evaluate`` are loaded from their YAML specs. Building and validating needs no credentials and no network.
"""

# No `from __future__ import annotations` here: dsl.pipeline reads the parameter annotations as objects.
import difflib
import importlib.util
import inspect
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from azure.ai.ml import Input, dsl, load_component, load_job
from azure.ai.ml.entities import PipelineJob

from mlops.errors import MlopsError
from mlops.settings import PipelineSettings

SCHEMA_REFERENCE = "https://aka.ms/ml-cli-v2-job-pipeline-yaml-reference"
OPENMP_ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE"}


def components(folder: Path) -> dict[str, Any]:
    """Fresh component objects from the project's ``components/`` folder, keyed by pipeline step (callers may set
    versions on them)."""
    spec = importlib.util.spec_from_file_location("data_prep_component", folder / "data_prep" / "component.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {
        "data_prep": module.data_prep_component(),
        "train": load_component(source=folder / "train" / "train.yaml"),
        "evaluate": load_component(source=folder / "evaluate" / "evaluate.yaml"),
    }


def build_pipeline(
    settings: PipelineSettings,
    compute: str | None = None,
    steps: Mapping[str, Any] | None = None,
    input_data: str | None = None,
) -> PipelineJob:
    """The pipeline job with the settings' inputs.

    On Azure ML, ``compute`` is the cluster, ``steps`` the registered components (so the job references them by
    name and version) and ``input_data`` the registered data asset (``azureml:name:version``).
    """
    steps = steps or components(settings.components)

    @dsl.pipeline(
        name="training_pipeline",
        display_name="training pipeline",
        description="Prepare the data, train a model, evaluate it and decide whether to promote it.",
        default_compute=compute,
    )
    def training_pipeline(
        input_data: Input(type="uri_file"),
        target_column: str,
        task: str,
        delimiter: str,
        encoding: str,
        max_classes: int,
        test_size: float,
        seed: int,
        algorithm: str,
        n_estimators: int,
        max_depth: int,
        class_weight: str,
        primary_metric: str,
        min_improvement: float,
        feature_columns: Input(type="string", optional=True) = None,
        drop_columns: Input(type="string", optional=True) = None,
        threshold: Input(type="number", optional=True) = None,  # unset: the primary metric's default
        baseline_model: Input(type="mlflow_model", optional=True) = None,
    ) -> dict[str, Any]:
        data_prep = steps["data_prep"](
            input_data=input_data,
            target_column=target_column,
            task=task,
            feature_columns=feature_columns,
            drop_columns=drop_columns,
            delimiter=delimiter,
            encoding=encoding,
            max_classes=max_classes,
            test_size=test_size,
            seed=seed,
        )
        train = steps["train"](
            prepped_data=data_prep.outputs.prepped_data,
            algorithm=algorithm,
            n_estimators=n_estimators,
            max_depth=max_depth,
            class_weight=class_weight,
            seed=seed,
        )
        evaluate = steps["evaluate"](
            model=train.outputs.model_output,
            prepped_data=data_prep.outputs.prepped_data,
            primary_metric=primary_metric,
            threshold=threshold,
            min_improvement=min_improvement,
            baseline_model=baseline_model,  # optional: the model to beat, e.g. the one in production
        )
        # OpenMP threads that sleep instead of spinning while they wait: gradient boosting was ten times slower with
        # spinning threads on a machine whose cores other work shares (a laptop, a CI runner). No loop here: the
        # pipeline names its steps after these local variables.
        train.environment_variables = dict(OPENMP_ENVIRONMENT)
        evaluate.environment_variables = dict(OPENMP_ENVIRONMENT)
        return {"model": train.outputs.model_output, "evaluation": evaluate.outputs.evaluation}

    inputs = {name: _literal(name, value) for name, value in settings.inputs.items()}
    _check_names(inputs, list(inspect.signature(training_pipeline).parameters))
    data = Input(type="uri_file", path=input_data or inputs.pop("input_data"))
    inputs.pop("input_data", None)
    return training_pipeline(**{k: v for k, v in inputs.items() if v is not None}, input_data=data)


def _check_names(inputs: Mapping[str, Any], known: list[str]) -> None:
    """A name in config/pipeline.toml [inputs] that the pipeline does not take is a typo to name, not an SDK
    traceback."""
    unknown = [name for name in inputs if name not in known]
    if unknown:
        close = {name: difflib.get_close_matches(name, known, n=1) for name in unknown}
        named = ", ".join(
            f"'{name}'" + (f" (did you mean '{close[name][0]}'?)" if close[name] else "") for name in unknown
        )
        raise MlopsError(
            f"config/pipeline.toml [inputs] has {named}, which the pipeline does not take. Its inputs: "
            f"{', '.join(known)}."
        )


def _literal(name: str, value: Any) -> Any:
    """A pipeline input from config: a list of column names becomes the comma-separated text the step takes, and an
    empty list or text leaves the input unset. A TOML table or date is no input value: named here, not by the SDK."""
    if not isinstance(value, str | bool | int | float | list):
        kind = "table" if isinstance(value, dict) else type(value).__name__
        raise MlopsError(
            f"config/pipeline.toml [inputs] {name} is a TOML {kind}; give it a number, text in quotes, true or false, "
            "or a list of column names"
        )
    if isinstance(value, list):
        value = ",".join(str(item) for item in value)
    return None if value == "" else value


def load_pipeline_file(path: Path) -> PipelineJob:
    """Any pipeline YAML of command components, loaded by the SDK itself."""
    if not path.is_file():
        raise MlopsError(f"pipeline file {path} does not exist")
    try:
        job = load_job(source=path)
    except Exception as error:  # the SDK raises many types for a bad file; all mean "fix the YAML"
        raise MlopsError(f"{path} is not a pipeline job the Azure ML SDK accepts: {_first_problem(error)}") from None
    if not isinstance(job, PipelineJob):
        raise MlopsError(f"{path} is not a pipeline job (type: pipeline): the SDK reads a {type(job).__name__}")
    return job


def _first_problem(error: Exception) -> str:
    """The first problem of the SDK's validation report (tens of lines of JSON), on one line."""
    text = str(error)
    found = re.search(r'"message":\s*("(?:[^"\\]|\\.)*"),\s*"path":\s*"([^"]*)"', text)
    if not found:
        return next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    message = json.loads(found[1])
    if message.startswith("{") or len(message) > 200:  # a nested report of every schema it tried
        message = "not valid here"
    return f"{found[2]}: {message.splitlines()[0]} (schema: {SCHEMA_REFERENCE})"


def local_spec(job: PipelineJob, written: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The job in its YAML form, with its input values as written.

    The SDK's dump loses two things a local run needs: booleans become 1 and 0, and every data path gets an
    ``azureml:`` prefix, so a local file and a workspace data asset look alike. The values come back from the YAML as
    written (``written``, for a pipeline file) or else from the job object, which holds them as given in Python.
    """
    spec = job._to_dict()
    spec.setdefault("inputs", {})
    declared = getattr(job.component, "inputs", None) or {}  # a dsl pipeline's own declaration
    for name in declared:
        spec["inputs"].setdefault(name, None)  # declared but unset (an optional input): still settable by --set
    if written is not None:
        _restore_written(spec, written)
    else:
        for name, value in job.inputs.items():
            _restore_object(spec["inputs"], name, value)
        _restore_nodes(spec, job.jobs)
    return spec


def _restore_written(spec: dict[str, Any], written: Mapping[str, Any]) -> None:
    """A pipeline's (or pipeline component's) input values, and its steps', from the YAML as written."""
    for name, value in (written.get("inputs") or {}).items():
        if name in (spec.get("inputs") or {}):
            spec["inputs"][name] = value
    for step, node in (spec.get("jobs") or {}).items():
        written_node = (written.get("jobs") or {}).get(step) or {}
        for name, value in (written_node.get("inputs") or {}).items():
            node.setdefault("inputs", {})[name] = value
        component, written_component = node.get("component"), written_node.get("component")
        if isinstance(component, dict) and isinstance(written_component, Mapping) and "jobs" in component:
            _restore_written(component, {"jobs": written_component.get("jobs")})


def _restore_nodes(spec: dict[str, Any], nodes: Mapping[str, Any]) -> None:
    for step, node in nodes.items():
        target = spec["jobs"][step]
        for name, value in node.inputs.items():
            _restore_object(target.setdefault("inputs", {}), name, value)
        inner = getattr(node.component, "jobs", None)  # a pipeline component built with @pipeline
        if inner and isinstance(target.get("component"), dict):
            _restore_nodes(target["component"], inner)


def _restore_object(target: dict[str, Any], name: str, value: Any) -> None:
    data = getattr(value, "_data", value)  # bindings hold PipelineInput/NodeOutput here, data an Input
    if isinstance(data, Input) and data.path is not None and isinstance(target.get(name), Mapping):
        target[name] = {**target[name], "path": str(data.path)}
    elif isinstance(data, bool) and name in target:
        target[name] = data
