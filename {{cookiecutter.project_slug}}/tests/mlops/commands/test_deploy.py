"""`mlops deploy`'s rollout against the in-memory fake workspace, with the smoke test scripted: the order of what
happens, and that every failure leaves the traffic where it was."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mlops.commands import deploy
from mlops.errors import MlopsError
from mlops.settings import default_root, load_azure_settings, load_pipeline_settings
from mlops.workspace.dry_run import DryRunWorkspace
from tests.mlops.fake_workspace import FakeAzure

PIPELINE = load_pipeline_settings(default_root())
DEV = load_azure_settings("dev", default_root(), {})


class Smoke:
    """A scripted smoke test: records where it was sent, fails when told to."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.fail_on: set[int] = set()  # call numbers (from 0) that fail

    def __call__(self, url: str, headers) -> None:
        self.calls.append(dict(headers))
        if len(self.calls) - 1 in self.fail_on:
            raise MlopsError("the answer is not {'predictions': [...]}")


def environment(**endpoint) -> object:
    return dataclasses.replace(DEV, endpoint=dataclasses.replace(DEV.endpoint, **endpoint))


@pytest.fixture
def fake():
    azure = FakeAzure()
    workspace = azure.connect(DEV)
    for version in ("1", "2"):
        workspace.models[("penguins-species", version)] = {"job": "j", "output": "model", "tags": {}}
    return workspace


def model(version: str) -> deploy.ModelRef:
    return deploy.ModelRef("penguins-species", version, f"azureml:penguins-species:{version}", "workspace mlw")


def run(workspace, version: str, smoke: Smoke, **endpoint) -> deploy.Rollout:
    slept: list[float] = []
    settings = environment(**endpoint)
    rollout = deploy.deploy(PIPELINE, settings, workspace, model(version), smoke, sleep=slept.append)
    rollout.slept = slept  # type: ignore[attr-defined]
    return rollout


def test_the_first_deployment_is_smoke_tested_alone_then_takes_all_traffic(fake) -> None:
    smoke = Smoke()
    rollout = run(fake, "1", smoke)
    endpoint = fake.endpoints[DEV.endpoint.name]
    assert endpoint.traffic == {"penguins-species-v1": 100}
    assert smoke.calls[0]["azureml-model-deployment"] == "penguins-species-v1"  # the deployment alone first
    assert smoke.calls[0]["Authorization"] == "Bearer fake-entra-token"
    assert "azureml-model-deployment" not in smoke.calls[-1]  # then through the endpoint
    spec = fake.specs[(DEV.endpoint.name, "penguins-species-v1")]
    assert (spec.instance_type, spec.instance_count) == (DEV.endpoint.instance_type, DEV.endpoint.instance_count)
    assert spec.code == PIPELINE.root / "serving"
    assert spec.environment.startswith("azureml:serving:")
    assert rollout.outcome is deploy.Outcome.DEPLOYED


def test_the_same_model_again_changes_nothing(fake) -> None:
    run(fake, "1", Smoke())
    writes = list(fake.writes)
    again = run(fake, "1", Smoke())
    assert again.outcome is deploy.Outcome.UNCHANGED
    assert fake.writes == writes


def test_a_new_version_takes_traffic_step_by_step_and_the_previous_is_retired(fake) -> None:
    run(fake, "1", Smoke())
    smoke = Smoke()
    rollout = run(fake, "2", smoke, traffic_steps=(10, 50, 100), step_seconds=300, keep_previous_seconds=600)
    assert [live for live, _ in fake.traffic_history[-3:]] == [
        {"penguins-species-v2": 10, "penguins-species-v1": 90},
        {"penguins-species-v2": 50, "penguins-species-v1": 50},
        {"penguins-species-v2": 100},
    ]
    assert len(smoke.calls) == 4  # the deployment alone, then after each step
    assert rollout.slept == [300, 300, 600]  # two steps below 100 %, then the previous model's grace time
    assert fake.writes[-1] == "delete deployment penguins-species-v1"
    assert set(fake.endpoints[DEV.endpoint.name].deployments) == {"penguins-species-v2"}


def test_mirrored_traffic_comes_before_live_traffic(fake) -> None:
    run(fake, "1", Smoke())
    run(fake, "2", Smoke(), mirror_percent=20, step_seconds=60)
    history = fake.traffic_history[1:]  # after the first deployment took all the traffic
    assert history[0] == ({"penguins-species-v1": 100}, {"penguins-species-v2": 20})  # a copy, answers discarded
    assert history[1] == ({"penguins-species-v1": 100}, {})
    assert history[-1] == ({"penguins-species-v2": 100}, {})


def test_a_failed_smoke_test_leaves_traffic_where_it_was(fake) -> None:
    run(fake, "1", Smoke())
    fake.logs["penguins-species-v2"] = "loading the model\nValueError: columns missing"
    smoke = Smoke()
    smoke.fail_on = {0}
    with pytest.raises(deploy.RolloutFailed) as failed:
        run(fake, "2", smoke)
    message = str(failed.value)
    assert "the smoke test of deployment penguins-species-v2 failed" in message
    assert "Traffic unchanged (penguins-species-v1 100%)" in message
    assert "ValueError: columns missing" in message  # the end of its log
    endpoint = fake.endpoints[DEV.endpoint.name]
    assert endpoint.traffic == {"penguins-species-v1": 100}
    assert set(endpoint.deployments) == {"penguins-species-v1"}
    assert failed.value.exit_code == 1


