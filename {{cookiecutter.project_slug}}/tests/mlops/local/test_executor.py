"""One step: command line, snapshot, environment, and outputs that appear only on success."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from mlops.errors import MlopsError
from mlops.local.executor import execute, fill_command
from mlops.local.plan import build_plan
from tests.mlops.local.conftest import PIPELINES


def test_optional_parts_are_kept_only_when_their_inputs_are_set(diamond) -> None:
    echo = diamond.steps["start"]
    with_data = fill_command(echo, {"text": "hi", "times": "1", "data": "/d.txt"}, {"out": "/o"})
    without = fill_command(echo, {"text": "hi", "times": "1"}, {"out": "/o"})
    assert with_data == "python echo.py --text hi --times 1 --data /d.txt --out /o"
    assert without == "python echo.py --text hi --times 1  --out /o"


def test_values_are_quoted_for_the_shell(diamond) -> None:
    command = fill_command(diamond.steps["start"], {"text": "a b; rm -rf /", "times": "1"}, {"out": "/my runs/o"})
    assert "--text 'a b; rm -rf /'" in command
    assert "--out '/my runs/o'" in command


def test_a_placeholder_without_a_value_is_an_error(diamond) -> None:
    with pytest.raises(MlopsError, match=r"uses inputs\.times, which has no value"):
        fill_command(diamond.steps["start"], {"text": "hi"}, {"out": "/o"})


def test_step_runs_in_a_snapshot_with_its_environment(diamond, tmp_path: Path) -> None:
    step = diamond.steps["start"]
    result = execute(step, dict(step.inputs), tmp_path / "start", {})
    assert result.ok, result.log.read_text()
    assert (result.outputs["out"] / "result.txt").read_text() == "hello!from data\n"
    assert (tmp_path / "start" / "code" / "written_into_snapshot.txt").exists()
    assert not (step.component.code / "written_into_snapshot.txt").exists()
    assert "$ python echo.py --text hello" in result.log.read_text()


def test_a_failed_step_leaves_no_outputs(failing_spec, tmp_path: Path) -> None:
    plan = build_plan(failing_spec, PIPELINES)
    broken = plan.steps["broken"]
    left = tmp_path / "left"
    left.mkdir()
    result = execute(broken, {"left": left}, tmp_path / "broken", {})
    assert not result.ok
    assert result.outputs == {}
    assert not list((tmp_path / "broken").rglob("half_written.txt"))
    assert "boom: something went wrong" in result.log.read_text()


def test_the_snapshot_holds_what_azure_ml_would_upload(diamond_spec, tmp_path: Path) -> None:
    code = tmp_path / "echo"
    shutil.copytree(PIPELINES / "components" / "echo", code)
    (code / ".amlignore").write_text("notes/\n")
    (code / "notes").mkdir()
    (code / "notes" / "draft.txt").write_text("not uploaded")
    spec = copy.deepcopy(diamond_spec)
    spec["jobs"]["start"]["component"]["code"] = str(code)
    step = build_plan(spec, PIPELINES).steps["start"]
    result = execute(step, dict(step.inputs), tmp_path / "start", {})
    assert result.ok, result.log.read_text()
    snapshot = tmp_path / "start" / "code"
    assert (snapshot / "echo.py").is_file()
    assert (snapshot / ".amlignore").is_file()
    assert not (snapshot / "notes").exists()
