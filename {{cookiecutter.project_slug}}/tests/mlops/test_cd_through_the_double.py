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

DECISION = {"promote": True, "primary_metric": "f1_macro", "value": 0.97, "threshold": 0.9, "reasons": ["ok"]}
REGISTRY = load_azure_settings("prod", default_root(), {}).ml_registry  # None when use_registry was answered no


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
