"""From a pipeline's YAML form to steps: bindings, defaults, checks, and what a local run refuses."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from mlops.commands.run import plan_pipeline
from mlops.errors import MlopsError
from mlops.local import pipeline_file
from mlops.local.plan import ARTIFACTS, InputSpec, Plan, Upstream, build_plan, coerce_literal
from mlops.settings import PipelineSettings
from tests.mlops.local.conftest import PIPELINES, spec_of

ECHO = PIPELINES / "components" / "echo" / "echo.yaml"


def plan_of(name: str, overrides: dict | None = None, cwd: Path | None = None) -> Plan:
    return build_plan(spec_of(PIPELINES / name), PIPELINES, overrides, cwd=cwd)


def write_pipeline(folder: Path, text: str) -> Path:
    """A small pipeline written by the test; ECHO stands for the echo component's spec."""
    path = folder / "pipeline.yml"
    path.write_text(text.replace("ECHO", str(ECHO)))
    return path


def test_graph_follows_the_bindings(diamond) -> None:
    assert diamond.dependencies() == {"start": set(), "left": {"start"}, "right": {"start"}, "join": {"left", "right"}}
    order = diamond.order()
    assert order[0] == "start"
    assert order[-1] == "join"
    assert diamond.outputs == {"final": Upstream("join", "out")}


def test_inputs_resolve_to_parent_values_defaults_and_paths(diamond) -> None:
    start = diamond.steps["start"].inputs
    assert start["text"] == "hello"
    assert start["times"] == 1  # the component's default, typed
    assert start["data"] == (PIPELINES / "data.txt").resolve()
    assert "right" not in diamond.steps["left"].inputs  # optional and unset
    assert diamond.steps["right"].inputs["right"] == Upstream("start", "out")


def test_overrides_replace_pipeline_inputs(diamond_spec) -> None:
    plan = build_plan(diamond_spec, PIPELINES, {"word": "bye", "delay": "0.25"})
    assert plan.steps["start"].inputs["text"] == "bye"
    assert plan.steps["left"].inputs["delay"] == 0.25


def test_compute_is_noted_not_refused(diamond_spec) -> None:
    spec = copy.deepcopy(diamond_spec)
    spec["jobs"]["start"]["compute"] = "azureml:gpu-cluster"
    assert any("start" in note for note in build_plan(spec, PIPELINES).notes)


@pytest.mark.parametrize(
    ("value", "spec", "expected"),
    [
        ("3", InputSpec("n", "integer"), 3),
        (3.0, InputSpec("n", "integer"), 3),
        ("0.5", InputSpec("x", "number"), 0.5),
        ("true", InputSpec("b", "boolean"), True),
        (7, InputSpec("s", "string"), "7"),
        ("a", InputSpec("e", "string", enum=("a", "b")), "a"),
    ],
)
def test_literals_take_their_declared_type(value, spec, expected) -> None:
    assert coerce_literal(value, spec, "here") == expected


