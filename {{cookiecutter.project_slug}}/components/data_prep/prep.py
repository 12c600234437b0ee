"""data_prep step: read the raw CSV, decide what each column is, split, and fit the preprocessing on train only.

Writes to the ``prepped_data`` folder:

- ``train.csv`` and ``test.csv``: the target and the feature columns, raw, so the model is served on raw rows;
- ``preprocessor.joblib``: imputes and scales numbers and turns categories into codes, fitted on train.csv only so
  no test information leaks into training;
- ``schema.json``: target, task, feature columns and classes, read by the train and evaluate steps;
- ``summary.json``: what was read and what was done with every column and why; its ``notes`` are the lines the local
  run's summary shows.

Columns are sorted out without configuration: numbers and categories are features; identifiers (a different value in
every row), free text, dates, empty and constant columns are dropped, each with its reason. ``feature_columns`` and
``drop_columns`` override that choice.
"""

import argparse
import codecs
import csv
import difflib
import json
import logging
import math
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NoReturn

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder, StandardScaler

logger = logging.getLogger("data_prep")

TASKS = ("classification", "regression", "auto")
TEST_SIZE_RANGE = (0.05, 0.5)  # the component's min and max, checked here too: the script also runs on its own
MAX_CLASSES_RANGE = (2, 1000)
NUMERIC_SHARE = 0.8  # a text column with at least this share of numbers is a numeric column with typos
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}  # by name: ';' and '|' mean things to a shell
FALLBACK_ENCODINGS = ("cp1252", "latin-1")  # tried in order when a file is not UTF-8; latin-1 decodes any byte
SNIFF_BYTES = 1 << 16  # enough lines to detect the delimiter and the encoding of a typical file
# A category keeps its most frequent values up to this many codes and the rest share one more: one feature per column,
# however many values it has (the default model's native categorical support allows up to 255 codes).
MAX_CATEGORIES = 50
MIN_ROWS_FOR_ID = 20  # in fewer rows, a different value in every row says little
AUTO_MAX_CLASSES = 10  # task auto: a numeric target with at most this many whole-number values is classes
IMBALANCE = 0.5  # a class with less than half its fair share of rows (1/k) is a minority worth a note
ID_NAME = re.compile(r"(^|[\s_.-])(id|key|uuid|guid|identifier)$|^(id|uuid|guid)([\s_.-]|$)", re.IGNORECASE)
ID_SUFFIX = re.compile(r"[a-z](Id|ID)$")  # customerId, CustomerID
DATE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"  # 2024-03-01, 01/03/2024, 1.3.24
    r"([ T]\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?"  # an optional time and zone
)


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


@dataclass(frozen=True)
class Column:
    """What data_prep made of one column: its kind, its role as a feature (None: dropped) and why, in one line."""

    name: str
    kind: str  # number, yes/no, category, date, identifier, free text, empty, constant, excluded
    role: str | None  # "numeric" or "categorical" when used as a feature
    note: str
    changed: bool = False  # used, but not as is (categories grouped): the run summary says so, like a drop

    @property
    def line(self) -> str:
        return f"column '{self.name}': {self.note}"


@dataclass(frozen=True)
class Dataset:
    frame: pd.DataFrame
    delimiter: str  # a key of DELIMITERS
    encoding: str
    notes: tuple[str, ...]  # how the file was read, when that is not plain UTF-8 with commas


# --- Reading ---------------------------------------------------------------------------------------------------


def _codec(encoding: str) -> str:
    """Python's name for an encoding the user set; UTF-8 accepts a byte-order mark, as Excel writes one."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise DataError(
            f"encoding '{encoding}' is unknown. Set encoding to auto or to a Python codec name, "
            "for example utf-8, cp1252 or latin-1"
        ) from None
    return "utf-8-sig" if name == "utf-8" else name


def _decodes(head: bytes, codec: str) -> bool:
    try:
        codecs.getincrementaldecoder(codec)().decode(head, final=False)  # the sample may end inside a character
    except UnicodeDecodeError:
        return False
    return True


def _first_bad_byte(path: Path, codec: str) -> tuple[int, str]:
    """The line number and hex value of the first byte the codec cannot decode."""
    decoder, line = codecs.getincrementaldecoder(codec)(), 1
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                start = max(0, min(error.start, len(chunk) - 1))
                return line + chunk[:start].count(b"\n"), f"0x{chunk[start]:02x}"
            line += chunk.count(b"\n")
    return line, "?"


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number of fields, the most fields if several do."""
    lines = text.splitlines()[:50]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # cut off by the sample
    best, best_width = "comma", 1
    for name, char in DELIMITERS.items():
        widths = [len(row) for row in csv.reader(lines, delimiter=char) if row]
        if widths and widths[0] > best_width and sum(w == widths[0] for w in widths) >= 0.9 * len(widths):
            best, best_width = name, widths[0]
    return best


