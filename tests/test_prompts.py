"""Generating a project as a person does, through the real `cookiecutter` command: each answer is checked as it is
typed and asked again, a run without prompts reports one message per bad answer and where the answers are saved,
and the fixed run reuses them. A successful run prints the next steps."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from tests.conftest import TEMPLATE

COOKIECUTTER = [sys.executable, "-m", "cookiecutter"]
PROMPT_ORDER = [
    "project_name",
    "project_slug",
    "description",
    "author_name",
    "python_version",
    "ci_platform",
    "azure_location",
    "resource_prefix",
    "use_registry",
]


def run(command: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUTF8": "1", "COLUMNS": "200"}
    return subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, text=True, env=env, timeout=120)


def typed(**lines: list[str]) -> str:
    """Standard input for the prompts: each answer's lines (a retyped answer after its error), Enter elsewhere."""
    return "".join("\n".join(lines.get(name, [""])) + "\n" for name in PROMPT_ORDER)


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def test_each_answer_is_checked_as_it_is_typed_and_asked_again(tmp_path: Path) -> None:
    stdin = typed(
        project_name=["Fraud Detection"],
        project_slug=["2fast", ""],  # Enter takes the valid name offered: project_2fast
        azure_location=["west europe", "mars", "eastus"],
        resource_prefix=["fraud-detection-prefix", ""],  # Enter takes 'fraud-detection'
    )
    result = run([*COOKIECUTTER, "-o", str(tmp_path), str(TEMPLATE)], tmp_path, stdin)

    assert result.returncode == 0, result.stderr
    found = errors(result.stderr)
    assert [line.split()[1] for line in found] == [
        "project_slug",
        "azure_location",
        "azure_location",
        "resource_prefix",
    ]
    assert "(for example 'project_2fast')" in found[0]
    assert "did you mean 'westeurope'?" in found[1]
    assert "at most 16 characters" in found[3]
    config = tomllib.loads((tmp_path / "project_2fast" / "config" / "environments.toml").read_text())
    assert (config["resource_prefix"], config["dev"]["location"]) == ("fraud-detection", "eastus")
    assert "Traceback" not in result.stderr


def test_a_failed_run_is_fixed_in_its_replay_file_and_run_again(tmp_path: Path) -> None:
    """Without prompts every problem is reported at once, one message per answer; the command printed last reruns
    with the saved answers, so only the bad ones are changed."""
    answers = {"author_name": "Ada Lovelace", "azure_location": "mars", "resource_prefix": "my-very-long-prefix-here"}
    command = [*COOKIECUTTER, "--no-input", "-o", str(tmp_path / "out"), str(TEMPLATE)]
    failed = run(command + [f"{key}={value}" for key, value in answers.items()], tmp_path)

    assert failed.returncode != 0
    found = errors(failed.stderr)
    assert [line.split()[1] for line in found] == ["azure_location", "resource_prefix"]
    assert "at most 16 characters" in found[1]
    assert "Traceback" not in failed.stderr + failed.stdout
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())

    retry = shlex.split(failed.stderr.strip().splitlines()[-1])
    replay = Path(retry[retry.index("--replay-file") + 1])
    saved = json.loads(replay.read_text())
    saved["cookiecutter"].update(azure_location="eastus", resource_prefix="fraud")
    replay.write_text(json.dumps(saved))
    assert retry[0] == "cookiecutter"
    fixed = run([*COOKIECUTTER, *retry[1:]], tmp_path)

    assert fixed.returncode == 0, fixed.stderr
    pyproject = tomllib.loads((tmp_path / "out" / "tabular_model" / "pyproject.toml").read_text())
    assert pyproject["project"]["authors"] == [{"name": "Ada Lovelace"}]


def test_a_choice_edited_in_a_replay_file_is_checked(
    tmp_path: Path, cookiecutter_config: Path, capfd: pytest.CaptureFixture
) -> None:
    """Cookiecutter checks choices at the prompt and on the command line, not in a replay file: the hook does."""
    cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(tmp_path / "first"))
    replay = cookiecutter_config / "replay" / f"{TEMPLATE.name}.json"
    saved = json.loads(replay.read_text())
    saved["cookiecutter"]["python_version"] = "3.10"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(saved))
    capfd.readouterr()

    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE), replay=str(edited), output_dir=str(tmp_path / "second"))

    assert errors(capfd.readouterr().err) == [
        "error: python_version '3.10' is not one of 3.11, 3.12, 3.13 (for example '3.11')"
    ]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed (Windows runners)")
def test_make_new_asks_and_writes_the_project_beside_the_template(tmp_path: Path) -> None:
    """The template README's command, as written."""
    result = run(
        ["make", "--no-print-directory", "new", f"OUT={tmp_path}"], TEMPLATE, typed(project_name=["Demand Forecast"])
    )
    assert result.returncode == 0, result.stderr
    project = tmp_path / "demand_forecast"
    assert (project / "Makefile").is_file()
    steps = [line.split("#")[0].strip() for line in result.stdout.splitlines()]  # printed by the post-gen hook
    assert steps[steps.index(f"cd {project}") :][:3] == [f"cd {project}", "make setup", "make run"]
