"""`mlops infra`: what it asks the Azure CLI to do, through a TEST DOUBLE of `az` (tests/mlops/fake_az.py) that
records every call and remembers deployments. Deploying unchanged content twice deploys once."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import CliResult, assert_user_error, copy_project

FAKE_AZ = Path(__file__).with_name("fake_az.py")


class Az:
    def __init__(self, folder: Path) -> None:
        self.state = folder / "az-state.json"
        self.bin = folder / "bin"
        self.bin.mkdir()
        script = self.bin / "az"
        script.write_text(f"#!{sys.executable}\n" + FAKE_AZ.read_text(encoding="utf-8"), encoding="utf-8")
        script.chmod(0o755)
        self.configure()

    def configure(self, **settings: object) -> None:
        state = json.loads(self.state.read_text()) if self.state.exists() else {"calls": [], "deployments": {}}
        self.state.write_text(json.dumps({**state, **settings}))

    @property
    def calls(self) -> list[list[str]]:
        return json.loads(self.state.read_text())["calls"]

    def verbs(self) -> list[str]:
        return [call[2] for call in self.calls]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """What `mlops infra` reads: the settings and the Bicep."""
    return copy_project(tmp_path / "project", ("config", "infra"))


@pytest.fixture
def az(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Az:
    fake = Az(tmp_path)
    monkeypatch.setenv("PATH", f"{fake.bin}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_AZ_STATE", str(fake.state))
    monkeypatch.delenv("CI_PRINCIPAL_ID", raising=False)
    return fake


@pytest.fixture(autouse=True)
def _in_process(capfd: pytest.CaptureFixture[str]) -> None:
    """The CLI runs in this process, on the copied project (its root is a parameter); az's own output is captured
    at the file descriptors, as a terminal would show it."""
    global _capture
    _capture = capfd


def mlops(project: Path, *args: str) -> CliResult:
    """`python -m mlops ARGS` on ``project``, in this process: the fake az on PATH is still a real subprocess."""
    from mlops import cli

    code = cli.main(list(args), root=project)
    captured = _capture.readouterr()
    return CliResult(code, captured.out, captured.err)


def deploy(project: Path, env: str = "dev") -> CliResult:
    return mlops(project, "infra", "deploy", "--env", env)


def test_unchanged_infra_is_deployed_once(project: Path, az: Az) -> None:
    first = deploy(project)
    assert first.returncode == 0, first.stderr
    assert "infra/ deployed to rg-" in first.stdout
    assert az.verbs() == ["show", "create"]
    show, create = az.calls
    assert create[create.index("--template-file") + 1] == "infra/main.bicep"
    assert create[create.index("--parameters") + 1] == "infra/env/dev.bicepparam"
    assert show[show.index("--name") + 1] == create[create.index("--name") + 1]

    second = deploy(project)
    assert second.returncode == 0, second.stderr
    assert "infra/ unchanged since its last successful deployment" in second.stdout
    assert az.verbs() == ["show", "create", "show"]

    with (project / "infra" / "main.bicep").open("a") as bicep:
        bicep.write("\n// a change\n")
    third = deploy(project)
    assert third.returncode == 0, third.stderr
    assert az.verbs() == ["show", "create", "show", "show", "create"]

    names = {call[call.index("--name") + 1] for call in az.calls}
    assert len(names) == 2


def test_a_deployment_opens_a_window_in_which_permission_errors_are_retried(project: Path, az: Az) -> None:
    """Role assignments take up to 10 minutes to apply: the commands after a deployment wait for them."""
    from mlops.commands.infra import ROLE_PROPAGATION, permissions_settle_by

    assert permissions_settle_by(project, "dev") is None
    assert deploy(project).returncode == 0
    settle_by = permissions_settle_by(project, "dev")
    assert settle_by is not None
    assert permissions_settle_by(project, "prod") is None  # another environment's roles were not touched
    assert permissions_settle_by(project, "dev", now=settle_by - ROLE_PROPAGATION + 1) == settle_by
    assert permissions_settle_by(project, "dev", now=settle_by + 1) is None
    assert deploy(project).returncode == 0  # unchanged: nothing deployed, the window is not reopened
    assert permissions_settle_by(project, "dev") == settle_by


def test_each_environment_and_ci_principal_is_its_own_deployment(
    project: Path, az: Az, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert deploy(project, "dev").returncode == 0
    assert deploy(project, "prod").returncode == 0
    monkeypatch.setenv("CI_PRINCIPAL_ID", "11111111-1111-1111-1111-111111111111")
    assert deploy(project, "prod").returncode == 0
    creates = [call for call in az.calls if call[2] == "create"]
    assert len(creates) == 3
    assert [c[c.index("--parameters") + 1] for c in creates] == [
        f"infra/env/{e}.bicepparam" for e in ("dev", "prod", "prod")
    ]
    assert len({c[c.index("--name") + 1] for c in creates}) == 3
    assert creates[0][creates[0].index("--resource-group") + 1].endswith("-dev")
    assert creates[1][creates[1].index("--resource-group") + 1].endswith("-prod")


def test_a_failed_deployment_is_reported_and_retried(project: Path, az: Az) -> None:
    az.configure(create_result="Failed")
    failed = deploy(project)
    assert_user_error(failed, "deploying infra/ to rg-")
    assert "(InvalidTemplateDeployment) the double was told to fail" in failed.stderr
    assert "deployed" not in failed.stdout

    az.configure(create_result="Succeeded")
    retried = deploy(project)
    assert retried.returncode == 0, retried.stderr
    assert az.verbs() == ["show", "create", "show", "create"]


def test_a_lookup_error_stops_before_deploying(project: Path, az: Az) -> None:
    az.configure(show_error="(AuthorizationFailed) The client does not have authorization to perform action")
    result = deploy(project)
    assert_user_error(result, "(AuthorizationFailed)")
    assert az.verbs() == ["show"]


def test_what_if_changes_nothing_and_needs_only_read_rights(project: Path, az: Az) -> None:
    result = mlops(project, "infra", "what-if", "--env", "dev")
    assert result.returncode == 0, result.stderr
    assert "Resource changes: 1 to create." in result.stdout  # az's own output reaches the log
    (call,) = az.calls
    assert call[:3] == ["deployment", "group", "what-if"]
    assert call[call.index("--validation-level") + 1] == "ProviderNoRbac"
    assert call[call.index("--parameters") + 1] == "infra/env/dev.bicepparam"


def test_a_failed_what_if_is_one_error_after_az_own_message(project: Path, az: Az) -> None:
    az.configure(what_if_error="(InvalidTemplate) Deployment template validation failed")
    result = mlops(project, "infra", "what-if", "--env", "dev")
    assert_user_error(result, "what-if of infra/ in rg-")
    assert "(InvalidTemplate) Deployment template validation failed" in result.stderr  # az's reason stays visible
    assert az.verbs() == ["what-if"]


def test_dry_run_prints_the_commands_and_runs_none(project: Path, az: Az) -> None:
    result = mlops(project, "infra", "deploy", "--env", "prod", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("az deployment group show --resource-group rg-")
    assert lines[1].startswith("az deployment group create --resource-group rg-")
    assert "infra/env/prod.bicepparam" in lines[1]
    assert az.calls == []


def test_without_the_azure_cli_the_message_says_what_for_and_how_to_get_it(project: Path, az: Az, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert_user_error(deploy(project), "the Azure CLI (az) is needed to deploy infra/ (Bicep): install it")
    what_if = mlops(project, "infra", "what-if", "--env", "dev")
    assert_user_error(what_if, "the Azure CLI (az) is needed to preview the changes to infra/ (what-if): install it")


def test_an_environment_without_a_parameter_file_is_refused(project: Path, az: Az) -> None:
    (project / "infra" / "env" / "prod.bicepparam").unlink()
    assert_user_error(deploy(project, "prod"), "infra/env/prod.bicepparam not found")
    assert az.calls == []
