"""`mlops register`: every asset at its version by content, and a second deploy writes nothing."""

from __future__ import annotations

import re


def test_first_deploy_registers_everything_and_a_second_writes_nothing(azure) -> None:
    planned = azure.run("register", "--env", "dev", "--dry-run")
    assert planned.returncode == 0, planned.stderr
    planned_assets = [line.split()[:2] for line in planned.stdout.splitlines()[1:]]
    assert [kind for kind, _ in planned_assets] == ["environment", "component", "component", "component", "data"]
    assert all(re.fullmatch(r"[\w-]+:[0-9a-f]{16}", reference) for _, reference in planned_assets)
    workspace = azure.workspace("dev")
    assert workspace.writes == [], "a dry run wrote to the workspace"

    first = azure.run("register", "--env", "dev")
    assert first.returncode == 0, first.stderr
    assert [line.split()[:2] for line in first.stdout.splitlines()[1:]] == planned_assets
    assert all(line.endswith(" registered") for line in first.stdout.splitlines()[1:])
    assert len(workspace.writes) == 5

    second = azure.run("register", "--env", "dev")
    assert all(line.endswith(" exists") for line in second.stdout.splitlines()[1:])
    assert len(workspace.writes) == 5


def test_environments_are_registered_separately(azure) -> None:
    assert azure.run("register", "--env", "dev").returncode == 0
    assert azure.workspace("prod").writes == []
    result = azure.run("register", "--env", "prod")
    assert all(line.endswith(" registered") for line in result.stdout.splitlines()[1:])
