"""Time the PR workflow's commands, in the order CI runs them, from this checkout (a benchmark: nothing asserts).

The list is read from .github/workflows/pr.yml (or .azuredevops/pr.yml), so it is the PR check itself (the job
against Azure aside). Run it
from a warm dependency cache to see what a PR costs: `python benchmarks/bench_pr.py`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGET = 180.0  # seconds, the whole PR check


def pr_commands() -> list[str]:
    github = ROOT / ".github" / "workflows" / "pr.yml"
    if github.is_file():
        jobs = yaml.safe_load(github.read_text(encoding="utf-8"))["jobs"].values()
        # The job that logs in to Azure runs only once Azure is set up, and needs it: not measured here.
        offline = [job for job in jobs if not any(s.get("uses", "").startswith("azure/login@") for s in job["steps"])]
        return [step["run"] for job in offline for step in job["steps"] if "run" in step]
    pipeline = yaml.safe_load((ROOT / ".azuredevops" / "pr.yml").read_text(encoding="utf-8"))
    setup = yaml.safe_load((ROOT / ".azuredevops" / "templates" / "setup.yml").read_text(encoding="utf-8"))
    steps = [*setup["steps"]] + [s for job in pipeline["jobs"] for s in job["steps"] if "template" not in s]
    return [step["script"] for step in steps if "script" in step]


def main() -> int:
    total = 0.0
    for command in pr_commands():
        start = time.perf_counter()
        result = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        total += seconds
        print(f"{command:<60} {seconds:7.1f} s{'' if result.returncode == 0 else '   FAILED'}", flush=True)
        if result.returncode != 0:
            print(result.stdout[-2000:], result.stderr[-2000:], sep="\n")
            return 1
    print(f"{'total':<60} {total:7.1f} s   target < {TARGET:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