@pytest.mark.parametrize(
    ("value", "spec", "message"),
    [
        ("abc", InputSpec("n", "integer"), "expects integer, got 'abc'"),
        (2.5, InputSpec("n", "integer"), "expects integer"),
        ("yes", InputSpec("b", "boolean"), "expects boolean"),
        (True, InputSpec("n", "integer"), "expects integer"),
        (0, InputSpec("n", "integer", min=1.0), "is 0, below its minimum 1$"),  # an integer bound, as written
        (9, InputSpec("n", "integer", max=5.0), "is 9, above its maximum 5$"),
        (0.01, InputSpec("x", "number", min=0.05), "is 0.01, below its minimum 0.05$"),
        ("c", InputSpec("e", "string", enum=("a", "b")), "expected one of a, b"),
        ("x", InputSpec("p", "uri_file"), "takes a path"),
    ],
)
def test_bad_literals_are_refused_with_the_reason(value, spec, message) -> None:
    with pytest.raises(MlopsError, match=message):
        coerce_literal(value, spec, "here")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: s["inputs"].update(data={"type": "uri_file", "path": "azureml:penguins:3"}),
            "'start', input 'data'",
        ),
        (lambda s: s["inputs"].update(data={"type": "uri_file", "path": "https://x.org/d.csv"}), "not on this machine"),
        (lambda s: s["inputs"].update(data={"type": "uri_file", "path": "./missing.csv"}), "does not exist"),
        (lambda s: s["inputs"].update(data={"type": "uri_file", "path": "./components"}), "is a folder"),
        (lambda s: s["jobs"]["left"].update(type="sweep"), "step 'left' is a sweep job"),
        (lambda s: s["jobs"]["left"].update(component="azureml:concat:3"), "registered component"),
        (lambda s: s["jobs"]["left"]["inputs"].update(nope=1), "does not declare: nope"),
        (
            lambda s: s["jobs"]["start"]["inputs"].update(data={"path": "${{parent.jobs.left.outputs.out}}"}),
            "is a uri_file but is wired to left.out, a uri_folder",
        ),
        (lambda s: s["jobs"]["start"]["inputs"].update(text={"path": "${{parent.inputs.nope}}"}), "not declared"),
        (
            lambda s: s["jobs"]["left"]["inputs"].update(left={"path": "${{parent.jobs.join.outputs.out}}"}),
            "in a cycle",
        ),
    ],
    ids=[
        "asset",
        "url",
        "missing",
        "folder-as-file",
        "sweep",
        "registered",
        "unknown-input",
        "wiring",
        "binding",
        "cycle",
    ],
)
def test_unsupported_or_inconsistent_pipelines_are_refused(diamond_spec, change, message) -> None:
    spec = copy.deepcopy(diamond_spec)
    change(spec)
    with pytest.raises(MlopsError, match=message):
        build_plan(spec, PIPELINES)


def test_unknown_override_suggests_the_close_name(diamond_spec) -> None:
    with pytest.raises(MlopsError, match="unknown pipeline input 'wrod'; did you mean 'word'"):
        build_plan(diamond_spec, PIPELINES, {"wrod": "x"})


def test_wrong_override_type_names_the_pipeline_input(diamond_spec) -> None:
    with pytest.raises(MlopsError, match=r"pipeline input 'delay'\) expects number, got 'soon'"):
        build_plan(diamond_spec, PIPELINES, {"delay": "soon"})


def test_the_file_as_written_plans_as_the_sdk_parses_it() -> None:
    """The refusals made before the SDK's import come from the same plan the SDK's parse gives."""
    for name in ("diamond.yml", "artifacts.yml", "booleans.yml", "nested.yml", "differences.yml"):
        written = pipeline_file.read(PIPELINES / name)
        assert written.plannable, name
        early, parsed = build_plan(written.tree, PIPELINES), plan_of(name)
        assert early.order() == parsed.order(), name
        assert early.outputs == parsed.outputs, name
        assert early.notes == parsed.notes, name
        for step in parsed.steps:
            assert early.steps[step].inputs == parsed.steps[step].inputs, (name, step)
            assert early.steps[step].component.command == parsed.steps[step].component.command, (name, step)
            assert early.steps[step].component.code == parsed.steps[step].component.code, (name, step)


def test_uri_file_outputs_default_artifacts_and_dictionary_outputs() -> None:
    """Items 1, 2 and 5: a uri_file output wires into a uri_file input, a step's artifacts into a folder input, and
    pipeline outputs bound in the dictionary form are the pipeline's outputs."""
    plan = plan_of("artifacts.yml")
    assert plan.steps["read"].inputs == {"note": Upstream("write", "note"), "artifacts": Upstream("write", ARTIFACTS)}
    assert plan.outputs == {"summary": Upstream("write", "note"), "combined": Upstream("read", "combined")}


def test_yaml_booleans_keep_their_type() -> None:
    """Item 4: the SDK's dump writes `true` as 1; the plan has the booleans the YAML has."""
    flags = plan_of("booleans.yml").steps["flags"].inputs
    assert flags == {"register_best_model": True, "dry_run": False, "verbose": True}
    flags = plan_of("booleans.yml", {"register_best_model": "false"}).steps["flags"].inputs
    assert flags["register_best_model"] is False


