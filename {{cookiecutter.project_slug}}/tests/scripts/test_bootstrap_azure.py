"""The one-time Azure bootstrap, in its --dry-run mode: every command it would run, without Azure or GitHub."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib

import pytest

from tests.conftest import PROJECT

SCRIPT = PROJECT / "scripts" / "bootstrap_azure.sh"
CONFIG = tomllib.loads((PROJECT / "config" / "environments.toml").read_text(encoding="utf-8"))
RG_DEV, RG_PROD = CONFIG["dev"]["resource_group"], CONFIG["prod"]["resource_group"]


def bootstrap(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=PROJECT)


def test_github_dry_run_prints_every_command() -> None:
    result = bootstrap("--github", "acme/churn", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    groups = [line for line in lines if line.startswith("az group create")]
    assert [re.search(r"--name (\S+)", g).group(1) for g in groups] == [RG_DEV, RG_PROD]
    identities = [
        re.search(r"--name (\S+) --resource-group (\S+)", line).groups()
        for line in lines
        if line.startswith("az identity create")
    ]
    prefix = CONFIG["resource_prefix"]
    assert identities == [
        (f"id-{prefix}-ci-dev", RG_DEV),
        (f"id-{prefix}-ci-prod", RG_PROD),
        (f"id-{prefix}-ci-pr", RG_DEV),
    ]
    federations = re.findall(r"--identity-name id-\S+-ci-(\w+) .* --subject (\S+)", result.stdout)
    assert federations == [
        ("dev", "repo:acme/churn:environment:dev"),
        ("prod", "repo:acme/churn:environment:prod"),
        ("pr", "repo:acme/churn:pull_request"),
    ]
    repository = [line.split()[3] for line in lines if line.startswith("gh variable set") and "--env" not in line]
    assert repository == ["AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID", "AZURE_PR_CLIENT_ID", "AZURE_DEV_PRINCIPAL_ID"]
    environment = [
        re.search(r"set (\w+) --env (\w+) .* --body (\S+)", line).groups() for line in lines if "--env" in line
    ]
    assert environment == [
        ("AZURE_CLIENT_ID", "dev", r"\<dev-clientId\>"),
        ("CI_PRINCIPAL_ID", "dev", r"\<dev-principalId\>"),
        ("AZURE_CLIENT_ID", "prod", r"\<prod-clientId\>"),
        ("CI_PRINCIPAL_ID", "prod", r"\<prod-principalId\>"),
    ]


def grants(output: str) -> list[tuple[str, str, str]]:
    """(identity, role, resource group) of every role assignment the dry run prints."""
    found = re.findall(r"--assignee-object-id \\<(\w+)-principalId\\> .* --role (.+?) --scope (\S+)", output)
    return [(who, role.replace("\\", ""), scope.rsplit("/", 1)[1]) for who, role, scope in found]


def test_each_identity_gets_the_least_it_needs_on_its_own_resource_group() -> None:
    output = bootstrap("--github", "acme/churn", "--dry-run").stdout
    scopes = re.findall(r"--scope (\S+)", output)
    assert all(re.fullmatch(r"/subscriptions/\S+/resourceGroups/rg-[\w-]+", scope) for scope in scopes)
    contributor, rbac_admin, reader = (
        "b24988ac-6180-42dd-a0ba-2b8f6a5f1d3c",
        "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    )
    expected = {
        ("dev", contributor, RG_DEV),
        ("dev", rbac_admin, RG_DEV),
        ("prod", contributor, RG_PROD),
        ("prod", rbac_admin, RG_PROD),
        ("pr", f"{RG_DEV} what-if reader", RG_DEV),
    }
    if CONFIG["prod"].get("ml_registry"):
        expected.add(("prod", reader, RG_DEV))  # promote reads the dev model it shares to the registry
    assert set(grants(output)) == expected
    # The dev identity can change nothing in prod, the pull-request identity nothing anywhere.
    assert not [g for g in grants(output) if g[0] == "dev" and g[2] == RG_PROD]


def test_deploying_identities_can_grant_only_the_roles_infra_grants() -> None:
    """Role Based Access Control Administrator, constrained: no Owner, no User Access Administrator for CI."""
    lines = bootstrap("--github", "acme/churn", "--dry-run").stdout.splitlines()
    admins = [shlex.split(line) for line in lines if "--role f58310d9-a9f6-439a-9e8d-f62e7b41a168" in line]
    assert len(admins) == 2
    bicep = "".join(path.read_text(encoding="utf-8") for path in (PROJECT / "infra" / "modules").glob("*.bicep"))
    granted_by_infra = set(re.findall(r"'([0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})'", bicep))
    assert len(granted_by_infra) >= 4  # AzureML Data Scientist, blob and file data, AcrPull (+ registry user)
    for words in admins:
        condition = words[words.index("--condition") + 1]
        assert words[words.index("--condition-version") + 1] == "2.0"
        lists = re.findall(r"GuidEquals \{([^}]*)\}", condition)
        assert len(lists) == 2  # one for creating assignments, one for deleting them
        assert all(set(found.split(", ")) == granted_by_infra for found in lists)
        for privileged in (
            "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",  # Owner
            "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",  # User Access Administrator
            "f58310d9-a9f6-439a-9e8d-f62e7b41a168",  # Role Based Access Control Administrator
            "b24988ac-6180-42dd-a0ba-2b8f6a5f1d3c",  # Contributor
        ):
            assert privileged not in condition


def test_the_pull_request_role_reads_and_previews_only() -> None:
    output = bootstrap("--github", "acme/churn", "--dry-run").stdout
    (line,) = [line for line in output.splitlines() if line.startswith("az role definition create")]
    words = shlex.split(line)
    definition = json.loads(words[words.index("--role-definition") + 1])
    assert definition["Actions"] == [
        "*/read",
        "Microsoft.Resources/deployments/whatIf/action",
        "Microsoft.Resources/deployments/validate/action",
    ]
    assert definition["AssignableScopes"] == [f"/subscriptions/<subscription-id>/resourceGroups/{RG_DEV}"]


def test_no_secret_is_created_or_stored() -> None:
    output = bootstrap("--github", "acme/churn", "--dry-run").stdout.lower()
    assert "secret" not in output
    assert "password" not in output


@pytest.mark.parametrize(("connection", "identity"), [("mlops-dev", "dev"), ("mlops-prod", "prod"), ("mlops-pr", "pr")])
def test_azure_devops_service_connections_federate_their_own_identity(connection: str, identity: str) -> None:
    subject = f"sc://org/project/{connection}"
    result = bootstrap(
        "--azure-devops", "--dry-run", "--ado-issuer", "https://vstoken.dev.azure.com/x", "--ado-subject", subject
    )
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "federated-credential create" in line]
    assert f"--identity-name id-{CONFIG['resource_prefix']}-ci-{identity} " in line
    assert f"--name ado-{connection} " in line
    assert f"--subject {subject} " in line
    assert "Workload identity" in result.stdout
    assert "pr-azure.yml (the read-only preview against dev)" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "choose the CI platform"),
        (["--github", "acme"], "expects owner/repo"),
        (["--github", "acme/churn", "--bogus"], "unknown option: --bogus"),
        (
            ["--azure-devops", "--ado-subject", "sc://org/project/other"],
            "must end with mlops-dev, mlops-prod or mlops-pr",
        ),
    ],
)
def test_bad_usage_is_one_clear_message(args: list[str], message: str) -> None:
    result = bootstrap(*args)
    assert result.returncode == 2
    assert message in result.stderr