def _header(text: str, char: str) -> list[str]:
    return next(csv.reader(text.splitlines()[:1], delimiter=char), [])


def _decimal_comma(text: str, char: str) -> bool:
    """Semicolon files from European spreadsheets write 1,5 for 1.5."""
    if char != ";":
        return False
    fields = [field.strip() for line in text.splitlines()[1:50] for field in line.split(";")]
    commas = sum(bool(re.fullmatch(r"-?\d+,\d+", field)) for field in fields)
    points = sum(bool(re.fullmatch(r"-?\d+\.\d+", field)) for field in fields)
    return commas > 0 and points == 0


def read_dataset(path: str | Path, delimiter: str = "auto", encoding: str = "auto") -> Dataset:
    """Read the CSV, detecting delimiter and encoding unless set, turning each way a file can be unusable into one
    message that names the fix."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"input_data {path} is a folder. Set input_data to a CSV file")
    if not path.is_file():
        raise DataError(f"input file {path} not found. Set input_data to an existing CSV file")
    if delimiter != "auto" and delimiter not in DELIMITERS:
        raise DataError(f"delimiter '{delimiter}' is not supported. Set delimiter to auto, {', '.join(DELIMITERS)}")
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if not head.strip():
        raise DataError(f"{path.name} is empty. Set input_data to a CSV file with a header and rows")
    if encoding != "auto":
        codecs_to_try = [_codec(encoding)]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codecs_to_try = ["utf-16"]
    else:
        codecs_to_try = ["utf-8-sig", *FALLBACK_ENCODINGS]
    notes: list[str] = []
    for codec in codecs_to_try:
        if encoding == "auto" and not _decodes(head, codec):
            continue
        text = codecs.getincrementaldecoder(codec)(errors="replace").decode(head)
        name = delimiter if delimiter != "auto" else detect_delimiter(text)
        char = DELIMITERS[name]
        header = _header(text, char)
        repeated = sorted(column for column, count in Counter(header).items() if count > 1)
        if repeated:
            raise DataError(
                f"{path.name} has more than one column named {', '.join(map(repr, repeated))}. Rename or remove "
                "the duplicates: each feature must have its own name"
            )
        decimal = "," if _decimal_comma(text, char) else "."
        try:
            df = pd.read_csv(path, sep=char, encoding=codec, decimal=decimal, low_memory=False)
        except UnicodeDecodeError:
            if encoding == "auto":
                continue  # the sample decoded but a later byte did not: the next encoding
            line, byte = _first_bad_byte(path, codec)
            raise DataError(
                f"{path.name} is not {encoding} text: byte {byte} on line {line} cannot be decoded. Set encoding to "
                "the file's encoding (cp1252 or latin-1 for Western European text from Excel), or to auto"
            ) from None
        except pd.errors.EmptyDataError:
            raise DataError(f"{path.name} is empty. Set input_data to a CSV file with a header and rows") from None
        except pd.errors.ParserError as exc:
            detail = str(exc).strip().splitlines()[-1]
            raise DataError(
                f"{path.name} is not a readable CSV file with {name} delimiters ({detail}). Fix the file, or set "
                f"delimiter (one of {', '.join(DELIMITERS)})"
            ) from None
        break
    else:  # only in auto mode: latin-1 decodes anything, so only a UTF-16 file can get here
        raise DataError(f"{path.name} cannot be decoded as {', '.join(codecs_to_try)}. Set encoding to its encoding")
    if df.empty:
        raise DataError(f"{path.name} has a header but no rows. Add rows or use another file")
    if codec in FALLBACK_ENCODINGS:
        notes.append(
            f"{path.name} is not UTF-8 text: read as {codec} (Western European). If letters look wrong, set "
            "encoding to the file's encoding"
        )
    if delimiter == "auto" and name != "comma":
        notes.append(f"{path.name}: columns separated by {name} (detected; set delimiter to change)")
    if decimal == ",":
        notes.append(f"{path.name}: numbers written with a decimal comma (1,5) read as numbers")
    return Dataset(df, name, codec, tuple(notes))


# --- Columns -------------------------------------------------------------------------------------------------------


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _text_in_numbers(column: pd.Series) -> pd.Series:
    """The text values of a column that is otherwise numeric (typos such as 'n/a' or '12,5'), else nothing."""
    values = column.dropna()
    if values.empty or _is_numeric(column) or pd.api.types.is_bool_dtype(column):
        return values.iloc[:0]
    sample = values.sample(min(len(values), 1000), random_state=0)  # a cheap look first: most text is not numbers
    if pd.to_numeric(sample, errors="coerce").notna().mean() < NUMERIC_SHARE / 2:
        return values.iloc[:0]
    numbers = pd.to_numeric(values, errors="coerce")
    share = numbers.notna().mean()
    return values[numbers.isna()] if NUMERIC_SHARE <= share < 1 else values.iloc[:0]


def _check_numbers_hold_no_text(df: pd.DataFrame) -> None:
    for name in df.columns:
        text = _text_in_numbers(df[name])
        if not text.empty:
            # Row numbers as a spreadsheet shows them: the header is row 1, so data row i (0-based) is row i + 2.
            examples = ", ".join(f"'{value}' (row {index + 2})" for index, value in text.head(3).items())
            raise DataError(
                f"column '{name}' holds numbers but also text: {examples}; rows are numbered with the header as row 1. "
                "Correct these values or leave them blank (blank means missing)"
            )


def _looks_like_id(name: str) -> bool:
    return bool(ID_NAME.search(name.strip()) or ID_SUFFIX.search(name.strip()))


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _identifier(name: str, distinct: int, rows: int) -> Column:
    return Column(
        name, "identifier", None, f"dropped: an identifier ({_count(distinct, 'different value')} in {rows:,} rows)"
    )


def classify_column(name: str, column: pd.Series) -> Column:
    """Decide what one column is and whether it is a sound feature."""
    values = column.dropna()
    if values.empty:
        return Column(name, "empty", None, "dropped: no values")
    distinct = values.nunique()
    if distinct == 1:
        return Column(name, "constant", None, f"dropped: the same value ({values.iloc[0]!r}) in every row")
    rows, unique_share = len(values), distinct / len(values)
    if pd.api.types.is_bool_dtype(column) or all(isinstance(value, bool | np.bool_) for value in values.unique()):
        return Column(name, "yes/no", "categorical", "a yes/no value, used as a category")
    if _is_numeric(column):
        whole = bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
        consecutive = whole and distinct == rows and values.max() - values.min() + 1 == rows
        if whole and rows >= MIN_ROWS_FOR_ID and (consecutive or (_looks_like_id(name) and unique_share >= 0.5)):
            return _identifier(name, distinct, rows)
        return Column(name, "number", "numeric", "a number (gaps filled with the median, then scaled)")
    text = values.astype(str)
    sample = text.sample(min(rows, 1000), random_state=0)
    if sample.str.fullmatch(r"\s*(" + DATE.pattern + r")\s*").mean() >= 0.9:
        return Column(
            name,
            "date",
            None,
            f"dropped: a date (for example '{sample.iloc[0]}'); if the season, weekday or age matters, add it as "
            "its own column",
        )
    words = sample.str.split().str.len().mean()
    if unique_share >= 0.5 and (words >= 3 or sample.str.len().mean() >= 40):
        return Column(name, "free text", None, f"dropped: free text ({words:.0f} words on average)")
    if rows >= MIN_ROWS_FOR_ID and (unique_share >= 0.95 or (_looks_like_id(name) and unique_share >= 0.5)):
        return _identifier(name, distinct, rows)
    if distinct > MAX_CATEGORIES:
        return Column(
            name,
            "category",
            "categorical",
            f"a category with {distinct:,} values: the {MAX_CATEGORIES} most frequent are kept, the others grouped "
            "as one",
            changed=True,
        )
    return Column(name, "category", "categorical", f"a category with {distinct} values")


def column_list(text: str | None) -> list[str]:
    """A comma-separated list of column names, as the pipeline passes it; blanks ignored."""
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def _unknown_columns(setting: str, names: list[str], df: pd.DataFrame, source: str) -> DataError | None:
    unknown = [name for name in names if name not in df.columns]
    if not unknown:
        return None
    close = difflib.get_close_matches(unknown[0], [str(c) for c in df.columns], n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return DataError(
        f"{setting} names {', '.join(map(repr, unknown))}, not a column of {source}{hint}; columns are: "
        f"{', '.join(map(str, df.columns))}. Correct {setting}"
    )


def choose_columns(
    df: pd.DataFrame, target_column: str, feature_columns: list[str], drop_columns: list[str], source: str
) -> list[Column]:
    """Every column except the target, in file order, with what becomes of it."""
    for setting, names in [("feature_columns", feature_columns), ("drop_columns", drop_columns)]:
        if error := _unknown_columns(setting, names, df, source):
            raise error
        if target_column in names:
            raise DataError(
                f"{setting} lists the target column '{target_column}'. Remove it from {setting}: the target is "
                "never a feature"
            )
    columns = []
    for name in df.columns:
        if name == target_column:
            continue
        if name in drop_columns:
            columns.append(Column(name, "excluded", None, "dropped: listed in drop_columns"))
            continue
        if feature_columns and name not in feature_columns:
            columns.append(Column(name, "excluded", None, "dropped: not listed in feature_columns"))
            continue
        column = classify_column(name, df[name])
        if name in feature_columns and column.role is None and column.kind != "empty":
            role = "numeric" if _is_numeric(df[name]) else "categorical"
            column = Column(
                name,
                column.kind,
                role,
                f"used because feature_columns lists it, though it looks like "
                f"{'an' if column.kind[0] in 'aeiou' else 'a'} {column.kind}",
                changed=True,
            )
        columns.append(column)
    if not any(column.role for column in columns):
        reasons = "; ".join(column.line for column in columns) or "none"
        raise DataError(
            f"{source} has no usable feature columns besides '{target_column}' ({reasons}). Add feature columns, or "
            "name the columns to use in feature_columns"
        )
    return columns


# --- Target and task -----------------------------------------------------------------------------------------------


def resolve_task(
    df: pd.DataFrame, target_column: str, task: str, max_classes: int, source: str
) -> tuple[str, tuple, list[str]]:
    """Check the target against the task before anything is trained; returns the task, the classes and notes."""
    if task not in TASKS:
        raise DataError(f"task '{task}' is not supported. Set task to one of: {', '.join(TASKS)}")
    low, high = MAX_CLASSES_RANGE
    if not low <= max_classes <= high:
        raise DataError(f"max_classes {max_classes} is outside {low}-{high}. Set max_classes between {low} and {high}")
    if target_column not in df.columns:
        raise DataError(
            f"column '{target_column}' not found in {source}; columns are: {', '.join(map(str, df.columns))}. "
            "Set target_column to one of them"
        )
    target = df[target_column]
    values = target.dropna()
    if values.empty:
        raise DataError(f"target column '{target_column}' has no values. Fill it in or choose another target_column")
    numeric = _is_numeric(target)
    distinct = values.nunique()
    whole = numeric and bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
    notes = []
    if task == "auto":
        if not numeric or (whole and distinct <= min(AUTO_MAX_CLASSES, max_classes)):
            task, why = "classification", f"'{target_column}' has {distinct} distinct values"
        else:
            task, why = "regression", f"'{target_column}' holds {distinct:,} distinct numbers"
        notes.append(f"task auto: {task}, because {why}; set task to choose")
    if task == "regression":
        if not numeric:
            example = values.iloc[0]
            raise DataError(
                f"task regression needs a numeric target, but column '{target_column}' holds text (for example "
                f"'{example}'). Set task to classification or target_column to a numeric column"
            )
        if distinct <= 2:
            notes.append(
                f"target '{target_column}' has only {distinct} distinct values; if they are classes, set task to "
                "classification"
            )
        return task, (), notes
    mostly_unique = distinct > AUTO_MAX_CLASSES and (not whole or distinct >= 0.5 * len(values))
    if numeric and (mostly_unique or distinct > max_classes):
        examples = ", ".join(f"{value:g}" for value in values.drop_duplicates().head(3))
        raise DataError(
            f"target '{target_column}' holds {distinct:,} distinct numbers (for example {examples}): a quantity, not "
            f"classes. Set task to regression (or auto)"
        )
    if distinct > max_classes:
        raise DataError(
            f"target '{target_column}' has {distinct:,} distinct values, more than max_classes ({max_classes}) for "
            "classification. Choose another target_column, or raise max_classes if these really are classes"
        )
    if distinct < 2:
        raise DataError(
            f"target column '{target_column}' has a single value ({values.iloc[0]!r}); classification needs at "
            "least 2 classes. Choose another target_column"
        )
    counts = values.value_counts()
    share = counts.iloc[-1] / len(values)
    if share < IMBALANCE / distinct:
        notes.append(
            f"imbalanced target: class {counts.index[-1]!r} has {share:.0%} of the rows; train weighs the classes "
            "(class_weight) and the report shows each class's scores"
        )
    return task, tuple(sorted(counts.index.tolist())), notes


def infer_schema(
    df: pd.DataFrame,
    target_column: str,
    task: str,
    source: str = "the input data",
    *,
    feature_columns: list[str] | None = None,
    drop_columns: list[str] | None = None,
    max_classes: int = 50,
) -> tuple[Schema, list[Column], list[str]]:
    """Check the target against the task and decide every column; returns the schema, the columns and notes.

    ``source`` names the data in messages, for example the CSV file's name.
    """
    task, classes, notes = resolve_task(df, target_column, task, max_classes, source)
    _check_numbers_hold_no_text(df)
    columns = choose_columns(df, target_column, feature_columns or [], drop_columns or [], source)
    schema = Schema(
        target_column=target_column,
        task=task,
        numeric_columns=tuple(column.name for column in columns if column.role == "numeric"),
        categorical_columns=tuple(column.name for column in columns if column.role == "categorical"),
        classes=classes,
    )
    return schema, columns, notes


# --- Split and preprocessing ---------------------------------------------------------------------------------------


def split(df: pd.DataFrame, schema: Schema, test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded train/test split of the rows that have a target, stratified when every class can be on both sides.

    Only the target and the feature columns are kept: what the model is trained on and served with."""
    low, high = TEST_SIZE_RANGE
    if not low <= test_size <= high:
        raise DataError(f"test_size {test_size} is outside {low}-{high}. Set test_size between {low} and {high}")
    columns = [schema.target_column, *schema.feature_columns]
    labelled = df.loc[df[schema.target_column].notna(), columns].reset_index(drop=True)
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
    """Impute and scale numbers, and give each category a code, learning from the training part only.

    A category becomes one column of codes (not one column per value), so a column with thousands of values adds one
    feature: its MAX_CATEGORIES most frequent values get codes 0, 1, ..., and every other value, including one first
    seen when the model is served, shares the code MAX_CATEGORIES. A missing value (NaN, as pandas reads a blank)
    stays missing, which the default model handles natively. The kept values are counted with pandas: scikit-learn's
    own counting goes value by value in Python, seconds per column at a million rows."""
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    kept = []
    for name in schema.categorical_columns:
        values = sorted(train[name].value_counts().index[:MAX_CATEGORIES].tolist())
        # NaN among the categories is what makes scikit-learn encode a missing value as missing (a yes/no column
        # without gaps is of a type that cannot hold it; a gap when serving it gets the others' code).
        kept.append(values if pd.api.types.is_bool_dtype(train[name]) else [*values, np.nan])
    categorical = OrdinalEncoder(
        categories=kept or "auto",
        handle_unknown="use_encoded_value",
        unknown_value=MAX_CATEGORIES,
        encoded_missing_value=np.nan,
    )
    transformers = [
        (name, transformer, list(columns))
        for name, transformer, columns in [
            ("numeric", numeric, schema.numeric_columns),
            ("categorical", categorical, schema.categorical_columns),
        ]
        if columns
    ]
    return ColumnTransformer(transformers).fit(train[schema.feature_columns])


