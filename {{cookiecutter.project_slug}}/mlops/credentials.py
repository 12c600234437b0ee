"""Which credential signs in to Azure: on a laptop your `az login`; in CI a federated sign-in that lasts the job.

A CI job proves who it is with a short-lived OIDC token from GitHub or Azure DevOps (minutes). `az login` (what
azure/login and AzureCLI@2 do) exchanges that token once; when a command later needs a token for a scope it has
not used yet (Azure Storage, to download a long job's output), the CLI exchanges the same token again, which has
expired by then: Entra ID answers AADSTS700024 and CD fails after a successful training run. So in CI the mlops
commands sign in with a credential that asks the CI system for a fresh OIDC token at every exchange:

- GitHub Actions: ``ClientAssertionCredential`` whose assertion comes from the job's OIDC endpoint
  (``ACTIONS_ID_TOKEN_REQUEST_URL``; the job needs ``permissions: id-token: write``), with ``AZURE_CLIENT_ID`` and
  ``AZURE_TENANT_ID`` from the environment's variables.
- Azure DevOps: ``AzurePipelinesCredential`` for the service connection that AzureCLI@2 runs the step with (its
  ``AZURESUBSCRIPTION_*`` variables), which needs ``SYSTEM_ACCESSTOKEN`` mapped into the step's environment.

Anywhere else, ``DefaultAzureCredential`` (az login, managed identity, environment variables). No secret is read.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from mlops.errors import MlopsError

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"  # what Azure's federated credentials trust

EXPIRED_ASSERTION_HELP = (
    "the federated sign-in expired: CI's OIDC token lasts only minutes, and a sign-in made once at the start of the "
    "job (`az login`, azure/login, AzureCLI@2) cannot get tokens for new scopes after that (AADSTS700024). The mlops "
    "commands renew it themselves: in GitHub Actions give the job `permissions: id-token: write` and set "
    "AZURE_CLIENT_ID and AZURE_TENANT_ID in its environment; in Azure DevOps run the command in an AzureCLI@2 task "
    "on a workload identity federation service connection with `SYSTEM_ACCESSTOKEN: $(System.AccessToken)` in its "
    "env"
)


def github_assertion(environ: Mapping[str, str]) -> Callable[[], str]:
    """A function that asks the GitHub Actions job's OIDC endpoint for a new token, for Azure's token exchange."""
    url = environ["ACTIONS_ID_TOKEN_REQUEST_URL"]
    url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"audience": TOKEN_EXCHANGE_AUDIENCE})
    headers = {"Authorization": f"Bearer {environ['ACTIONS_ID_TOKEN_REQUEST_TOKEN']}", "Accept": "application/json"}

    def fetch() -> str:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
                return json.load(response)["value"]
        except (urllib.error.URLError, KeyError, ValueError) as error:
            raise MlopsError(
                f"could not get an OIDC token from GitHub Actions ({error}): the job needs `permissions: id-token: "
                "write`"
            ) from None

    return fetch


def for_environment(environ: Mapping[str, str] = os.environ, **kwargs: Any) -> Any:
    """The credential for where this process runs. ``kwargs`` go to azure-identity (tests point it at a double)."""
    if environ.get("ACTIONS_ID_TOKEN_REQUEST_URL") and environ.get("AZURE_CLIENT_ID"):
        from azure.identity import ClientAssertionCredential

        tenant = _required(environ, "AZURE_TENANT_ID", "a repository variable, set by scripts/bootstrap_azure.sh")
        return ClientAssertionCredential(tenant, environ["AZURE_CLIENT_ID"], github_assertion(environ), **kwargs)
    if environ.get("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID") and environ.get("SYSTEM_ACCESSTOKEN"):
        from azure.identity import AzurePipelinesCredential

        return AzurePipelinesCredential(
            tenant_id=environ["AZURESUBSCRIPTION_TENANT_ID"],
            client_id=environ["AZURESUBSCRIPTION_CLIENT_ID"],
            service_connection_id=environ["AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"],
            system_access_token=environ["SYSTEM_ACCESSTOKEN"],
            **kwargs,
        )
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(exclude_interactive_browser_credential=True, **kwargs)


def _required(environ: Mapping[str, str], name: str, where: str) -> str:
    if not environ.get(name):
        raise MlopsError(f"{name} is not set: it is {where}")
    return environ[name]
