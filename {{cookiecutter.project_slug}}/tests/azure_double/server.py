"""A TEST DOUBLE of an Azure Machine Learning workspace: an in-memory HTTPS server on 127.0.0.1.

It is not Azure and not an emulator of it. It answers the few REST calls that the real ``azure-ai-ml`` SDK (1.35.x)
makes for this project, with bodies shaped like the service's, so the SDK, azure-core and azure-storage-blob run for
real (TLS, bearer tokens, retries, uploads) while nothing leaves the machine. Every request is recorded; unknown ones
answer 404 with an ARM error body and are recorded too, so a new SDK call shows up as a failing test, not a silent
success. Job statuses and named outputs are scripted by the test, and faults (401, 403, 429, 503) can be injected.

It is as strict as Azure where leniency would hide our bugs: every request needs a bearer token for its surface's
audience that has not expired on the double's clock (storage wants a storage-scope token: the datastore is
identity-based, as infra/ deploys it, with no account key to fall back on); the Entra ID token endpoint refuses a
federated assertion past its lifetime (AADSTS700024), as it does for a CI job's OIDC token; and the clock can be
moved on (``clock.advance``) to play a long job in milliseconds.

Surfaces served, all under ``https://127.0.0.1:PORT``:

- ARM (``/subscriptions/.../workspaces/NAME/...``): workspace, datastores, code/environment/component/data/model
  versions, jobs, schedules; the cloud metadata (``/metadata/endpoints``) and the workspace discovery document.
- Run history (``/history/v1.0/...``): run details (status, error, log files), run data (the job's named outputs)
  and child runs of a pipeline.
- Dataset dataplane (``/data/v1.0/...``): resolving a job output's data asset id to its datastore path.
- Blob storage: the default datastore's account URL is ``https://127.0.0.1:PORT/ACCOUNT.blob.core.windows.net``,
  so azure-storage-blob sends its block-blob calls here.
- Managed online endpoints (``.../onlineEndpoints/...``): endpoints and deployments created and deleted as
  long-running operations, traffic and mirrored traffic, deployment logs; and each endpoint's scoring URI
  (``https://127.0.0.1:PORT/endpoints/NAME/score``), which routes by traffic or by the ``azureml-model-deployment``
  header and answers what the test scripted per deployment.
- Azure ML registries: discovery (``/registrymanagement/v1.0/registries/NAME/discovery``) and, under
  ``/mferp/managementfrontend``, model versions and the import (share) of a workspace model, a long-running
  operation; the registries exist in the same subscription and resource group as the workspace.
- Entra ID (``/TENANT/v2.0/.well-known/openid-configuration``, ``/TENANT/oauth2/v2.0/token``): client credentials
  with a federated assertion, for azure-identity's ClientAssertionCredential.
- GitHub Actions' OIDC token service (``/github/idtoken``): what ``ACTIONS_ID_TOKEN_REQUEST_URL`` points at in a job.
- Azure DevOps' OIDC token service (``/azure-devops/.../oidctoken``): what ``SYSTEM_OIDCREQUESTURI`` points at in a
  job, where azure-identity's AzurePipelinesCredential asks for a service connection's token.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.etree import ElementTree

import jwt  # PyJWT, a dependency of azure-ai-ml
from azure.core.credentials import AccessToken
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
RESOURCE_GROUP = "rg-test"
WORKSPACE_NAME = "mlw-test"
TENANT_ID = "11111111-1111-1111-1111-111111111111"
OBJECT_ID = "22222222-2222-2222-2222-222222222222"
WORKSPACE_ID = "33333333-3333-3333-3333-333333333333"
LOCATION = "westeurope"
STORAGE_ACCOUNT = "mlwteststorage"
STORAGE_SUFFIX = "core.windows.net"
DEFAULT_DATASTORE = "workspaceblobstore"
DEFAULT_CONTAINER = f"azureml-blobstore-{WORKSPACE_ID}"
# Azure Storage's token audience: identity-based datastores need a token for it, not the workspace's.
STORAGE_AUDIENCE = "https://storage.azure.com"
ML_AUDIENCE = "https://ml.azure.com"  # Azure ML's data plane (registries, endpoint scoring)
MANAGEMENT_AUDIENCE = "https://management.azure.com"
# What a federated credential trusts (Entra ID's token exchange audience) and who issues GitHub's OIDC tokens.
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_REQUEST_TOKEN = "github-actions-request-token"  # ACTIONS_ID_TOKEN_REQUEST_TOKEN of the double's "job"
CI_CLIENT_ID = "44444444-4444-4444-4444-444444444444"  # the CI identity's client id, trusted for GitHub's subject
# An Azure DevOps job's System.OidcRequestUri (in the service: dev.azure.com/ORG/PROJECT/_apis/distributedtask/hubs/
# build/plans/PLAN/jobs/JOB/oidctoken), its System.AccessToken, and the service connection the CI identity trusts.
AZURE_DEVOPS_OIDC_PATH = (
    "/azure-devops/acme/66666666-6666-6666-6666-666666666666/_apis/distributedtask/hubs/build"
    "/plans/77777777-7777-7777-7777-777777777777/jobs/88888888-8888-8888-8888-888888888888/oidctoken"
)
AZURE_DEVOPS_ACCESS_TOKEN = "azure-devops-system-access-token"
AZURE_DEVOPS_SERVICE_CONNECTION_ID = "55555555-5555-5555-5555-555555555555"
AZURE_DEVOPS_ISSUER = "https://vstoken.dev.azure.com/99999999-9999-9999-9999-999999999999"
# Seconds a CI OIDC token is valid, GitHub's or Azure DevOps': GitHub documents minutes, not hours; AzureCLI@2 renews
# Azure DevOps' every 8 minutes, 2 before they expire. The shorter of the two, for both.
ASSERTION_LIFETIME = 300
ACCESS_TOKEN_LIFETIME = 3600
VERSIONED_KINDS = ("codes", "environments", "components", "data", "models")
TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Canceled", "NotResponding"})
DEFAULT_JOB_SCRIPT = ("Running", "Completed")
# POSTs that read rather than change state, left out of writes().
READ_ONLY_ACTIONS = frozenset({"listSecrets", "listKeys", "rundata", "batchGetResolvedUris"})
# Where a job's named output lands in the default datastore when its job gives no path: the service's default, and
# the path azure-ai-ml 1.35 searches when run history's output type is not one it recognises (see _run_data).
JOB_OUTPUT_PATH = "azureml/{job}/{output}/"

_ARM_WS = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
)


# --- TLS and identity ---------------------------------------------------------------------------------------------


def write_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key: TLS, so azure-core agrees to send bearer tokens."""
    key = ec.generate_private_key(ec.SECP256R1())  # EC: generated in milliseconds, unlike RSA
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Azure ML workspace test double")])
    now = dt.datetime.now(dt.UTC)
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = directory / "azure-ml-double.crt", directory / "azure-ml-double.key"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificate_path, key_path


_SIGNING_KEY = "azure-ml-test-double-signing-key-0123456789"  # the double's "Entra ID" key; 32+ bytes for PyJWT


_real_time = time.time  # the fixture makes time.time follow the double's clock; the clock itself must not


def _decode(token: str) -> dict[str, Any]:
    """A token's claims once its signature checks out; times and audience are checked against the double's clock and
    surfaces by the caller (PyJWT would check them against the real clock)."""
    checks = {"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False}
    return jwt.decode(token, _SIGNING_KEY, algorithms=["HS256"], options=checks)


class Clock:
    """The double's time: real time plus an offset that a test moves on to play a long job in milliseconds. The
    fixture makes ``time.time`` read this clock too, so the client side (azure-core, MSAL) sees tokens expire when
    the double does."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return _real_time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def access_token(audience: str, clock: Clock, lifetime: int = ACCESS_TOKEN_LIFETIME, **claims: Any) -> AccessToken:
    """An Entra ID access token for ``audience``, signed with the double's key and valid for ``lifetime`` seconds."""
    now = int(clock.now())
    body = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{TENANT_ID}/",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "oid": OBJECT_ID,
        "sub": OBJECT_ID,
        "tid": TENANT_ID,
        **claims,
    }
    return AccessToken(jwt.encode(body, _SIGNING_KEY, algorithm="HS256"), now + lifetime)


