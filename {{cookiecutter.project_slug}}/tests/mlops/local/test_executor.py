"""One step: command line, snapshot, environment, and outputs that appear only on success."""

from __future__ import annotations

import copy
import os
import shutil
import time
from pathlib import Path

import pytest

from mlops.errors import MlopsError
from mlops.local.executor import execute, fill_command
from mlops.local.plan import build_plan
from tests.mlops.local.conftest import PIPELINES, spec_of


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


def test_literals_reach_the_command_as_azure_ml_sends_them(tmp_path: Path) -> None:
    """Item 4: the SDK sends each literal input to Azure ML as a string (its REST form): True, not 1 or true."""
    from azure.ai.ml.entities._job._input_output_helpers import to_rest_dataset_literal_inputs

    step = build_plan(spec_of(PIPELINES / "booleans.yml"), PIPELINES).steps["flags"]
    sent = to_rest_dataset_literal_inputs(dict(step.inputs), job_type=None)
    result = execute(step, dict(step.inputs), tmp_path / "flags", {})
    assert result.ok, result.log.read_text()
    expected = " ".join(sent[name].value for name in ("register_best_model", "dry_run", "verbose"))
    assert (result.outputs["out"] / "flags.txt").read_text() == expected + "\n"
    assert expected == "True False True"


def test_a_uri_file_output_is_a_file_and_outputs_and_logs_are_the_artifacts(tmp_path: Path) -> None:
    """Items 1 and 2: the command gets a file path for a uri_file output, and ./outputs, ./logs to write into."""
    step = build_plan(spec_of(PIPELINES / "artifacts.yml"), PIPELINES).steps["write"]
    result = execute(step, dict(step.inputs), tmp_path / "write", {})
    assert result.ok, result.log.read_text()
    assert result.outputs["note"].read_text() == "hello\n"
    assert result.outputs["note"].parent.name == "note"  # a file in a folder of its own, named after the output
    assert (result.outputs["default"] / "outputs" / "report.txt").read_text() == "report\n"
    assert (result.outputs["default"] / "logs" / "step.log").read_text() == "written\n"


def test_a_uri_file_output_left_unwritten_fails_the_step(tmp_path: Path) -> None:
    spec = copy.deepcopy(spec_of(PIPELINES / "artifacts.yml"))
    spec["jobs"]["write"]["component"]["command"] = "echo ${{inputs.greeting}} > /dev/null # ${{outputs.note}}"
    step = build_plan(spec, PIPELINES).steps["write"]
    result = execute(step, dict(step.inputs), tmp_path / "write", {})
    assert not result.ok
    assert result.error == "it did not write its uri_file output 'note' (the file note in note/)"
    assert result.outputs == {}


def test_limits_timeout_stops_the_command_and_what_it_started(tmp_path: Path) -> None:
    """Item 9: Azure ML cancels a job after limits.timeout; so does a local run, child processes included."""
    step = build_plan(spec_of(PIPELINES / "differences.yml"), PIPELINES).steps["slow"]
    start = time.perf_counter()
    result = execute(step, {}, tmp_path / "slow", {})
    assert time.perf_counter() - start < 10
    assert not result.ok
    assert result.error == "stopped after 1 s, its limits.timeout"
    sleep = int((tmp_path / "slow" / "code" / "logs" / "sleep.pid").read_text())
    assert not _alive(sleep), "the command's child process survived its timeout"
    assert not list((tmp_path / "slow").rglob("done.txt"))


def _alive(pid: int) -> bool:
    """Running: a killed process whose parent is gone may stay a zombie (state Z) until something reaps it."""
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():
        return stat.exists() and stat.read_text().split(") ")[1][0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_missing_module_is_named(tmp_path: Path) -> None:
    """Item 12: the module a failed step could not import, read from its log."""
    step = build_plan(spec_of(PIPELINES / "missing_module.yml"), PIPELINES).steps["train"]
    result = execute(step, {}, tmp_path / "train", {})
    assert not result.ok
    assert result.missing_module == "not_installed_here_xyz"
