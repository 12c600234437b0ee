"""The Azure commands end to end through the CLI's main(), the real SDK and real HTTPS, against the workspace TEST
DOUBLE (tests/azure_double): what is registered and submitted, idempotence, waiting, cancelling, failures, retries."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from mlops import settings, workspace
from tests.azure_double.fixture import WorkspaceDouble
from tests.conftest import run_main

DECISION = {
    "promote": True,
    "primary_metric": "f1_macro",
    "value": 0.97,
    "threshold": 0.9,
    "baseline_value": None,
    "reasons": ["f1_macro 0.97 reaches the threshold 0.9"],
}
METRICS = {"accuracy": 0.98, "f1_macro": 0.97}


@pytest.fixture
def azure(workspace_double: WorkspaceDouble, monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path):
    """`python -m mlops ...` in this process, with every environment's workspace served by the double."""
    real_load, real_connect = settings.load_azure_settings, workspace.connect

    def load(environment: str, *args, **kwargs):
        loaded = real_load(environment, *args, **kwargs)
        # The double is one workspace and serves no Azure ML registry: promotion through a registry is not covered.
        return dataclasses.replace(
            loaded,
            resource_group=workspace_double.resource_group,
            workspace=workspace_double.workspace_name,
            ml_registry=None,
        )

    def connect(azure_settings):
        return real_connect(
            azure_settings,
            credential=workspace_double.credential,
            retry_backoff_factor=0.01,
            **workspace_double.client_kwargs,
        )

    monkeypatch.setattr(settings, "load_azure_settings", load)
    monkeypatch.setattr(workspace, "connect", connect)
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", workspace_double.subscription_id)
    for variable in ("GITHUB_OUTPUT", "TF_BUILD", "GITHUB_RUN_ID", "BUILD_BUILDID"):
        monkeypatch.delenv(variable, raising=False)
    previous = signal.getsignal(signal.SIGTERM)

    yield lambda *args: run_main(capsys, *args)
    signal.signal(signal.SIGTERM, previous)
    assert workspace_double.foreign_hosts == [], "a request left the machine"
    assert workspace_double.errors == [], workspace_double.errors


def writes_since(double: WorkspaceDouble, mark: int) -> list:
    return [request for request in double.requests[mark:] if request.is_write]


def test_first_deploy_registers_everything_and_a_second_writes_nothing(azure: Callable, workspace_double) -> None:
    planned = azure("register", "--env", "dev", "--dry-run").stdout.splitlines()[1:]
    first = azure("register", "--env", "dev")
    assert first.returncode == 0, first.stderr
    assert [line.split()[:2] for line in first.stdout.splitlines()[1:]] == [line.split()[:2] for line in planned]
    assert all(line.endswith("registered") for line in first.stdout.splitlines()[1:])
    assert set(workspace_double.components) >= {line.split()[1] for line in planned if line.split()[0] == "component"}
    uploaded = workspace_double.bytes_uploaded()
    assert uploaded > 0

    mark = len(workspace_double.requests)
    second = azure("register", "--env", "dev")
    assert second.returncode == 0, second.stderr
    assert all(line.endswith("exists") for line in second.stdout.splitlines()[1:])
    assert writes_since(workspace_double, mark) == []
    assert workspace_double.bytes_uploaded() == uploaded


def test_validate_against_the_workspace_reads_and_reports_what_is_new(azure: Callable, workspace_double) -> None:
    compute = settings.load_azure_settings("dev").compute
    workspace_double.add_compute(compute, max_nodes=4)

    first = azure("validate", "--env", "dev", "--workspace")
    assert first.returncode == 0, first.stderr
    assert f"compute {compute}: amlcompute, Standard_DS3_v2, 0-4 nodes" in first.stdout
    assert "a deploy would register 5 of 5 assets:" in first.stdout
    assert workspace_double.writes() == []
    assert any(r.path.endswith(f"/computes/{compute}") for r in workspace_double.requests)

    assert azure("register", "--env", "dev").returncode == 0
    mark = len(workspace_double.requests)
    second = azure("validate", "--env", "dev", "--workspace")
    assert "a deploy would register 0 of 5 assets:" in second.stdout
    assert all(line.endswith("exists") for line in second.stdout.splitlines()[3:])
    assert writes_since(workspace_double, mark) == []


