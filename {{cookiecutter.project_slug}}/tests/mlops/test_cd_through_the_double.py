"""The CD path through the CLI, the real SDK and real HTTPS, against the workspace TEST DOUBLE: dev submits and
releases, prod promotes through the registry, and a re-run of the prod stage is safe.

One double plays both workspaces (names are replaced), so every asset already exists when prod registers.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mlops import cli
from mlops.settings import AzureSettings, default_root, load_azure_settings
from mlops.workspace import sdk
from tests.azure_double.fixture import WorkspaceDouble
from tests.conftest import CliResult

pytestmark = pytest.mark.slow  # the CD path through the real SDK over HTTPS: seconds each

DECISION = {"promote": True, "primary_metric": "f1_macro", "value": 0.97, "threshold": 0.9, "reasons": ["ok"]}
DEV = load_azure_settings("dev", default_root(), {})
PROD = load_azure_settings("prod", default_root(), {})
REGISTRY = PROD.ml_registry  # None when use_registry was answered no


@pytest.fixture
def cd(workspace_double: WorkspaceDouble, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", workspace_double.subscription_id)
    for variable in ("GITHUB_OUTPUT", "TF_BUILD", "GITHUB_RUN_ID", "BUILD_BUILDID"):
        monkeypatch.delenv(variable, raising=False)

    def connect(settings: AzureSettings):
        served = dataclasses.replace(
            settings,
            resource_group=workspace_double.resource_group,
            workspace=workspace_double.workspace_name,
        )
        return sdk.connect(
            served, credential=workspace_double.credential, retry_backoff_factor=0.01, **workspace_double.client_kwargs
        )

    def run(*args: str) -> CliResult:
        code = cli.main(list(args), connect=connect)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def test_dev_releases_and_prod_promotes_twice(cd, workspace_double, tmp_path: Path) -> None:
    """With a registry, the model is shared once and a re-run finds it there; without one, nothing is shared."""
    files = {"decision.json": json.dumps(DECISION).encode(), "metrics.json": b'{"f1_macro": 0.97}'}
    workspace_double.script_job(["Running", "Completed"], outputs={"evaluation": files})
    manifest = tmp_path / "manifest.json"
    dev = cd("submit", "--env", "dev", "--wait", "--poll", "0", "--manifest", str(manifest))
    assert dev.returncode == 0, dev.stderr
    released = json.loads(manifest.read_text())
    model = released["model"]

    for said in ["shared to the registry", "already in the registry"]:
        promoted = cd("promote", "--env", "prod", "--manifest", str(manifest), "--from-env", "dev")
        assert promoted.returncode == 0, promoted.stderr
        if REGISTRY:
            uri = f"azureml://registries/{REGISTRY}/models/{model['name']}/versions/{model['version']}"
            assert f"model {said}: {uri}" in promoted.stdout
    imports = [r for r in workspace_double.requests if r.path.endswith("/import")]
    assert len(imports) == (1 if REGISTRY else 0)
    if REGISTRY:
        assert (REGISTRY, model["name"], model["version"]) in workspace_double.registry_models


def penguin_answers(request: dict) -> tuple[int, dict]:
    """What serving/score.py answers, as far as the smoke test looks: labels for rows, 400 naming a missing column."""
    table = request["input_data"]
    if not table["columns"]:
        return 400, {"message": "column 'island' is missing", "column": "island"}
    return 200, {"predictions": ["Adelie"] * len(table["data"])}


def test_cd_serves_the_released_model_in_dev_and_prod_and_a_rerun_changes_nothing(
    cd, workspace_double, tmp_path: Path
) -> None:
    evaluation = {"decision.json": json.dumps(DECISION).encode(), "metrics.json": b'{"f1_macro": 0.97}'}
    workspace_double.script_job(["Completed"], outputs={"evaluation": evaluation})
    manifest = tmp_path / "manifest.json"
    assert cd("submit", "--env", "dev", "--wait", "--poll", "0", "--manifest", str(manifest)).returncode == 0
    model = json.loads(manifest.read_text())["model"]
    deployment = f"{model['name']}-v{model['version']}"
    for version in ("1", "2"):  # dev's model, and prod's own when prod retrains
        workspace_double.script_deployment(f"{model['name']}-v{version}", answers=penguin_answers)

    dev = cd("deploy", "--env", "dev", "--manifest", str(manifest))
    assert dev.returncode == 0, dev.stderr
    assert f"{deployment} (azureml:{model['name']}:{model['version']}) now serves all of" in dev.stdout
    endpoints = {settings.environment: settings.endpoint.name for settings in (DEV, PROD)}
    scored = [(s["endpoint"], s["deployment"]) for s in workspace_double.scored]
    assert scored[0] == (endpoints["dev"], deployment)  # the new deployment alone, first

    if not REGISTRY:  # prod retrains: its job, scripted like dev's, registers prod's own model
        workspace_double.script_job(["Completed"], outputs={"evaluation": evaluation})
    assert cd("promote", "--env", "prod", "--manifest", str(manifest), "--wait", "--poll", "0").returncode == 0
    prod = cd("deploy", "--env", "prod", "--manifest", str(manifest))
    assert prod.returncode == 0, prod.stderr
    if REGISTRY:  # the very model that passed in dev, from the registry: nothing retrained in prod
        served = workspace_double.deployments[(endpoints["prod"], deployment)]["properties"]["model"]
        assert served == f"azureml://registries/{REGISTRY}/models/{model['name']}/versions/{model['version']}"
        assert len(workspace_double.jobs) == 1
    else:  # prod's own registration (the double is one workspace, so it is version 2 there)
        served = workspace_double.deployments[(endpoints["prod"], f"{model['name']}-v2")]["properties"]["model"]
        assert served.endswith(f"/models/{model['name']}/versions/2")
        assert len(workspace_double.jobs) == 2

    mark = len(workspace_double.requests)
    again = cd("deploy", "--env", "prod", "--manifest", str(manifest))
    assert "nothing changed" in again.stdout
    assert [r for r in workspace_double.requests[mark:] if r.is_write] == []


def test_a_deployment_that_answers_outside_the_contract_is_rolled_back(cd, workspace_double, tmp_path: Path) -> None:
    evaluation = {"decision.json": json.dumps(DECISION).encode(), "metrics.json": b"{}"}
    workspace_double.script_job(["Completed"], outputs={"evaluation": evaluation})
    manifest = tmp_path / "manifest.json"
    assert cd("submit", "--env", "dev", "--wait", "--poll", "0", "--manifest", str(manifest)).returncode == 0
    model = json.loads(manifest.read_text())["model"]
    deployment = f"{model['name']}-v{model['version']}"
    workspace_double.script_deployment(
        deployment, logs="init() done\nscoring: KeyError 'island'", answers=lambda request: (500, {"message": "boom"})
    )
    failed = cd("deploy", "--env", "dev", "--manifest", str(manifest))
    assert failed.returncode == 1
    assert "answered 500 to the sample request" in failed.stderr
    assert "KeyError 'island'" in failed.stderr  # the end of the deployment's log
    assert (DEV.endpoint.name, deployment) not in workspace_double.deployments
    assert workspace_double.endpoints[DEV.endpoint.name]["properties"]["traffic"] == {}
