"""data_prep step: check the raw CSV, split it, and fit the preprocessing on the training part only.

Writes to the ``prepped_data`` folder: ``train.csv`` and ``test.csv`` (raw columns, so the model can be served on raw
rows), ``preprocessor.joblib`` (fitted on train.csv only, so no test information leaks into training) and
``schema.json`` (target, task, feature columns and classes, read by the train and evaluate steps).
"""

import argparse
import json
import logging
import math
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NoReturn

import joblib
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

logger = logging.getLogger("data_prep")

TASKS = ("classification", "regression")
TEST_SIZE_RANGE = (0.05, 0.5)  # the component's min and max; the local runner does not enforce them, so we do
NUMERIC_SHARE = 0.8  # a text column with at least this share of numbers is a numeric column with typos


class DataError(ValueError):
    """A problem in the data or the arguments that the user must fix; main reports it in one line."""


@dataclass(frozen=True)
class Schema:
    """What the later steps need to know about the columns; written as schema.json."""

    target_column: str
    task: str
    numeric_columns: tuple[str, ...]
    categorical_columns: tuple[str, ...]
    classes: tuple[str | int | float | bool, ...]  # empty for regression

    @property
    def feature_columns(self) -> list[str]:
        return [*self.numeric_columns, *self.categorical_columns]


def read_dataset(path: str | Path) -> pd.DataFrame:
    """Read the CSV, turning the ways a file can be unusable into one message each."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"input_data {path} is a folder. Set input_data to a CSV file")
    if not path.is_file():
        raise DataError(f"input file {path} not found. Set input_data to an existing CSV file")
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path.name} is empty. Set input_data to a CSV file with a header and rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise DataError(f"{path.name} is not a readable CSV file ({detail}). Fix the file or use another") from None
    if df.empty:
        raise DataError(f"{path.name} has a header but no rows. Add rows or use another file")
    return df


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _text_in_numbers(column: pd.Series) -> pd.Series:
    """The text values of a column that is otherwise numeric (typos such as 'n/a' or '12,5'), else nothing."""
    values = column.dropna()
    if values.empty or _is_numeric(column):
        return values.iloc[:0]
    numbers = pd.to_numeric(values, errors="coerce")
    share = numbers.notna().mean()
    return values[numbers.isna()] if NUMERIC_SHARE <= share < 1 else values.iloc[:0]


def infer_schema(df: pd.DataFrame, target_column: str, task: str, source: str = "the input data") -> Schema:
    """Check the target and every column against the task, and sort the features into numeric and categorical.

    ``source`` names the data in messages, for example the CSV file's name.
    """
    if task not in TASKS:
        raise DataError(f"task '{task}' is not supported. Set task to one of: {', '.join(TASKS)}")
    if target_column not in df.columns:
        raise DataError(
            f"column '{target_column}' not found in {source}; columns are: {', '.join(map(str, df.columns))}. "
            "Set target_column to one of them"
        )
    target = df[target_column]
    if target.isna().all():
        raise DataError(f"target column '{target_column}' has no values. Fill it in or choose another target_column")
    for name in df.columns:
        text = _text_in_numbers(df[name])
        if not text.empty:
            # Row numbers as a spreadsheet shows them: the header is row 1, so data row i (0-based) is row i + 2.
            examples = ", ".join(f"'{value}' (row {index + 2})" for index, value in text.head(3).items())
            raise DataError(
                f"column '{name}' holds numbers but also text: {examples}; rows are numbered with the header as row 1. "
                "Correct these values or leave them blank (blank means missing)"
            )
    if task == "regression" and not _is_numeric(target):
        example = target.dropna().iloc[0]
        raise DataError(
            f"task regression needs a numeric target, but column '{target_column}' holds text (for example "
            f"'{example}'). Set task to classification or target_column to a numeric column"
        )
    classes: tuple = ()
    if task == "classification":
        classes = tuple(sorted(target.dropna().unique().tolist()))
        if len(classes) < 2:
            raise DataError(
                f"target column '{target_column}' has a single value ({classes[0]!r}); classification needs at "
                "least 2 classes. Choose another target_column"
            )
    features = [name for name in df.columns if name != target_column and df[name].notna().any()]
    if not features:
        raise DataError(f"{source} has no feature columns besides '{target_column}'. Add feature columns")
    return Schema(
        target_column=target_column,
        task=task,
        numeric_columns=tuple(name for name in features if _is_numeric(df[name])),
        categorical_columns=tuple(name for name in features if not _is_numeric(df[name])),
        classes=classes,
    )


def split(df: pd.DataFrame, schema: Schema, test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded train/test split of the rows that have a target, stratified when every class can be on both sides."""
    low, high = TEST_SIZE_RANGE
    if not low <= test_size <= high:
        raise DataError(f"test_size {test_size} is outside {low}-{high}. Set test_size between {low} and {high}")
    labelled = df[df[schema.target_column].notna()].reset_index(drop=True)
    n_test = math.ceil(test_size * len(labelled))  # as train_test_split rounds it
    if n_test < 1 or len(labelled) - n_test < 1:
        raise DataError(
            f"only {len(labelled)} rows have a target; too few to split with test_size {test_size}. Add rows"
        )
    stratify = None
    if schema.task == "classification":
        counts = labelled[schema.target_column].value_counts()
        if counts.min() >= 2 and min(n_test, len(labelled) - n_test) >= len(counts):
            stratify = labelled[schema.target_column]
    train, test = train_test_split(labelled, test_size=test_size, random_state=seed, stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def fit_preprocessor(train: pd.DataFrame, schema: Schema) -> ColumnTransformer:
    """Impute, scale and one-hot encode, learning medians, scales and categories from the training part only."""
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    transformers = [
        (name, pipeline, list(columns))
        for name, pipeline, columns in [
            ("numeric", numeric, schema.numeric_columns),
            ("categorical", categorical, schema.categorical_columns),
        ]
        if columns
    ]
    return ColumnTransformer(transformers).fit(train[schema.feature_columns])


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


def write_prepped(
    folder: str | Path, train: pd.DataFrame, test: pd.DataFrame, preprocessor: ColumnTransformer, schema: Schema
) -> None:
    """Write the four files the train and evaluate steps read."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / "train.csv", lambda p: train.to_csv(p, index=False))
    _write_atomic(folder / "test.csv", lambda p: test.to_csv(p, index=False))
    _write_atomic(folder / "preprocessor.joblib", lambda p: joblib.dump(preprocessor, p))
    text = json.dumps(asdict(schema), indent=2) + "\n"
    _write_atomic(folder / "schema.json", lambda p: p.write_text(text, encoding="utf-8"))


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise DataError(message)  # a bad command line is a user mistake too: one line, exit code 2


def main(argv: list[str] | None = None) -> int:
    parser = _ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input_data", required=True, help="raw CSV file")
    parser.add_argument("--target_column", default="species")
    parser.add_argument("--task", default="classification", help=" or ".join(TASKS))
    parser.add_argument("--test_size", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--prepped_data", required=True, help="output folder")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = parser.parse_args(argv)
        df = read_dataset(args.input_data)
        schema = infer_schema(df, args.target_column, args.task, source=Path(args.input_data).name)
        train, test = split(df, schema, args.test_size, args.seed)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    preprocessor = fit_preprocessor(train, schema)
    write_prepped(args.prepped_data, train, test, preprocessor, schema)
    logger.info(
        "%d rows read, %d without a target dropped; %d train, %d test rows; %d numeric and %d categorical features",
        len(df),
        len(df) - len(train) - len(test),
        len(train),
        len(test),
        len(schema.numeric_columns),
        len(schema.categorical_columns),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