def test_validate_against_a_workspace_without_the_cluster_says_to_deploy_infra(azure: Callable) -> None:
    compute = settings.load_azure_settings("dev").compute
    result = azure("validate", "--env", "dev", "--workspace")
    assert result.returncode == 2  # a user error: MlopsError's exit code
    assert f"error: looking up compute cluster {compute}: not found" in result.stderr
    assert "not found in workspace mlw-test. Deploy the infrastructure" in result.stderr
    assert "Traceback" not in result.stderr


def submitted_job(double: WorkspaceDouble) -> dict:
    (job,) = double.jobs.values()
    return job


def test_submit_references_components_by_name_and_version(azure: Callable, workspace_double) -> None:
    dry_run = azure("submit", "--env", "dev", "--dry-run").stdout.splitlines()
    planned = {
        line.split()[0]: line.split()[1] for line in dry_run if line.split()[0] in {"data_prep", "train", "evaluate"}
    }
    data_name, data_version = next(line.split("=azureml:")[1] for line in dry_run if "input_data=" in line).split(":")
    result = azure("submit", "--env", "dev")
    assert result.returncode == 0, result.stderr
    properties = submitted_job(workspace_double)["properties"]
    body = json.dumps(properties)
    for step, reference in planned.items():
        name, version = reference.split(":")
        node = properties["jobs"][step]
        assert node["componentId"].endswith(f"/components/{name}/versions/{version}"), node["componentId"]
    assert "@latest" not in body
    assert "azureml_anonymous" not in body
    assert properties["experimentName"] == settings.load_azure_settings("dev").experiment
    assert properties["settings"]["default_compute"].endswith("cpu-cluster")
    assert properties["tags"]["environment"] == "dev"
    assert "git_commit" in properties["tags"]
    assert properties["inputs"]["input_data"]["uri"].endswith(f"/data/{data_name}/versions/{data_version}")
    assert "job " in result.stdout


def test_submit_wait_failed_job_exits_non_zero(azure: Callable, workspace_double) -> None:
    workspace_double.script_job(["Running", "Failed"], error="train.py exited with code 1")
    result = azure("submit", "--env", "dev", "--wait", "--poll", "0")
    assert result.returncode == 1
    assert "ended Failed: train.py exited with code 1" in result.stderr


def cancel_requests(double: WorkspaceDouble) -> list:
    return [r for r in double.requests if r.method == "POST" and r.path.endswith("/cancel")]


def test_timeout_cancels_the_job(azure: Callable, workspace_double) -> None:
    workspace_double.script_job(["Running"])
    result = azure("submit", "--env", "dev", "--wait", "--poll", "0.05", "--timeout", "0.3")
    assert result.returncode == 2
    assert "did not finish within 0 s and was cancelled" in result.stderr
    assert len(cancel_requests(workspace_double)) == 1


def test_sigterm_cancels_the_job(azure: Callable, workspace_double) -> None:
    """What a cancelled CI job sends: the Azure ML job must not be left running."""
    workspace_double.script_job(["Running"])
    submitted = threading.Event()

    def terminate_once_submitted() -> None:
        for _ in range(600):  # at most 60 s
            if workspace_double.jobs:
                os.kill(os.getpid(), signal.SIGTERM)
                return
            if submitted.wait(0.1):
                return

    watcher = threading.Thread(target=terminate_once_submitted)
    watcher.start()
    try:
        result = azure("submit", "--env", "dev", "--wait", "--poll", "0.05", "--timeout", "60")
    finally:
        submitted.set()
        watcher.join()
    assert result.returncode == 2
    assert "was cancelled" in result.stderr
    assert len(cancel_requests(workspace_double)) == 1


def test_an_authentication_failure_says_how_to_log_in(azure: Callable, workspace_double) -> None:
    workspace_double.fail_next(r"/environments/", 401, times=5)
    result = azure("register", "--env", "dev")
    assert result.returncode == 2
    assert "az login" in result.stderr
    assert "azure/login" in result.stderr
    assert "AzureCLI@2" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_and_unavailability_are_retried(azure: Callable, workspace_double, status: int) -> None:
    workspace_double.fail_next(r"/components/", status, times=2)
    result = azure("register", "--env", "dev")
    assert result.returncode == 0, result.stderr
    answered = [r.status for r in workspace_double.requests if "/components/" in r.path]
    assert answered[:2] == [status, status]


def test_github_step_output(azure: Callable, workspace_double, tmp_path: Path, monkeypatch) -> None:
    output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    assert azure("submit", "--env", "dev").returncode == 0
    assert output.read_text() == f"job_name={next(iter(workspace_double.jobs))}\n"


