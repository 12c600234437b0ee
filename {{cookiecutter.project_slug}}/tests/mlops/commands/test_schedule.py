"""`mlops schedule`: the recurring retraining, by registered components, on data that changes between runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops import cli
from mlops.settings import default_root, load_azure_settings
from tests.conftest import copy_project

RETRAINING_DATA = "azureml://datastores/workspaceblobstore/paths/training/latest.csv"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """This project, with prod's retraining_data set as the config's comment shows."""
    project = copy_project(tmp_path / "project")
    config = project / "config" / "environments.toml"
    text = config.read_text(encoding="utf-8")
    assert f'# retraining_data = "{RETRAINING_DATA}"' in text
    config.write_text(
        text.replace(f'# retraining_data = "{RETRAINING_DATA}"', f'retraining_data = "{RETRAINING_DATA}"')
    )
    return project


def test_each_scheduled_run_retrains_on_the_refreshed_file_and_reruns_every_step(azure, project: Path, capsys) -> None:
    assert cli.main(["schedule", "--env", "prod"], root=project, connect=azure.fake.connect) == 0
    prod = azure.fake.connect(load_azure_settings("prod", project, {}))
    (schedule,) = prod.schedules.values()
    assert schedule["cron"] == load_azure_settings("prod", default_root(), {}).retraining_schedule
    job = schedule["job"]
    for node in job.jobs.values():
        assert ("component", node.component.name, node.component.version) in prod.assets
    assert job.tags["trigger"] == "schedule"
    # Not the release's fixed data version (every run would repeat the last): the file as it is at each run, every
    # step rerun (Azure ML would reuse them for an unchanged path), each run's evaluation under its own name.
    assert job.inputs["input_data"].path == RETRAINING_DATA
    assert job.settings.force_rerun is True
    assert "/${{name}}/" in job.outputs["evaluation"].path
    assert "registers and deploys nothing" in capsys.readouterr().out


def test_a_schedule_without_data_that_changes_is_refused(azure) -> None:
    """The default config: a cron expression, and retraining_data commented out."""
    result = azure.run("schedule", "--env", "prod")
    assert result.returncode == 2
    assert "has no retraining_data" in result.stderr
    assert "released data asset is one fixed version" in result.stderr
    assert azure.workspace("prod").schedules == {}


def test_an_environment_without_a_schedule_says_how_to_add_one(azure) -> None:
    result = azure.run("schedule", "--env", "dev")
    assert result.returncode == 2
    assert "has no retraining_schedule" in result.stderr
