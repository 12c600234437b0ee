"""CI sign-in that outlives the job: through azure-identity and the real SDK, against the TEST DOUBLE's Entra ID and
its GitHub and Azure DevOps OIDC endpoints, with the double's clock moved on as a long training job would move it."""

from __future__ import annotations

import dataclasses
import json

import pytest
from azure.identity import AzurePipelinesCredential, ClientAssertionCredential

from mlops import credentials, evaluation, provenance
from mlops.assets import release_assets
from mlops.azure_job import pipeline_job
from mlops.commands.register import register
from mlops.errors import MlopsError
from mlops.settings import default_root, load_azure_settings, load_pipeline_settings
from mlops.workspace import sdk
from tests.azure_double.server import AZURE_DEVOPS_OIDC_PATH, CI_CLIENT_ID, TENANT_ID, WorkspaceDouble

EVALUATION = {"decision.json": json.dumps({"promote": False}).encode(), "metrics.json": b"{}"}
TWENTY_MINUTES = 20 * 60  # longer than a GitHub OIDC token lives, shorter than the access tokens taken at the start
TWO_HOURS = 2 * 3600  # longer than access tokens live too


def connect(double: WorkspaceDouble, credential) -> sdk.AzureWorkspace:
    settings = dataclasses.replace(
        load_azure_settings("dev", default_root(), {"AZURE_SUBSCRIPTION_ID": double.subscription_id}),
        resource_group=double.resource_group,
        workspace=double.workspace_name,
    )
    return sdk.connect(settings, credential=credential, retry_backoff_factor=0.01, **double.client_kwargs)


def run_a_long_job(double: WorkspaceDouble, credential, seconds: float) -> evaluation.Verdict:
    """What CD does: submit (registered assets, so no upload), wait, then download the evaluation."""
    pipeline = load_pipeline_settings(default_root())
    person = connect(double, double.credential)
    released = release_assets(pipeline, person.settings)
    register(released, person)  # registered earlier: this run uploads nothing, so needs no storage token yet
    ci = connect(double, credential)
    double.script_job(["Running", "Completed"], outputs={"evaluation": EVALUATION})
    job = pipeline_job(pipeline, ci.settings, released, ci, provenance.tags(pipeline.root, "dev"))
    state = ci.submit(job)
    ci.state(state.name)
    double.clock.advance(seconds)
    assert ci.state(state.name).status.value == "Completed"
    return evaluation.read(ci, state.name)  # the first storage-scope token of the run


@pytest.mark.slow  # through the double's HTTPS endpoints
@pytest.mark.parametrize(
    ("seconds", "failing"),
    [(TWENTY_MINUTES, "downloading output evaluation"), (TWO_HOURS, "reading job")],
    ids=["new-scope-after-20-minutes", "any-scope-after-2-hours"],
)
def test_a_sign_in_made_once_at_the_start_of_the_job_expires_with_its_token(
    workspace_double, fast_storage_retries, seconds, failing
) -> None:
    """The defect: azure/login's `az login --federated-token` keeps one assertion: after it expires, new scopes fail
    at once, and every scope once the access tokens taken at the start have expired."""
    assertion = workspace_double.github_assertion()
    once = ClientAssertionCredential(TENANT_ID, CI_CLIENT_ID, lambda: assertion, **workspace_double.credential_kwargs)
    with pytest.raises(MlopsError) as raised:
        run_a_long_job(workspace_double, once, seconds)
    message = str(raised.value)
    assert message.startswith(failing)
    assert "the federated sign-in expired" in message
    assert "AADSTS700024" in message
    assert "id-token: write" in message


@pytest.mark.slow  # through the double's HTTPS endpoints
@pytest.mark.parametrize("seconds", [TWENTY_MINUTES, TWO_HOURS])
@pytest.mark.parametrize(
    ("ci", "credential_type", "oidc_path"),
    [
        ("github", ClientAssertionCredential, "/github/idtoken"),
        ("azure-devops", AzurePipelinesCredential, AZURE_DEVOPS_OIDC_PATH),
    ],
)
def test_the_ci_credential_asks_the_ci_system_for_a_fresh_token_at_every_exchange(
    workspace_double, monkeypatch, seconds, ci, credential_type, oidc_path
) -> None:
    environ = workspace_double.github_env() if ci == "github" else workspace_double.azure_devops_env()
    for name, value in environ.items():  # AzurePipelinesCredential reads SYSTEM_OIDCREQUESTURI from os.environ
        monkeypatch.setenv(name, value)
    credential = credentials.for_environment(environ, **workspace_double.credential_kwargs)
    assert isinstance(credential, credential_type)
    verdict = run_a_long_job(workspace_double, credential, seconds)
    assert verdict.decision == {"promote": False}
    storage = [token for token in workspace_double.tokens_issued if token["scope"].startswith("https://storage")]
    assert storage, "no storage-scope token was issued"
    assert storage[-1]["assertion_exp"] > workspace_double.clock.now(), "the exchange used a stale assertion"
    fetched = [request for request in workspace_double.requests if request.path == oidc_path]
    assert len(fetched) == len(workspace_double.tokens_issued) >= 2  # one fresh OIDC token for each exchange


@pytest.mark.slow  # through the double's HTTPS endpoints
def test_a_job_without_the_id_token_permission_is_told_so(workspace_double) -> None:
    environ = {**workspace_double.github_env(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "not-the-job-token"}
    with pytest.raises(MlopsError, match="needs `permissions: id-token: write`"):
        credentials.github_assertion(environ)()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "DefaultAzureCredential"),
        ({"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t"}, "DefaultAzureCredential"),
        (
            {
                "ACTIONS_ID_TOKEN_REQUEST_URL": "https://x/?a=1",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "r",
                "AZURE_CLIENT_ID": "c",
                "AZURE_TENANT_ID": "t",
            },
            "ClientAssertionCredential",
        ),
        (
            {
                "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": "s",
                "AZURESUBSCRIPTION_CLIENT_ID": "c",
                "AZURESUBSCRIPTION_TENANT_ID": "t",
                "SYSTEM_ACCESSTOKEN": "a",
            },
            "AzurePipelinesCredential",
        ),
        # AzureCLI@2 without SYSTEM_ACCESSTOKEN mapped: the task's own sign-in, which the error message explains
        (
            {"AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": "s", "AZURESUBSCRIPTION_CLIENT_ID": "c"},
            "DefaultAzureCredential",
        ),
    ],
    ids=["laptop", "client-id-only", "github-actions", "azure-devops", "azure-devops-without-token"],
)
def test_the_credential_fits_where_the_command_runs(environ: dict, expected: str) -> None:
    assert type(credentials.for_environment(environ)).__name__ == expected
