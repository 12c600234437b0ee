"""evaluate step: score the model on the test split, draw plots, and decide whether the model may be promoted.

Writes to the ``evaluation`` folder: ``metrics.json``, ``decision.json`` (read by the promotion step), ``report.md``
for people, and plots: ``confusion_matrix.png`` and ``roc_curve.png`` for classification, ``residuals.png`` for
regression. A model is promoted only if its primary metric reaches the threshold and is at least the baseline's on
the same test split, when a baseline model is given.
"""

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import matplotlib
import mlflow
import pandas as pd
from matplotlib.figure import Figure
from mlflow.exceptions import MlflowException
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    RocCurveDisplay,
    accuracy_score,
    f1_score,
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

matplotlib.use("Agg")  # no display on a compute cluster or in CI

logger = logging.getLogger("evaluate")

PRIMARY_METRIC = {"classification": "f1_macro", "regression": "r2"}  # higher is better for both
SCHEMA_KEYS = ("target_column", "task", "numeric_columns", "categorical_columns")


class DataError(ValueError):
    """A problem in the inputs or the arguments that the user must fix; main reports it in one line."""


def check_threshold(threshold: float) -> None:
    """Enforce the component's range, which only Azure ML checks on its own."""
    if not 0 <= threshold <= 1:
        raise DataError(f"threshold {threshold} is outside 0-1. Set threshold between 0 and 1")


