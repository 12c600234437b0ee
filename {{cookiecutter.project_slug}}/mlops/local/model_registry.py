"""The local counterpart of registering a model in Azure ML: MLflow's model registry in the project's store."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Mapping
from pathlib import Path


def _mlflow():
    """MLflow, imported only when needed (it takes seconds) and quiet: the CLI's summary says what matters."""
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    import mlflow

    return mlflow


def tracking_uri(mlruns: Path) -> str:
    return f"sqlite:///{(mlruns / 'mlflow.db').as_posix()}"


def ensure_experiment(mlruns: Path, name: str) -> None:
    """Create the experiment with its artifacts under mlruns/ (a step creating it would root them in its snapshot)."""
    mlflow = _mlflow()
    mlruns.mkdir(exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri(mlruns))
    if mlflow.get_experiment_by_name(name) is None:
        mlflow.create_experiment(name, artifact_location=(mlruns / "artifacts" / name).as_uri())


def experiment_exists(mlruns: Path, name: str) -> bool:
    """Without importing MLflow (seconds): read its SQLite store directly."""
    import sqlite3

    database = mlruns / "mlflow.db"
    if not database.is_file():
        return False
    try:
        with sqlite3.connect(database) as connection:
            row = connection.execute("SELECT 1 FROM experiments WHERE name = ?", (name,)).fetchone()
    except sqlite3.Error:
        return False
    return row is not None


def register_model(mlruns: Path, name: str, model: Path, tags: Mapping[str, str]) -> str:
    """Register the MLflow model folder ``model`` under ``name``; returns the new version."""
    mlflow = _mlflow()
    mlflow.set_tracking_uri(tracking_uri(mlruns))
    with contextlib.redirect_stderr(io.StringIO()):  # "Successfully registered model ..." is printed directly
        version = mlflow.register_model(model.as_uri(), name, tags=dict(tags))
    return str(version.version)
