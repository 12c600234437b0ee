"""Every exception the SDK raises becomes one MlopsError that says what to do; anything else stays a bug."""

from __future__ import annotations

import logging

import pytest
from azure.ai.ml.exceptions import ErrorCategory, ErrorTarget, JobException, MlException, ValidationException
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.identity import CredentialUnavailableError

from mlops.errors import MlopsError
from mlops.settings import default_root, load_azure_settings
from mlops.workspace.sdk import PermissionDenied, translate

SETTINGS = load_azure_settings("dev", default_root(), {})


class FakeResponse:
    """Just enough of an azure-core HTTP response for HttpResponseError."""

    def __init__(self, status: int, url: str) -> None:
        self.status_code = status
        self.reason = "reason"
        self.url = url
        self.headers = {}
        self.request = None

    def text(self) -> str:
        return ""


def storage_403_wrapped_by_the_sdk() -> Exception:
    denied = HttpResponseError(
        "This request is not authorized", response=FakeResponse(403, "https://st.blob.core.windows.net/c/b")
    )
    try:
        raise ValidationException(
            message="You don't have permission to alter this storage account.",
            no_personal_data_message="x",
            target=ErrorTarget.ARTIFACT,
            error_category=ErrorCategory.USER_ERROR,
        ) from denied
    except ValidationException as error:
        return error


def sdk_error(kind: type[MlException], message: str) -> MlException:
    return kind(message=message, no_personal_data_message=message)


CASES = {
    "not-signed-in": (CredentialUnavailableError("no az login"), "az login"),
    "rejected-token": (ClientAuthenticationError("InvalidAuthenticationToken"), "did not accept the credentials"),
    "expired-assertion": (ClientAuthenticationError("AADSTS700024: Client assertion ..."), "federated sign-in expired"),
    "not-found": (ResourceNotFoundError("Workspace mlw-x not found"), "Deploy the infrastructure"),
    "workspace-403": (
        HttpResponseError("AuthorizationFailed", response=FakeResponse(403, "https://management.azure.com/x")),
        "AzureML Data Scientist on workspace",
    ),
    "storage-403-wrapped": (storage_403_wrapped_by_the_sdk(), "Storage Blob Data Contributor on storage account"),
    "registry-403": (
        HttpResponseError("denied", response=FakeResponse(403, "https://x/registries/mlr/models/m")),
        "AzureML Registry User",
    ),
    "server-error": (HttpResponseError("boom", response=FakeResponse(500, "https://x")), "Azure answered 500"),
    "network": (ServiceRequestError("Name or service not known"), "could not reach Azure"),
    "sdk-validation": (
        sdk_error(ValidationException, "A model with this name and version already exists"),
        "already exists",
    ),
    "job-error": (sdk_error(JobException, "This job is in state Running"), "This job is in state Running"),
}


@pytest.mark.parametrize(("error", "expected"), CASES.values(), ids=CASES.keys())
def test_sdk_errors_become_one_clear_line(error: Exception, expected: str) -> None:
    translated = translate(error, SETTINGS, "doing something")
    assert isinstance(translated, MlopsError)
    assert str(translated).startswith("doing something: ")
    assert expected in str(translated)
    assert "\n" not in str(translated)


def test_permission_errors_are_marked_for_the_propagation_retry() -> None:
    assert isinstance(translate(storage_403_wrapped_by_the_sdk(), SETTINGS, "uploading"), PermissionDenied)


def test_a_bug_keeps_its_traceback() -> None:
    with pytest.raises(KeyError):
        translate(KeyError("not the SDK's"), SETTINGS, "doing something")


class RefusedSignIn:
    """A credential that fails as DefaultAzureCredential does with no sign-in: a warning per credential it tried,
    then ClientAuthenticationError."""

    def get_token(self, *scopes: str, **kwargs):
        logging.getLogger("azure.identity._credentials.chained").warning(
            "DefaultAzureCredential failed to retrieve a token from the included credentials.\nAttempted credentials:"
        )
        raise ClientAuthenticationError(
            "DefaultAzureCredential failed to retrieve a token from the included credentials."
        )


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_a_failed_sign_in_is_one_line_and_verbose_adds_what_azure_identity_tried(
    verbose: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> None:
    from mlops import cli, credentials

    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "12345678-1234-1234-1234-123456789abc")
    monkeypatch.setattr(credentials, "for_environment", RefusedSignIn)
    caplog.set_level(logging.DEBUG)
    code = cli.main([*(["--verbose"] if verbose else []), "register", "--env", "dev"])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert len(errors) == 1
    assert errors[0].startswith("error: looking up environment")
    assert "Azure did not accept the credentials. On a laptop run `az login`" in errors[0]
    tried = [r for r in caplog.records if r.name.startswith("azure.identity")]
    assert bool(tried) is verbose