def test_a_failure_during_the_steps_moves_the_traffic_back(fake) -> None:
    run(fake, "1", Smoke())
    smoke = Smoke()
    smoke.fail_on = {2}  # alone: passes; at 10 %: passes; at 50 %: fails
    with pytest.raises(deploy.RolloutFailed, match="with 50% on penguins-species-v2 failed"):
        run(fake, "2", smoke, traffic_steps=(10, 50, 100))
    assert fake.endpoints[DEV.endpoint.name].traffic == {"penguins-species-v1": 100}
    assert "penguins-species-v2" not in fake.endpoints[DEV.endpoint.name].deployments


def test_a_failed_deployment_is_deleted_and_traffic_stays(fake) -> None:
    run(fake, "1", Smoke())
    fake.failing_deployments["penguins-species-v2"] = "ResourceNotReady: the container crashed"
    fake.logs["penguins-species-v2"] = "ModuleNotFoundError: No module named 'contract'"
    with pytest.raises(deploy.RolloutFailed) as failed:
        run(fake, "2", Smoke())
    assert "the container crashed" in str(failed.value)
    assert "No module named 'contract'" in str(failed.value)
    assert fake.endpoints[DEV.endpoint.name].traffic == {"penguins-species-v1": 100}
    assert "penguins-species-v2" not in fake.endpoints[DEV.endpoint.name].deployments


def test_delete_after_smoke_removes_the_endpoint(fake) -> None:
    rollout = run(fake, "1", Smoke(), delete_after_smoke=True)
    assert rollout.outcome is deploy.Outcome.DELETED
    assert DEV.endpoint.name not in fake.endpoints


def test_a_dry_run_plans_without_credentials(fake) -> None:
    dry = DryRunWorkspace(DEV)
    rollout = deploy.deploy(PIPELINE, DEV, dry, model("1"), Smoke())
    assert any(line.startswith(f"create endpoint {DEV.endpoint.name}") for line in dry.planned)
    assert any("create deployment penguins-species-v1" in line for line in dry.planned)
    assert any("traffic to penguins-species-v1" in event for event in rollout.events)


def test_traffic_splits_add_up_to_100() -> None:
    assert deploy.split("new", 10, {"a": 100}) == {"new": 10, "a": 90}
    assert deploy.split("new", 50, {"a": 70, "b": 30}) == {"new": 50, "a": 35, "b": 15}
    assert deploy.split("new", 33, {"a": 50, "b": 50}) == {"new": 33, "a": 34, "b": 33}
    assert deploy.split("new", 100, {"a": 100}) == {"new": 100}
    assert sum(deploy.split("new", 7, {"a": 1, "b": 1, "c": 1}).values()) == 100


def test_which_model_each_environment_serves(tmp_path: Path) -> None:
    released = {
        "manifest_version": 1,
        "rehearsal": False,
        "workspace": DEV.workspace,
        "pipeline_job": "j",
        "model": {"name": "penguins-species", "version": "4"},
        "components": {},
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(released))
    assert deploy.model_to_deploy(DEV, path, None, False).uri == "azureml:penguins-species:4"
    prod = load_azure_settings("prod", default_root(), {})
    if prod.ml_registry:
        expected = f"azureml://registries/{prod.ml_registry}/models/penguins-species/versions/4"
        assert deploy.model_to_deploy(prod, path, None, False).uri == expected
    else:
        with pytest.raises(MlopsError, match="run `mlops promote --env prod"):
            deploy.model_to_deploy(prod, path, None, False)
        path.write_text(json.dumps({**released, "promoted": {"prod": {"model": {"name": "p", "version": "1"}}}}))
        assert deploy.model_to_deploy(prod, path, None, False).uri == "azureml:p:1"
    assert deploy.model_to_deploy(prod, None, "other:9", False).uri == "azureml:other:9"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"traffic_steps": [10, 50]}, "must end at 100"),
        ({"traffic_steps": [50, 10, 100]}, "expected rising percentages"),
        ({"instance_count": 0}, "instance_count 0: expected a whole number of at least 1"),
        ({"instance_count": True}, "instance_count True: expected a whole number"),
        ({"instance_type": 3}, "instance_type 3: expected a VM size"),
        ({"delete_after_smoke": "yes"}, "delete_after_smoke 'yes': expected true or false"),
        ({"mirror_percent": 60}, "Azure ML mirrors 0 to 50 percent"),
        ({"step_seconds": -1}, "step_seconds -1: expected seconds"),
        ({"instanse_type": "x"}, "unknown keys: instanse_type"),
    ],
)
def test_a_rollout_that_cannot_work_is_refused_in_the_settings(tmp_path: Path, options: dict, message: str) -> None:
    import shutil
    import tomllib

    shutil.copytree(default_root() / "config", tmp_path / "config")
    path = tmp_path / "config" / "environments.toml"
    table = tomllib.loads(path.read_text())["dev"]["endpoint"]
    lines = [f"{key} = {json.dumps(value)}" for key, value in {**table, **options}.items()]
    text = path.read_text()
    start = text.index("[dev.endpoint]")
    end = text.index("\n[", start + 1)
    path.write_text(text[:start] + "[dev.endpoint]\n" + "\n".join(lines) + "\n" + text[end:])
    with pytest.raises(MlopsError, match=message):
        load_azure_settings("dev", tmp_path, {})
