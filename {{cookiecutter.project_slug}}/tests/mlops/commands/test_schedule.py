"""`mlops schedule`: the recurring retraining, by registered components, in the environment that has a schedule."""

from __future__ import annotations

from mlops.settings import default_root, load_azure_settings


def test_schedule_in_prod_registers_and_schedules_the_pipeline(azure) -> None:
    result = azure.run("schedule", "--env", "prod")
    assert result.returncode == 0, result.stderr
    workspace = azure.workspace("prod")
    (schedule,) = workspace.schedules.values()
    assert schedule["cron"] == load_azure_settings("prod", default_root(), {}).retraining_schedule
    for node in schedule["job"].jobs.values():
        assert ("component", node.component.name, node.component.version) in workspace.assets
    assert schedule["job"].tags["trigger"] == "schedule"


def test_an_environment_without_a_schedule_says_how_to_add_one(azure) -> None:
    result = azure.run("schedule", "--env", "dev")
    assert result.returncode == 2
    assert "has no retraining_schedule" in result.stderr
