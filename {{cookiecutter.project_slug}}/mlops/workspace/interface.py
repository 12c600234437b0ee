"""The operations commands need from an Azure ML workspace, and the states they report.

Commands receive a ``Workspace`` and never know which implementation they hold: the SDK's (sdk.py), the dry run's
(dry_run.py) or the in-memory fake of the tests. Job states are an enum with one table of terminal states, so no
code compares sentences.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlops.errors import MlopsError

if TYPE_CHECKING:
    from azure.ai.ml.entities import PipelineJob

    from mlops.assets import Asset
    from mlops.settings import AzureSettings


class JobStatus(StrEnum):
    """Azure ML's job statuses (azure-ai-ml's ``JobStatus``), plus the two this project needs of its own."""

    NOT_STARTED = "NotStarted"
    STARTING = "Starting"
    PROVISIONING = "Provisioning"
    PREPARING = "Preparing"
    QUEUED = "Queued"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    CANCEL_REQUESTED = "CancelRequested"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
    NOT_RESPONDING = "NotResponding"
    PAUSED = "Paused"
    UNKNOWN = "Unknown"  # a status this project does not know yet: reported as it is, never treated as finished
    NOT_SUBMITTED = "NotSubmitted"  # a dry run's job: built and checked, never sent

    @classmethod
    def parse(cls, value: object) -> JobStatus:
        """The SDK returns a str enum for some statuses and a plain string for others."""
        text = str(getattr(value, "value", value))
        return cls._value2member_map_.get(text, cls.UNKNOWN)  # type: ignore[return-value]

    @property
    def finished(self) -> bool:
        return self in TERMINAL


# Where a job stops changing: azure-ai-ml's RunHistoryConstants.TERMINAL_STATUSES (a test keeps them equal), and a
# dry run's job, which never starts.
TERMINAL = frozenset(
    {
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.CANCELED,
        JobStatus.NOT_RESPONDING,
        JobStatus.PAUSED,
        JobStatus.NOT_SUBMITTED,
    }
)


@dataclass(frozen=True)
class JobState:
    name: str
    status: JobStatus
    studio_url: str | None = None
    steps: Mapping[str, JobStatus] = field(default_factory=dict)  # pipeline step -> status

    @property
    def finished(self) -> bool:
        return self.status.finished


class DeploymentFailed(MlopsError):
    """Azure ML could not create a deployment (the image, the model, the scoring script's init): not the user's typo,
    a failed rollout, so the exit code is 1."""

    exit_code = 1


@dataclass(frozen=True)
class DeploymentState:
    name: str
    status: str  # Azure ML's provisioning state: Succeeded, Failed, Creating, Updating, Deleting
    model: str | None = None

    @property
    def ready(self) -> bool:
        return self.status == "Succeeded"


@dataclass(frozen=True)
class EndpointState:
    name: str
    scoring_uri: str | None
    traffic: Mapping[str, int] = field(default_factory=dict)  # deployment -> percent of live traffic
    mirror: Mapping[str, int] = field(default_factory=dict)  # deployment -> percent of traffic copied to it
    deployments: Mapping[str, DeploymentState] = field(default_factory=dict)


@dataclass(frozen=True)
class DeploymentSpec:
    """A managed online deployment: which model, served by which code and environment, on what instances."""

    endpoint: str
    name: str
    model: str  # azureml:NAME:VERSION (the workspace's) or azureml://registries/REGISTRY/models/NAME/versions/VERSION
    environment: str  # azureml:NAME:VERSION, registered by content
    code: Path  # the scoring script's folder (serving/)
    scoring_script: str
    instance_type: str
    instance_count: int
    tags: Mapping[str, str] = field(default_factory=dict)


class Action(StrEnum):
    """What happened to an asset: the text is what the CLI prints."""

    EXISTS = "exists"
    REGISTERED = "registered"
    NEW = "new"  # looked up and absent; nothing written (validate --workspace)
    PLANNED = "would register unless it exists"  # dry run: not looked up


class Workspace(Protocol):
    """One environment's Azure ML workspace, as commands use it. Every method raises MlopsError for what the user
    can fix (credentials, permissions, missing resources), with the fix in the message."""

    settings: AzureSettings
    dry_run: bool  # True only for the dry run: commands then stop where a real job would have to run

    def exists(self, asset: Asset) -> bool: ...

    def register(self, asset: Asset) -> Action: ...

    def component(self, asset: Asset) -> Any:
        """The component to put in a pipeline job: the registered one, so the job references it by name:version."""
        ...

    def compute(self, name: str) -> str:
        """The cluster in one line ("<name>: amlcompute, <size>, 0-N nodes"); MlopsError when there is none."""
        ...

    def validate_pipeline(self, job: PipelineJob) -> list[str]: ...

    def submit(self, job: PipelineJob) -> JobState: ...

    def state(self, name: str) -> JobState: ...

    def failure(self, name: str) -> str:
        """Why a failed job failed, as Azure ML recorded it."""
        ...

    def cancel(self, name: str) -> None: ...

    def download_output(self, job_name: str, output: str, folder: Path) -> Path:
        """The files of one named output of a finished job, downloaded into ``folder``; returns their folder."""
        ...

    def register_model(self, name: str, job_name: str, output: str, tags: Mapping[str, str]) -> str:
        """Register a job's output as an MLflow model; returns the new version."""
        ...

    def schedule(self, name: str, job: PipelineJob, cron: str) -> str: ...

    def share_model(self, name: str, version: str, registry: str) -> Action:
        """Copy a workspace model into an Azure ML registry unless it is there (EXISTS): re-running CD is safe."""
        ...

    # Managed online endpoints: mlops deploy.

    def endpoint(self, name: str) -> EndpointState | None:
        """The endpoint with its traffic and deployments; None when there is none by that name."""
        ...

    def create_endpoint(self, name: str) -> EndpointState:
        """A managed online endpoint with Microsoft Entra token auth, and no deployment yet."""
        ...

    def create_deployment(self, spec: DeploymentSpec) -> DeploymentState:
        """Create the deployment (no traffic) and wait until it is ready; DeploymentFailed when Azure ML says no."""
        ...

    def deployment_logs(self, endpoint: str, deployment: str, lines: int) -> str: ...

    def set_traffic(self, endpoint: str, traffic: Mapping[str, int], mirror: Mapping[str, int]) -> None: ...

    def delete_deployment(self, endpoint: str, deployment: str) -> None: ...

    def delete_endpoint(self, name: str) -> None: ...

    def scoring_token(self, endpoint: str) -> str:
        """A Microsoft Entra token that the endpoint's scoring URI accepts."""
        ...
