"""A whole plan: order, parallel branches, reuse of unchanged steps, and failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.cli import last_line
from mlops.local.plan import Plan, build_plan
from mlops.local.runner import RunResult, run_plan
from tests.mlops.local.conftest import PIPELINES, spec_of


def interval(result, step: str) -> tuple[float, float]:
    start, end = (result.steps[step].outputs["out"] / "interval.txt").read_text().split()
    return float(start), float(end)


@pytest.fixture(scope="module")
def slow_diamond(diamond_spec, tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, RunResult, list[tuple]]:
    """One run whose branches each take half a second, with a heartbeat every 0.1 s; its progress events recorded."""
    plan = build_plan(diamond_spec, PIPELINES, {"delay": "0.5"})
    events: list[tuple] = []
    root = tmp_path_factory.mktemp("runs")
    result = run_plan(plan, root, "r1", {}, max_workers=2, heartbeat=0.1, progress=lambda *event: events.append(event))
    return plan, result, events


def test_diamond_runs_with_independent_steps_in_parallel(slow_diamond) -> None:
    plan, result, events = slow_diamond
    assert result.ok
    assert (result.output(plan, "final") / "result.txt").read_text() == "hello!from data\n" * 3
    left, right = interval(result, "left"), interval(result, "right")
    assert left[0] < right[1], "left and right did not overlap"
    assert right[0] < left[1], "left and right did not overlap"
    assert events[0][:2] == ("start", "started")
    assert events[-1][:2] == ("join", "finished")


def test_a_long_step_is_reported_while_it_runs_with_its_log(slow_diamond) -> None:
    """Every heartbeat, each running step is reported with its time so far and its log (the CLI prints its last
    line), so a long step never looks stuck."""
    _, _, events = slow_diamond
    running = [(step, result) for step, event, result in events if event == "running"]
    assert {step for step, _ in running} == {"left", "right"}
    left = [result for step, result in running if step == "left"]
    assert len(left) >= 2
    assert left[-1].seconds > left[0].seconds
    assert last_line(left[-1].log) == "waiting 0.5 s"


def test_unchanged_steps_are_reused_and_force_reruns_them(diamond, tmp_path: Path) -> None:
    first = run_plan(diamond, tmp_path, "r1", {})
    again = run_plan(diamond, tmp_path, "r2", {})
    assert {r.cached_from for r in again.steps.values()} == {"r1"}
    assert again.output(diamond, "final") == first.output(diamond, "final")
    forced = run_plan(diamond, tmp_path, "r3", {}, force=True)
    assert {r.cached_from for r in forced.steps.values()} == {None}


def test_a_changed_input_reruns_only_what_depends_on_it(diamond_spec, tmp_path: Path) -> None:
    run_plan(build_plan(diamond_spec, PIPELINES), tmp_path, "r1", {})
    changed = run_plan(build_plan(diamond_spec, PIPELINES, {"delay": "0.01"}), tmp_path, "r2", {})
    reused = {name for name, r in changed.steps.items() if r.cached_from}
    assert reused == {"start", "join"} - {"join"}  # join's inputs are new outputs of left and right
    assert changed.ok


def test_a_failure_stops_what_depends_on_it(failing_spec, tmp_path: Path) -> None:
    plan = build_plan(failing_spec, PIPELINES)
    result = run_plan(plan, tmp_path, "r1", {})
    assert not result.ok
    assert [r.name for r in result.failed] == ["broken"]
    assert result.skipped == ["after"]
    assert not (tmp_path / "r1" / "after").exists()
    again = run_plan(plan, tmp_path, "r2", {})
    assert again.steps["start"].cached_from == "r1"
    assert again.steps["broken"].cached_from is None  # failures are never cached


def test_uri_file_outputs_and_artifacts_flow_downstream(tmp_path: Path) -> None:
    """Items 1, 2 and 5: a uri_file input gets the upstream file, an artifacts input its ./outputs and ./logs."""
    plan = build_plan(spec_of(PIPELINES / "artifacts.yml"), PIPELINES)
    result = run_plan(plan, tmp_path, "r1", {})
    assert result.ok, [r.log.read_text() for r in result.failed]
    assert result.output(plan, "summary").read_text() == "hello\n"
    assert (result.output(plan, "combined") / "combined.txt").read_text() == "hello\nreport\n"


def test_pipeline_components_run_as_their_steps_and_each_is_reused_on_its_own(tmp_path: Path) -> None:
    """Item 6: a changed input reruns only the steps that depend on it, inside a pipeline component or outside."""
    spec = spec_of(PIPELINES / "nested.yml")
    plan = build_plan(spec, PIPELINES)
    first = run_plan(plan, tmp_path, "r1", {})
    assert first.ok, [r.log.read_text() for r in first.failed]
    assert (first.output(plan, "final") / "result.txt").read_text() == "hoho!\n" * 2
    changed = run_plan(build_plan(spec, PIPELINES, {"delay": "0.01"}), tmp_path, "r2", {})
    assert {name for name, r in changed.steps.items() if r.cached_from} == {"first.say", "first.join"}
    inner = run_plan(build_plan(spec, PIPELINES, {"first.times": "1"}), tmp_path, "r3", {})
    assert {name for name, r in inner.steps.items() if r.cached_from} == set()
    assert (inner.output(plan, "final") / "result.txt").read_text() == "ho!\n" * 2
