"""The scoring contract, written once: what `POST /score` accepts and answers, locally and on Azure ML.

score.py enforces it in the server; `python -m mlops smoke` builds its requests and checks its answers with it.

Request: a JSON body in Azure ML's input format for MLflow models, a table in pandas' "split" orientation:
    {"input_data": {"columns": ["island", "bill_length_mm", ...], "data": [["Biscoe", 39.1, ...], ...]}}
  - "index" may be given, as pandas writes it, and is ignored. Columns come in any order; extra ones are ignored.
  - Every column of the model's MLflow signature must be there. Values: numbers for double columns, whole numbers
    for long and integer columns, strings for string columns (one of the categories the model was trained on, where
    it has them), true or false for boolean columns. null only where the signature marks the column optional.
Answer 200: {"predictions": [...]}: one per row, in order: a label (classification) or a number (regression).
Answer 400: {"message": "...", "column": "..."}: the request breaks the contract; "column" (absent when no single
    column is at fault) names the column. Rows are counted from 0, as in "data".
Any other failure is the server's: Azure ML's inference server answers 500 {"message": ...} and logs the traceback.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

EXAMPLE = '{"input_data": {"columns": ["a", "b"], "data": [[1.5, "x"], [2.0, "y"]]}}'
ANSWER = '{"predictions": [...]}'
# MLflow's column types (mlflow.types.DataType names): what JSON values each takes, and its pandas dtype.
NUMBER_TYPES = {"double": "float64", "float": "float32"}
WHOLE_NUMBER_TYPES = {"long": "int64", "integer": "int32"}


@dataclass(frozen=True)
class Column:
    """One input column of the model: from its MLflow signature, plus the categories it was trained on."""

    name: str
    type: str  # an MLflow DataType name; types other than numbers, strings and booleans are passed on unchecked
    required: bool = True
    categories: tuple[Any, ...] | None = None  # None: any value of the type


class ContractError(ValueError):
    """A request (or an answer) that breaks the contract; the server answers 400 with ``body()``."""

    def __init__(self, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column

    def body(self) -> dict[str, str]:
        return {"message": str(self), **({"column": self.column} if self.column is not None else {})}


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _load_json(text: str | bytes) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)  # Python would accept NaN and Infinity
    except ValueError as error:
        raise ContractError(f"the request body is not valid JSON ({error}); send {EXAMPLE}") from None


def _table(payload: Any) -> tuple[list[str], list[list[Any]]]:
    """The column names and rows of a request, once their shape is right."""
    if not isinstance(payload, dict) or "input_data" not in payload:
        raise ContractError(f'the request has no "input_data"; send {EXAMPLE}')
    table = payload["input_data"]
    if not isinstance(table, dict) or not isinstance(table.get("columns"), list) or "data" not in table:
        raise ContractError(f'"input_data" must be an object with "columns" and "data" lists, like {EXAMPLE}')
    names, rows = table["columns"], table["data"]
    if not all(isinstance(name, str) for name in names):
        raise ContractError('"input_data.columns" must be a list of column names (strings)')
    if not isinstance(rows, list) or not rows:
        raise ContractError('"input_data.data" must be a non-empty list of rows (lists of values)')
    for index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            size = f"{len(row)} values" if isinstance(row, list) else "not a list"
            raise ContractError(f"data[{index}] has {size}; each row is a list of {len(names)} values, one per column")
    return names, rows


def _check_names(names: list[str], columns: Sequence[Column]) -> None:
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ContractError(f"column '{duplicates[0]}' appears more than once in input_data.columns", duplicates[0])
    missing = [column.name for column in columns if column.name not in names]
    if missing:
        extra = [name for name in names if name not in {column.name for column in columns}]
        close = difflib.get_close_matches(missing[0], extra, n=1)
        hint = f" (did you mean '{missing[0]}' instead of '{close[0]}'?)" if close else ""
        needed = ", ".join(column.name for column in columns)
        listed = ", ".join(f"'{name}'" for name in missing)
        plural = "s" * (len(missing) > 1)
        raise ContractError(f"missing column{plural} {listed}{hint}; the model needs {needed}", missing[0])


def _describe(value: Any) -> str:
    return f"the string {value!r}" if isinstance(value, str) else json.dumps(value)


def _convert(column: Column, index: int, value: Any) -> Any:
    """The value as the model takes it, or a ContractError naming the column and the row."""
    where = f"column '{column.name}', data[{index}]"
    if value is None:
        if column.required or column.type in WHOLE_NUMBER_TYPES:  # pandas' integer columns cannot hold a gap
            raise ContractError(f"{where} is null; this column needs a value in every row", column.name)
        return None
    if column.type in NUMBER_TYPES:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ContractError(f"{where} holds {_describe(value)}; this column takes numbers", column.name)
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            number = math.inf
        if not math.isfinite(number):  # JSON's 1e400 parses as infinity
            raise ContractError(f"{where} holds {_describe(value)}, too large a number", column.name)
        return number
    if column.type in WHOLE_NUMBER_TYPES:
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not whole:
            raise ContractError(f"{where} holds {_describe(value)}; this column takes whole numbers", column.name)
        limits = np.iinfo(WHOLE_NUMBER_TYPES[column.type])
        if not limits.min <= value <= limits.max:
            raise ContractError(f"{where} holds {_describe(value)}, outside {limits.min} to {limits.max}", column.name)
        return int(value)
    if column.type == "string" and not isinstance(value, str):
        raise ContractError(f"{where} holds {_describe(value)}; this column takes strings", column.name)
    if column.type == "boolean" and not isinstance(value, bool):
        raise ContractError(f"{where} holds {_describe(value)}; this column takes true or false", column.name)
    if column.categories is not None and value not in column.categories:
        known = ", ".join(map(str, column.categories))
        raise ContractError(f"{where} holds the unknown category {value!r}; the model knows {known}", column.name)
    return value


def parse_request(body: str | bytes, columns: Sequence[Column]) -> pd.DataFrame:
    """The request's rows as the model's input: its columns in signature order, typed as the signature says."""
    names, rows = _table(_load_json(body))
    _check_names(names, columns)
    frame = {}
    for column in columns:
        position = names.index(column.name)
        values = [_convert(column, index, row[position]) for index, row in enumerate(rows)]
        dtype = NUMBER_TYPES.get(column.type) or WHOLE_NUMBER_TYPES.get(column.type) or "object"
        frame[column.name] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(frame)


def _plain(value: Any) -> Any:
    """A prediction as JSON has it: a non-finite number (which JSON cannot hold) becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def answer(predictions: Any) -> dict[str, list[Any]]:
    """The 200 answer for the model's predictions (a numpy array, a pandas Series or a list)."""
    values = predictions.tolist() if hasattr(predictions, "tolist") else list(predictions)
    return {"predictions": [_plain(value) for value in values]}


def request_body(rows: pd.DataFrame) -> dict[str, Any]:
    """A request for these rows (missing values sent as null): what a client of the contract sends."""
    data = [[None if pd.isna(value) else value for value in row] for row in rows.astype(object).values.tolist()]
    return {"input_data": {"columns": [str(name) for name in rows.columns], "data": data}}


def read_answer(payload: Any, rows: int) -> list[Any]:
    """The predictions of a 200 answer to a request of ``rows`` rows, once its shape is right."""
    predictions = payload.get("predictions") if isinstance(payload, Mapping) else None
    if not isinstance(predictions, list):
        raise ContractError(f"the answer is not {ANSWER} but {json.dumps(payload)[:200]}")
    if len(predictions) != rows:
        raise ContractError(f"the answer has {len(predictions)} predictions for {rows} rows")
    return predictions
