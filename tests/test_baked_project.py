"""The baked project passes its own checks: `make setup`, its tests, and pre-commit twice with nothing to fix."""

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

from tests.conftest import TEMPLATE, UV, BakedProject, git, project_env

CHOICES = {
    key: value
    for key, value in json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8")).items()
    if isinstance(value, list) and not key.startswith("_")
}
DEFAULT_PYTHON = CHOICES["python_version"][0]

# Each bake sets itself up and runs its own checks. The default answers run the whole suite; the others differ in CI
# files (which lint checks), the registry option and the Python version, so they run the fast tests (the whole suite
# again would add minutes and test nothing new). Together they cover every offered value of these answers.
PROJECT_BAKES = [
    {"ci_platform": "github", "use_registry": "no", "python_version": DEFAULT_PYTHON},
    {"ci_platform": "azure_devops", "use_registry": "no", "python_version": "3.12"},
    {"ci_platform": "both", "use_registry": "yes", "python_version": "3.13"},
]


def require_python(project: BakedProject) -> None:
    """Skip, with the reason, when the bake's Python is not installed here: set-up would refuse (never download)."""
    version = project.answers["python_version"]
    if UV is None:
        pytest.skip("no uv to look for Python with (run make setup in the template)")
    found = subprocess.run(
        [UV, "python", "find", "--no-python-downloads"], cwd=project.path, capture_output=True, env=project_env()
    )
    if found.returncode != 0:
        pytest.skip(
            f"Python {version} is not installed here (`uv python find {version}` finds none): install it to test it"
        )


def test_the_bakes_cover_every_offered_python_platform_and_registry_choice() -> None:
    for answer in ("python_version", "ci_platform", "use_registry"):
        assert {bake[answer] for bake in PROJECT_BAKES} == set(CHOICES[answer]), answer


@pytest.mark.skipif(UV is None or shutil.which("make") is None, reason="needs make and uv (make setup here)")
def test_setup_without_its_python_says_how_to_get_it_and_downloads_nothing(bake, tmp_path: Path) -> None:
    """A Python that no machine has stands for one this machine lacks; uv alone would try to download it."""
    project = bake()
    (project.path / ".python-version").write_text("3.99\n")
    env = {**project_env(), "UV_PYTHON_INSTALL_DIR": str(tmp_path / "uv-pythons")}
    # Without version managers' shims (pyenv's), which uv would ask one by one, slowly, for a version none has.
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if Path(p).name != "shims")
    result = subprocess.run(["make", "setup", f"UV={UV}"], cwd=project.path, capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert "make setup needs Python 3.99" in result.stderr
    assert f"{UV} python install 3.99" in result.stderr
    assert not (project.path / ".venv").exists()
    assert not (tmp_path / "uv-pythons").exists()


@pytest.mark.slow
@pytest.mark.parametrize("answers", PROJECT_BAKES, ids=lambda a: "-".join(a.values()))
def test_baked_project_passes_its_own_checks(bake, answers: dict[str, str]) -> None:
    project: BakedProject = bake(**answers)
    env = project_env()
    require_python(project)

    project.run("make", "setup", env=env)
    python = project.run(".venv/bin/python", "-c", "import platform; print(platform.python_version())")
    assert python.stdout.startswith(f"{answers['python_version']}.")
    tests = project.run("make", "test" if answers == PROJECT_BAKES[0] else "test-fast", env=env)
    assert " passed" in tests.stdout
    assert " failed" not in tests.stdout

    git(project.path, "init", "--quiet")
    git(project.path, "add", "-A")
    for _ in range(2):
        project.run("make", "lint", env=env)
        assert git(project.path, "diff") == "", "a hook changed a freshly baked file"


@pytest.mark.slow
def test_main_job_runs_the_pipeline_locally_and_make_serve_answers_the_readme(bake, tmp_path: Path) -> None:
    """`make run` on a fresh bake: the pipeline trains, evaluates and registers a model from the sample data. Then
    `make serve` serves it, and the README's curl line gets the answer the README shows; Ctrl-C stops it all."""
    project = bake()
    result = project.run("make", "run", env=project_env())
    for step in ("data_prep", "train", "evaluate"):
        assert f"✓ {step}" in result.stderr
    assert "penguins-species version 1 (the local MLflow registry)" in result.stdout
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
            assert f"Serving penguins-species version 1 at http://127.0.0.1:{port}/score" in printed
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


@pytest.mark.slow
def test_lint_outside_git_says_what_to_do(bake) -> None:
    project = bake()
    result = subprocess.run(["make", "lint"], cwd=project.path, capture_output=True, text=True, env=project_env())
    assert result.returncode != 0
    assert "git init" in result.stderr
