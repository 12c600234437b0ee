"""train step: fit a gradient-boosted tree model on the prepped training data and save it as an MLflow model.

The model. By default scikit-learn's histogram gradient boosting (HistGradientBoostingClassifier or ...Regressor):
on tabular data it is among the most accurate models out of the box, it fits 800,000 rows in about 15 s on two cores
(it bins each feature into at most 255 values once, then grows trees on the bins), stops adding trees when a
held-out tenth of the training rows stops improving (above 10,000 rows), and handles missing values and categories
itself. ``algorithm=random_forest`` trains the random forest of the notebook instead (slower on large data). For
classification, classes are weighted inversely to their frequency (``class_weight=balanced``), so a rare class counts
as much as a common one and a model that always predicts the majority does not look good.

The saved model is an sklearn Pipeline (preprocess, then model) whose preprocessing is the one data_prep fitted, not a
refit: it takes raw rows (the feature columns of train.csv), so serving and evaluation need nothing else.
"""

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import joblib
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, f1_score, r2_score, root_mean_squared_error
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

if TYPE_CHECKING:
    import mlflow
    from mlflow.models import ModelSignature

logger = logging.getLogger("train")

TASKS = ("classification", "regression")
ALGORITHMS = ("hist_gradient_boosting", "random_forest")
CLASS_WEIGHTS = ("balanced", "none")
SCHEMA_KEYS = ("target_column", "task", "numeric_columns", "categorical_columns", "classes")
N_ESTIMATORS_RANGE = (10, 2000)  # the component's min and max, checked here too: the script also runs on its own
MAX_DEPTH_RANGE = (1, 100)
# Below this many rows a fit takes well under a second on one thread, and starting threads costs more than they save.
ONE_THREAD_ROWS = 20_000
PROGRESS_SECONDS = 10  # a long fit says it is still working at least this often
METRIC_ROWS = 100_000  # training metrics are a sanity check: a sample of this many rows is plenty
# Pinned in the saved model's requirements.txt from what is installed, instead of mlflow's slow inference.
MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "pandas", "numpy", "scipy")
# mlflow saves sklearn models with skops, which loads only the types it is told to trust. These are the reviewed
# types our models need beyond skops' defaults (the trees of both algorithms, and the check_array partial that
# gradient boosting keeps for its categorical features); we write the file ourselves, so it is safe to trust them.
TRUSTED_TYPES = [
    "functools.partial",
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
    "sklearn.utils.validation.check_array",
]


class DataError(ValueError):
    """A problem in the inputs or the arguments that the user must fix; main reports it in one line."""


@dataclass(frozen=True)
class Prepped:
    """The parts of data_prep's output folder that training uses."""

    train: pd.DataFrame
    preprocessor: ColumnTransformer
    schema: dict[str, Any]

    @property
    def features(self) -> list[str]:
        return [*self.schema["numeric_columns"], *self.schema["categorical_columns"]]


def _unreadable(folder: Path, name: str, problem: str) -> DataError:
    return DataError(
        f"{name} in {folder} {problem}; the data_prep step writes it. Run data_prep and set prepped_data to its output"
    )


def load_prepped(folder: str | Path) -> Prepped:
    """Read data_prep's output, naming the file at fault when the folder is not what data_prep writes."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"prepped_data folder {folder} not found. Run data_prep and set prepped_data to its output")
    for name in ("schema.json", "train.csv", "preprocessor.joblib"):
        if not (folder / name).is_file():
            raise _unreadable(folder, name, "is missing")
    try:
        schema = json.loads((folder / "schema.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _unreadable(folder, "schema.json", f"is not valid JSON ({exc})") from None
    missing = [key for key in SCHEMA_KEYS if key not in schema] if isinstance(schema, dict) else list(SCHEMA_KEYS)
    if missing or schema["task"] not in TASKS:
        raise _unreadable(folder, "schema.json", f"lacks {', '.join(missing) or 'a valid task'}")
    try:
        train = pd.read_csv(folder / "train.csv", low_memory=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise _unreadable(folder, "train.csv", f"is not a readable CSV file ({str(exc).strip()})") from None
    needed = [schema["target_column"], *schema["numeric_columns"], *schema["categorical_columns"]]
    absent = [column for column in needed if column not in train.columns]
    if absent or train.empty:
        raise _unreadable(folder, "train.csv", f"lacks {'columns ' + ', '.join(absent) if absent else 'rows'}")
    try:
        preprocessor = joblib.load(folder / "preprocessor.joblib")
        check_is_fitted(preprocessor)
    except NotFittedError:
        raise _unreadable(folder, "preprocessor.joblib", "holds an unfitted preprocessor") from None
    except Exception as exc:  # a corrupt pickle can raise almost anything; the file, not the code, is at fault
        raise _unreadable(folder, "preprocessor.joblib", f"cannot be loaded ({type(exc).__name__}: {exc})") from None
    if not isinstance(preprocessor, ColumnTransformer):
        raise _unreadable(
            folder, "preprocessor.joblib", f"holds a {type(preprocessor).__name__}, not a ColumnTransformer"
        )
    return Prepped(train=train, preprocessor=preprocessor, schema=schema)


def check_params(
    n_estimators: int, max_depth: int, algorithm: str = ALGORITHMS[0], class_weight: str = "balanced"
) -> None:
    """Enforce the component's ranges and choices, which only Azure ML checks on its own."""
    for name, value, (low, high) in [
        ("n_estimators", n_estimators, N_ESTIMATORS_RANGE),
        ("max_depth", max_depth, MAX_DEPTH_RANGE),
    ]:
        if not low <= value <= high:
            raise DataError(f"{name} {value} is outside {low}-{high}. Set {name} between {low} and {high}")
    for name, value, choices in [("algorithm", algorithm, ALGORITHMS), ("class_weight", class_weight, CLASS_WEIGHTS)]:
        if value not in choices:
            raise DataError(f"{name} '{value}' is not supported. Set {name} to one of: {', '.join(choices)}")


