"""The project's pipeline run locally end to end through `python -m mlops run`: the main job, reuse, the local
registry, other datasets (bring your own data, a messy table), and bad data stopping the run with a plain message."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from tests.conftest import assert_user_error, copy_project, mlops

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("project"))


def summary_path(stdout: str, label: str) -> Path:
    return Path(next(line.split()[-1] for line in stdout.splitlines() if line.strip().startswith(label)))


def notes(stdout: str) -> list[str]:
    return [line.strip().removeprefix("note").strip() for line in stdout.splitlines() if line.startswith("  note ")]


def source_files(project: Path) -> set[str]:
    return {
        p.relative_to(project).as_posix() for p in (project / "components").rglob("*") if "__pycache__" not in p.parts
    }


def registered_model(project: Path, name: str, version: int = 1):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlruns' / 'mlflow.db'}")
    return mlflow.pyfunc.load_model(f"models:/{name}/{version}")


@pytest.fixture(scope="module")
def first_run(project: Path) -> tuple[set[str], subprocess.CompletedProcess]:
    """The module's first `mlops run` on the sample data, once (the source files before it, and its result): the
    tests that need its trained steps or registered model ask for it, so each also passes on its own."""
    before = source_files(project)
    return before, mlops(project, "run")


def test_sample_data_trains_evaluates_and_registers(project: Path, first_run) -> None:
    before, result = first_run
    assert result.returncode == 0, result.stderr
    for step in ("data_prep", "train", "evaluate"):
        assert f"✓ {step}" in result.stderr

    evaluation = summary_path(result.stdout, "evaluation")
    metrics = json.loads((evaluation / "metrics.json").read_text())
    decision = json.loads((evaluation / "decision.json").read_text())
    assert metrics["f1_macro"] >= 0.9
    assert decision["promote"] is True
    assert decision["estimate"].startswith("5-fold cross-validation")  # 69 test rows alone would decide nothing
    for artefact in ("report.md", "confusion_matrix.png", "roc_curve.png"):
        assert (evaluation / artefact).stat().st_size > 0, artefact
    assert (summary_path(result.stdout, "model") / "MLmodel").is_file()
    rows = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    labels = [row.split()[0] for row in rows]
    assert labels[:5] == ["model", "evaluation", "metrics", "report", "registry"]  # each once
    assert len({len(row) - len(row[2:].split(maxsplit=1)[1]) for row in rows}) == 1, "the texts do not line up"
    registry = next(row for row in rows if row.split()[0] == "registry")
    assert registry.endswith("penguins-species version 1 (the local MLflow registry)")
    for phase in ("building the pipeline with the Azure ML SDK", "registering the model"):
        assert phase in result.stderr  # a first run says what it does before and after its steps
    assert notes(result.stdout)[0] == (
        "data_prep: features: 7 of 7 columns (bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, year, "
        "island, sex)"
    )
    assert (project / "mlruns" / "mlflow.db").is_file()
    assert source_files(project) == before, "a step wrote into the source tree"

    again = mlops(project, "run")
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("reused from run") == 3
    assert "penguins-species version 1 (the local MLflow registry)" in again.stdout  # not registered twice
    assert notes(again.stdout) == notes(result.stdout)  # a reused data_prep still says what it did


def test_the_registry_loses_nothing_and_is_asked_before_registering(project: Path, first_run) -> None:
    """Registered models live in mlruns/ itself; whether a model is registered is asked of the registry, not of a
    marker that outlives it."""
    assert first_run[1].returncode == 0, first_run[1].stderr  # it trained and registered the model
    shutil.rmtree(project / "mlruns")
    result = mlops(project, "run")  # every step reused: the same model as before, but the registry is new
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("reused from run") == 3
    assert "penguins-species version 1 (the local MLflow registry)" in result.stdout
    rows = pd.read_csv(project / "data" / "penguins.csv").drop(columns="species").head(3)

    (project / "runs").rename(project / "runs-aside")  # what `make clean` does to runs/
    try:
        model = registered_model(project, "penguins-species")
        assert list(model.predict(rows)) == ["Adelie"] * 3
    finally:
        (project / "runs-aside").rename(project / "runs")


def test_a_baseline_model_is_compared_and_a_tie_does_not_promote(project: Path) -> None:
    """Evaluate against the previous model: only evaluate reruns, and the same model is no improvement."""
    first = mlops(project, "run")  # trains, or reuses what an earlier test in this module trained
    assert first.returncode == 0, first.stderr
    model = summary_path(first.stdout, "model")
    result = mlops(project, "run", "--set", f"baseline_model={model}")
    assert result.returncode == 0, result.stderr
    assert "reused from run" in result.stderr  # data_prep and train
    assert "✓ evaluate" in result.stderr
    decision = json.loads((summary_path(result.stdout, "evaluation") / "decision.json").read_text())
    assert decision["baseline_value"] == decision["test_value"]
    assert decision["promote"] is False
    registry = next(line for line in result.stdout.splitlines() if line.strip().startswith("registry"))
    assert "not registered: " in registry
    assert "It is not better than the baseline model's" in result.stdout


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("n_estimators=many", "pipeline input 'n_estimators') expects integer, got 'many'"),
        ("n_estimators=-5", "pipeline input 'n_estimators') is -5, below its minimum 10"),
        ("n_estimator=50", "unknown pipeline input 'n_estimator'; did you mean 'n_estimators'?"),
        ("threshold=1.5", "is 1.5, above its maximum 1.0"),  # a number input's bounds are numbers
        ("task=clustering", "is 'clustering', expected one of classification, regression, auto"),
        ("delimiter=;", "expected one of auto, comma, semicolon, tab, pipe"),
        ("algorithm=xgboost", "expected one of hist_gradient_boosting, random_forest"),
    ],
)
def test_bad_command_line_inputs_are_one_line_errors(project: Path, override: str, message: str) -> None:
    result = mlops(project, "run", "--set", override)
    assert_user_error(result, message)
    assert "10.0" not in result.stderr  # n_estimators is an integer input: its minimum prints as 10


def test_bring_your_own_data_regression_with_task_auto(project: Path, tmp_path: Path) -> None:
    diabetes = load_diabetes(as_frame=True).frame
    csv = tmp_path / "diabetes.csv"
    diabetes.to_csv(csv, index=False)
    overrides = [f"input_data={csv}", "target_column=target", "task=auto", "threshold=0.2"]
    result = mlops(project, "run", *[arg for item in overrides for arg in ("--set", item)], "--no-register")
    assert result.returncode == 0, result.stderr
    assert "data_prep: task auto: regression, because 'target' holds 214 distinct numbers; set task to choose" in (
        notes(result.stdout)
    )
    evaluation = summary_path(result.stdout, "evaluation")
    metrics = json.loads((evaluation / "metrics.json").read_text())
    assert set(metrics) >= {"r2", "rmse", "mae"}
    assert (evaluation / "residuals.png").stat().st_size > 0


def messy_customers(path: Path, rows: int = 1500) -> Path:
    """A customer table as exported from a spreadsheet: semicolons, Latin-1 text, an identifier, a row counter, a
    date, free text, a yes/no column, a city with many values, some rows without a target, and about 1 in 6
    customers churning (depending on tenure, spend and the premium plan)."""
    rng = np.random.default_rng(7)
    tenure, spend, premium = rng.integers(1, 72, rows), rng.normal(70, 25, rows).round(2), rng.random(rows) < 0.3
    score = -0.06 * tenure + 0.03 * (spend - 70) - 1.2 * premium + rng.normal(0, 0.6, rows)
    words = np.array(["slow", "fast", "friendly", "rude", "late", "price", "app", "support", "refund", "billing"])
    frame = pd.DataFrame(
        {
            "row": np.arange(rows),
            "customer_id": [f"C{i:06d}" for i in rng.permutation(rows)],
            "signup_date": [f"{d % 28 + 1:02d}/{d % 12 + 1:02d}/2022" for d in rng.integers(0, 1000, rows)],
            "tenure_months": tenure,
            "monthly_spend": spend,
            "premium": premium,
            "city": rng.choice([f"Town {i}" for i in range(150)], rows),
            "región": rng.choice(["Málaga", "Zürich", "Köln"], rows),
            "comment": [" ".join(rng.choice(words, 6)) + f" (ticket {i})" for i in range(rows)],
            "churned": np.where(score > np.quantile(score, 0.84), "yes", "no"),
        }
    )
    frame.loc[rng.choice(rows, 30, replace=False), "churned"] = None
    frame.to_csv(path, sep=";", index=False, encoding="latin-1")
    return path


def test_a_messy_table_trains_a_sound_model_and_the_summary_says_what_was_done(project: Path, tmp_path: Path) -> None:
    csv = messy_customers(tmp_path / "customers.csv")
    result = mlops(project, "run", "--set", f"input_data={csv}", "--set", "target_column=churned")
    assert result.returncode == 0, result.stderr
    lines = notes(result.stdout)
    for expected in [
        "data_prep: customers.csv is not UTF-8 text: read as cp1252 (Western European)",
        "data_prep: customers.csv: columns separated by semicolon (detected; set delimiter to change)",
        "data_prep: imbalanced target: class 'yes' has 16% of the rows",
        "data_prep: 30 of 1,500 rows have no value in target 'churned': dropped",
        "data_prep: column 'row': dropped: an identifier (1,500 different values in 1,500 rows)",
        "data_prep: column 'customer_id': dropped: an identifier",
        "data_prep: column 'signup_date': dropped: a date (for example '",
        "data_prep: column 'city': a category with 150 values: the 50 most frequent are kept, the others grouped",
        "data_prep: column 'comment': dropped: free text",
        "data_prep: features: 5 of 9 columns (tenure_months, monthly_spend, premium, city, región)",
    ]:
        assert any(line.startswith(expected) for line in lines), (expected, lines)
    # Its own model name, and a served schema of exactly the columns the model uses.
    assert "customers-churned version 1 (the local MLflow registry)" in result.stdout
    model = registered_model(project, "customers-churned")
    used = ["tenure_months", "monthly_spend", "premium", "city", "región"]
    assert model.metadata.get_input_schema().input_names() == used
    # Class weights: the rare class is found, and the report shows it per class.
    report = (summary_path(result.stdout, "report")).read_text(encoding="utf-8")
    yes = next(line for line in report.splitlines() if line.startswith("| yes |"))
    assert float(yes.split("|")[3]) > 0.5  # recall of the churners


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def continuous_target(path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = [f"{rng.normal():.3f},{rng.gamma(2, 50):.2f}" for _ in range(100)]
    return write(path, "x,price\n" + "\n".join(rows) + "\n")


@pytest.mark.parametrize(
    ("make_input", "overrides", "message"),
    [
        (lambda tmp: write(tmp / "empty.csv", ""), [], "empty"),
        (lambda tmp: write(tmp / "header.csv", "species,island,bill_length_mm\n"), [], "no rows"),
        (lambda tmp: write(tmp / "notarget.csv", "island,bill_length_mm\nDream,39.1\nBiscoe,40.2\n"), [], "species"),
        (
            lambda tmp: write(
                tmp / "text.csv", "species,bill_length_mm\n" + "Adelie,39.1\nGentoo,47.0\n" * 10 + "Adelie,forty\n"
            ),
            [],
            "bill_length_mm",
        ),
        (
            lambda tmp: continuous_target(tmp / "prices.csv"),
            ["target_column=price"],
            ("target 'price' holds 100 distinct numbers", "a quantity, not classes. Set task to regression (or auto)"),
        ),
        (
            lambda tmp: write(tmp / "dup.csv", "species,island,island\n" + "Adelie,Dream,Biscoe\n" * 10),
            [],
            "dup.csv has more than one column named 'island'. Rename or remove the duplicates",
        ),
        (
            lambda tmp: write(tmp / "l1.csv", "species,island\n" + "Adelie,Zürich\n" * 10, "latin-1"),
            ["encoding=utf-8"],
            "l1.csv is not utf-8 text: byte 0xfc on line 2 cannot be decoded. Set encoding",
        ),
    ],
    ids=[
        "empty-file",
        "header-only",
        "target-absent",
        "numeric-text",
        "continuous-target-as-classes",
        "duplicate-headers",
        "wrong-encoding",
    ],
)
def test_bad_data_stops_the_first_step_with_a_plain_message(
    project: Path, tmp_path: Path, make_input, overrides: list[str], message: str | tuple[str, ...]
) -> None:
    arguments = ["--set", f"input_data={make_input(tmp_path)}", *[a for o in overrides for a in ("--set", o)]]
    for attempt in range(2):  # the second run fails the same way: nothing of the first was kept for reuse
        result = mlops(project, "run", *arguments)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        error = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(error) == 1, result.stderr
        assert all(fragment in error[0] for fragment in ([message] if isinstance(message, str) else message))
        assert "not run: train, evaluate" in result.stderr
        assert "reused" not in result.stderr, attempt
        run_folder = sorted((project / "runs").glob("2*"))[-1]
        assert not (run_folder / "data_prep" / "outputs").exists(), "a failed step left outputs behind"


def test_missing_input_file_is_refused_before_running(project: Path) -> None:
    assert_user_error(mlops(project, "run", "--set", "input_data=data/nope.csv"), "nope.csv, which does not exist")
