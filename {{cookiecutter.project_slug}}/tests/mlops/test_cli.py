"""The CLI through its real entry point (`python -m mlops`), in a copy of the project: exit codes and messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import assert_user_error, copy_project, mlops, run_main

PIPELINES = "tests/mlops/local/pipelines"
DIAMOND = f"{PIPELINES}/diamond.yml"
FAILING = f"{PIPELINES}/failing.yml"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("project"))


def test_help_lists_every_command_and_loads_neither_the_sdk_nor_mlflow(project: Path) -> None:
    """`--help` answers at once, with no credentials: the heavy libraries load only in the commands that use them."""
    import subprocess
    import sys

    from mlops.cli import COMMANDS

    heavy = "('azure.ai.ml', 'mlflow', 'sklearn', 'pandas')"
    script = (
        f"import atexit, sys; atexit.register(lambda: print('LOADED', [m for m in {heavy} if m in sys.modules])); "
        "from mlops import cli; cli.main(['--help'])"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=project, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("LOADED []"), result.stdout[-200:]
    listed = result.stdout.split("positional arguments:")[1]
    assert all(f"    {command}" in listed for command in COMMANDS), listed


@pytest.mark.slow
def test_runs_a_pipeline_file_and_summarises(project: Path) -> None:
    result = mlops(project, "run", "--file", DIAMOND)
    assert result.returncode == 0, result.stderr
    assert "✓ join" in result.stderr
    assert "final" in result.stdout
    assert "not in their Azure ML environment image" in result.stdout
    assert "the pipeline ran on this machine, not on azureml:cpu-cluster" in result.stdout
    final = next(line.split()[-1] for line in result.stdout.splitlines() if line.strip().startswith("final"))
    assert (Path(final) / "result.txt").read_text() == "hello!from data\n" * 3
    again = mlops(project, "run", "--file", DIAMOND)
    assert again.stderr.count("reused from run") == 4


@pytest.mark.slow
def test_a_failing_step_exits_non_zero_with_its_log(project: Path) -> None:
    result = mlops(project, "run", "--file", FAILING)
    assert result.returncode == 1
    assert "step 'broken' failed" in result.stderr
    assert "boom: something went wrong in this step" in result.stderr
    assert "not run: after" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "wrod=x"], "unknown pipeline input 'wrod'; did you mean 'word'?"),
        (["--set", "delay=soon"], "expects number, got 'soon'"),
        (["--set", "data=./nowhere.csv"], "does not exist"),
    ],
)
def test_bad_overrides_are_one_line_errors(project: Path, args: list[str], message: str) -> None:
    assert_user_error(mlops(project, "run", "--file", DIAMOND, *args), message)


def test_missing_pipeline_file(project: Path) -> None:
    assert_user_error(mlops(project, "run", "--file", "nope.yml"), "nope.yml does not exist")


def test_malformed_assignment_is_an_argparse_error(project: Path) -> None:
    result = mlops(project, "run", "--set", "novalue")
    assert result.returncode == 2
    assert "expected NAME=VALUE" in result.stderr


@pytest.mark.parametrize(
    ("file", "args", "message"),
    [
        (
            f"{PIPELINES}/components/twice/twice.yml",
            [],
            f"{PIPELINES}/components/twice/twice.yml is a pipeline component, not a pipeline job: use it as a step of "
            "a pipeline job (component: ./twice.yml) and run that pipeline",
        ),
        (
            f"{PIPELINES}/components/echo/echo.yaml",
            [],
            f"{PIPELINES}/components/echo/echo.yaml is a command component, not a pipeline job: use it as a step of a "
            "pipeline job (component: ./echo.yaml) and run that pipeline",
        ),
        (
            f"{PIPELINES}/kinds/batch_deployment.yml",
            [],
            f"{PIPELINES}/kinds/batch_deployment.yml is a pipeline component batch deployment, not a pipeline job: "
            f"create it in Azure ML with `az ml batch-deployment create --file {PIPELINES}/kinds/batch_deployment.yml`",
        ),
        (
            f"{PIPELINES}/kinds/automl_job.yml",
            [],
            f"{PIPELINES}/kinds/automl_job.yml is an automl job, not a pipeline job: run it on Azure ML with "
            f"`az ml job create --file {PIPELINES}/kinds/automl_job.yml`; the local runner runs pipeline jobs",
        ),
        (
            f"{PIPELINES}/kinds/command_job.yml",
            [],
            f"{PIPELINES}/kinds/command_job.yml is a command job, not a pipeline job: run it on Azure ML with "
            f"`az ml job create --file {PIPELINES}/kinds/command_job.yml`; the local runner runs pipeline jobs",
        ),
        (
            DIAMOND,
            ["--set", "start.data=azureml:penguins:2"],
            "step 'start', input 'data' is the workspace data asset azureml:penguins:2, which a local run cannot "
            f"read: run with a local copy, --set start.data=<local file>, or run it on Azure ML with "
            f"`az ml job create --file {DIAMOND}`",
        ),
        (
            DIAMOND,
            ["--set", "wrod=x"],
            "unknown pipeline input 'wrod'; did you mean 'word'? inputs are: data, delay, word",
        ),
        (
            DIAMOND,
            ["--set", "delay=soon"],
            "step 'left', input 'delay' (pipeline input 'delay') expects number, got 'soon'",
        ),
    ],
    ids=["pipeline-component", "command-component", "deployment", "automl", "command-job", "asset", "name", "type"],
)
def test_refusals_are_one_line_before_any_step_and_without_the_sdk(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    file: str,
    args: list[str],
    message: str,
) -> None:
    """Item 10: one line, before any step (in this process: the message; the SDK's absence is the next test's)."""
    monkeypatch.chdir(project)
    result = run_main(capsys, "run", "--file", file, *args, "--runs-dir", str(tmp_path / "runs"), root=project)
    assert_user_error(result, message)
    assert f"error: {message}" in result.stderr.splitlines()
    assert not (tmp_path / "runs").exists(), "a step ran"


@pytest.mark.parametrize("file", [f"{PIPELINES}/kinds/automl_job.yml", DIAMOND])
def test_a_refusal_that_the_yaml_explains_never_imports_the_sdk(project: Path, tmp_path: Path, file: str) -> None:
    """The speed of a refusal: the YAML says enough, so the Azure ML SDK (seconds to import) is never loaded."""
    import os

    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}  # every import, on stderr
    extra = ["--set", "wrod=x"] if file == DIAMOND else []
    result = mlops(project, "run", "--file", file, *extra, "--runs-dir", str(tmp_path / "runs"), env=env)
    assert result.returncode == 2, result.stderr
    assert "azure.ai.ml" not in result.stderr


def test_set_paths_are_relative_to_the_current_folder(project: Path) -> None:
    """Item 8: `--set data=...` typed in the project folder means a file there, not next to the pipeline file."""
    result = mlops(project, "run", "--file", DIAMOND, "--set", "data=data.txt")
    assert_user_error(result, f"points at {project / 'data.txt'}, which does not exist")


@pytest.mark.slow
def test_only_the_project_pipeline_gets_the_projects_summary(project: Path) -> None:
    """Item 11: outputs named model and evaluation do not make a pipeline the project's own: no data notes, and
    nothing registered in the project's MLflow registry."""
    before = registered_versions(project / "mlruns")
    result = mlops(project, "run", "--file", f"{PIPELINES}/conventions.yml")
    assert result.returncode == 0, result.stderr
    labels = [line.split()[0] for line in result.stdout.splitlines()[1:] if line.startswith("  ")]
    assert labels == ["model", "evaluation", "note"]
    assert "registry" not in result.stdout
    assert (project / "mlruns" / "mlflow.db").is_file()  # the run's experiment is there: the store was written
    assert registered_versions(project / "mlruns") == before


