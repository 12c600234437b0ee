"""evaluate: metrics, the promotion decision, plots and report; penguins for classification, diabetes for regression."""

import json
from collections.abc import Callable
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from evaluate import DataError, check_threshold, compute_metrics, decide, load_model, make_plots, render_report
from sklearn.datasets import load_diabetes

from .conftest import run_step

PNG = b"\x89PNG\r\n\x1a\n"
SCHEMA = {"target_column": "y", "task": "classification", "numeric_columns": ["x"], "categorical_columns": []}


class FakeClassifier:
    """Fixed answers, so the expected metrics can be worked out by hand."""

    classes_ = np.array(["a", "b"])

    def __init__(self, predicted: list[str], probability_of_b: list[float]) -> None:
        self.predicted, self.probability_of_b = predicted, probability_of_b

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return np.array(self.predicted)

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        b = np.array(self.probability_of_b)
        return np.column_stack([1 - b, b])


class FakeRegressor:
    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return rows["x"].to_numpy() + 1.0


def run_pipeline(out: Path, csv: Path, prep_args: list[str], threshold: str) -> None:
    prepped, model, evaluation = out / "prepped", out / "model", out / "evaluation"
    assert run_step("data_prep", ["--input_data", str(csv), *prep_args, "--prepped_data", str(prepped)]) == 0
    argv = ["--prepped_data", str(prepped), "--n_estimators", "20", "--model_output", str(model)]
    assert run_step("train", argv) == 0
    argv = ["--model", str(model), "--prepped_data", str(prepped), "--threshold", threshold]
    assert run_step("evaluate", [*argv, "--evaluation", str(evaluation)]) == 0


@pytest.fixture(scope="module")
def diabetes_run(tmp_path_factory: pytest.TempPathFactory, tracking_uri: str) -> Path:
    """The three steps on a regression dataset that ships with scikit-learn."""
    out = tmp_path_factory.mktemp("diabetes")
    load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"}).to_csv(out / "d.csv", index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
        run_pipeline(out, out / "d.csv", ["--target_column", "progression", "--task", "regression"], threshold="0")
    return out


@pytest.mark.parametrize(
    ("value", "threshold", "baseline", "promote", "reason"),
    [
        (0.85, 0.9, None, False, "f1_macro is 0.8500, below the threshold 0.9000."),
        (0.95, 0.9, None, True, "No baseline model was given"),
        (0.9, 0.9, None, True, "at or above the threshold"),
        (0.95, 0.9, 0.97, False, "It is worse than the baseline model's 0.9700 on the same test split."),
        (0.95, 0.9, 0.93, True, "It is at least the baseline model's 0.9300"),
        (0.95, 0.9, 0.95, True, "at least the baseline"),
        (0.85, 0.9, 0.80, False, "below the threshold"),
    ],
    ids=[
        "below",
        "above",
        "at",
        "worse-than-baseline",
        "better-than-baseline",
        "equal-to-baseline",
        "below-but-better",
    ],
)
def test_decide(value: float, threshold: float, baseline: float | None, promote: bool, reason: str) -> None:
    decision = decide("f1_macro", value, threshold, baseline)
    assert decision["promote"] is promote
    assert any(reason in sentence for sentence in decision["reasons"]), decision["reasons"]
    assert {k: decision[k] for k in ("primary_metric", "value", "threshold", "baseline_value")} == {
        "primary_metric": "f1_macro",
        "value": value,
        "threshold": threshold,
        "baseline_value": baseline,
    }


def test_classification_metrics() -> None:
    test = pd.DataFrame({"x": [0, 1, 2, 3], "y": ["a", "a", "b", "b"]})
    model = FakeClassifier(predicted=["a", "b", "b", "b"], probability_of_b=[0.1, 0.6, 0.4, 0.9])
    metrics = compute_metrics(model, test, SCHEMA)
    assert metrics == pytest.approx(
        {
            "accuracy": 0.75,
            "f1_macro": (2 / 3 + 0.8) / 2,
            "precision_macro": (1 + 2 / 3) / 2,
            "recall_macro": (0.5 + 1) / 2,
            "roc_auc_ovr": 0.75,
        }
    )


def test_no_roc_auc_when_a_class_is_absent_from_the_test_split() -> None:
    test = pd.DataFrame({"x": [0, 1], "y": ["a", "a"]})
    metrics = compute_metrics(FakeClassifier(["a", "a"], [0.1, 0.2]), test, SCHEMA)
    assert "roc_auc_ovr" not in metrics
    assert metrics["accuracy"] == 1.0


def test_regression_metrics_and_plot() -> None:
    test = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [2.0, 3.0, 4.0, 7.0]})
    schema = {**SCHEMA, "task": "regression"}
    metrics = compute_metrics(FakeRegressor(), test, schema)
    assert metrics == pytest.approx({"r2": 1 - 4 / 14, "rmse": 1.0, "mae": 0.5})
    assert list(make_plots(FakeRegressor(), test, schema)) == ["residuals.png"]


