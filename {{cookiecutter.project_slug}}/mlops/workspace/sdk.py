"""The workspace on azure-ai-ml: the one module that talks to Azure ML, for one environment.

SDK exceptions stop here: authentication, permission and not-found errors become an MlopsError that says what to
do, so commands and the CLI never see azure-core types. tests/azure_double proves this module against a test double
of the workspace API, through the real SDK over HTTPS.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from azure.ai.ml import MLClient
from azure.ai.ml.entities import CronTrigger, JobSchedule, Model, PipelineJob
from azure.ai.ml.exceptions import JobException
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential

from mlops.assets import Asset
from mlops.errors import MlopsError
from mlops.settings import AzureSettings
from mlops.workspace.interface import Action, JobState, JobStatus

AUTHENTICATION_HELP = (
    "Azure did not accept the credentials. On a laptop run `az login` (and `az account set -s <subscription>`); in "
    "GitHub Actions log in with azure/login using OIDC (the job needs `permissions: id-token: write`); in Azure "
    "DevOps run the command in an AzureCLI@2 task on a workload identity federation service connection"
)


@contextlib.contextmanager
def azure_errors(settings: AzureSettings, doing: str) -> Iterator[None]:
    try:
        yield
    except ClientAuthenticationError:
        raise MlopsError(f"{doing}: {AUTHENTICATION_HELP}") from None
    except ResourceNotFoundError as error:
        raise MlopsError(
            f"{doing}: not found in workspace {settings.workspace} (resource group {settings.resource_group}): "
            f"{_first_line(error).rstrip('.')}. Deploy the infrastructure, or check config/environments.toml"
        ) from None
    except HttpResponseError as error:
        if error.status_code == 403:
            raise MlopsError(
                f"{doing}: the identity lacks permission on workspace {settings.workspace}; grant it the "
                "AzureML Data Scientist role there (the infrastructure's role assignments do this for CI)"
            ) from None
        raise MlopsError(f"{doing}: Azure answered {error.status_code}: {_first_line(error)}") from None


def _first_line(error: Exception) -> str:
    return str(getattr(error, "message", None) or error).strip().splitlines()[0]


class AzureWorkspace:
    dry_run = False

    def __init__(self, settings: AzureSettings, client: MLClient) -> None:
        self.settings = settings
        self.client = client

    def exists(self, asset: Asset) -> bool:
        operations = self._operations(asset.versioned.kind)
        with azure_errors(self.settings, f"looking up {asset.versioned.kind} {asset.reference}"):
            try:
                operations.get(name=asset.versioned.name, version=asset.versioned.version)
            except ResourceNotFoundError:
                return False
        return True

    def register(self, asset: Asset) -> Action:
        with azure_errors(self.settings, f"registering {asset.versioned.kind} {asset.reference}"):
            self._operations(asset.versioned.kind).create_or_update(asset.entity)
        return Action.REGISTERED

    def component(self, asset: Asset) -> Any:
        name, version = asset.versioned.name, asset.versioned.version
        with azure_errors(self.settings, f"reading component {name}:{version}"):
            return self.client.components.get(name=name, version=version)

    def compute(self, name: str) -> str:
        """The cluster the pipeline runs on, in one line; MlopsError when the workspace has none by that name."""
        with azure_errors(self.settings, f"looking up compute cluster {name}"):
            cluster = self.client.compute.get(name)
        size = getattr(cluster, "size", None) or "size unknown"
        nodes = f", {getattr(cluster, 'min_instances', '?')}-{getattr(cluster, 'max_instances', '?')} nodes"
        return f"{name}: {cluster.type}, {size}{nodes if cluster.type == 'amlcompute' else ''}"

    def validate_pipeline(self, job: PipelineJob) -> list[str]:
        """Azure ML's own check before a submission, against this workspace (reads only; registers nothing)."""
        with azure_errors(self.settings, "validating the pipeline in the workspace"):
            result = self.client.jobs.validate(job)
        return [f"{where}: {message}" for where, message in (result.error_messages or {}).items()]

    def submit(self, job: PipelineJob) -> JobState:
        with azure_errors(self.settings, "submitting the pipeline"):
            created = self.client.jobs.create_or_update(job, experiment_name=job.experiment_name)
        return JobState(created.name, JobStatus.parse(created.status or "NotStarted"), created.studio_url)

    def state(self, name: str) -> JobState:
        with azure_errors(self.settings, f"reading job {name}"):
            job = self.client.jobs.get(name)
            children = self.client.jobs.list(parent_job_name=name)
            steps = {child.display_name or child.name: JobStatus.parse(child.status) for child in children}
        return JobState(job.name, JobStatus.parse(job.status), job.studio_url, steps)

    def failure(self, name: str) -> str:
        """Why a finished job failed, as Azure ML recorded it (the SDK's Job entity has no error field)."""
        with azure_errors(self.settings, f"reading the error of job {name}"), contextlib.redirect_stdout(io.StringIO()):
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

    def cancel(self, name: str) -> None:
        # Suppressed: stopped before the job was created, so nothing runs.
        with azure_errors(self.settings, f"cancelling job {name}"), contextlib.suppress(ResourceNotFoundError):
            self.client.jobs.begin_cancel(name)

    def download_output(self, name: str, output: str, folder: Path) -> Path:
        with azure_errors(self.settings, f"downloading output {output} of job {name}"):
            self.client.jobs.download(name, download_path=str(folder), output_name=output)
        found = [p for p in folder.rglob("*") if p.is_dir() and p.name == output]
        return found[0] if found else folder

    def register_model(self, name: str, job_name: str, output: str, tags: Mapping[str, str]) -> str:
        model = Model(
            name=name,
            type="mlflow_model",
            path=f"azureml://jobs/{job_name}/outputs/{output}",
            tags=dict(tags),
            description=f"Trained by pipeline job {job_name}",
        )
        with azure_errors(self.settings, f"registering model {name}"):
            return str(self.client.models.create_or_update(model).version)

    def schedule(self, name: str, job: PipelineJob, cron: str) -> str:
        schedule = JobSchedule(name=name, trigger=CronTrigger(expression=cron, time_zone="UTC"), create_job=job)
        with azure_errors(self.settings, f"creating schedule {name}"):
            created = self.client.schedules.begin_create_or_update(schedule).result()
        return created.name

    def share_model(self, name: str, version: str, registry: str) -> str:
        """Copy a workspace model into an Azure ML registry, where every environment's workspace can use it."""
        with azure_errors(self.settings, f"sharing model {name}:{version} to registry {registry}"):
            self.client.models.share(
                name=name, version=version, registry_name=registry, share_with_name=name, share_with_version=version
            )
        return f"azureml://registries/{registry}/models/{name}/versions/{version}"

    def _operations(self, kind: str) -> Any:
        return {"environment": self.client.environments, "component": self.client.components, "data": self.client.data}[
            kind
        ]


def connect(settings: AzureSettings, credential: Any = None, **client_kwargs: Any) -> AzureWorkspace:
    """An MLClient for the environment's workspace. DefaultAzureCredential covers `az login`, GitHub's azure/login
    (OIDC), Azure DevOps' AzureCLI@2 task and managed identities; no secret is ever read from a file."""
    credential = credential or DefaultAzureCredential(exclude_interactive_browser_credential=True)
    client_kwargs.setdefault("show_progress", False)  # upload progress bars only clutter CI logs
    client = MLClient(
        credential, settings.require_subscription(), settings.resource_group, settings.workspace, **client_kwargs
    )
    return AzureWorkspace(settings, client)
