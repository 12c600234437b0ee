"""A pipeline file as written, read without the Azure ML SDK: what kind of file it is, with its components inlined.

Importing the SDK takes seconds, and most reasons to refuse a file are plain in its YAML: it is a component or a
deployment, a step is a sweep, an input is a data asset in the workspace. The runner plans from this form first and
refuses at once; only a pipeline that passes is loaded by the SDK, which validates it as Azure ML would. The values
written here (booleans, paths with their `azureml:` prefix) are also the ones the SDK's dump of the job loses.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops.errors import MlopsError
from mlops.local.plan import BINDING, REMOTE_PREFIXES, with_article

SCHEMA = re.compile(r"/(?P<name>\w+)\.schema\.json$")  # what a file's $schema says it is
STEP_FORMS_OF_THE_SDK = ("component",)  # node types only the SDK resolves (an old alias of command)


@dataclass(frozen=True)
class PipelineFile:
    path: Path
    tree: Mapping[str, Any]  # the YAML, each local component file loaded in its step's place (paths made absolute)
    plannable: bool  # False when a step is in a form only the SDK resolves (an inline command, an old alias)
    digest: str  # of every file read: the SDK's parse of the pipeline is cached under it


def _load(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise MlopsError(f"{path} is not valid YAML{where}: {problem}") from None


def _kind(data: Mapping[str, Any]) -> str | None:
    """What the file is ("batch deployment") when it is not a pipeline job; None for a pipeline job."""
    schema = SCHEMA.search(str(data.get("$schema") or ""))
    kind = str(data.get("type") or "")
    if schema:  # pipelineJob, commandComponent, autoMLJob, managedOnlineDeployment, ...
        if schema["name"] == "pipelineJob":
            return None
        words = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", schema["name"]).lower()
        return words.replace("auto ml", "automl")
    if "endpoint_name" in data:
        return "batch deployment" if "compute" in data or kind in {"pipeline", "model"} else "online deployment"
    if kind == "pipeline" and "jobs" in data:
        inputs = (data.get("inputs") or {}).values()
        declares = any(isinstance(value, Mapping) and {"default", "optional"} & set(value) for value in inputs)
        return "pipeline component" if declares else None  # a pipeline job's inputs are values, not declarations
    if kind == "command" or "command" in data:
        return "command component" if "version" in data else "command job"
    return f"{kind} job" if kind else None


def _advice(kind: str, path: Path) -> str:
    if kind.endswith("component"):
        return f"use it as a step of a pipeline job (component: ./{path.name}) and run that pipeline"
    if kind.endswith("job"):
        return f"run it on Azure ML with `az ml job create --file {path}`; the local runner runs pipeline jobs"
    words = kind.split()
    group = "-".join(words[-2:]) if kind.endswith(("deployment", "endpoint")) else words[-1]
    return f"create it in Azure ML with `az ml {group} create --file {path}`"


def _absolute(value: Any, folder: Path) -> Any:
    """A local data path in a {type, path} mapping, made absolute (a component file may sit in another folder)."""
    if isinstance(value, Mapping) and isinstance(value.get("path"), str):
        path = value["path"]
        if not path.startswith(REMOTE_PREFIXES) and "://" not in path and not BINDING.match(path):
            return {**value, "path": str((folder / path).resolve())}
    return value


class _Reader:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.plannable = True

    def file(self, path: Path) -> Any:
        self.digest.update(f"{path.resolve()}\n".encode())
        self.digest.update(path.read_bytes())
        return _load(path)

    def level(self, data: Mapping[str, Any], folder: Path, prefix: str = "") -> dict[str, Any]:
        """A pipeline (job or component) with its steps' components inlined, recursively."""
        data = dict(data)
        data["inputs"] = {name: _absolute(value, folder) for name, value in (data.get("inputs") or {}).items()}
        jobs = {}
        for name, node in (data.get("jobs") or {}).items():
            if not isinstance(node, Mapping):
                raise MlopsError(f"step '{prefix}{name}' is not a mapping (type, component, inputs, ...)")
            node = dict(node)
            node["inputs"] = {key: _absolute(value, folder) for key, value in (node.get("inputs") or {}).items()}
            if node.get("type", "command") in STEP_FORMS_OF_THE_SDK or ("component" not in node and "command" in node):
                self.plannable = False
            node["component"] = self.component(node.get("component"), folder, f"{prefix}{name}")
            jobs[name] = node
        data["jobs"] = jobs
        return data

    def component(self, component: Any, folder: Path, step: str) -> Any:
        if isinstance(component, str) and not component.startswith("azureml:"):
            path = (folder / component.removeprefix("file:")).resolve()
            if not path.is_file():
                raise MlopsError(f"step '{step}' uses the component file {component}, which does not exist ({path})")
            loaded = self.file(path)
            if not isinstance(loaded, Mapping):
                raise MlopsError(f"step '{step}': the component file {path} is not a YAML mapping")
            component, folder = loaded, path.parent
        if not isinstance(component, Mapping):
            return component  # a registered component (azureml:name:version): the planner refuses it
        component = dict(component)
        code = component.get("code")
        if isinstance(code, str) and not code.startswith(REMOTE_PREFIXES):
            component["code"] = str((folder / code.removeprefix("file:")).resolve())
        elif code is not None and not isinstance(code, str):
            self.plannable = False  # an old form ({local_path: ...}) the SDK still reads
        if component.get("type") == "pipeline":
            return self.level(component, folder, f"{step}.")
        return component


def read(path: Path) -> PipelineFile:
    """The pipeline job in ``path`` as written; a file that is not one is refused in one line."""
    if not path.is_file():
        raise MlopsError(f"pipeline file {path} does not exist")
    reader = _Reader()
    data = reader.file(path)
    if not isinstance(data, Mapping) or not (data.get("type") or data.get("$schema") or data.get("jobs")):
        raise MlopsError(f"{path} is not a pipeline job: a pipeline job's YAML has `type: pipeline` and `jobs`")
    if kind := _kind(data):
        raise MlopsError(f"{path} is {with_article(kind)}, not a pipeline job: {_advice(kind, path)}")
    tree = reader.level(data, path.resolve().parent)
    return PipelineFile(path, tree, reader.plannable, reader.digest.hexdigest())