def test_render_report() -> None:
    decision = decide("f1_macro", 0.8, 0.9)
    report = render_report({"accuracy": 0.81234, "f1_macro": 0.8}, decision, ["confusion_matrix.png"])
    assert "| accuracy | 0.8123 |" in report
    assert "| f1_macro (primary) | 0.8000 |" in report
    assert "## Decision: do not promote" in report
    assert "- f1_macro is 0.8000, below the threshold 0.9000." in report
    assert "- `confusion_matrix.png`" in report


def test_check_threshold() -> None:
    check_threshold(0)
    check_threshold(1)
    with pytest.raises(DataError, match=r"threshold 1\.5 is outside 0-1"):
        check_threshold(1.5)


def test_penguins_evaluation(penguins_run) -> None:
    folder = penguins_run.evaluation
    files = {"metrics.json", "decision.json", "report.md", "confusion_matrix.png", "roc_curve.png"}
    assert {p.name for p in folder.iterdir()} == files
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics) == {"accuracy", "f1_macro", "precision_macro", "recall_macro", "roc_auc_ovr"}
    assert metrics["f1_macro"] > 0.9
    assert metrics["roc_auc_ovr"] > 0.95
    decision = json.loads((folder / "decision.json").read_text())
    assert decision == decide("f1_macro", metrics["f1_macro"], 0.9)
    assert decision["promote"] is True
    for plot in ("confusion_matrix.png", "roc_curve.png"):
        assert (folder / plot).read_bytes().startswith(PNG)
        assert f"`{plot}`" in (folder / "report.md").read_text()


def test_penguins_metrics_are_tracked(penguins_run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", penguins_run.tracking_uri)
    runs = mlflow.search_runs(search_all_experiments=True, filter_string="params.threshold = '0.9'")
    assert len(runs) == 1
    metrics = json.loads((penguins_run.evaluation / "metrics.json").read_text())
    assert runs.iloc[0]["metrics.f1_macro"] == metrics["f1_macro"]
    assert runs.iloc[0]["metrics.promote"] == 1.0


def test_a_baseline_decides_when_it_is_better(tmp_path: Path, penguins_run, tracking: str) -> None:
    weak = tmp_path / "weak"
    argv = ["--prepped_data", str(penguins_run.prepped), "--n_estimators", "10", "--max_depth", "1"]
    assert run_step("train", [*argv, "--model_output", str(weak)]) == 0
    strong = penguins_run.model
    for model, baseline, promote in [(strong, weak, True), (weak, strong, False)]:
        out = tmp_path / f"evaluation-{promote}"
        argv = ["--model", str(model), "--baseline_model", str(baseline), "--prepped_data", str(penguins_run.prepped)]
        assert run_step("evaluate", [*argv, "--threshold", "0", "--evaluation", str(out)]) == 0
        decision = json.loads((out / "decision.json").read_text())
        assert decision["promote"] is promote
        assert (decision["value"] > decision["baseline_value"]) is promote


def test_regression_evaluation(diabetes_run: Path) -> None:
    folder = diabetes_run / "evaluation"
    assert {p.name for p in folder.iterdir()} == {"metrics.json", "decision.json", "report.md", "residuals.png"}
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics) == {"r2", "rmse", "mae"}
    assert 0.2 < metrics["r2"] < 1
    decision = json.loads((folder / "decision.json").read_text())
    assert (decision["primary_metric"], decision["value"]) == ("r2", metrics["r2"])
    assert (folder / "residuals.png").read_bytes().startswith(PNG)


def test_load_model_rejects_a_folder_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"baseline_model .* is not an MLflow model folder"):
        load_model(tmp_path, "baseline_model")


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("threshold", ["threshold 1.5 is outside 0-1"]),
        ("no-model", ["model", "is not an MLflow model folder"]),
        ("no-prepped", ["prepped_data folder", "not found"]),
        ("baseline-not-a-model", ["baseline_model", "is not an MLflow model folder"]),
        ("baseline-other-columns", ["baseline_model cannot score this test split"]),
    ],
)
def test_main_reports_user_mistakes(
    tmp_path: Path,
    penguins_run,
    diabetes_run: Path,
    expect_user_error: Callable[..., str],
    case: str,
    fragments: list[str],
) -> None:
    model, prepped = penguins_run.model, penguins_run.prepped
    extra = {
        "threshold": ["--threshold", "1.5"],
        "baseline-not-a-model": ["--baseline_model", str(tmp_path)],
        "baseline-other-columns": ["--baseline_model", str(diabetes_run / "model")],
    }.get(case, [])
    if case == "no-model":
        model = tmp_path / "nowhere"
    if case == "no-prepped":
        prepped = tmp_path / "nowhere"
    output = tmp_path / "evaluation"
    output.mkdir()
    argv = ["--model", str(model), "--prepped_data", str(prepped), *extra, "--evaluation", str(output)]
    expect_user_error(run_step("evaluate", argv), output, *fragments)
