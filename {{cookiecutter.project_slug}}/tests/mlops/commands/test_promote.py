"""`mlops promote`: exactly what passed in dev, to prod; a checkout that differs is refused."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mlops.settings import default_root, load_azure_settings
from tests.conftest import copy_project
from tests.mlops.commands.test_submit import evaluation

PROD = load_azure_settings("prod", default_root(), {})


def released(azure, tmp_path: Path) -> dict:
    azure.workspace("dev").script_job(["Completed"], outputs=evaluation())
    manifest = tmp_path / "manifest.json"
    result = azure.run("submit", "--env", "dev", "--wait", "--poll", "0", "--manifest", str(manifest))
    assert result.returncode == 0, result.stderr
    return json.loads(manifest.read_text())


def test_prod_gets_what_passed_in_dev(azure, tmp_path: Path) -> None:
    """With a registry: the dev model itself, shared, nothing retrained. Without: prod retrains with the released
    versions, and the model its evaluation passed is recorded in the manifest for `mlops deploy`."""
    manifest = released(azure, tmp_path)
    model = manifest["model"]
    prod = azure.workspace("prod")
    if not PROD.ml_registry:
        prod.script_job(["Completed"], outputs=evaluation())
    result = azure.run(
        "promote", "--env", "prod", "--manifest", str(tmp_path / "manifest.json"), "--wait", "--poll", "0"
    )
    assert result.returncode == 0, result.stderr
    assert f"promoting {model['name']} version {model['version']} from job {manifest['pipeline_job']}" in result.stdout
    if PROD.ml_registry:
        assert (model["name"], model["version"]) in azure.fake.registries[PROD.ml_registry]
        assert prod.jobs == {}, "prod retrained although the model came through the registry"
        assert "nothing retrained" in result.stdout
        return
    (fake_job,) = prod.jobs.values()
    for step, component in manifest["components"].items():
        node = fake_job.job.jobs[step]
        assert (node.component.name, node.component.version) == (component["name"], component["version"])
    assert fake_job.job.tags["environment"] == "prod"
    recorded = json.loads((tmp_path / "manifest.json").read_text())["promoted"]["prod"]
    assert recorded == {"pipeline_job": fake_job.job.name, "model": {"name": model["name"], "version": "1"}}


def test_without_a_registry_a_prod_evaluation_that_does_not_promote_fails_the_stage(azure, tmp_path: Path) -> None:
    if PROD.ml_registry:
        return  # prod evaluates nothing: it serves the dev model
    released(azure, tmp_path)
    azure.workspace("prod").script_job(["Completed"], outputs=evaluation({"promote": False, "reasons": ["r2 low."]}))
    result = azure.run(
        "promote", "--env", "prod", "--manifest", str(tmp_path / "manifest.json"), "--wait", "--poll", "0"
    )
    assert result.returncode == 2
    assert "its evaluation did not promote the model: r2 low." in result.stderr
    assert "promoted" not in json.loads((tmp_path / "manifest.json").read_text())


def test_a_checkout_that_differs_from_the_manifest_is_refused(azure, tmp_path: Path) -> None:
    manifest = released(azure, tmp_path)
    manifest["components"]["train"]["version"] = "0" * 16
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    result = azure.run("promote", "--env", "prod", "--manifest", str(tmp_path / "manifest.json"))
    assert result.returncode == 2
    assert f"train: manifest {'0' * 16}, checkout" in result.stderr
    assert f"check out commit {manifest['commit']}" in result.stderr
    assert azure.workspace("prod").writes == []


def test_a_dev_run_that_promoted_nothing_has_nothing_to_promote(azure, tmp_path: Path) -> None:
    decision = {"promote": False, "reasons": ["f1_macro 0.5 is below the threshold 0.9"]}
    azure.workspace("dev").script_job(["Completed"], outputs=evaluation(decision))
    manifest = tmp_path / "manifest.json"
    azure.run("submit", "--env", "dev", "--wait", "--poll", "0", "--manifest", str(manifest))
    result = azure.run("promote", "--env", "prod", "--manifest", str(manifest))
    assert result.returncode == 2
    assert "promoted no model: nothing to promote. f1_macro 0.5 is below" in result.stderr


def test_the_whole_cd_path_rehearses_offline(azure, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    assert azure.run("submit", "--env", "dev", "--dry-run", "--manifest", str(manifest)).returncode == 0
    rehearsed = azure.run("promote", "--env", "prod", "--manifest", str(manifest), "--dry-run")
    assert rehearsed.returncode == 0, rehearsed.stderr
    assert ("would be shared to the registry" if PROD.ml_registry else "Would submit to") in rehearsed.stdout
    deployed = azure.run("deploy", "--env", "prod", "--manifest", str(manifest), "--dry-run")
    if PROD.ml_registry:  # without one, prod's own model exists only after a real promotion
        assert deployed.returncode == 0, deployed.stderr
        assert "creating deployment" in deployed.stdout
    assert azure.fake.workspaces == {}, "a dry run connected to a workspace"

    refused = azure.run("promote", "--env", "prod", "--manifest", str(manifest))
    assert refused.returncode == 2
    assert "was written by a dry run" in refused.stderr


def test_the_share_is_retried_while_the_role_prods_infra_just_granted_takes_effect(
    azure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """With a registry, prod's CD stage deploys infra/ (which grants AzureML Registry User on the registry), then
    shares the model through dev's workspace: that connection retries 403s for prod's window, not only dev's."""
    from mlops import cli
    from mlops.commands.infra import ROLE_PROPAGATION, Deployment, record_deployment
    from mlops.workspace import sdk

    project = copy_project(tmp_path / "project")
    config = project / "config" / "environments.toml"
    if not PROD.ml_registry:  # the answer this project was generated with: give prod a registry here
        config.write_text(config.read_text().replace("[prod]\n", '[prod]\nml_registry = "mlr-test"\n', 1))
    windows: dict[str, float | None] = {}

    def connect(settings, permissions_settle_by=None, **_):
        windows[settings.environment] = permissions_settle_by
        return azure.fake.connect(settings)

    monkeypatch.setattr(sdk, "connect", connect)
    azure.fake.connect(load_azure_settings("dev", project, {})).script_job(["Completed"], outputs=evaluation())
    manifest = str(tmp_path / "manifest.json")
    assert cli.main(["submit", "--env", "dev", "--wait", "--poll", "0", "--manifest", manifest], root=project) == 0
    assert windows == {"dev": None}  # no infra/ deployed from this checkout: a 403 is an error at once

    deployed_at = time.time()
    record_deployment(project, Deployment("infra-prod", "rg-prod", ()), "prod", now=deployed_at)
    assert cli.main(["promote", "--env", "prod", "--manifest", manifest, "--wait", "--poll", "0"], root=project) == 0
    assert "model shared to the registry" in capsys.readouterr().out
    assert windows == {"dev": deployed_at + ROLE_PROPAGATION, "prod": deployed_at + ROLE_PROPAGATION}
