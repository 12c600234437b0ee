"""The project's settings, read once from ``config/`` into frozen objects that commands receive.

Values are data: code never branches on an environment's name.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.errors import MlopsError

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class PipelineSettings:
    inputs: Mapping[str, Any]  # the pipeline's input values; input_data as an absolute path
    model_name: str
    root: Path

    @property
    def mlruns(self) -> Path:
        """The project's one local MLflow store (git-ignored): `mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db`."""
        return self.root / "mlruns"


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MlopsError(f"{path} is missing: restore it from git or regenerate the project") from None
    except tomllib.TOMLDecodeError as error:
        raise MlopsError(f"{path} is not valid TOML: {error}") from None


def load_pipeline_settings(root: Path = PROJECT_ROOT) -> PipelineSettings:
    path = root / "config" / "pipeline.toml"
    data = read_toml(path)
    inputs = data.get("inputs")
    name = (data.get("model") or {}).get("name")
    if not isinstance(inputs, dict) or "input_data" not in inputs:
        raise MlopsError(f"{path} needs an [inputs] table with at least input_data (the CSV to train on)")
    if not isinstance(name, str) or not name:
        raise MlopsError(f"{path} needs [model] name, the name models are registered under")
    return PipelineSettings({**inputs, "input_data": str((root / inputs["input_data"]).resolve())}, name, root)
