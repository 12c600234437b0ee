"""From a pipeline's YAML form to steps: bindings, defaults, checks, and what a local run refuses."""

from __future__ import annotations

import copy

import pytest

from mlops.errors import MlopsError
from mlops.local.plan import InputSpec, Upstream, build_plan, coerce_literal
from tests.mlops.local.conftest import PIPELINES


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
        (0, InputSpec("n", "integer", min=1), "below its minimum 1"),
        (9, InputSpec("n", "integer", max=5), "above its maximum 5"),
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
