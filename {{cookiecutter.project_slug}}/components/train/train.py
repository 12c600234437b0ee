"""train step: fit a random forest on the prepped training data and save it as an MLflow model.

The saved model is an sklearn Pipeline (preprocess, then model) whose preprocessing is the one data_prep fitted, not a
refit: it takes raw rows (the columns of train.csv without the target), so serving and evaluation need nothing else.
"""

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, NoReturn

import joblib
import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, f1_score, r2_score, root_mean_squared_error
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

logger = logging.getLogger("train")

TASKS = ("classification", "regression")
SCHEMA_KEYS = ("target_column", "task", "numeric_columns", "categorical_columns", "classes")
N_ESTIMATORS_RANGE = (10, 2000)  # the component's min and max; the local runner does not enforce them, so we do
MAX_DEPTH_RANGE = (1, 100)
# Pinned in the saved model's requirements.txt from what is installed, instead of mlflow's slow inference.
MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "pandas", "numpy", "scipy")
# mlflow saves sklearn models with skops, which loads only the types it is told to trust. These are the reviewed
# types a random forest needs beyond skops' defaults; we write the file ourselves, so it is safe to trust them.
TRUSTED_TYPES = ["numpy.dtype", "sklearn.tree._tree.Tree"]


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
        train = pd.read_csv(folder / "train.csv")
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


def check_params(n_estimators: int, max_depth: int) -> None:
    """Enforce the component's ranges, which only Azure ML checks on its own."""
    for name, value, (low, high) in [
        ("n_estimators", n_estimators, N_ESTIMATORS_RANGE),
        ("max_depth", max_depth, MAX_DEPTH_RANGE),
    ]:
        if not low <= value <= high:
            raise DataError(f"{name} {value} is outside {low}-{high}. Set {name} between {low} and {high}")


def check_output_folder(folder: str | Path) -> None:
    """mlflow saves a model only into an empty folder; say so before training rather than after."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise DataError(f"model_output {folder} is not an empty folder. Set model_output to a new or empty folder")


def train_model(prepped: Prepped, n_estimators: int, max_depth: int, seed: int) -> Pipeline:
    """Fit the forest on the preprocessed training rows and chain it behind the already fitted preprocessor."""
    forest = RandomForestClassifier if prepped.schema["task"] == "classification" else RandomForestRegressor
    model = forest(n_estimators=n_estimators, max_depth=max_depth, random_state=seed, n_jobs=-1)
    features = prepped.preprocessor.transform(prepped.train[prepped.features])
    model.fit(features, prepped.train[prepped.schema["target_column"]])
    return Pipeline([("preprocess", prepped.preprocessor), ("model", model)])


def training_metrics(pipeline: Pipeline, prepped: Prepped) -> dict[str, float]:
    """Scores on the training rows: only a sanity check (a forest fits its training data well); evaluate judges."""
    truth = prepped.train[prepped.schema["target_column"]]
    predicted = pipeline.predict(prepped.train[prepped.features])
    if prepped.schema["task"] == "classification":
        return {
            "train_accuracy": float(accuracy_score(truth, predicted)),
            "train_f1_macro": float(f1_score(truth, predicted, average="macro")),
        }
    return {
        "train_r2": float(r2_score(truth, predicted)),
        "train_rmse": float(root_mean_squared_error(truth, predicted)),
    }


def save_model(pipeline: Pipeline, prepped: Prepped, folder: str | Path) -> None:
    """Save as an MLflow model with a signature of the raw columns, assembled aside and then moved into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = prepped.train[prepped.features]
    signature = infer_signature(rows, pipeline.predict(rows))  # all rows: a column with gaps is then optional
    example = rows.head(5)
    requirements = [f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS]
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".staging-"))  # inside: the parent may not be writable
    try:
        mlflow.sklearn.save_model(
            pipeline,
            staging / "model",
            signature=signature,
            input_example=example,
            pip_requirements=requirements,
            skops_trusted_types=TRUSTED_TYPES,
        )
        for item in (staging / "model").iterdir():
            os.replace(item, folder / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _start_tracking() -> mlflow.ActiveRun | None:
    """An MLflow run, or None when there is nowhere to log to; training goes on either way."""
    if not os.environ.get("MLFLOW_TRACKING_URI"):  # without it mlflow would write into the working directory
        logger.warning("MLFLOW_TRACKING_URI is not set: parameters and metrics are not tracked")
        return None
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
    parser.add_argument("--n_estimators", type=int, default=200)
    parser.add_argument("--max_depth", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--model_output", required=True, help="empty or new folder for the MLflow model")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = parser.parse_args(argv)
        check_params(args.n_estimators, args.max_depth)
        check_output_folder(args.model_output)
        prepped = load_prepped(args.prepped_data)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    params = {"n_estimators": args.n_estimators, "max_depth": args.max_depth, "seed": args.seed}
    logger.info("training a %s forest on %d rows with %s", prepped.schema["task"], len(prepped.train), params)
    pipeline = train_model(prepped, args.n_estimators, args.max_depth, args.seed)
    metrics = training_metrics(pipeline, prepped)
    logger.info("training metrics: %s", metrics)
    run = _start_tracking()
    if run is not None:
        with run:
            mlflow.log_params({**params, "task": prepped.schema["task"], "train_rows": len(prepped.train)})
            mlflow.log_metrics(metrics)
    save_model(pipeline, prepped, args.model_output)
    logger.info("model saved to %s", args.model_output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
