"""data_prep: reading (delimiters, encodings, headers), the target against the task, what becomes of each column, the
split, the preprocessor, the written folder and the command line. Bad tables are small CSVs written here."""

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
from prep import (
    MAX_CATEGORIES,
    DataError,
    Schema,
    choose_columns,
    classify_column,
    detect_delimiter,
    fit_preprocessor,
    infer_schema,
    read_dataset,
    resolve_task,
    split,
    write_prepped,
)

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


def customers(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """A messy customer table: an identifier, a date, free text, a yes/no column, a city with many values, a row
    counter, and an imbalanced target (about 1 in 6) that depends on tenure and spend."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows)
    spend = rng.normal(70, 25, rows).round(2)
    words = np.array(["slow", "fast", "friendly", "rude", "late", "price", "app", "support", "refund", "billing"])
    score = -0.06 * tenure + 0.03 * (spend - 70) + rng.normal(0, 0.5, rows)
    return pd.DataFrame(
        {
            "row": np.arange(1, rows + 1),
            "customer_id": [f"C{i:06d}" for i in rng.permutation(rows)],
            "signup_date": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D"),
            "tenure_months": tenure,
            "monthly_spend": spend,
            "premium": rng.random(rows) < 0.3,
            "city": rng.choice([f"Town {i}" for i in range(MAX_CATEGORIES * 3)], rows),
            "comment": [" ".join(rng.choice(words, 6)) + f" (ticket {i})" for i in range(rows)],
            "churned": np.where(score > np.quantile(score, 0.84), "yes", "no"),
        }
    ).assign(signup_date=lambda frame: frame["signup_date"].dt.strftime("%Y-%m-%d"))


def schema_of(frame: pd.DataFrame, target: str = "species", task: str = "classification", **options) -> Schema:
    return infer_schema(frame, target, task, **options)[0]


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --- Reading -------------------------------------------------------------------------------------------------------


def test_read_dataset_reads_na_as_missing(tmp_path: Path) -> None:
    frame = read_dataset(write_csv(tmp_path / "data.csv", "a,b\n1,NA\n2,x\n")).frame
    assert frame.shape == (2, 2)
    assert frame["b"].isna().tolist() == [True, False]


@pytest.mark.parametrize(("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_the_delimiter_is_detected(tmp_path: Path, delimiter: str, name: str) -> None:
    rows = [["city", "note", "price"], ["Köln", "a, b", "1.5"], ["Málaga", "c", "2"]]
    text = "\n".join(delimiter.join(f'"{v}"' if "," in v and delimiter == "," else v for v in row) for row in rows)
    dataset = read_dataset(write_csv(tmp_path / "data.csv", text + "\n"))
    assert dataset.delimiter == name
    assert list(dataset.frame.columns) == ["city", "note", "price"]
    assert dataset.frame["price"].tolist() == [1.5, 2.0]
    assert any("separated by" in note for note in dataset.notes) is (name != "comma")


def test_a_semicolon_file_with_decimal_commas_reads_numbers(tmp_path: Path) -> None:
    dataset = read_dataset(write_csv(tmp_path / "data.csv", "a;b\n1,5;x\n-2,25;y\n"))
    assert dataset.frame["a"].tolist() == [1.5, -2.25]
    assert any("decimal comma" in note for note in dataset.notes)


def test_a_set_delimiter_wins_over_detection(tmp_path: Path) -> None:
    dataset = read_dataset(write_csv(tmp_path / "data.csv", "a;b,c\n1;2,3\n"), delimiter="comma")
    assert list(dataset.frame.columns) == ["a;b", "c"]


def test_detect_delimiter_ignores_a_line_cut_off_by_the_sample() -> None:
    assert detect_delimiter("a;b;c\n1;2;3\n4;5") == "semicolon"
    assert detect_delimiter("just one column\nvalue\n") == "comma"


def test_latin1_text_is_read_with_a_note(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "data.csv", "city,y\nMálaga,1\nZürich,0\n", encoding="latin-1")
    dataset = read_dataset(path)
    assert dataset.frame["city"].tolist() == ["Málaga", "Zürich"]
    assert dataset.encoding == "cp1252"
    assert any("is not UTF-8 text: read as cp1252" in note and "set encoding" in note for note in dataset.notes)


def test_a_set_encoding_that_does_not_fit_names_the_byte_the_line_and_the_fix(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "data.csv", "city,y\nBonn,1\nMálaga,1\n", encoding="latin-1")
    with pytest.raises(DataError) as caught:
        read_dataset(path, encoding="utf-8")
    assert str(caught.value) == (
        "data.csv is not utf-8 text: byte 0xe1 on line 3 cannot be decoded. Set encoding to the file's encoding "
        "(cp1252 or latin-1 for Western European text from Excel), or to auto"
    )
    assert read_dataset(path, encoding="latin-1").frame["city"].tolist() == ["Bonn", "Málaga"]


@pytest.mark.parametrize(
    ("encoding", "text"), [("utf-8-sig", "species,x\nA,1\n"), ("utf-16", "species\tx\nA\t1\n")], ids=["bom", "utf-16"]
)
def test_a_byte_order_mark_just_works(tmp_path: Path, encoding: str, text: str) -> None:
    dataset = read_dataset(write_csv(tmp_path / "data.csv", text, encoding=encoding))
    assert list(dataset.frame.columns) == ["species", "x"]


def test_duplicate_column_names_stop_with_their_names(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "data.csv", "species,island,mass,island,sex,sex\nA,x,1,y,m,m\n")
    with pytest.raises(DataError, match=r"data.csv has more than one column named 'island', 'sex'\. Rename or remove"):
        read_dataset(path)


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (None, {}, "not found"),
        ("", {}, "is empty"),
        ("\n\n", {}, "is empty"),
        ("species,island\n", {}, "has a header but no rows"),
        ("a,b\n1,2\n3,4,5,6\n", {}, "is not a readable CSV file with comma delimiters"),
        ("a,b\n1,2\n", {"encoding": "klingon"}, "encoding 'klingon' is unknown"),
        ("a,b\n1,2\n", {"delimiter": ";"}, "delimiter ';' is not supported. Set delimiter to auto, comma, semicolon"),
    ],
    ids=["missing", "empty", "blank", "header-only", "ragged", "unknown-encoding", "delimiter-character"],
)
def test_read_dataset_rejects_unusable_files(tmp_path: Path, content: str | None, options: dict, message: str) -> None:
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_dataset(path, **options)


def test_read_dataset_rejects_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a folder"):
        read_dataset(tmp_path)


# --- Columns -------------------------------------------------------------------------------------------------------

ROWS = 60


@pytest.mark.parametrize(
    ("name", "values", "kind", "role", "note"),
    [
        ("mass", [3000.5 + i * 7.3 for i in range(ROWS)], "number", "numeric", "a number"),
        ("income", [1000 + i * 37 for i in range(ROWS)], "number", "numeric", "a number"),  # unique, not an id
        ("row", list(range(1, ROWS + 1)), "identifier", None, f"dropped: an identifier ({ROWS} different values"),
        ("customer_id", [i % 40 for i in range(ROWS)], "identifier", None, "dropped: an identifier"),
        ("code", [f"X{i:04d}" for i in range(ROWS)], "identifier", None, "dropped: an identifier"),
        ("signup", [f"2024-01-{i % 28 + 1:02d}" for i in range(ROWS)], "date", None, "dropped: a date (for example"),
        ("seen", [f"{i % 28 + 1}/03/2024 10:1{i % 10}" for i in range(ROWS)], "date", None, "dropped: a date"),
        ("comment", [f"the customer called about ticket {i}" for i in range(ROWS)], "free text", None, "free text"),
        ("premium", [True, False, None] * (ROWS // 3), "yes/no", "categorical", "a yes/no value"),
        ("island", ["Biscoe", "Dream", "Torgersen"] * (ROWS // 3), "category", "categorical", "3 values"),
        ("constant", ["x"] * ROWS, "constant", None, "dropped: the same value ('x') in every row"),
        ("empty", [None] * ROWS, "empty", None, "dropped: no values"),
    ],
)
def test_classify_column(name: str, values: list, kind: str, role: str | None, note: str) -> None:
    column = classify_column(name, pd.Series(values))
    assert (column.kind, column.role) == (kind, role)
    assert note in column.note


def test_a_category_with_many_values_is_kept_as_one_feature_and_reported() -> None:
    values = pd.Series([f"Town {i % 300}" for i in range(3000)])
    column = classify_column("city", values)
    assert (column.role, column.changed) == ("categorical", True)
    assert column.note == (
        f"a category with 300 values: the {MAX_CATEGORIES} most frequent are kept, the others grouped as one"
    )


def test_choose_columns_says_what_became_of_each() -> None:
    columns = choose_columns(customers(), "churned", [], [], "customers.csv")
    assert {c.name: c.role for c in columns} == {
        "row": None,
        "customer_id": None,
        "signup_date": None,
        "tenure_months": "numeric",
        "monthly_spend": "numeric",
        "premium": "categorical",
        "city": "categorical",
        "comment": None,
    }
    assert all(c.line.startswith(f"column '{c.name}': ") for c in columns)


def test_feature_columns_and_drop_columns_override_the_choice() -> None:
    frame = customers()
    columns = choose_columns(frame, "churned", ["tenure_months", "customer_id"], [], "c.csv")
    assert [(c.name, c.role) for c in columns if c.role] == [
        ("customer_id", "categorical"),
        ("tenure_months", "numeric"),
    ]
    assert "used because feature_columns lists it, though it looks like an identifier" in columns[1].note
    assert columns[0].note == "dropped: not listed in feature_columns"
    dropped = choose_columns(frame, "churned", [], ["city", "premium"], "c.csv")
    assert {c.name for c in dropped if c.note == "dropped: listed in drop_columns"} == {"city", "premium"}


@pytest.mark.parametrize(
    ("features", "drops", "message"),
    [
        (
            ["tenure_month"],
            [],
            "feature_columns names 'tenure_month', not a column of c.csv (did you mean 'tenure_months'?)",
        ),
        ([], ["City"], "drop_columns names 'City', not a column of c.csv (did you mean 'city'?)"),
        (["churned"], [], "feature_columns lists the target column 'churned'"),
        ([], ["tenure_months", "monthly_spend", "premium", "city"], "c.csv has no usable feature columns"),
    ],
)
def test_choose_columns_rejects(features: list[str], drops: list[str], message: str) -> None:
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        choose_columns(customers(), "churned", features, drops, "c.csv")


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


# --- Target and task -----------------------------------------------------------------------------------------------


def continuous(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"x": rng.normal(size=rows), "price": rng.gamma(2.0, 50.0, rows).round(2)})


@pytest.mark.parametrize(
    ("frame", "target", "task", "message"),
    [
        (penguins_like(), "nope", "classification", "column 'nope' not found in data.csv; columns are: species"),
        (penguins_like(), "species", "clustering", "task 'clustering' is not supported"),
        (penguins_like(), "empty", "classification", "target column 'empty' has no values"),
        (penguins_like().assign(species="Adelie"), "species", "classification", "needs at least 2 classes"),
        (penguins_like(), "species", "regression", "task regression needs a numeric target, but column 'species'"),
        (continuous(), "price", "classification", r"target 'price' holds 200 distinct numbers \(for example"),
        (
            pd.DataFrame({"x": range(120), "label": [f"class {i % 60}" for i in range(120)]}),
            "label",
            "classification",
            r"target 'label' has 60 distinct values, more than max_classes \(50\) for classification",
        ),
    ],
    ids=["absent", "task", "empty", "one-class", "text-regression", "continuous-classification", "too-many-classes"],
)
def test_the_target_is_checked_against_the_task(frame: pd.DataFrame, target: str, task: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        resolve_task(frame, target, task, 50, "data.csv")


def test_a_continuous_target_as_classes_suggests_regression() -> None:
    with pytest.raises(DataError) as caught:
        resolve_task(continuous(), "price", "classification", 50, "data.csv")
    assert str(caught.value).endswith("a quantity, not classes. Set task to regression (or auto)")


@pytest.mark.parametrize(
    ("frame", "target", "task", "why"),
    [
        (penguins_like(), "species", "classification", "'species' has 2 distinct values"),
        (continuous(), "price", "regression", "'price' holds 200 distinct numbers"),
        (
            pd.DataFrame({"x": range(40), "stars": [1, 2, 3, 4, 5] * 8}),
            "stars",
            "classification",
            "'stars' has 5 distinct values",
        ),
    ],
)
def test_task_auto_infers_the_task_and_says_why(frame: pd.DataFrame, target: str, task: str, why: str) -> None:
    chosen, _, notes = resolve_task(frame, target, "auto", 50, "data.csv")
    assert chosen == task
    assert notes == [f"task auto: {task}, because {why}; set task to choose"]


def test_an_imbalanced_target_gets_a_note() -> None:
    _, classes, notes = resolve_task(customers(), "churned", "classification", 50, "c.csv")
    assert classes == ("no", "yes")
    assert notes == [
        "imbalanced target: class 'yes' has 16% of the rows; train weighs the classes (class_weight) and the report "
        "shows each class's scores"
    ]
    assert resolve_task(penguins_like(), "species", "classification", 50, "p.csv")[2] == []


# --- Split and preprocessing ---------------------------------------------------------------------------------------


def test_split_is_seeded_stratified_drops_rows_without_a_target_and_keeps_only_used_columns() -> None:
    frame = penguins_like(80)
    frame.loc[[0, 1], "species"] = np.nan
    schema = schema_of(frame)
    train, test = split(frame, schema, 0.25, seed=7)
    assert (len(train), len(test)) == (58, 20)
    assert list(train.columns) == ["species", "mass", "year", "island"]  # "empty" is not a feature
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
    # A missing number becomes the training median (scaled: 0); an unseen category gets the code of the others.
    assert preprocessor.transform(test[schema.feature_columns]).tolist() == [[0.0, MAX_CATEGORIES]]
    codes = preprocessor.transform(train[schema.feature_columns])[:, 1]
    assert codes[:2].tolist() == [0.0, 1.0]
    assert np.isnan(codes[2])  # a missing category stays missing


def test_a_category_with_many_values_becomes_one_column_the_most_frequent_with_their_own_codes() -> None:
    frame = customers(2000)
    frame.loc[:299, "city"] = "Capital"  # the most frequent city by far
    schema = schema_of(frame, target="churned")
    preprocessor = fit_preprocessor(frame, schema)
    codes = preprocessor.transform(frame[schema.feature_columns])
    assert codes.shape == (2000, len(schema.feature_columns))
    city = codes[:, schema.feature_columns.index("city")]
    assert len(np.unique(city)) == MAX_CATEGORIES + 1  # the kept values, and one code for all the others
    assert len(set(city[:300])) == 1
    assert city[0] != MAX_CATEGORIES


def test_write_prepped_writes_the_files(tmp_path: Path) -> None:
    frame = penguins_like()
    schema = schema_of(frame)
    train, test = split(frame, schema, 0.25, seed=1)
    preprocessor = fit_preprocessor(train, schema)
    write_prepped(tmp_path / "out", train, test, preprocessor, schema, {"notes": ["a note"]})
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "preprocessor.joblib",
        "schema.json",
        "summary.json",
        "test.csv",
        "train.csv",
    ]
    assert json.loads((tmp_path / "out" / "schema.json").read_text()) == json.loads(json.dumps(asdict(schema)))
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == {"notes": ["a note"]}
    assert len(pd.read_csv(tmp_path / "out" / "test.csv")) == len(test)
    loaded = joblib.load(tmp_path / "out" / "preprocessor.joblib")
    features = test[schema.feature_columns]
    np.testing.assert_array_equal(loaded.transform(features), preprocessor.transform(features))


# --- The command line ----------------------------------------------------------------------------------------------


def test_main_prepares_penguins(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "prepped"
    with caplog.at_level(logging.INFO, logger="data_prep"):
        assert run_step("data_prep", ["--input_data", str(PENGUINS), "--prepped_data", str(out), "--seed", "3"]) == 0
    train, test = pd.read_csv(out / "train.csv"), pd.read_csv(out / "test.csv")
    assert (len(train), len(test)) == (275, 69)
    assert set(train.columns) == set(pd.read_csv(PENGUINS).columns)  # raw columns, unscaled: all of them are used
    assert train["body_mass_g"].min() > 2000
    schema = json.loads((out / "schema.json").read_text())
    assert schema["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert schema["categorical_columns"] == ["island", "sex"]
    assert "344 rows read, 0 without a target dropped; 275 train, 69 test rows" in caplog.text
    assert "column 'island': a category with 3 values" in caplog.text  # every column in the log
    summary = json.loads((out / "summary.json").read_text())
    assert summary["notes"] == [
        "features: 7 of 7 columns (bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, year, island, sex)"
    ]
    imputer = joblib.load(out / "preprocessor.joblib").named_transformers_["numeric"].named_steps["impute"]
    assert imputer.statistics_.tolist() == train[schema["numeric_columns"]].median().tolist()  # train part only


def test_main_on_a_messy_latin1_semicolon_table_says_what_it_did(tmp_path: Path) -> None:
    """Identifier, row counter, date, free text, yes/no, many cities, missing targets, imbalance, semicolons and
    Latin-1 text: it runs, keeps the sound features, and says what it did with each of the others."""
    frame = customers(300)
    frame.loc[[4, 9, 11], "churned"] = np.nan
    source = tmp_path / "customers.csv"
    frame.to_csv(source, sep=";", index=False, encoding="latin-1")
    out = tmp_path / "prepped"
    assert (
        run_step("data_prep", ["--input_data", str(source), "--target_column", "churned", "--prepped_data", str(out)])
        == 0
    )
    notes = json.loads((out / "summary.json").read_text())["notes"]
    assert notes == [
        "customers.csv: columns separated by semicolon (detected; set delimiter to change)",
        "imbalanced target: class 'yes' has 16% of the rows; train weighs the classes (class_weight) and the report "
        "shows each class's scores",
        "3 of 300 rows have no value in target 'churned': dropped",
        "column 'row': dropped: an identifier (300 different values in 300 rows)",
        "column 'customer_id': dropped: an identifier (300 different values in 300 rows)",
        notes[5],  # the date, with an example value
        f"column 'city': a category with {frame['city'].nunique()} values: the 50 most frequent are kept, the others "
        "grouped as one",
        "column 'comment': dropped: free text (8 words on average)",
        "features: 4 of 8 columns (tenure_months, monthly_spend, premium, city)",
    ]
    assert notes[5].startswith("column 'signup_date': dropped: a date (for example '20")
    train = pd.read_csv(out / "train.csv")
    assert list(train.columns) == ["churned", "tenure_months", "monthly_spend", "premium", "city"]
    assert len(train) + len(pd.read_csv(out / "test.csv")) == 297


def test_main_names_columns_with_spaces_even_when_a_shell_split_them(tmp_path: Path) -> None:
    """Azure ML puts the value into the command line as is: 'Customer ID' arrives as two words."""
    source = write_csv(
        tmp_path / "d.csv",
        "Customer ID,Tenure Months,Churned Flag\n"
        + "".join(f"{i},{i % 12},{'yes' if i % 3 else 'no'}\n" for i in range(40)),
    )
    out = tmp_path / "prepped"
    argv = ["--input_data", str(source), "--target_column", "Churned", "Flag", "--drop_columns", "Customer", "ID"]
    assert run_step("data_prep", [*argv, "--prepped_data", str(out)]) == 0
    assert json.loads((out / "schema.json").read_text())["numeric_columns"] == ["Tenure Months"]


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
        ("penguins", ["--target_column", "body_mass_g"], ["holds 94 distinct numbers", "Set task to regression"]),
        ("penguins", ["--test_size", "0.7"], ["test_size 0.7 is outside 0.05-0.5"]),
        ("penguins", ["--test_size", "lots"], ["invalid float value: 'lots'"]),
        ("penguins", ["--max_classes", "1"], ["max_classes 1 is outside 2-1000"]),
        ("penguins", ["--drop_columns", "islands"], ["drop_columns names 'islands'", "did you mean 'island'?"]),
        ("duplicates", [], ["more than one column named 'island'"]),
        ("latin-1", ["--encoding", "utf-8"], ["is not utf-8 text: byte 0xfc on line 2", "Set encoding"]),
    ],
    ids=[
        "missing",
        "empty",
        "header-only",
        "no-target",
        "text-in-number",
        "text-target",
        "continuous-as-classes",
        "test-size",
        "not-a-number",
        "max-classes",
        "unknown-drop",
        "duplicate-headers",
        "wrong-encoding",
    ],
)
def test_main_reports_user_mistakes(
    tmp_path: Path, expect_user_error: Callable[..., str], content: str | None, extra: list[str], fragments: list[str]
) -> None:
    source = tmp_path / "input.csv"
    if content == "penguins":
        source.write_bytes(PENGUINS.read_bytes())
    elif content == "text-in-number":
        _penguins_with_text_in_a_number(source)
    elif content == "duplicates":
        source.write_text("species,island,island\nAdelie,Dream,Biscoe\n", encoding="utf-8")
    elif content == "latin-1":
        source.write_bytes("species,island\nAdelie,Zürich\n".encode("latin-1"))
    elif content is not None:
        source.write_text(content, encoding="utf-8")
    out = tmp_path / "prepped"
    out.mkdir()
    code = run_step("data_prep", ["--input_data", str(source), "--prepped_data", str(out), *extra])
    expect_user_error(code, out, *fragments)


@pytest.mark.slow  # a subprocess with the script's own imports: seconds
def test_the_script_run_as_azure_ml_runs_it_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    command = [sys.executable, "prep.py", "--input_data", str(tmp_path / "missing.csv"), "--prepped_data", "unused"]
    done = subprocess.run(command, cwd=COMPONENTS / "data_prep", capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: input file {tmp_path / 'missing.csv'} not found. Set input_data to an existing CSV file"
    ]
    assert done.stdout == ""