def test_a_pipeline_component_is_flattened_into_its_command_steps() -> None:
    """Item 6: steps named after their pipeline step, bindings resolved through each level, defaults of both."""
    plan = plan_of("nested.yml")
    assert plan.order() == ["first.say", "first.join", "last"]
    assert plan.dependencies() == {"first.say": set(), "first.join": {"first.say"}, "last": {"first.join"}}
    assert plan.steps["first.say"].inputs == {"text": "ho", "times": 2}  # the pipeline's input, the component's default
    assert plan.steps["first.join"].inputs["right"] == Upstream("first.say", "out")
    assert plan.steps["last"].inputs["left"] == Upstream("first.join", "out")  # through the component's output
    assert plan.outputs == {"final": Upstream("last", "out")}
    nested = plan_of("nested.yml", {"first.times": "3", "first.say.text": "yo"})
    assert nested.steps["first.say"].inputs == {"text": "yo", "times": 3}


def test_a_pipeline_component_built_with_the_dsl_is_flattened_too() -> None:
    from mlops.pipeline import local_spec
    from tests.mlops.local.pipelines import nested_dsl

    spec = local_spec(nested_dsl.build(PIPELINES / "data.txt"))
    assert spec["jobs"]["first"]["inputs"]["loud"] is True  # the SDK's dump says 1
    plan = build_plan(spec, PIPELINES)
    assert plan.order() == ["first.say", "first.concat", "concat"]
    assert plan.steps["first.say"].inputs == {"text": "ho", "times": 2, "data": PIPELINES / "data.txt"}
    assert plan.steps["concat"].inputs["left"] == Upstream("first.concat", "out")
    assert plan.outputs == {"final": Upstream("concat", "out")}


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        (
            """
type: pipeline
inputs:
  data: {type: uri_file, path: "azureml:penguins@latest"}
jobs:
  start: {type: command, component: ECHO, inputs: {data: "${{parent.inputs.data}}"}}
""",
            "step 'start', input 'data' (pipeline input 'data') is the workspace data asset azureml:penguins@latest, "
            "which a local run cannot read: run with a local copy, --set data=<local file>, or run it on Azure ML "
            "with `az ml job create --file FILE`",
        ),
        (
            """
type: pipeline
jobs:
  start: {type: command, component: ECHO, inputs: {data: {type: uri_file, path: "azureml:penguins:1"}}}
""",
            "step 'start', input 'data' is the workspace data asset azureml:penguins:1, which a local run cannot "
            "read: run with a local copy, --set start.data=<local file>, or run it on Azure ML with "
            "`az ml job create --file FILE`",
        ),
        (
            """
type: pipeline
jobs:
  start:
    type: command
    component: ECHO
    inputs: {data: {type: uri_file, path: "azureml://datastores/workspaceblobstore/paths/d.csv"}}
""",
            "step 'start', input 'data' points at azureml://datastores/workspaceblobstore/paths/d.csv in the "
            "workspace's storage, which a local run cannot read: run with a local copy, --set start.data=<local file>,"
            " or run it on Azure ML with `az ml job create --file FILE`",
        ),
        (
            """
type: pipeline
jobs:
  start: {type: command, component: ECHO, inputs: {data: {type: uri_file, path: "https://x.org/d.csv"}}}
""",
            "step 'start', input 'data' points at https://x.org/d.csv, which is not on this machine: run with a local "
            "copy, --set start.data=<local file>, or run it on Azure ML with `az ml job create --file FILE`",
        ),
        (
            """
type: pipeline
jobs:
  start: {type: command, component: ECHO}
  tune: {type: sweep, trial: ECHO}
""",
            "step 'tune' is a sweep job; the local runner runs command steps (and pipeline components made of them) "
            "only: run it on Azure ML with `az ml job create --file FILE`",
        ),
        (
            """
type: pipeline
jobs:
  start: {type: command, component: "azureml:echo:1"}
""",
            "step 'start' uses the registered component 'azureml:echo:1'; a local run needs the component's spec: "
            "reference its YAML file (component: ./path/spec.yaml) instead",
        ),
    ],
    ids=["pipeline-asset", "step-asset", "datastore", "url", "sweep", "registered"],
)
def test_what_cannot_run_here_is_refused_before_the_sdk_with_advice_that_works(
    tmp_path: Path, pipeline: str, message: str
) -> None:
    """Items 3 and 7: a data asset is named as one, and the advice is a --set that works or the Azure ML CLI."""
    file = write_pipeline(tmp_path, pipeline)
    settings = PipelineSettings({}, "model", tmp_path)
    expected = message.replace("FILE", str(file))
    with pytest.raises(MlopsError) as refused:
        plan_pipeline(settings, file, {}, tmp_path / "cache")
    assert str(refused.value) == expected
    assert not (tmp_path / "cache").exists(), "the SDK was asked to parse the file"
    if "sweep" not in message:  # the same message after the SDK's parse (a sweep node needs more for the SDK)
        with pytest.raises(MlopsError) as parsed:
            build_plan(spec_of(file), tmp_path, on_azure=f"run it on Azure ML with `az ml job create --file {file}`")
        assert str(parsed.value) == expected


