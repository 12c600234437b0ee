"""The Azure ML workspace test double, driven by the real azure-ai-ml SDK over HTTPS on 127.0.0.1 (no SDK mocks)."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
import requests
from azure.ai.ml import MLClient, load_component, load_environment, load_job
from azure.ai.ml.entities import CronTrigger, Data, JobSchedule, Model
from azure.ai.ml.exceptions import JobException
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from tests.azure_double import fixture
from tests.azure_double.server import (
    DEFAULT_CONTAINER,
    STORAGE_ACCOUNT,
    TERMINAL_STATUSES,
    WorkspaceDouble,
)

pytestmark = pytest.mark.slow  # real HTTPS and the SDK's first calls: seconds each (make test)

workspace_double = fixture.workspace_double  # this module runs on its own too, before or without tests/conftest.py

COMPONENTS = Path(__file__).parents[2] / "components"
TRAIN_SPEC = COMPONENTS / "train" / "train.yaml"
EVALUATE_SPEC = COMPONENTS / "evaluate" / "evaluate.yaml"
ENVIRONMENT_SPEC = COMPONENTS / "environment" / "environment.yaml"

# Two registered components, referenced by name and version, as a pipeline submitted to a workspace does.
PIPELINE = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: double pipeline
settings:
  default_compute: azureml:cpu-cluster
inputs:
  prepped: {type: uri_folder, path: azureml://datastores/workspaceblobstore/paths/prepped/}
outputs:
  model: {type: mlflow_model}
  evaluation: {type: uri_folder}
jobs:
  train:
    type: command
    component: azureml:train:1
    inputs:
      prepped_data: ${{parent.inputs.prepped}}
    outputs:
      model_output: ${{parent.outputs.model}}
  evaluate:
    type: command
    component: azureml:evaluate:1
    inputs:
      model: ${{parent.jobs.train.outputs.model_output}}
      prepped_data: ${{parent.inputs.prepped}}
    outputs:
      evaluation: ${{parent.outputs.evaluation}}
"""


def client(double: WorkspaceDouble, **extra: object) -> MLClient:
    return MLClient(
        double.credential,
        double.subscription_id,
        double.resource_group,
        double.workspace_name,
        **double.client_kwargs,
        **extra,
    )


def assert_stayed_on_loopback(double: WorkspaceDouble) -> None:
    """Nothing resolved a host other than loopback, and the double knew every request it got."""
    assert double.foreign_hosts == []
    assert [(r.method, r.path) for r in double.unknown] == []
    assert double.errors == []
    assert double.requests


def submit_pipeline(ml: MLClient, tmp_path: Path) -> str:
    for spec in (TRAIN_SPEC, EVALUATE_SPEC):
        ml.components.create_or_update(load_component(source=spec))
    path = tmp_path / "pipeline.yaml"
    path.write_text(PIPELINE)
    return ml.jobs.create_or_update(load_job(source=path), experiment_name="churn-model").name


def test_workspace_and_default_datastore(workspace_double: WorkspaceDouble) -> None:
    ml = client(workspace_double)

    workspace = ml.workspaces.get(workspace_double.workspace_name)
    default = ml.datastores.get_default()

    assert (workspace.name, workspace.location) == ("mlw-test", "westeurope")
    assert default.name == "workspaceblobstore"
    assert [d.name for d in ml.datastores.list()] == ["workspaceblobstore"]
    # Tokens were asked for the double's audience, never Azure's.
    assert set(workspace_double.credential.scopes_requested) == {f"{workspace_double.url}/.default"}
    assert_stayed_on_loopback(workspace_double)


def test_environment_alone_points_the_sdk_at_the_double(workspace_double: WorkspaceDouble) -> None:
    # Code that builds MLClient without cloud arguments still reaches the double, through the env the fixture set.
    ml = MLClient(
        workspace_double.credential,
        workspace_double.subscription_id,
        workspace_double.resource_group,
        workspace_double.workspace_name,
    )

    assert ml.workspaces.get(workspace_double.workspace_name).name == "mlw-test"
    assert_stayed_on_loopback(workspace_double)


