"""validate and every --dry-run through the real CLI: no credentials, no network, and what the SDK misses caught."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import copy_project, run_main

# No subscription, and a proxy that refuses every connection: any credential lookup or network use would fail.
OFFLINE = {
    "AZURE_SUBSCRIPTION_ID": "",
    "AZURE_TENANT_ID": "",
    "AZURE_CLIENT_ID": "",
    "HTTPS_PROXY": "http://127.0.0.1:9",
}


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """The CLI's main() in this process (the SDK is imported once for the module, not per command)."""
    for key, value in OFFLINE.items():
        monkeypatch.setenv(key, value)

    return lambda *args, root=None: run_main(capsys, *args, root=root)


def test_validate_passes_for_the_project(offline) -> None:
    result = offline("validate", "--env", "dev")
    assert result.returncode == 0, result.stderr
    assert "pipeline valid: data_prep -> train -> evaluate" in result.stdout


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("n_estimators=ten", "expects integer, got 'ten'"),
        ("test_size=0.9", "above its maximum 0.5"),
    ],
)
def test_validate_catches_literals_the_sdk_accepts(offline, override: str, message: str) -> None:
    result = offline("validate", "--env", "dev", "--set", override)
    assert result.returncode == 1
    assert message in result.stderr


def test_validate_catches_a_folder_wired_into_a_file_input(offline, tmp_path: Path) -> None:
    """In a copy of the project whose evaluate spec declares the wrong type."""
    project = copy_project(tmp_path / "project", ("components", "config", "data", "mlops"))
    spec = project / "components" / "evaluate" / "evaluate.yaml"
    text = spec.read_text()
    changed = re.sub(r"(prepped_data:\s*\n\s*type:\s*)uri_folder", r"\1uri_file", text, count=1)
    assert changed != text
    spec.write_text(changed)
    result = offline("validate", "--env", "dev", root=project)
    assert result.returncode == 1
    assert "is a uri_file but is wired to data_prep.prepped_data, a uri_folder" in result.stderr


def test_register_dry_run_lists_versions_by_content(offline) -> None:
    result = offline("register", "--env", "dev", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()[1:]]
    assert [line[0] for line in lines] == ["environment", "component", "component", "component", "data"]
    assert all(re.fullmatch(r"[\w-]+:[0-9a-f]{16}", line[1]) for line in lines)
    assert offline("register", "--env", "dev", "--dry-run").stdout == result.stdout


def test_submit_dry_run_shows_the_job_by_name_and_version(offline) -> None:
    result = offline("submit", "--env", "dev", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "compute cpu-cluster" in result.stdout
    assert re.search(r"train\s+train:[0-9a-f]{16}", result.stdout)
    assert re.search(r"input_data=azureml:[\w-]+-training-data:[0-9a-f]{16}", result.stdout)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["register", "--env", "dev"], "AZURE_SUBSCRIPTION_ID is not set"),
        (["promote", "--env", "prod", "--manifest", "nope.json", "--dry-run"], "nope.json not found"),
        (["schedule", "--env", "dev", "--dry-run"], "environment dev has no retraining_schedule"),
        (["schedule", "--env", "prod", "--dry-run"], "environment prod has no retraining_data"),
        (["submit", "--env", "stage", "--dry-run"], "unknown environment 'stage'"),
    ],
)
def test_user_errors_are_one_line(offline, args: list[str], message: str) -> None:
    result = offline(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
