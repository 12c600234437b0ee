"""Every exception the SDK raises becomes one MlopsError that says what to do; anything else stays a bug."""

from __future__ import annotations

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
