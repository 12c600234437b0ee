"""evaluate step: score the model on the test split, draw plots, and decide whether the model may be promoted.

Writes to the ``evaluation`` folder: ``metrics.json``, ``decision.json`` (read by the promotion step), ``report.md``
for people, and plots: ``confusion_matrix.png`` and ``roc_curve.png`` for classification, ``residuals.png`` for
regression.

The gate. A model is promoted only if

1. its primary metric (default: macro F1 for classification, R² for regression) reaches the threshold (default per
   metric, see METRICS). The estimate is the test split's score, with a 95% bootstrap interval; when the test split
   has fewer than MIN_TEST_ROWS rows, one split is too noisy to decide on, so the estimate is the mean of a 5-fold
   cross-validation of the same model recipe over all labelled rows;
2. it beats, on the test split, a trivial model that always predicts the most frequent class (or the mean);
3. when a baseline model is given, it beats the baseline's score on the same test split by at least
   ``min_improvement``: a tie does not promote.
"""

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    RocCurveDisplay,
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    precision_recall_fscore_support,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import KFold, StratifiedKFold
from threadpoolctl import threadpool_limits

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# MLflow and Matplotlib are imported where they are used: the argument and data checks answer in a moment. Plots are
# drawn on Figure objects, without pyplot: they need no display backend (a compute cluster has no display), and
# importing this module in a notebook leaves its inline plots on.

logger = logging.getLogger("evaluate")

# The metrics that can decide, each higher-is-better: its task and its default threshold. The defaults are floors a
# model that learned nothing cannot reach (a majority-class model has a macro F1 near 0.45 on two classes, the mean
# has an R² of 0); set threshold to what your use case needs.
METRICS = {
    "f1_macro": ("classification", 0.7),
    "balanced_accuracy": ("classification", 0.7),
    "accuracy": ("classification", 0.8),
    "roc_auc_ovr": ("classification", 0.8),
    "r2": ("regression", 0.5),
}
DEFAULT_METRIC = {"classification": "f1_macro", "regression": "r2"}
SCHEMA_KEYS = ("target_column", "task", "numeric_columns", "categorical_columns")
MIN_TEST_ROWS = 1000  # below this the 95% interval of a score is wider than about ±0.03: cross-validate instead
CV_FOLDS = 5
RESAMPLES = 200  # bootstrap resamples of the test split
SCORERS = {  # the primary metrics computed from predicted labels or values (ROC AUC needs probabilities)
    "f1_macro": lambda truth, predicted: f1_score(truth, predicted, average="macro", zero_division=0),
    "balanced_accuracy": balanced_accuracy_score,
    "accuracy": accuracy_score,
    "r2": r2_score,
}
PLOT_POINTS = 5000  # a residual plot of more points is a blot; a random sample shows the same shape


class DataError(ValueError):
    """A problem in the inputs or the arguments that the user must fix; main reports it in one line."""


@dataclass(frozen=True)
class Estimate:
    """The primary metric as the gate sees it, and how sure it is."""

    value: float
    low: float
    high: float
    method: str  # how it was measured, for people: "the test split (1,200 rows)"
    spread: str = "95% bootstrap interval"  # what low and high are


def check_threshold(threshold: float | None) -> None:
    """Enforce the component's range, which only Azure ML checks on its own."""
    if threshold is not None and not 0 <= threshold <= 1:
        raise DataError(f"threshold {threshold} is outside 0-1. Set threshold between 0 and 1")


def check_min_improvement(min_improvement: float) -> None:
    if not 0 <= min_improvement <= 1:
        raise DataError(f"min_improvement {min_improvement} is outside 0-1. Set min_improvement between 0 and 1")


def primary_metric(requested: str, task: str) -> str:
    """The metric that decides: the task's default for ``auto``, else the one requested if it fits the task."""
    if requested == "auto":
        return DEFAULT_METRIC[task]
    fitting = [name for name, (metric_task, _) in METRICS.items() if metric_task == task]
    if requested not in fitting:
        raise DataError(
            f"primary_metric '{requested}' does not fit the task {task}. Set primary_metric to auto or one of: "
            f"{', '.join(fitting)}"
        )
    return requested


