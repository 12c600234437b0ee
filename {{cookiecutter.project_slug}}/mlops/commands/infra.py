"""`mlops infra`: preview or deploy infra/ (Bicep) into one environment's resource group, through the Azure CLI.

A deployment is named after the content it deploys (the infra/ files, the environment and the CI principal), the
same way components are versioned. `deploy` first looks for a successful deployment of that name and, finding one,
does nothing: CD calls it on every push to main and pays for a deployment only when infra/ changed, in the same job
(and so the same concurrency group) that then trains in that environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from mlops.errors import MlopsError
from mlops.settings import AzureSettings
from mlops.versions import content_hash, short

TEMPLATE = Path("infra") / "main.bicep"
NOT_FOUND = "DeploymentNotFound"
# Azure documents up to 10 minutes before a new role assignment takes effect. Commands run within that time after a
# deployment (CD's next steps) retry permission errors until it has passed, instead of failing at once.
ROLE_PROPAGATION = 600.0
STATE = Path(".mlops")  # git-ignored: what this checkout deployed last, per environment


@dataclass(frozen=True)
class Deployment:
    name: str
    resource_group: str
    arguments: tuple[str, ...]  # template and parameter file, relative to the project root

    def command(self, verb: str, *extra: str) -> list[str]:
        return ["az", "deployment", "group", verb, "--resource-group", self.resource_group, "--name", self.name, *extra]


def deployment(azure: AzureSettings, root: Path, environ: Mapping[str, str]) -> Deployment:
    parameters = Path("infra") / "env" / f"{azure.environment}.bicepparam"
    if not (root / parameters).is_file():
        raise MlopsError(f"{parameters} not found: every environment in config/environments.toml needs one")
    # The parameter file reads CI_PRINCIPAL_ID from the environment: a different principal is a different deployment.
    principal = environ.get("CI_PRINCIPAL_ID", "")
    digest = hashlib.sha256(f"{azure.environment}\0{principal}\0{content_hash(root / 'infra')}".encode())
    arguments = ("--template-file", str(TEMPLATE), "--parameters", str(parameters))
    return Deployment(f"infra-{azure.environment}-{short(digest.hexdigest())}", azure.resource_group, arguments)


def _az(command: Sequence[str], root: Path, capture: bool) -> subprocess.CompletedProcess[str]:
    if shutil.which("az") is None:
        purpose = "preview the changes to infra/ (what-if)" if "what-if" in command else "deploy infra/ (Bicep)"
        raise MlopsError(
            f"the Azure CLI (az) is needed to {purpose}: install it (https://aka.ms/azure-cli), then `az login`"
        )
    return subprocess.run(list(command), cwd=root, text=True, capture_output=capture, check=False)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def what_if(azure: AzureSettings, root: Path, environ: Mapping[str, str], dry_run: bool = False) -> list[str]:
    """Print the changes a deploy would make. ProviderNoRbac checks read rights instead of write rights, so the
    read-only identity of pull requests can run it (Azure CLI 2.76 or later)."""
    planned = deployment(azure, root, environ)
    command = planned.command("what-if", *planned.arguments, "--validation-level", "ProviderNoRbac")
    if not dry_run:
        result = _az(command, root, capture=False)  # az prints the change list itself
        if result.returncode != 0:
            raise MlopsError(f"what-if of infra/ in {azure.resource_group} failed (az exit {result.returncode})")
    return command


class Change(Enum):
    UNCHANGED = "unchanged"  # this content's deployment already succeeded: nothing run
    DEPLOYED = "deployed"
    PLANNED = "would deploy unless unchanged"  # dry run: nothing looked up


@dataclass(frozen=True)
class Outcome:
    deployment: Deployment
    change: Change
    commands: tuple[tuple[str, ...], ...]  # what was (or, for a dry run, would be) run


def deploy(azure: AzureSettings, root: Path, environ: Mapping[str, str], dry_run: bool = False) -> Outcome:
    planned = deployment(azure, root, environ)
    show = planned.command("show", "--query", "properties.provisioningState", "--output", "tsv")
    create = planned.command("create", *planned.arguments, "--output", "none")
    if dry_run:
        return Outcome(planned, Change.PLANNED, (tuple(show), tuple(create)))
    found = _az(show, root, capture=True)
    if found.returncode == 0 and found.stdout.strip() == "Succeeded":
        return Outcome(planned, Change.UNCHANGED, (tuple(show),))
    if found.returncode != 0 and NOT_FOUND not in found.stderr:
        raise MlopsError(
            f"looking up deployment {planned.name} in {planned.resource_group}: {_last_line(found.stderr)}"
        )
    # Not deployed yet, or an earlier attempt did not succeed: deploy (ARM deployments are idempotent).
    created = _az(create, root, capture=True)
    if created.returncode != 0:
        raise MlopsError(
            f"deploying infra/ to {planned.resource_group} failed: {_last_line(created.stderr)} "
            f"(details: az deployment operation group list -g {planned.resource_group} -n {planned.name})"
        )
    record_deployment(root, planned, azure.environment)
    return Outcome(planned, Change.DEPLOYED, (tuple(show), tuple(create)))


def _state_file(root: Path, environment: str) -> Path:
    return root / STATE / f"infra-{environment}.json"


def record_deployment(root: Path, deployment: Deployment, environment: str, now: float | None = None) -> None:
    """Note when infra/ (and so its role assignments) was last deployed from this checkout."""
    path = _state_file(root, environment)
    path.parent.mkdir(exist_ok=True)
    record = {"deployment": deployment.name, "deployed_at": time.time() if now is None else now}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record), encoding="utf-8")
    os.replace(temporary, path)


def permissions_settle_by(root: Path, environment: str, now: float | None = None) -> float | None:
    """Until when permission errors may still be role assignments taking effect; None when none were made lately."""
    try:
        record = json.loads(_state_file(root, environment).read_text(encoding="utf-8"))
        settle_by = float(record["deployed_at"]) + ROLE_PROPAGATION
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return settle_by if settle_by > (time.time() if now is None else now) else None