def test_register_environment_and_component_then_get_them(workspace_double: WorkspaceDouble) -> None:
    ml = client(workspace_double)
    with pytest.raises(ResourceNotFoundError):
        ml.components.get("train", "1")

    environment = ml.environments.create_or_update(load_environment(source=ENVIRONMENT_SPEC))
    registered = ml.components.create_or_update(load_component(source=TRAIN_SPEC))

    assert ml.environments.get(environment.name, environment.version).image == environment.image
    fetched = ml.components.get("train", "1")
    assert (fetched.name, fetched.version, registered.id) == ("train", "1", fetched.id)
    spec = workspace_double.components["train:1"]["properties"]["componentSpec"]
    assert spec["command"].startswith("python train.py")
    # The component's code folder went to the double's blob endpoint, file by file.
    uploaded = {name for _, name in workspace_double.blobs}
    assert {"train/train.py", "train/train.yaml"} <= uploaded
    folder_size = sum(path.stat().st_size for path in TRAIN_SPEC.parent.iterdir() if path.is_file())
    assert workspace_double.bytes_uploaded() == folder_size
    assert_stayed_on_loopback(workspace_double)


def test_registering_the_same_component_again_uploads_nothing(workspace_double: WorkspaceDouble) -> None:
    ml = client(workspace_double)
    ml.components.create_or_update(load_component(source=TRAIN_SPEC))
    uploaded, code_assets = workspace_double.bytes_uploaded(), len(workspace_double.code)

    # What a caller checks before registering: the version is already there.
    assert ml.components.get("train", "1").version == "1"
    ml.components.create_or_update(load_component(source=TRAIN_SPEC))

    # The SDK found the code by its content hash and reused it: no bytes, no new code asset.
    assert workspace_double.bytes_uploaded() == uploaded
    assert len(workspace_double.code) == code_assets
    assert_stayed_on_loopback(workspace_double)


def test_data_asset_upload_and_get(workspace_double: WorkspaceDouble, tmp_path: Path) -> None:
    ml = client(workspace_double)
    csv = tmp_path / "churn.csv"
    csv.write_text("tenure,churned\n3,1\n40,0\n")

    created = ml.data.create_or_update(Data(name="churn-data", version="1", path=str(csv), type="uri_file"))

    assert ml.data.get("churn-data", "1").path == created.path
    assert created.path.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    stored = {name: blob.data for (_, name), blob in workspace_double.blobs.items()}
    assert stored[created.path.split("/paths/", 1)[1]] == csv.read_bytes()
    assert_stayed_on_loopback(workspace_double)


def test_pipeline_of_registered_components_runs_to_completion(
    workspace_double: WorkspaceDouble, tmp_path: Path
) -> None:
    ml = client(workspace_double)
    workspace_double.script_job(["Queued", "Running", "Completed"])

    name = submit_pipeline(ml, tmp_path)
    statuses = [ml.jobs.get(name).status for _ in range(3)]

    assert statuses == ["Queued", "Running", "Completed"]
    nodes = workspace_double.jobs[name]["properties"]["jobs"]
    assert nodes["train"]["componentId"].endswith("/components/train/versions/1")
    assert workspace_double.jobs[name]["properties"]["experimentName"] == "churn-model"
    children = list(ml.jobs.list(parent_job_name=name))
    assert sorted(child.display_name for child in children) == ["evaluate", "train"]
    assert {child.status for child in children} == {"Completed"}
    assert [job.name for job in ml.jobs.list()] == [name]
    assert ml.jobs.update(name, tags={"promoted": "true"}).tags == {"promoted": "true"}
    assert_stayed_on_loopback(workspace_double)


def wait_until_finished(ml: MLClient, name: str, reads: int = 10) -> str:
    """Read the job until it reports a terminal status; bounded, as the double's scripts are."""
    for _ in range(reads):
        status = ml.jobs.get(name).status
        if status in TERMINAL_STATUSES:
            return status
    raise AssertionError(f"job {name} still {status} after {reads} reads")


