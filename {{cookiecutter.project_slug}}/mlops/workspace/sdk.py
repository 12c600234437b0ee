"""The workspace on azure-ai-ml: the one module that talks to Azure ML, for one environment.

SDK exceptions stop here: authentication, permission and not-found errors become an MlopsError that says what to
do, so commands and the CLI never see azure-core types. tests/azure_double proves this module against a test double
of the workspace API, through the real SDK over HTTPS.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from azure.ai.ml import MLClient
from azure.ai.ml.entities import CronTrigger, JobSchedule, Model, PipelineJob
from azure.ai.ml.exceptions import JobException, MlException
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)

from mlops import credentials
from mlops.assets import Asset
from mlops.errors import MlopsError
from mlops.settings import AzureSettings
from mlops.workspace.interface import (
    Action,
    DeploymentFailed,
    DeploymentSpec,
    DeploymentState,
    EndpointState,
    JobState,
    JobStatus,
)

# Importing azure.ai.ml sets its logger to INFO with a handler of its own on stderr, so each operation narrates itself
# ("Check: endpoint ... exists", colour codes while it waits) between our progress lines. Its warnings still show;
# `mlops --verbose` (the root logger at INFO) shows the rest.
logging.getLogger("azure.ai.ml").setLevel(min(logging.getLogger().getEffectiveLevel(), logging.WARNING))

ANSI_CODE = re.compile(r"\x1b\[[0-9;]*m")
ML_SCOPE = "https://ml.azure.com/.default"  # what an endpoint with Microsoft Entra token auth accepts

T = TypeVar("T")

AUTHENTICATION_HELP = (  # who signs in where: mlops/credentials.py
    "Azure did not accept the credentials. On a laptop run `az login` (and `az account set -s <subscription>`). In "
    "GitHub Actions the mlops commands sign in with the job's OIDC token (ClientAssertionCredential): the job needs "
    "`permissions: id-token: write` and AZURE_CLIENT_ID and AZURE_TENANT_ID in its env, and that identity a "
    "federated credential for the job's subject (repo:OWNER/REPO:environment:ENV; scripts/bootstrap_azure.sh makes "
    "it). In Azure DevOps they sign in with AzurePipelinesCredential: run the command in an AzureCLI@2 task on a "
    "workload identity federation service connection, with `SYSTEM_ACCESSTOKEN: $(System.AccessToken)` in its env"
)
# Azure documents up to 10 minutes before a new role assignment takes effect.
PROPAGATION = "a role assigned in the last minutes can take up to 10 minutes to take effect"
RETRY_EVERY = 20.0  # seconds between attempts while role assignments propagate


class PermissionDenied(MlopsError):
    """A 403: the identity lacks a role, or a new role assignment has not taken effect yet."""


def _role_needed(error: HttpResponseError, settings: AzureSettings) -> str:
    """The built-in role, and where, that the failed operation needs (the names of infra/built-in-roles.json)."""
    url = str(getattr(getattr(error, "response", None), "url", "") or "")
    if ".blob." in url or ".dfs." in url:
        where = f"storage account {settings.storage_account}" if settings.storage_account else "the storage account"
        return f"Storage Blob Data Contributor on {where}"
    if "/registries/" in url:
        return f"AzureML Registry User on registry {settings.ml_registry or 'the Azure ML registry'}"
    return f"AzureML Data Scientist on workspace {settings.workspace}"


def translate(error: Exception, settings: AzureSettings, doing: str) -> MlopsError:
    """One clear error for anything the SDK raises: what failed, why, and what to do."""
    if isinstance(error, MlopsError):
        return error
    text = _first_line(error)
    if "AADSTS700024" in str(error):  # whichever SDK layer wrapped it (storage downloads wrap it in MlException)
        return MlopsError(f"{doing}: {credentials.EXPIRED_ASSERTION_HELP}")
    if isinstance(error, ClientAuthenticationError):
        return MlopsError(f"{doing}: {AUTHENTICATION_HELP}")
    if isinstance(error, ResourceNotFoundError):
        return MlopsError(
            f"{doing}: not found in workspace {settings.workspace} (resource group {settings.resource_group}): "
            f"{text.rstrip('.')}. Deploy the infrastructure, or check config/environments.toml"
        )
    denied = _http_error(error)
    if denied is not None and denied.status_code == 403:
        return PermissionDenied(
            f"{doing}: permission denied ({_first_line(denied).rstrip('.')}). The identity needs "
            f"{_role_needed(denied, settings)} (infra/ grants it to CI); {PROPAGATION}"
        )
    if isinstance(error, HttpResponseError):
        return MlopsError(f"{doing}: Azure answered {error.status_code}: {text}")
    if isinstance(error, ServiceRequestError):
        return MlopsError(f"{doing}: could not reach Azure ({text}); check the network and proxy settings")
    if isinstance(error, (AzureError, MlException)):
        return MlopsError(f"{doing}: {text}")
    raise error  # not the SDK's: a bug, keep its traceback


def _http_error(error: BaseException | None) -> HttpResponseError | None:
    """The service's answer behind an SDK exception: the SDK wraps some (a storage 403 becomes its own
    ValidationException, raised from the HttpResponseError)."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, HttpResponseError):
            return error
        error = error.__cause__ or getattr(error, "inner_exception", None) or error.__context__
        seen += 1
    return None


