"""The CLI through its real entry point (`python -m mlops`), in a copy of the project: exit codes and messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import assert_user_error, copy_project, mlops

DIAMOND = "tests/mlops/local/pipelines/diamond.yml"
FAILING = "tests/mlops/local/pipelines/failing.yml"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("project"))


def test_help_needs_nothing(project: Path) -> None:
    result = mlops(project, "--help")
    assert result.returncode == 0
    assert "run" in result.stdout


@pytest.mark.slow
def test_runs_a_pipeline_file_and_summarises(project: Path) -> None:
    result = mlops(project, "run", "--file", DIAMOND)
    assert result.returncode == 0, result.stderr
    assert "✓ join" in result.stderr
    assert "final" in result.stdout
    assert "not in their Azure ML environment image" in result.stdout
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
