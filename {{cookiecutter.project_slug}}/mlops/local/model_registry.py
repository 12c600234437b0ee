"""The local counterpart of registering a model in Azure ML: MLflow's model registry in the project's store.

A registered model's files are copied into the store (mlruns/artifacts/), so `models:/<name>/<version>` keeps loading
after runs/ is deleted (`make clean` deletes it). Each version carries the content key of the model it holds, and
"register once" asks the registry for that key.
"""

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


def find_version(mlruns: Path, name: str, content_key: str) -> str | None:
    """The version of ``name`` registered with this content key whose files are still in the store, else None.

    Read from MLflow's SQLite store directly, like experiment_exists: a rerun that registers nothing new must not
    pay seconds for importing MLflow. Should MLflow change its tables, the query fails and MLflow itself is asked.
    """
    import sqlite3

    database = mlruns / "mlflow.db"
    if not database.is_file():
        return None
    query = (
        "SELECT v.version, v.source FROM model_versions v JOIN model_version_tags t "
        "ON t.name = v.name AND t.version = v.version "
        "WHERE v.name = ? AND t.key = 'content_key' AND t.value = ? AND v.current_stage != 'Deleted_Internal' "
        "ORDER BY v.version"
    )
    try:
        with sqlite3.connect(database) as connection:
            rows = connection.execute(query, (name, content_key)).fetchall()
    except sqlite3.Error:
        mlflow = _mlflow()
        mlflow.set_tracking_uri(tracking_uri(mlruns))
        found = mlflow.MlflowClient().search_model_versions(f"name = '{name}' and tags.content_key = '{content_key}'")
        rows = sorted((int(version.version), version.source) for version in found)
    for version, source in rows:
        if _local_path(source).joinpath("MLmodel").is_file():
            return str(version)
    return None


def _local_path(uri: str) -> Path:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(uri)


def register_model(mlruns: Path, name: str, model: Path, tags: Mapping[str, str], experiment: str) -> str:
    """Copy the MLflow model folder ``model`` into the store, as an artifact of a run in ``experiment``, and register
    that copy under ``name``: the registered model loads even after the run folder it came from is deleted.
    Returns the new version."""
    mlflow = _mlflow()
    ensure_experiment(mlruns, experiment)
    client = mlflow.MlflowClient()
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    run = client.create_run(experiment_id, run_name=f"register {name}", tags={"source": "mlops run"})
    client.log_artifacts(run.info.run_id, str(model), "model")
    client.set_terminated(run.info.run_id)
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    with contextlib.redirect_stderr(io.StringIO()):  # MLflow prints progress for every version it creates
        version = client.create_model_version(
            name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id, tags=dict(tags)
        )
    return str(version.version)
