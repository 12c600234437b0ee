"""The scoring contract on its own: requests parsed into the model's input, refusals that name the column, answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from serving.contract import Column, ContractError, answer, parse_request, read_answer, request_body

COLUMNS = (
    Column("bill_length_mm", "double", required=False),
    Column("year", "long"),
    Column("island", "string", categories=("Biscoe", "Dream", "Torgersen")),
    Column("sex", "string", required=False, categories=("female", "male")),
)


def request(columns: list[str], *rows: list) -> str:
    return json.dumps({"input_data": {"columns": columns, "data": list(rows)}})


def test_a_request_becomes_the_models_typed_input() -> None:
    body = request(["sex", "island", "year", "bill_length_mm", "comment"], ["male", "Biscoe", 2009, 50, "extra"])
    frame = parse_request(body, COLUMNS)
    assert list(frame.columns) == ["bill_length_mm", "year", "island", "sex"]  # the signature's order, extras dropped
    assert frame.dtypes.to_dict() == {
        "bill_length_mm": np.dtype("float64"),  # JSON's 50 is an int; the column is double
        "year": np.dtype("int64"),
        "island": np.dtype("object"),
        "sex": np.dtype("object"),
    }
    assert frame.iloc[0].tolist() == [50.0, 2009, "Biscoe", "male"]


def test_index_is_accepted_and_optional_columns_take_null() -> None:
    body = {
        "input_data": {
            "columns": ["bill_length_mm", "year", "island", "sex"],
            "index": [7, 8],
            "data": [[None, 2007, "Dream", None], [39.5, 2008.0, "Torgersen", "female"]],
        }
    }
    frame = parse_request(json.dumps(body), COLUMNS)
    assert frame["bill_length_mm"].isna().tolist() == [True, False]
    assert frame["sex"].tolist() == [None, "female"]
    assert frame["year"].tolist() == [2007, 2008]


ALL = ["bill_length_mm", "year", "island", "sex"]
REFUSED = [
    ("not json", None, "not valid JSON"),
    ('{"input_data": {"columns": ["year"], "data": [[NaN]]}}', None, "NaN is not a JSON number"),
    ("[1, 2]", None, 'no "input_data"'),
    ('{"data": [[1]]}', None, 'no "input_data"'),
    ('{"input_data": [[1, 2]]}', None, '"columns" and "data"'),
    ('{"input_data": {"columns": [1], "data": [[1]]}}', None, "column names"),
    (request(ALL), None, "non-empty list of rows"),
    (request(ALL, [39.1, 2007, "Dream"]), None, "data[0] has 3 values"),
    (request(["year", "island", "sex"], [2007, "Dream", "male"]), "bill_length_mm", "missing column 'bill_length_mm'"),
    (request(["bill_length", "year", "island", "sex"], [1, 2007, "Dream", None]), "bill_length_mm", "did you mean"),
    (request([*ALL, "year"], [1.0, 2007, "Dream", None, 2007]), "year", "appears more than once"),
    (request(ALL, ["39.1", 2007, "Dream", None]), "bill_length_mm", "holds the string '39.1'; this column takes num"),
    (request(ALL, [True, 2007, "Dream", None]), "bill_length_mm", "takes numbers"),
    (request(ALL, [1.0, 2007.5, "Dream", None]), "year", "takes whole numbers"),
    (request(ALL, [10**400, 2007, "Dream", None]), "bill_length_mm", "too large a number"),
    (request(ALL, [1, 2007, "Dream", None]).replace("[1,", "[1e400,"), "bill_length_mm", "too large a number"),
    (request(ALL, [1.0, 2**63, "Dream", None]), "year", "outside -9223372036854775808 to 9223372036854775807"),
    (request(ALL, [1.0, None, "Dream", None]), "year", "data[0] is null"),
    (request(ALL, [1.0, 2007, None, None]), "island", "data[0] is null"),
    (request(ALL, [1.0, 2007, 3, None]), "island", "holds 3; this column takes strings"),
    (request(ALL, [1.0, 2007, "Dream", None], [1.0, 2007, "Atlantis", None]), "island", "data[1]"),
    (request(ALL, [1.0, 2007, "Atlantis", None]), "island", "unknown category 'Atlantis'; the model knows Biscoe"),
    (request(ALL, [1.0, 2007, "Dream", "MALE"]), "sex", "unknown category 'MALE'"),
]


@pytest.mark.parametrize(("body", "column", "message"), REFUSED)
def test_a_request_outside_the_contract_is_refused_naming_the_column(body: str, column: str | None, message: str):
    with pytest.raises(ContractError) as refusal:
        parse_request(body, COLUMNS)
    assert message in str(refusal.value)
    assert refusal.value.column == column
    assert refusal.value.body() == {"message": str(refusal.value), **({"column": column} if column else {})}


def test_booleans_take_true_or_false() -> None:
    flag = (Column("member", "boolean"),)
    assert parse_request(request(["member"], [True]), flag)["member"].tolist() == [True]
    with pytest.raises(ContractError, match="takes true or false"):
        parse_request(request(["member"], ["yes"]), flag)


def test_the_answer_holds_one_json_value_per_prediction() -> None:
    assert answer(np.array(["Adelie", "Gentoo"], dtype=object)) == {"predictions": ["Adelie", "Gentoo"]}
    assert answer(pd.Series([1.5, np.nan, np.inf])) == {"predictions": [1.5, None, None]}  # JSON has no NaN
    assert json.dumps(answer(np.array([1, 2], dtype=np.int64))) == '{"predictions": [1, 2]}'


def test_a_request_built_from_rows_parses_back_to_them() -> None:
    rows = pd.DataFrame(
        {"bill_length_mm": [39.1, np.nan], "year": [2007, 2008], "island": ["Dream", "Biscoe"], "sex": [None, "male"]}
    )
    body = request_body(rows)
    assert body["input_data"]["data"] == [[39.1, 2007, "Dream", None], [None, 2008, "Biscoe", "male"]]
    pd.testing.assert_frame_equal(parse_request(json.dumps(body), COLUMNS), rows)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (["Adelie"], 'is not {"predictions": [...]}'),
        ({"result": ["Adelie"]}, 'is not {"predictions": [...]}'),
        ({"predictions": "Adelie"}, 'is not {"predictions": [...]}'),
        ({"predictions": ["Adelie", "Gentoo"]}, "2 predictions for 1 rows"),
    ],
)
def test_an_answer_of_the_wrong_shape_is_named(payload, message: str) -> None:
    with pytest.raises(ContractError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_answer(payload, 1)
    assert read_answer({"predictions": ["Adelie"]}, 1) == ["Adelie"]
