"""The CD path through the CLI, the real SDK and real HTTPS, against the workspace TEST DOUBLE: dev submits, releases
and deploys; prod promotes and deploys; re-runs are safe; a failed rollout leaves the traffic where it was.

Both promotion paths run in every bake, whatever `use_registry` was answered: the CLI works on a scratch copy of the
project whose config has (or lacks) the Azure ML registry. One double plays both workspaces (names are replaced), so
every asset already exists when prod registers.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from mlops import cli, naming
from mlops.settings import AzureSettings, default_root, load_azure_settings, read_toml
from mlops.workspace import sdk
from tests.azure_double.fixture import WorkspaceDouble
from tests.conftest import CliResult, copy_project

pytestmark = pytest.mark.slow  # the CD path through the real SDK over HTTPS: seconds each

DECISION = {"promote": True, "primary_metric": "f1_macro", "value": 0.97, "threshold": 0.9, "reasons": ["ok"]}
EVALUATION = {"decision.json": json.dumps(DECISION).encode(), "metrics.json": b'{"f1_macro": 0.97}'}
# What `mlops submit|promote|deploy` read from the project; the rest (mlops/, tests/) is imported from this one.
READ_BY_THE_CLI = ("components", "config", "data", "serving")
REGISTRY_LINE = re.compile(r"^ml_registry\s*=.*\n", re.MULTILINE)


def project_with_registry(destination: Path, registry: bool) -> Path:
    """A scratch copy of this project whose environments have an Azure ML registry (the one `use_registry=yes`
    names, derived from the resource prefix) or none."""
    copy_project(destination, READ_BY_THE_CLI)
    config = destination / "config" / "environments.toml"
    text = REGISTRY_LINE.sub("", config.read_text(encoding="utf-8"))
    if registry:
        prefix = read_toml(config)["resource_prefix"]
        for environment in naming.ENVIRONMENTS:
            line = f'ml_registry = "{naming.derive_names(prefix, environment)["ml_registry"]}"\n'
            text = text.replace(f"[{environment}]\n", f"[{environment}]\n{line}", 1)
    config.write_text(text, encoding="utf-8")
    assert bool(load_azure_settings("prod", destination, {}).ml_registry) is registry
    return destination


@pytest.fixture
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The project the CLI works on: with a registry or without (parametrized), or as this bake answered."""
    registry = getattr(request, "param", None)
    if registry is None:
        return default_root()
    return project_with_registry(tmp_path / "project", registry)


both_promotion_paths = pytest.mark.parametrize("project", [True, False], ids=["registry", "no-registry"], indirect=True)


@pytest.fixture
def cd(project: Path, workspace_double: WorkspaceDouble, monkeypatch: pytest.MonkeyPatch, capsys):
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
        code = cli.main(list(args), root=project, connect=connect)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def released(cd, workspace_double: WorkspaceDouble, manifest: Path) -> dict:
    """The dev stage: a pipeline job whose evaluation passes, and the release manifest it writes; returns the model."""
    workspace_double.script_job(["Running", "Completed"], outputs={"evaluation": EVALUATION})
    dev = cd("submit", "--env", "dev", "--wait", "--poll", "0", "--manifest", str(manifest))
    assert dev.returncode == 0, dev.stderr
    return json.loads(manifest.read_text())["model"]


def penguin_answers(request: dict) -> tuple[int, dict]:
    """What serving/score.py answers, as far as the smoke test looks: labels for rows, 400 naming a missing column."""
    table = request["input_data"]
    if not table["columns"]:
        return 400, {"message": "column 'island' is missing", "column": "island"}
    return 200, {"predictions": ["Adelie"] * len(table["data"])}


@both_promotion_paths
def test_dev_releases_and_prod_promotes_twice(cd, project, workspace_double, tmp_path: Path) -> None:
    """With a registry, the model is shared once and a re-run finds it there, nothing retrained; without one,
    nothing is shared and each run of the prod stage retrains."""
    registry = load_azure_settings("prod", project, {}).ml_registry
    manifest = tmp_path / "manifest.json"
    model = released(cd, workspace_double, manifest)

    for said in ["shared to the registry", "already in the registry"]:
        promoted = cd("promote", "--env", "prod", "--manifest", str(manifest), "--from-env", "dev")
        assert promoted.returncode == 0, promoted.stderr
        if registry:
            uri = f"azureml://registries/{registry}/models/{model['name']}/versions/{model['version']}"
            assert f"model {said}: {uri}" in promoted.stdout
            assert "nothing retrained" in promoted.stdout
    imports = [r for r in workspace_double.requests if r.path.endswith("/import")]
    if registry:
        assert len(imports) == 1
        assert list(workspace_double.registry_models) == [(registry, model["name"], model["version"])]
        assert len(workspace_double.jobs) == 1  # dev's only
    else:
        assert imports == []
        assert workspace_double.registry_models == {}
        assert len(workspace_double.jobs) == 3  # dev's, and prod's retraining at each run


