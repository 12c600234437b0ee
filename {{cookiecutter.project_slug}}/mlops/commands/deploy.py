"""`mlops deploy`: serve a model on the environment's managed online endpoint, with a safe rollout.

A new model version is a new deployment, created with no traffic. The smoke test (mlops/commands/smoke.py, the check
`make serve` passes locally) runs against it alone, through the endpoint's scoring URI and the
`azureml-model-deployment` header. Only then does it take traffic: optionally a mirrored share first, then the
configured steps (10, 50, 100 percent in prod), each checked through the endpoint before the next. The previous
deployment stays without traffic for `keep_previous_seconds`, then is deleted. A failed deployment or check leaves
the traffic as it was, deletes the new deployment and shows the end of its log. Deploying the model that already has
all the traffic changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from mlops import manifest, naming
from mlops.assets import serving_environment
from mlops.errors import MlopsError
from mlops.settings import AzureSettings, EndpointSettings, PipelineSettings
from mlops.workspace import DeploymentFailed, DeploymentSpec, EndpointState, Workspace

LOG_LINES = 40  # of a failed deployment's log, shown with the failure
SCORING_SCRIPT = "score.py"

# (scoring URI, headers) -> None, or raises MlopsError: the smoke test, passed in so tests can script it.
Check = Callable[[str, Mapping[str, str]], None]


class RolloutFailed(MlopsError):
    """The new model did not pass: traffic is where it was, the new deployment is gone."""

    exit_code = 1


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str
    uri: str  # what the deployment references: azureml:NAME:VERSION, or a registry's azureml:// URI
    origin: str  # where it was found, for people: "the workspace" or "registry NAME"


class Outcome(Enum):
    DEPLOYED = "deployed"  # the new model serves all of the endpoint's traffic
    UNCHANGED = "unchanged"  # it already did: nothing was touched
    DELETED = "deleted"  # it passed its smoke test, then the endpoint was deleted (delete_after_smoke)


@dataclass
class Rollout:
    endpoint: str
    deployment: str
    model: ModelRef
    outcome: Outcome = Outcome.DEPLOYED
    events: list[str] = field(default_factory=list)


def model_to_deploy(azure: AzureSettings, manifest_path: Path | None, explicit: str | None, dry_run: bool) -> ModelRef:
    """The model this environment should serve: --model NAME:VERSION of its workspace, or what the release manifest
    says this environment got: the dev run's model in dev, the registry's copy of it in prod with a registry, or
    prod's own retrained model (recorded by `mlops promote`) without one."""
    if explicit:
        name, _, version = explicit.partition(":")
        if not name or not version:
            raise MlopsError(f"--model {explicit}: expected NAME:VERSION, for example penguins-species:3")
        return ModelRef(name, version, f"azureml:{name}:{version}", f"workspace {azure.workspace}")
    if manifest_path is None:
        raise MlopsError("say which model to deploy: --manifest release/manifest.json (CD) or --model NAME:VERSION")
    released = manifest.load(manifest_path, allow_rehearsal=dry_run)
    model = released.get("model")
    if not model:
        reasons = " ".join((released.get("decision") or {}).get("reasons", []))
        raise MlopsError(f"the dev run {released.get('pipeline_job')} promoted no model: nothing to deploy. {reasons}")
    if released.get("workspace") == azure.workspace:
        uri = f"azureml:{model['name']}:{model['version']}"
        return ModelRef(model["name"], model["version"], uri, f"workspace {azure.workspace}")
    if azure.ml_registry:
        uri = f"azureml://registries/{azure.ml_registry}/models/{model['name']}/versions/{model['version']}"
        return ModelRef(model["name"], model["version"], uri, f"registry {azure.ml_registry}")
    own = (released.get("promoted") or {}).get(azure.environment, {}).get("model")
    if not own:
        raise MlopsError(
            f"{azure.environment} has no model of its own in {manifest_path} yet: run `mlops promote --env "
            f"{azure.environment} --manifest {manifest_path} --wait` first (without a registry, {azure.environment} "
            "retrains)"
        )
    return ModelRef(
        own["name"], own["version"], f"azureml:{own['name']}:{own['version']}", f"workspace {azure.workspace}"
    )