def check_output_folder(folder: str | Path) -> None:
    """mlflow saves a model only into an empty folder; say so before training rather than after."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise DataError(f"model_output {folder} is not an empty folder. Set model_output to a new or empty folder")


def make_estimator(
    schema: dict[str, Any], algorithm: str, n_estimators: int, max_depth: int, seed: int, class_weight: str
) -> BaseEstimator:
    """The unfitted model. Gradient boosting is told which of the preprocessor's columns are category codes."""
    classification = schema["task"] == "classification"
    options = {"class_weight": "balanced" if class_weight == "balanced" else None} if classification else {}
    if algorithm == "random_forest":
        forest = RandomForestClassifier if classification else RandomForestRegressor
        return forest(n_estimators=n_estimators, max_depth=max_depth, random_state=seed, n_jobs=-1, **options)
    boosting = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
    numeric, categorical = len(schema["numeric_columns"]), len(schema["categorical_columns"])
    return boosting(
        max_iter=n_estimators,
        max_depth=max_depth,
        random_state=seed,
        categorical_features=[False] * numeric + [True] * categorical if categorical else None,
        **options,
    )


@contextmanager
def progress(activity: str, every: float = PROGRESS_SECONDS) -> Iterator[None]:
    """Log that ``activity`` is still going every ``every`` seconds, so a long fit never looks stuck."""
    done = threading.Event()
    start = time.perf_counter()

    def report() -> None:
        while not done.wait(every):
            logger.info("%s: %.0f s so far", activity, time.perf_counter() - start)

    thread = threading.Thread(target=report, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        logger.info("%s: done in %.1f s", activity, time.perf_counter() - start)


def train_model(
    prepped: Prepped,
    n_estimators: int,
    max_depth: int,
    seed: int,
    algorithm: str = ALGORITHMS[0],
    class_weight: str = "balanced",
) -> Pipeline:
    """Fit the model on the preprocessed training rows and chain it behind the already fitted preprocessor."""
    schema = prepped.schema
    model = make_estimator(schema, algorithm, n_estimators, max_depth, seed, class_weight)
    features = prepped.preprocessor.transform(prepped.train[prepped.features])
    threads = 1 if len(features) < ONE_THREAD_ROWS else None
    activity = f"fitting {type(model).__name__} on {len(features):,} rows and {features.shape[1]} features"
    with progress(activity), threadpool_limits(limits=threads):
        model.fit(features, prepped.train[schema["target_column"]])
    if hasattr(model, "n_iter_") and model.n_iter_ < n_estimators:
        logger.info("early stopping after %d of at most %d iterations", model.n_iter_, n_estimators)
    return Pipeline([("preprocess", prepped.preprocessor), ("model", model)])


def training_metrics(pipeline: Pipeline, prepped: Prepped) -> dict[str, float]:
    """Scores on (at most METRIC_ROWS of) the training rows: only a sanity check, as trees fit their training data
    well; evaluate judges the model."""
    rows = prepped.train
    if len(rows) > METRIC_ROWS:
        rows = rows.sample(METRIC_ROWS, random_state=0)
    truth = rows[prepped.schema["target_column"]]
    predicted = pipeline.predict(rows[prepped.features])
    if prepped.schema["task"] == "classification":
        return {
            "train_accuracy": float(accuracy_score(truth, predicted)),
            "train_f1_macro": float(f1_score(truth, predicted, average="macro")),
        }
    return {
        "train_r2": float(r2_score(truth, predicted)),
        "train_rmse": float(root_mean_squared_error(truth, predicted)),
    }


def signature_of(pipeline: Pipeline, prepped: Prepped) -> "ModelSignature":
    """The served model's signature: the feature columns only, typed as in the data; a column with any missing value
    in the training rows is optional. Types come from a sample (pandas types a whole column alike), which also spares
    the seconds MLflow takes to look at every value of a million rows."""
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ColSpec, Schema

    rows = prepped.train[prepped.features]
    complete = rows.dropna()
    sample = (complete if len(complete) >= 10 else rows).head(1000)
    inferred = infer_signature(sample, pipeline.predict(sample))
    gaps = rows.isna().any()
    inputs = Schema([ColSpec(spec.type, spec.name, required=not gaps[spec.name]) for spec in inferred.inputs.inputs])
    return ModelSignature(inputs=inputs, outputs=inferred.outputs)


def known_categories(prepped: Prepped) -> dict[str, list[Any]]:
    """Per categorical column, every category of the training rows, when the preprocessing knows them all (a column
    whose rare values were grouped does not: any value is then served as "other"). Saved in the model's metadata,
    where the scoring script (serving/score.py) reads which values a request may send."""
    known: dict[str, list[Any]] = {}
    for _, encoder, names in prepped.preprocessor.transformers_:
        learned = getattr(encoder, "categories_", None)
        if learned is None:
            continue
        for name, values in zip(names, learned, strict=True):
            categories = [value for value in values.tolist() if value == value]  # NaN (missing) aside
            if set(prepped.train[name].dropna().unique().tolist()) <= set(categories):
                known[name] = categories
    return known


def save_model(pipeline: Pipeline, prepped: Prepped, folder: str | Path) -> None:
    """Save as an MLflow model with a signature of the feature columns only, assembled aside, then moved in."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    signature = signature_of(pipeline, prepped)
    example = prepped.train[prepped.features].head(5)
    requirements = [f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS]
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".staging-"))  # inside: the parent may not be writable
    try:
        import mlflow.sklearn  # here, not at the top: the argument and data checks answer in a moment

        mlflow.sklearn.save_model(
            pipeline,
            staging / "model",
            signature=signature,
            input_example=example,
            pip_requirements=requirements,
            skops_trusted_types=TRUSTED_TYPES,
            metadata={"known_categories": known_categories(prepped)},
        )
        for item in (staging / "model").iterdir():
            os.replace(item, folder / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _start_tracking() -> "mlflow.ActiveRun | None":
    """An MLflow run, or None when there is nowhere to log to; training goes on either way."""
    if not os.environ.get("MLFLOW_TRACKING_URI"):  # without it mlflow would write into the working directory
        logger.warning("MLFLOW_TRACKING_URI is not set: parameters and metrics are not tracked")
        return None
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return mlflow.start_run()
    except MlflowException as exc:
        logger.warning("MLflow tracking is unavailable, parameters and metrics are not tracked: %s", exc)
        return None


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise DataError(message)  # a bad command line is a user mistake too: one line, exit code 2


def main(argv: list[str] | None = None) -> int:
    parser = _ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepped_data", required=True, help="data_prep's output folder")
    parser.add_argument("--algorithm", default=ALGORITHMS[0], help=" or ".join(ALGORITHMS))
    parser.add_argument("--n_estimators", type=int, default=100, help="boosting iterations, or trees of a forest")
    parser.add_argument("--max_depth", type=int, default=10)
    parser.add_argument("--class_weight", default="balanced", help="balanced (classification) or none")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--model_output", required=True, help="empty or new folder for the MLflow model")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = parser.parse_args(argv)
        check_params(args.n_estimators, args.max_depth, args.algorithm, args.class_weight)
        check_output_folder(args.model_output)
        prepped = load_prepped(args.prepped_data)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    params = {
        "algorithm": args.algorithm,
        "n_estimators": args.n_estimators,
        "max_depth": args.max_depth,
        "class_weight": args.class_weight,
        "seed": args.seed,
    }
    logger.info("training a %s model on %s rows with %s", prepped.schema["task"], f"{len(prepped.train):,}", params)
    pipeline = train_model(prepped, args.n_estimators, args.max_depth, args.seed, args.algorithm, args.class_weight)
    metrics = training_metrics(pipeline, prepped)
    logger.info("training metrics: %s", metrics)
    run = _start_tracking()
    if run is not None:
        with run:
            import mlflow

            mlflow.log_params({**params, "task": prepped.schema["task"], "train_rows": len(prepped.train)})
            mlflow.log_metrics(metrics)
    save_model(pipeline, prepped, args.model_output)
    logger.info("model saved to %s", args.model_output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
