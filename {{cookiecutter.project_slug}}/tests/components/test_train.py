"""train: loading data_prep's folder, fitting behind the fitted preprocessor, MLflow tracking and the saved model."""

import shutil
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from train import DataError, check_output_folder, check_params, load_prepped, train_model, training_metrics

from .conftest import COMPONENTS, PENGUINS, run_step, snapshot


@pytest.fixture(scope="module")
def prepped_penguins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prepped")
    assert run_step("data_prep", ["--input_data", str(PENGUINS), "--prepped_data", str(out)]) == 0
    return out


@pytest.fixture
def prepped_copy(tmp_path: Path, prepped_penguins: Path) -> Path:
    """A copy that a test may damage."""
    return Path(shutil.copytree(prepped_penguins, tmp_path / "prepped"))


def test_load_prepped_reads_what_data_prep_writes(prepped_penguins: Path) -> None:
    prepped = load_prepped(prepped_penguins)
    assert prepped.schema["task"] == "classification"
    assert prepped.features == [
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
        "year",
        "island",
        "sex",
    ]
    assert len(prepped.train) == 275


@pytest.mark.parametrize("name", ["schema.json", "train.csv", "preprocessor.joblib"])
@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_load_prepped_names_the_file_at_fault_and_data_prep(prepped_copy: Path, name: str, damage: str) -> None:
    if damage == "missing":
        (prepped_copy / name).unlink()
    else:
        (prepped_copy / name).write_bytes(b"\x80\x04 not what data_prep wrote\n\x00")
    with pytest.raises(DataError, match=rf"(?s)^{name.replace('.', '[.]')} in .* the data_prep step writes it"):
        load_prepped(prepped_copy)


def test_load_prepped_rejects_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"prepped_data folder .* not found\. Run data_prep"):
        load_prepped(tmp_path / "nowhere")


def test_the_model_reuses_the_fitted_preprocessor(prepped_penguins: Path) -> None:
    prepped = load_prepped(prepped_penguins)
    scaler = prepped.preprocessor.named_transformers_["numeric"].named_steps["scale"]
    mean_before = scaler.mean_.copy()
    pipeline = train_model(prepped, n_estimators=20, max_depth=5, seed=0)
    assert pipeline.named_steps["preprocess"] is prepped.preprocessor
    np.testing.assert_array_equal(scaler.mean_, mean_before)  # not refit
    model = pipeline.named_steps["model"]
    assert isinstance(model, RandomForestClassifier)
    assert (model.n_estimators, model.max_depth, model.random_state) == (20, 5, 0)
    raw = pd.read_csv(PENGUINS).drop(columns="species").head(3)  # raw rows, with a missing value
    assert set(pipeline.predict(raw)) <= {"Adelie", "Chinstrap", "Gentoo"}
    metrics = training_metrics(pipeline, prepped)
    assert set(metrics) == {"train_accuracy", "train_f1_macro"}
    assert metrics["train_accuracy"] > 0.9


def test_regression_trains_a_regressor(tmp_path: Path) -> None:
    diabetes = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    diabetes.to_csv(tmp_path / "diabetes.csv", index=False)
    argv = ["--input_data", str(tmp_path / "diabetes.csv"), "--target_column", "progression"]
    assert run_step("data_prep", [*argv, "--task", "regression", "--prepped_data", str(tmp_path / "prepped")]) == 0
    prepped = load_prepped(tmp_path / "prepped")
    pipeline = train_model(prepped, n_estimators=20, max_depth=5, seed=0)
    assert isinstance(pipeline.named_steps["model"], RandomForestRegressor)
    assert set(training_metrics(pipeline, prepped)) == {"train_r2", "train_rmse"}


@pytest.mark.parametrize(
    ("n_estimators", "max_depth", "message"),
    [(9, 10, "n_estimators 9 is outside 10-2000"), (2001, 10, "n_estimators"), (200, 0, "max_depth 0 is outside")],
)
def test_check_params_enforces_the_component_ranges(n_estimators: int, max_depth: int, message: str) -> None:
    with pytest.raises(DataError, match=message):
        check_params(n_estimators, max_depth)
    check_params(10, 100)


