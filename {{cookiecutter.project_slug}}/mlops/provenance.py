"""Where a run comes from: the commit, the environment and the CI run, as tags on jobs and models."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlops import ci


def git_commit(root: Path) -> str:
    result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def tags(root: Path, environment: str, **extra: str) -> dict[str, str]:
    found = {"git_commit": git_commit(root), "environment": environment, **extra}
    if url := ci.run_url():
        found["ci_run"] = url
    return found