@both_promotion_paths
def test_cd_serves_the_released_model_in_dev_and_prod_and_a_rerun_changes_nothing(
    cd, project, workspace_double, tmp_path: Path
) -> None:
    """Prod serves the very model that passed in dev, from the registry, with nothing retrained; or, without a
    registry, the model prod retrained with the released versions, gated on its own evaluation and registered."""
    endpoints = {env: load_azure_settings(env, project, {}).endpoint.name for env in ("dev", "prod")}
    registry = load_azure_settings("prod", project, {}).ml_registry
    manifest = tmp_path / "manifest.json"
    model = released(cd, workspace_double, manifest)
    deployment = f"{model['name']}-v{model['version']}"
    for version in ("1", "2"):  # dev's model, and prod's own when prod retrains
        workspace_double.script_deployment(f"{model['name']}-v{version}", answers=penguin_answers)

    dev = cd("deploy", "--env", "dev", "--manifest", str(manifest))
    assert dev.returncode == 0, dev.stderr
    assert f"{deployment} (azureml:{model['name']}:{model['version']}) now serves all of" in dev.stdout
    scored = [(s["endpoint"], s["deployment"]) for s in workspace_double.scored]
    assert scored[0] == (endpoints["dev"], deployment)  # the new deployment alone, first

    if not registry:  # prod retrains: its job, scripted like dev's, passes its own gate
        workspace_double.script_job(["Completed"], outputs={"evaluation": EVALUATION})
    promoted = cd("promote", "--env", "prod", "--manifest", str(manifest), "--wait", "--poll", "0")
    assert promoted.returncode == 0, promoted.stderr
    prod = cd("deploy", "--env", "prod", "--manifest", str(manifest))
    assert prod.returncode == 0, prod.stderr
    if registry:  # the very model that passed in dev, from the registry: nothing retrained in prod
        served = workspace_double.deployments[(endpoints["prod"], deployment)]["properties"]["model"]
        assert served == f"azureml://registries/{registry}/models/{model['name']}/versions/{model['version']}"
        assert len(workspace_double.jobs) == 1
        assert "promoted" not in json.loads(manifest.read_text())
    else:  # prod's own registration (the double is one workspace, so it is version 2 there)
        assert f"model: registered {model['name']} version 2" in promoted.stdout
        own = json.loads(manifest.read_text())["promoted"]["prod"]["model"]
        assert own == {"name": model["name"], "version": "2"}
        served = workspace_double.deployments[(endpoints["prod"], f"{model['name']}-v2")]["properties"]["model"]
        assert served.endswith(f"/models/{model['name']}/versions/2")
        assert len(workspace_double.jobs) == 2
        assert workspace_double.registry_models == {}
    assert [e for e, _ in workspace_double.deployments].count(endpoints["prod"]) == 1

    mark = len(workspace_double.requests)
    again = cd("deploy", "--env", "prod", "--manifest", str(manifest))
    assert "nothing changed" in again.stdout
    assert [r for r in workspace_double.requests[mark:] if r.is_write] == []


def test_a_deployment_that_answers_outside_the_contract_is_rolled_back(
    cd, project, workspace_double, tmp_path: Path
) -> None:
    endpoint = load_azure_settings("dev", project, {}).endpoint.name
    manifest = tmp_path / "manifest.json"
    model = released(cd, workspace_double, manifest)
    deployment = f"{model['name']}-v{model['version']}"
    workspace_double.script_deployment(
        deployment, logs="init() done\nscoring: KeyError 'island'", answers=lambda request: (500, {"message": "boom"})
    )
    failed = cd("deploy", "--env", "dev", "--manifest", str(manifest))
    assert failed.returncode == 1
    assert "answered 500 to the sample request" in failed.stderr
    assert "KeyError 'island'" in failed.stderr  # the end of the deployment's log
    assert (endpoint, deployment) not in workspace_double.deployments
    assert workspace_double.endpoints[endpoint]["properties"]["traffic"] == {}


def test_a_deployment_that_fails_to_provision_is_deleted_and_the_serving_model_keeps_its_traffic(
    cd, project, workspace_double, tmp_path: Path
) -> None:
    """A new release whose deployment Azure ML cannot start: the release before it goes on serving all requests."""
    endpoint = load_azure_settings("dev", project, {}).endpoint.name
    first = released(cd, workspace_double, tmp_path / "first.json")
    serving = f"{first['name']}-v{first['version']}"
    workspace_double.script_deployment(serving, answers=penguin_answers)
    assert cd("deploy", "--env", "dev", "--manifest", str(tmp_path / "first.json")).returncode == 0
    assert workspace_double.endpoints[endpoint]["properties"]["traffic"] == {serving: 100}

    second = released(cd, workspace_double, tmp_path / "second.json")
    new = f"{second['name']}-v{second['version']}"
    assert new != serving
    workspace_double.script_deployment(
        new,
        fails="ResourceNotReady: User container has crashed or terminated",
        logs="\n".join([f"startup line {n}" for n in range(60)] + ["ModuleNotFoundError: No module named 'lightgbm'"]),
    )
    failed = cd("deploy", "--env", "dev", "--manifest", str(tmp_path / "second.json"))
    assert failed.returncode == 1
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, failed.stderr
    assert "User container has crashed or terminated" in errors[0]
    assert f"Traffic unchanged ({serving} 100%); deployment {new} deleted" in errors[0]
    assert "No module named 'lightgbm'" in failed.stderr  # the end of its log
    assert "startup line 59" in failed.stderr
    assert "startup line 0\n" not in failed.stderr  # the tail, not the whole log
    assert "Traceback" not in failed.stderr
    assert (endpoint, new) not in workspace_double.deployments
    assert (endpoint, serving) in workspace_double.deployments
    assert workspace_double.endpoints[endpoint]["properties"]["traffic"] == {serving: 100}
