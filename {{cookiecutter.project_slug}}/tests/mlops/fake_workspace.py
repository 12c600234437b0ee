"""An in-memory FAKE of mlops.workspace.Workspace, for command tests that run in milliseconds.

It keeps what Azure ML would keep (assets by name:version, jobs with scripted statuses and outputs, models,
schedules, registries) and refuses what Azure ML refuses where a command could get it wrong: a job that references
a component not registered, a second job of the same name, a download from a job that has not finished, a compute
that does not exist. What the SDK itself does over HTTP is proven against the HTTPS test double instead
(tests/mlops/workspace/test_sdk.py).

``FakeAzure`` holds every environment's workspace and the registries; pass ``fake.connect`` to ``cli.main``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlops.errors import MlopsError
from mlops.workspace import (
    Action,
    DeploymentFailed,
    DeploymentSpec,
    DeploymentState,
    EndpointState,
    JobState,
    JobStatus,
)

DEFAULT_SCRIPT = (JobStatus.RUNNING, JobStatus.COMPLETED)


@dataclass
class FakeJob:
    job: Any  # the PipelineJob as submitted
    script: list[JobStatus]
    outputs: dict[str, dict[str, bytes]]
    error: str | None
    position: int = -1  # -1: not read yet
    canceled: bool = False

    @property
    def status(self) -> JobStatus:
        if self.canceled:
            return JobStatus.CANCELED
        return JobStatus.NOT_STARTED if self.position < 0 else self.script[self.position]

    def advance(self) -> JobStatus:
        if not self.canceled and not self.status.finished and self.position < len(self.script) - 1:
            self.position += 1
        return self.status


@dataclass
class FakeWorkspace:
    settings: Any
    azure: FakeAzure
    dry_run: bool = False
    assets: dict[tuple[str, str, str], Any] = field(default_factory=dict)  # (kind, name, version) -> entity
    computes: set[str] = field(default_factory=set)
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    models: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (name, version) -> record
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)
    validation_problems: list[str] = field(default_factory=list)
    endpoints: dict[str, EndpointState] = field(default_factory=dict)
    specs: dict[tuple[str, str], DeploymentSpec] = field(default_factory=dict)  # what each deployment was made from
    failing_deployments: dict[str, str] = field(default_factory=dict)  # deployment name -> Azure ML's error
    logs: dict[str, str] = field(default_factory=dict)  # deployment name -> its log
    traffic_history: list[tuple[dict[str, int], dict[str, int]]] = field(default_factory=list)  # (live, mirror)
    _next: tuple[list[JobStatus], dict[str, dict[str, bytes]], str | None] | None = None

    # --- test controls ---

    def script_job(
        self,
        statuses: list[JobStatus | str],
        *,
        outputs: Mapping[str, Mapping[str, bytes]] | None = None,
        error: str | None = None,
    ) -> None:
        """Statuses the next submitted job reports on successive reads (the last stays), and its named outputs."""
        script = [JobStatus(status) for status in statuses]
        self._next = (script, {name: dict(files) for name, files in (outputs or {}).items()}, error)

    # --- the Workspace interface ---

    def exists(self, asset) -> bool:
        return self._key(asset) in self.assets

    def register(self, asset) -> Action:
        self.assets[self._key(asset)] = asset.entity
        self.writes.append(f"register {asset.versioned.kind} {asset.versioned.name}:{asset.versioned.version}")
        return Action.REGISTERED

    def component(self, asset) -> Any:
        if self._key(asset) not in self.assets:
            raise MlopsError(f"reading component {asset.reference}: not found in workspace {self.settings.workspace}")
        return asset.entity

    def compute(self, name: str) -> str:
        if name not in self.computes:
            raise MlopsError(
                f"looking up compute cluster {name}: not found in workspace {self.settings.workspace}. "
                "Deploy the infrastructure, or check config/environments.toml"
            )
        return f"{name}: amlcompute, Standard_DS3_v2, 0-2 nodes"

    def validate_pipeline(self, job) -> list[str]:
        return list(self.validation_problems)

    def submit(self, job) -> JobState:
        if job.name in self.jobs:
            raise MlopsError(f"submitting the pipeline: a job named {job.name} already exists")
        for step, node in job.jobs.items():
            component = node.component
            if ("component", component.name, str(component.version)) not in self.assets:
                raise MlopsError(f"step {step} uses component {component.name}:{component.version}, not registered")
        script, outputs, error = self._next or (list(DEFAULT_SCRIPT), {}, None)
        self._next = None
        self.jobs[job.name] = FakeJob(job, script, outputs, error)
        self.writes.append(f"submit {job.name}")
        return JobState(job.name, JobStatus.NOT_STARTED, f"https://studio.example/{job.name}")

    def state(self, name: str) -> JobState:
        fake = self.jobs[name]
        status = fake.advance()
        return JobState(name, status, f"https://studio.example/{name}", {step: status for step in fake.job.jobs})

    def failure(self, name: str) -> str:
        return self.jobs[name].error or "The job failed."

    def cancel(self, name: str) -> None:
        if name in self.jobs and not self.jobs[name].status.finished:
            self.jobs[name].canceled = True
        self.writes.append(f"cancel {name}")

    def download_output(self, job_name: str, output: str, folder: Path) -> Path:
        fake = self.jobs[job_name]
        if not fake.status.finished:
            raise MlopsError(f"job {job_name} has not finished: its outputs cannot be downloaded yet")
        files = fake.outputs.get(output)
        if files is None:
            raise MlopsError(f"job {job_name} has no output {output}")
        target = folder / output
        for relative, data in files.items():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            (target / relative).write_bytes(data)
        return target

    def register_model(self, name: str, job_name: str, output: str, tags: Mapping[str, str]) -> str:
        version = str(1 + sum(1 for model, _ in self.models if model == name))
        self.models[(name, version)] = {"job": job_name, "output": output, "tags": dict(tags)}
        self.writes.append(f"register model {name}:{version}")
        return version

    def schedule(self, name: str, job, cron: str) -> str:
        self.schedules[name] = {"job": job, "cron": cron}
        self.writes.append(f"schedule {name}")
        return name

    def share_model(self, name: str, version: str, registry: str) -> Action:
        if (name, version) not in self.models:
            raise MlopsError(f"sharing model {name}:{version}: not found in workspace {self.settings.workspace}")
        shared = self.azure.registries.setdefault(registry, {})
        if (name, version) in shared:
            return Action.EXISTS
        shared[(name, version)] = self.models[(name, version)]
        self.writes.append(f"share model {name}:{version} to {registry}")
        return Action.REGISTERED

    # --- online endpoints: as strict as Azure ML about traffic ---

    def endpoint(self, name: str) -> EndpointState | None:
        return self.endpoints.get(name)

    def create_endpoint(self, name: str) -> EndpointState:
        if name in self.endpoints:
            raise MlopsError(f"endpoint {name} exists already")
        self.endpoints[name] = EndpointState(name, f"https://{name}.westeurope.inference.ml.azure.com/score")
        self.writes.append(f"create endpoint {name}")
        return self.endpoints[name]

    def create_deployment(self, spec: DeploymentSpec) -> DeploymentState:
        endpoint = self.endpoints[spec.endpoint]
        if spec.model.startswith("azureml://registries/"):
            registry, name, version = spec.model.split("/")[3], spec.model.split("/")[5], spec.model.split("/")[7]
            known = (name, version) in self.azure.registries.get(registry, {})
        else:
            name, version = spec.model.removeprefix("azureml:").split(":")
            known = (name, version) in self.models
        if not known:
            raise MlopsError(f"creating deployment {spec.name}: model {spec.model} not found")
        if ("environment", *spec.environment.removeprefix("azureml:").split(":")) not in self.assets:
            raise MlopsError(f"creating deployment {spec.name}: environment {spec.environment} not found")
        status = "Failed" if spec.name in self.failing_deployments else "Succeeded"
        state = DeploymentState(spec.name, status, spec.model)
        self.endpoints[spec.endpoint] = replace(endpoint, deployments={**endpoint.deployments, spec.name: state})
        self.specs[(spec.endpoint, spec.name)] = spec
        self.writes.append(f"create deployment {spec.name}")
        if status == "Failed":
            raise DeploymentFailed(f"deployment {spec.name} failed: {self.failing_deployments[spec.name]}")
        return state

    def deployment_logs(self, endpoint: str, deployment: str, lines: int) -> str:
        return "\n".join(self.logs.get(deployment, "").splitlines()[-lines:])

    def set_traffic(self, endpoint: str, traffic: Mapping[str, int], mirror: Mapping[str, int]) -> None:
        state = self.endpoints[endpoint]
        live = {name: percent for name, percent in traffic.items() if percent}
        copied = {name: percent for name, percent in mirror.items() if percent}
        for name in [*live, *copied]:
            if name not in state.deployments or not state.deployments[name].ready:
                raise MlopsError(f"setting traffic: deployment {name} is not ready in {endpoint}")
        if live and sum(live.values()) != 100:
            raise MlopsError(f"setting traffic: {live} does not add up to 100")
        if set(live) & set(copied) or sum(copied.values()) > 50:
            raise MlopsError(f"setting traffic: cannot mirror {copied} alongside {live}")
        self.endpoints[endpoint] = replace(state, traffic=live, mirror=copied)
        self.traffic_history.append((live, copied))
        self.writes.append(f"traffic {endpoint}: {live} mirror {copied}")

    def delete_deployment(self, endpoint: str, deployment: str) -> None:
        state = self.endpoints[endpoint]
        if state.traffic.get(deployment):
            raise MlopsError(f"deleting {deployment}: it still has {state.traffic[deployment]}% of the traffic")
        deployments = {k: v for k, v in state.deployments.items() if k != deployment}
        self.endpoints[endpoint] = replace(state, deployments=deployments)
        self.writes.append(f"delete deployment {deployment}")

    def delete_endpoint(self, name: str) -> None:
        self.endpoints.pop(name, None)
        self.writes.append(f"delete endpoint {name}")

    def scoring_token(self, endpoint: str) -> str:
        return "fake-entra-token"

    @staticmethod
    def _key(asset) -> tuple[str, str, str]:
        v = asset.versioned
        return (v.kind, v.name, v.version)


@dataclass
class FakeAzure:
    """Every environment's workspace (by workspace name) and the Azure ML registries, in memory."""

    workspaces: dict[str, FakeWorkspace] = field(default_factory=dict)
    registries: dict[str, dict[tuple[str, str], dict[str, Any]]] = field(default_factory=dict)

    def connect(self, settings) -> FakeWorkspace:
        """The environment's workspace, created empty on first use: what ``cli.main(connect=...)`` takes."""
        return self.workspaces.setdefault(settings.workspace, FakeWorkspace(settings, self))
