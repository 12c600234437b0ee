"""The SDK adapter (mlops/workspace/sdk.py) through the real azure-ai-ml over HTTPS, against the workspace TEST
DOUBLE (tests/azure_double): every SDK call the adapter makes, at least once, and the errors it translates.

Commands are tested against the in-memory fake (tests/mlops/commands/); these tests prove that the adapter keeps the
fake's contract when Azure's API is on the other end.
"""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from mlops import evaluation, provenance
from mlops.assets import release_assets
from mlops.azure_job import pipeline_job
from mlops.commands.register import register
from mlops.errors import MlopsError
from mlops.settings import default_root, load_azure_settings, load_pipeline_settings
from mlops.workspace import Action, JobStatus, sdk
from tests.azure_double.fixture import WorkspaceDouble

pytestmark = pytest.mark.slow  # the adapter's contract, through the real SDK over HTTPS: seconds each

DECISION = {"promote": True, "primary_metric": "f1_macro", "value": 0.97, "threshold": 0.9, "reasons": ["ok"]}
METRICS = {"accuracy": 0.98, "f1_macro": 0.97}


@pytest.fixture
def adapter(workspace_double: WorkspaceDouble):
    """The adapter for `dev`, pointed at the double, with retries fast enough for tests."""
    settings = dataclasses.replace(
        load_azure_settings("dev", default_root(), {"AZURE_SUBSCRIPTION_ID": workspace_double.subscription_id}),
        resource_group=workspace_double.resource_group,
        workspace=workspace_double.workspace_name,
    )
    yield sdk.connect(
        settings, credential=workspace_double.credential, retry_backoff_factor=0.01, **workspace_double.client_kwargs
    )
    assert workspace_double.foreign_hosts == [], "a request left the machine"
    assert workspace_double.errors == [], workspace_double.errors
    assert [(r.method, r.path) for r in workspace_double.unknown] == []


def assets(adapter):
    return release_assets(load_pipeline_settings(default_root()), adapter.settings)


def submitted(adapter, workspace_double: WorkspaceDouble):
    """Register the release assets and submit the project's pipeline: the job as the double stored it."""
    released = assets(adapter)
    register(released, adapter)
    pipeline = load_pipeline_settings(default_root())
    job = pipeline_job(pipeline, adapter.settings, released, adapter, provenance.tags(pipeline.root, "dev"))
    state = adapter.submit(job)
    return state, workspace_double.jobs[state.name]


def test_registering_uploads_once_and_a_lookup_finds_every_asset(adapter, workspace_double, capsys) -> None:
    released = assets(adapter)
    assert not any(adapter.exists(asset) for asset in released.all())
    assert [adapter.register(asset) for asset in released.all()] == [Action.REGISTERED] * 5
    assert all(adapter.exists(asset) for asset in released.all())
    assert workspace_double.bytes_uploaded() > 0
    assert capsys.readouterr() == ("", "")  # not the colour reset and blank lines the SDK prints after each upload
    for step, asset in released.components.items():
        fetched = adapter.component(asset)
        assert (fetched.name, fetched.version) == (asset.versioned.name, asset.versioned.version), step


def test_the_submitted_job_references_components_and_data_by_name_and_version(adapter, workspace_double) -> None:
    state, stored = submitted(adapter, workspace_double)
    assert state.status is JobStatus.NOT_STARTED
    properties = stored["properties"]
    released = assets(adapter)
    for step, asset in released.components.items():
        component_id = properties["jobs"][step]["componentId"]
        assert component_id.endswith(f"/components/{asset.versioned.name}/versions/{asset.versioned.version}")
    body = json.dumps(properties)
    assert "@latest" not in body
    assert "azureml_anonymous" not in body
    assert properties["experimentName"] == adapter.settings.experiment
    assert properties["settings"]["default_compute"].endswith(adapter.settings.compute)
    data = released.data.versioned
    assert properties["inputs"]["input_data"]["uri"].endswith(f"/data/{data.name}/versions/{data.version}")


def test_states_follow_the_job_and_its_steps(adapter, workspace_double) -> None:
    workspace_double.script_job(["Running", "Completed"])
    state, _ = submitted(adapter, workspace_double)
    running = adapter.state(state.name)
    assert running.status is JobStatus.RUNNING
    assert set(running.steps) == {"data_prep", "train", "evaluate"}
    assert adapter.state(state.name).status is JobStatus.COMPLETED


