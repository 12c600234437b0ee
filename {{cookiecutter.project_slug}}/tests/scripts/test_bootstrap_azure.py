"""The one-time Azure bootstrap: its --dry-run (every command it would run, without Azure or GitHub), and real runs
against TEST DOUBLES of az and gh (tests/scripts/fake_cli.py), run twice to show a re-run changes nothing.

Role ids come from infra/built-in-roles.json (checked against Microsoft's list in tests/infra/), looked up by name
here: a test that repeated the script's ids would only prove the script equal to itself.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PROJECT

SCRIPT = PROJECT / "scripts" / "bootstrap_azure.sh"
CONFIG = tomllib.loads((PROJECT / "config" / "environments.toml").read_text(encoding="utf-8"))
RG_DEV, RG_PROD = CONFIG["dev"]["resource_group"], CONFIG["prod"]["resource_group"]
ROLES = json.loads((PROJECT / "infra" / "built-in-roles.json").read_text(encoding="utf-8"))["roles"]
# Microsoft's role ids, transcribed independently of infra/built-in-roles.json: the fake az knows only these.
MICROSOFT_ROLES = PROJECT / "tests" / "infra" / "microsoft_built_in_roles.json"
FAKE_CLI = Path(__file__).with_name("fake_cli.py")


def bootstrap(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=PROJECT)


@pytest.fixture(scope="module")
def github() -> list[str]:
    result = bootstrap("--github", "acme/churn", "--dry-run")
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def commands(lines: list[str], prefix: str) -> list[list[str]]:
    """The printed commands starting with ``prefix`` (not the checks printed as comments), as argument lists."""
    return [shlex.split(line) for line in lines if line.startswith(prefix)]


def option(words: list[str], name: str) -> str:
    return words[words.index(name) + 1]


def test_help_is_the_whole_usage_on_stdout() -> None:
    result = bootstrap("--help")
    assert result.returncode == 0
    assert result.stderr == ""
    assert "--github OWNER/REPO" in result.stdout
    assert "--dry-run" in result.stdout
    assert result.stdout.rstrip().endswith("the GitHub CLI gh (logged in).")  # the last line, not cut mid-sentence


def test_a_new_subscription_gets_every_resource_provider_infra_needs(github: list[str]) -> None:
    registered = {option(words, "--namespace") for words in commands(github, "az provider register")}
    bicep = " ".join(path.read_text(encoding="utf-8") for path in (PROJECT / "infra").rglob("*.bicep"))
    used = set(re.findall(r"'(Microsoft\.[A-Za-z]+)/", bicep)) - {"Microsoft.Authorization"}
    assert used <= registered
    assert {"Microsoft.MachineLearningServices", "Microsoft.Storage", "Microsoft.ManagedIdentity"} <= registered
    checks = [line for line in github if line.startswith("# unless az provider show")]
    assert len(checks) == len(registered)  # registered only when not registered yet


def test_github_dry_run_prints_every_command(github: list[str]) -> None:
    groups = commands(github, "az group create")
    assert [option(words, "--name") for words in groups] == [RG_DEV, RG_PROD]
    identities = [(option(w, "--name"), option(w, "--resource-group")) for w in commands(github, "az identity create")]
    prefix = CONFIG["resource_prefix"]
    assert identities == [
        (f"id-{prefix}-ci-dev", RG_DEV),
        (f"id-{prefix}-ci-prod", RG_PROD),
        (f"id-{prefix}-ci-pr", RG_DEV),
    ]
    federations = [
        (option(w, "--identity-name").rsplit("-", 1)[1], option(w, "--subject"))
        for w in commands(github, "az identity federated-credential create")
    ]
    assert federations == [
        ("dev", "repo:acme/churn:environment:dev"),
        ("prod", "repo:acme/churn:environment:prod"),
        ("pr", "repo:acme/churn:pull_request"),
    ]
    variables = commands(github, "gh variable set")
    assert [w[3] for w in variables if "--env" not in w] == [
        "AZURE_TENANT_ID",
        "AZURE_SUBSCRIPTION_ID",
        "AZURE_PR_CLIENT_ID",
        "AZURE_DEV_PRINCIPAL_ID",
    ]
    assert [(w[3], option(w, "--env"), option(w, "--body")) for w in variables if "--env" in w] == [
        ("AZURE_CLIENT_ID", "dev", "<dev-clientId>"),
        ("CI_PRINCIPAL_ID", "dev", "<dev-principalId>"),
        ("AZURE_CLIENT_ID", "prod", "<prod-clientId>"),
        ("CI_PRINCIPAL_ID", "prod", "<prod-principalId>"),
    ]


def test_the_dry_run_reads_like_commands_a_person_types(github: list[str]) -> None:
    assert not any("\\<" in line or "\\ " in line for line in github), "no backslash escapes"
    (admin,) = [line for line in github if "roleAssignments:RoleDefinitionId" in line and "prod" not in line]
    assert "--condition \"((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'}))" in admin


def grants(lines: list[str]) -> set[tuple[str, str, str]]:
    """(identity, role, resource group) of every role assignment the dry run prints."""
    return {
        (
            option(w, "--assignee-object-id").strip("<>").split("-")[0],
            option(w, "--role"),
            option(w, "--scope").rsplit("/", 1)[1],
        )
        for w in commands(lines, "az role assignment create")
    }


def test_each_identity_gets_the_least_it_needs_on_its_own_resource_group(github: list[str]) -> None:
    scopes = [option(w, "--scope") for w in commands(github, "az role assignment create")]
    assert all(re.fullmatch(r"/subscriptions/\S+/resourceGroups/rg-[\w-]+", scope) for scope in scopes)
    contributor, rbac_admin = ROLES["Contributor"], ROLES["Role Based Access Control Administrator"]
    expected = {
        ("dev", contributor, RG_DEV),
        ("dev", rbac_admin, RG_DEV),
        ("prod", contributor, RG_PROD),
        ("prod", rbac_admin, RG_PROD),
        ("pr", f"{RG_DEV} what-if reader", RG_DEV),
    }
    if CONFIG["prod"].get("ml_registry"):
        expected.add(("prod", ROLES["Reader"], RG_DEV))  # promote reads the dev model it shares to the registry
    assert grants(github) == expected
    # The dev identity can change nothing in prod, the pull-request identity nothing anywhere.
    assert not [grant for grant in grants(github) if grant[0] == "dev" and grant[2] == RG_PROD]


def test_every_change_is_checked_first_so_a_rerun_is_safe(github: list[str]) -> None:
    """Re-creating an existing role assignment fails on some Azure CLI releases: each is looked up first."""
    for kind, check in [
        ("az role assignment create", "# unless az role assignment list"),
        ("az identity federated-credential create", "# unless az identity federated-credential show"),
        ("az role definition create", "# unless az role definition list"),
        ("az group create", "# unless az group show"),
        ("az identity create", "# unless az identity show"),
        ("gh api --method PUT", "# unless gh api"),
    ]:
        created = [i for i, line in enumerate(github) if line.startswith(kind)]
        assert created, kind
        assert all(github[i - 1].startswith(check) for i in created), kind


def test_deploying_identities_can_grant_only_the_roles_infra_grants(github: list[str]) -> None:
    """Role Based Access Control Administrator, constrained: no Owner, no User Access Administrator for CI."""
    admins = [
        w
        for w in commands(github, "az role assignment create")
        if option(w, "--role") == ROLES["Role Based Access Control Administrator"]
    ]
    assert len(admins) == 2
    bicep = "".join(path.read_text(encoding="utf-8") for path in (PROJECT / "infra" / "modules").glob("*.bicep"))
    named = {
        next(g for g in m if g)
        for m in re.findall(r"builtInRoles\['([^']+)'\]|builtInRoles\.(\w+)|\.roles\['([^']+)'\]", bicep)
    }
    assert {"AzureML Data Scientist", "Storage Blob Data Contributor", "AcrPull", "AzureML Registry User"} <= named
    granted_by_infra = {ROLES[name] for name in named}
    for words in admins:
        condition = option(words, "--condition")
        assert option(words, "--condition-version") == "2.0"
        lists = re.findall(r"GuidEquals \{([^}]*)\}", condition)
        assert len(lists) == 2  # one for creating assignments, one for deleting them
        assert all(set(found.split(", ")) == granted_by_infra for found in lists)
        for privileged in (
            "Owner",
            "User Access Administrator",
            "Role Based Access Control Administrator",
            "Contributor",
        ):
            assert ROLES[privileged] not in condition, privileged


def test_the_pull_request_role_reads_and_previews_only(github: list[str]) -> None:
    (words,) = commands(github, "az role definition create")
    definition = json.loads(option(words, "--role-definition"))
    assert definition["Actions"] == [
        "*/read",
        "Microsoft.Resources/deployments/whatIf/action",
        "Microsoft.Resources/deployments/validate/action",
    ]
    assert definition["AssignableScopes"] == [f"/subscriptions/<subscription-id>/resourceGroups/{RG_DEV}"]


def test_no_secret_is_created_or_stored(github: list[str]) -> None:
    output = "\n".join(github).lower()
    assert "secret" not in output
    assert "password" not in output


@pytest.mark.parametrize(("connection", "identity"), [("mlops-dev", "dev"), ("mlops-prod", "prod"), ("mlops-pr", "pr")])
def test_azure_devops_service_connections_federate_their_own_identity(connection: str, identity: str) -> None:
    subject = f"sc://org/project/{connection}"
    result = bootstrap(
        "--azure-devops", "--dry-run", "--ado-issuer", "https://vstoken.dev.azure.com/x", "--ado-subject", subject
    )
    assert result.returncode == 0, result.stderr
    (words,) = commands(result.stdout.splitlines(), "az identity federated-credential create")
    assert option(words, "--identity-name") == f"id-{CONFIG['resource_prefix']}-ci-{identity}"
    assert option(words, "--name") == f"ado-{connection}"
    assert option(words, "--subject") == subject
    assert "Workload identity" in result.stdout
    assert "pr-azure.yml (the read-only preview against dev)" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "choose the CI platform"),
        (["--github", "acme"], "expects OWNER/REPO"),
        (["--github"], "--github needs OWNER/REPO"),
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
    assert "--help" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@dataclass
class FakeCloud:
    """An empty subscription and GitHub repository, behind TEST DOUBLES of `az` and `gh` first on PATH."""

    bin: Path
    state: Path

    def bootstrap(self, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PATH": f"{self.bin}:/usr/bin:/bin", "FAKE_CLI_STATE": str(self.state)}
        env["PYTHON"] = sys.executable
        result = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=PROJECT)
        assert result.returncode == 0, result.stderr
        return result

    def read(self) -> dict:
        return json.loads(self.state.read_text(encoding="utf-8"))


@pytest.fixture
def cloud(tmp_path: Path) -> FakeCloud:
    fake = FakeCloud(tmp_path / "bin", tmp_path / "state.json")
    fake.bin.mkdir()
    for program in ("az", "gh"):
        executable = fake.bin / program
        # -IS (isolated, no site): the double needs only the standard library, and so starts in a few milliseconds.
        executable.write_text(f"#!{sys.executable} -IS\n" + FAKE_CLI.read_text(encoding="utf-8"), encoding="utf-8")
        executable.chmod(0o755)
    empty = {
        "subscription_id": "00000000-0000-0000-0000-00000000000a",
        "tenant_id": "00000000-0000-0000-0000-00000000000b",
        "built_in_role_ids": sorted(json.loads(MICROSOFT_ROLES.read_text(encoding="utf-8"))["roles"].values()),
        "providers": {},
        "groups": {},
        "identities": {},
        "role_assignments": [],
        "role_definitions": [],
        "github": {"environments": {}, "variables": {}},
        "calls": [],
    }
    fake.state.write_text(json.dumps(empty), encoding="utf-8")
    return fake


def command(call: dict) -> str:
    """What a recorded call is, as `az identity create`, `gh variable set` or `gh api PUT`."""
    if call["program"] == "gh" and call["args"][0] == "api":
        return "gh api PUT" if "--method" in call["args"] else "gh api GET"
    words = [call["program"]]
    for word in call["args"]:
        words.append(word)
        if word in {"show", "list", "create", "delete", "register", "set"}:
            break
    return " ".join(words)


def resources(state: dict) -> dict:
    return {key: value for key, value in state.items() if key != "calls"}


LOOKUPS = {
    "az account show",
    "az provider show",
    "az group show",
    "az identity show",
    "az identity federated-credential show",
    "az role assignment list",
    "az role definition list",
    "gh api GET",
}
GITHUB = ("--github", "acme/churn")
AZURE_DEVOPS = (
    "--azure-devops",
    "--ado-issuer",
    "https://vstoken.dev.azure.com/org",
    "--ado-subject",
    "sc://o/p/mlops-dev",
)


@pytest.mark.slow  # two runs of about 65 az and gh processes each
@pytest.mark.parametrize("args", [GITHUB, AZURE_DEVOPS], ids=["github", "azure-devops"])
def test_a_second_run_creates_nothing(cloud: FakeCloud, args: tuple[str, ...]) -> None:
    """For real against an empty subscription, then again: the second run only looks things up. (The double refuses a
    second identical role assignment, as Azure CLI releases before August 2025 do.)"""
    cloud.bootstrap(*args)
    first = cloud.read()
    made = [command(call) for call in first["calls"] if call["changed"]]
    registered = [option(c["args"], "--namespace") for c in first["calls"] if command(c) == "az provider register"]
    assert {"Microsoft.MachineLearningServices", "Microsoft.Storage", "Microsoft.ManagedIdentity"} <= set(registered)
    github = args == GITHUB
    created_once = {
        "az provider register": len(set(registered)),
        "az group create": 2,
        "az identity create": 3,
        "az role assignment create": 6 if CONFIG["prod"].get("ml_registry") else 5,
        "az role definition create": 1,
        "az identity federated-credential create": 3 if github else 1,  # Azure DevOps: one service connection a run
        "gh api PUT": 2 if github else 0,  # the GitHub environments dev and prod
    }
    assert {kind: made.count(kind) for kind in created_once} == created_once
    assert set(made) - set(created_once) == ({"gh variable set"} if github else set())
    assert len(first["role_assignments"]) == created_once["az role assignment create"]
    assert all(command(call) in LOOKUPS for call in first["calls"] if call["exit"])  # only "not found yet" failed
    (dev,) = [found for key, found in first["identities"].items() if key.endswith("-ci-dev")]
    if github:
        assert first["github"]["variables"]["acme/churn/environments/dev"]["AZURE_CLIENT_ID"] == dev["clientId"]

    second = cloud.bootstrap(*args)
    calls = cloud.read()["calls"][len(first["calls"]) :]
    assert [command(call) for call in calls if call["changed"] or call["exit"]] == []
    # Only lookups, and the CI variables set again to the values they have.
    assert {command(call) for call in calls} <= LOOKUPS | {"gh variable set"}
    assert resources(cloud.read()) == resources(first)
    if not github:  # what to enter in Azure DevOps names the identity that exists
        assert f"mlops-dev   client id {dev['clientId']}" in second.stdout


@pytest.mark.slow  # two runs of about 65 az and gh processes each
def test_a_condition_naming_the_roles_infra_granted_before_is_renewed(cloud: FakeCloud) -> None:
    """After a role is added to infra/, a re-run replaces the deploying identities' RBAC Administrator assignments, so
    that their condition allows the new role too; it touches nothing else."""
    cloud.bootstrap(*GITHUB)
    state = cloud.read()
    rbac_admin = ROLES["Role Based Access Control Administrator"]
    admin = [a for a in state["role_assignments"] if a["roleDefinitionId"] == rbac_admin]
    assert len(admin) == 2
    current = admin[0]["condition"]
    dropped = ROLES["Storage Blob Data Contributor"]  # as if infra/ had not granted it at the first run
    assert dropped in current
    for assignment in admin:
        assignment["condition"] = current.replace(f"{dropped}, ", "").replace(f", {dropped}", "")
    cloud.state.write_text(json.dumps(state), encoding="utf-8")

    cloud.bootstrap(*GITHUB)
    after = cloud.read()
    changed = [command(call) for call in after["calls"][len(state["calls"]) :] if call["changed"]]
    assert sorted(changed) == ["az role assignment create"] * 2 + ["az role assignment delete"] * 2
    renewed = [a for a in after["role_assignments"] if a["roleDefinitionId"] == rbac_admin]
    assert [a["condition"] for a in renewed] == [current, current]
    others = [a for a in after["role_assignments"] if a not in renewed]
    assert others == [a for a in state["role_assignments"] if a["roleDefinitionId"] != rbac_admin]
