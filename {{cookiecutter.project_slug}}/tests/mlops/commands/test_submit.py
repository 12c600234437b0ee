"""`mlops submit`: register, submit by name:version, follow, register the promoted model, write the manifest."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest

from mlops.workspace import JobStatus

DECISION = {
    "promote": True,
    "primary_metric": "f1_macro",
    "value": 0.97,
    "threshold": 0.9,
    "baseline_value": None,
    "reasons": ["f1_macro 0.97 reaches the threshold 0.9"],
}
METRICS = {"accuracy": 0.98, "f1_macro": 0.97}


def evaluation(decision: dict = DECISION, metrics: dict = METRICS) -> dict:
    return {
        "evaluation": {"decision.json": json.dumps(decision).encode(), "metrics.json": json.dumps(metrics).encode()}
    }


def test_the_job_references_registered_components_by_name_and_version(azure) -> None:
    result = azure.run("submit", "--env", "dev")
    assert result.returncode == 0, result.stderr
    workspace = azure.workspace("dev")
    (fake_job,) = workspace.jobs.values()
    for step, node in fake_job.job.jobs.items():
        assert ("component", node.component.name, node.component.version) in workspace.assets, step
    assert fake_job.job.tags["environment"] == "dev"
    assert fake_job.job.inputs["input_data"]._data.path.startswith("azureml:")
    assert f"job {fake_job.job.name}: NotStarted" in result.stdout


def test_a_successful_run_registers_the_model_with_lineage_and_writes_the_manifest(azure, tmp_path: Path) -> None:
    workspace = azure.workspace("dev")
    workspace.script_job(["Running", "Completed"], outputs=evaluation())
    manifest = tmp_path / "release" / "manifest.json"
    result = azure.run("submit", "--env", "dev", "--wait", "--poll", "0", "--manifest", str(manifest))
    assert result.returncode == 0, result.stderr
    (job_name,) = workspace.jobs
    ((name, version), model) = next(iter(workspace.models.items()))
    assert (model["job"], model["output"]) == (job_name, "model")
    assert model["tags"]["pipeline_job"] == job_name
    assert model["tags"]["metric_f1_macro"] == "0.97"
    assert model["tags"]["data"].startswith("azureml:")
    assert f"model: registered {name} version {version}" in result.stdout

    written = json.loads(manifest.read_text())
    assert written["pipeline_job"] == job_name
    assert written["model"] == {"name": name, "version": version}
    assert written["rehearsal"] is False
    assert set(written["components"]) == {"data_prep", "train", "evaluate"}
    assert all(len(c["content_hash"]) == 64 for c in written["components"].values())
    assert written["metrics"] == METRICS


def test_a_negative_decision_registers_nothing_and_says_why(azure) -> None:
    decision = {**DECISION, "promote": False, "reasons": ["f1_macro 0.5 is below the threshold 0.9"]}
    azure.workspace("dev").script_job(["Completed"], outputs=evaluation(decision))
    result = azure.run("submit", "--env", "dev", "--wait", "--poll", "0")
    assert result.returncode == 0, result.stderr
    assert azure.workspace("dev").models == {}
    assert "not registered: f1_macro 0.5 is below the threshold 0.9" in result.stdout


def test_a_failed_job_exits_non_zero_with_azure_ml_s_reason(azure) -> None:
    azure.workspace("dev").script_job(["Running", "Failed"], error="train.py exited with code 1")
    result = azure.run("submit", "--env", "dev", "--wait", "--poll", "0")
    assert result.returncode == 1
    assert "ended Failed: train.py exited with code 1" in result.stderr


def test_a_timeout_cancels_the_job(azure) -> None:
    workspace = azure.workspace("dev")
    workspace.script_job(["Running"])
    result = azure.run("submit", "--env", "dev", "--wait", "--poll", "0.01", "--timeout", "0.05")
    assert result.returncode == 2
    assert "did not finish within 0 s and was cancelled" in result.stderr
    (fake_job,) = workspace.jobs.values()
    assert fake_job.status is JobStatus.CANCELED


def test_sigterm_cancels_the_job(azure) -> None:
    """What a cancelled CI job sends: the Azure ML job must not be left running."""
    workspace = azure.workspace("dev")
    workspace.script_job(["Running"])
    done = threading.Event()

    def terminate_once_submitted() -> None:
        while not done.wait(0.01):
            if workspace.jobs:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    watcher = threading.Thread(target=terminate_once_submitted)
    watcher.start()
    try:
        result = azure.run("submit", "--env", "dev", "--wait", "--poll", "0.01", "--timeout", "60")
    finally:
        done.set()
        watcher.join()
    assert result.returncode == 2
    assert "was cancelled" in result.stderr
    (fake_job,) = workspace.jobs.values()
    assert fake_job.status is JobStatus.CANCELED


def test_the_job_name_is_a_github_step_output(azure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    assert azure.run("submit", "--env", "dev").returncode == 0
    assert output.read_text() == f"job_name={next(iter(azure.workspace('dev').jobs))}\n"


def test_the_job_name_is_an_azure_devops_output_variable(azure, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_BUILD", "True")
    result = azure.run("submit", "--env", "dev")
    job_name = next(iter(azure.workspace("dev").jobs))
    assert f"##vso[task.setvariable variable=job_name;isoutput=true]{job_name}" in result.stdout


def test_a_dry_run_shows_the_job_and_writes_a_rehearsal_manifest(azure, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    result = azure.run("submit", "--env", "dev", "--dry-run", "--manifest", str(manifest))
    assert result.returncode == 0, result.stderr
    assert azure.fake.workspaces == {}, "a dry run connected to a workspace"
    assert "Would submit to" in result.stdout
    rehearsal = json.loads(manifest.read_text())
    assert rehearsal["rehearsal"] is True
    assert set(rehearsal["components"]) == {"data_prep", "train", "evaluate"}
