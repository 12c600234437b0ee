"""train: loading data_prep's folder, the default model and the forest, class weights, progress, MLflow tracking and
the saved model."""

import json
import logging
import shutil
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.metrics import recall_score
from train import (
    DataError,
    check_output_folder,
    check_params,
    load_prepped,
    progress,
    save_model,
    train_model,
    training_metrics,
)

from .conftest import COMPONENTS, PENGUINS, run_step, snapshot


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
    assert isinstance(model, HistGradientBoostingClassifier)
    assert (model.max_iter, model.max_depth, model.random_state, model.class_weight) == (20, 5, 0, "balanced")
    # island and sex are category codes, the last two of the preprocessor's columns: boosting splits them as such.
    assert model.categorical_features == [False] * 5 + [True] * 2
    raw = pd.read_csv(PENGUINS).drop(columns="species").head(3)  # raw rows, with a missing value
    assert set(pipeline.predict(raw)) <= {"Adelie", "Chinstrap", "Gentoo"}
    metrics = training_metrics(pipeline, prepped)
    assert set(metrics) == {"train_accuracy", "train_f1_macro"}
    assert metrics["train_accuracy"] > 0.9


def test_the_random_forest_is_selectable(prepped_penguins: Path) -> None:
    prepped = load_prepped(prepped_penguins)
    pipeline = train_model(prepped, 20, 5, seed=0, algorithm="random_forest", class_weight="none")
    model = pipeline.named_steps["model"]
    assert isinstance(model, RandomForestClassifier)
    assert (model.n_estimators, model.max_depth, model.class_weight) == (20, 5, None)
    assert training_metrics(pipeline, prepped)["train_accuracy"] > 0.9


@pytest.fixture(scope="module")
def prepped_diabetes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("diabetes")
    diabetes = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    diabetes.to_csv(out / "diabetes.csv", index=False)
    argv = ["--input_data", str(out / "diabetes.csv"), "--target_column", "progression", "--task", "regression"]
    assert run_step("data_prep", [*argv, "--prepped_data", str(out / "prepped")]) == 0
    return out / "prepped"


@pytest.mark.slow  # saves and loads an MLflow model: seconds
@pytest.mark.parametrize(
    ("algorithm", "kind"),
    [("hist_gradient_boosting", HistGradientBoostingRegressor), ("random_forest", RandomForestRegressor)],
)
def test_regression_trains_a_regressor_that_saves_and_loads(
    tmp_path: Path, prepped_diabetes: Path, algorithm: str, kind: type
) -> None:
    """Saved with skops, loaded through MLflow's pyfunc (as a scoring server does): every type it needs is trusted."""
    prepped = load_prepped(prepped_diabetes)
    pipeline = train_model(prepped, n_estimators=20, max_depth=5, seed=0, algorithm=algorithm)
    assert isinstance(pipeline.named_steps["model"], kind)
    assert set(training_metrics(pipeline, prepped)) == {"train_r2", "train_rmse"}
    save_model(pipeline, prepped, tmp_path / "model")
    rows = prepped.train[prepped.features].head(4)
    import mlflow.pyfunc

    loaded = mlflow.pyfunc.load_model(str(tmp_path / "model"))
    np.testing.assert_allclose(loaded.predict(rows), pipeline.predict(rows))


def imbalanced(rows: int = 3000) -> pd.DataFrame:
    """About 1 in 8 rows positive, where a weak signal in two of the features is all there is to find."""
    rng = np.random.default_rng(3)
    features = rng.normal(size=(rows, 4))
    score = features[:, 0] + 0.5 * features[:, 1] + rng.normal(0, 1.2, rows)
    frame = pd.DataFrame(features, columns=["a", "b", "c", "d"])
    return frame.assign(label=np.where(score > np.quantile(score, 0.875), "rare", "common"))


def test_class_weights_keep_a_rare_class_from_being_ignored(tmp_path: Path) -> None:
    imbalanced().to_csv(tmp_path / "data.csv", index=False)
    argv = ["--input_data", str(tmp_path / "data.csv"), "--target_column", "label", "--prepped_data"]
    assert run_step("data_prep", [*argv, str(tmp_path / "prepped")]) == 0
    prepped = load_prepped(tmp_path / "prepped")
    test = pd.read_csv(tmp_path / "prepped" / "test.csv")
    recall = {}
    for weights in ("balanced", "none"):
        pipeline = train_model(prepped, 100, 3, seed=0, class_weight=weights)
        recall[weights] = recall_score(test["label"], pipeline.predict(test[prepped.features]), pos_label="rare")
    assert recall["balanced"] > 0.6
    assert recall["balanced"] > recall["none"] + 0.2


