"""The one-time Azure bootstrap, in its --dry-run mode: every command it would run, without Azure or GitHub."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib

import pytest

from tests.conftest import PROJECT

SCRIPT = PROJECT / "scripts" / "bootstrap_azure.sh"
CONFIG = tomllib.loads((PROJECT / "config" / "environments.toml").read_text(encoding="utf-8"))


def bootstrap(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=PROJECT)


def test_github_dry_run_prints_every_command() -> None:
    result = bootstrap("--github", "acme/churn", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    groups = [line for line in lines if line.startswith("az group create")]
    assert [re.search(r"--name (\S+)", g).group(1) for g in groups] == [
        CONFIG["dev"]["resource_group"],
        CONFIG["prod"]["resource_group"],
    ]
    assert any(line.startswith("az identity create --name id-") for line in lines)
    subjects = re.findall(r"--subject (\S+)", result.stdout)
    assert subjects == [
        "repo:acme/churn:environment:dev",
        "repo:acme/churn:environment:prod",
        "repo:acme/churn:pull_request",
    ]
    variables = [line for line in lines if line.startswith("gh variable set")]
    assert len(variables) == 8
    assert {re.search(r"--env (\w+)", v).group(1) for v in variables} == {"dev", "prod"}


def test_roles_are_scoped_to_the_resource_groups_only() -> None:
    scopes = re.findall(r"--scope (\S+)", bootstrap("--github", "acme/churn", "--dry-run").stdout)
    assert len(scopes) == 4
    assert all(re.fullmatch(r"/subscriptions/\S+/resourceGroups/rg-[\w-]+", scope) for scope in scopes)


def test_no_secret_is_created_or_stored() -> None:
    output = bootstrap("--github", "acme/churn", "--dry-run").stdout.lower()
    assert "secret" not in output
    assert "password" not in output


def test_azure_devops_dry_run_explains_the_service_connection() -> None:
    result = bootstrap(
        "--azure-devops",
        "--dry-run",
        "--ado-issuer",
        "https://vstoken.dev.azure.com/x",
        "--ado-subject",
        "sc://org/project/mlops-dev",
    )
    assert result.returncode == 0, result.stderr
    assert "federated-credential create --name ado-mlops-dev" in result.stdout
    assert "Workload identity" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "choose the CI platform"),
        (["--github", "acme"], "expects owner/repo"),
        (["--github", "acme/churn", "--bogus"], "unknown option: --bogus"),
    ],
)
def test_bad_usage_is_one_clear_message(args: list[str], message: str) -> None:
    result = bootstrap(*args)
    assert result.returncode == 2
    assert message in result.stderr