def test_a_failed_job_reports_the_reason_azure_ml_recorded(adapter, workspace_double) -> None:
    workspace_double.script_job(["Failed"], error="train.py exited with code 1")
    state, _ = submitted(adapter, workspace_double)
    assert adapter.state(state.name).status is JobStatus.FAILED
    assert adapter.failure(state.name) == "train.py exited with code 1"


def test_cancel_stops_the_job(adapter, workspace_double) -> None:
    workspace_double.script_job(["Running"])
    state, _ = submitted(adapter, workspace_double)
    adapter.cancel(state.name)
    assert adapter.state(state.name).status is JobStatus.CANCELED
    adapter.cancel("never_created")  # stopped before the job existed: nothing to cancel, no error


def test_the_evaluation_is_downloaded_and_the_model_registered_from_the_job(adapter, workspace_double) -> None:
    files = {"decision.json": json.dumps(DECISION).encode(), "metrics.json": json.dumps(METRICS).encode()}
    workspace_double.script_job(["Completed"], outputs={"evaluation": files})
    state, _ = submitted(adapter, workspace_double)
    adapter.state(state.name)
    verdict = evaluation.read(adapter, state.name)
    assert (dict(verdict.decision), dict(verdict.metrics)) == (DECISION, METRICS)

    version = evaluation.register_model(adapter, "churn", state.name, verdict, {"git_commit": "abc"})
    properties = workspace_double.models[f"churn:{version}"]["properties"]
    assert properties["modelType"] == "mlflow_model"
    assert properties["modelUri"].endswith(f"jobs/{state.name}/outputs/model")
    assert properties["tags"]["pipeline_job"] == state.name
    assert properties["tags"]["metric_f1_macro"] == "0.97"


def test_compute_and_validation_read_the_workspace(adapter, workspace_double) -> None:
    compute = adapter.settings.compute
    with pytest.raises(MlopsError, match=r"not found in workspace mlw-test\. Deploy the infrastructure"):
        adapter.compute(compute)
    workspace_double.add_compute(compute, max_nodes=4)
    assert adapter.compute(compute) == f"{compute}: amlcompute, Standard_DS3_v2, 0-4 nodes"
    from mlops.pipeline import build_pipeline

    job = build_pipeline(load_pipeline_settings(default_root()), compute=adapter.settings.compute)
    assert adapter.validate_pipeline(job) == []
    assert workspace_double.writes() == []


def test_the_schedule_runs_registered_components(adapter, workspace_double) -> None:
    released = assets(adapter)
    register(released, adapter)
    pipeline = load_pipeline_settings(default_root())
    refreshed = "azureml://datastores/workspaceblobstore/paths/training/latest.csv"
    job = pipeline_job(pipeline, adapter.settings, released, adapter, {"trigger": "schedule"}, scheduled_on=refreshed)
    assert adapter.schedule("retraining", job, "0 3 * * 1") == "retraining"
    (schedule,) = workspace_double.schedules.values()
    assert schedule["properties"]["trigger"]["expression"] == "0 3 * * 1"
    stored = schedule["properties"]["action"]["jobDefinition"]
    assert all("componentId" in node for node in stored["jobs"].values())
    # As the SDK sends them: each run reads the file as it is then, reruns every step, writes under its own name.
    assert stored["inputs"]["input_data"]["uri"] == refreshed
    assert stored["settings"]["force_rerun"] is True
    assert "/${{name}}/evaluation/" in stored["outputs"]["evaluation"]["uri"]


def test_an_authentication_failure_says_how_to_sign_in(adapter, workspace_double) -> None:
    workspace_double.fail_next(r"/environments/", 401, times=5)
    with pytest.raises(MlopsError) as raised:
        adapter.exists(assets(adapter).environment)
    for hint in ("az login", "id-token: write", "AZURE_CLIENT_ID", "AzureCLI@2", "SYSTEM_ACCESSTOKEN"):
        assert hint in str(raised.value)


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_and_unavailability_are_retried(adapter, workspace_double, status: int) -> None:
    workspace_double.fail_next(r"/components/", status, times=2)
    register(assets(adapter), adapter)
    answered = [r.status for r in workspace_double.requests if "/components/" in r.path]
    assert answered[:2] == [status, status]


def test_terminal_states_are_azure_ml_s(adapter) -> None:
    """One table of terminal states, checked against the SDK's own (an independent source)."""
    from azure.ai.ml.operations._run_history_constants import RunHistoryConstants

    from mlops.workspace.interface import TERMINAL

    assert {status.value for status in TERMINAL} - {JobStatus.NOT_SUBMITTED.value} == set(
        RunHistoryConstants.TERMINAL_STATUSES
    )


