"""The generated project's Bicep (infra/): parses, parameter files fit main.bicep, names come from naming.py,
dev stays cheap, and checkov finds nothing that is not suppressed with a reason. No Bicep compiler, no Azure."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import tomllib
from datetime import date
from pathlib import Path

import pytest
from pycep import BicepParser

from tests.conftest import TEMPLATE, BakedProject, naming

CHECKOV = "checkov==3.3.30"  # run in its own uv tool environment: it pins packaging<24, pytest 9 needs >=24
REGISTRY_ANSWERS = ["yes", "no"]

# Types whose newest published API version predates 2024; each must use exactly the version named here.
OLD_API_VERSIONS = {
    "Microsoft.Insights/components": ("2020-02-02", "newest API version of Application Insights components"),
    "Microsoft.Authorization/roleAssignments": ("2022-04-01", "newest GA API version of role assignments"),
}

# Bicep parameter name -> naming.derive_names key.
NAME_PARAMS = {
    "workspaceName": "workspace",
    "storageAccountName": "storage_account",
    "keyVaultName": "key_vault",
    "containerRegistryName": "container_registry",
    "logAnalyticsName": "log_analytics",
    "applicationInsightsName": "application_insights",
    "computeName": "compute_cluster",
}

USING = re.compile(r"^using\s+'([^']+)'\s*$", re.MULTILINE)
PARAM = re.compile(r"^param\s+(\w+)\s*=\s*(.+?)\s*$", re.MULTILINE)
SKIP = re.compile(r"checkov:skip=([A-Za-z_\d-]+)(:[^\n]*)?")
ISO_SECONDS = re.compile(r"PT(?:(\d+)M)?(?:(\d+)S)?")


def parse_bicep(path: Path) -> dict:
    return parse_bicep_text(path.read_text(encoding="utf-8"))


@functools.cache
def parse_bicep_text(text: str) -> dict:
    """Parsed once per content: the bakes share their Bicep files (the tests only read the result)."""
    return BicepParser().parse(text=text)


def bicep_value(raw: str):
    """A literal of a .bicepparam line as Python; anything else (a function call) stays a string expression."""
    if raw.startswith("'") and raw.endswith("'"):
        return raw[1:-1]
    if raw in {"true", "false"}:
        return raw == "true"
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    return ("expression", raw)


def read_bicepparam(path: Path) -> tuple[str, dict]:
    """The `using` target and the parameters a .bicepparam file sets (one `param x = value` a line)."""
    text = path.read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    usings = USING.findall(code)
    assert len(usings) == 1, f"{path.name}: expected one using statement, found {usings}"
    params = {}
    for name, raw in PARAM.findall(code):
        assert name not in params, f"{path.name} sets {name} twice"
        params[name] = bicep_value(raw)
    return usings[0], params


def seconds(duration: str) -> int:
    match = ISO_SECONDS.fullmatch(duration)
    assert match, f"not a minutes/seconds ISO 8601 duration: {duration!r}"
    assert any(match.groups()), f"empty duration: {duration!r}"
    minutes, secs = (int(g or 0) for g in match.groups())
    return minutes * 60 + secs


def body(entry: dict) -> dict:
    """A resource's or module's configuration; pycep nests it one level deeper under an `if` condition."""
    config = entry["config"]
    return config["config"] if "condition" in config else config


def required(parameters: dict) -> set[str]:
    return {name for name, spec in parameters.items() if spec.get("default") is None}


@pytest.fixture(params=REGISTRY_ANSWERS, ids=lambda v: f"registry-{v}")
def project(request, bake_shared) -> BakedProject:
    return bake_shared(use_registry=request.param)


def infra(project: BakedProject) -> Path:
    return project.path / "infra"


def test_every_bicep_file_parses(project: BakedProject) -> None:
    files = sorted(infra(project).rglob("*.bicep"))
    assert {f.relative_to(infra(project)).as_posix() for f in files} >= {"main.bicep", "modules/registry.bicep"}
    for path in files:
        parsed = parse_bicep(path)
        assert parsed.get("resources") or parsed.get("modules"), f"{path.name} declares nothing"


def test_parameter_files_fit_main(project: BakedProject) -> None:
    main = parse_bicep(infra(project) / "main.bicep")["parameters"]
    for env in naming.ENVIRONMENTS:
        path = infra(project) / "env" / f"{env}.bicepparam"
        using, params = read_bicepparam(path)
        assert (path.parent / using).resolve() == (infra(project) / "main.bicep").resolve()
        assert set(params) <= set(main), f"{env} sets undeclared parameters {set(params) - set(main)}"
        assert required(main) <= set(params), f"{env} misses required parameters {required(main) - set(params)}"
        for name, value in params.items():
            allowed = [d["argument"] for d in main[name]["decorators"] if d["type"] == "allowed"]
            if allowed and not isinstance(value, tuple):
                assert value in allowed[0], f"{env}: {name} = {value!r} is not one of {allowed[0]}"


def test_module_calls_fit_modules(project: BakedProject) -> None:
    modules = parse_bicep(infra(project) / "main.bicep")["modules"]
    assert modules
    for symbol, module in modules.items():
        declared = parse_bicep(infra(project) / module["detail"]["path"])["parameters"]
        passed = set(body(module)["params"])
        assert passed <= set(declared), f"module {symbol} passes undeclared {passed - set(declared)}"
        assert required(declared) <= passed, f"module {symbol} misses required {required(declared) - passed}"


def test_api_versions_are_current(project: BakedProject) -> None:
    seen = set()
    for path in sorted(infra(project).rglob("*.bicep")):
        for symbol, resource in parse_bicep(path).get("resources", {}).items():
            kind, version = resource["type"], resource["api_version"]
            seen.add(kind)
            if kind in OLD_API_VERSIONS:
                assert version == OLD_API_VERSIONS[kind][0], f"{path.name}:{symbol} {kind}@{version}"
                continue
            assert date.fromisoformat(version[:10]) >= date(2024, 1, 1), f"{path.name}:{symbol} {kind}@{version}"
    assert set(OLD_API_VERSIONS) <= seen, "an exception above no longer applies: remove it"


def test_names_are_derived_once(project: BakedProject) -> None:
    config = tomllib.loads(project.read("config/environments.toml"))
    prefix = project.answers["resource_prefix"]
    for env in naming.ENVIRONMENTS:
        names = naming.derive_names(prefix, env)
        _, params = read_bicepparam(infra(project) / "env" / f"{env}.bicepparam")
        for param, kind in NAME_PARAMS.items():
            assert params[param] == names[kind] == config[env][kind], f"{env}: {param}"
        assert params["location"] == config[env]["location"] == project.answers["azure_location"]
        assert params["environmentName"] == env
        if project.answers["use_registry"] == "yes":
            assert params["mlRegistryName"] == names["ml_registry"] == config[env]["ml_registry"]
            assert params["deployMlRegistry"] is (env == "prod")  # one shared registry, created with prod
        else:
            assert "mlRegistryName" not in params
            assert params.get("deployMlRegistry", False) is False


def test_dev_compute_is_cheap_and_prod_is_protected(project: BakedProject) -> None:
    compute = parse_bicep(infra(project) / "modules" / "compute.bicep")
    scale = body(compute["resources"]["compute"])["properties"]["properties"]["scaleSettings"]
    assert scale["minNodeCount"] == 0
    assert scale["nodeIdleTimeBeforeScaleDown"] == "idleTimeBeforeScaleDown"
    assert seconds(compute["parameters"]["idleTimeBeforeScaleDown"]["default"]) <= 120
    main = parse_bicep(infra(project) / "main.bicep")["parameters"]
    assert seconds(main["computeIdleTimeBeforeScaleDown"]["default"]) <= 120
    _, dev = read_bicepparam(infra(project) / "env" / "dev.bicepparam")
    _, prod = read_bicepparam(infra(project) / "env" / "prod.bicepparam")
    assert dev["computeVmPriority"] == "LowPriority"
    assert seconds(dev.get("computeIdleTimeBeforeScaleDown", "PT120S")) <= 120
    assert prod["computeVmPriority"] == "Dedicated"
    assert prod["enablePurgeProtection"] is True


def test_ci_identity_gets_least_privilege(project: BakedProject) -> None:
    """infra/ grants the CI identity data-plane roles only: AzureML Data Scientist on the workspace, blob data on its
    storage (code and data uploads without account keys), AzureML Registry User on the registry, never at
    subscription scope. Its control-plane roles (Contributor and a condition-limited Role Based Access Control
    Administrator, on its own resource group) come from scripts/bootstrap_azure.sh: the project README's "Who may do
    what". Roles are named; their ids live in infra/built-in-roles.json, which the project's own tests check against
    Microsoft's."""
    roles = parse_bicep(infra(project) / "modules" / "roles.bicep")
    assignments = [body(r) for r in roles["resources"].values() if "principalId" in body(r).get("properties", {})]
    ci = {
        r["scope"]: json.dumps(r["properties"]["roleDefinitionId"])
        for r in assignments
        if r["properties"]["principalId"] == "ciPrincipalId"
    }
    assert set(ci) == {"workspace", "storageAccount"}
    assert "AzureML Data Scientist" in ci["workspace"]
    assert "Storage Blob Data Contributor" in ci["storageAccount"]
    # Azure ML assigns the workspace's own identity its roles; assigning them again fails with RoleAssignmentExists.
    assert {r["properties"]["principalId"] for r in assignments} == {"ciPrincipalId", "computePrincipalId"}
    assert "load_json_content" in json.dumps(roles["variables"]["builtInRoles"])
    registry = parse_bicep(infra(project) / "modules" / "registry.bicep")
    resources = [body(r) for r in registry["resources"].values()]
    (assignment,) = [r for r in resources if r.get("properties", {}).get("principalId") == "ciPrincipalId"]
    assert assignment["scope"] == "mlRegistry"
    assert "AzureML Registry User" in json.dumps(registry["variables"]["registryUserRole"])


