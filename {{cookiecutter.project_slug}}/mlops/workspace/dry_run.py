"""``--dry-run``: the workspace as far as the checkout can tell, with no credentials and no network.

Reads answer from what is on disk (a component is the local one, with the version it would be registered at);
nothing is looked up, so every asset is "would register unless it exists". Writes are recorded in ``planned`` and
answered as Azure would answer them, except that a job is never sent: its state is ``NotSubmitted``, which ends a
command's flow where a real job would have had to run.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.errors import MlopsError
from mlops.workspace.interface import Action, DeploymentSpec, DeploymentState, EndpointState, JobState, JobStatus

if TYPE_CHECKING:
    from azure.ai.ml.entities import PipelineJob

    from mlops.assets import Asset
    from mlops.settings import AzureSettings


class DryRunWorkspace:
    dry_run = True

    def __init__(self, settings: AzureSettings) -> None:
        self.settings = settings
        self.planned: list[str] = []  # what a real run would have written, in order

    def exists(self, asset: Asset) -> bool:
        return False  # not looked up

    def register(self, asset: Asset) -> Action:
        self.planned.append(f"register {asset.versioned.kind} {asset.versioned.name}:{asset.versioned.version}")
        return Action.PLANNED

    def component(self, asset: Asset) -> Any:
        return asset.entity  # the local component, carrying the version it would be registered with

    def compute(self, name: str) -> str:
        return f"{name} (not looked up: dry run)"

    def validate_pipeline(self, job: PipelineJob) -> list[str]:
        return []  # the offline validation (mlops validate) is all a dry run can do

    def submit(self, job: PipelineJob) -> JobState:
        self.planned.append(f"submit job {job.name} to experiment {job.experiment_name}")
        return JobState(job.name, JobStatus.NOT_SUBMITTED)

    def state(self, name: str) -> JobState:
        return JobState(name, JobStatus.NOT_SUBMITTED)

    def failure(self, name: str) -> str:
        return "a dry run submits nothing"

    def cancel(self, name: str) -> None:
        pass

    def download_output(self, job_name: str, output: str, folder: Path) -> Path:
        raise MlopsError(f"job {job_name} was not submitted (dry run): it has no {output} output to download")

    def register_model(self, name: str, job_name: str, output: str, tags: Mapping[str, str]) -> str:
        self.planned.append(f"register model {name} from job {job_name} output {output}")
        return "<next version>"

    def schedule(self, name: str, job: PipelineJob, cron: str) -> str:
        self.planned.append(f"create or update schedule {name} ({cron}, UTC)")
        return name

    def share_model(self, name: str, version: str, registry: str) -> Action:
        self.planned.append(f"share model {name}:{version} to registry {registry} unless it is there")
        return Action.PLANNED

    def endpoint(self, name: str) -> EndpointState | None:
        return None  # not looked up: the plan is the first deployment's, or the steps of a rollout

    def create_endpoint(self, name: str) -> EndpointState:
        self.planned.append(f"create endpoint {name} (Microsoft Entra token auth) unless it exists")
        return EndpointState(name, None)

    def create_deployment(self, spec: DeploymentSpec) -> DeploymentState:
        self.planned.append(
            f"create deployment {spec.name} in {spec.endpoint} with no traffic: model {spec.model}, "
            f"{spec.instance_count} x {spec.instance_type}, {spec.code.name}/{spec.scoring_script}, {spec.environment}"
        )
        return DeploymentState(spec.name, "NotCreated", spec.model)

    def deployment_logs(self, endpoint: str, deployment: str, lines: int) -> str:
        return ""

    def set_traffic(self, endpoint: str, traffic: Mapping[str, int], mirror: Mapping[str, int]) -> None:
        split = ", ".join(f"{name} {percent}%" for name, percent in traffic.items()) or "none"
        copied = ", ".join(f"{name} {percent}%" for name, percent in mirror.items())
        self.planned.append(f"set traffic of {endpoint}: {split}" + (f"; mirror {copied}" if copied else ""))

    def delete_deployment(self, endpoint: str, deployment: str) -> None:
        self.planned.append(f"delete deployment {deployment} of {endpoint}")

    def delete_endpoint(self, name: str) -> None:
        self.planned.append(f"delete endpoint {name} and its deployments")

    def scoring_token(self, endpoint: str) -> str:
        raise MlopsError("a dry run has no credentials: it cannot call the endpoint")
