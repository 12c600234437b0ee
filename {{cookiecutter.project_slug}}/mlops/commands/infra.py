"""`mlops infra`: preview or deploy infra/ (Bicep) into one environment's resource group, through the Azure CLI.

A deployment is named after the content it deploys (the infra/ files, the environment and the CI principal), the
same way components are versioned. `deploy` first looks for a successful deployment of that name and, finding one,
does nothing: CD calls it on every push to main and pays for a deployment only when infra/ changed, in the same job
(and so the same concurrency group) that then trains in that environment.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlops.errors import MlopsError
from mlops.settings import AzureSettings
from mlops.versions import content_hash, short

TEMPLATE = Path("infra") / "main.bicep"
NOT_FOUND = "DeploymentNotFound"


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
        raise MlopsError(
            "the Azure CLI (az) is needed to deploy infra/: install it (https://aka.ms/azure-cli), then `az login`"
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


@dataclass(frozen=True)
class Outcome:
    deployment: Deployment
    action: str  # "unchanged" | "deployed" | "would deploy unless unchanged"
    commands: tuple[tuple[str, ...], ...]  # what was (or, for a dry run, would be) run


def deploy(azure: AzureSettings, root: Path, environ: Mapping[str, str], dry_run: bool = False) -> Outcome:
    planned = deployment(azure, root, environ)
    show = planned.command("show", "--query", "properties.provisioningState", "--output", "tsv")
    create = planned.command("create", *planned.arguments, "--output", "none")
    if dry_run:
        return Outcome(planned, "would deploy unless unchanged", (tuple(show), tuple(create)))
    found = _az(show, root, capture=True)
    if found.returncode == 0 and found.stdout.strip() == "Succeeded":
        return Outcome(planned, "unchanged", (tuple(show),))
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
    return Outcome(planned, "deployed", (tuple(show), tuple(create)))
