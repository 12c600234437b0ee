"""Every command the CI files run exists and parses: a make target (checked with `make -n`, and the mlops command it
calls parsed too) or `python -m mlops ...` with arguments the CLI accepts. Edit a workflow, and this says whether CI
can still run it."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from mlops.cli import build_parser
from tests.conftest import PROJECT

ENVIRONMENTS = set(tomllib.loads((PROJECT / "config" / "environments.toml").read_text(encoding="utf-8")))


def ci_files() -> list[Path]:
    return sorted([*(PROJECT / ".github" / "workflows").glob("*.yml"), *(PROJECT / ".azuredevops").rglob("*.yml")])


def step_commands(node: object) -> list[str]:
    """`run:` (GitHub), `script:` and AzureCLI@2's `inlineScript:` (Azure DevOps), wherever they are nested."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"run", "script", "inlineScript"} and isinstance(value, str):
                found.append(value.strip())
            else:
                found += step_commands(value)
    elif isinstance(node, list):
        for item in node:
            found += step_commands(item)
    return found


COMMANDS = sorted({command for path in ci_files() for command in step_commands(yaml.safe_load(path.read_text()))})


def check_mlops_arguments(arguments: list[str]) -> None:
    parsed = build_parser().parse_args(arguments)  # argparse exits (SystemExit) on anything it does not accept
    if getattr(parsed, "env", None) is not None:
        assert parsed.env in ENVIRONMENTS, f"--env {parsed.env}: config/environments.toml has {sorted(ENVIRONMENTS)}"


@pytest.mark.skipif(not COMMANDS, reason="this project has no CI files")
@pytest.mark.parametrize("command", COMMANDS)
def test_ci_command_exists_and_parses(command: str) -> None:
    words = shlex.split(command)
    if words[0] == "make":
        make = shutil.which("make")
        if make is None:
            pytest.skip("make is not installed")
        # -n prints the recipe without running it (nor its prerequisites): the target and its variables must resolve.
        result = subprocess.run([make, "-n", *words[1:]], cwd=PROJECT, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        for line in result.stdout.splitlines():
            if " -m mlops " in line:
                check_mlops_arguments(shlex.split(line.split(" -m mlops ", 1)[1]))
    else:
        assert words[:3] == [".venv/bin/python", "-m", "mlops"], f"not a project command: {command}"
        check_mlops_arguments(words[3:])


def test_abbreviated_options_are_refused() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["validate", "--env", "dev", "--work"])


def readme_commands() -> list[str]:
    """The commands the README's code blocks show, without their comments."""
    lines, in_block = [], False
    for line in (PROJECT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_block = not in_block
        elif in_block:
            lines.append(line.split(" #")[0].strip())
    return [line for line in lines if re.match(r"(make |\.venv/bin/python -m mlops|python -m mlops|mlops )", line)]


README_COMMANDS = readme_commands()


@pytest.mark.parametrize("command", README_COMMANDS)
def test_readme_commands_work_from_a_fresh_shell(command: str) -> None:
    """Every `mlops` line is `.venv/bin/python -m mlops ...` (works without activating .venv) and parses; every make
    line names a target."""
    words = shlex.split(command.replace("<", "").replace(">", ""))
    if words[0] == "make":
        targets = set(re.findall(r"^([a-zA-Z][\w-]*):", (PROJECT / "Makefile").read_text(), flags=re.MULTILINE))
        assert words[1] in targets, f"no make target {words[1]}"
    else:
        assert words[:3] == [".venv/bin/python", "-m", "mlops"], f"needs an activated .venv: {command}"
        check_mlops_arguments(words[3:])


def test_the_readme_shows_commands() -> None:
    assert len(README_COMMANDS) >= 10
