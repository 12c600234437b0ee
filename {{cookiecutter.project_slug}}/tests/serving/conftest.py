"""Fixtures for the serving tests: models trained by the project's own step scripts, and the scoring script loaded
as Azure ML's inference server loads it (by its path, with AZUREML_MODEL_DIR set).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
from pathlib import Path
from types import ModuleType

import pytest
from sklearn.datasets import load_diabetes

PROJECT = Path(__file__).resolve().parents[2]
PENGUINS = PROJECT / "data" / "penguins.csv"
SCORING_SCRIPT = PROJECT / "serving" / "score.py"


def load_script(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_model(csv: Path, target: str, task: str, into: Path) -> Path:
    """data_prep and train, through their command lines as the pipeline calls them; returns the MLflow model."""
    prep = load_script(PROJECT / "components" / "data_prep" / "prep.py", "serving_tests_prep")
    train = load_script(PROJECT / "components" / "train" / "train.py", "serving_tests_train")
    prepped, model = into / "prepped", into / "model"
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stderr(io.StringIO()):
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)  # nothing to track: only the model matters here
        argv = ["--input_data", str(csv), "--target_column", target, "--task", task, "--prepped_data", str(prepped)]
        assert prep.main(argv) == 0
        assert train.main(["--prepped_data", str(prepped), "--n_estimators", "20", "--model_output", str(model)]) == 0
    return model


@pytest.fixture(scope="session")
def penguins_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_model(PENGUINS, "species", "classification", tmp_path_factory.mktemp("penguins"))


@pytest.fixture(scope="session")
def diabetes_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("diabetes")
    load_diabetes(as_frame=True).frame.to_csv(folder / "diabetes.csv", index=False)
    return train_model(folder / "diabetes.csv", "target", "regression", folder)


def scoring_script(model: Path) -> ModuleType:
    """serving/score.py, loaded and initialised as the server does it, on ``model``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AZUREML_MODEL_DIR", str(model))
        module = load_script(SCORING_SCRIPT, f"score_{abs(hash(model))}")
        module.init()
    return module


@pytest.fixture(scope="session")
def penguins_scorer(penguins_model: Path) -> ModuleType:
    return scoring_script(penguins_model)


@pytest.fixture(scope="session")
def diabetes_scorer(diabetes_model: Path) -> ModuleType:
    return scoring_script(diabetes_model)
