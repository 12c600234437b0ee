"""`mlops validate --workspace`: Azure ML's validation, the cluster, and what a deploy would register; reads only."""

from __future__ import annotations

from mlops.settings import default_root, load_azure_settings


def test_reports_the_cluster_and_what_is_new_and_writes_nothing(azure) -> None:
    compute = load_azure_settings("dev", default_root(), {}).compute
    workspace = azure.workspace("dev")
    workspace.computes.add(compute)

    first = azure.run("validate", "--env", "dev", "--workspace")
    assert first.returncode == 0, first.stderr
    assert f"compute {compute}: amlcompute" in first.stdout
    assert "a deploy would register 5 of 5 assets:" in first.stdout
    assert workspace.writes == []

    assert azure.run("register", "--env", "dev").returncode == 0
    second = azure.run("validate", "--env", "dev", "--workspace")
    assert "a deploy would register 0 of 5 assets:" in second.stdout


def test_a_workspace_without_the_cluster_says_to_deploy_the_infrastructure(azure) -> None:
    result = azure.run("validate", "--env", "dev", "--workspace")
    assert result.returncode == 2
    assert "Deploy the infrastructure" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_azure_ml_validation_problems_fail_the_check(azure) -> None:
    workspace = azure.workspace("dev")
    workspace.computes.add(load_azure_settings("dev", default_root(), {}).compute)
    workspace.validation_problems.append("jobs.train.compute: compute not found")
    result = azure.run("validate", "--env", "dev", "--workspace")
    assert result.returncode == 1
    assert "error: jobs.train.compute: compute not found" in result.stderr
