"""Shared fixtures: a scratch copy of this project, and the CLI run through its real entry point inside it."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.azure_double.fixture import fast_storage_retries, workspace_double  # noqa: F401 - the Azure ML test double

PROJECT = Path(__file__).parents[1]


# Garbage collection, tuned for a suite that imports the SDK, MLflow and scikit-learn (half a million objects that
# live until the end): without this, the collector spends about 2 s of a fast run walking them again and again.
def pytest_configure() -> None:
    """Imports make little garbage: no collections while the tests are collected."""
    gc.disable()


def pytest_collection_finish() -> None:
    """What collection imported lives until the end: frozen, the collector stops walking it during the tests."""
    gc.freeze()
    gc.enable()


def pytest_unconfigure() -> None:
    """At exit the collector would walk every object once more; left frozen, the operating system frees them."""
    gc.freeze()


def copy_project(
    destination: Path, parts: tuple[str, ...] = ("mlops", "components", "config", "data", "serving", "tests")
) -> Path:
    """The parts of this project that `python -m mlops` reads (by default, all it may read), so runs and MLflow stores
    never land in the real one."""
    for name in parts:
        shutil.copytree(PROJECT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


def mlops(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m mlops ARGS` in ``project``, as a user runs it."""
    env = {**(env or os.environ), "PYTHONPATH": str(project)}
    return subprocess.run([sys.executable, "-m", "mlops", *args], cwd=project, capture_output=True, text=True, env=env)


def assert_user_error(result: subprocess.CompletedProcess, message: str, exit_code: int = 2) -> None:
    """One `error:` line naming the problem, the given exit code, and no traceback."""
    assert result.returncode == exit_code, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert message in errors[0]


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_main(capsys, *args: str, root: Path | None = None) -> CliResult:
    """The CLI's main() in this process (on ``root``, default this project): the SDK is imported once per test
    session, not once per command."""
    from mlops import cli

    code = cli.main(list(args), root=root)
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)
