"""Fixtures for the step tests: the scripts on sys.path, MLflow in a temporary database, one full penguins run.

Azure ML uploads each step's folder on its own, so the scripts are modules in three folders, not a package: the
tests import them as ``prep``, ``train`` and ``evaluate`` from those folders.
"""

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
COMPONENTS = PROJECT / "components"
PENGUINS = PROJECT / "data" / "penguins.csv"
STEPS = {"data_prep": "prep", "train": "train", "evaluate": "evaluate"}  # folder: module
sys.path[:0] = [str(COMPONENTS / folder) for folder in STEPS]
# What the pipeline sets for train and evaluate (mlops/pipeline.py), before the first import of scikit-learn loads
# OpenMP: threads that spin while they wait make gradient boosting crawl on a machine whose cores are shared.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import evaluate  # noqa: E402
import prep  # noqa: E402
import train  # noqa: E402


def run_step(folder: str, argv: list[str]) -> int:
    """Run a step's main as Azure ML does: from the step's own folder."""
    module = {"data_prep": prep, "train": train, "evaluate": evaluate}[folder]
    cwd = Path.cwd()
    os.chdir(COMPONENTS / folder)
    try:
        return module.main(argv)
    finally:
        os.chdir(cwd)


def snapshot(folder: Path) -> set[str]:
    """The files under a folder, bytecode caches aside (importing the scripts in tests writes those)."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if "__pycache__" not in p.parts}


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture
def tracking(monkeypatch: pytest.MonkeyPatch, tracking_uri: str) -> str:
    """MLflow logs into a temporary database, as the local runner arranges."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    return tracking_uri


@dataclass(frozen=True)
class PenguinsRun:
    prepped: Path
    model: Path
    evaluation: Path
    components_before: set[str]
    components_after: set[str]
    tracking_uri: str


@pytest.fixture(scope="session")
def penguins_run(tmp_path_factory: pytest.TempPathFactory) -> PenguinsRun:
    """data_prep, train and evaluate on data/penguins.csv, once for all the tests that read their outputs."""
    out = tmp_path_factory.mktemp("penguins")
    tracking_uri = f"sqlite:///{out / 'mlflow.db'}"  # its own, so its runs are the only ones there
    prepped, model, evaluation = out / "prepped", out / "model", out / "evaluation"
    model.mkdir()  # Azure ML creates output folders before the step runs
    before = snapshot(COMPONENTS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
        assert run_step("data_prep", ["--input_data", str(PENGUINS), "--prepped_data", str(prepped)]) == 0
        argv = ["--prepped_data", str(prepped), "--n_estimators", "20", "--model_output", str(model)]
        assert run_step("train", argv) == 0
        argv = ["--model", str(model), "--prepped_data", str(prepped), "--evaluation", str(evaluation)]
        assert run_step("evaluate", argv) == 0
    return PenguinsRun(prepped, model, evaluation, before, snapshot(COMPONENTS), tracking_uri)


@pytest.fixture(scope="session")
def prepped_penguins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """data_prep's output for data/penguins.csv (no model: nothing MLflow needs to do)."""
    out = tmp_path_factory.mktemp("prepped")
    assert run_step("data_prep", ["--input_data", str(PENGUINS), "--prepped_data", str(out)]) == 0
    return out


@dataclass(frozen=True)
class Trained:
    prepped: Path
    model: Path


@pytest.fixture(scope="session")
def penguins_trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """data_prep and train on data/penguins.csv, untracked (no MLflow store to create): for the tests that only need
    a model and its prepped data, such as the evaluate step's argument checks."""
    out = tmp_path_factory.mktemp("penguins-trained")
    prepped, model = out / "prepped", out / "model"
    model.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        assert run_step("data_prep", ["--input_data", str(PENGUINS), "--prepped_data", str(prepped)]) == 0
        argv = ["--prepped_data", str(prepped), "--n_estimators", "20", "--model_output", str(model)]
        assert run_step("train", argv) == 0
    return Trained(prepped, model)


@pytest.fixture
def expect_user_error(capsys: pytest.CaptureFixture[str]) -> Callable[..., str]:
    """Check a step's answer to a user mistake: exit code 2, one ``error:`` line, no traceback, nothing written."""

    def check(code: int, output: Path, *fragments: str) -> str:
        err = capsys.readouterr().err
        assert code == 2, err
        assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1, err
        assert "Traceback" not in err
        for fragment in fragments:
            assert fragment in err
        assert not output.exists() or not any(output.iterdir()), f"{output} was written to"
        return err

    return check
