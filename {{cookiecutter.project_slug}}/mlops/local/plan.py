"""What to run: an Azure ML pipeline job, in its YAML form, turned into steps, resolved inputs and a step graph.

The input is the pipeline's YAML form: the dictionary the SDK itself produces (``PipelineJob._to_dict()``), or a
pipeline file as written (pipeline_file.py), so this module never re-implements how a pipeline is declared: it only
resolves the ``${{parent...}}`` bindings that Azure ML would resolve, flattens pipeline components into their command
steps, checks what Azure ML would reject (and what it silently accepts but we should not), and refuses, before
anything runs, the features that have no local meaning. What a local run does differently is collected as notes.
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
DATA_ASSET = re.compile(r"^azureml:(?!//)(?P<name>[^:@/]+)(?:[:@](?P<version>.+))?$")  # azureml:name:1, name@latest
FILE_TYPES = frozenset({"uri_file"})
FOLDER_TYPES = frozenset({"uri_folder", "mlflow_model", "custom_model", "mltable", "triton_model"})
PATH_TYPES = FILE_TYPES | FOLDER_TYPES
LITERAL_TYPES = {"integer": int, "number": float, "boolean": bool, "string": str}
# Every command job's own folder of artifacts (what it wrote to ./outputs and ./logs), bindable downstream as
# ${{parent.jobs.<step>.outputs.default}}: the SDK calls it DEFAULT_ARTIFACT_STORE_OUTPUT_NAME.
ARTIFACTS = "default"
STEP_TYPES = ("command", "pipeline")  # a pipeline step is a pipeline component: flattened into its command steps
AZURE_HINT = "run it on Azure ML with `az ml job create --file <pipeline.yml>`"  # the advice for what only Azure runs

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
    outputs: Mapping[str, str]  # name -> type
    environment_variables: Mapping[str, str]
    deterministic: bool
    spec: Mapping[str, Any] = field(repr=False)  # the whole spec, for the cache key

    @property
    def environment(self) -> str | None:
        """The Azure ML environment the component declares, as written (steps run in this project's instead)."""
        declared = self.spec.get("environment")
        if isinstance(declared, Mapping):
            declared = declared.get("image") or declared.get("name")
        return str(declared) if declared else None


@dataclass(frozen=True)
class Upstream:
    """An input wired to another step's output."""

    step: str
    output: str


@dataclass(frozen=True)
class Step:
    name: str  # a step inside a pipeline component is named after it: "<pipeline step>.<step>"
    component: Component
    inputs: Mapping[str, Literal | Path | Upstream]  # unset optional inputs are absent
    environment_variables: Mapping[str, str]
    timeout: float | None = None  # limits.timeout, in seconds: Azure ML cancels the job after it


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


@dataclass(frozen=True)
class Given:
    """A value as written, before a component's declaration gives it a type.

    ``base`` is where a relative path starts (the pipeline file's folder, or the current folder for ``--set``);
    ``setting`` is the ``--set`` name that replaces it; ``origin`` names a pipeline input it came through.
    """

    value: Any
    base: Path
    setting: str
    origin: str | None = None


def _where(step: str, name: str) -> str:
    return f"step '{step}', input '{name}'"


def with_article(noun: str) -> str:
    """ "a sweep job", "an automl job"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _show(number: float, kind: str) -> str:
    """A bound as the user wrote it: integers without a decimal point."""
    return str(int(number)) if kind == "integer" and float(number).is_integer() else str(number)


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
        raise MlopsError(f"{where} is {coerced}, below its minimum {_show(spec.min, spec.type)}")
    if spec.max is not None and coerced > spec.max:
        raise MlopsError(f"{where} is {coerced}, above its maximum {_show(spec.max, spec.type)}")
    if spec.enum and coerced not in spec.enum:
        raise MlopsError(f"{where} is {coerced!r}, expected one of {', '.join(spec.enum)}")
    return coerced


def _number(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def _input_specs(declared: Mapping[str, Any] | None) -> dict[str, InputSpec]:
    inputs = {}
    for name, raw in (declared or {}).items():
        raw = raw if isinstance(raw, Mapping) else {"type": raw}
        enum = raw.get("enum")
        inputs[name] = InputSpec(
            name=name,
            type=raw.get("type", "string"),
            default=raw.get("default"),
            optional=str(raw.get("optional", False)).lower() == "true",
            min=_number(raw.get("min")),
            max=_number(raw.get("max")),
            enum=tuple(str(e) for e in enum) if enum else None,
        )
    return inputs


def parse_component(spec: Any, step: str, base_dir: Path) -> Component:
    if not isinstance(spec, Mapping):
        raise MlopsError(
            f"step '{step}' uses the registered component {spec!r}; a local run needs the component's spec: "
            "reference its YAML file (component: ./path/spec.yaml) instead"
        )
    if spec.get("type", "command") != "command":
        kind = with_article(str(spec["type"]))
        raise MlopsError(f"step '{step}' is {kind} component; the local runner runs command components only")
    code = spec.get("code")
    if isinstance(code, str) and code.startswith(REMOTE_PREFIXES):
        raise MlopsError(f"step '{step}' takes its code from {code}; a local run needs the code on disk")
    return Component(
        name=spec.get("name", step),
        command=spec["command"],
        code=(base_dir / code).resolve() if code else None,
        inputs=_input_specs(spec.get("inputs")),
        outputs={name: (raw or {}).get("type", "uri_folder") for name, raw in (spec.get("outputs") or {}).items()},
        environment_variables={k: str(v) for k, v in (spec.get("environment_variables") or {}).items()},
        deterministic=str(spec.get("is_deterministic", True)).lower() == "true",
        spec=spec,
    )


def _unwrap(value: Any) -> Any:
    """Input and output values come as literals, binding strings, or {type, path|value, mode} mappings."""
    if isinstance(value, Mapping):
        for key in ("path", "value", "default"):
            if key in value:
                return value[key]
        return None
    return value


def _remote(text: str, where: str, given: Given, kind: str, on_azure: str) -> MlopsError:
    """Why a value that is not on this machine cannot be read, and the two ways forward."""
    local = "folder" if kind in FOLDER_TYPES else "file"
    asset = DATA_ASSET.match(text)
    if asset:
        what = f"is the workspace data asset {text}, which a local run cannot read"
    elif text.startswith("azureml://"):
        what = f"points at {text} in the workspace's storage, which a local run cannot read"
    else:
        what = f"points at {text}, which is not on this machine"
    return MlopsError(f"{where} {what}: run with a local copy, --set {given.setting}=<local {local}>, or {on_azure}")


def _local_path(given: Given, kind: str, where: str, on_azure: str) -> Path:
    text = str(given.value)
    if text.startswith(REMOTE_PREFIXES) or "://" in text:
        raise _remote(text, where, given, kind, on_azure)
    path = (given.base / text).resolve()
    if not path.exists():
        raise MlopsError(f"{where} points at {path}, which does not exist")
    if kind in FILE_TYPES and path.is_dir():
        raise MlopsError(f"{where} is a uri_file but {path} is a folder")
    return path


def _check_wiring(out_type: str, spec: InputSpec, where: str, source: str) -> None:
    if (spec.type in FILE_TYPES and out_type in FOLDER_TYPES) or (spec.type in FOLDER_TYPES and out_type in FILE_TYPES):
        raise MlopsError(f"{where} is a {spec.type} but is wired to {source}, a {out_type}: make the types agree")
    if spec.type in LITERAL_TYPES:
        raise MlopsError(f"{where} is a {spec.type} literal but is wired to the output {source}")


def _suggest(name: str, choices: list[str], kind: str) -> str:
    """A close name, then all of them: "did you mean 'word'? inputs are: data, word"."""
    close = difflib.get_close_matches(name, choices, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}{kind} are: {', '.join(sorted(choices)) or 'none'}"


class _Planner:
    """Walks the pipeline's levels: first what each step produces, then every step's inputs.

    A pipeline component is flattened: its steps are named "<its step name>.<step>", its inputs take their values
    from the step that uses it, and its outputs are the outputs of the steps they are bound to.
    """

    def __init__(self, base_dir: Path, cwd: Path, on_azure: str) -> None:
        self.base_dir, self.cwd, self.on_azure = base_dir, cwd, on_azure
        self.commands: dict[str, tuple[Mapping[str, Any], Component]] = {}
        self.pipelines: dict[str, Mapping[str, Any]] = {}  # qualified name -> its component's spec
        self.tables: dict[str, dict[str, dict[str, Upstream]]] = {}  # level prefix -> step -> output -> source
        self.steps: dict[str, Step] = {}
        self.notes: list[str] = []

    # -- what each step produces -------------------------------------------------------------------------------

    def index(self, jobs: Mapping[str, Any], prefix: str) -> dict[str, Upstream]:
        """Parse a level's steps; return what the level itself outputs (its ${{parent.outputs...}} bindings)."""
        if not jobs:
            raise MlopsError(f"the pipeline{f' step {prefix[:-1]!r}' if prefix else ''} has no jobs to run")
        table: dict[str, dict[str, Upstream]] = {}
        for name, node in jobs.items():
            qualified = prefix + name
            kind = str(node.get("type", "command"))
            if kind not in STEP_TYPES:
                raise MlopsError(
                    f"step '{qualified}' is {with_article(kind)} job; the local runner runs command steps "
                    f"(and pipeline components made of them) only: {self.on_azure}"
                )
            component = node.get("component")
            if kind == "pipeline":
                if not isinstance(component, Mapping) or "jobs" not in component:
                    raise MlopsError(
                        f"step '{qualified}' uses the registered pipeline component {component!r}; a local run needs "
                        "its spec: reference its YAML file (component: ./path/pipeline.yml) instead"
                    )
                self.pipelines[qualified] = component
                table[name] = self.index(component["jobs"], qualified + ".")
            else:
                parsed = parse_component(component, qualified, self.base_dir)
                self.commands[qualified] = (node, parsed)
                table[name] = {output: Upstream(qualified, output) for output in [*parsed.outputs, ARTIFACTS]}
                self._note_step(qualified, node)
        self.tables[prefix] = table
        outputs: dict[str, Upstream] = {}
        for name, node in jobs.items():
            for output, value in (node.get("outputs") or {}).items():
                target = _unwrap(value)
                bound = PARENT_OUTPUT.match(target) if isinstance(target, str) else None
                if output not in table[name]:
                    raise MlopsError(f"step '{prefix + name}' sets the output '{output}', which it does not declare")
                if bound:
                    outputs[bound.group(1)] = table[name][output]
                self.note_output(f"step '{prefix + name}'", output, value)
        return outputs

    def _note_step(self, step: str, node: Mapping[str, Any]) -> None:
        nodes = int((node.get("resources") or {}).get("instance_count") or 1)
        if node.get("compute") or nodes != 1:
            where = node.get("compute") or "its Azure ML compute"
            scale = f" ({nodes} nodes)" if nodes != 1 else ""
            self.notes.append(f"step '{step}': ran on this machine, not on {where}{scale}")
        distribution = node.get("distribution") or {}
        if distribution:
            kind = distribution.get("type", "")
            if kind == "tensorflow":  # workers in all, plus parameter servers
                workers = int(distribution.get("worker_count") or nodes)
                processes = workers + int(distribution.get("parameter_server_count") or 0)
            else:  # mpi, pytorch: processes per node
                processes = int(distribution.get("process_count_per_instance") or 1) * nodes
            runs = f"its {kind} distribution runs {processes} processes on Azure ML"
            self.notes.append(f"step '{step}': ran as one process; {runs}")

    def note_output(self, owner: str, output: str, value: Any) -> None:
        if not isinstance(value, Mapping):
            return
        path = value.get("path")
        if isinstance(path, str) and path.startswith(REMOTE_PREFIXES) and not PARENT_OUTPUT.match(path):
            self.notes.append(f"{owner}, output '{output}': stayed in the run folder; Azure ML writes it to {path}")
        if value.get("name"):
            asset = f"{value['name']}:{value['version']}" if value.get("version") else value["name"]
            self.notes.append(f"{owner}, output '{output}': not registered as the data asset {asset} (Azure ML would)")

    def _declared(self, step: str) -> list[str]:
        if step in self.pipelines:
            return list(self.pipelines[step].get("inputs") or {})
        return list(self.commands[step][1].inputs)

    def check_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> None:
        """Every `--set step.input` names a step (qualified inside pipeline components) and one of its inputs."""
        for step, names in overrides.items():
            if step not in self.pipelines and step not in self.commands:
                steps = _suggest(step, [*self.commands, *self.pipelines], "steps")
                raise MlopsError(f"--set {step}.{next(iter(names))}: unknown step '{step}'; {steps}")
            declared = self._declared(step)
            for name in names:
                if name not in declared:
                    raise MlopsError(f"step '{step}' has no input '{name}'; {_suggest(name, declared, 'its inputs')}")

    # -- every step's inputs -----------------------------------------------------------------------------------

    def resolve(
        self,
        jobs: Mapping[str, Any],
        prefix: str,
        inputs: Mapping[str, Given | Upstream],
        overrides: Mapping[str, Mapping[str, Any]],
    ) -> None:
        """Resolve the inputs of a level's steps; ``inputs`` are the level's own (a pipeline's or a component's)."""
        for name, node in jobs.items():
            step = prefix + name
            values = self._values(step, node, self.tables[prefix], inputs, overrides.get(step, {}))
            if step in self.pipelines:
                self.resolve(self.pipelines[step]["jobs"], step + ".", self._inner(step, values), overrides)
            else:
                self.steps[step] = self._step(step, values)

    def _values(
        self,
        step: str,
        node: Mapping[str, Any],
        table: Mapping[str, Mapping[str, Upstream]],
        inputs: Mapping[str, Given | Upstream],
        overrides: Mapping[str, Any],
    ) -> dict[str, Given | Upstream | None]:
        """Each declared input's value: set with --set, bound to the level's input or a step's output, or written."""
        declared = self._declared(step)
        given = dict(node.get("inputs") or {})
        if unknown := sorted(set(given) - set(declared)):
            raise MlopsError(f"step '{step}' sets inputs its component does not declare: {', '.join(unknown)}")
        values: dict[str, Given | Upstream | None] = {}
        for name in declared:
            if name in overrides:
                values[name] = Given(overrides[name], self.cwd, f"{step}.{name}")
                continue
            value = _unwrap(given.get(name))
            match = BINDING.match(value) if isinstance(value, str) else None
            if match and match["input"]:
                if match["input"] not in inputs:
                    raise MlopsError(
                        f"{_where(step, name)} is bound to the pipeline input '{match['input']}', which is not declared"
                    )
                values[name] = inputs[match["input"]]
            elif match:
                values[name] = table.get(match["job"], {}).get(match["output"])
                if values[name] is None:
                    source = f"{match['job']}.{match['output']}"
                    raise MlopsError(f"{_where(step, name)} is bound to {source}, which no step produces")
            else:
                values[name] = None if value is None else Given(value, self.base_dir, f"{step}.{name}")
        return values

    def _inner(self, step: str, values: Mapping[str, Given | Upstream | None]) -> dict[str, Given | Upstream]:
        """A pipeline component's inputs: the values its step gives, else the component's defaults."""
        inner: dict[str, Given | Upstream] = {}
        for name, spec in _input_specs(self.pipelines[step].get("inputs")).items():
            value = values[name]
            if value is None or (isinstance(value, Given) and value.value is None):
                value = Given(spec.default, self.base_dir, f"{step}.{name}")
            if isinstance(value, Given) and value.origin is None:
                value = Given(value.value, value.base, value.setting, f"input '{name}' of step '{step}'")
            inner[name] = value
        return inner

    def _step(self, name: str, values: Mapping[str, Given | Upstream | None]) -> Step:
        node, component = self.commands[name]
        inputs: dict[str, Literal | Path | Upstream] = {}
        for input_name, spec in component.inputs.items():
            where = _where(name, input_name)
            value = values[input_name]
            if isinstance(value, Upstream):
                out_type = self.commands[value.step][1].outputs.get(value.output, "uri_folder")
                _check_wiring(out_type, spec, where, f"{value.step}.{value.output}")
                inputs[input_name] = value
                continue
            if value is not None and value.origin:
                where += f" ({value.origin})"
            raw = None if value is None else value.value
            if raw is None:
                raw = spec.default  # Azure ML fills unset inputs with the component's defaults too
                value = Given(raw, self.base_dir, f"{name}.{input_name}")
            if raw is None:
                if not spec.optional:
                    raise MlopsError(f"{where} is required but has no value and no default")
                continue
            if spec.type in PATH_TYPES:
                inputs[input_name] = _local_path(value, spec.type, where, self.on_azure)
            else:
                inputs[input_name] = coerce_literal(raw, spec, where)
        env = {
            **component.environment_variables,
            **{k: str(v) for k, v in (node.get("environment_variables") or {}).items()},
        }
        timeout = (node.get("limits") or {}).get("timeout")
        return Step(name, component, inputs, env, float(timeout) if timeout else None)


def _split_overrides(overrides: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """`--set name=value` sets a pipeline input; `--set step.name=value` a step's input (`a.b.name` inside `a`)."""
    pipeline: dict[str, Any] = {}
    steps: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        step, dot, name = key.rpartition(".")
        if dot:
            steps.setdefault(step, {})[name] = value
        else:
            pipeline[name] = value
    return pipeline, steps


def build_plan(
    job: Mapping[str, Any],
    base_dir: Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    cwd: Path | None = None,
    on_azure: str = AZURE_HINT,
) -> Plan:
    """Resolve every binding and check every value; raise MlopsError for anything a local run cannot honour.

    Relative paths in the pipeline start at ``base_dir``; those given in ``overrides`` (``--set``) at ``cwd``.
    ``on_azure`` is the advice for what only Azure ML can run.
    """
    cwd = cwd or Path.cwd()
    pipeline_overrides, step_overrides = _split_overrides(overrides or {})
    inputs: dict[str, Given | Upstream] = {
        name: Given(_unwrap(value), base_dir, name, f"pipeline input '{name}'")
        for name, value in (job.get("inputs") or {}).items()
    }
    for name, value in pipeline_overrides.items():
        if name not in inputs:
            raise MlopsError(f"unknown pipeline input '{name}'; " + _suggest(name, list(inputs), "inputs"))
        inputs[name] = Given(value, cwd, name, f"pipeline input '{name}'")

    planner = _Planner(base_dir, cwd, on_azure)
    outputs = planner.index(job.get("jobs") or {}, "")
    planner.check_overrides(step_overrides)
    planner.resolve(job.get("jobs") or {}, "", inputs, step_overrides)

    compute = job.get("compute") or (job.get("settings") or {}).get("default_compute")
    notes = [f"the pipeline ran on this machine, not on {compute}"] if compute else []
    for output, value in (job.get("outputs") or {}).items():
        planner.note_output("the pipeline", output, value)
    name = str(job.get("display_name") or job.get("name") or "pipeline")
    plan = Plan(name, planner.steps, outputs, (*notes, *planner.notes))
    try:
        plan.order()
    except graphlib.CycleError as error:
        raise MlopsError(f"the steps depend on each other in a cycle: {' -> '.join(error.args[1])}") from None
    return plan
