"""Time the local pipeline and the steps at scale, and print the numbers (a benchmark: nothing here asserts).

  local run        `python -m mlops run` in a scratch copy of the project: first run, --force, nothing changed
  by hand          the same three step scripts, the same command lines, run in sequence without the runner
  scale            data_prep and train on 10k, 100k and 1M rows drawn from the sample data (with numeric jitter):
                   wall time, rows per second, peak memory against the input file's size

Run with `make bench`. `--sizes 10000,100000` limits the scale part.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlops.commands.run import project_spec  # noqa: E402 - after the project root is importable
from mlops.local.executor import fill_command  # noqa: E402
from mlops.local.plan import Plan, Upstream, build_plan  # noqa: E402
from mlops.settings import load_pipeline_settings  # noqa: E402

COMPONENTS = ROOT / "components"
# A child that runs one command and reports that command's peak memory (ru_maxrss, KiB on Linux).
MEASURE = (
    "import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)"
)


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak memory (MiB) of one command."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", MEASURE, *command], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return seconds, int(result.stdout.split()[-1]) // 1024


def project_copy(work: Path) -> Path:
    copy = work / "project"
    for name in ("mlops", "components", "config", "data"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def step_command(plan: Plan, step: str, inputs: dict[str, object], outputs: dict[str, Path]) -> list[str]:
    """The command line the pipeline gives a step (the plan's own filling), with these inputs and outputs."""
    values = {k: str(v) for k, v in plan.steps[step].inputs.items() if not isinstance(v, Upstream)}
    values |= {k: str(v) for k, v in inputs.items()}
    return ["bash", "-c", fill_command(plan.steps[step], values, {k: str(v) for k, v in outputs.items()})]


def by_hand(plan: Plan, project: Path, work: Path, env: dict[str, str]) -> float:
    """The three scripts in sequence, with the command lines the pipeline gives them, in the same environment."""
    prepped, model, evaluation = (work / name for name in ("prepped", "model", "evaluation"))
    for folder in (prepped, model, evaluation):
        folder.mkdir(parents=True)
    steps = [
        ("data_prep", {}, {"prepped_data": prepped}),
        ("train", {"prepped_data": prepped}, {"model_output": model}),
        ("evaluate", {"model": model, "prepped_data": prepped}, {"evaluation": evaluation}),
    ]
    start = time.perf_counter()
    for step, inputs, outputs in steps:
        command = step_command(plan, step, inputs, outputs)
        subprocess.run(command, cwd=project / "components" / step, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def scaled_dataset(rows: int, path: Path, seed: int = 0) -> None:
    """Rows drawn from the sample data, numeric columns jittered so no two rows are copies."""
    sample = pd.read_csv(ROOT / "data" / "penguins.csv")
    rng = np.random.default_rng(seed)
    data = sample.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
    for column in ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"):
        data[column] = data[column] * rng.normal(1.0, 0.02, rows)
    data.to_csv(path, index=False)


def scale(plan: Plan, work: Path, sizes: list[int], env: dict[str, str]) -> None:
    print(f"\n{'rows':>9} {'step':<10} {'seconds':>8} {'rows/s':>10} {'peak MiB':>9} {'input MiB':>10}")
    for rows in sizes:
        csv = work / f"rows{rows}.csv"
        scaled_dataset(rows, csv)
        size = csv.stat().st_size / 2**20
        prepped, model = work / f"prepped{rows}", work / f"model{rows}"
        prepped.mkdir()
        model.mkdir()
        runs = [
            ("data_prep", {"input_data": csv}, {"prepped_data": prepped}),
            # 50 trees instead of the configured number, so that 1M rows train in about a minute on 2 cores.
            ("train", {"prepped_data": prepped, "n_estimators": 50}, {"model_output": model}),
        ]
        for step, inputs, outputs in runs:
            seconds, peak = timed(step_command(plan, step, inputs, outputs), COMPONENTS / step, env)
            print(f"{rows:>9} {step:<10} {seconds:>8.2f} {rows / seconds:>10.0f} {peak:>9} {size:>10.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", "MLFLOW_LOGGING_LEVEL": "WARNING"}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    try:
        project = project_copy(work)
        settings = load_pipeline_settings(project)
        plan = build_plan(project_spec(settings, work / "spec-cache"), project)
        run = [sys.executable, "-m", "mlops", "run"]
        first, _ = timed(run, project, env)
        unchanged, _ = timed(run, project, env)
        # Best of two, alternating, so neither side gains from the other's warm file cache; the scripts alone
        # register nothing, so neither does the runner here.
        forced, hand = float("inf"), float("inf")
        for attempt in range(2):
            forced = min(forced, timed([*run, "--force", "--no-register"], project, env)[0])
            hand = min(hand, by_hand(plan, project, work / f"hand{attempt}", env))
        print(f"{'local run, first (builds the spec, creates the MLflow store)':<62} {first:6.2f} s")
        print(f"{'local run, --force (every step reruns; best of 2)':<62} {forced:6.2f} s   target < 15 s")
        print(f"{'the same scripts by hand, in sequence (best of 2)':<62} {hand:6.2f} s")
        print(f"{'runner overhead (--force / by hand)':<62} {forced / hand:6.2f} x   target <= 1.15 x")
        print(f"{'local run, nothing changed (every step reused)':<62} {unchanged:6.2f} s   target < 2 s")
        scale(plan, work, [int(size) for size in args.sizes.split(",")], env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
