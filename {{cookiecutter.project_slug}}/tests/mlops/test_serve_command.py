"""Which model `mlops serve` serves, and how it lays it out for the server: choices through a table of registered
versions, then the real local MLflow registry (slow: creating its database takes seconds). The server itself is in
tests/serving/test_server.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlops.commands.serve import ModelChoice, choose_model, stage_model
from mlops.errors import MlopsError
from mlops.local import model_registry
from mlops.settings import PipelineSettings, default_root, load_pipeline_settings
from tests.conftest import assert_user_error, copy_project, mlops

SETTINGS = load_pipeline_settings(default_root())
NAME = SETTINGS.model_name
REGISTERED = {NAME: [1, 2]}.get  # name -> its versions, as the registry answers


def save_model(folder: Path) -> Path:
    """A small MLflow model: which model is chosen, not what it predicts, matters here."""
    import mlflow.sklearn  # seconds to import: only the registry tests need it
    from sklearn.dummy import DummyClassifier

    mlflow.sklearn.save_model(DummyClassifier().fit([[0], [1]], ["a", "b"]), folder, pip_requirements=[])
    return folder


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    """What choosing and linking a folder look at: its MLmodel file (the registry tests save a real model)."""
    folder = tmp_path / "run" / "model_output"
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors: {}\n")
    return folder


def choose(spec: str | None) -> ModelChoice:
    return choose_model(SETTINGS, spec, versions=lambda name: REGISTERED(name) or [])


def test_the_latest_version_by_default() -> None:
    choice = choose(None)
    assert choice == ModelChoice(NAME, "2")
    assert choice.uri == f"models:/{NAME}/2"
    assert str(choice) == f"{NAME} version 2"


@pytest.mark.parametrize("spec", [f"{NAME}:1", f"models:/{NAME}/1"])
def test_a_chosen_version(spec: str) -> None:
    assert choose(spec) == ModelChoice(NAME, "1")


def test_a_model_folder_is_served_as_it_is(model_folder: Path) -> None:
    choice = choose(str(model_folder))
    assert (choice.version, choice.folder, choice.uri) == (None, model_folder, str(model_folder))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (f"{NAME}:7", "has no version 7; its versions are 1, 2"),
        ("other-model", "no model is registered as 'other-model'"),
        ("not a name:x", "expected NAME, NAME:VERSION or the path of a model folder"),
        ("{tmp}", "is not an MLflow model folder"),
    ],
)
def test_a_model_that_is_not_there_is_a_clear_error(tmp_path: Path, spec: str, message: str) -> None:
    with pytest.raises(MlopsError, match=message):
        choose(spec.format(tmp=tmp_path))


def test_an_empty_project_says_how_to_register_a_model(tmp_path: Path) -> None:
    shutil.copytree(default_root() / "config", tmp_path / "config")
    with pytest.raises(MlopsError, match="`make run` registers one"):
        choose_model(load_pipeline_settings(tmp_path), None)
    assert not (tmp_path / "mlruns").exists(), "looking must not create a registry"


def test_a_model_folder_is_linked_where_a_deployment_has_its_model(model_folder: Path, tmp_path: Path) -> None:
    model_dir = stage_model(SETTINGS, ModelChoice("unregistered", None, model_folder), tmp_path)
    assert model_dir == tmp_path / "azureml-models" / "unregistered" / "0"
    assert (model_dir / "model").resolve() == model_folder  # linked, not copied


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_model(tmp_path_factory.mktemp("run") / "model_output")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, saved_model: Path) -> PipelineSettings:
    """A project whose registry holds versions 1 and 2 of its model, registered as `mlops run` registers them."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(default_root() / "config", root / "config")
    settings = load_pipeline_settings(root)
    settings.mlruns.mkdir()
    for run in ("first", "second"):
        model_registry.register_model(settings.mlruns, settings.model_name, saved_model, {"run": run}, "serve-tests")
    return settings


@pytest.mark.slow
def test_the_registry_gives_the_latest_version_as_a_deployment_has_it(
    registry: PipelineSettings, saved_model: Path, tmp_path: Path
) -> None:
    """AZUREML_MODEL_DIR is azureml-models/NAME/VERSION, holding the model's folder, as Azure ML lays it out."""
    choice = choose_model(registry, None)
    assert choice == ModelChoice(NAME, "2")
    model_dir = stage_model(registry, choice, tmp_path)
    assert model_dir == tmp_path / "azureml-models" / NAME / "2"
    assert {p.name for p in saved_model.iterdir()} <= {p.name for p in (model_dir / "model").iterdir()}
    with pytest.raises(MlopsError, match="cannot look 'o'brien' up in the registry"):
        choose_model(registry, "o'brien")  # a name MLflow's search cannot take


@pytest.mark.slow
def test_a_registered_version_whose_files_are_gone(registry: PipelineSettings, tmp_path: Path) -> None:
    import mlflow
    from mlflow.utils.file_utils import local_file_uri_to_path

    saved = save_model(tmp_path / "saved")
    version = model_registry.register_model(registry.mlruns, "vanishing", saved, {}, "serve-tests")
    stored = mlflow.MlflowClient(model_registry.tracking_uri(registry.mlruns)).get_model_version("vanishing", version)
    shutil.rmtree(local_file_uri_to_path(stored.source))  # the store's own copy, not the folder it came from
    with pytest.raises(MlopsError, match="cannot read the files of vanishing version 1"):
        stage_model(registry, ModelChoice("vanishing", version), tmp_path / "staged")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no model is registered as"),
        (["--model", "runs/nowhere/train/outputs/model_output"], "is not an MLflow model folder"),
        (["--port", "70000"], "port 70000 is not a TCP port"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    """Through the real entry point, in a copy of the project that has registered nothing yet."""
    assert_user_error(mlops(copy_project(tmp_path / "project"), "serve", *args), message)
