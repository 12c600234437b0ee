"""serving/score.py in this process, on models the project's own steps trained: what init() reads from the model,
and what run() answers (the server adds only HTTP around it; tests/serving/test_server.py covers that)."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_diabetes

from .conftest import PENGUINS, PROJECT

pytestmark = pytest.mark.slow  # models trained by the steps, loaded by MLflow and the scoring script: seconds

ROWS = pd.read_csv(PENGUINS)
FEATURES = ROWS.drop(columns="species")


def body(frame: pd.DataFrame) -> str:
    data = [[None if pd.isna(value) else value for value in row] for row in frame.astype(object).values.tolist()]
    return json.dumps({"input_data": {"columns": list(frame.columns), "data": data}})


def refusal(scorer: ModuleType, text: str) -> dict:
    response = scorer.run(text)
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    return json.loads(response.get_data())


def test_init_reads_the_signature_and_the_categories_of_training(penguins_scorer, penguins_model: Path) -> None:
    signature = json.loads(yaml.safe_load((penguins_model / "MLmodel").read_text())["signature"]["inputs"])
    columns = {column.name: column for column in penguins_scorer.columns}
    assert [(c.name, c.type, c.required) for c in penguins_scorer.columns] == [
        (spec["name"], spec["type"], spec["required"]) for spec in signature
    ]
    train = pd.read_csv(penguins_model.parent / "prepped" / "train.csv")
    for name in ("island", "sex"):
        assert set(columns[name].categories) == set(train[name].dropna())
    assert columns["bill_length_mm"].categories is None


def test_run_predicts_what_the_model_predicts(penguins_scorer, penguins_model: Path) -> None:
    rows = FEATURES.head(20)  # the fourth row has gaps: optional columns take null
    import mlflow.pyfunc  # here: this module is collected in the fast runs too

    expected = mlflow.pyfunc.load_model(str(penguins_model)).predict(rows)
    assert penguins_scorer.run(body(rows)) == {"predictions": list(expected)}
    assert set(expected) <= set(ROWS["species"])


def test_regression_predictions_are_finite_numbers(diabetes_scorer) -> None:
    rows = load_diabetes(as_frame=True).frame.drop(columns="target").head(3)
    predictions = diabetes_scorer.run(body(rows))["predictions"]
    assert len(predictions) == 3
    assert all(isinstance(value, float) and math.isfinite(value) for value in predictions)


def edit(rows: pd.DataFrame, **changes) -> pd.DataFrame:
    rows = rows.copy().astype(object)
    for column, value in changes.items():
        rows.loc[rows.index[-1], column] = value
    return rows


@pytest.mark.parametrize(
    ("make_body", "column", "message"),
    [
        (lambda rows: body(rows.drop(columns="island")), "island", "missing column 'island'"),
        (lambda rows: body(edit(rows, bill_length_mm="long")), "bill_length_mm", "this column takes numbers"),
        (lambda rows: body(edit(rows, year="2007")), "year", "this column takes whole numbers"),
        (lambda rows: body(edit(rows, island="Atlantis")), "island", "unknown category 'Atlantis'"),
        (lambda rows: body(edit(rows, sex="unknown")), "sex", "unknown category 'unknown'"),
        (lambda rows: '{"input_data": ', None, "not valid JSON"),
    ],
    ids=["missing-column", "text-for-number", "text-for-whole-number", "unknown-island", "unknown-sex", "bad-json"],
)
def test_a_request_outside_the_contract_gets_400_naming_the_column(penguins_scorer, make_body, column, message):
    answer = refusal(penguins_scorer, make_body(FEATURES.head(3)))
    assert message in answer["message"]
    assert answer.get("column") == column
    if column:
        assert re.search(rf"\b{column}\b", answer["message"])


def test_the_model_is_found_where_azure_ml_puts_it(penguins_model: Path, tmp_path: Path, penguins_scorer) -> None:
    find = penguins_scorer.find_model
    assert find(penguins_model) == penguins_model  # AZUREML_MODEL_DIR is the model folder itself
    version = tmp_path / "azureml-models" / "churn-model" / "3"
    shutil.copytree(penguins_model, version / "model_output")
    assert find(version) == version / "model_output"  # or the version folder, holding the registered folder
    shutil.copytree(penguins_model, version / "another")
    with pytest.raises(RuntimeError, match="expected one MLflow model"):
        find(version)
    with pytest.raises(RuntimeError, match="found 0"):
        find(tmp_path)


def test_the_model_predicts_on_one_thread(penguins_scorer, penguins_model: Path) -> None:
    """A model that fits on every core (a random forest, n_jobs=-1) serves a row faster on one thread (score.py)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline

    forest = Pipeline([("model", RandomForestClassifier(n_estimators=5, n_jobs=-1))])
    penguins_scorer.predict_on_one_thread(forest)
    assert forest.named_steps["model"].n_jobs == 1


def test_the_readme_request_gets_the_readme_answer(penguins_scorer) -> None:
    """The README's curl line and the answer it shows, through the scoring script (the template's tests send it to
    `make serve` on a fresh project)."""
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    request = re.search(r"^  -d '(\{.*\})'$", readme, re.MULTILINE)[1]
    shown = re.search(r"^# (\{\"predictions\".*\})$", readme, re.MULTILINE)[1]
    assert penguins_scorer.run(request) == json.loads(shown)