def load_test_split(folder: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read test.csv and schema.json from data_prep's output folder."""
    folder = Path(folder)
    hint = "the data_prep step writes it. Run data_prep and set prepped_data to its output"
    if not folder.is_dir():
        raise DataError(f"prepped_data folder {folder} not found. Run data_prep and set prepped_data to its output")
    try:
        schema = json.loads((folder / "schema.json").read_text(encoding="utf-8"))
        test = pd.read_csv(folder / "test.csv")
    except FileNotFoundError as exc:
        raise DataError(f"{Path(str(exc.filename)).name} is missing in {folder}; {hint}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise DataError(f"schema.json or test.csv in {folder} is unreadable ({exc}); {hint}") from None
    missing = [key for key in SCHEMA_KEYS if key not in schema] if isinstance(schema, dict) else list(SCHEMA_KEYS)
    if missing or schema["task"] not in PRIMARY_METRIC:
        raise DataError(f"schema.json in {folder} lacks {', '.join(missing) or 'a valid task'}; {hint}")
    needed = [schema["target_column"], *schema["numeric_columns"], *schema["categorical_columns"]]
    absent = [column for column in needed if column not in test.columns]
    if absent:
        raise DataError(f"test.csv in {folder} lacks columns {', '.join(absent)}; {hint}")
    if len(test) < 2:
        raise DataError(f"test.csv in {folder} has {len(test)} rows, too few to score. Raise test_size or add rows")
    return test, schema


def load_model(folder: str | Path, name: str = "model") -> Any:
    """Load an MLflow sklearn model; ``name`` is the input's name, used in messages."""
    folder = Path(folder)
    if not (folder / "MLmodel").is_file():
        raise DataError(
            f"{name} {folder} is not an MLflow model folder (no MLmodel file). Set {name} to train's output"
        )
    try:
        return mlflow.sklearn.load_model(str(folder))
    except Exception as exc:  # a corrupt model file can raise almost anything; the file, not the code, is at fault
        raise DataError(f"{name} in {folder} cannot be loaded ({type(exc).__name__}: {exc})") from None


def _features(test: pd.DataFrame, schema: dict[str, Any]) -> pd.DataFrame:
    return test[[*schema["numeric_columns"], *schema["categorical_columns"]]]


def compute_metrics(model: Any, test: pd.DataFrame, schema: dict[str, Any]) -> dict[str, float]:
    """Test-split metrics; classification also gets a one-vs-rest ROC AUC when the model gives probabilities."""
    truth = test[schema["target_column"]]
    predicted = model.predict(_features(test, schema))
    if schema["task"] == "regression":
        return {
            "r2": float(r2_score(truth, predicted)),
            "rmse": float(root_mean_squared_error(truth, predicted)),
            "mae": float(mean_absolute_error(truth, predicted)),
        }
    metrics = {
        "accuracy": float(accuracy_score(truth, predicted)),
        "f1_macro": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "precision_macro": float(precision_score(truth, predicted, average="macro", zero_division=0)),
        "recall_macro": float(recall_score(truth, predicted, average="macro", zero_division=0)),
    }
    classes = list(getattr(model, "classes_", []))
    # ROC AUC needs every class the model knows to appear in the test split.
    if hasattr(model, "predict_proba") and len(classes) >= 2 and set(truth) == set(classes):
        probabilities = model.predict_proba(_features(test, schema))
        scores = probabilities[:, 1] if len(classes) == 2 else probabilities
        metrics["roc_auc_ovr"] = float(roc_auc_score(truth, scores, multi_class="ovr", labels=classes))
    return metrics


def decide(metric: str, value: float, threshold: float, baseline_value: float | None = None) -> dict[str, Any]:
    """Promote only a model that reaches the threshold and does at least as well as the baseline, if any."""
    reaches = value >= threshold
    reasons = [f"{metric} is {value:.4f}, {'at or above' if reaches else 'below'} the threshold {threshold:.4f}."]
    beats = True
    if baseline_value is None:
        reasons.append("No baseline model was given, so there is nothing else to compare with.")
    else:
        beats = value >= baseline_value
        relation = "at least" if beats else "worse than"
        reasons.append(f"It is {relation} the baseline model's {baseline_value:.4f} on the same test split.")
    return {
        "promote": reaches and beats,
        "primary_metric": metric,
        "value": value,
        "threshold": threshold,
        "baseline_value": baseline_value,
        "reasons": reasons,
    }


def make_plots(model: Any, test: pd.DataFrame, schema: dict[str, Any]) -> dict[str, Figure]:
    """The plots by file name: confusion matrix and ROC curves, or residuals for regression."""
    truth = test[schema["target_column"]]
    features = _features(test, schema)
    predicted = model.predict(features)
    if schema["task"] == "regression":
        figure = Figure(figsize=(6, 4.5), layout="constrained")
        axes = figure.subplots()
        axes.scatter(predicted, truth - predicted, alpha=0.6)
        axes.axhline(0, color="grey", linestyle="--")
        axes.set(title="Residuals on the test split", xlabel="predicted", ylabel="actual - predicted")
        return {"residuals.png": figure}
    classes = list(getattr(model, "classes_", sorted(set(truth) | set(predicted))))
    confusion = Figure(figsize=(6, 5), layout="constrained")
    ConfusionMatrixDisplay.from_predictions(truth, predicted, labels=classes, ax=confusion.subplots(), colorbar=False)
    confusion.axes[0].set_title("Confusion matrix on the test split")
    plots = {"confusion_matrix.png": confusion}
    if hasattr(model, "predict_proba"):
        roc = Figure(figsize=(6, 5), layout="constrained")
        axes = roc.subplots()
        probabilities = model.predict_proba(features)
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


def render_report(metrics: dict[str, float], decision: dict[str, Any], plots: list[str]) -> str:
    """A short Markdown report for people: metrics, the decision and why, and the plot files."""
    primary = decision["primary_metric"]
    rows = [f"| {name}{' (primary)' if name == primary else ''} | {value:.4f} |" for name, value in metrics.items()]
    verdict = "promote" if decision["promote"] else "do not promote"
    lines = [
        "# Evaluation",
        "",
        "Metrics of the model on the test split written by data_prep.",
        "",
        "| Metric | Value |",
        "| --- | --- |",
        *rows,
        "",
        f"## Decision: {verdict}",
        "",
        *[f"- {reason}" for reason in decision["reasons"]],
        "",
        "## Plots",
        "",
        *[f"- `{name}`" for name in plots],
    ]
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


def _score(model: Any, test: pd.DataFrame, schema: dict[str, Any], name: str) -> dict[str, float]:
    try:
        return compute_metrics(model, test, schema)
    except (KeyError, ValueError, TypeError) as exc:  # the model expects other columns, classes or a different task
        raise DataError(
            f"{name} cannot score this test split ({exc}). Pass a {name} trained on the same data_prep output"
        ) from None


def _log_to_mlflow(metrics: dict[str, float], decision: dict[str, Any]) -> None:
    """Log to MLflow when there is somewhere to log to; the files in the evaluation folder are the record."""
    if not os.environ.get("MLFLOW_TRACKING_URI"):  # without it mlflow would write into the working directory
        logger.warning("MLFLOW_TRACKING_URI is not set: metrics are not tracked")
        return
    try:
        run = mlflow.start_run()
    except MlflowException as exc:
        logger.warning("MLflow tracking is unavailable, metrics are not tracked: %s", exc)
        return
    with run:
        mlflow.log_param("threshold", decision["threshold"])
        mlflow.log_metrics({**metrics, "promote": float(decision["promote"])})


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise DataError(message)  # a bad command line is a user mistake too: one line, exit code 2


def main(argv: list[str] | None = None) -> int:
    parser = _ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="train's MLflow model folder")
    parser.add_argument("--prepped_data", required=True, help="data_prep's output folder")
    parser.add_argument("--threshold", type=float, default=0.9, help="minimum primary metric to promote")
    parser.add_argument("--baseline_model", help="MLflow model to beat, for example the one in production")
    parser.add_argument("--evaluation", required=True, help="output folder")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = parser.parse_args(argv)
        check_threshold(args.threshold)
        test, schema = load_test_split(args.prepped_data)
        model = load_model(args.model, "model")
        metrics = _score(model, test, schema, "model")
        metric = PRIMARY_METRIC[schema["task"]]
        baseline_value = None
        if args.baseline_model:
            baseline = load_model(args.baseline_model, "baseline_model")
            baseline_value = _score(baseline, test, schema, "baseline_model")[metric]
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    decision = decide(metric, metrics[metric], args.threshold, baseline_value)
    plots = make_plots(model, test, schema)
    folder = Path(args.evaluation)
    folder.mkdir(parents=True, exist_ok=True)
    for name, figure in plots.items():
        _write_atomic(folder / name, lambda path, figure=figure: figure.savefig(path, format="png", dpi=100))
    for name, content in [("metrics.json", metrics), ("decision.json", decision)]:
        text = json.dumps(content, indent=2) + "\n"
        _write_atomic(folder / name, lambda path, text=text: path.write_text(text, encoding="utf-8"))
    report = render_report(metrics, decision, list(plots))
    _write_atomic(folder / "report.md", lambda path: path.write_text(report, encoding="utf-8"))
    logger.info("test metrics: %s", metrics)
    logger.info(
        "decision: %s. %s", "promote" if decision["promote"] else "do not promote", " ".join(decision["reasons"])
    )
    _log_to_mlflow(metrics, decision)
    return 0


if __name__ == "__main__":
    sys.exit(main())
