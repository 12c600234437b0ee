"""The baked project passes its own checks: `make setup`, `make test`, and pre-commit twice with nothing to fix."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE, BakedProject

pytestmark = pytest.mark.slow


def project_env() -> dict[str, str]:
    """The environment a user's shell has: without this test run's virtual environment."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    venv_bin = str(TEMPLATE / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    return env


def git(project: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args]
    return subprocess.run(command, cwd=project, check=True, capture_output=True, text=True).stdout


@pytest.mark.parametrize(("ci_platform", "use_registry"), [("github", "no"), ("azure_devops", "no"), ("both", "yes")])
def test_baked_project_passes_its_own_checks(bake, ci_platform: str, use_registry: str) -> None:
    """Its whole suite for the default answers; the other bakes differ in CI files (which lint checks) and in the
    registry option, so they run the fast tests (the full suite three times would add minutes and test nothing new)."""
    project: BakedProject = bake(ci_platform=ci_platform, use_registry=use_registry)
    env = project_env()

    project.run("make", "setup", env=env)
    tests = project.run("make", "test" if ci_platform == "github" else "test-fast", env=env)
    assert " passed" in tests.stdout
    assert " failed" not in tests.stdout

    git(project.path, "init", "--quiet")
    git(project.path, "add", "-A")
    for _ in range(2):
        project.run("make", "lint", env=env)
        assert git(project.path, "diff") == "", "a hook changed a freshly baked file"


def test_main_job_runs_the_pipeline_locally_and_make_serve_answers_the_readme(bake, tmp_path: Path) -> None:
    """`make run` on a fresh bake: the pipeline trains, evaluates and registers a model from the sample data. Then
    `make serve` serves it, and the README's curl line gets the answer the README shows; Ctrl-C stops it all."""
    project = bake()
    result = project.run("make", "run", env=project_env())
    for step in ("data_prep", "train", "evaluate"):
        assert f"✓ {step}" in result.stderr
    assert "registered locally as churn-model version 1" in result.stdout
    report = next(line.split()[-1] for line in result.stdout.splitlines() if line.strip().startswith("report"))
    assert "f1_macro" in Path(report).read_text(encoding="utf-8")
    assert (project.path / "mlruns" / "mlflow.db").is_file()

    readme = project.read("README.md")
    curl = re.search(r"^curl .*\\\n.*$", readme, re.MULTILINE)[0]
    shown = json.loads(re.search(r"^# (\{\"predictions\".*\})$", readme, re.MULTILINE)[1])
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    port = free_port()
    with (tmp_path / "serve.log").open("w") as log:
        command = ["make", "serve", f"PORT={port}"]
        serve = subprocess.Popen(
            command,
            cwd=project.path,
            env=project_env(),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,  # its own process group, which Ctrl-C (SIGINT) reaches as a terminal's would
        )
        try:
            printed = read_until(serve, "Ctrl-C", log)
            assert f"Serving churn-model version 1 at http://127.0.0.1:{port}/score" in printed
            answer = subprocess.run(
                ["bash", "-c", curl.replace("127.0.0.1:5001", f"127.0.0.1:{port}")], capture_output=True, text=True
            )
            assert json.loads(answer.stdout) == shown, answer.stdout + answer.stderr
        finally:
            os.killpg(serve.pid, signal.SIGINT)
            serve.wait(timeout=60)
    with pytest.raises(ProcessLookupError):  # make, mlops and the server all stopped
        os.killpg(serve.pid, 0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_until(process: subprocess.Popen, marker: str, log, timeout: float = 180) -> str:
    """The process's stdout up to the line holding ``marker``; fails rather than waits forever."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    text, deadline = "", time.monotonic() + timeout
    while marker not in text:
        try:
            text += lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            log.flush()
            pytest.fail(f"no '{marker}' within {timeout} s; stdout:\n{text}\nlog:\n{Path(log.name).read_text()}")
    return text


def test_lint_outside_git_says_what_to_do(bake) -> None:
    project = bake()
    result = subprocess.run(["make", "lint"], cwd=project.path, capture_output=True, text=True, env=project_env())
    assert result.returncode != 0
    assert "git init" in result.stderr


def committed_template_copy(tmp_path: Path) -> Path:
    """A git repository holding the template as committed work would (cruft clones its template)."""
    copy = tmp_path / "template"
    ignore = shutil.ignore_patterns(".venv", ".tools", ".git", "build", "__pycache__", ".pytest_cache", ".ruff_cache")
    shutil.copytree(TEMPLATE, copy, ignore=ignore)
    git(copy, "init", "--quiet")
    git(copy, "add", "-A")
    git(copy, "commit", "--quiet", "-m", "template")
    return copy


def test_cruft_create_and_update(tmp_path: Path) -> None:
    template = committed_template_copy(tmp_path)
    out = tmp_path / "out"
    cruft = shutil.which("cruft")
    subprocess.run([cruft, "create", "--no-input", "--output-dir", str(out), str(template)], check=True)
    project = out / "churn_model"
    cruft_state = json.loads((project / ".cruft.json").read_text())
    assert cruft_state["context"]["cookiecutter"]["resource_prefix"] == "churnmodel"
    git(project, "init", "--quiet")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "baked")

    readme = template / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + "\nA line the template added later.\n")
    git(template, "commit", "--quiet", "-am", "template change")

    assert subprocess.run([cruft, "check"], cwd=project, capture_output=True).returncode != 0  # out of date
    subprocess.run([cruft, "update", "--skip-apply-ask", "--allow-untracked-files"], cwd=project, check=True)
    assert "A line the template added later." in (project / "README.md").read_text()
    subprocess.run([cruft, "check"], cwd=project, check=True, capture_output=True)