def test_a_storage_403_names_the_storage_role_and_the_propagation_delay(adapter, workspace_double) -> None:
    workspace_double.fail_next(r"\.blob\.core\.windows\.net/", 403, times=1)
    with pytest.raises(MlopsError) as raised:
        register(assets(adapter), adapter)
    message = str(raised.value)
    assert f"Storage Blob Data Contributor on storage account {adapter.settings.storage_account}" in message
    assert "AzureML Data Scientist" not in message
    assert "up to 10 minutes" in message


def test_a_workspace_403_names_the_workspace_role(adapter, workspace_double) -> None:
    workspace_double.fail_next(r"/environments/", 403, times=1)
    with pytest.raises(MlopsError, match=f"AzureML Data Scientist on workspace {adapter.settings.workspace}"):
        adapter.exists(assets(adapter).environment)


def test_right_after_roles_were_assigned_403s_are_retried_until_they_clear(workspace_double) -> None:
    """CD deploys infra/ (role assignments) and uses them seconds later; Azure applies them within 10 minutes."""
    progress: list[str] = []
    slept: list[float] = []
    now = [1000.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    settings = dataclasses.replace(
        load_azure_settings("dev", default_root(), {"AZURE_SUBSCRIPTION_ID": workspace_double.subscription_id}),
        resource_group=workspace_double.resource_group,
        workspace=workspace_double.workspace_name,
    )
    client = sdk.connect(
        settings, credential=workspace_double.credential, retry_backoff_factor=0.01, **workspace_double.client_kwargs
    ).client
    workspace = sdk.AzureWorkspace(
        settings,
        client,
        permissions_settle_by=1000.0 + 600,
        progress=progress.append,
        clock=lambda: now[0],
        sleep=sleep,
    )
    workspace_double.fail_next(r"\.blob\.core\.windows\.net/", 403, times=2)
    workspace_double.fail_next(r"/components/", 403, times=3)
    assert [r.action for r in register(assets(workspace), workspace)] == [Action.REGISTERED] * 5
    assert len(progress) == 5
    assert all("can take up to 10 minutes" in line and "retrying in 20 s" in line for line in progress)
    assert slept == [20.0] * 5

    workspace_double.fail_next(r"/environments/", 403, times=100)  # a role that never arrives: bounded
    with pytest.raises(MlopsError, match="AzureML Data Scientist"):
        workspace.exists(assets(workspace).environment)
    assert now[0] <= 1000.0 + 600 + 20


def test_sharing_to_the_registry_twice_shares_once(adapter, workspace_double) -> None:
    """A re-run prod stage shares again: the registry's model is found and kept, not a crash."""
    files = {"decision.json": json.dumps(DECISION).encode(), "metrics.json": json.dumps(METRICS).encode()}
    workspace_double.script_job(["Completed"], outputs={"evaluation": files})
    state, _ = submitted(adapter, workspace_double)
    adapter.state(state.name)
    version = evaluation.register_model(adapter, "churn", state.name, evaluation.read(adapter, state.name), {})

    assert adapter.share_model("churn", version, "mlr-test") is Action.REGISTERED
    assert ("mlr-test", "churn", version) in workspace_double.registry_models
    imports = [r for r in workspace_double.requests if r.path.endswith("/registries/mlr-test/import")]
    assert len(imports) == 1
    assert adapter.share_model("churn", version, "mlr-test") is Action.EXISTS
    assert len([r for r in workspace_double.requests if r.path.endswith("/import")]) == 1


def test_sharing_a_model_the_workspace_does_not_have_is_one_clear_error(adapter) -> None:
    with pytest.raises(MlopsError, match="sharing model ghost:7 to registry mlr-test"):
        adapter.share_model("ghost", "7", "mlr-test")


# --- managed online endpoints ---


def deployment_spec(adapter, name: str = "churn-v1", model: str = "azureml:churn:1"):
    from mlops.assets import serving_environment
    from mlops.workspace import DeploymentSpec

    environment = serving_environment(default_root())
    if not adapter.exists(environment):
        adapter.register(environment)
    return DeploymentSpec(
        endpoint="ep-test-dev",
        name=name,
        model=model,
        environment=environment.reference,
        code=default_root() / "serving",
        scoring_script="score.py",
        instance_type="Standard_DS3_v2",
        instance_count=1,
        tags={"model": model},
    )


def registered_model(adapter, workspace_double, name: str = "churn") -> str:
    files = {"decision.json": json.dumps(DECISION).encode(), "metrics.json": json.dumps(METRICS).encode()}
    workspace_double.script_job(["Completed"], outputs={"evaluation": files})
    state, _ = submitted(adapter, workspace_double)
    adapter.state(state.name)
    return evaluation.register_model(adapter, name, state.name, evaluation.read(adapter, state.name), {})


class Narration(logging.Handler):
    """What reaches the SDK logger's own stderr handler (it does not propagate to the root logger, so caplog misses
    it)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def narration():
    handler = Narration()
    logging.getLogger("azure.ai.ml").addHandler(handler)
    yield handler
    logging.getLogger("azure.ai.ml").removeHandler(handler)


def test_an_endpoint_deployment_traffic_and_its_deletion(adapter, workspace_double, narration, capsys) -> None:
    version = registered_model(adapter, workspace_double)
    capsys.readouterr()
    narration.lines.clear()
    assert adapter.endpoint("ep-test-dev") is None
    created = adapter.create_endpoint("ep-test-dev")
    assert created.scoring_uri.endswith("/endpoints/ep-test-dev/score")
    assert workspace_double.endpoints["ep-test-dev"]["properties"]["authMode"] == "AADToken"

    workspace_double.script_deployment("churn-v1", logs="model loaded\nready")
    adapter.create_deployment(deployment_spec(adapter, model=f"azureml:churn:{version}"))
    stored = workspace_double.deployments[("ep-test-dev", "churn-v1")]
    assert stored["properties"]["model"].endswith(f"/models/churn/versions/{version}")
    assert stored["properties"]["codeConfiguration"]["scoringScript"] == "score.py"
    assert stored["sku"]["capacity"] == 1
    state = adapter.endpoint("ep-test-dev")
    assert state.traffic == {}
    assert state.deployments["churn-v1"].ready

    adapter.set_traffic("ep-test-dev", {"churn-v1": 100}, {})
    assert adapter.endpoint("ep-test-dev").traffic == {"churn-v1": 100}
    assert adapter.deployment_logs("ep-test-dev", "churn-v1", 1) == "ready"
    with pytest.raises(MlopsError, match="has 100% of the traffic"):  # Azure refuses; so does the double
        adapter.delete_deployment("ep-test-dev", "churn-v1")
    adapter.delete_endpoint("ep-test-dev")
    assert adapter.endpoint("ep-test-dev") is None
    # The SDK narrates its operations ("Check: endpoint ... exists"), prints a colour reset after each upload and dots
    # as it polls: none of it between our lines.
    assert (narration.lines, *capsys.readouterr()) == ([], "", "")


def test_a_deployment_azure_ml_fails_is_a_failed_rollout_not_a_crash(adapter, workspace_double) -> None:
    from mlops.workspace import DeploymentFailed

    version = registered_model(adapter, workspace_double)
    adapter.create_endpoint("ep-test-dev")
    workspace_double.script_deployment("churn-v1", fails="ResourceNotReady: the scoring script's init() raised")
    with pytest.raises(DeploymentFailed, match="init\\(\\) raised") as failed:
        adapter.create_deployment(deployment_spec(adapter, model=f"azureml:churn:{version}"))
    assert failed.value.exit_code == 1


def test_the_scoring_uri_takes_an_entra_token_for_azure_ml(adapter, workspace_double) -> None:
    import requests

    version = registered_model(adapter, workspace_double)
    adapter.create_endpoint("ep-test-dev")
    adapter.create_deployment(deployment_spec(adapter, model=f"azureml:churn:{version}"))
    url = adapter.endpoint("ep-test-dev").scoring_uri
    body = {"input_data": {"columns": ["a"], "data": [[1], [2]]}}
    headers = {"azureml-model-deployment": "churn-v1"}
    assert requests.post(url, json=body, headers=headers, timeout=10).status_code == 401
    token = adapter.scoring_token("ep-test-dev")
    answered = requests.post(url, json=body, headers={**headers, "Authorization": f"Bearer {token}"}, timeout=10)
    assert answered.json() == {"predictions": [0, 0]}
    workspace_token = workspace_double.credential.get_token(f"{workspace_double.url}/.default").token
    assert (
        requests.post(url, json=body, headers={"Authorization": f"Bearer {workspace_token}"}, timeout=10).status_code
        == 401
    )