@contextlib.contextmanager
def azure_errors(settings: AzureSettings, doing: str) -> Iterator[None]:
    try:
        yield
    except (AzureError, MlException) as error:
        raise translate(error, settings, doing) from None


def _plain(value: object) -> str:
    """The SDK returns a str enum for some states and a plain string for others: always the plain value."""
    return str(getattr(value, "value", value))


@contextlib.contextmanager
def _sdk_output() -> Iterator[None]:
    """The SDK prints as it works: a colour reset and blank lines after each upload, dots while it waits. Drop
    those; anything with words in it still reaches stderr."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            yield
    finally:
        for line in ANSI_CODE.sub("", captured.getvalue()).splitlines():
            if line.strip(" .\t"):
                print(line, file=sys.stderr)


def _quietly(begin: Callable[[], Any]) -> Any:
    """Start a long-running operation and wait for it, without the SDK's running commentary."""
    with _sdk_output():
        return begin().result()


def _first_line(error: Exception) -> str:
    lines = str(getattr(error, "message", None) or error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


class AzureWorkspace:
    dry_run = False

    def __init__(
        self,
        settings: AzureSettings,
        client: MLClient,
        *,
        credential: Any = None,
        client_kwargs: Mapping[str, Any] | None = None,
        permissions_settle_by: float | None = None,
        progress: Callable[[str], None] = lambda message: None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.client = client
        self._credential = credential
        self._client_kwargs = dict(client_kwargs or {})
        # Right after infra/ assigned roles, 403s are retried until then (epoch seconds): assignments propagate.
        self._settle_by = permissions_settle_by
        self._progress = progress
        self._clock = clock
        self._sleep = sleep

    def _call(self, doing: str, operation: Callable[[], T]) -> T:
        """Run one SDK operation; its errors become MlopsError, and a 403 is retried while roles propagate."""
        while True:
            try:
                with _sdk_output():
                    return operation()
            except (AzureError, MlException) as error:
                translated = translate(error, self.settings, doing)
            if not isinstance(translated, PermissionDenied) or self._settle_by is None:
                raise translated
            remaining = self._settle_by - self._clock()
            if remaining <= 0:
                raise translated
            wait = min(RETRY_EVERY, remaining)
            self._progress(
                f"{doing}: permission denied; infra/ assigned roles moments ago and Azure can take up to 10 minutes "
                f"to apply them: retrying in {wait:.0f} s ({remaining / 60:.1f} min left)"
            )
            self._sleep(wait)

    def exists(self, asset: Asset) -> bool:
        operations = self._operations(asset.versioned.kind)
        versioned = asset.versioned

        def lookup() -> bool:
            try:
                operations.get(name=versioned.name, version=versioned.version)
            except ResourceNotFoundError:
                return False
            return True

        return self._call(f"looking up {versioned.kind} {asset.reference}", lookup)

    def register(self, asset: Asset) -> Action:
        operations = self._operations(asset.versioned.kind)
        self._call(
            f"registering {asset.versioned.kind} {asset.reference}", lambda: operations.create_or_update(asset.entity)
        )
        return Action.REGISTERED

    def component(self, asset: Asset) -> Any:
        name, version = asset.versioned.name, asset.versioned.version
        return self._call(
            f"reading component {name}:{version}", lambda: self.client.components.get(name=name, version=version)
        )

    def compute(self, name: str) -> str:
        """The cluster the pipeline runs on, in one line; MlopsError when the workspace has none by that name."""
        cluster = self._call(f"looking up compute cluster {name}", lambda: self.client.compute.get(name))
        size = getattr(cluster, "size", None) or "size unknown"
        nodes = f", {getattr(cluster, 'min_instances', '?')}-{getattr(cluster, 'max_instances', '?')} nodes"
        return f"{name}: {cluster.type}, {size}{nodes if cluster.type == 'amlcompute' else ''}"

    def validate_pipeline(self, job: PipelineJob) -> list[str]:
        """Azure ML's own check before a submission, against this workspace (reads only; registers nothing)."""
        result = self._call("validating the pipeline in the workspace", lambda: self.client.jobs.validate(job))
        return [f"{where}: {message}" for where, message in (result.error_messages or {}).items()]

    def submit(self, job: PipelineJob) -> JobState:
        created = self._call(
            "submitting the pipeline",
            lambda: self.client.jobs.create_or_update(job, experiment_name=job.experiment_name),
        )
        return JobState(created.name, JobStatus.parse(created.status or "NotStarted"), created.studio_url)

    def state(self, name: str) -> JobState:
        def read() -> JobState:
            job = self.client.jobs.get(name)
            children = self.client.jobs.list(parent_job_name=name)
            steps = {child.display_name or child.name: JobStatus.parse(child.status) for child in children}
            return JobState(job.name, JobStatus.parse(job.status), job.studio_url, steps)

        return self._call(f"reading job {name}", read)

    def failure(self, name: str) -> str:
        """Why a finished job failed, as Azure ML recorded it (the SDK's Job entity has no error field)."""

        def read() -> str:
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    self.client.jobs.stream(name)  # for a finished job: no waiting, raises with the recorded error
                except JobException as error:
                    text = str(error.message).split("Exception :", 1)[-1].strip()
                    try:
                        recorded = json.loads(text)  # {"error": {"code": ..., "message": ...}}
                        return recorded.get("error", recorded).get("message") or text
                    except (json.JSONDecodeError, AttributeError):
                        return text
            return "Azure ML recorded no error detail"

        return self._call(f"reading the error of job {name}", read)

    def cancel(self, name: str) -> None:
        def cancel() -> None:
            with contextlib.suppress(ResourceNotFoundError):  # stopped before the job was created: nothing runs
                self.client.jobs.begin_cancel(name)

        self._call(f"cancelling job {name}", cancel)

    def download_output(self, job_name: str, output: str, folder: Path) -> Path:
        """The output's files from the datastore path the job was submitted with (mlops/azure_job.py sets it), so
        reading it never depends on how the SDK would search for an output without one."""
        from azure.ai.ml._artifacts._artifact_utilities import download_artifact_from_aml_uri

        target = folder / output

        def download() -> Path:
            job = self.client.jobs.get(job_name)
            declared = (job.outputs or {}).get(output)
            path = getattr(declared, "path", None)
            if not path or not str(path).startswith("azureml://datastores/"):
                raise MlopsError(
                    f"job {job_name} has no datastore path for its output {output}; it was not submitted by "
                    "`mlops submit` (which sets one)"
                )
            download_artifact_from_aml_uri(str(path), str(target), self.client.datastores)
            return target

        return self._call(f"downloading output {output} of job {job_name}", download)

    def register_model(self, name: str, job_name: str, output: str, tags: Mapping[str, str]) -> str:
        model = Model(
            name=name,
            type="mlflow_model",
            path=f"azureml://jobs/{job_name}/outputs/{output}",
            tags=dict(tags),
            description=f"Trained by pipeline job {job_name}",
        )
        created = self._call(f"registering model {name}", lambda: self.client.models.create_or_update(model))
        return str(created.version)

    def schedule(self, name: str, job: PipelineJob, cron: str) -> str:
        schedule = JobSchedule(name=name, trigger=CronTrigger(expression=cron, time_zone="UTC"), create_job=job)
        created = self._call(
            f"creating schedule {name}", lambda: self.client.schedules.begin_create_or_update(schedule).result()
        )
        return created.name

    def share_model(self, name: str, version: str, registry: str) -> Action:
        """Copy a workspace model into an Azure ML registry, unless it is there already (a re-run CD stage)."""
        doing = f"sharing model {name}:{version} to registry {registry}"
        if self._call(doing, lambda: self._in_registry(name, version, registry)):
            return Action.EXISTS
        self._call(
            doing,
            lambda: self.client.models.share(
                name=name, version=version, registry_name=registry, share_with_name=name, share_with_version=version
            ),
        )
        return Action.REGISTERED

    def _in_registry(self, name: str, version: str, registry: str) -> bool:
        registry_client = MLClient(self._credential, registry_name=registry, **self._client_kwargs)
        try:
            registry_client.models.get(name=name, version=version)
        except ResourceNotFoundError:
            return False
        return True

    # --- managed online endpoints ---

    def endpoint(self, name: str) -> EndpointState | None:
        def read() -> EndpointState | None:
            try:
                found = self.client.online_endpoints.get(name)
            except ResourceNotFoundError:
                return None
            deployments = {
                d.name: DeploymentState(d.name, _plain(d.provisioning_state), str(d.model) if d.model else None)
                for d in self.client.online_deployments.list(endpoint_name=name)
            }
            live = {deployment: percent for deployment, percent in (found.traffic or {}).items() if percent}
            mirror = {deployment: percent for deployment, percent in (found.mirror_traffic or {}).items() if percent}
            return EndpointState(name, found.scoring_uri, live, mirror, deployments)

        return self._call(f"reading endpoint {name}", read)

    def create_endpoint(self, name: str) -> EndpointState:
        from azure.ai.ml.entities import ManagedOnlineEndpoint

        endpoint = ManagedOnlineEndpoint(name=name, auth_mode="aad_token", description="Served by mlops deploy")
        self._call(
            f"creating endpoint {name}",
            lambda: _quietly(lambda: self.client.online_endpoints.begin_create_or_update(endpoint)),
        )
        created = self.endpoint(name)
        if created is None:
            raise MlopsError(f"creating endpoint {name}: Azure ML reported it created, but it cannot be read back")
        return created

    def create_deployment(self, spec: DeploymentSpec) -> DeploymentState:
        from azure.ai.ml.entities import CodeConfiguration, ManagedOnlineDeployment

        deployment = ManagedOnlineDeployment(
            name=spec.name,
            endpoint_name=spec.endpoint,
            model=spec.model,
            environment=spec.environment,
            code_configuration=CodeConfiguration(code=str(spec.code), scoring_script=spec.scoring_script),
            instance_type=spec.instance_type,
            instance_count=spec.instance_count,
            tags=dict(spec.tags),
        )
        doing = f"creating deployment {spec.name} in {spec.endpoint}"

        def begin() -> Any:  # a request Azure ML refuses is translated by _call; an operation that fails, below
            # The scoring script is checked by serving/'s own tests; the SDK's check would import it here.
            return self.client.online_deployments.begin_create_or_update(deployment, skip_script_validation=True)

        try:
            _quietly(lambda: self._call(doing, begin))
        except HttpResponseError as error:  # the long-running operation ended Failed: a failed rollout, not a typo
            raise DeploymentFailed(f"{doing}: Azure ML reports it failed: {_first_line(error)}") from None
        except (AzureError, MlException) as error:
            raise translate(error, self.settings, doing) from None
        return DeploymentState(spec.name, "Succeeded", spec.model)

    def deployment_logs(self, endpoint: str, deployment: str, lines: int) -> str:
        return self._call(
            f"reading the log of deployment {deployment}",
            lambda: self.client.online_deployments.get_logs(name=deployment, endpoint_name=endpoint, lines=lines),
        )

    def set_traffic(self, endpoint: str, traffic: Mapping[str, int], mirror: Mapping[str, int]) -> None:
        def update() -> None:
            found = self.client.online_endpoints.get(endpoint)
            found.traffic = dict(traffic)
            found.mirror_traffic = dict(mirror)
            _quietly(lambda: self.client.online_endpoints.begin_create_or_update(found))

        self._call(f"setting the traffic of endpoint {endpoint}", update)

    def delete_deployment(self, endpoint: str, deployment: str) -> None:
        self._call(
            f"deleting deployment {deployment} of {endpoint}",
            lambda: _quietly(
                lambda: self.client.online_deployments.begin_delete(name=deployment, endpoint_name=endpoint)
            ),
        )

    def delete_endpoint(self, name: str) -> None:
        def delete() -> None:
            with contextlib.suppress(ResourceNotFoundError):
                _quietly(lambda: self.client.online_endpoints.begin_delete(name=name))

        self._call(f"deleting endpoint {name}", delete)

    def scoring_token(self, endpoint: str) -> str:
        return self._call(
            f"getting a token for endpoint {endpoint}", lambda: self._credential.get_token(ML_SCOPE).token
        )

    def _operations(self, kind: str) -> Any:
        return {"environment": self.client.environments, "component": self.client.components, "data": self.client.data}[
            kind
        ]


def connect(
    settings: AzureSettings,
    credential: Any = None,
    *,
    permissions_settle_by: float | None = None,
    progress: Callable[[str], None] = lambda message: None,
    **client_kwargs: Any,
) -> AzureWorkspace:
    """An MLClient for the environment's workspace, signed in as mlops/credentials.py decides (no secret is read)."""
    credential = credential or credentials.for_environment()
    client_kwargs.setdefault("show_progress", False)  # upload progress bars only clutter CI logs
    client = MLClient(
        credential, settings.require_subscription(), settings.resource_group, settings.workspace, **client_kwargs
    )
    return AzureWorkspace(
        settings,
        client,
        credential=credential,
        client_kwargs=client_kwargs,
        permissions_settle_by=permissions_settle_by,
        progress=progress,
    )