def load_split(
    folder: str | Path, name: str = "test.csv", columns: list[str] | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a split (test.csv or train.csv; all its columns, or only ``columns``) and schema.json from data_prep's
    output folder."""
    folder = Path(folder)
    hint = "the data_prep step writes it. Run data_prep and set prepped_data to its output"
    if not folder.is_dir():
        raise DataError(f"prepped_data folder {folder} not found. Run data_prep and set prepped_data to its output")
    try:
        schema = json.loads((folder / "schema.json").read_text(encoding="utf-8"))
        rows = pd.read_csv(folder / name, low_memory=False, usecols=columns)
    except FileNotFoundError as exc:
        raise DataError(f"{Path(str(exc.filename)).name} is missing in {folder}; {hint}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise DataError(f"schema.json or {name} in {folder} is unreadable ({exc}); {hint}") from None
    except ValueError:  # usecols names a column the file lacks
        raise DataError(f"{name} in {folder} lacks columns {', '.join(columns or [])}; {hint}") from None
    missing = [key for key in SCHEMA_KEYS if key not in schema] if isinstance(schema, dict) else list(SCHEMA_KEYS)
    if missing or schema["task"] not in DEFAULT_METRIC:
        raise DataError(f"schema.json in {folder} lacks {', '.join(missing) or 'a valid task'}; {hint}")
    needed = columns or [schema["target_column"], *schema["numeric_columns"], *schema["categorical_columns"]]
    absent = [column for column in needed if column not in rows.columns]
    if absent:
        raise DataError(f"{name} in {folder} lacks columns {', '.join(absent)}; {hint}")
    if len(rows) < 2:
        raise DataError(f"{name} in {folder} has {len(rows)} rows, too few to score. Raise test_size or add rows")
    return rows, schema


def load_test_split(folder: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    return load_split(folder, "test.csv")


def load_model(folder: str | Path, name: str = "model") -> Any:
    """Load an MLflow sklearn model; ``name`` is the input's name, used in messages."""
    folder = Path(folder)
    if not (folder / "MLmodel").is_file():
        raise DataError(
            f"{name} {folder} is not an MLflow model folder (no MLmodel file). Set {name} to train's output"
        )
    try:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(str(folder))
    except Exception as exc:  # a corrupt model file can raise almost anything; the file, not the code, is at fault
        raise DataError(f"{name} in {folder} cannot be loaded ({type(exc).__name__}: {exc})") from None


def _features(rows: pd.DataFrame, schema: dict[str, Any]) -> pd.DataFrame:
    return rows[[*schema["numeric_columns"], *schema["categorical_columns"]]]


def _roc_auc(truth: pd.Series, probabilities: np.ndarray, classes: list) -> float:
    scores = probabilities[:, 1] if len(classes) == 2 else probabilities
    return float(roc_auc_score(truth, scores, multi_class="ovr", labels=classes))


@dataclass(frozen=True)
class Predictions:
    """A model's answers for the test rows, computed once: at a million rows each pass takes seconds."""

    values: np.ndarray  # predicted classes or numbers
    probabilities: np.ndarray | None  # per class, in the order of ``classes``, when the model gives them
    classes: list


def predict(model: Any, rows: pd.DataFrame) -> Predictions:
    classes = list(getattr(model, "classes_", []))
    probabilities = model.predict_proba(rows) if hasattr(model, "predict_proba") and classes else None
    return Predictions(np.asarray(model.predict(rows)), probabilities, classes)


def compute_metrics(
    model: Any, test: pd.DataFrame, schema: dict[str, Any], predictions: Predictions | None = None
) -> dict[str, float]:
    """Test-split metrics; classification also gets a one-vs-rest ROC AUC when the model gives probabilities."""
    truth = test[schema["target_column"]]
    predictions = predictions or predict(model, _features(test, schema))
    predicted = predictions.values
    if schema["task"] == "regression":
        return {
            "r2": float(r2_score(truth, predicted)),
            "rmse": float(root_mean_squared_error(truth, predicted)),
            "mae": float(mean_absolute_error(truth, predicted)),
        }
    metrics = {
        "accuracy": float(accuracy_score(truth, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(truth, predicted)),
        "f1_macro": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "precision_macro": float(precision_score(truth, predicted, average="macro", zero_division=0)),
        "recall_macro": float(recall_score(truth, predicted, average="macro", zero_division=0)),
    }
    classes = predictions.classes
    # ROC AUC needs every class the model knows to appear in the test split.
    if predictions.probabilities is not None and len(classes) >= 2 and set(truth) == set(classes):
        metrics["roc_auc_ovr"] = _roc_auc(truth, predictions.probabilities, classes)
    return metrics


def per_class_metrics(truth: pd.Series, predicted: np.ndarray) -> list[dict[str, Any]]:
    """Precision, recall, F1 and test rows of each class: a model that ignores a class shows a recall of 0 there."""
    labels = sorted(set(truth) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    return [
        {"class": label, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    ]


def _from_confusion(metric: str, counts: np.ndarray) -> np.ndarray:
    """accuracy, balanced accuracy or macro F1 of each confusion matrix in ``counts`` (resamples x k x k)."""
    hits = np.diagonal(counts, axis1=1, axis2=2).astype(float)
    actual, predicted = counts.sum(axis=2), counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "accuracy":
            return hits.sum(axis=1) / counts.sum(axis=(1, 2))
        if metric == "balanced_accuracy":  # over the classes present, as scikit-learn does
            return np.nanmean(np.where(actual > 0, hits / actual, np.nan), axis=1)
        present = (actual + predicted) > 0
        return np.nanmean(np.where(present, 2 * hits / (actual + predicted), np.nan), axis=1)


def bootstrap_interval(
    metric: str,
    truth: pd.Series,
    predicted: np.ndarray,
    probabilities: np.ndarray | None = None,
    classes=None,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """A 95% interval of the metric from resampling the test rows with replacement."""
    rng = np.random.default_rng(seed)
    n = len(truth)
    if metric in ("accuracy", "balanced_accuracy", "f1_macro"):
        # These depend on the confusion matrix only: resample its cells instead of the rows (fast at any size).
        labels = sorted(set(truth) | set(predicted))
        cells = confusion_matrix(truth, predicted, labels=labels).ravel()
        counts = rng.multinomial(n, cells / n, size=resamples).reshape(resamples, len(labels), len(labels))
        values = _from_confusion(metric, counts)
    else:
        truth_array = truth.to_numpy()
        values = []
        for _ in range(resamples):
            rows = rng.integers(0, n, n)
            if metric == "r2":
                values.append(r2_score(truth_array[rows], predicted[rows]))
            elif len(set(truth_array[rows])) == len(classes):  # a resample missing a class has no AUC
                values.append(_roc_auc(truth_array[rows], probabilities[rows], classes))
        values = np.array(values)
    if not np.isfinite(values).any():  # every resample lacked a class: no interval
        return float("nan"), float("nan")
    low, high = np.nanpercentile(values, [2.5, 97.5])
    return float(low), float(high)


def _metric_of(metric: str, model: Any, rows: pd.DataFrame, truth: pd.Series) -> float:
    if metric == "roc_auc_ovr":
        return _roc_auc(truth, model.predict_proba(rows), list(model.classes_))
    return float(SCORERS[metric](truth, model.predict(rows)))


def cross_validate(
    model: Any, rows: pd.DataFrame, truth: pd.Series, task: str, metric: str, folds: int = CV_FOLDS
) -> list[float]:
    """The metric of ``folds`` copies of the model's recipe (preprocessing included), each fitted without one fold
    and scored on it. A fold that cannot be fitted or scored (a rare class missing from it) is left out."""
    folds = min(folds, len(rows) // 2)  # at least two rows to score in each fold
    if folds < 2:
        return []
    stratify = task == "classification" and truth.value_counts().min() >= folds
    splitter = (StratifiedKFold if stratify else KFold)(n_splits=folds, shuffle=True, random_state=0)
    scores = []
    with threadpool_limits(limits=1):  # small data: threads would cost more than they save
        for fit_rows, score_rows in splitter.split(rows, truth):
            try:
                fitted = clone(model).fit(rows.iloc[fit_rows], truth.iloc[fit_rows])
                scores.append(_metric_of(metric, fitted, rows.iloc[score_rows], truth.iloc[score_rows]))
            except ValueError as exc:
                logger.warning("a cross-validation fold was left out: %s", exc)
    return scores


def trivial_score(metric: str, train_truth: pd.Series, test_truth: pd.Series) -> tuple[float, str]:
    """The score of a model that learned nothing: the most frequent training class, or the training mean."""
    if metric == "r2":
        mean = float(train_truth.mean())
        return float(r2_score(test_truth, np.full(len(test_truth), mean))), f"always the training mean {mean:.4g}"
    if metric == "roc_auc_ovr":
        return 0.5, "the same score for every row"
    majority = train_truth.value_counts().index[0]
    constant = pd.Series([majority] * len(test_truth), index=test_truth.index)
    return float(SCORERS[metric](test_truth, constant)), f"always {majority!r}"


def decide(
    metric: str,
    estimate: Estimate,
    threshold: float,
    test_value: float,
    trivial: tuple[float, str],
    baseline_value: float | None = None,
    min_improvement: float = 0.01,
) -> dict[str, Any]:
    """Promote only a model that reaches the threshold, beats a trivial model and, if given, beats the baseline by
    at least ``min_improvement`` (a tie does not promote)."""
    reaches = estimate.value >= threshold
    reasons = [
        f"{metric} is {estimate.value:.4f} on {estimate.method} ({estimate.spread} {estimate.low:.4f} to "
        f"{estimate.high:.4f}): {'at or above' if reaches else 'below'} the threshold {threshold:.4f}."
    ]
    trivial_value, trivial_model = trivial
    informative = test_value > trivial_value
    reasons.append(
        f"On the test split it scores {test_value:.4f}, {'above' if informative else 'no better than'} the "
        f"{trivial_value:.4f} of a trivial model ({trivial_model})."
    )
    better = True
    if baseline_value is None:
        reasons.append("No baseline model was given, so there is nothing else to compare with.")
    else:
        gain = test_value - baseline_value
        better = gain > 0 and gain >= min_improvement - 1e-12
        if gain <= 0:
            reasons.append(
                f"It is not better than the baseline model's {baseline_value:.4f} on the same test split "
                f"({gain:+.4f}); promotion needs an improvement of at least {min_improvement:.4f}."
            )
        else:
            relation = "at least" if better else "less than"
            reasons.append(
                f"It beats the baseline model's {baseline_value:.4f} on the same test split by {gain:.4f}, "
                f"{relation} the required {min_improvement:.4f}."
            )
    return {
        "promote": reaches and informative and better,
        "primary_metric": metric,
        "value": estimate.value,
        "threshold": threshold,
        "baseline_value": baseline_value,
        "reasons": reasons,
        "estimate": estimate.method,
        "interval": [estimate.low, estimate.high],
        "interval_kind": estimate.spread,
        "test_value": test_value,
        "trivial_value": trivial_value,
        "min_improvement": min_improvement,
    }


def make_plots(
    model: Any, test: pd.DataFrame, schema: dict[str, Any], predictions: Predictions | None = None
) -> "dict[str, Figure]":
    """The plots by file name: confusion matrix and ROC curves, or residuals for regression."""
    from matplotlib.figure import Figure  # drawn without pyplot: no display on a compute cluster or in CI

    truth = test[schema["target_column"]]
    predictions = predictions or predict(model, _features(test, schema))
    predicted = predictions.values
    if schema["task"] == "regression":
        figure = Figure(figsize=(6, 4.5), layout="constrained")
        axes = figure.subplots()
        shown = np.random.default_rng(0).permutation(len(truth))[:PLOT_POINTS]
        residuals = truth.to_numpy() - predicted
        axes.scatter(predicted[shown], residuals[shown], alpha=0.4, s=8)
        axes.axhline(0, color="grey", linestyle="--")
        sample = f" ({len(shown):,} of {len(truth):,} rows)" if len(shown) < len(truth) else ""
        axes.set(title=f"Residuals on the test split{sample}", xlabel="predicted", ylabel="actual - predicted")
        return {"residuals.png": figure}
    classes = predictions.classes or sorted(set(truth) | set(predicted))
    confusion = Figure(figsize=(6, 5), layout="constrained")
    ConfusionMatrixDisplay.from_predictions(truth, predicted, labels=classes, ax=confusion.subplots(), colorbar=False)
    confusion.axes[0].set_title("Confusion matrix on the test split")
    plots = {"confusion_matrix.png": confusion}
    if predictions.probabilities is not None:
        roc = Figure(figsize=(6, 5), layout="constrained")
        axes = roc.subplots()
        probabilities = predictions.probabilities
        for index, label in enumerate(classes):
            if label in set(truth):  # a class absent from the test split has no curve
                positive = (truth == label).to_numpy().astype(int)
                RocCurveDisplay.from_predictions(positive, probabilities[:, index], name=str(label), ax=axes)
        axes.plot([0, 1], [0, 1], color="grey", linestyle="--", label="chance")
        axes.set(
            title="ROC curves, one class against the rest", xlabel="false positive rate", ylabel="true positive rate"
        )
        axes.legend(loc="lower right")
        plots["roc_curve.png"] = roc
    return plots


def render_report(
    metrics: dict[str, float],
    decision: dict[str, Any],
    plots: list[str],
    per_class: list[dict[str, Any]] | None = None,
    folds: list[float] | None = None,
) -> str:
    """A short Markdown report for people: the decision and the numbers behind it, per-class scores, plots."""
    primary = decision["primary_metric"]
    rows = [f"| {name}{' (primary)' if name == primary else ''} | {value:.4f} |" for name, value in metrics.items()]
    verdict = "promote" if decision["promote"] else "do not promote"
    low, high = decision["interval"]
    how_sure = [
        f"- {primary} on {decision['estimate']}: {decision['value']:.4f}, {decision['interval_kind']} {low:.4f} to "
        f"{high:.4f}",
    ]
    if folds is not None:
        how_sure.append(f"- each fold: {', '.join(f'{score:.4f}' for score in folds)}")
        how_sure.append(f"- on the test split alone: {decision['test_value']:.4f}")
    lines = [
        "# Evaluation",
        "",
        f"## Decision: {verdict}",
        "",
        *[f"- {reason}" for reason in decision["reasons"]],
        "",
        "## How sure",
        "",
        *how_sure,
        "",
        "## Metrics on the test split",
        "",
        "| Metric | Value |",
        "| --- | --- |",
        *rows,
    ]
    if per_class:
        lines += [
            "",
            "## Each class on the test split",
            "",
            "A class the model ignores has a recall of 0, however good the accuracy looks.",
            "",
            "| Class | Precision | Recall | F1 | Test rows |",
            "| --- | --- | --- | --- | --- |",
            *[
                f"| {c['class']} | {c['precision']:.4f} | {c['recall']:.4f} | {c['f1']:.4f} | {c['support']:,} |"
                for c in per_class
            ],
        ]
    lines += ["", "## Plots", "", *[f"- `{name}`" for name in plots]]
    return "\n".join(lines) + "\n"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in the same folder, so a failure never leaves a half-written file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes the file private; give it the usual permissions
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _score(model: Any, test: pd.DataFrame, schema: dict[str, Any], name: str) -> tuple[dict[str, float], Predictions]:
    try:
        predictions = predict(model, _features(test, schema))
        return compute_metrics(model, test, schema, predictions), predictions
    except (KeyError, ValueError, TypeError) as exc:  # the model expects other columns, classes or a different task
        raise DataError(
            f"{name} cannot score this test split ({exc}). Pass a {name} trained on the same data_prep output"
        ) from None


def estimate_metric(
    model: Any,
    test: pd.DataFrame,
    train: pd.DataFrame,
    schema: dict[str, Any],
    metric: str,
    test_value: float,
    predictions: Predictions | None = None,
) -> tuple[Estimate, list[float] | None]:
    """The test split's score with a bootstrap interval or, for a small test split, a cross-validation."""
    truth = test[schema["target_column"]]
    if len(test) < MIN_TEST_ROWS:
        both = pd.concat([train, test], ignore_index=True)
        folds = cross_validate(model, _features(both, schema), both[schema["target_column"]], schema["task"], metric)
        if len(folds) >= 2:
            method = (
                f"{len(folds)}-fold cross-validation over all {len(both):,} labelled rows, as the {len(test)}-row test "
                "split alone is too small to decide on"
            )
            return Estimate(float(np.mean(folds)), min(folds), max(folds), method, "folds from"), folds
        logger.warning("cross-validation was not possible; the small test split decides alone")
    predictions = predictions or predict(model, _features(test, schema))
    values, probabilities, classes = predictions.values, predictions.probabilities, predictions.classes
    low, high = bootstrap_interval(metric, truth, values, probabilities, classes)
    return Estimate(test_value, low, high, f"the test split ({len(test):,} rows)"), None


def _log_to_mlflow(metrics: dict[str, float], decision: dict[str, Any]) -> None:
    """Log to MLflow when there is somewhere to log to; the files in the evaluation folder are the record."""
    if not os.environ.get("MLFLOW_TRACKING_URI"):  # without it mlflow would write into the working directory
        logger.warning("MLFLOW_TRACKING_URI is not set: metrics are not tracked")
        return
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        run = mlflow.start_run()
    except MlflowException as exc:
        logger.warning("MLflow tracking is unavailable, metrics are not tracked: %s", exc)
        return
    with run:
        mlflow.log_params({"threshold": decision["threshold"], "primary_metric": decision["primary_metric"]})
        gate = {
            "gate_value": decision["value"],
            "gate_low": decision["interval"][0],
            "gate_high": decision["interval"][1],
        }
        mlflow.log_metrics({**metrics, **gate, "promote": float(decision["promote"])})


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise DataError(message)  # a bad command line is a user mistake too: one line, exit code 2


def main(argv: list[str] | None = None) -> int:
    parser = _ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="train's MLflow model folder")
    parser.add_argument("--prepped_data", required=True, help="data_prep's output folder")
    parser.add_argument("--primary_metric", default="auto", help=f"auto or one of: {', '.join(METRICS)}")
    parser.add_argument("--threshold", type=float, help="minimum primary metric to promote (default: per metric)")
    parser.add_argument("--min_improvement", type=float, default=0.01, help="over the baseline model, to promote")
    parser.add_argument("--baseline_model", help="MLflow model to beat, for example the one in production")
    parser.add_argument("--evaluation", required=True, help="output folder")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    start = time.perf_counter()
    try:
        args = parser.parse_args(argv)
        check_threshold(args.threshold)
        check_min_improvement(args.min_improvement)
        test, schema = load_test_split(args.prepped_data)
        metric = primary_metric(args.primary_metric, schema["task"])
        threshold = METRICS[metric][1] if args.threshold is None else args.threshold
        model = load_model(args.model, "model")
        metrics, predictions = _score(model, test, schema, "model")
        if metric not in metrics:
            raise DataError(
                f"{metric} cannot be computed on this test split (a class is missing from it). Set primary_metric to "
                "auto, or raise test_size"
            )
        baseline_value = None
        if args.baseline_model:
            baseline = load_model(args.baseline_model, "baseline_model")
            baseline_value = _score(baseline, test, schema, "baseline_model")[0][metric]
        # The training rows: the target for the trivial model; all columns when a small test split is cross-validated.
        needed = None if len(test) < MIN_TEST_ROWS else [schema["target_column"]]
        train, _ = load_split(args.prepped_data, "train.csv", needed)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logger.info("test metrics on %s rows: %s", f"{len(test):,}", metrics)
    estimate, folds = estimate_metric(model, test, train, schema, metric, metrics[metric], predictions)
    truth = train[schema["target_column"]]
    trivial = trivial_score(metric, truth, test[schema["target_column"]])
    decision = decide(metric, estimate, threshold, metrics[metric], trivial, baseline_value, args.min_improvement)
    per_class = None
    if schema["task"] == "classification":
        per_class = per_class_metrics(test[schema["target_column"]], predictions.values)
    plots = make_plots(model, test, schema, predictions)
    folder = Path(args.evaluation)
    folder.mkdir(parents=True, exist_ok=True)
    for name, figure in plots.items():
        _write_atomic(folder / name, lambda path, figure=figure: figure.savefig(path, format="png", dpi=100))
    for name, content in [("metrics.json", metrics), ("decision.json", decision)]:
        text = json.dumps(content, indent=2, default=str) + "\n"
        _write_atomic(folder / name, lambda path, text=text: path.write_text(text, encoding="utf-8"))
    report = render_report(metrics, decision, list(plots), per_class, folds)
    _write_atomic(folder / "report.md", lambda path: path.write_text(report, encoding="utf-8"))
    logger.info(
        "decision: %s. %s (%.1f s)",
        "promote" if decision["promote"] else "do not promote",
        " ".join(decision["reasons"]),
        time.perf_counter() - start,
    )
    _log_to_mlflow(metrics, decision)
    return 0


if __name__ == "__main__":
    sys.exit(main())
