"""The pipeline graph, built offline with the real SDK: nodes, wiring, input types and defaults."""

from __future__ import annotations

import datetime

import pytest

from mlops.errors import MlopsError
from mlops.local.plan import Upstream, build_plan
from mlops.pipeline import build_pipeline, components, local_spec
from mlops.settings import default_root, load_pipeline_settings

ROOT = default_root()


@pytest.fixture(scope="module")
def job():
    return build_pipeline(load_pipeline_settings(ROOT), compute="cpu-cluster")


def test_an_input_the_pipeline_does_not_take_is_named_with_the_close_one() -> None:
    settings = load_pipeline_settings(ROOT)
    settings.inputs["n_estimator"] = 50
    with pytest.raises(MlopsError) as raised:
        build_pipeline(settings)
    message = str(raised.value)
    assert message.startswith("config/pipeline.toml [inputs] has 'n_estimator' (did you mean 'n_estimators'?)")
    assert "Its inputs: input_data, target_column," in message


@pytest.mark.parametrize(("value", "kind"), [({"a": 1}, "table"), (datetime.date(2024, 1, 1), "date")])
def test_a_value_that_is_no_input_value_is_named(value: object, kind: str) -> None:
    settings = load_pipeline_settings(ROOT)
    settings.inputs["n_estimators"] = value
    with pytest.raises(MlopsError, match=f"\\[inputs\\] n_estimators is a TOML {kind}; give it a number"):
        build_pipeline(settings)


def test_nodes_and_their_components(job) -> None:
    assert list(job.jobs) == ["data_prep", "train", "evaluate"]
    assert {name: node.component.name for name, node in job.jobs.items()} == {
        "data_prep": "data_prep",
        "train": "train",
        "evaluate": "evaluate",
    }


def test_wiring(job) -> None:
    spec = local_spec(job)
    jobs = spec["jobs"]
    assert jobs["data_prep"]["inputs"]["input_data"] == {"path": "${{parent.inputs.input_data}}"}
    assert jobs["train"]["inputs"]["prepped_data"] == {"path": "${{parent.jobs.data_prep.outputs.prepped_data}}"}
    assert jobs["evaluate"]["inputs"]["model"] == {"path": "${{parent.jobs.train.outputs.model_output}}"}
    assert jobs["evaluate"]["inputs"]["prepped_data"] == {"path": "${{parent.jobs.data_prep.outputs.prepped_data}}"}
    assert jobs["evaluate"]["inputs"]["baseline_model"] == {"path": "${{parent.inputs.baseline_model}}"}
    assert jobs["train"]["outputs"]["model_output"] == "${{parent.outputs.model}}"
    assert jobs["evaluate"]["outputs"]["evaluation"] == "${{parent.outputs.evaluation}}"


def test_pipeline_inputs_types_and_defaults(job) -> None:
    settings = load_pipeline_settings(ROOT)
    assert job.inputs["input_data"].type == "uri_file"
    assert job.inputs["input_data"]._data.path == str(ROOT / "data" / "penguins.csv")
    expected_types = {
        "target_column": "string",
        "task": "string",
        "delimiter": "string",
        "encoding": "string",
        "max_classes": "integer",
        "test_size": "number",
        "seed": "integer",
        "algorithm": "string",
        "n_estimators": "integer",
        "max_depth": "integer",
        "class_weight": "string",
        "primary_metric": "string",
        "min_improvement": "number",
    }
    for name, kind in expected_types.items():
        assert job.inputs[name].type == kind, name
        assert job.inputs[name]._data == settings.inputs[name], name
    for name in ("feature_columns", "drop_columns", "threshold"):  # optional, and unset in config/pipeline.toml
        assert name not in settings.inputs
        assert name not in job.inputs or job.inputs[name]._data is None, name
        assert name in local_spec(job)["inputs"], name  # still settable: --set drop_columns=year


def test_builds_and_validates_offline(job) -> None:
    result = job._validate()
    assert result.passed, result.error_messages
    assert job.settings.default_compute == "cpu-cluster"


def test_the_local_plan_of_the_project_pipeline(job) -> None:
    plan = build_plan(local_spec(job), ROOT)
    assert plan.order() == ["data_prep", "train", "evaluate"]
    assert plan.outputs == {
        "model": Upstream("train", "model_output"),
        "evaluation": Upstream("evaluate", "evaluation"),
    }
    assert plan.steps["train"].inputs["n_estimators"] == load_pipeline_settings(ROOT).inputs["n_estimators"]
    assert "baseline_model" not in plan.steps["evaluate"].inputs  # optional and unset: its $[[...]] part is dropped
    assert "feature_columns" not in plan.steps["data_prep"].inputs
    assert plan.steps["train"].environment_variables == {"OMP_WAIT_POLICY": "PASSIVE"}


def test_column_lists_in_config_become_comma_separated_inputs(tmp_path) -> None:
    config = (ROOT / "config" / "pipeline.toml").read_text(encoding="utf-8")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "pipeline.toml").write_text(
        config.replace("[inputs]\n", '[inputs]\ndrop_columns = ["year", "sex"]\nfeature_columns = []\n'),
        encoding="utf-8",
    )
    job = build_pipeline(load_pipeline_settings(tmp_path), steps=components(ROOT / "components"))
    assert job.inputs["drop_columns"]._data == "year,sex"
    assert "feature_columns" not in job.inputs  # an empty list leaves the input unset
