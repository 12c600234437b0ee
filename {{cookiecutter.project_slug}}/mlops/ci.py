"""What this process knows about the CI system it runs in: GitHub Actions, Azure DevOps, or none (a laptop)."""

from __future__ import annotations

import os
from collections.abc import Mapping


def run_url(environ: Mapping[str, str] = os.environ) -> str | None:
    """The page of the CI run, for lineage tags; None outside CI."""
    if environ.get("GITHUB_RUN_ID"):
        return f"{environ['GITHUB_SERVER_URL']}/{environ['GITHUB_REPOSITORY']}/actions/runs/{environ['GITHUB_RUN_ID']}"
    if environ.get("BUILD_BUILDID"):
        project = f"{environ['SYSTEM_COLLECTIONURI']}{environ['SYSTEM_TEAMPROJECT']}"
        return f"{project}/_build/results?buildId={environ['BUILD_BUILDID']}"
    return None


def publish_output(name: str, value: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """Make ``name`` a step output in GitHub Actions (appended to $GITHUB_OUTPUT) or Azure DevOps (the returned
    logging command, which must be printed on stdout); None when there is nothing to print."""
    if environ.get("GITHUB_OUTPUT"):
        with open(environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as output:
            output.write(f"{name}={value}\n")
        return None
    if environ.get("TF_BUILD"):
        return f"##vso[task.setvariable variable={name};isoutput=true]{value}"
    return None