def test_a_long_fit_reports_progress(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="train"), progress("fitting", every=0.05):
        time.sleep(0.3)
    lines = [record.message for record in caplog.records]
    assert len([line for line in lines if line.startswith("fitting: ") and line.endswith("s so far")]) >= 3
    assert lines[-1].startswith("fitting: done in 0.")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ((9, 10), "n_estimators 9 is outside 10-2000"),
        ((2001, 10), "n_estimators"),
        ((200, 0), "max_depth 0 is outside"),
        ((200, 10, "xgboost"), "algorithm 'xgboost' is not supported. Set algorithm to one of: hist_gradient_boosting"),
        ((200, 10, "random_forest", "equal"), "class_weight 'equal' is not supported"),
    ],
)
def test_check_params_enforces_the_component_ranges(params: tuple, message: str) -> None:
    with pytest.raises(DataError, match=message):
        check_params(*params)
    check_params(10, 100, "random_forest", "none")


def test_check_output_folder_accepts_only_a_new_or_empty_folder(tmp_path: Path) -> None:
    check_output_folder(tmp_path / "new")
    check_output_folder(tmp_path)
    (tmp_path / "MLmodel").write_text("old model")
    with pytest.raises(DataError, match="is not an empty folder"):
        check_output_folder(tmp_path)


@pytest.mark.slow  # saves and loads an MLflow model: seconds
def test_main_saves_an_mlflow_model_served_on_raw_rows(penguins_trained) -> None:
    penguins_run = penguins_trained  # the same files, trained without tracking
    model_files = {p.name for p in penguins_run.model.iterdir()}
    assert {"MLmodel", "model.skops", "requirements.txt", "input_example.json"} <= model_files
    assert not [name for name in model_files if name.startswith(".")]  # no staging folder left behind
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(str(penguins_run.model))
    schema = model.metadata.get_input_schema()
    assert schema.input_names() == load_prepped(penguins_run.prepped).features
    # Types as in the data; a column with gaps in the training rows is optional.
    assert {spec.name: (spec.type.name, spec.required) for spec in schema.inputs} == {
        **dict.fromkeys(["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"], ("double", False)),
        "year": ("long", True),
        "island": ("string", True),
        "sex": ("string", False),
    }
    raw = pd.read_csv(PENGUINS).drop(columns="species").iloc[[0, 3, 200]]  # row 3 has missing values
    assert list(model.predict(raw)) == ["Adelie", "Adelie", "Gentoo"]
    requirements = (penguins_run.model / "requirements.txt").read_text()
    assert f"scikit-learn=={version('scikit-learn')}" in requirements  # what is installed: the project's pins
    assert f"mlflow=={version('mlflow')}" in requirements


@pytest.mark.slow  # saves and loads an MLflow model: seconds
def test_the_signature_holds_only_the_columns_the_model_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # untracked: the saved model is what this is about
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(200)],
            "signup": [f"2024-02-{i % 28 + 1:02d}" for i in range(200)],
            "tenure": rng.integers(1, 60, 200),
            "plan": rng.choice(["basic", "plus"], 200),
        }
    ).assign(churned=lambda f: np.where(f["tenure"] < 12, "yes", "no"))
    frame.to_csv(tmp_path / "data.csv", index=False)
    argv = ["--input_data", str(tmp_path / "data.csv"), "--target_column", "churned", "--prepped_data"]
    assert run_step("data_prep", [*argv, str(tmp_path / "prepped")]) == 0
    argv = ["--prepped_data", str(tmp_path / "prepped"), "--n_estimators", "20", "--model_output"]
    assert run_step("train", [*argv, str(tmp_path / "model")]) == 0
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(str(tmp_path / "model"))
    assert model.metadata.get_input_schema().input_names() == ["tenure", "plan"]
    example = json.loads((tmp_path / "model" / "input_example.json").read_text())
    assert example["columns"] == ["tenure", "plan"]


@pytest.mark.slow  # the three steps with tracking to a new MLflow store: seconds
def test_main_logs_params_and_training_metrics(penguins_run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", penguins_run.tracking_uri)
    import mlflow

    runs = mlflow.search_runs(search_all_experiments=True, filter_string="params.n_estimators = '20'")
    assert len(runs) == 1
    run = runs.iloc[0]
    assert run["params.max_depth"] == "10"
    assert run["params.task"] == "classification"
    assert run["metrics.train_accuracy"] > 0.9


@pytest.mark.slow  # saves an MLflow model: seconds
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
