"""validate and every --dry-run through the real CLI: no credentials, no network, and what the SDK misses caught."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import assert_user_error, copy_project, mlops

pytestmark = pytest.mark.slow  # each test starts the CLI, which imports the Azure SDK (~3 s)

OFFLINE = {
    "AZURE_SUBSCRIPTION_ID": "",
    "AZURE_TENANT_ID": "",
    "AZURE_CLIENT_ID": "",
    "HTTPS_PROXY": "http://127.0.0.1:9",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("project"))


def offline(project: Path, *args: str):
    """With no subscription and a proxy that refuses every connection: any network use would fail the command."""
    saved = {key: os.environ.get(key) for key in OFFLINE}
    os.environ.update(OFFLINE)
    try:
        return mlops(project, *args)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_validate_passes_for_the_project(project: Path) -> None:
    result = offline(project, "validate", "--env", "dev")
    assert result.returncode == 0, result.stderr
    assert "pipeline valid: data_prep -> train -> evaluate" in result.stdout


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("n_estimators=ten", "expects integer, got 'ten'"),
        ("test_size=0.9", "above its maximum 0.5"),
    ],
)
def test_validate_catches_literals_the_sdk_accepts(project: Path, override: str, message: str) -> None:
    result = offline(project, "validate", "--env", "dev", "--set", override)
    assert result.returncode == 1
    assert message in result.stderr


def test_validate_catches_a_folder_wired_into_a_file_input(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    spec = project / "components" / "evaluate" / "evaluate.yaml"
    text = spec.read_text()
    changed = re.sub(r"(prepped_data:\s*\n\s*type:\s*)uri_folder", r"\1uri_file", text, count=1)
    assert changed != text
    spec.write_text(changed)
    result = offline(project, "validate", "--env", "dev")
    assert result.returncode == 1
    assert "is a uri_file but is wired to data_prep.prepped_data, a uri_folder" in result.stderr


def test_register_dry_run_lists_versions_by_content(project: Path) -> None:
    result = offline(project, "register", "--env", "dev", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()[1:]]
    assert [line[0] for line in lines] == ["environment", "component", "component", "component", "data"]
    assert all(re.fullmatch(r"[\w-]+:[0-9a-f]{16}", line[1]) for line in lines)
    assert offline(project, "register", "--env", "dev", "--dry-run").stdout == result.stdout


def test_submit_dry_run_shows_the_job_by_name_and_version(project: Path) -> None:
    result = offline(project, "submit", "--env", "dev", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "compute cpu-cluster" in result.stdout
    assert re.search(r"train\s+train:[0-9a-f]{16}", result.stdout)
    assert re.search(r"input_data=azureml:[\w-]+-training-data:[0-9a-f]{16}", result.stdout)


def test_schedule_dry_run_in_prod(project: Path) -> None:
    result = offline(project, "schedule", "--env", "prod", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Would schedule" in result.stdout


def test_commands_that_write_need_a_subscription(project: Path) -> None:
    assert_user_error(offline(project, "register", "--env", "dev"), "AZURE_SUBSCRIPTION_ID is not set")


def test_promote_refuses_a_missing_manifest(project: Path) -> None:
    assert_user_error(
        offline(project, "promote", "--env", "prod", "--manifest", "nope.json", "--dry-run"), "nope.json not found"
    )