def registered_versions(mlruns: Path) -> set[tuple[str, str]]:
    """Every model version in the project's local MLflow registry, asked of MLflow (none before the store exists)."""
    if not (mlruns / "mlflow.db").is_file():
        return set()
    from mlflow import MlflowClient

    from mlops.local.model_registry import tracking_uri

    client = MlflowClient(tracking_uri=tracking_uri(mlruns))
    return {(version.name, str(version.version)) for version in client.search_model_versions()}


@pytest.mark.slow
def test_a_missing_module_is_explained_with_the_failure(project: Path) -> None:
    """Item 12: the failure says that steps run in this project's .venv, and which module is missing."""
    result = mlops(project, "run", "--file", f"{PIPELINES}/missing_module.yml")
    assert result.returncode == 1
    assert "step 'train' failed (exit code 1)" in result.stderr
    assert (
        "note: steps run in this project's .venv, not in its Azure ML environment "
        "(azureml:AzureML-acpt-pytorch-2.2-cuda12.1@latest), and 'not_installed_here_xyz' is not installed here: add "
        "the package that provides it to pyproject.toml's dependencies and run `make setup`"
    ) in result.stderr


def test_a_long_step_shows_its_time_so_far_and_the_last_line_it_logged(tmp_path: Path, capsys) -> None:
    from mlops.cli import Console
    from mlops.local.executor import StepResult

    log = tmp_path / "log.txt"
    log.write_text("$ python train.py --n_estimators 200\n\n")
    Console().step("train", "running", StepResult("train", True, 9.6, log, {}))
    assert capsys.readouterr().err.split() == ["…", "train", "10", "s"]  # not the command line
    log.write_text("$ python train.py\n\nfitting: 10 s so far\rfitting: 20 s so far\n" + "x" * 300)
    Console().step("train", "running", StepResult("train", True, 21.4, log, {}))
    shown = capsys.readouterr().err
    assert shown.split()[:4] == ["…", "train", "21", "s"]
    assert shown.rstrip().endswith("x" * 99 + "…")  # a long line is cut
    log.write_text("$ python train.py\n\nfitting: 10 s so far\rfitting: 20 s so far\n")
    Console().step("train", "running", StepResult("train", True, 21.4, log, {}))
    assert capsys.readouterr().err.rstrip().endswith("21 s  fitting: 20 s so far")  # the last of \r-updated lines