def test_step_inputs_are_set_with_step_dot_name(tmp_path: Path) -> None:
    """Item 7: the advice above works."""
    data = tmp_path / "local.txt"
    data.write_text("local")
    pipeline = """
type: pipeline
jobs:
  start: {type: command, component: ECHO, inputs: {data: {type: uri_file, path: "azureml:penguins:1"}}}
"""
    file = write_pipeline(tmp_path, pipeline)
    plan = plan_pipeline(PipelineSettings({}, "model", tmp_path), file, {"start.data": str(data)}, tmp_path / "cache")
    assert plan.steps["start"].inputs["data"] == data


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"strat.text": "x"},
            "--set strat.text: unknown step 'strat'; did you mean 'start'? steps are: join, left, right, start",
        ),
        ({"start.txt": "x"}, "step 'start' has no input 'txt'; did you mean 'text'? its inputs are: data, text, times"),
    ],
)
def test_unknown_step_inputs_are_refused_with_the_close_name(diamond_spec, overrides, message) -> None:
    with pytest.raises(MlopsError) as refused:
        build_plan(diamond_spec, PIPELINES, overrides)
    assert str(refused.value) == message


def test_set_paths_are_relative_to_the_current_folder(diamond_spec, tmp_path: Path) -> None:
    """Item 8: the pipeline's own paths start at its file's folder; the ones typed on the command line at the
    current folder."""
    (tmp_path / "mine.txt").write_text("mine")
    plan = build_plan(diamond_spec, PIPELINES, {"data": "mine.txt"}, cwd=tmp_path)
    assert plan.steps["start"].inputs["data"] == tmp_path / "mine.txt"
    step_level = build_plan(diamond_spec, PIPELINES, {"start.data": "mine.txt"}, cwd=tmp_path)
    assert step_level.steps["start"].inputs["data"] == tmp_path / "mine.txt"
    with pytest.raises(MlopsError, match=f"points at {tmp_path / 'data.txt'}, which does not exist"):
        build_plan(diamond_spec, PIPELINES, {"data": "data.txt"}, cwd=tmp_path)  # exists next to the YAML only


def test_what_runs_differently_is_noted() -> None:
    """Item 9: compute, distribution and outputs bound for the workspace are named; the timeout is kept."""
    plan = plan_of("differences.yml")
    assert plan.notes == (
        "the pipeline ran on this machine, not on azureml:cpu-cluster",
        "step 'train': ran on this machine, not on azureml:gpu-cluster (2 nodes)",
        "step 'train': ran as one process; its pytorch distribution runs 8 processes on Azure ML",
        "step 'train', output 'out': stayed in the run folder; Azure ML writes it to "
        "azureml://datastores/workspaceblobstore/paths/echo/",
        "the pipeline, output 'kept': stayed in the run folder; Azure ML writes it to "
        "azureml://datastores/workspaceblobstore/paths/kept/",
    )
    assert plan.steps["slow"].timeout == 1
