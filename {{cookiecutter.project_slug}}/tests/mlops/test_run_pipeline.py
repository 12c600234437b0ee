"""The project's pipeline run locally end to end through `python -m mlops run`: the main job, reuse, another
dataset (bring your own data), and bad data stopping the run with a plain message."""

from __future__ import annotations

import json
from pathlib import Path

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


def source_files(project: Path) -> set[str]:
    return {
        p.relative_to(project).as_posix() for p in (project / "components").rglob("*") if "__pycache__" not in p.parts
    }


def test_sample_data_trains_evaluates_and_registers(project: Path) -> None:
    before = source_files(project)
    result = mlops(project, "run")
    assert result.returncode == 0, result.stderr
    for step in ("data_prep", "train", "evaluate"):
        assert f"✓ {step}" in result.stderr

    evaluation = summary_path(result.stdout, "evaluation")
    metrics = json.loads((evaluation / "metrics.json").read_text())
    decision = json.loads((evaluation / "decision.json").read_text())
    assert metrics["f1_macro"] >= 0.9
    assert decision["promote"] is True
    for artefact in ("report.md", "confusion_matrix.png", "roc_curve.png"):
        assert (evaluation / artefact).stat().st_size > 0, artefact
    assert (summary_path(result.stdout, "model") / "MLmodel").is_file()
    rows = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    labels = [row.split()[0] for row in rows]
    assert labels[:5] == ["model", "evaluation", "metrics", "report", "registry"]  # each once
    assert len({len(row) - len(row[2:].split(maxsplit=1)[1]) for row in rows}) == 1, "the texts do not line up"
    assert next(row for row in rows if row.split()[0] == "registry").endswith("version 1 (the local MLflow registry)")
    for phase in ("building the pipeline with the Azure ML SDK", "registering the model"):
        assert phase in result.stderr  # a first run says what it does before and after its steps
    assert (project / "mlruns" / "mlflow.db").is_file()
    assert source_files(project) == before, "a step wrote into the source tree"

    again = mlops(project, "run")
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("reused from run") == 3
    assert "version 1" in again.stdout  # the same model is not registered twice


def test_a_baseline_model_is_compared(project: Path) -> None:
    """Evaluate against the previous model: only evaluate reruns, and the decision names the baseline."""
    model = sorted((project / "runs").glob("2*/train/outputs/model_output"))[0]
    result = mlops(project, "run", "--set", f"baseline_model={model}")
    assert result.returncode == 0, result.stderr
    assert "reused from run" in result.stderr  # data_prep and train
    assert "✓ evaluate" in result.stderr
    decision = json.loads((summary_path(result.stdout, "evaluation") / "decision.json").read_text())
    assert decision["baseline_value"] == decision["value"]  # the same model: as good, so still promoted
    assert decision["promote"] is True


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("n_estimators=many", "pipeline input 'n_estimators') expects integer, got 'many'"),
        ("n_estimators=-5", "pipeline input 'n_estimators') is -5, below its minimum 10"),  # not 10.0
        ("n_estimator=50", "unknown pipeline input 'n_estimator'; did you mean 'n_estimators'?"),
        ("threshold=1.5", "is 1.5, above its maximum 1.0"),
        ("task=clustering", "is 'clustering', expected one of classification, regression"),
    ],
)
def test_bad_command_line_inputs_are_one_line_errors(project: Path, override: str, message: str) -> None:
    assert_user_error(mlops(project, "run", "--set", override), message)


def test_registered_model_predicts_from_the_local_registry(project: Path) -> None:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlruns' / 'mlflow.db'}")
    model_name = next(
        line.split('"')[1]
        for line in (project / "config" / "pipeline.toml").read_text().splitlines()
        if line.startswith("name =")
    )
    model = mlflow.pyfunc.load_model(f"models:/{model_name}/1")
    rows = pd.read_csv(project / "data" / "penguins.csv").drop(columns="species").head(3)
    assert list(model.predict(rows)) == ["Adelie"] * 3


def test_bring_your_own_data_regression(project: Path, tmp_path: Path) -> None:
    diabetes = load_diabetes(as_frame=True).frame
    csv = tmp_path / "diabetes.csv"
    diabetes.to_csv(csv, index=False)
    result = mlops(
        project,
        "run",
        "--set",
        f"input_data={csv}",
        "--set",
        "target_column=target",
        "--set",
        "task=regression",
        "--set",
        "threshold=0.2",
        "--no-register",
    )
    assert result.returncode == 0, result.stderr
    evaluation = summary_path(result.stdout, "evaluation")
    metrics = json.loads((evaluation / "metrics.json").read_text())
    assert set(metrics) >= {"r2", "rmse", "mae"}
    assert (evaluation / "residuals.png").stat().st_size > 0


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda tmp: write(tmp / "empty.csv", ""), "empty"),
        (lambda tmp: write(tmp / "header.csv", "species,island,bill_length_mm\n"), "no rows"),
        (lambda tmp: write(tmp / "notarget.csv", "island,bill_length_mm\nDream,39.1\nBiscoe,40.2\n"), "species"),
        (
            lambda tmp: write(
                tmp / "text.csv", "species,bill_length_mm\n" + "Adelie,39.1\nGentoo,47.0\n" * 10 + "Adelie,forty\n"
            ),
            "bill_length_mm",
        ),
    ],
    ids=["empty-file", "header-only", "target-absent", "numeric-text"],
)
def test_bad_data_stops_the_first_step_with_a_plain_message(project: Path, tmp_path: Path, make_input, message) -> None:
    result = mlops(project, "run", "--set", f"input_data={make_input(tmp_path)}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1, result.stderr
    assert message in error[0]
    assert "not run: train, evaluate" in result.stderr
    run_folder = sorted((project / "runs").glob("2*"))[-1]
    assert not (run_folder / "data_prep" / "outputs").exists(), "a failed step left outputs behind"


def test_missing_input_file_is_refused_before_running(project: Path) -> None:
    assert_user_error(mlops(project, "run", "--set", "input_data=data/nope.csv"), "nope.csv, which does not exist")
