"""`mlops serve`: a model from the project's MLflow registry behind Azure ML's inference server, on 127.0.0.1.

The scoring script is serving/score.py, the one the project's online deployments run on Azure ML, and the model
folder is laid out as a deployment's container has it: what answers here answers the same way in Azure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mlops.errors import MlopsError
from mlops.local import model_registry
from mlops.local.server import LocalServer, check_port, start_server, wait_until_ready
from mlops.settings import PipelineSettings

SCORING_SCRIPT = Path("serving") / "score.py"  # relative to the project root
NAME_VERSION = re.compile(r"(?P<name>[^:/\\]+)(:(?P<version>\d+))?")


@dataclass(frozen=True)
class ModelChoice:
    """What to serve: a registered version (loaded through its models:/ URI), or a model folder."""

    name: str
    version: str | None  # None: a model folder that is not a registered version
    folder: Path | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}" if self.version else str(self.folder)

    def __str__(self) -> str:
        return f"{self.name} version {self.version}" if self.version else f"the model in {self.folder}"


@dataclass(frozen=True)
class Serving:
    server: LocalServer
    model: ModelChoice
    seconds: float  # from starting the server to its first answer


def _mlflow(settings: PipelineSettings):
    """MLflow on the project's store, quiet (no progress bars): imported only here, as it takes seconds."""
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    mlflow.set_tracking_uri(model_registry.tracking_uri(settings.mlruns))
    return mlflow


def registered_versions(settings: PipelineSettings, name: str) -> list[int]:
    """The versions of ``name`` in the project's registry, oldest first."""
    if not (settings.mlruns / "mlflow.db").is_file():  # no registry yet: do not create one by looking
        return []
    mlflow = _mlflow(settings)
    try:
        found = mlflow.MlflowClient().search_model_versions(f"name = '{name}'")
    except mlflow.exceptions.MlflowException as error:
        raise MlopsError(f"cannot look '{name}' up in the registry in {settings.mlruns}: {error}") from None
    return sorted(int(version.version) for version in found)


def choose_model(
    settings: PipelineSettings, model: str | None, versions: Callable[[str], list[int]] | None = None
) -> ModelChoice:
    """``model``: None (the latest version of the project's model), NAME, NAME:VERSION, models:/NAME/VERSION, or the
    path of a model folder (a run's train/outputs/model_output). ``versions`` looks a name's versions up (default:
    in the project's registry)."""
    if model and ("/" in model or os.sep in model or Path(model).is_dir()) and not model.startswith("models:/"):
        folder = Path(model).expanduser().resolve()
        if not (folder / "MLmodel").is_file():
            raise MlopsError(f"{model} is not an MLflow model folder (it has no MLmodel file); give a run's model")
        return ModelChoice("unregistered", None, folder)
    text = model.removeprefix("models:/").replace("/", ":") if model else settings.model_name
    match = NAME_VERSION.fullmatch(text)
    if not match:
        raise MlopsError(f"--model {model}: expected NAME, NAME:VERSION or the path of a model folder")
    name, version = match["name"], match["version"]
    found = (versions or (lambda name: registered_versions(settings, name)))(name)
    if not found:
        raise MlopsError(
            f"no model is registered as '{name}' in {settings.mlruns}: `make run` registers one when its evaluation "
            "promotes it, or pass --model with the path of a run's model folder (runs/<run>/train/outputs/model_output)"
        )
    if version is None:
        version = str(found[-1])
    elif int(version) not in found:
        raise MlopsError(f"'{name}' has no version {version}; its versions are {', '.join(map(str, found))}")
    return ModelChoice(name, version)


def stage_model(settings: PipelineSettings, choice: ModelChoice, into: Path) -> Path:
    """Lay the model out as in a deployment's container (azureml-models/NAME/VERSION/<model folder>); returns the
    folder AZUREML_MODEL_DIR names."""
    model_dir = into / "azureml-models" / choice.name / (choice.version or "0")
    model_dir.mkdir(parents=True)
    if choice.folder is not None:
        (model_dir / "model").symlink_to(choice.folder, target_is_directory=True)
        return model_dir
    mlflow = _mlflow(settings)
    try:
        mlflow.artifacts.download_artifacts(artifact_uri=choice.uri, dst_path=str(model_dir / "model"))
    except (OSError, mlflow.exceptions.MlflowException) as error:
        problem = str(error)
    else:  # MLflow finds nothing to copy, rather than an error, where the files were deleted
        problem = "" if (model_dir / "model" / "MLmodel").is_file() else "its folder has no MLmodel file"
    if problem:
        raise MlopsError(f"cannot read the files of {choice} ({problem}): run `make run` to register a new one")
    return model_dir


def serve(settings: PipelineSettings, model: str | None, port: int, workdir: Path, output: IO | None = None) -> Serving:
    """Start serving and return once the server answers; the caller stops it (Serving.server.stop())."""
    check_port(port)  # before the seconds spent finding the model
    choice = choose_model(settings, model)
    model_dir = stage_model(settings, choice, workdir)
    server = start_server(settings.root / SCORING_SCRIPT, model_dir, port, output)
    try:
        seconds = wait_until_ready(server)
    except BaseException:
        server.stop()
        raise
    return Serving(server, choice, seconds)
