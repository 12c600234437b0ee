"""The pre-generation hook stops on any problem and says how to retry without typing every answer again."""

import json
import shlex
from pathlib import Path

import pytest

from tests.conftest import pre_gen, resolve_answers

VALID = resolve_answers()
ANSWERS = {**VALID, "_template": "gh:acme/azureml-template", "_output_dir": "/home/me/projects"}


def test_main_accepts_no_problems(capsys: pytest.CaptureFixture) -> None:
    assert pre_gen.main(json.dumps(ANSWERS), "[]", json.dumps({"replay_file": None})) == 0
    assert capsys.readouterr().err == ""


def test_main_prints_each_problem_and_where_the_answers_are_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    replay = tmp_path / "my template.json"
    replay.write_text("{}")
    problems = ["azure_location 'mars' is not an Azure region name", "resource_prefix 'X' is not a valid prefix"]

    assert pre_gen.main(json.dumps(ANSWERS), json.dumps(problems), json.dumps({"replay_file": str(replay)})) == 1

    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.startswith("error: ")] == [f"error: {p}" for p in problems]
    command = shlex.split(err.splitlines()[-1])
    assert command == [
        "cookiecutter",
        "--replay-file",
        str(replay),
        "--output-dir",
        "/home/me/projects",
        "gh:acme/azureml-template",
    ]


def test_without_a_replay_file_it_says_to_run_again(capsys: pytest.CaptureFixture) -> None:
    """Under cruft, or when cookiecutter's replay folder is elsewhere: no file to point to."""
    assert pre_gen.main(json.dumps(VALID), json.dumps(["a problem"]), json.dumps({"replay_file": None})) == 1
    assert "run cookiecutter again with the answers fixed" in capsys.readouterr().err