def split(new: str, percent: int, previous: Mapping[str, int]) -> dict[str, int]:
    """``percent`` to the new deployment, the rest to the previous ones in their current proportions (whole
    percents adding up to 100, as Azure ML requires)."""
    rest = 100 - percent
    total = sum(previous.values())
    if not total or not rest:
        return {new: 100}
    shares = {name: rest * weight // total for name, weight in previous.items()}
    largest = max(previous, key=lambda name: previous[name])
    shares[largest] += rest - sum(shares.values())
    return {new: percent, **{name: share for name, share in shares.items() if share}}


def deploy(
    pipeline: PipelineSettings,
    azure: AzureSettings,
    workspace: Workspace,
    model: ModelRef,
    check: Check,
    *,
    report: Callable[[str], None] = lambda event: None,
    sleep: Callable[[float], None] = time.sleep,
) -> Rollout:
    settings = _endpoint_settings(azure)
    name = naming.deployment_name(model.name, model.version)
    rollout = Rollout(settings.name, name, model)

    def event(text: str) -> None:
        rollout.events.append(text)
        report(text)

    state = workspace.endpoint(settings.name)
    if state is None:
        event(f"creating endpoint {settings.name} (Microsoft Entra token auth)")
        state = workspace.create_endpoint(settings.name)
    existing = state.deployments.get(name)
    if existing is not None and existing.ready and state.traffic == {name: 100} and not state.mirror:
        rollout.outcome = Outcome.UNCHANGED
        event(f"{name} already serves all of {settings.name}'s traffic: nothing to do")
        return rollout
    previous = {deployment: percent for deployment, percent in state.traffic.items() if deployment != name}

    if existing is not None and not existing.ready:  # a failed attempt left it: start afresh
        event(f"deleting {name}, left {existing.status} by an earlier attempt")
        workspace.delete_deployment(settings.name, name)
        existing = None
    if existing is None:
        environment = serving_environment(pipeline.root)
        registered = "exists" if workspace.exists(environment) else workspace.register(environment)
        spec = DeploymentSpec(
            endpoint=settings.name,
            name=name,
            model=model.uri,
            environment=environment.reference,
            code=pipeline.root / "serving",
            scoring_script=SCORING_SCRIPT,
            instance_type=settings.instance_type,
            instance_count=settings.instance_count,
            tags={"model": f"{model.name}:{model.version}", "model_origin": model.origin},
        )
        event(
            f"creating deployment {name} with no traffic: {model.uri} from {model.origin}, "
            f"{settings.instance_count} x {settings.instance_type} (environment {environment.reference}: {registered})"
        )
        try:
            workspace.create_deployment(spec)
        except DeploymentFailed as failure:
            raise _failed(str(failure), workspace, settings.name, name, previous, event) from None
    else:
        event(f"deployment {name} exists and is ready: rolling it out")

    if workspace.dry_run:  # nothing was created, so nothing can be checked: the rest is the plan
        _plan(settings, name, previous, event)
        return rollout

    def checked(headers: Mapping[str, str], what: str, traffic: Mapping[str, int]) -> None:
        endpoint = workspace.endpoint(settings.name)
        token = workspace.scoring_token(settings.name)
        try:
            check(_scoring_uri(endpoint, settings.name), {**headers, "Authorization": f"Bearer {token}"})
        except MlopsError as failure:
            message = f"the smoke test of {what} failed: {failure}"
            raise _failed(message, workspace, settings.name, name, traffic, event) from None

    event(f"smoke test of {name} alone (header azureml-model-deployment: {name})")
    checked({"azureml-model-deployment": name}, f"deployment {name}", previous)

    if settings.delete_after_smoke:
        event(f"deleting endpoint {settings.name}: delete_after_smoke is set (an idle endpoint still costs)")
        workspace.delete_endpoint(settings.name)
        rollout.outcome = Outcome.DELETED
        return rollout

    if previous and settings.mirror_percent:
        event(f"mirroring {settings.mirror_percent}% of the traffic to {name} for {settings.step_seconds:.0f} s")
        workspace.set_traffic(settings.name, previous, {name: settings.mirror_percent})
        sleep(settings.step_seconds)
        workspace.set_traffic(settings.name, previous, {})
    steps = settings.traffic_steps if previous else (100,)
    for percent in steps:
        traffic = split(name, percent, previous)
        event(f"traffic: {', '.join(f'{d} {p}%' for d, p in traffic.items())}")
        workspace.set_traffic(settings.name, traffic, {})
        if percent < 100:
            sleep(settings.step_seconds)
        event(f"smoke test through the endpoint at {percent}%")
        checked({}, f"the endpoint with {percent}% on {name}", previous)

    retired = [d for d in workspace.endpoint(settings.name).deployments if d != name]  # type: ignore[union-attr]
    if retired and settings.keep_previous_seconds:
        event(f"keeping {', '.join(retired)} without traffic for {settings.keep_previous_seconds:.0f} s")
        sleep(settings.keep_previous_seconds)
    for deployment in retired:
        event(f"deleting the previous deployment {deployment}")
        workspace.delete_deployment(settings.name, deployment)
    return rollout


def delete(azure: AzureSettings, workspace: Workspace) -> str:
    """`deploy --delete`: the environment's endpoint and all its deployments (billing stops)."""
    settings = _endpoint_settings(azure)
    if not workspace.dry_run and workspace.endpoint(settings.name) is None:
        return f"endpoint {settings.name} does not exist: nothing to delete"
    workspace.delete_endpoint(settings.name)
    return f"{'would delete' if workspace.dry_run else 'deleted'} endpoint {settings.name} and its deployments"


def _endpoint_settings(azure: AzureSettings) -> EndpointSettings:
    if azure.endpoint is None:
        raise MlopsError(
            f"environment {azure.environment} has no online_endpoint in config/environments.toml: add one (and an "
            f"[{azure.environment}.endpoint] table) to serve models there"
        )
    return azure.endpoint


def _scoring_uri(endpoint: EndpointState | None, name: str) -> str:
    if endpoint is None or not endpoint.scoring_uri:
        raise MlopsError(f"endpoint {name} has no scoring URI yet")
    return endpoint.scoring_uri


def _failed(
    message: str,
    workspace: Workspace,
    endpoint: str,
    name: str,
    traffic: Mapping[str, int],
    event: Callable[[str], None],
) -> RolloutFailed:
    """Put the traffic back where it was and delete the new deployment, after reading the end of its log: the error
    says what failed, where the traffic is, and what the deployment logged."""
    try:
        log = workspace.deployment_logs(endpoint, name, LOG_LINES).strip()
    except MlopsError:
        log = ""
    current = workspace.endpoint(endpoint)
    if current is not None and (current.traffic.get(name) or current.mirror.get(name)):
        event(f"traffic back to {', '.join(f'{d} {p}%' for d, p in traffic.items()) or 'nothing'}")
        workspace.set_traffic(endpoint, traffic, {})
    if current is not None and name in current.deployments:
        event(f"deleting the new deployment {name}")
        workspace.delete_deployment(endpoint, name)
    where = ", ".join(f"{d} {p}%" for d, p in traffic.items()) or "no deployment"
    tail = f"\nthe end of its log:\n{log}" if log else ""
    return RolloutFailed(f"{message}. Traffic unchanged ({where}); deployment {name} deleted{tail}")


def _plan(settings: EndpointSettings, name: str, previous: Mapping[str, int], event: Callable[[str], None]) -> None:
    event(f"smoke test of {name} alone, then through the endpoint after each traffic step")
    if settings.delete_after_smoke:
        event(f"then delete endpoint {settings.name} (delete_after_smoke)")
        return
    if settings.mirror_percent:
        event(
            f"if another deployment serves: mirror {settings.mirror_percent}% to {name} for {settings.step_seconds} s"
        )
    steps = ", ".join(f"{step}%" for step in settings.traffic_steps)
    event(f"traffic to {name}: {steps} ({settings.step_seconds} s apart) if another deployment serves, else 100%")
    event(f"then delete the previous deployments after {settings.keep_previous_seconds} s")
