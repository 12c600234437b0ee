"""evaluate: metrics, how sure they are, the promotion decision, plots and report; penguins for classification,
diabetes for regression."""

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from evaluate import (
    MIN_TEST_ROWS,
    DataError,
    Estimate,
    _from_confusion,
    bootstrap_interval,
    check_threshold,
    compute_metrics,
    decide,
    estimate_metric,
    load_model,
    make_plots,
    per_class_metrics,
    primary_metric,
    render_report,
    trivial_score,
)
from sklearn.datasets import load_diabetes
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

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


TRIVIAL = (0.45, "always 'a'")


@pytest.mark.parametrize(
    ("value", "threshold", "test_value", "baseline", "promote", "reason"),
    [
        (
            0.65,
            0.7,
            0.65,
            None,
            False,
            "f1_macro is 0.6500 on the test split (1,000 rows) (95% bootstrap interval 0.6000 to",
        ),
        (0.65, 0.7, 0.65, None, False, "below the threshold 0.7000."),
        (0.95, 0.7, 0.95, None, True, "No baseline model was given"),
        (0.7, 0.7, 0.7, None, True, "at or above the threshold"),
        (0.95, 0.0, 0.44, None, False, "On the test split it scores 0.4400, no better than the 0.4500 of a trivial"),
        (0.95, 0.7, 0.95, 0.97, False, "It is not better than the baseline model's 0.9700 on the same test split"),
        (0.95, 0.7, 0.95, 0.95, False, "(+0.0000); promotion needs an improvement of at least 0.0100."),
        (
            0.95,
            0.7,
            0.95,
            0.945,
            False,
            "beats the baseline model's 0.9450 on the same test split by 0.0050, less than",
        ),
        (0.95, 0.7, 0.95, 0.93, True, "by 0.0200, at least the required 0.0100."),
        (0.65, 0.7, 0.65, 0.50, False, "below the threshold"),
    ],
    ids=[
        "below",
        "below-says-so",
        "above",
        "at",
        "no-better-than-trivial",
        "worse-than-baseline",
        "tie-with-baseline",
        "better-but-not-enough",
        "better-than-baseline",
        "below-but-better",
    ],
)
def test_decide(
    value: float, threshold: float, test_value: float, baseline: float | None, promote: bool, reason: str
) -> None:
    estimate = Estimate(value, value - 0.05, min(1.0, value + 0.05), f"the test split ({MIN_TEST_ROWS:,} rows)")
    decision = decide("f1_macro", estimate, threshold, test_value, TRIVIAL, baseline, min_improvement=0.01)
    assert decision["promote"] is promote
    assert any(reason in sentence for sentence in decision["reasons"]), decision["reasons"]
    assert {k: decision[k] for k in ("primary_metric", "value", "threshold", "baseline_value")} == {
        "primary_metric": "f1_macro",
        "value": value,
        "threshold": threshold,
        "baseline_value": baseline,
    }
    assert decision["interval"] == [estimate.low, estimate.high]


@pytest.mark.parametrize(
    ("requested", "task", "chosen"),
    [("auto", "classification", "f1_macro"), ("auto", "regression", "r2"), ("roc_auc_ovr", "classification", None)],
)
def test_primary_metric_defaults_per_task(requested: str, task: str, chosen: str | None) -> None:
    assert primary_metric(requested, task) == (chosen or requested)


def test_a_primary_metric_of_the_other_task_is_refused() -> None:
    with pytest.raises(DataError, match=r"primary_metric 'r2' does not fit the task classification\. Set"):
        primary_metric("r2", "classification")


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")  # on purpose: a class can be missing
@pytest.mark.parametrize("metric", ["accuracy", "balanced_accuracy", "f1_macro"])
def test_metrics_from_a_confusion_matrix_match_scikit_learn(metric: str) -> None:
    """The bootstrap resamples confusion matrices; each one's score must be the score of the rows it stands for."""
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 6, size=(30, 3, 3))
    counts[:, 2, :] *= rng.integers(0, 2, size=(30, 1))  # some matrices lack a true class entirely
    scorer = {
        "accuracy": accuracy_score,
        "balanced_accuracy": balanced_accuracy_score,
        "f1_macro": lambda t, p: f1_score(t, p, average="macro", zero_division=0),
    }[metric]
    expected = []
    for matrix in counts:
        truth = [t for t in range(3) for p in range(3) for _ in range(matrix[t, p])]
        predicted = [p for t in range(3) for p in range(3) for _ in range(matrix[t, p])]
        expected.append(scorer(truth, predicted))
    np.testing.assert_allclose(_from_confusion(metric, counts), expected)