# --- Output --------------------------------------------------------------------------------------------------------


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


def summarise(
    dataset: Dataset,
    schema: Schema,
    columns: list[Column],
    task_notes: list[str],
    train: pd.DataFrame,
    test: pd.DataFrame,
) -> dict:
    """summary.json: the counts, every column's fate, and the notes for the run summary (drops and changes only)."""
    rows = len(dataset.frame)
    without_target = rows - len(train) - len(test)
    notes = [*dataset.notes, *task_notes]
    if without_target:
        notes.append(f"{without_target:,} of {rows:,} rows have no value in target '{schema.target_column}': dropped")
    notes += [column.line for column in columns if column.role is None or column.changed]
    used = ", ".join(schema.feature_columns)
    notes.append(f"features: {len(schema.feature_columns)} of {len(columns)} columns ({used})")
    return {
        "rows": {"read": rows, "without_target": without_target, "train": len(train), "test": len(test)},
        "task": schema.task,
        "delimiter": dataset.delimiter,
        "encoding": dataset.encoding,
        "columns": [asdict(column) for column in columns],
        "notes": notes,
    }


def write_prepped(
    folder: str | Path,
    train: pd.DataFrame,
    test: pd.DataFrame,
    preprocessor: ColumnTransformer,
    schema: Schema,
    summary: dict | None = None,
) -> None:
    """Write the files the train and evaluate steps read, and the summary for people."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / "train.csv", lambda p: train.to_csv(p, index=False))
    _write_atomic(folder / "test.csv", lambda p: test.to_csv(p, index=False))
    _write_atomic(folder / "preprocessor.joblib", lambda p: joblib.dump(preprocessor, p))
    for name, content in [("schema.json", asdict(schema)), ("summary.json", summary)]:
        if content is not None:
            text = json.dumps(content, indent=2, default=str) + "\n"
            _write_atomic(folder / name, lambda p, text=text: p.write_text(text, encoding="utf-8"))


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise DataError(message)  # a bad command line is a user mistake too: one line, exit code 2


def _words(values: list[str] | None) -> str | None:
    """A value that a shell may have split at its spaces ("Customer ID"), joined back."""
    return " ".join(values) if values else None


def main(argv: list[str] | None = None) -> int:
    parser = _ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input_data", required=True, help="raw CSV file")
    parser.add_argument("--target_column", nargs="+", default=["species"])
    parser.add_argument("--task", default="classification", help=" or ".join(TASKS))
    parser.add_argument("--feature_columns", nargs="+", help="comma-separated: use only these columns as features")
    parser.add_argument("--drop_columns", nargs="+", help="comma-separated: never use these columns as features")
    parser.add_argument("--delimiter", default="auto", help=f"auto, {', '.join(DELIMITERS)}")
    parser.add_argument("--encoding", default="auto", help="auto, or a Python codec such as utf-8 or cp1252")
    parser.add_argument("--max_classes", type=int, default=50, help="more distinct targets than this: not classes")
    parser.add_argument("--test_size", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--prepped_data", required=True, help="output folder")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    start = time.perf_counter()
    try:
        args = parser.parse_args(argv)
        target_column = _words(args.target_column)
        dataset = read_dataset(args.input_data, args.delimiter, args.encoding)
        df, source = dataset.frame, Path(args.input_data).name
        logger.info("read %s rows and %d columns in %.1f s", f"{len(df):,}", df.shape[1], time.perf_counter() - start)
        schema, columns, task_notes = infer_schema(
            df,
            target_column,
            args.task,
            source,
            feature_columns=column_list(_words(args.feature_columns)),
            drop_columns=column_list(_words(args.drop_columns)),
            max_classes=args.max_classes,
        )
        train, test = split(df, schema, args.test_size, args.seed)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = summarise(dataset, schema, columns, task_notes, train, test)
    for line in [*dataset.notes, *task_notes, *(column.line for column in columns)]:
        logger.info("%s", line)
    # Each phase is logged as it starts: at a million rows each takes seconds, and a silent step looks stuck.
    logger.info(
        "fitting the preprocessing on %s training rows (%.1f s)", f"{len(train):,}", time.perf_counter() - start
    )
    preprocessor = fit_preprocessor(train, schema)
    logger.info("writing train.csv and test.csv (%.1f s)", time.perf_counter() - start)
    write_prepped(args.prepped_data, train, test, preprocessor, schema, summary)
    logger.info(
        "%s rows read, %s without a target dropped; %s train, %s test rows; %d numeric and %d categorical features "
        "(%.1f s)",
        *(f"{n:,}" for n in summary["rows"].values()),
        len(schema.numeric_columns),
        len(schema.categorical_columns),
        time.perf_counter() - start,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
