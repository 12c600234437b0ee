"""data_prep: reading, schema checks, the split, the preprocessor, the written folder and the command line."""

import json
import logging
import math
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from prep import DataError, Schema, fit_preprocessor, infer_schema, read_dataset, split, write_prepped

from .conftest import COMPONENTS, PENGUINS, run_step


def penguins_like(rows: int = 40) -> pd.DataFrame:
    """A small frame with the shapes of the sample data: text target, numbers, text, gaps."""
    frame = pd.DataFrame(
        {
            "species": ["Adelie", "Gentoo"] * (rows // 2),
            "island": ["Biscoe", "Dream", "Torgersen", "Biscoe"] * (rows // 4),
            "mass": [3000.0 + 10 * i for i in range(rows)],
            "year": [2007 + i % 3 for i in range(rows)],
            "empty": [np.nan] * rows,
        }
    )
    frame.loc[3, "mass"] = np.nan
    frame.loc[5, "island"] = np.nan
    return frame


def schema_of(frame: pd.DataFrame, target: str = "species", task: str = "classification") -> Schema:
    return infer_schema(frame, target, task)


def test_read_dataset_reads_na_as_missing(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,NA\n2,x\n", encoding="utf-8")
    frame = read_dataset(path)
    assert frame.shape == (2, 2)
    assert frame["b"].isna().tolist() == [True, False]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        ("", "is empty"),
        ("species,island\n", "has a header but no rows"),
        ("a,b\n1,2\n3,4,5,6\n", "is not a readable CSV file"),
    ],
    ids=["missing", "empty", "header-only", "ragged"],
)
def test_read_dataset_rejects_unusable_files(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_dataset(path)


def test_read_dataset_rejects_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a folder"):
        read_dataset(tmp_path)


def test_infer_schema_sorts_columns_and_lists_classes() -> None:
    schema = schema_of(penguins_like())
    assert schema == Schema(
        target_column="species",
        task="classification",
        numeric_columns=("mass", "year"),
        categorical_columns=("island",),  # "empty" has no values: left out
        classes=("Adelie", "Gentoo"),
    )
    assert schema.feature_columns == ["mass", "year", "island"]


def test_infer_schema_regression_needs_no_classes() -> None:
    schema = schema_of(penguins_like(), target="mass", task="regression")
    assert schema.classes == ()
    assert "mass" not in schema.feature_columns
    assert "species" in schema.categorical_columns


def test_a_mostly_text_column_with_a_number_is_categorical() -> None:
    frame = penguins_like()
    frame["island"] = frame["island"].astype(object)
    frame.loc[0, "island"] = "3"
    assert "island" in schema_of(frame).categorical_columns


def test_a_numeric_column_holding_text_names_up_to_three_values_and_their_rows() -> None:
    frame = penguins_like()
    frame["mass"] = frame["mass"].astype(object)
    for index, value in [(2, "abc"), (6, "n/a"), (7, "12,5"), (9, "x")]:
        frame.loc[index, "mass"] = value
    with pytest.raises(DataError) as caught:
        schema_of(frame)
    message = str(caught.value)
    assert "column 'mass' holds numbers but also text: 'abc' (row 4), 'n/a' (row 8), '12,5' (row 9)" in message
    assert "'x'" not in message


@pytest.mark.parametrize(
    ("change", "target", "task", "message"),
    [
        (None, "nope", "classification", "column 'nope' not found in the input data; columns are: species, island"),
        (None, "species", "clustering", "task 'clustering' is not supported"),
        (None, "empty", "classification", "target column 'empty' has no values"),
        ("one-class", "species", "classification", "needs at least 2 classes"),
        (None, "species", "regression", "task regression needs a numeric target, but column 'species' holds text"),
        ("no-features", "species", "classification", "no feature columns"),
    ],
)
def test_infer_schema_rejects(change: str | None, target: str, task: str, message: str) -> None:
    frame = penguins_like()
    if change == "one-class":
        frame["species"] = "Adelie"
    if change == "no-features":
        frame = frame[["species", "empty"]]
    with pytest.raises(DataError, match=message):
        infer_schema(frame, target, task)


def test_split_is_seeded_stratified_and_drops_rows_without_a_target() -> None:
    frame = penguins_like(80)
    frame.loc[[0, 1], "species"] = np.nan
    schema = schema_of(frame)
    train, test = split(frame, schema, 0.25, seed=7)
    assert (len(train), len(test)) == (58, 20)
    assert train["species"].notna().all()
    assert test["species"].notna().all()
    assert test["species"].value_counts().to_dict() == {"Adelie": 10, "Gentoo": 10}
    again, _ = split(frame, schema, 0.25, seed=7)
    other, _ = split(frame, schema, 0.25, seed=8)
    pd.testing.assert_frame_equal(train, again)
    assert not train.equals(other)


def test_split_without_stratification_when_a_class_has_a_single_row() -> None:
    frame = penguins_like()
    frame.loc[0, "species"] = "Chinstrap"
    train, test = split(frame, schema_of(frame), 0.2, seed=1)
    assert len(train) + len(test) == len(frame)


@pytest.mark.parametrize("test_size", [0.01, 0.6, math.nan])
def test_split_rejects_a_test_size_outside_the_range(test_size: float) -> None:
    frame = penguins_like()
    with pytest.raises(DataError, match=f"test_size {test_size} is outside 0.05-0.5"):
        split(frame, schema_of(frame), test_size, seed=1)


def test_split_rejects_too_few_rows() -> None:
    frame = penguins_like()
    with pytest.raises(DataError, match="only 1 rows have a target; too few to split"):
        split(frame.head(1), schema_of(frame), 0.5, seed=1)


def test_preprocessor_learns_from_the_training_part_only() -> None:
    train = pd.DataFrame({"species": ["a", "b", "a"], "mass": [1.0, np.nan, 3.0], "island": ["x", "y", np.nan]})
    test = pd.DataFrame({"species": ["b"], "mass": [np.nan], "island": ["unseen"]})
    schema = schema_of(train)
    preprocessor = fit_preprocessor(train, schema)
    scaler = preprocessor.named_transformers_["numeric"].named_steps["scale"]
    assert scaler.mean_.tolist() == [2.0]  # the test row's value plays no part
    # A missing number becomes the training median (scaled: 0); an unseen category encodes as all zeros.
    assert preprocessor.transform(test[schema.feature_columns]).tolist() == [[0.0, 0.0, 0.0]]


def test_write_prepped_writes_the_four_files(tmp_path: Path) -> None:
    frame = penguins_like()
    schema = schema_of(frame)
    train, test = split(frame, schema, 0.25, seed=1)
    preprocessor = fit_preprocessor(train, schema)
    write_prepped(tmp_path / "out", train, test, preprocessor, schema)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "preprocessor.joblib",
        "schema.json",
        "test.csv",
        "train.csv",
    ]
    assert json.loads((tmp_path / "out" / "schema.json").read_text()) == json.loads(json.dumps(asdict(schema)))
    assert len(pd.read_csv(tmp_path / "out" / "test.csv")) == len(test)
    loaded = joblib.load(tmp_path / "out" / "preprocessor.joblib")
    features = test[schema.feature_columns]
    np.testing.assert_array_equal(loaded.transform(features), preprocessor.transform(features))


def test_main_prepares_penguins(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "prepped"
    with caplog.at_level(logging.INFO, logger="data_prep"):
        assert run_step("data_prep", ["--input_data", str(PENGUINS), "--prepped_data", str(out), "--seed", "3"]) == 0
    train, test = pd.read_csv(out / "train.csv"), pd.read_csv(out / "test.csv")
    assert (len(train), len(test)) == (275, 69)
    assert list(train.columns) == list(pd.read_csv(PENGUINS).columns)  # raw columns, unscaled
    assert train["body_mass_g"].min() > 2000
    schema = json.loads((out / "schema.json").read_text())
    assert schema["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert schema["categorical_columns"] == ["island", "sex"]
    assert "344 rows read, 0 without a target dropped; 275 train, 69 test rows" in caplog.text
    imputer = joblib.load(out / "preprocessor.joblib").named_transformers_["numeric"].named_steps["impute"]
    assert imputer.statistics_.tolist() == train[schema["numeric_columns"]].median().tolist()  # train part only


def test_main_runs_from_its_own_folder_and_writes_nothing_there(penguins_run) -> None:
    assert penguins_run.components_after == penguins_run.components_before


def _penguins_with_text_in_a_number(path: Path) -> None:
    frame = pd.read_csv(PENGUINS)
    frame["bill_length_mm"] = frame["bill_length_mm"].astype(object)
    frame.loc[10, "bill_length_mm"] = "abc"
    frame.to_csv(path, index=False)


@pytest.mark.parametrize(
    ("content", "extra", "fragments"),
    [
        (None, [], ["not found", "Set input_data"]),
        ("", [], ["is empty"]),
        ("species,island,bill_length_mm\n", [], ["has a header but no rows"]),
        ("penguins", ["--target_column", "nope"], ["columns are: species, island, bill_length_mm"]),
        ("text-in-number", [], ["column 'bill_length_mm' holds numbers but also text: 'abc' (row 12)"]),
        ("penguins", ["--task", "regression"], ["numeric target", "'species'"]),
        ("penguins", ["--test_size", "0.7"], ["test_size 0.7 is outside 0.05-0.5"]),
        ("penguins", ["--test_size", "lots"], ["invalid float value: 'lots'"]),
    ],
    ids=["missing", "empty", "header-only", "no-target", "text-in-number", "text-target", "test-size", "not-a-number"],
)
def test_main_reports_user_mistakes(
    tmp_path: Path, expect_user_error: Callable[..., str], content: str | None, extra: list[str], fragments: list[str]
) -> None:
    source = tmp_path / "input.csv"
    if content == "penguins":
        source.write_bytes(PENGUINS.read_bytes())
    elif content == "text-in-number":
        _penguins_with_text_in_a_number(source)
    elif content is not None:
        source.write_text(content, encoding="utf-8")
    out = tmp_path / "prepped"
    out.mkdir()
    code = run_step("data_prep", ["--input_data", str(source), "--prepped_data", str(out), *extra])
    expect_user_error(code, out, *fragments)


def test_the_script_run_as_azure_ml_runs_it_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    command = [sys.executable, "prep.py", "--input_data", str(tmp_path / "missing.csv"), "--prepped_data", "unused"]
    done = subprocess.run(command, cwd=COMPONENTS / "data_prep", capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: input file {tmp_path / 'missing.csv'} not found. Set input_data to an existing CSV file"
    ]
    assert done.stdout == ""