def files_under(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_download_a_named_output_scripted_before_the_job_existed(
    workspace_double: WorkspaceDouble, tmp_path: Path
) -> None:
    ml = client(workspace_double)
    evaluation = {
        "decision.json": b'{"promote": true}\n',
        "metrics.json": b'{"f1_macro": 0.93}\n',
        "plots/confusion_matrix.png": b"\x89PNG\r\n\x1a\n",
    }
    workspace_double.script_job(["Running", "Running", "Completed"], outputs={"evaluation": evaluation})
    name = submit_pipeline(ml, tmp_path)
    download, submitted = tmp_path / "download", len(workspace_double.requests)

    # download starts with a jobs.get, which is a read: here the second, still Running, so the SDK refuses.
    with pytest.raises(JobException, match="Download is allowed only"):
        ml.jobs.download(name, download_path=download, output_name="evaluation")
    assert wait_until_finished(ml, name) == "Completed"
    ml.jobs.download(name, download_path=download, output_name="evaluation")

    assert files_under(download) == {f"named-outputs/evaluation/{file}": data for file, data in evaluation.items()}
    assert ml.jobs.get(name).status == "Completed"
    assert {n for c, n in workspace_double.blobs if c == DEFAULT_CONTAINER and n.startswith("azureml/")} == {
        f"azureml/{name}/evaluation/{file}" for file in evaluation
    }
    assert not [r for r in workspace_double.requests[submitted:] if r.is_write]  # waiting and downloading only read
    assert_stayed_on_loopback(workspace_double)


def test_set_job_output_on_an_existing_job_replaces_it_and_resolves_through_the_dataplane(
    workspace_double: WorkspaceDouble, tmp_path: Path
) -> None:
    ml = client(workspace_double)
    workspace_double.script_job(["Completed"])
    name = submit_pipeline(ml, tmp_path)
    workspace_double.set_job_output(name, "evaluation", {"decision.json": b"old", "stale.txt": b"gone"})
    workspace_double.set_job_output(name, "evaluation", {"decision.json": b'{"promote": false}'})
    with pytest.raises(KeyError, match="script_job"):
        workspace_double.set_job_output("no-such-job", "evaluation", {"decision.json": b"{}"})

    ml.jobs.download(name, download_path=tmp_path / "download", output_name="evaluation")

    assert files_under(tmp_path / "download") == {"named-outputs/evaluation/decision.json": b'{"promote": false}'}
    # The SDK's own run-history and dataset-dataplane clients: the route newer SDKs take for a UriFolder output.
    reference = ml.jobs._runs_operations.get_run_data(name).run_metadata.outputs["evaluation"]
    resolved = ml.jobs._dataset_dataplane_operations.get_batch_dataset_uris([reference.asset_id])
    assert reference.type == "UriFolder"
    assert resolved.values_property[reference.asset_id].uri.endswith(
        f"/datastores/workspaceblobstore/paths/azureml/{name}/evaluation/"
    )
    assert_stayed_on_loopback(workspace_double)


def test_a_finished_job_stays_finished(workspace_double: WorkspaceDouble, tmp_path: Path) -> None:
    ml = client(workspace_double)
    workspace_double.script_job(["Running", "Completed", "Running", "Failed"])  # steps after Completed never show
    name = submit_pipeline(ml, tmp_path)

    assert [ml.jobs.get(name).status for _ in range(4)] == ["Running", "Completed", "Completed", "Completed"]


def test_register_model_from_job_output(workspace_double: WorkspaceDouble, tmp_path: Path) -> None:
    ml = client(workspace_double)
    name = submit_pipeline(ml, tmp_path)

    model = ml.models.create_or_update(
        Model(name="churn-model", path=f"azureml://jobs/{name}/outputs/model", type="mlflow_model")
    )

    assert (model.name, model.version) == ("churn-model", "1")
    assert workspace_double.models["churn-model:1"]["properties"]["modelUri"] == f"azureml://jobs/{name}/outputs/model"
    assert ml.models.get("churn-model", "1").type == "mlflow_model"
    assert_stayed_on_loopback(workspace_double)


def test_stream_prints_the_log_and_returns_when_the_job_completes(
    workspace_double: WorkspaceDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ml = client(workspace_double)
    workspace_double.script_job(["Running", "Running", "Completed"])  # one poll: the SDK sleeps 2 s between polls
    name = submit_pipeline(ml, tmp_path)

    ml.jobs.stream(name)

    printed = capsys.readouterr().out
    assert f"RunId: {name}" in printed
    assert "Job status: Completed." in printed
    assert_stayed_on_loopback(workspace_double)


def test_failed_job_status_and_error(workspace_double: WorkspaceDouble, tmp_path: Path) -> None:
    ml = client(workspace_double)
    workspace_double.script_job(["Running", "Failed"], error="train.py exited with code 1")
    name = submit_pipeline(ml, tmp_path)

    assert ml.jobs.get(name).status == "Running"
    assert ml.jobs.get(name).status == "Failed"
    # The SDK's Job has no error field; the service's error reaches the caller through stream().
    with pytest.raises(JobException, match=r"train\.py exited with code 1"):
        ml.jobs.stream(name)
    assert_stayed_on_loopback(workspace_double)


def test_cancel_a_running_job(workspace_double: WorkspaceDouble, tmp_path: Path) -> None:
    ml = client(workspace_double)
    workspace_double.script_job(["Running"])
    name = submit_pipeline(ml, tmp_path)
    assert ml.jobs.get(name).status == "Running"

    ml.jobs.begin_cancel(name).result()

    assert ml.jobs.get(name).status == "Canceled"
    assert [r.path.rsplit("/", 1)[-1] for r in workspace_double.writes() if r.method == "POST"][-1] == "cancel"
    assert_stayed_on_loopback(workspace_double)


def test_schedule_create_get_and_list(workspace_double: WorkspaceDouble, tmp_path: Path) -> None:
    ml = client(workspace_double)
    for spec in (TRAIN_SPEC, EVALUATE_SPEC):
        ml.components.create_or_update(load_component(source=spec))
    path = tmp_path / "pipeline.yaml"
    path.write_text(PIPELINE)
    schedule = JobSchedule(name="retrain", trigger=CronTrigger(expression="0 3 * * 1"), create_job=load_job(path))

    created = ml.schedules.begin_create_or_update(schedule).result()

    assert (created.name, created.trigger.expression) == ("retrain", "0 3 * * 1")
    assert ml.schedules.get("retrain").is_enabled
    assert [s.name for s in ml.schedules.list()] == ["retrain"]
    assert "retrain" in workspace_double.schedules
    assert_stayed_on_loopback(workspace_double)


def test_unauthorized_raises_client_authentication_error(workspace_double: WorkspaceDouble) -> None:
    ml = client(workspace_double)
    workspace_double.fail_next(r"/components/train/versions/1$", 401)

    with pytest.raises(ClientAuthenticationError, match="InvalidAuthenticationToken"):
        ml.components.get("train", "1")
    assert [r.status for r in workspace_double.requests] == [401]  # a 401 is not retried


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_and_unavailability_are_retried_then_succeed(workspace_double: WorkspaceDouble, status: int) -> None:
    # azure-core retries at once the first time, then backs off 0.8 s x 2^n: a small factor keeps tests fast.
    ml = client(workspace_double, retry_backoff_factor=0.01)
    workspace_double.fail_next(r"/workspaces/mlw-test$", status, times=3)

    started = time.monotonic()
    workspace = ml.workspaces.get(workspace_double.workspace_name)

    assert workspace.name == "mlw-test"
    assert [r.status for r in workspace_double.requests if r.path.endswith("/workspaces/mlw-test")] == [status] * 3 + [
        200
    ]
    assert time.monotonic() - started < 10  # the first workspace call imports MLflow; no backoff of seconds
    assert_stayed_on_loopback(workspace_double)


def test_unknown_calls_answer_404_and_are_recorded(workspace_double: WorkspaceDouble) -> None:
    ml = client(workspace_double)

    with pytest.raises(ResourceNotFoundError, match="test double does not serve"):
        ml.batch_endpoints.get("churn-batch")

    assert [r.path.rsplit("/", 2)[-2:] for r in workspace_double.unknown] == [["batchEndpoints", "churn-batch"]]


def test_computes_are_served_once_added(workspace_double: WorkspaceDouble) -> None:
    ml = client(workspace_double)
    with pytest.raises(ResourceNotFoundError):
        ml.compute.get("cpu-cluster")

    workspace_double.add_compute("cpu-cluster", max_nodes=4)

    cluster = ml.compute.get("cpu-cluster")
    assert (cluster.type, cluster.size, cluster.min_instances, cluster.max_instances) == (
        "amlcompute",
        "Standard_DS3_v2",
        0,
        4,
    )
    assert workspace_double.unknown == []


def test_only_loopback_is_reachable(workspace_double: WorkspaceDouble) -> None:
    # The fixture refuses to resolve other hosts, so a stray call to Azure fails at once instead of leaving.
    with pytest.raises(requests.ConnectionError):
        requests.get("https://management.azure.com/", timeout=5)
    assert workspace_double.foreign_hosts == ["management.azure.com"]
    # The double's own endpoints are served over TLS with the certificate the environment trusts (and, like Azure
    # Storage, refuse a request that carries no token).
    response = requests.get(f"{workspace_double.account_url}/nothing/here", timeout=5)
    assert response.status_code == 401
    assert STORAGE_ACCOUNT in workspace_double.requests[-1].path


def test_blob_endpoint_serves_block_uploads_metadata_listing_and_ranges(workspace_double: WorkspaceDouble) -> None:
    # Large files reach the double in blocks; 4-byte blocks exercise that path with a 10-byte blob.
    service = BlobServiceClient(
        workspace_double.account_url, credential=workspace_double.credential, max_single_put_size=4, max_block_size=4
    )
    container = service.get_container_client(DEFAULT_CONTAINER)
    blob = container.get_blob_client("LocalUpload/abc/model.bin")

    blob.upload_blob(b"0123456789", metadata={"upload_status": "completed", "name": "churn", "version": "1"})

    assert blob.get_blob_properties().metadata == {"upload_status": "completed", "name": "churn", "version": "1"}
    assert blob.download_blob(offset=2, length=5).readall() == b"23456"
    listed = list(container.list_blobs(name_starts_with="LocalUpload/", include=["metadata"]))
    assert [(b.name, b.size, b.metadata["name"]) for b in listed] == [("LocalUpload/abc/model.bin", 10, "churn")]
    assert [r.query.get("comp") for r in workspace_double.writes()] == ["block", "block", "block", "blocklist"]
    assert workspace_double.bytes_uploaded() == 10  # blob content only, not the block list


# --- as strict as Azure: tokens per surface, expiry, identity-based storage, federated assertions, registries ---


def test_storage_takes_only_a_storage_token_and_no_account_key(workspace_double: WorkspaceDouble) -> None:
    container = f"{workspace_double.account_url}/{DEFAULT_CONTAINER}?restype=container"
    workspace_token = workspace_double.credential.get_token(f"{workspace_double.url}/.default").token
    storage_token = workspace_double.credential.get_token("https://storage.azure.com/.default").token
    headers = {"x-ms-version": "2025-01-05"}
    refused = requests.get(container, headers={**headers, "Authorization": f"Bearer {workspace_token}"}, timeout=5)
    assert (refused.status_code, refused.headers["x-ms-error-code"]) == (401, "InvalidAuthenticationInfo")
    shared_key = requests.get(container, headers={**headers, "Authorization": "SharedKey acct:c2lnbmF0dXJl"}, timeout=5)
    assert shared_key.status_code == 401
    accepted = requests.get(container, headers={**headers, "Authorization": f"Bearer {storage_token}"}, timeout=5)
    assert accepted.status_code == 200
    ml = client(workspace_double)
    assert ml.datastores.get_default().credentials.type == "None"  # identity-based: no secret to list


def test_tokens_expire_on_the_double_s_clock(workspace_double: WorkspaceDouble) -> None:
    token = workspace_double.credential.get_token(f"{workspace_double.url}/.default").token
    workspace = f"{workspace_double.url}{workspace_double.workspace_id}?api-version=2023-08-01-preview"
    assert requests.get(workspace, headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code == 200
    workspace_double.clock.advance(3601)
    expired = requests.get(workspace, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert (expired.status_code, expired.json()["error"]["code"]) == (401, "ExpiredAuthenticationToken")


def test_entra_id_refuses_a_federated_assertion_past_its_lifetime(workspace_double: WorkspaceDouble) -> None:
    from tests.azure_double.server import CI_CLIENT_ID, TENANT_ID

    assertion = workspace_double.github_assertion()
    form = {
        "grant_type": "client_credentials",
        "client_id": CI_CLIENT_ID,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
        "scope": "https://storage.azure.com/.default",
    }
    endpoint = f"{workspace_double.url}/{TENANT_ID}/oauth2/v2.0/token"
    assert requests.post(endpoint, data=form, timeout=5).status_code == 200
    workspace_double.clock.advance(workspace_double.assertion_lifetime + 1)
    refused = requests.post(endpoint, data=form, timeout=5)
    assert refused.status_code == 400
    assert refused.json()["error_description"].startswith("AADSTS700024: Client assertion is not within its valid")
    assert requests.post(endpoint, data={**form, "client_id": "someone-else"}, timeout=5).json()["error"] == (
        "unauthorized_client"
    )


def test_github_s_oidc_endpoint_wants_the_job_s_request_token(workspace_double: WorkspaceDouble) -> None:
    env = workspace_double.github_env()
    url = f"{env['ACTIONS_ID_TOKEN_REQUEST_URL']}&audience=api://AzureADTokenExchange"
    assert requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
    issued = requests.get(url, headers={"Authorization": f"Bearer {env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']}"}, timeout=5)
    assert issued.json()["value"].count(".") == 2  # a JWT


def test_azure_devops_oidc_endpoint_wants_the_job_s_access_token_and_its_service_connection(
    workspace_double: WorkspaceDouble,
) -> None:
    env = workspace_double.azure_devops_env()
    connection = env["AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"]
    url = f"{env['SYSTEM_OIDCREQUESTURI']}?api-version=7.1&serviceConnectionId={connection}"
    job = {"Authorization": f"Bearer {env['SYSTEM_ACCESSTOKEN']}"}
    assert requests.post(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
    assert requests.post(url.replace(connection, "another-connection"), headers=job, timeout=5).status_code == 400
    assert requests.get(url, headers=job, timeout=5).status_code == 405
    issued = requests.post(url, headers=job, timeout=5).json()["oidcToken"]
    claims = jwt.decode(issued, options={"verify_signature": False})
    assert claims["aud"] == "api://AzureADTokenExchange"
    assert claims["iss"].startswith("https://vstoken.dev.azure.com/")
    assert claims["exp"] - claims["iat"] == workspace_double.assertion_lifetime


def test_a_registry_imports_a_workspace_model_once(workspace_double: WorkspaceDouble) -> None:
    ml = client(workspace_double)
    ml.models.create_or_update(
        Model(name="churn", version="1", path="azureml://jobs/j/outputs/model", type="mlflow_model")
    )
    ml.models.share(
        name="churn", version="1", registry_name="mlr-test", share_with_name="churn", share_with_version="1"
    )
    assert ("mlr-test", "churn", "1") in workspace_double.registry_models
    with pytest.raises(Exception, match="already exists in registry"):  # the SDK's own check, before any import
        ml.models.share(
            name="churn", version="1", registry_name="mlr-test", share_with_name="churn", share_with_version="1"
        )
    assert_stayed_on_loopback(workspace_double)