def test_check_output_folder_accepts_only_a_new_or_empty_folder(tmp_path: Path) -> None:
    check_output_folder(tmp_path / "new")
    check_output_folder(tmp_path)
    (tmp_path / "MLmodel").write_text("old model")
    with pytest.raises(DataError, match="is not an empty folder"):
        check_output_folder(tmp_path)


def test_main_saves_an_mlflow_model_served_on_raw_rows(penguins_run) -> None:
    model_files = {p.name for p in penguins_run.model.iterdir()}
    assert {"MLmodel", "model.skops", "requirements.txt", "input_example.json"} <= model_files
    assert not [name for name in model_files if name.startswith(".")]  # no staging folder left behind
    model = mlflow.pyfunc.load_model(str(penguins_run.model))
    assert model.metadata.get_input_schema().input_names() == load_prepped(penguins_run.prepped).features
    raw = pd.read_csv(PENGUINS).drop(columns="species").iloc[[0, 3, 200]]  # row 3 has missing values
    assert list(model.predict(raw)) == ["Adelie", "Adelie", "Gentoo"]
    requirements = (penguins_run.model / "requirements.txt").read_text()
    assert f"scikit-learn=={version('scikit-learn')}" in requirements  # what is installed: the project's pins
    assert f"mlflow=={version('mlflow')}" in requirements


def test_main_logs_params_and_training_metrics(penguins_run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", penguins_run.tracking_uri)
    runs = mlflow.search_runs(search_all_experiments=True, filter_string="params.n_estimators = '20'")
    assert len(runs) == 1
    run = runs.iloc[0]
    assert run["params.max_depth"] == "10"
    assert run["params.task"] == "classification"
    assert run["metrics.train_accuracy"] > 0.9


def test_main_without_tracking_still_saves_and_writes_nothing_else(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, prepped_penguins: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # mlflow would then write into the working directory
    before = snapshot(COMPONENTS)
    argv = ["--prepped_data", str(prepped_penguins), "--n_estimators", "10", "--model_output", str(tmp_path / "m")]
    assert run_step("train", argv) == 0
    assert (tmp_path / "m" / "MLmodel").is_file()
    assert "MLFLOW_TRACKING_URI is not set" in caplog.text
    assert snapshot(COMPONENTS) == before


@pytest.mark.parametrize(
    ("case", "extra", "fragments"),
    [
        ("no-prepped", [], ["prepped_data folder", "not found", "Run data_prep"]),
        ("no-preprocessor", [], ["preprocessor.joblib in", "is missing; the data_prep step writes it"]),
        ("non-empty-output", [], ["is not an empty folder"]),
        ("ok", ["--n_estimators", "5"], ["n_estimators 5 is outside 10-2000"]),
        ("ok", ["--max_depth", "101"], ["max_depth 101 is outside 1-100"]),
        ("ok", ["--seed", "1.5"], ["invalid int value: '1.5'"]),
    ],
)
def test_main_reports_user_mistakes(
    tmp_path: Path,
    prepped_copy: Path,
    tracking: str,
    expect_user_error: Callable[..., str],
    case: str,
    extra: list[str],
    fragments: list[str],
) -> None:
    output = tmp_path / "model"
    output.mkdir()
    if case == "no-prepped":
        shutil.rmtree(prepped_copy)
    if case == "no-preprocessor":
        (prepped_copy / "preprocessor.joblib").unlink()
    if case == "non-empty-output":
        (output / "MLmodel").write_text("an earlier model")
    code = run_step("train", ["--prepped_data", str(prepped_copy), "--model_output", str(output), *extra])
    if case == "non-empty-output":
        assert [p.name for p in output.iterdir()] == ["MLmodel"]  # left as it was
        (output / "MLmodel").unlink()
    expect_user_error(code, output, *fragments)
