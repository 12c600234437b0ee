"""What to run: an Azure ML pipeline job, in its YAML form, turned into steps, resolved inputs and a step graph.

The input is the dictionary the SDK itself produces (``PipelineJob._to_dict()``, the same shape as a pipeline
YAML), so this module never re-implements how a pipeline is declared: it only resolves the ``${{parent...}}``
bindings that Azure ML would resolve, checks what Azure ML would reject (and what it silently accepts but we should
not), and refuses, before anything runs, the features that have no local meaning.
"""

from __future__ import annotations

import difflib
import graphlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops.errors import MlopsError

BINDING = re.compile(
    r"^\$\{\{\s*parent\.(?:inputs\.(?P<input>\w+)|jobs\.(?P<job>\w+)\.outputs\.(?P<output>\w+))\s*\}\}$"
)
PARENT_OUTPUT = re.compile(r"^\$\{\{\s*parent\.outputs\.(\w+)\s*\}\}$")
REMOTE_PREFIXES = ("azureml:", "http://", "https://", "wasbs://", "abfss://", "adl://", "s3://", "gs://")
FILE_TYPES = frozenset({"uri_file"})
FOLDER_TYPES = frozenset({"uri_folder", "mlflow_model", "custom_model", "mltable", "triton_model"})
PATH_TYPES = FILE_TYPES | FOLDER_TYPES
LITERAL_TYPES = {"integer": int, "number": float, "boolean": bool, "string": str}

Literal = int | float | bool | str


@dataclass(frozen=True)
class InputSpec:
    """One input a component declares."""

    name: str
    type: str
    default: Literal | None = None
    optional: bool = False
    min: float | None = None
    max: float | None = None
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Component:
    name: str
    command: str
    code: Path | None
    inputs: Mapping[str, InputSpec]
    outputs: Mapping[str, str]
    environment_variables: Mapping[str, str]
    deterministic: bool
    spec: Mapping[str, Any] = field(repr=False)  # the whole spec, for the cache key


@dataclass(frozen=True)
class Upstream:
    """An input wired to another step's output."""

    step: str
    output: str


@dataclass(frozen=True)
class Step:
    name: str
    component: Component
    inputs: Mapping[str, Literal | Path | Upstream]  # unset optional inputs are absent
    environment_variables: Mapping[str, str]


@dataclass(frozen=True)
class Plan:
    name: str
    steps: Mapping[str, Step]
    outputs: Mapping[str, Upstream]  # the pipeline's own outputs
    notes: tuple[str, ...]  # what a local run does differently from Azure ML, said in the summary

    def dependencies(self) -> dict[str, set[str]]:
        return {
            name: {value.step for value in step.inputs.values() if isinstance(value, Upstream)}
            for name, step in self.steps.items()
        }

    def order(self) -> list[str]:
        return list(graphlib.TopologicalSorter(self.dependencies()).static_order())


def _where(step: str, name: str) -> str:
    return f"step '{step}', input '{name}'"


def coerce_literal(value: Any, spec: InputSpec, where: str) -> Literal:
    """A literal in its declared type, inside its declared range: what Azure ML only finds out at run time."""
    kind = LITERAL_TYPES.get(spec.type)
    if kind is None:
        raise MlopsError(f"{where} has type '{spec.type}', which takes a path, but got the value {value!r}")
    try:
        if kind is bool:
            if isinstance(value, str) and value.lower() in {"true", "false"}:
                value = value.lower() == "true"
            if not isinstance(value, bool):
                raise ValueError
            coerced: Literal = value
        elif kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            coerced = int(value)
        elif kind is float:
            if isinstance(value, bool):
                raise ValueError
            coerced = float(value)
        else:
            coerced = str(value)
    except (TypeError, ValueError):
        raise MlopsError(f"{where} expects {spec.type}, got {value!r}") from None
    if spec.min is not None and coerced < spec.min:
        raise MlopsError(f"{where} is {coerced}, below its minimum {spec.min}")
    if spec.max is not None and coerced > spec.max:
        raise MlopsError(f"{where} is {coerced}, above its maximum {spec.max}")
    if spec.enum and coerced not in spec.enum:
        raise MlopsError(f"{where} is {coerced!r}, expected one of {', '.join(spec.enum)}")
    return coerced