def test_every_checkov_skip_has_a_reason(project: BakedProject) -> None:
    for path in sorted(infra(project).rglob("*.bicep")):
        for check, reason in SKIP.findall(path.read_text(encoding="utf-8")):
            assert check.startswith("CKV_"), f"{path.name}: {check}"
            assert len(reason.lstrip(":").strip()) >= 10, f"{path.name}: {check} has no reason"


def uv() -> str:
    bundled = TEMPLATE / ".tools" / "bin" / "uv"
    found = str(bundled) if bundled.is_file() else shutil.which("uv")
    assert found, "uv is needed to run checkov: run `make setup` first"
    return found


@pytest.mark.slow
@pytest.mark.parametrize("use_registry", REGISTRY_ANSWERS)
def test_checkov_finds_nothing_unexplained(bake, use_registry: str) -> None:
    project = bake(use_registry=use_registry)
    command = [uv(), "tool", "run", "--from", CHECKOV, "checkov", "-d", "infra", "--framework", "bicep"]
    command += ["--compact", "--skip-download", "-o", "json"]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    result = subprocess.run(command, cwd=project.path, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, f"checkov failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    bicep = [r for r in reports if r.get("check_type") == "bicep"]
    assert len(bicep) == 1, result.stdout[-2000:]
    summary, results = bicep[0]["summary"], bicep[0]["results"]
    assert summary["parsing_errors"] == 0
    assert summary["failed"] == 0, [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    assert summary["passed"] > 0
    for check in results["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        assert reason.strip(), f"{check['check_id']} skipped without a reason"
        assert reason != "No comment provided", f"{check['check_id']} skipped without a reason"