def test_azure_devops_step_output(azure: Callable, monkeypatch) -> None:
    monkeypatch.setenv("TF_BUILD", "True")
    result = azure("submit", "--env", "dev")
    assert "##vso[task.setvariable variable=job_name;isoutput=true]" in result.stdout


def test_schedule_in_prod(azure: Callable, workspace_double) -> None:
    result = azure("schedule", "--env", "prod")
    assert result.returncode == 0, result.stderr
    (schedule,) = workspace_double.schedules.values()
    trigger = schedule["properties"]["trigger"]
    assert trigger["expression"] == settings.load_azure_settings("prod").retraining_schedule
    assert "componentId" in json.dumps(schedule)


def test_promote_refuses_a_checkout_that_differs(azure: Callable, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "manifest_version": 1,
                "commit": "abc123",
                "pipeline_job": "job-1",
                "workspace": "w",
                "environment": {"name": "e", "version": "0" * 16, "content_hash": "0"},
                "components": {},
                "data": {"name": "d", "version": "1", "content_hash": "1"},
                "model": {"name": "m", "version": "1"},
                "metrics": {},
                "decision": DECISION,
            }
        )
    )
    result = azure("promote", "--env", "prod", "--manifest", str(manifest))
    assert result.returncode == 2
    assert "does not rebuild what passed in dev" in result.stderr
    assert "data_prep is new in this checkout" in result.stderr
    assert "check out commit abc123" in result.stderr


def evaluation(decision: dict) -> dict:
    return {
        "evaluation": {"decision.json": json.dumps(decision).encode(), "metrics.json": json.dumps(METRICS).encode()}
    }


def test_a_successful_run_registers_the_model_and_writes_the_manifest(azure, workspace_double, tmp_path: Path) -> None:
    workspace_double.script_job(["Running", "Completed"], outputs=evaluation(DECISION))
    manifest = tmp_path / "release" / "manifest.json"
    result = azure("submit", "--env", "dev", "--wait", "--poll", "0", "--manifest", str(manifest))
    assert result.returncode == 0, result.stderr
    (job_name,) = workspace_double.jobs
    (model,) = workspace_double.models.values()
    properties = model["properties"]
    assert properties["modelType"] == "mlflow_model"
    assert properties["modelUri"].endswith(f"jobs/{job_name}/outputs/model")
    assert properties["tags"]["pipeline_job"] == job_name
    assert properties["tags"]["metric_f1_macro"] == "0.97"
    assert "git_commit" in properties["tags"]
    assert properties["tags"]["data"].startswith("azureml:")

    written = json.loads(manifest.read_text())
    assert written["pipeline_job"] == job_name
    assert written["model"]["version"] == "1"
    assert set(written["components"]) == {"data_prep", "train", "evaluate"}
    assert all(len(c["content_hash"]) == 64 for c in written["components"].values())
    assert written["metrics"] == METRICS


def test_a_negative_decision_registers_nothing_and_says_why(azure, workspace_double) -> None:
    decision = {**DECISION, "promote": False, "value": 0.5, "reasons": ["f1_macro 0.5 is below the threshold 0.9"]}
    workspace_double.script_job(["Completed"], outputs=evaluation(decision))
    result = azure("submit", "--env", "dev", "--wait", "--poll", "0")
    assert result.returncode == 0, result.stderr
    assert workspace_double.models == {}
    assert "not registered: f1_macro 0.5 is below the threshold 0.9" in result.stdout


def test_promote_registers_the_same_versions_and_runs_in_prod(azure, workspace_double, tmp_path: Path) -> None:
    workspace_double.script_job(["Completed"], outputs=evaluation(DECISION))
    manifest = tmp_path / "manifest.json"
    assert azure("submit", "--env", "dev", "--wait", "--poll", "0", "--manifest", str(manifest)).returncode == 0
    released = json.loads(manifest.read_text())
    mark = len(workspace_double.requests)

    result = azure("promote", "--env", "prod", "--manifest", str(manifest))
    assert result.returncode == 0, result.stderr
    assert f"promoting {released['model']['name']} version 1 from job {released['pipeline_job']}" in result.stdout
    (prod_job,) = [job for name, job in workspace_double.jobs.items() if name != released["pipeline_job"]]
    for step, component in released["components"].items():
        node = prod_job["properties"]["jobs"][step]
        assert node["componentId"].endswith(f"/components/{component['name']}/versions/{component['version']}")
    assert prod_job["properties"]["tags"]["environment"] == "prod"
    # One workspace plays both environments here: everything already exists, so the only write is the job.
    assert [r.method for r in writes_since(workspace_double, mark)] == ["PUT"]