class FakeCredential:
    """A person's sign-in (``az login``), as an azure-core ``TokenCredential``: it mints tokens locally, signed with
    the double's key, for any scope. The audience is the scope without ``/.default``, as Entra ID issues it; the SDK
    checks it (for the ml.azure.com scope) and reads ``tid``. Tokens last an hour on the double's clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.scopes_requested: list[str] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes_requested.extend(scopes)
        audience = scopes[0].removesuffix("/.default") if scopes else ""
        return access_token(audience, self.clock, upn="test.user@example.com", name="Test User")


# --- Recording ----------------------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request as the double saw it, and the status it answered."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    bytes_in: int
    status: int = 0
    blob: bool = False  # sent to the storage account rather than to ARM or run history

    @property
    def is_write(self) -> bool:
        if self.method in {"PUT", "PATCH", "DELETE"}:
            return True
        return self.method == "POST" and self.path.rsplit("/", 1)[-1] not in READ_ONLY_ACTIONS


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    status: int
    remaining: int


@dataclass
class _Blob:
    data: bytes = b""
    metadata: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/octet-stream"
    etag: str = ""
    modified: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    blocks: dict[str, bytes] = field(default_factory=dict)  # staged, not yet committed
    committed: bool = False


@dataclass
class _DeploymentScript:
    fails: str | None = None
    logs: str = ""
    answers: Callable[[Any], tuple[int, Any]] | None = None


def _default_answer(request: Any) -> tuple[int, Any]:
    rows = ((request or {}).get("input_data") or {}).get("data") if isinstance(request, dict) else None
    if not isinstance(rows, list):
        return 400, {"message": "input_data.data must be a list of rows"}
    return 200, {"predictions": [0 for _ in rows]}


@dataclass
class _JobRun:
    """Status script of one job: each status read (ARM get or run-history details) moves one step on."""

    script: list[str]
    error: str | None
    position: int = -1  # -1: not read yet, still NotStarted
    canceled: bool = False

    def peek(self) -> str:
        if self.canceled:
            return "Canceled"
        return "NotStarted" if self.position < 0 else self.script[self.position]

    def advance(self) -> str:
        # A finished job stays finished, whatever the script says next: a real job never leaves a terminal status.
        if not self.canceled and self.position < len(self.script) - 1 and self.peek() not in TERMINAL_STATUSES:
            self.position += 1
        return self.peek()


class _Response:
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.headers = dict(headers or {})
        if body is None:
            self.payload = b""
        elif isinstance(body, bytes):
            self.payload = body
        elif isinstance(body, str):
            self.payload = body.encode()
            self.headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            self.payload = json.dumps(body).encode()
            self.headers.setdefault("Content-Type", "application/json; charset=utf-8")


_FAULTS = {  # status: ARM error code and message of an injected fault
    401: ("InvalidAuthenticationToken", "The access token is invalid."),
    403: ("AuthorizationFailed", "The client does not have authorization to perform this action."),
    404: ("ResourceNotFound", "The resource was not found."),
    409: ("Conflict", "The request conflicts with the resource's current state."),
    429: ("TooManyRequests", "The request was throttled; retry after the given delay."),
    500: ("InternalServerError", "The service had an internal error."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable."),
}


def _arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> _Response:
    return _Response(status, {"error": {"code": code, "message": message}}, headers)


def _storage_error(status: int, code: str, message: str) -> _Response:
    body = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return _Response(status, body.encode(), {"Content-Type": "application/xml", "x-ms-error-code": code})


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def _http_date(moment: dt.datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


# --- The double ---------------------------------------------------------------------------------------------------


class WorkspaceDouble:
    """A TEST DOUBLE of one Azure ML workspace, its default blob datastore and its run history.

    Start it, build ``MLClient(credential, subscription_id, resource_group, workspace_name, **client_kwargs)`` with
    ``env`` applied, and assert on ``requests`` and the stored resources afterwards.
    """

    def __init__(
        self,
        certificate: Path,
        key: Path,
        *,
        subscription_id: str = SUBSCRIPTION_ID,
        resource_group: str = RESOURCE_GROUP,
        workspace_name: str = WORKSPACE_NAME,
    ) -> None:
        self.certificate = certificate
        self.key = key
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.workspace_name = workspace_name
        self.clock = Clock()
        self.credential = FakeCredential(self.clock)
        self.assertion_lifetime = ASSERTION_LIFETIME  # of the OIDC tokens its GitHub and Azure DevOps endpoints issue
        self.tokens_issued: list[dict[str, Any]] = []  # what the Entra ID endpoint issued: scope, client, assertion
        self.requests: list[RecordedRequest] = []
        self.unknown: list[RecordedRequest] = []
        self.foreign_hosts: list[str] = []  # filled by the fixture's resolver guard
        self.errors: list[str] = []  # tracebacks of the double's own failures
        self.jobs: dict[str, dict[str, Any]] = {}
        self.schedules: dict[str, dict[str, Any]] = {}
        self.registry_models: dict[tuple[str, str, str], dict[str, Any]] = {}  # (registry, name, version)
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.deployments: dict[tuple[str, str], dict[str, Any]] = {}  # (endpoint, deployment)
        self.scored: list[dict[str, Any]] = []  # every scoring request: endpoint, deployment, body
        self._deployment_scripts: dict[str, _DeploymentScript] = {}  # by deployment name
        self.operations: dict[str, dict[str, Any]] = {}  # long-running operations by id: their final result
        self.computes: dict[str, dict[str, Any]] = {}  # add_compute() adds clusters; none exist at first
        self.assets: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in VERSIONED_KINDS}
        self.blobs: dict[tuple[str, str], _Blob] = {}
        self.containers: set[str] = {DEFAULT_CONTAINER}
        self.job_runs: dict[str, _JobRun] = {}
        self.job_outputs: dict[str, dict[str, dict[str, bytes]]] = {}  # job: output name: file: bytes
        self._next_script: tuple[list[str], str | None, dict[str, dict[str, bytes]]] | None = None
        self._faults: list[_Fault] = []
        self._lock = threading.RLock()
        self._sequence = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # Stored resources, keyed "name:version" (assets) or name (jobs, schedules).
    @property
    def code(self) -> dict[str, dict[str, Any]]:
        return self.assets["codes"]

    @property
    def environments(self) -> dict[str, dict[str, Any]]:
        return self.assets["environments"]

    @property
    def components(self) -> dict[str, dict[str, Any]]:
        return self.assets["components"]

    @property
    def data(self) -> dict[str, dict[str, Any]]:
        return self.assets["data"]

    @property
    def models(self) -> dict[str, dict[str, Any]]:
        return self.assets["models"]

    # --- lifecycle and test controls ---

    def start(self) -> WorkspaceDouble:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate, self.key)
        self._server = _TLSServer(("127.0.0.1", 0), _Handler, context, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def cloud_name(self) -> str:
        # The SDK keeps clouds in a process-wide table and refuses to redefine one: one name per port.
        return f"AzureMLTestDouble{self.port}"

    @property
    def client_kwargs(self) -> dict[str, Any]:
        return {
            "cloud": self.cloud_name,
            "cloud_metadata": {
                "azure_portal": f"{self.url}/portal/",
                "resource_manager": f"{self.url}/",
                "active_directory": f"{self.url}/login/",
                "aml_resource_id": f"{self.url}/",
                "storage_endpoint": STORAGE_SUFFIX,
                "registry_discovery_endpoint": f"{self.url}/",
            },
            "enable_telemetry": False,
        }

    @property
    def env(self) -> dict[str, str]:
        bundle = str(self.certificate)
        return {
            # requests (under azure-core and azure-storage-blob) trusts the double's certificate.
            "REQUESTS_CA_BUNDLE": bundle,
            "SSL_CERT_FILE": bundle,
            # Code that resolves the cloud on its own (no cloud= argument) finds this one, from the double.
            "AZUREML_CURRENT_CLOUD": self.cloud_name,
            "ARM_CLOUD_METADATA_URL": f"{self.url}/metadata/endpoints?api-version=2019-05-01",
            # A proxy configured on the machine must not capture loopback traffic.
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    def github_env(self) -> dict[str, str]:
        """What a GitHub Actions job with ``permissions: id-token: write`` has, pointed at the double."""
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.url}/github/idtoken?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": GITHUB_REQUEST_TOKEN,
            "AZURE_CLIENT_ID": CI_CLIENT_ID,
            "AZURE_TENANT_ID": TENANT_ID,
        }

    def azure_devops_env(self) -> dict[str, str]:
        """What an AzureCLI@2 step on the CI identity's service connection has, with ``SYSTEM_ACCESSTOKEN`` mapped,
        pointed at the double. AzurePipelinesCredential reads ``SYSTEM_OIDCREQUESTURI`` from ``os.environ``."""
        return {
            "SYSTEM_OIDCREQUESTURI": f"{self.url}{AZURE_DEVOPS_OIDC_PATH}",
            "SYSTEM_ACCESSTOKEN": AZURE_DEVOPS_ACCESS_TOKEN,
            "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": AZURE_DEVOPS_SERVICE_CONNECTION_ID,
            "AZURESUBSCRIPTION_CLIENT_ID": CI_CLIENT_ID,
            "AZURESUBSCRIPTION_TENANT_ID": TENANT_ID,
        }

    def github_assertion(self) -> str:
        """One GitHub OIDC token, as azure/login takes it once at the start of a job (`az login --federated-token`)."""
        return self._github_token()

    @property
    def credential_kwargs(self) -> dict[str, Any]:
        """What azure-identity credentials need to sign in at the double's Entra ID instead of Microsoft's."""
        return {"authority": self.url, "disable_instance_discovery": True}

    def script_job(
        self,
        status_sequence: list[str],
        error: str | None = None,
        *,
        job_name: str | None = None,
        outputs: Mapping[str, Mapping[str, bytes]] | None = None,
    ) -> None:
        """Statuses the next created job (or the existing ``job_name``) reports on successive reads; the last stays.

        A read is an ARM get of the job or a run-history details call (``jobs.get``, ``jobs.stream``, the get inside
        ``jobs.list(parent_job_name=...)`` and the one ``jobs.download`` starts with). Once a read reports a terminal
        status (Completed, Failed, Canceled) the job keeps it. ``error`` is the message of a Failed status.
        ``outputs`` (``{"evaluation": {"decision.json": b"..."}}``) become the job's named outputs as it is created,
        as with ``set_job_output``.
        """
        if not status_sequence:
            raise ValueError("status_sequence needs at least one status")
        scripted_outputs = {name: _checked_files(name, files) for name, files in (outputs or {}).items()}
        with self._lock:
            if job_name is None:
                self._next_script = (list(status_sequence), error, scripted_outputs)
            else:
                self.job_runs[job_name] = _JobRun(list(status_sequence), error)
                for output_name, files in scripted_outputs.items():
                    self.set_job_output(job_name, output_name, files)

    def set_job_output(self, job_name: str, output_name: str, files: Mapping[str, bytes]) -> None:
        """Make ``files`` (relative path: bytes) the named output ``output_name`` of the existing job ``job_name``.

        They are stored as blobs under ``azureml/JOB/OUTPUT/`` in the default datastore, where the service writes an
        output without a path and where ``jobs.download(JOB, output_name=OUTPUT)`` finds them, and run history lists
        the output. Setting an output again replaces its files. For a job not created yet, use ``script_job(outputs=)``.
        """
        checked = _checked_files(output_name, files)
        with self._lock:
            if job_name not in self.jobs:
                raise KeyError(f"no job {job_name!r} in the double; script_job(outputs=...) scripts the next one")
            prefix = self._output_prefix(job_name, output_name)
            for key in [key for key in self.blobs if key[0] == DEFAULT_CONTAINER and key[1].startswith(prefix)]:
                del self.blobs[key]
            for relative, data in checked.items():
                self.blobs[(DEFAULT_CONTAINER, prefix + relative)] = _Blob(
                    data=data, committed=True, etag=f'"0x{self._tick():X}"'
                )
            self.job_outputs.setdefault(job_name, {})[output_name] = checked

    def add_compute(self, name: str, vm_size: str = "Standard_DS3_v2", max_nodes: int = 2) -> None:
        """An AmlCompute cluster named ``name`` in the workspace, as the Bicep in infra/ creates it."""
        with self._lock:
            self.computes[name] = {
                "id": f"{self.workspace_id}/computes/{name}",
                "name": name,
                "type": "Microsoft.MachineLearningServices/workspaces/computes",
                "location": LOCATION,
                "systemData": self._system_data(),
                "properties": {
                    "computeType": "AmlCompute",
                    "computeLocation": LOCATION,
                    "provisioningState": "Succeeded",
                    "properties": {
                        "vmSize": vm_size,
                        "vmPriority": "LowPriority",
                        "scaleSettings": {
                            "minNodeCount": 0,
                            "maxNodeCount": max_nodes,
                            "nodeIdleTimeBeforeScaleDown": "PT120S",
                        },
                    },
                },
            }

    def script_deployment(
        self,
        name: str,
        *,
        fails: str | None = None,
        logs: str = "",
        answers: Callable[[Any], tuple[int, Any]] | None = None,
    ) -> None:
        """How the online deployment ``name`` behaves once created: provisioning fails with ``fails`` (a message), its
        logs read ``logs``, and its scoring answers ``answers(request_json) -> (status, json)`` (default: 200 with
        one prediction 0 per row of ``input_data.data``)."""
        with self._lock:
            self._deployment_scripts[name] = _DeploymentScript(fails, logs, answers)

    def fail_next(self, path_regex: str, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests whose path matches ``path_regex`` (re.search) with ``status``.

        401 carries an ARM InvalidAuthenticationToken error, 429 ``Retry-After: 0``. Prefer ARM paths: faults on
        blob paths get azure-storage-blob's own retry policy, whose first backoff is about 15 s.
        """
        if not 400 <= status <= 599:
            raise ValueError(f"{status} is not an error status")
        with self._lock:
            self._faults.append(_Fault(re.compile(path_regex), status, times))

    def writes(self) -> list[RecordedRequest]:
        with self._lock:
            return [request for request in self.requests if request.is_write]

    def bytes_uploaded(self) -> int:
        """Blob content received: whole-blob PUTs and staged blocks (not block lists or metadata)."""
        with self._lock:
            return sum(
                r.bytes_in
                for r in self.requests
                if r.blob and r.method == "PUT" and r.status < 300 and r.query.get("comp") in {None, "block"}
            )

    # --- helpers ---

    @property
    def workspace_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.workspace_name}"
        )

    @property
    def account_url(self) -> str:
        return f"{self.url}/{STORAGE_ACCOUNT}.blob.{STORAGE_SUFFIX}"

    def _system_data(self) -> dict[str, str]:
        now = _now()
        return {
            "createdAt": now,
            "createdBy": "Test User",
            "createdByType": "User",
            "lastModifiedAt": now,
            "lastModifiedBy": "Test User",
            "lastModifiedByType": "User",
        }

    def _tick(self) -> int:
        self._sequence += 1
        return self._sequence

    # --- dispatch ---

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[_Response, bool]:
        """Answer one request; returns the response and whether it was a blob-storage call."""
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        parsed: Any = None
        if body and "x-www-form-urlencoded" in headers.get("content-type", ""):
            parsed = dict(parse_qsl(body.decode(), keep_blank_values=True))  # Entra ID's token requests
        elif body and "json" in headers.get("content-type", "json"):
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        is_blob = path.split("/")[1].endswith(f".blob.{STORAGE_SUFFIX}")  # path-style account URL
        record = RecordedRequest(method, path, query, parsed, len(body), blob=is_blob)
        with self._lock:
            self.requests.append(record)
            response = self._unauthorized(path, query, headers, is_blob)
            if response is None:
                response = self._injected_fault(path, is_blob)
            if response is None:
                try:
                    if is_blob:
                        response = self._storage(method, parts.path, query, headers, body)
                    elif path == "/github/idtoken":
                        response = self._github_idtoken(method, headers, query)
                    elif path == AZURE_DEVOPS_OIDC_PATH:
                        response = self._azure_devops_oidctoken(method, headers, query)
                    elif path.startswith("/endpoints/"):
                        response = self._score(method, path, headers, parsed)
                    else:
                        response = self._route(method, path, query, parsed)
                except Exception as error:  # a bug in the double: keep serving, say so, and keep the traceback
                    self.errors.append(traceback.format_exc())
                    # 501, not 500: azure-core retries 500 with seconds of backoff, and this would fail every time.
                    response = _arm_error(501, "TestDoubleError", f"{type(error).__name__}: {error}")
            if response is None:
                self.unknown.append(record)
                response = _arm_error(
                    404, "TestDoubleUnknownRequest", f"The Azure ML test double does not serve {method} {path}."
                )
            record.status = response.status
        return response, is_blob

    # --- authentication: what each surface accepts ---

    def _unauthorized(
        self, path: str, query: dict[str, str], headers: dict[str, str], is_blob: bool
    ) -> _Response | None:
        """None when the request may proceed; else what Azure answers a missing, expired or foreign token."""
        if path in {"/metadata/endpoints", "/github/idtoken", AZURE_DEVOPS_OIDC_PATH} or path.startswith(
            ("/discovery/", f"/{TENANT_ID}/")
        ):
            return None  # public, or authenticated its own way (the OIDC request token, client assertions)
        if is_blob and query.get("sig"):
            return None  # a SAS URL the service handed out (code uploads)
        if is_blob:
            audiences = {STORAGE_AUDIENCE, STORAGE_AUDIENCE + "/"}
        elif path.startswith("/endpoints/"):  # scoring with Microsoft Entra token auth (auth_mode aad_token)
            audiences = {ML_AUDIENCE, ML_AUDIENCE + "/"}
        elif path.startswith(("/registrymanagement/", "/mferp/")):
            # A registry's regional front end takes Azure ML's audience and Azure Resource Manager's (the SDK's
            # registry client asks for the public cloud's, whatever cloud the workspace client is in).
            audiences = {
                self.url,
                self.url + "/",
                ML_AUDIENCE,
                ML_AUDIENCE + "/",
                MANAGEMENT_AUDIENCE,
                MANAGEMENT_AUDIENCE + "/",
            }
        else:
            audiences = {self.url, self.url + "/"}
        problem = self._token_problem(headers.get("authorization", ""), audiences)
        if problem is None:
            return None
        code, message = problem
        if is_blob:
            return _storage_error(401, "InvalidAuthenticationInfo", message)
        return _arm_error(
            401, code, message, {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'}
        )

    def _token_problem(self, authorization: str, audiences: set[str]) -> tuple[str, str] | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
        try:
            claims = _decode(token)
        except jwt.InvalidTokenError:
            return "InvalidAuthenticationToken", "The access token is invalid."
        if claims.get("exp", 0) <= self.clock.now():
            return "ExpiredAuthenticationToken", "Lifetime validation failed. The token is expired."
        if claims.get("aud") not in audiences:
            return (
                "InvalidAuthenticationTokenAudience",
                f"The access token has the wrong audience: {claims.get('aud')}.",
            )
        return None

    def _github_token(self) -> str:
        return self._oidc_token(GITHUB_ISSUER, "repo:acme/model:environment:dev")

    def _oidc_token(self, issuer: str, subject: str) -> str:
        now = int(self.clock.now())
        claims = {
            "iss": issuer,
            "aud": TOKEN_EXCHANGE_AUDIENCE,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + self.assertion_lifetime,
        }
        return jwt.encode(claims, _SIGNING_KEY, algorithm="HS256")

    def _github_idtoken(self, method: str, headers: dict[str, str], query: dict[str, str]) -> _Response:
        if headers.get("authorization", "").lower() != f"bearer {GITHUB_REQUEST_TOKEN}":
            return _Response(401, {"message": "Bad credentials"})
        if query.get("audience") != TOKEN_EXCHANGE_AUDIENCE:
            return _Response(400, {"message": f"audience must be {TOKEN_EXCHANGE_AUDIENCE}"})
        return _Response(200, {"value": self._github_token(), "count": 1})

    def _azure_devops_oidctoken(self, method: str, headers: dict[str, str], query: dict[str, str]) -> _Response:
        """Azure DevOps' "Oidctoken - Create": a POST with the job's System.AccessToken, for one service connection."""
        if method != "POST":
            return _Response(405, {"message": f"{method} is not allowed: POST"})
        if headers.get("authorization", "").lower() != f"bearer {AZURE_DEVOPS_ACCESS_TOKEN}":
            return _Response(401, {"message": "TF400813: The user is not authorized to access this resource."})
        if not query.get("api-version", "").startswith("7.1"):
            return _Response(400, {"message": "The api-version query parameter must be 7.1 or a 7.1 preview."})
        if query.get("serviceConnectionId") != AZURE_DEVOPS_SERVICE_CONNECTION_ID:
            return _Response(400, {"message": f"Service connection {query.get('serviceConnectionId')} not found."})
        return _Response(200, {"oidcToken": self._oidc_token(AZURE_DEVOPS_ISSUER, "sc://acme/model/mlops-dev")})

    def _openid_configuration(self) -> dict[str, Any]:
        base = f"{self.url}/{TENANT_ID}"
        return {
            "issuer": f"{base}/v2.0",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": "EU",
        }

    def _token(self, form: dict[str, str]) -> _Response:
        """Client credentials with a federated assertion: what Entra ID checks, and its error when it has expired."""

        def refuse(status: int, error: str, description: str) -> _Response:
            code = int(description.split(":", 1)[0].removeprefix("AADSTS"))
            return _Response(status, {"error": error, "error_description": description, "error_codes": [code]})

        if form.get("grant_type") != "client_credentials" or "client_assertion" not in form:
            return refuse(
                400, "unsupported_grant_type", "AADSTS70003: The double supports federated client credentials only."
            )
        try:
            assertion = _decode(form["client_assertion"])
        except jwt.InvalidTokenError:
            return refuse(400, "invalid_client", "AADSTS50027: JWT token is invalid or malformed.")
        if assertion.get("aud") != TOKEN_EXCHANGE_AUDIENCE:
            return refuse(
                400,
                "invalid_client",
                "AADSTS700212: No matching federated identity record found for presented assertion audience.",
            )
        if form.get("client_id") != CI_CLIENT_ID:
            return refuse(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{form.get('client_id')}' was not found.",
            )
        if assertion.get("exp", 0) <= self.clock.now():
            return refuse(
                400,
                "invalid_client",
                "AADSTS700024: Client assertion is not within its valid time range. Current time: "
                f"{dt.datetime.fromtimestamp(self.clock.now(), dt.UTC).isoformat()}, assertion valid until "
                f"{dt.datetime.fromtimestamp(assertion['exp'], dt.UTC).isoformat()}.",
            )
        scope = form.get("scope", "").split()[0] if form.get("scope") else ""
        audience = scope.removesuffix("/.default")
        issued = access_token(audience, self.clock, appid=CI_CLIENT_ID)
        self.tokens_issued.append({"scope": scope, "client_id": form["client_id"], "assertion_exp": assertion["exp"]})
        return _Response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": ACCESS_TOKEN_LIFETIME,
                "ext_expires_in": ACCESS_TOKEN_LIFETIME,
                "access_token": issued.token,
            },
        )

    def _injected_fault(self, path: str, is_blob: bool) -> _Response | None:
        fault = next((f for f in self._faults if f.remaining > 0 and f.pattern.search(path)), None)
        if fault is None:
            return None
        fault.remaining -= 1
        code, message = _FAULTS.get(fault.status, ("InternalServerError", "The test double injected a fault."))
        if is_blob:
            if fault.status == 403:  # what Azure Storage answers a token whose identity lacks a data role
                code, message = (
                    "AuthorizationPermissionMismatch",
                    "This request is not authorized to perform this operation using this permission.",
                )
            return _storage_error(fault.status, code, message)
        headers = {"Retry-After": "0"} if fault.status == 429 else {}
        if fault.status == 401:  # what ARM sends with an expired or foreign token
            headers["WWW-Authenticate"] = 'Bearer error="invalid_token", error_description="The token is invalid"'
        return _arm_error(fault.status, code, message, headers)

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> _Response | None:
        if path == "/metadata/endpoints":
            return _Response(200, [self._arm_cloud_metadata()])
        if path == f"/{TENANT_ID}/v2.0/.well-known/openid-configuration":
            return _Response(200, self._openid_configuration())
        if path == f"/{TENANT_ID}/oauth2/v2.0/token" and method == "POST":
            return self._token(body if isinstance(body, dict) else {})
        discovery = re.fullmatch(r"/registrymanagement/v1\.0/registries/(?P<name>[^/]+)/discovery", path)
        if discovery and method == "GET":
            return self._registry_discovery(discovery["name"])
        if path == f"/discovery/workspaces/{WORKSPACE_ID}":
            return _Response(200, self._discovery())
        for pattern, handler in self._routes():
            match = re.fullmatch(pattern, path, flags=re.IGNORECASE)
            if match:
                groups = match.groupdict()
                expected = {"sub": self.subscription_id, "rg": self.resource_group, "ws": self.workspace_name}
                if any(groups[key] != value for key, value in expected.items() if key in groups):
                    return _arm_error(
                        404, "ResourceNotFound", f"Workspace {groups.get('ws')} not found in this resource group."
                    )
                return handler(method, match, query, body)
        return None

    def _routes(self) -> Iterator[tuple[str, Callable[..., _Response | None]]]:
        kinds = "|".join(VERSIONED_KINDS)
        history = "/history/v1.0" + _ARM_WS
        yield _ARM_WS, self._workspace
        yield _ARM_WS + r"/datastores", self._datastores
        yield _ARM_WS + r"/datastores/(?P<name>[^/]+)", self._datastore
        yield _ARM_WS + r"/datastores/(?P<name>[^/]+)/listSecrets", self._datastore_secrets
        yield _ARM_WS + rf"/(?P<kind>{kinds})", self._asset_containers
        yield _ARM_WS + rf"/(?P<kind>{kinds})/(?P<name>[^/]+)", self._asset_container
        yield _ARM_WS + rf"/(?P<kind>{kinds})/(?P<name>[^/]+)/versions", self._asset_versions
        yield _ARM_WS + rf"/(?P<kind>{kinds})/(?P<name>[^/]+)/versions/(?P<version>[^/]+)", self._asset_version
        yield (
            _ARM_WS + rf"/(?P<kind>{kinds})/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/startPendingUpload",
            self._start_pending_upload,
        )
        yield _ARM_WS + r"/computes/(?P<name>[^/]+)", self._compute
        yield _ARM_WS + r"/onlineEndpoints", self._endpoint_list
        yield _ARM_WS + r"/onlineEndpoints/(?P<endpoint>[^/]+)", self._endpoint
        yield _ARM_WS + r"/onlineEndpoints/(?P<endpoint>[^/]+)/token", self._endpoint_token
        yield _ARM_WS + r"/onlineEndpoints/(?P<endpoint>[^/]+)/deployments", self._deployment_list
        yield _ARM_WS + r"/onlineEndpoints/(?P<endpoint>[^/]+)/deployments/(?P<deployment>[^/]+)", self._deployment
        yield (
            _ARM_WS + r"/onlineEndpoints/(?P<endpoint>[^/]+)/deployments/(?P<deployment>[^/]+)/getLogs",
            self._deployment_logs,
        )
        yield r"/operations/(?P<operation>[^/]+)", self._async_operation
        yield _ARM_WS + r"/jobs", self._job_list
        yield _ARM_WS + r"/jobs/(?P<name>[^/]+)", self._job
        yield _ARM_WS + r"/jobs/(?P<name>[^/]+)/cancel", self._job_cancel
        yield _ARM_WS + r"/schedules", self._schedule_list
        yield _ARM_WS + r"/schedules/(?P<name>[^/]+)", self._schedule
        yield history + r"/runs/(?P<name>[^/]+)", self._run
        yield history + r"/runs/(?P<name>[^/]+)/details", self._run_details
        yield history + r"/runs/(?P<name>[^/]+)/children", self._run_children
        yield history + r"/experiments/(?P<experiment>[^/]+)/runs/(?P<name>[^/]+)", self._run_update
        yield history + r"/rundata", self._run_data
        yield "/data/v1.0" + _ARM_WS + r"/dataversion/batchGetResolvedUris", self._resolve_data_uris
        registry = (
            r"/mferp/managementfrontend/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
            r"/providers/Microsoft\.MachineLearningServices/registries/(?P<registry>[^/]+)"
        )
        yield registry + r"/models/(?P<name>[^/]+)/versions", self._registry_model_versions
        yield registry + r"/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)", self._registry_model
        yield registry + r"/import", self._registry_import
        yield r"/mferp/managementfrontend/operations/(?P<operation>[^/]+)", self._operation

    # --- cloud, workspace, datastores ---

    def _arm_cloud_metadata(self) -> dict[str, Any]:
        return {
            "name": self.cloud_name,
            "portal": f"{self.url}/portal/",
            "resourceManager": f"{self.url}/",
            "authentication": {"loginEndpoint": f"{self.url}/login/", "audiences": [f"{self.url}/"]},
            "suffixes": {"storage": STORAGE_SUFFIX},
        }

    def _discovery(self) -> dict[str, str]:
        keys = ("api", "catalog", "experimentation", "gallery", "history", "hyperdrive", "labeling", "modelmanagement")
        return {key: self.url for key in (*keys, "pipelines", "studiometadata")}

    def _workspace(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "GET":
            return None
        providers = f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers"
        return _Response(
            200,
            {
                "id": self.workspace_id,
                "name": self.workspace_name,
                "type": "Microsoft.MachineLearningServices/workspaces",
                "location": LOCATION,
                "kind": "Default",
                "tags": {},
                "sku": {"name": "Basic", "tier": "Basic"},
                "identity": {"type": "SystemAssigned", "principalId": OBJECT_ID, "tenantId": TENANT_ID},
                "systemData": self._system_data(),
                "properties": {
                    "friendlyName": self.workspace_name,
                    "description": "Azure ML workspace test double",
                    "workspaceId": WORKSPACE_ID,
                    "tenantId": TENANT_ID,
                    "provisioningState": "Succeeded",
                    "storageAccount": f"{providers}/Microsoft.Storage/storageAccounts/{STORAGE_ACCOUNT}",
                    "keyVault": f"{providers}/Microsoft.KeyVault/vaults/kv-test",
                    "applicationInsights": f"{providers}/Microsoft.Insights/components/appi-test",
                    "discoveryUrl": f"{self.url}/discovery/workspaces/{WORKSPACE_ID}",
                    "mlFlowTrackingUri": f"azureml://127.0.0.1:{self.port}/mlflow/v1.0{self.workspace_id}",
                    "hbiWorkspace": False,
                    "publicNetworkAccess": "Enabled",
                    "v1LegacyMode": False,
                    "storageHnsEnabled": False,
                },
            },
        )

    def _compute(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "GET":
            return None
        name = match["name"]
        with self._lock:
            found = self.computes.get(name)
        if found is None:
            return _arm_error(404, "ResourceNotFound", f"Compute {name} not found in workspace {self.workspace_name}.")
        return _Response(200, found)

    def _datastore_resource(self) -> dict[str, Any]:
        return {
            "id": f"{self.workspace_id}/datastores/{DEFAULT_DATASTORE}",
            "name": DEFAULT_DATASTORE,
            "type": "Microsoft.MachineLearningServices/workspaces/datastores",
            "systemData": self._system_data(),
            "properties": {
                "datastoreType": "AzureBlob",
                # The SDK builds https://{accountName}.blob.{endpoint}: an account name carrying host and port
                # makes that https://127.0.0.1:PORT/ACCOUNT.blob.core.windows.net, a path-style URL on the double.
                "accountName": f"127.0.0.1:{self.port}/{STORAGE_ACCOUNT}",
                "containerName": DEFAULT_CONTAINER,
                "endpoint": STORAGE_SUFFIX,
                "protocol": "https",
                # Identity-based, as infra/ deploys it (allowSharedKeyAccess: false): clients use their own token.
                "credentials": {"credentialsType": "None"},
                "serviceDataAccessAuthIdentity": "WorkspaceSystemAssignedIdentity",
                "isDefault": True,
                "tags": {},
                "properties": {},
            },
        }

    def _datastores(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "GET":
            return None
        return _Response(200, {"value": [self._datastore_resource()]})

    def _datastore(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "GET":
            return None
        if match["name"] != DEFAULT_DATASTORE:
            return _arm_error(404, "UserError", f"Datastore {match['name']} not found.")
        return _Response(200, self._datastore_resource())

    def _datastore_secrets(
        self, method: str, match: re.Match[str], query: dict[str, str], body: Any
    ) -> _Response | None:
        if method != "POST" or match["name"] != DEFAULT_DATASTORE:
            return None
        return _arm_error(
            400, "UserError", f"Datastore {DEFAULT_DATASTORE} uses identity-based access: it has no secrets."
        )

    # --- versioned assets: codes, environments, components, data, models ---

    def _asset_id(self, kind: str, name: str, version: str | None = None) -> str:
        asset_id = f"{self.workspace_id}/{kind}/{name}"
        return f"{asset_id}/versions/{version}" if version is not None else asset_id

    def _versions_of(self, kind: str, name: str) -> list[dict[str, Any]]:
        """Oldest first: dicts keep insertion order, and a re-PUT keeps a version's place."""
        return [resource for key, resource in self.assets[kind].items() if key.rsplit(":", 1)[0] == name]

    def _container_resource(self, kind: str, name: str) -> dict[str, Any] | None:
        versions = self._versions_of(kind, name)
        if not versions:
            return None
        latest = versions[-1]["name"]
        next_version = str(int(latest) + 1) if latest.isdigit() else "1"
        return {
            "id": self._asset_id(kind, name),
            "name": name,
            "type": f"Microsoft.MachineLearningServices/workspaces/{kind}",
            "systemData": versions[0]["systemData"],
            "properties": {
                "latestVersion": latest,
                "nextVersion": next_version,
                "isArchived": False,
                "provisioningState": "Succeeded",
                "tags": {},
                "properties": {},
            },
        }

    def _asset_containers(
        self, method: str, match: re.Match[str], query: dict[str, str], body: Any
    ) -> _Response | None:
        if method != "GET":
            return None
        kind = match["kind"].lower()
        names = sorted({key.rsplit(":", 1)[0] for key in self.assets[kind]})
        return _Response(200, {"value": [self._container_resource(kind, name) for name in names]})

    def _asset_container(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "GET":
            return None
        kind, name = match["kind"].lower(), match["name"]
        container = self._container_resource(kind, name)
        if container is None:
            return _arm_error(404, "UserError", f"Could not find asset with name {name} in {kind}.")
        return _Response(200, container)

    def _asset_versions(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "GET":
            return None
        kind, name = match["kind"].lower(), match["name"]
        if "hash" in query:
            # Code dedup: the SDK asks under a fresh random name and reads the match's own name from its id, so the
            # service (and the double) search every code asset for the content hash.
            versions = [
                v
                for v in self.assets[kind].values()
                if v["properties"]["properties"].get("hash_sha256") == query["hash"]
            ]
        else:
            versions = self._versions_of(kind, name)
        if "desc" in query.get("$orderBy", query.get("$orderby", "")).lower():
            versions = versions[::-1]
        if query.get("$top"):
            versions = versions[: int(query["$top"])]
        return _Response(200, {"value": versions})

    def _asset_version(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        kind, name, version = match["kind"].lower(), match["name"], match["version"]
        key = f"{name}:{version}"
        stored = self.assets[kind].get(key)
        if method == "GET":
            if stored is None:
                return _arm_error(404, "UserError", f"Could not find asset with name {name} and version {version}.")
            return _Response(200, stored)
        if method == "PUT":
            properties = dict((body or {}).get("properties") or {})
            # Defaults the service fills in, which the SDK's deserialisers read without checking.
            defaults: dict[str, Any] = {"isAnonymous": False, "isArchived": False, "tags": {}, "properties": {}}
            for default_key, default in defaults.items():
                properties.setdefault(default_key, default)
            if kind == "models":
                properties.setdefault("flavors", {})
            properties["provisioningState"] = "Succeeded"
            resource = {
                "id": self._asset_id(kind, name, version),
                "name": version,
                "type": f"Microsoft.MachineLearningServices/workspaces/{kind}/versions",
                "systemData": stored["systemData"] if stored else self._system_data(),
                "properties": properties,
            }
            if kind == "components":
                # The service returns the spec with the name and version it registered under.
                spec = dict(properties.get("componentSpec") or {})
                spec.update({"name": name, "version": version})
                properties["componentSpec"] = spec
            self.assets[kind][key] = resource
            return _Response(200 if stored else 201, resource)
        if method == "DELETE":
            return _Response(200 if self.assets[kind].pop(key, None) else 204)
        return None

    def _start_pending_upload(
        self, method: str, match: re.Match[str], query: dict[str, str], body: Any
    ) -> _Response | None:
        if method != "POST":
            return None
        # A fresh container per upload, as the service does; the SAS token is decoration for the storage SDK.
        container = f"{WORKSPACE_ID}-{uuid.uuid4().hex[:10]}"
        self.containers.add(container)
        blob_uri = f"{self.account_url}/{container}"
        return _Response(
            200,
            {
                "pendingUploadId": str(uuid.uuid4()),
                "pendingUploadType": "TemporaryBlobReference",
                "blobReferenceForConsumption": {
                    "blobUri": blob_uri,
                    "storageAccountArmId": (
                        f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
                        f"/providers/Microsoft.Storage/storageAccounts/{STORAGE_ACCOUNT}"
                    ),
                    "credential": {
                        "credentialType": "SAS",
                        "sasUri": f"{blob_uri}?sv=2021-08-06&sr=c&sp=rcwl&sig=test-double",
                    },
                },
            },
        )

    # --- jobs and run history ---

    def _job_status(self, name: str, *, advance: bool) -> str:
        """The job's status, one scripted step further on if ``advance``; each change goes to its log."""
        run = self.job_runs[name]
        status = run.advance() if advance else run.peek()
        properties = self.jobs[name]["properties"]
        if properties["status"] != status:
            properties["status"] = status
            self._log(name, f"Job status: {status}.")
        return status

    @staticmethod
    def _log_blob(name: str) -> tuple[str, str]:
        return DEFAULT_CONTAINER, f"ExperimentRun/dcid.{name}/logs/azureml/executionlogs.txt"

    def _log(self, name: str, line: str) -> None:
        blob = self.blobs.setdefault(self._log_blob(name), _Blob(content_type="text/plain", committed=True))
        blob.data += f"[{_now()}] {line}\n".encode()
        blob.etag = f'"0x{self._tick():X}"'

    def _job(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        name = match["name"]
        if method == "GET":
            if name not in self.jobs:
                child = self._find_child(name)
                if child is not None:  # pipeline steps: the service answers without properties
                    return _Response(200, {"id": f"{self.workspace_id}/jobs/{name}", "name": name, "properties": None})
                return _arm_error(404, "UserError", f"Job {name} not found.")
            self._job_status(name, advance=True)
            return _Response(200, self.jobs[name])
        if method == "PUT":
            if name in self.jobs:
                return _arm_error(409, "UserError", f"A job named {name} already exists; job names are unique.")
            script, error, outputs = self._next_script or (list(DEFAULT_JOB_SCRIPT), None, {})
            self._next_script = None
            self.job_runs[name] = _JobRun(script, error)
            properties = dict((body or {}).get("properties") or {})
            experiment = properties.get("experimentName") or "Default"
            studio = f"{self.url}/portal/runs/{name}?wsid={self.workspace_id}"
            properties.update(
                {
                    "experimentName": experiment,
                    "status": "NotStarted",
                    "services": {
                        "Studio": {"jobServiceType": "Studio", "endpoint": studio},
                        "Tracking": {
                            "jobServiceType": "Tracking",
                            "endpoint": f"azureml://127.0.0.1:{self.port}/mlflow/v1.0{self.workspace_id}",
                        },
                    },
                }
            )
            properties.setdefault("properties", {})
            properties.setdefault("tags", {})
            self.jobs[name] = {
                "id": f"{self.workspace_id}/jobs/{name}",
                "name": name,
                "type": "Microsoft.MachineLearningServices/workspaces/jobs",
                "systemData": self._system_data(),
                "properties": properties,
            }
            self._log(name, f"Submitted pipeline job {name} to experiment {experiment}.")
            for output_name, files in outputs.items():  # there from the start: download still waits for the end
                self.set_job_output(name, output_name, files)
            return _Response(201, self.jobs[name])
        return None

    def _job_list(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "GET":
            return None
        for name in self.jobs:
            self._job_status(name, advance=False)
        return _Response(200, {"value": list(self.jobs.values())})

    def _job_cancel(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "POST":
            return None
        name = match["name"]
        if name not in self.jobs:
            return _arm_error(404, "UserError", f"Job {name} not found.")
        run = self.job_runs[name]
        if run.peek() not in TERMINAL_STATUSES:
            run.canceled = True
        self._job_status(name, advance=False)  # logs the cancellation
        # 202 without Location: the SDK's ARM poller then counts the cancel as done, without a 30 s poll interval.
        return _Response(202)

    def _children(self, name: str) -> list[dict[str, Any]]:
        parent = self.jobs[name]
        status = self.job_runs[name].peek()
        nodes = parent["properties"].get("jobs") or {}
        return [
            {
                "runId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/{node}")),
                "parentRunId": name,
                "rootRunId": name,
                "experimentId": parent["properties"]["experimentName"],
                "displayName": node,
                "name": node,
                "status": status,
                "runType": "azureml.StepRun",
                "properties": {"azureml.nodeid": node, "azureml.pipelinerunid": name},
                "tags": {},
                "createdUtc": parent["systemData"]["createdAt"],
            }
            for node in nodes
        ]

    def _find_child(self, run_id: str) -> dict[str, Any] | None:
        for name in self.jobs:
            for child in self._children(name):
                if child["runId"] == run_id:
                    return child
        return None

    def _run_payload(self, name: str, *, advance: bool) -> dict[str, Any] | None:
        if name not in self.jobs:
            return self._find_child(name)
        status = self._job_status(name, advance=advance)
        run = self.job_runs[name]
        properties = self.jobs[name]["properties"]
        payload: dict[str, Any] = {
            "runId": name,
            "runUuid": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
            "status": status,
            "experimentId": properties["experimentName"],
            "displayName": properties.get("displayName") or name,
            "runType": "azureml.PipelineRun",
            "properties": properties.get("properties", {}),
            "tags": properties.get("tags", {}),
            "createdUtc": self.jobs[name]["systemData"]["createdAt"],
            "warnings": [],
            "logFiles": {  # the one log jobs.stream prints for a pipeline, read through a SAS URL
                "logs/azureml/executionlogs.txt": blob_url(self, *self._log_blob(name))
                + "?sv=2021-08-06&sr=b&sp=r&sig=test-double"
            },
        }
        if status == "Failed":
            payload["error"] = {"error": {"code": "UserError", "message": run.error or "The job failed."}}
        return payload

    def _run(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "GET":
            return None
        payload = self._run_payload(match["name"], advance=False)
        if payload is None:
            return _arm_error(404, "UserError", f"Run {match['name']} not found.")
        return _Response(200, payload)

    def _run_details(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "GET":
            return None
        payload = self._run_payload(match["name"], advance=True)
        if payload is None:
            return _arm_error(404, "UserError", f"Run {match['name']} not found.")
        return _Response(200, payload)

    def _run_children(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method not in {"GET", "POST"}:
            return None
        name = match["name"]
        if name not in self.jobs:
            return _arm_error(404, "UserError", f"Run {name} not found.")
        children = self._children(name)
        if query.get("$top"):
            children = children[: int(query["$top"])]
        return _Response(200, {"value": children, "continuationToken": None, "nextLink": None})

    def _run_update(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "PATCH":
            return None
        name = match["name"]
        if name not in self.jobs:
            return _arm_error(404, "UserError", f"Run {name} not found.")
        # jobs.update and archive: the portal's metadata edit, applied to the job the ARM calls return.
        properties, edit = self.jobs[name]["properties"], body if isinstance(body, dict) else {}
        for field_name in ("displayName", "description"):
            if edit.get(field_name) is not None:
                properties[field_name] = edit[field_name]
        for field_name in ("tags", "properties"):
            properties.setdefault(field_name, {}).update(edit.get(field_name) or {})
        if edit.get("hidden") is not None:
            properties["isArchived"] = edit["hidden"]
        return _Response(200, self._run_payload(name, advance=False))

    def _output_prefix(self, job_name: str, output_name: str) -> str:
        """Where a job's output lands in the default datastore: the path it was submitted with, or the default."""
        declared = ((self.jobs[job_name]["properties"].get("outputs") or {}).get(output_name) or {}).get("uri") or ""
        match = re.fullmatch(rf"azureml://datastores/{DEFAULT_DATASTORE}/paths/(.+?)/?", declared)
        return f"{match.group(1)}/" if match else JOB_OUTPUT_PATH.format(job=job_name, output=output_name)

    def _output_asset_id(self, job_name: str, output_name: str) -> str:
        """The id of the data asset the service registers for a job's output, as run history reports it."""
        return (
            f"azureml://locations/{LOCATION}/workspaces/{WORKSPACE_ID}"
            f"/data/azureml_{job_name}_output_data_{output_name}/versions/1"
        )

    def _run_data(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "POST":
            return None
        name = (body or {}).get("runId") if isinstance(body, dict) else None
        if not name:
            return _arm_error(400, "UserError", "runId is required.")
        # Not a status poll: jobs.download reads this right after its own jobs.get, which already moved the script.
        payload = self._run_payload(name, advance=False)
        if payload is None:
            return _arm_error(404, "UserError", f"Run {name} not found.")
        # "UriFolder", as run history spells it. azure-ai-ml 1.35 only resolves the snake_case control-plane types
        # through the dataset dataplane, so for this one it searches azureml/JOB/OUTPUT/ in the default datastore.
        payload["outputs"] = {
            output: {"assetId": self._output_asset_id(name, output), "type": "UriFolder"}
            for output in self.job_outputs.get(name, {})
        }
        return _Response(200, {"runMetadata": payload, "runDefinition": None, "jobSpecification": None})

    def _resolve_data_uris(
        self, method: str, match: re.Match[str], query: dict[str, str], body: Any
    ) -> _Response | None:
        if method != "POST":
            return None
        known = {
            self._output_asset_id(job, output): self._output_prefix(job, output)
            for job, outputs in self.job_outputs.items()
            for output in outputs
        }
        requested = (body or {}).get("values") if isinstance(body, dict) else None
        if not isinstance(requested, list):
            return _arm_error(400, "UserError", "values must be a list of data asset ids.")
        unknown = [asset_id for asset_id in requested if asset_id not in known]
        if unknown:
            return _arm_error(404, "UserError", f"Data asset(s) not found: {', '.join(unknown)}.")
        datastore = (
            f"azureml://subscriptions/{self.subscription_id}/resourcegroups/{self.resource_group}"
            f"/workspaces/{self.workspace_name}/datastores/{DEFAULT_DATASTORE}/paths/"
        )
        resolved = {asset_id: {"uri": datastore + known[asset_id], "type": "UriFolder"} for asset_id in requested}
        return _Response(200, {"values": resolved})

    # --- managed online endpoints ---

    def _operation_started(
        self, result: dict[str, Any] | None = None, *, status: int = 201, body: Any = None
    ) -> _Response:
        """A long-running operation, done by the time it is first polled (Retry-After: 0 keeps tests fast)."""
        operation = uuid.uuid4().hex
        self.operations[operation] = result or {"status": "Succeeded"}
        url = f"{self.url}/operations/{operation}"
        return _Response(status, body, {"Azure-AsyncOperation": url, "Location": url, "Retry-After": "0"})

    def _async_operation(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "GET" or match["operation"] not in self.operations:
            return None
        return _Response(200, self.operations[match["operation"]])

    def _endpoint_resource(
        self, name: str, properties: dict[str, Any], previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        kept = dict((previous or {}).get("properties") or {})
        kept.update(properties)
        kept.update(
            {
                "provisioningState": "Succeeded",
                "scoringUri": f"{self.url}/endpoints/{name}/score",
                "swaggerUri": f"{self.url}/endpoints/{name}/swagger.json",
                "traffic": {k: v for k, v in (kept.get("traffic") or {}).items() if v},
                "mirrorTraffic": {k: v for k, v in (kept.get("mirrorTraffic") or {}).items() if v},
            }
        )
        return {
            "id": f"{self.workspace_id}/onlineEndpoints/{name}",
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
            "location": LOCATION,
            "kind": "Managed",
            "tags": {},
            "identity": {
                "type": "SystemAssigned",
                "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
                "tenantId": TENANT_ID,
            },
            "systemData": (previous or {}).get("systemData") or self._system_data(),
            "properties": kept,
        }

    def _traffic_problem(self, name: str, properties: dict[str, Any]) -> str | None:
        """What Azure refuses in an endpoint's traffic: unknown or unhealthy deployments, a split that is not 100."""
        traffic = {k: v for k, v in (properties.get("traffic") or {}).items() if v}
        mirror = {k: v for k, v in (properties.get("mirrorTraffic") or {}).items() if v}
        for deployment in [*traffic, *mirror]:
            found = self.deployments.get((name, deployment))
            if found is None:
                return f"Deployment {deployment} does not exist in endpoint {name}."
            if found["properties"]["provisioningState"] != "Succeeded":
                return f"Deployment {deployment} is not in a Succeeded state and cannot take traffic."
        if traffic and sum(traffic.values()) != 100:
            return f"Traffic values must sum to 100, not {sum(traffic.values())}."
        if sum(mirror.values()) > 50 or len(mirror) > 1:
            return "Mirrored traffic goes to one deployment, with at most 50 percent."
        if set(mirror) & set(traffic):
            return "A deployment cannot receive live and mirrored traffic at once."
        return None

    def _endpoint_list(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "GET":
            return None
        return _Response(200, {"value": list(self.endpoints.values())})

    def _endpoint(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        name = match["endpoint"]
        found = self.endpoints.get(name)
        if method == "GET":
            if found is None:
                return _arm_error(404, "UserError", f"Could not find endpoint {name}.")
            return _Response(200, found)
        if method in {"PUT", "PATCH"}:
            properties = dict((body or {}).get("properties") or {})
            if found is None and method == "PATCH":
                return _arm_error(404, "UserError", f"Could not find endpoint {name}.")
            if found is None and properties.get("authMode") not in {"AADToken", "Key", "AMLToken"}:
                return _arm_error(400, "BadArgument", "authMode must be one of AADToken, Key, AMLToken.")
            problem = self._traffic_problem(name, {**(found or {}).get("properties", {}), **properties})
            if problem:
                return _arm_error(400, "BadArgument", problem)
            self.endpoints[name] = self._endpoint_resource(name, properties, found)
            return self._operation_started(status=201 if found is None else 200, body=self.endpoints[name])
        if method == "DELETE":
            if found is None:
                return _Response(204)
            del self.endpoints[name]
            for key in [key for key in self.deployments if key[0] == name]:
                del self.deployments[key]
            return self._operation_started(status=202)
        return None

    def _endpoint_token(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "POST":
            return None
        if match["endpoint"] not in self.endpoints:
            return _arm_error(404, "UserError", f"Could not find endpoint {match['endpoint']}.")
        token = access_token(ML_AUDIENCE, self.clock)
        expiry = dt.datetime.fromtimestamp(token.expires_on, dt.UTC).isoformat()
        return _Response(200, {"accessToken": token.token, "tokenType": "Bearer", "expiryTimeUtc": expiry})

    def _deployment_list(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "GET":
            return None
        return _Response(200, {"value": [d for (e, _), d in self.deployments.items() if e == match["endpoint"]]})

    def _deployment(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        endpoint, name = match["endpoint"], match["deployment"]
        found = self.deployments.get((endpoint, name))
        if method == "GET":
            if found is None:
                return _arm_error(404, "UserError", f"Could not find deployment {name} in endpoint {endpoint}.")
            return _Response(200, found)
        if method == "PUT":
            if endpoint not in self.endpoints:
                return _arm_error(404, "UserError", f"Could not find endpoint {endpoint}.")
            properties = dict((body or {}).get("properties") or {})
            for field_name in ("model", "environmentId", "instanceType"):
                if not properties.get(field_name):
                    return _arm_error(400, "BadArgument", f"The deployment needs {field_name}.")
            model = self._model_reference_problem(properties["model"])
            if model:
                return _arm_error(400, "BadArgument", model)
            script = self._deployment_scripts.get(name, _DeploymentScript())
            probe = {
                "failureThreshold": 30,
                "successThreshold": 1,
                "timeout": "PT2S",
                "period": "PT10S",
                "initialDelay": "PT10S",
            }
            for default_key, default in {  # what the service fills in, which the SDK reads back
                "endpointComputeType": "Managed",
                "scaleSettings": {"scaleType": "Default"},
                "requestSettings": {"requestTimeout": "PT5S", "maxConcurrentRequestsPerInstance": 1},
                "livenessProbe": probe,
                "readinessProbe": probe,
                "egressPublicNetworkAccess": "Enabled",
            }.items():
                properties.setdefault(default_key, default)
            properties["provisioningState"] = "Failed" if script.fails else "Succeeded"
            self.deployments[(endpoint, name)] = {
                "id": f"{self.workspace_id}/onlineEndpoints/{endpoint}/deployments/{name}",
                "name": name,
                "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
                "location": LOCATION,
                "kind": "Managed",
                "tags": (body or {}).get("tags") or {},
                "sku": (body or {}).get("sku") or {"name": "Default", "capacity": 1},
                "systemData": (found or {}).get("systemData") or self._system_data(),
                "properties": properties,
            }
            result = {"status": "Succeeded"}
            if script.fails:
                result = {"status": "Failed", "error": {"code": "DeploymentFailed", "message": script.fails}}
            return self._operation_started(
                result, status=201 if found is None else 200, body=self.deployments[(endpoint, name)]
            )
        if method == "DELETE":
            if found is None:
                return _Response(204)
            traffic = (self.endpoints.get(endpoint) or {}).get("properties", {}).get("traffic") or {}
            if traffic.get(name):
                return _arm_error(
                    400, "BadArgument", f"Deployment {name} has {traffic[name]}% of the traffic; move it first."
                )
            del self.deployments[(endpoint, name)]
            return self._operation_started(status=202)
        return None

    def _model_reference_problem(self, model: str) -> str | None:
        """A deployment's model must exist: a workspace model version, or a registry's."""
        registry = re.fullmatch(r"azureml://registries/([^/]+)/models/([^/]+)/versions/([^/]+)", model)
        if registry:
            return None if tuple(registry.groups()) in self.registry_models else f"Model {model} not found."
        workspace = re.search(r"/models/([^/]+)/versions/([^/]+)$", model)
        if workspace and f"{workspace[1]}:{workspace[2]}" in self.assets["models"]:
            return None
        return f"Model {model} not found."

    def _deployment_logs(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "POST":
            return None
        key = (match["endpoint"], match["deployment"])
        if key not in self.deployments:
            return _arm_error(404, "UserError", f"Could not find deployment {key[1]} in endpoint {key[0]}.")
        lines = self._deployment_scripts.get(key[1], _DeploymentScript()).logs.splitlines()
        tail = int((body or {}).get("tail") or len(lines) or 1)
        return _Response(200, {"content": "\n".join(lines[-tail:])})

    def _score(self, method: str, path: str, headers: dict[str, str], body: Any) -> _Response | None:
        """An endpoint's scoring URI: routed by the azureml-model-deployment header, else by the traffic split."""
        found = re.fullmatch(r"/endpoints/([^/]+)/score", path)
        if method != "POST" or not found or found[1] not in self.endpoints:
            return _Response(404, {"message": f"No endpoint at {path}."})
        endpoint = found[1]
        deployment = headers.get("azureml-model-deployment")
        if deployment:
            if (endpoint, deployment) not in self.deployments:
                return _Response(404, {"message": f"Deployment {deployment} not found in endpoint {endpoint}."})
        else:
            traffic = self.endpoints[endpoint]["properties"].get("traffic") or {}
            if not traffic:
                return _Response(424, {"message": "No valid deployments to route to: no deployment has traffic."})
            deployment = max(traffic, key=traffic.get)
        self.scored.append({"endpoint": endpoint, "deployment": deployment, "body": body})
        script = self._deployment_scripts.get(deployment, _DeploymentScript())
        status, answer = (script.answers or _default_answer)(body)
        return _Response(status, answer)

    # --- Azure ML registries ---

    def _registry_discovery(self, name: str) -> _Response:
        return _Response(
            200,
            {
                "registryName": name,
                "tenantId": TENANT_ID,
                "primaryRegion": LOCATION,
                "regions": [LOCATION],
                "subscriptionId": self.subscription_id,
                "resourceGroup": self.resource_group,
                "primaryRegionResourceProviderUri": f"{self.url}/",
                "registryFqdns": {LOCATION: {"api": f"{self.url}/"}},
            },
        )

    def _registry_model_resource(
        self, registry: str, name: str, version: str, source: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "id": f"azureml://registries/{registry}/models/{name}/versions/{version}",  # registry ids are URIs
            "name": version,
            "type": "Microsoft.MachineLearningServices/registries/models/versions",
            "systemData": self._system_data(),
            "properties": {
                **{k: v for k, v in source["properties"].items() if k != "modelUri"},
                "modelUri": f"azureml://registries/{registry}/models/{name}/versions/{version}",
                "provisioningState": "Succeeded",
            },
        }

    def _registry_model(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "GET":
            return None
        found = self.registry_models.get((match["registry"], match["name"], match["version"]))
        if found is None:
            return _arm_error(404, "UserError", f"Model {match['name']}:{match['version']} not found in registry.")
        return _Response(200, found)

    def _registry_model_versions(
        self, method: str, match: re.Match[str], query: dict[str, str], body: Any
    ) -> _Response | None:
        if method != "GET":
            return None
        versions = [m for (r, n, _), m in self.registry_models.items() if (r, n) == (match["registry"], match["name"])]
        if "desc" in query.get("$orderBy", query.get("$orderby", "")).lower():
            versions = versions[::-1]
        return _Response(200, {"value": versions[: int(query["$top"])] if query.get("$top") else versions})

    def _registry_import(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        """Share a workspace model to the registry: a long-running copy that, like the service's, fails for a name
        and version the registry already has, and for a source the workspace does not have."""
        if method != "POST":
            return None
        properties = (body or {}).get("properties") or {}
        source = re.fullmatch(
            rf"azureml://locations/[^/]+/workspaces/{WORKSPACE_ID}/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)",
            properties.get("sourceAssetId", ""),
        )
        if source is None or f"{source['name']}:{source['version']}" not in self.assets["models"]:
            return _arm_error(404, "UserError", f"Source asset {properties.get('sourceAssetId')} not found.")
        registry = match["registry"]
        key = (
            registry,
            properties.get("destinationName") or source["name"],
            properties.get("destinationVersion") or source["version"],
        )
        if key in self.registry_models:
            return _arm_error(409, "UserError", f"Model {key[1]}:{key[2]} already exists in registry {registry}.")
        model = self.assets["models"][f"{source['name']}:{source['version']}"]
        self.registry_models[key] = self._registry_model_resource(*key, model)
        operation = uuid.uuid4().hex
        self.operations[operation] = {}
        location = f"{self.url}/mferp/managementfrontend/operations/{operation}"
        return _Response(202, None, {"Location": location, "Retry-After": "0"})

    def _operation(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "GET" or match["operation"] not in self.operations:
            return None
        return _Response(200, self.operations[match["operation"]])

    # --- schedules ---

    def _schedule(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        name = match["name"]
        if method == "GET":
            if name not in self.schedules:
                return _arm_error(404, "UserError", f"Schedule {name} not found.")
            return _Response(200, self.schedules[name])
        if method == "PUT":
            existed = name in self.schedules
            properties = dict((body or {}).get("properties") or {})
            properties["provisioningState"] = "Succeeded"
            properties.setdefault("isEnabled", True)
            self.schedules[name] = {
                "id": f"{self.workspace_id}/schedules/{name}",
                "name": name,
                "type": "Microsoft.MachineLearningServices/workspaces/schedules",
                "systemData": self._system_data(),
                "properties": properties,
            }
            return _Response(200 if existed else 201, self.schedules[name])
        if method == "DELETE":
            return _Response(200 if self.schedules.pop(name, None) else 204)
        return None

    def _schedule_list(self, method: str, match: re.Match[str], query: dict[str, str], body: Any) -> _Response | None:
        if method != "GET":
            return None
        return _Response(200, {"value": list(self.schedules.values())})

    # --- blob storage (path-style account URL) ---

    def _storage(
        self, method: str, raw_path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> _Response | None:
        segments = raw_path.split("/", 3)  # "", account host, container, blob
        container = unquote(segments[2]) if len(segments) > 2 else ""
        blob_name = unquote(segments[3]) if len(segments) > 3 else ""
        common = {"x-ms-version": headers.get("x-ms-version", "2025-01-05"), "x-ms-request-id": str(uuid.uuid4())}
        if not container:
            return _storage_error(400, "InvalidUri", "Account-level calls are not served by the double.")
        if not blob_name:
            return self._storage_container(method, container, query, common)
        if container not in self.containers:
            return _storage_error(404, "ContainerNotFound", "The specified container does not exist.")
        key = (container, blob_name)
        blob = self.blobs.get(key)
        comp = query.get("comp")
        if method == "PUT":
            metadata = {k[len("x-ms-meta-") :]: v for k, v in headers.items() if k.startswith("x-ms-meta-")}
            if comp == "block":
                blob = self.blobs.setdefault(key, _Blob())
                blob.blocks[query["blockid"]] = body
                return _Response(201, None, common)
            if comp == "blocklist":
                if blob is None:
                    return _storage_error(400, "InvalidBlockList", "No blocks were staged.")
                ids = [element.text or "" for element in ElementTree.fromstring(body)]
                blob.data = b"".join(blob.blocks[block_id] for block_id in ids)
                blob.blocks.clear()
                return self._commit(blob, metadata, headers, common)
            if comp == "metadata":
                if blob is None or not blob.committed:
                    return _storage_error(404, "BlobNotFound", "The specified blob does not exist.")
                blob.metadata = metadata
                return self._commit(blob, None, headers, common, status=200)
            if comp is None:
                if headers.get("if-none-match") == "*" and blob is not None and blob.committed:
                    return _storage_error(409, "BlobAlreadyExists", "The specified blob already exists.")
                blob = self.blobs.setdefault(key, _Blob())
                blob.data = body
                return self._commit(blob, metadata, headers, common)
            return None
        if blob is None or not blob.committed:
            if method == "HEAD":
                return _Response(404, None, {**common, "x-ms-error-code": "BlobNotFound"})
            if method in {"GET", "DELETE"}:
                return _storage_error(404, "BlobNotFound", "The specified blob does not exist.")
            return None
        if method in {"HEAD", "GET"} and comp is None:
            properties = {
                **common,
                "ETag": blob.etag,
                "Last-Modified": _http_date(blob.modified),
                "x-ms-creation-time": _http_date(blob.modified),
                "x-ms-blob-type": "BlockBlob",
                "x-ms-lease-state": "available",
                "x-ms-lease-status": "unlocked",
                "x-ms-server-encrypted": "true",
                "x-ms-access-tier": "Hot",
                "Accept-Ranges": "bytes",
                "Content-Type": blob.content_type,
                **{f"x-ms-meta-{k}": v for k, v in blob.metadata.items()},
            }
            if method == "HEAD":
                return _Response(200, None, {**properties, "Content-Length": str(len(blob.data))})
            return self._download(blob, headers, properties)
        if method == "DELETE":
            del self.blobs[key]
            return _Response(202, None, common)
        return None

    def _commit(
        self,
        blob: _Blob,
        metadata: dict[str, str] | None,
        headers: dict[str, str],
        common: dict[str, str],
        status: int = 201,
    ) -> _Response:
        if metadata is not None:
            blob.metadata = metadata
            blob.content_type = headers.get("x-ms-blob-content-type", blob.content_type)
        blob.committed = True
        blob.modified = dt.datetime.now(dt.UTC)
        blob.etag = f'"0x{self._tick():X}"'
        return _Response(
            status,
            None,
            {
                **common,
                "ETag": blob.etag,
                "Last-Modified": _http_date(blob.modified),
                "x-ms-request-server-encrypted": "true",
            },
        )

    @staticmethod
    def _download(blob: _Blob, headers: dict[str, str], properties: dict[str, str]) -> _Response:
        requested = headers.get("x-ms-range") or headers.get("range")
        if not requested:
            return _Response(200, blob.data, properties)
        start_text, _, end_text = requested.removeprefix("bytes=").partition("-")
        size = len(blob.data)
        if size == 0:
            return _Response(200, b"", properties)
        start = int(start_text)
        end = min(int(end_text) if end_text else size - 1, size - 1)
        if start >= size:
            return _storage_error(416, "InvalidRange", "The range specified is invalid for the current size.")
        return _Response(
            206, blob.data[start : end + 1], {**properties, "Content-Range": f"bytes {start}-{end}/{size}"}
        )

    def _storage_container(
        self, method: str, container: str, query: dict[str, str], common: dict[str, str]
    ) -> _Response | None:
        if query.get("restype") != "container":
            return None
        if method == "PUT" and "comp" not in query:
            if container in self.containers:
                return _storage_error(409, "ContainerAlreadyExists", "The specified container already exists.")
            self.containers.add(container)
            return _Response(
                201,
                None,
                {**common, "ETag": f'"0x{self._tick():X}"', "Last-Modified": _http_date(dt.datetime.now(dt.UTC))},
            )
        if container not in self.containers:
            return _storage_error(404, "ContainerNotFound", "The specified container does not exist.")
        if method in {"GET", "HEAD"} and "comp" not in query:
            return _Response(
                200, None, {**common, "ETag": '"0x1"', "Last-Modified": _http_date(dt.datetime.now(dt.UTC))}
            )
        if method == "GET" and query.get("comp") == "list":
            return self._list_blobs(container, query, common)
        return None

    def _list_blobs(self, container: str, query: dict[str, str], common: dict[str, str]) -> _Response:
        prefix = query.get("prefix", "")
        delimiter = query.get("delimiter", "")
        with_metadata = "metadata" in query.get("include", "")
        names = sorted(n for (c, n), b in self.blobs.items() if c == container and n.startswith(prefix) and b.committed)
        root = ElementTree.Element("EnumerationResults", ServiceEndpoint=self.account_url, ContainerName=container)
        ElementTree.SubElement(root, "Prefix").text = prefix
        blobs = ElementTree.SubElement(root, "Blobs")
        prefixes: set[str] = set()
        for name in names:
            rest = name[len(prefix) :]
            if delimiter and delimiter in rest:
                prefixes.add(prefix + rest.split(delimiter, 1)[0] + delimiter)
                continue
            blob = self.blobs[(container, name)]
            element = ElementTree.SubElement(blobs, "Blob")
            ElementTree.SubElement(element, "Name").text = name
            properties = ElementTree.SubElement(element, "Properties")
            for tag, value in (
                ("Creation-Time", _http_date(blob.modified)),
                ("Last-Modified", _http_date(blob.modified)),
                ("Etag", blob.etag),
                ("Content-Length", str(len(blob.data))),
                ("Content-Type", blob.content_type),
                ("BlobType", "BlockBlob"),
                ("LeaseStatus", "unlocked"),
                ("LeaseState", "available"),
                ("ServerEncrypted", "true"),
            ):
                ElementTree.SubElement(properties, tag).text = value
            if with_metadata:
                metadata = ElementTree.SubElement(element, "Metadata")
                for key, value in blob.metadata.items():
                    ElementTree.SubElement(metadata, key).text = value
        for blob_prefix in sorted(prefixes):
            ElementTree.SubElement(ElementTree.SubElement(blobs, "BlobPrefix"), "Name").text = blob_prefix
        ElementTree.SubElement(root, "NextMarker")
        payload = b'<?xml version="1.0" encoding="utf-8"?>' + ElementTree.tostring(root)
        return _Response(200, payload, {**common, "Content-Type": "application/xml"})


# --- HTTP plumbing ------------------------------------------------------------------------------------------------


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, context: ssl.SSLContext, double: WorkspaceDouble):
        super().__init__(address, handler)
        self.context = context
        self.double = double
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs in the request's own thread, so a slow client never blocks accept().
        request.settimeout(_Handler.timeout)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with self._connections_lock:
            self._connections.add(tls)
        try:
            super().finish_request(tls, client_address)
        except (ssl.SSLError, OSError):
            pass  # the client went away mid-request
        finally:
            with self._connections_lock:
                self._connections.discard(tls)
            tls.close()

    def close_connections(self) -> None:
        """End kept-alive connections, so no handler thread outlives the double."""
        with self._connections_lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):  # already closed by the client
                    connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the Azure SDKs expect
    timeout = 10  # an idle keep-alive connection frees its thread
    server: _TLSServer

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self) -> None:
        body = self._read_body()
        headers = {key.lower(): value for key, value in self.headers.items()}
        response, _ = self.server.double.handle(self.command, self.path, headers, body)
        self.send_response(response.status)
        for key, value in response.headers.items():
            if key.lower() != "content-length":
                self.send_header(key, value)
        length = response.headers.get("Content-Length", str(len(response.payload)))
        self.send_header("Content-Length", length)
        self.send_header("x-ms-test-double", "azure-ml-workspace")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.payload)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # requests are recorded, not printed
        pass


def _checked_files(output_name: str, files: Mapping[str, bytes]) -> dict[str, bytes]:
    """A job output's files, keyed by relative POSIX path: the blob names the SDK turns back into local paths."""
    if not output_name or "/" in output_name:
        raise ValueError(f"output name {output_name!r} must be a single path segment")
    # Blob storage has no empty folders: an output without files would not exist for the SDK.
    if not files:
        raise ValueError(f"output {output_name!r} needs at least one file")
    checked: dict[str, bytes] = {}
    for relative, data in files.items():
        path = PurePosixPath(relative)
        if path.is_absolute() or not path.parts or ".." in path.parts or "\\" in relative:
            raise ValueError(f"file {relative!r} of output {output_name!r} must be a relative POSIX path")
        if not isinstance(data, bytes):
            raise TypeError(f"file {relative!r} of output {output_name!r} must be bytes, not {type(data).__name__}")
        checked[path.as_posix()] = data
    return checked


def blob_url(double: WorkspaceDouble, container: str, name: str) -> str:
    """The double's URL of a blob, for tests that fetch what the SDK uploaded."""
    return f"{double.account_url}/{quote(container)}/{quote(name)}"
