"""The real thing, on a sandbox subscription: bake a project and run its CD path on Azure, then remove what it made.

Run by the `azure-e2e` workflow (.github/workflows/azure-e2e.yml), signed in with `az login` as an identity allowed
to create resource groups and assign roles in that subscription. Every step in a bake is a command the baked
project documents and tests (`make ...`, `.venv/bin/python -m mlops ...`); only creating and deleting the two
resource groups is this script's own (the project's bootstrap does it for real projects, with CI identities).

  python e2e/azure.py plan       print every command, touching nothing (the template's tests check them)
  python e2e/azure.py run        bake into build/e2e, deploy dev and prod, train, promote
  python e2e/azure.py teardown   delete both resource groups (run it always, even after a failure)

Environment: AZURE_SUBSCRIPTION_ID, AZURE_TENANT_ID, CI_PRINCIPAL_ID (the object id of the signed-in identity:
infra/ grants it the data-plane roles), E2E_RUN (makes names unique per run; default: random).
"""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
OUTPUT = TEMPLATE / "build" / "e2e"
ANSWERS = {"project_name": "E2E Check", "ci_platform": "github", "use_registry": "yes"}


def prefix(run: str) -> str:
    """A resource prefix unique to the run: storage, key vault and registry names are global."""
    return f"e2e{run[-8:]}".lower()


def resource_groups(run: str) -> list[str]:
    sys.path.insert(0, str(TEMPLATE / "{{cookiecutter.project_slug}}" / "mlops"))
    from naming import derive_names  # the generated project's own derivation, standard library only

    return [derive_names(prefix(run), env)["resource_group"] for env in ("dev", "prod")]


def steps(run: str, location: str) -> list[tuple[str, list[str]]]:
    """(where, command): "sandbox" commands manage the resource groups, "project" ones run inside the bake."""
    dev, prod = resource_groups(run)
    manifest = "release/manifest.json"
    return [
        ("sandbox", ["az", "group", "create", "--name", dev, "--location", location, "--output", "none"]),
        ("sandbox", ["az", "group", "create", "--name", prod, "--location", location, "--output", "none"]),
        ("project", ["make", "setup"]),
        ("project", ["make", "infra-deploy", "ENV=dev"]),
        ("project", [".venv/bin/python", "-m", "mlops", "submit", "--env", "dev", "--wait", "--manifest", manifest]),
        ("project", [".venv/bin/python", "-m", "mlops", "deploy", "--env", "dev", "--manifest", manifest]),
        ("project", ["make", "infra-deploy", "ENV=prod"]),
        ("project", [".venv/bin/python", "-m", "mlops", "promote", "--env", "prod", "--manifest", manifest, "--wait"]),
        ("project", [".venv/bin/python", "-m", "mlops", "deploy", "--env", "prod", "--manifest", manifest]),
        # A re-run of the prod stage must be safe: the model is in the registry already, the endpoint serves it.
        ("project", [".venv/bin/python", "-m", "mlops", "promote", "--env", "prod", "--manifest", manifest, "--wait"]),
        ("project", [".venv/bin/python", "-m", "mlops", "deploy", "--env", "prod", "--manifest", manifest]),
    ]


def teardown_steps(run: str) -> list[list[str]]:
    return [["az", "group", "delete", "--name", group, "--yes", "--no-wait"] for group in resource_groups(run)]


def bake(run: str) -> Path:
    from cookiecutter.main import cookiecutter

    answers = {**ANSWERS, "resource_prefix": prefix(run)}
    path = cookiecutter(
        str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(OUTPUT), overwrite_if_exists=True
    )
    return Path(path)


def run_id() -> str:
    """E2E_RUN, or the last run's (so a teardown finds what `run` made), or a new one."""
    remembered = OUTPUT / "run-id"
    last = remembered.read_text().strip() if remembered.is_file() else ""
    run = os.environ.get("E2E_RUN") or last or secrets.token_hex(4)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    remembered.write_text(run)
    return run


def main(argv: list[str]) -> int:
    action = argv[1] if len(argv) > 1 else "plan"
    run = run_id()
    location = os.environ.get("E2E_LOCATION", "westeurope")
    if action == "plan":
        for where, command in steps(run, location):
            print(f"{where:<8} {shlex.join(command)}")
        for command in teardown_steps(run):
            print(f"{'teardown':<8} {shlex.join(command)}")
        return 0
    if action == "teardown":
        failed = [command for command in teardown_steps(run) if subprocess.run(command).returncode != 0]
        return 1 if failed else 0
    if action != "run":
        print(f"unknown action {action!r}: plan, run or teardown", file=sys.stderr)
        return 2
    project = bake(run)
    print(f"baked {project} with resource prefix {prefix(run)}", flush=True)
    for where, command in steps(run, location):
        print(f"$ {shlex.join(command)}", flush=True)
        if subprocess.run(command, cwd=project if where == "project" else TEMPLATE).returncode != 0:
            print(f"e2e: `{shlex.join(command)}` failed", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