def test_bootstrap_interval_surrounds_the_score_and_narrows_with_more_rows() -> None:
    rng = np.random.default_rng(0)
    widths = []
    for rows in (200, 5000):
        truth = pd.Series(rng.choice(["a", "b"], rows))
        predicted = np.where(rng.random(rows) < 0.8, truth, np.where(truth == "a", "b", "a"))
        low, high = bootstrap_interval("accuracy", truth, predicted)
        assert low < accuracy_score(truth, predicted) < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 3
    values = pd.Series(rng.normal(size=2000))
    low, high = bootstrap_interval("r2", values, values.to_numpy() + rng.normal(0, 0.5, 2000))
    assert low < 0.75 < high


def test_a_large_test_split_decides_on_itself_with_a_bootstrap_interval() -> None:
    rows = MIN_TEST_ROWS + 200
    test = pd.DataFrame({"x": np.arange(rows), "y": ["a", "b"] * (rows // 2)})
    model = FakeClassifier(["a", "b"] * (rows // 2 - 50) + ["b", "a"] * 50, [0.5] * rows)
    estimate, folds = estimate_metric(model, test, test, SCHEMA, "accuracy", 0.9)
    assert folds is None
    assert estimate.method == "the test split (1,200 rows)"
    assert estimate.low < 0.9 < estimate.high


@pytest.mark.filterwarnings("ignore:Only one class is present in y_true")  # on purpose: one class only
@pytest.mark.filterwarnings("ignore:A single label was found in 'y_true' and 'y_pred'")  # on purpose: one class only
def test_a_small_test_split_is_cross_validated_leaving_out_folds_that_cannot_be_scored() -> None:
    """Classes with too few rows for every fold: the folds without one are left out, not the whole evaluation."""
    from sklearn.tree import DecisionTreeClassifier

    rows = pd.DataFrame({"x": np.arange(30.0), "y": ["a"] * 14 + ["b"] * 14 + ["c"] * 2})
    model = DecisionTreeClassifier(random_state=0).fit(rows[["x"]], rows["y"])
    train, test = rows.iloc[::2], rows.iloc[1::2]
    estimate, folds = estimate_metric(model, test, train, SCHEMA, "roc_auc_ovr", 1.0)
    assert folds is not None
    assert 2 <= len(folds) < 5  # the folds without class c in their scored rows have no one-vs-rest AUC
    assert estimate.method.startswith(f"{len(folds)}-fold cross-validation over all 30 labelled rows")
    tiny = rows.iloc[[0, 14, 15]]
    estimate, folds = estimate_metric(model, tiny.iloc[1:], tiny.iloc[:1], SCHEMA, "accuracy", 1.0)
    assert folds is None  # too few rows to cross-validate: the test split decides
    assert estimate.method == "the test split (2 rows)"


def test_trivial_scores() -> None:
    train, test = pd.Series(["a", "a", "b"]), pd.Series(["a", "b", "b", "b"])
    assert trivial_score("accuracy", train, test) == (0.25, "always 'a'")
    assert trivial_score("roc_auc_ovr", train, test)[0] == 0.5
    value, model = trivial_score("r2", pd.Series([1.0, 3.0]), pd.Series([2.0, 4.0]))
    assert (value, model) == (pytest.approx(-1.0), "always the training mean 2")


def test_per_class_metrics_show_a_class_the_model_ignores() -> None:
    truth = pd.Series(["no"] * 8 + ["yes"] * 2)
    rows = per_class_metrics(truth, np.array(["no"] * 10))
    assert [(row["class"], row["recall"], row["support"]) for row in rows] == [("no", 1.0, 8), ("yes", 0.0, 2)]


def test_classification_metrics() -> None:
    test = pd.DataFrame({"x": [0, 1, 2, 3], "y": ["a", "a", "b", "b"]})
    model = FakeClassifier(predicted=["a", "b", "b", "b"], probability_of_b=[0.1, 0.6, 0.4, 0.9])
    metrics = compute_metrics(model, test, SCHEMA)
    assert metrics == pytest.approx(
        {
            "accuracy": 0.75,
            "balanced_accuracy": 0.75,
            "f1_macro": (2 / 3 + 0.8) / 2,
            "precision_macro": (1 + 2 / 3) / 2,
            "recall_macro": (0.5 + 1) / 2,
            "roc_auc_ovr": 0.75,
        }
    )


@pytest.mark.filterwarnings("ignore:A single label was found in 'y_true' and 'y_pred'")  # on purpose: one class only
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
    estimate = Estimate(0.8, 0.7, 0.85, "5-fold cross-validation over all 344 labelled rows", "folds from")
    decision = decide("f1_macro", estimate, 0.9, 0.81, TRIVIAL)
    per_class = per_class_metrics(pd.Series(["a", "b"]), np.array(["a", "a"]))
    report = render_report(
        {"accuracy": 0.81234, "f1_macro": 0.81}, decision, ["confusion_matrix.png"], per_class, [0.7, 0.85]
    )
    assert "| accuracy | 0.8123 |" in report
    assert "| f1_macro (primary) | 0.8100 |" in report
    assert "## Decision: do not promote" in report
    assert (
        "- f1_macro is 0.8000 on 5-fold cross-validation over all 344 labelled rows (folds from 0.7000 to 0.8500): "
        "below the threshold 0.9000."
    ) in report
    assert "- each fold: 0.7000, 0.8500" in report
    assert "- on the test split alone: 0.8100" in report
    assert "| b | 0.0000 | 0.0000 | 0.0000 | 1 |" in report
    assert "- `confusion_matrix.png`" in report


def test_check_threshold() -> None:
    check_threshold(0)
    check_threshold(1)
    check_threshold(None)  # unset: the metric's default
    with pytest.raises(DataError, match=r"threshold 1\.5 is outside 0-1"):
        check_threshold(1.5)


@pytest.mark.slow  # trains with the step scripts and tracks to MLflow: seconds
def test_penguins_evaluation(penguins_run) -> None:
    folder = penguins_run.evaluation
    files = {"metrics.json", "decision.json", "report.md", "confusion_matrix.png", "roc_curve.png"}
    assert {p.name for p in folder.iterdir()} == files
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics) == {
        "accuracy",
        "balanced_accuracy",
        "f1_macro",
        "precision_macro",
        "recall_macro",
        "roc_auc_ovr",
    }
    assert metrics["f1_macro"] > 0.9
    assert metrics["roc_auc_ovr"] > 0.95
    decision = json.loads((folder / "decision.json").read_text())
    # 69 test rows are too few to decide on: the gate cross-validates over all 344 labelled rows.
    assert decision["estimate"].startswith("5-fold cross-validation over all 344 labelled rows")
    assert decision["test_value"] == metrics["f1_macro"]
    assert 0.9 < decision["interval"][0] <= decision["value"] <= decision["interval"][1] <= 1
    assert decision["threshold"] == 0.7  # f1_macro's default: no threshold was given
    assert decision["trivial_value"] < 0.3
    assert decision["promote"] is True
    report = (folder / "report.md").read_text()
    assert "| Class | Precision | Recall | F1 | Test rows |" in report
    assert "| Chinstrap |" in report
    for plot in ("confusion_matrix.png", "roc_curve.png"):
        assert (folder / plot).read_bytes().startswith(PNG)
        assert f"`{plot}`" in report


@pytest.mark.slow  # trains with the step scripts and tracks to MLflow: seconds
def test_penguins_metrics_are_tracked(penguins_run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", penguins_run.tracking_uri)
    import mlflow

    runs = mlflow.search_runs(search_all_experiments=True, filter_string="params.threshold = '0.7'")
    assert len(runs) == 1
    metrics = json.loads((penguins_run.evaluation / "metrics.json").read_text())
    assert runs.iloc[0]["metrics.f1_macro"] == metrics["f1_macro"]
    assert runs.iloc[0]["metrics.promote"] == 1.0


@pytest.mark.slow  # trains with the step scripts and tracks to MLflow: seconds
def test_a_baseline_decides_when_it_is_better(tmp_path: Path, penguins_run, tracking: str) -> None:
    weak = tmp_path / "weak"
    argv = ["--prepped_data", str(penguins_run.prepped), "--n_estimators", "10", "--max_depth", "1"]
    assert run_step("train", [*argv, "--algorithm", "random_forest", "--model_output", str(weak)]) == 0
    strong = penguins_run.model
    for model, baseline, promote in [(strong, weak, True), (weak, strong, False)]:
        out = tmp_path / f"evaluation-{len(list(tmp_path.iterdir()))}"
        argv = ["--model", str(model), "--baseline_model", str(baseline), "--prepped_data", str(penguins_run.prepped)]
        assert (
            run_step("evaluate", [*argv, "--threshold", "0", "--min_improvement", "0", "--evaluation", str(out)]) == 0
        )
        decision = json.loads((out / "decision.json").read_text())
        assert decision["promote"] is promote, decision["reasons"]
        assert (decision["test_value"] > decision["baseline_value"]) is promote


@pytest.mark.slow  # trains with the step scripts and tracks to MLflow: seconds
def test_regression_evaluation(diabetes_run: Path) -> None:
    folder = diabetes_run / "evaluation"
    assert {p.name for p in folder.iterdir()} == {"metrics.json", "decision.json", "report.md", "residuals.png"}
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics) == {"r2", "rmse", "mae"}
    assert 0.2 < metrics["r2"] < 1
    decision = json.loads((folder / "decision.json").read_text())
    assert (decision["primary_metric"], decision["test_value"]) == ("r2", metrics["r2"])
    assert decision["trivial_value"] < 0.01  # the mean explains nothing
    assert (folder / "residuals.png").read_bytes().startswith(PNG)
    assert "| Class |" not in (folder / "report.md").read_text()


def test_load_model_rejects_a_folder_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"baseline_model .* is not an MLflow model folder"):
        load_model(tmp_path, "baseline_model")


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("threshold", ["threshold 1.5 is outside 0-1"]),
        ("min-improvement", ["min_improvement -0.1 is outside 0-1"]),
        ("metric-of-the-other-task", ["primary_metric 'r2' does not fit the task classification"]),
        ("no-model", ["model", "is not an MLflow model folder"]),
        ("no-prepped", ["prepped_data folder", "not found"]),
        pytest.param(  # loads the trained model first: MLflow, seconds
            "baseline-not-a-model", ["baseline_model", "is not an MLflow model folder"], marks=pytest.mark.slow
        ),
        pytest.param(  # trains a regression model and tracks it: seconds
            "baseline-other-columns", ["baseline_model cannot score this test split"], marks=pytest.mark.slow
        ),
    ],
)
def test_main_reports_user_mistakes(
    tmp_path: Path,
    prepped_penguins: Path,
    request: pytest.FixtureRequest,
    expect_user_error: Callable[..., str],
    case: str,
    fragments: list[str],
) -> None:
    """Each mistake is caught before the model is loaded, except where the model itself is the point."""
    model, prepped = tmp_path / "not-read", prepped_penguins
    if case.startswith("baseline"):
        model = request.getfixturevalue("penguins_trained").model
    extra = {
        "threshold": ["--threshold", "1.5"],
        "min-improvement": ["--min_improvement", "-0.1"],
        "metric-of-the-other-task": ["--primary_metric", "r2"],
        "baseline-not-a-model": ["--baseline_model", str(tmp_path)],
    }.get(case, [])
    if case == "baseline-other-columns":  # a regression model: trained only for this case
        extra = ["--baseline_model", str(request.getfixturevalue("diabetes_run") / "model")]
    if case == "no-model":
        model = tmp_path / "nowhere"
    if case == "no-prepped":
        prepped = tmp_path / "nowhere"
    output = tmp_path / "evaluation"
    output.mkdir()
    argv = ["--model", str(model), "--prepped_data", str(prepped), *extra, "--evaluation", str(output)]
    expect_user_error(run_step("evaluate", argv), output, *fragments)
