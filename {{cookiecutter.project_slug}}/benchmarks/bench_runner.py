"""Time what the local runner itself costs, and print the numbers (a benchmark: nothing here asserts).

  refuse   `python -m mlops run --file X` for pipelines refused before any step runs (a component file, a sweep
           step, a workspace data asset, a misspelt --set), next to the Azure ML SDK's import alone
  chain    a 10-step chain of trivial steps (each copies one small file to the next): the first run (the SDK parses
           the file, MLflow's experiment is created), --force (every step reruns), nothing changed (every step
           reused), and the same ten command lines run by hand; the runner's overhead per step is
           (--force - by hand) / 10, and again in process (run_plan alone, without interpreter start and planning)

Run with `make bench`, or `python benchmarks/bench_runner.py`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlops.local.executor import fill_command  # noqa: E402 - after the project root is importable
from mlops.local.pipeline_file import read  # noqa: E402
from mlops.local.plan import Plan, build_plan  # noqa: E402
from mlops.local.runner import run_plan  # noqa: E402

STEPS = 10
TARGET_PER_STEP = 0.3  # seconds of overhead per step, on 2 cores
TARGET_REFUSAL = 1.0  # seconds from the command to its one-line refusal
COMPONENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: relay
inputs:
  previous: {type: uri_folder, optional: true}
  index: {type: integer}
outputs:
  out: {type: uri_folder}
environment: {image: python:3.11-slim}
command: >-
  echo ${{inputs.index}} >> ${{outputs.out}}/trail.txt
  $[[&& cat ${{inputs.previous}}/trail.txt >> ${{outputs.out}}/trail.txt]]
"""
STEP = """\
  step{index}:
    type: command
    component: ./relay.yaml
    inputs:
      index: {index}
{previous}"""


def chain_pipeline(folder: Path) -> Path:
    (folder / "relay.yaml").write_text(COMPONENT)
    previous = "      previous: ${{parent.jobs.<step>.outputs.out}}\n"
    steps = [
        STEP.format(index=i, previous=previous.replace("<step>", f"step{i - 1}") if i else "") for i in range(STEPS)
    ]
    path = folder / "chain.yml"
    path.write_text("type: pipeline\ndisplay_name: chain\njobs:\n" + "".join(steps))
    return path


def refused_pipelines(folder: Path, chain: Path) -> dict[str, list[str]]:
    """Label -> `mlops run` arguments that the runner refuses."""
    sweep = folder / "sweep.yml"
    sweep.write_text(chain.read_text().replace("  step9:\n    type: command", "  step9:\n    type: sweep"))
    asset = folder / "asset.yml"
    asset.write_text(
        chain.read_text().replace("      index: 0\n", "      index: 0\n      previous: {path: azureml:penguins:1}\n")
    )
    return {
        "a command component file": ["--file", str(folder / "relay.yaml")],
        "a sweep step (the 10th)": ["--file", str(sweep)],
        "a workspace data asset": ["--file", str(asset)],
        "a misspelt --set": ["--file", str(chain), "--set", "step1.indx=3"],
    }


def timed(command: list[str], cwd: Path, env: dict[str, str], expect: int = 0) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != expect:
        sys.exit(f"{' '.join(command)} exited {result.returncode}, not {expect}:\n{result.stderr[-3000:]}")
    return seconds


def by_hand(plan: Plan, work: Path, env: dict[str, str]) -> float:
    """The chain's ten command lines (the plan's own filling) in sequence, each in a fresh folder."""
    start = time.perf_counter()
    previous = None
    for name in plan.order():
        out = work / name
        out.mkdir(parents=True)
        inputs = {"index": str(plan.steps[name].inputs["index"])} | ({"previous": str(previous)} if previous else {})
        command = fill_command(plan.steps[name], inputs, {"out": str(out)})
        subprocess.run(["bash", "-c", command], cwd=work, env=env, check=True)
        previous = out
    return time.perf_counter() - start


def in_process(plan: Plan, work: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = run_plan(plan, work, "bench", env, force=True)
    if not result.ok:
        sys.exit(f"the chain failed in process: {[r.log for r in result.failed]}")
    return time.perf_counter() - start


def project_copy(work: Path) -> Path:
    """What `python -m mlops run --file` reads, so that runs and the MLflow store stay out of this project."""
    copy = work / "project"
    for name in ("mlops", "config"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-runner-"))
    project = project_copy(work)
    env = {**os.environ, "PYTHONPATH": str(project), "MLFLOW_LOGGING_LEVEL": "WARNING"}
    cli = [sys.executable, "-m", "mlops", "run"]
    try:
        chain = chain_pipeline(work)
        print(f"{'time to refuse, best of 3':<58} {'seconds':>8}")
        sdk = min(timed([sys.executable, "-c", "import azure.ai.ml"], work, env) for _ in range(3))
        for label, args in refused_pipelines(work, chain).items():
            refuse = [*cli, *args, "--runs-dir", str(work / "refused")]
            seconds = min(timed(refuse, project, env, expect=2) for _ in range(3))
            print(f"  {label:<56} {seconds:8.2f}   target < {TARGET_REFUSAL:.1f} s")
        print(f"  {'(for scale: `import azure.ai.ml` alone)':<56} {sdk:8.2f}")

        runs = ["--file", str(chain), "--runs-dir", str(work / "runs")]
        first = timed([*cli, *runs], project, env)
        forced = min(timed([*cli, *runs, "--force"], project, env) for _ in range(3))
        unchanged = min(timed([*cli, *runs], project, env) for _ in range(3))
        plan = build_plan(read(chain).tree, work)
        hand = min(by_hand(plan, work / f"hand{attempt}", env) for attempt in range(3))
        runner = min(in_process(plan, work / f"process{attempt}", env) for attempt in range(3))
        print(f"\n{f'a chain of {STEPS} trivial steps, best of 3':<58} {'seconds':>8}")
        print(f"  {'first run (the SDK parses the file; MLflow experiment)':<56} {first:8.2f}")
        print(f"  {'--force (every step reruns)':<56} {forced:8.2f}")
        print(f"  {'nothing changed (every step reused)':<56} {unchanged:8.2f}")
        print(f"  {'the same command lines by hand':<56} {hand:8.2f}")
        per_step = (forced - hand) / STEPS
        print(f"  {'overhead per step, --force vs by hand':<56} {per_step:8.3f}   target < {TARGET_PER_STEP} s")
        in_process_per_step = (runner - hand) / STEPS
        print(f"  {'overhead per step, run_plan alone (in process)':<56} {in_process_per_step:8.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