def _number(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def parse_component(spec: Any, step: str, base_dir: Path) -> Component:
    if not isinstance(spec, Mapping):
        raise MlopsError(
            f"step '{step}' uses the registered component {spec!r}; a local run needs the component's spec: "
            "reference its YAML file (component: ./path/spec.yaml) instead"
        )
    if spec.get("type", "command") != "command":
        raise MlopsError(f"step '{step}' is a {spec['type']} component; the local runner runs command components only")
    inputs = {}
    for name, raw in (spec.get("inputs") or {}).items():
        enum = raw.get("enum")
        inputs[name] = InputSpec(
            name=name,
            type=raw.get("type", "string"),
            default=raw.get("default"),
            optional=bool(raw.get("optional", False)),
            min=_number(raw.get("min")),
            max=_number(raw.get("max")),
            enum=tuple(str(e) for e in enum) if enum else None,
        )
    code = spec.get("code")
    if isinstance(code, str) and code.startswith(REMOTE_PREFIXES):
        raise MlopsError(f"step '{step}' takes its code from {code}; a local run needs the code on disk")
    return Component(
        name=spec.get("name", step),
        command=spec["command"],
        code=(base_dir / code).resolve() if code else None,
        inputs=inputs,
        outputs={name: (raw or {}).get("type", "uri_folder") for name, raw in (spec.get("outputs") or {}).items()},
        environment_variables={k: str(v) for k, v in (spec.get("environment_variables") or {}).items()},
        deterministic=bool(spec.get("is_deterministic", True)),
        spec=spec,
    )


def _unwrap(value: Any) -> Any:
    """Input values come as literals, binding strings, or {type, path|value, mode} mappings."""
    if isinstance(value, Mapping):
        for key in ("path", "value", "default"):
            if key in value:
                return value[key]
        return None
    return value


def _local_path(value: Any, where: str, base_dir: Path) -> Path:
    text = str(value)
    if text.startswith(REMOTE_PREFIXES) or "://" in text:
        raise MlopsError(
            f"{where} points at {text}, which is not on this machine; a local run reads local files "
            "(pass --set <input>=<local path>, or run the pipeline on Azure ML with `mlops submit`)"
        )
    path = (base_dir / text).resolve()
    if not path.exists():
        raise MlopsError(f"{where} points at {path}, which does not exist")
    return path


def _check_wiring(out_type: str, spec: InputSpec, where: str, source: str) -> None:
    if (spec.type in FILE_TYPES and out_type in FOLDER_TYPES) or (spec.type in FOLDER_TYPES and out_type in FILE_TYPES):
        raise MlopsError(f"{where} is a {spec.type} but is wired to {source}, a {out_type}: make the types agree")
    if spec.type in LITERAL_TYPES:
        raise MlopsError(f"{where} is a {spec.type} literal but is wired to the output {source}")


def build_plan(job: Mapping[str, Any], base_dir: Path, overrides: Mapping[str, str] | None = None) -> Plan:
    """Resolve every binding and check every value; raise MlopsError for anything a local run cannot honour."""
    jobs = job.get("jobs") or {}
    if not jobs:
        raise MlopsError("the pipeline has no jobs to run")
    parent_inputs = {name: _unwrap(value) for name, value in (job.get("inputs") or {}).items()}
    for name, value in (overrides or {}).items():
        if name not in parent_inputs:
            close = difflib.get_close_matches(name, parent_inputs, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise MlopsError(f"unknown pipeline input '{name}'; {hint}inputs are: {', '.join(sorted(parent_inputs))}")
        parent_inputs[name] = value

    notes: list[str] = []
    components: dict[str, Component] = {}
    for step, node in jobs.items():
        node_type = node.get("type", "command")
        if node_type != "command":
            raise MlopsError(
                f"step '{step}' is a {node_type} job; the local runner runs command steps only "
                "(submit sweeps, parallel and nested pipelines to Azure ML)"
            )
        components[step] = parse_component(node.get("component"), step, base_dir)
        if node.get("compute") or (node.get("resources") or {}).get("instance_count", 1) != 1:
            notes.append(f"{step}: ran on this machine instead of its Azure ML compute")

    steps: dict[str, Step] = {}
    for step, node in jobs.items():
        component = components[step]
        given = node.get("inputs") or {}
        unknown = set(given) - set(component.inputs)
        if unknown:
            raise MlopsError(f"step '{step}' sets inputs its component does not declare: {', '.join(sorted(unknown))}")
        inputs: dict[str, Literal | Path | Upstream] = {}
        for name, spec in component.inputs.items():
            where = _where(step, name)
            value = _unwrap(given.get(name))
            match = BINDING.match(value) if isinstance(value, str) else None
            if match and match["input"]:
                if match["input"] not in parent_inputs:
                    raise MlopsError(
                        f"{where} is bound to the pipeline input '{match['input']}', which is not declared"
                    )
                value = parent_inputs[match["input"]]
                where += f" (pipeline input '{match['input']}')"
            elif match:
                source, output = match["job"], match["output"]
                if source not in components or output not in components[source].outputs:
                    raise MlopsError(f"{where} is bound to {source}.{output}, which no step produces")
                _check_wiring(components[source].outputs[output], spec, where, f"{source}.{output}")
                inputs[name] = Upstream(source, output)
                continue
            if value is None:
                value = spec.default  # Azure ML fills unset inputs with the component's defaults too
            if value is None:
                if not spec.optional:
                    raise MlopsError(f"{where} is required but has no value and no default")
                continue
            if spec.type in PATH_TYPES:
                inputs[name] = _local_path(value, where, base_dir)
                if spec.type in FILE_TYPES and inputs[name].is_dir():
                    raise MlopsError(f"{where} is a uri_file but {inputs[name]} is a folder")
            else:
                inputs[name] = coerce_literal(value, spec, where)
        env = {
            **component.environment_variables,
            **{k: str(v) for k, v in (node.get("environment_variables") or {}).items()},
        }
        steps[step] = Step(step, component, inputs, env)

    outputs: dict[str, Upstream] = {}
    for step, node in jobs.items():
        for output, value in (node.get("outputs") or {}).items():
            bound = PARENT_OUTPUT.match(value) if isinstance(value, str) else None
            if bound:
                outputs[bound.group(1)] = Upstream(step, output)

    plan = Plan(str(job.get("display_name") or job.get("name") or "pipeline"), steps, outputs, tuple(notes))
    try:
        plan.order()
    except graphlib.CycleError as error:
        raise MlopsError(f"the steps depend on each other in a cycle: {' -> '.join(error.args[1])}") from None
    return plan
