"""Time the local pipeline and the steps at scale, and print the numbers (a benchmark: nothing here asserts).

  local run        `python -m mlops run` in a scratch copy of the project: first run, --force, nothing changed
  by hand          the same three step scripts, the same command lines, run in sequence without the runner
  whole runs       the whole local run (all steps, registration included) on two generated tables, with the default
                   model: a 200,000-row regression with 20 numeric features, and a 1,000,000-row classification with
                   mixed columns (numbers, categories, a city with 500 values, yes/no, an identifier, a date, free
                   text; about 1 in 6 positive): wall time, peak memory of the largest step, each step's share
  scale            data_prep and train on 10k, 100k and 1M rows drawn from the sample data (with numeric jitter):
                   wall time, rows per second, peak memory against the input file's size

Run with `make bench`. `--sizes 10000,100000` limits the scale part; `--whole-rows 20000,100000` shrinks the two
generated tables (regression, classification) for a quick look.
"""

from __future__ import annotations

import argparse
import json
import logging
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


def step_env(plan: Plan, step: str, env: dict[str, str]) -> dict[str, str]:
    """The environment the runner gives a step: the benchmark's, plus what the pipeline sets for that step."""
    return {**env, **plan.steps[step].environment_variables}


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
        subprocess.run(
            command, cwd=project / "components" / step, env=step_env(plan, step, env), check=True, capture_output=True
        )
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
            ("train", {"prepped_data": prepped}, {"model_output": model}),
        ]
        for step, inputs, outputs in runs:
            seconds, peak = timed(
                step_command(plan, step, inputs, outputs), COMPONENTS / step, step_env(plan, step, env)
            )
            print(f"{rows:>9} {step:<10} {seconds:>8.2f} {rows / seconds:>10.0f} {peak:>9} {size:>10.1f}")


def regression_table(rows: int, path: Path, seed: int = 1) -> None:
    """20 numeric features, a target that depends on most of them, a few non-linearly, plus noise."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 20)).astype(np.float32)
    target = features @ rng.normal(size=20) + 3 * np.sin(features[:, 0]) + features[:, 1] * features[:, 2]
    frame = pd.DataFrame(features, columns=[f"x{i:02d}" for i in range(20)])
    frame["target"] = (target + rng.normal(0, 1, rows)).round(4)
    frame.round(4).to_csv(path, index=False)


def classification_table(rows: int, path: Path, seed: int = 2) -> None:
    """Mixed columns, as a customer table has them; about 1 in 6 rows positive."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows)
    spend = rng.normal(70, 25, rows).round(2)
    usage = rng.gamma(2, 10, rows).round(1)
    premium = rng.random(rows) < 0.3
    city = rng.integers(0, 500, rows)
    plan = rng.choice(["basic", "plus", "family", "business"], rows)
    score = -0.05 * tenure + 0.02 * (spend - 70) - 0.8 * premium + 0.3 * (plan == "basic") + (city % 7 == 0) * 0.5
    score += rng.normal(0, 0.8, rows)
    words = np.array(["slow", "fast", "friendly", "rude", "late", "price", "app", "support", "refund", "billing"])
    comment = pd.Series(words[rng.integers(0, 10, rows)])
    for _ in range(4):
        comment = comment + " " + words[rng.integers(0, 10, rows)]
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series(rng.permutation(rows)).map("C{:07d}".format),
            "signup_date": (
                pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1800, rows), unit="D")
            ).strftime("%Y-%m-%d"),
            "tenure_months": tenure,
            "monthly_spend": spend,
            "usage_hours": np.where(rng.random(rows) < 0.05, np.nan, usage),
            "support_calls": rng.poisson(1.5, rows),
            "premium": premium,
            "plan": plan,
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "city": pd.Series(city).map("Town {}".format),
            "comment": comment + " #" + pd.Series(np.arange(rows)).astype(str),
            "churned": np.where(score > np.quantile(score, 0.84), "yes", "no"),
        }
    )
    frame.to_csv(path, index=False)


# A child process runs the whole local run through the run command's own function, so that it can report each step's
# seconds and the peak memory of the largest step (ru_maxrss of its children, KiB on Linux).
WHOLE_RUN = """
import json, resource, sys
from mlops.commands.run import run
from mlops.settings import default_root, load_pipeline_settings
overrides = json.loads(sys.argv[1])
outcome = run(load_pipeline_settings(default_root()), overrides=overrides, force=True)
result = outcome.result
print(json.dumps({
    "ok": result.ok,
    "run_seconds": result.seconds,
    "steps": {name: step.seconds for name, step in result.steps.items()},
    "registered": outcome.model_version,
    "peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
}))
"""


def whole_run(project: Path, env: dict[str, str], overrides: dict[str, str]) -> dict:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", WHOLE_RUN, json.dumps(overrides)], cwd=project, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"the whole run with {overrides} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.splitlines()[-1])
    if not report["ok"]:
        sys.exit(f"a step failed in the whole run with {overrides}; see runs/ in {project}")
    report["wall"] = time.perf_counter() - start
    return report


def whole_runs(project: Path, work: Path, env: dict[str, str], rows: tuple[int, int]) -> None:
    cases = [
        ("regression", rows[0], regression_table, {"target_column": "target", "task": "regression"}, 60),
        ("classification", rows[1], classification_table, {"target_column": "churned"}, 90),
    ]
    print(
        f"\n{'whole local run':<34} {'rows':>9} {'seconds':>8} {'target':>8} {'peak MiB':>9}   share of time per step"
    )
    for name, count, make, overrides, target in cases:
        csv = work / f"{name}.csv"
        make(count, csv)
        report = whole_run(project, env, {**overrides, "input_data": str(csv)})
        wall = report["wall"]
        shares = {**report["steps"], "runner and registration": wall - sum(report["steps"].values())}
        share_text = ", ".join(f"{step} {seconds / wall:.0%} ({seconds:.1f} s)" for step, seconds in shares.items())
        label = f"{name} ({csv.stat().st_size / 2**20:.0f} MiB CSV)"
        print(
            f"{label:<34} {count:>9,} {wall:>8.1f} {'< ' + str(target):>8} {report['peak_kib'] // 1024:>9}   "
            f"{share_text}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--whole-rows", default="200000,1000000", help="rows of the regression and classification runs")
    args = parser.parse_args(argv)
    logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)  # as the CLI: no "experimental class"
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", "MLFLOW_LOGGING_LEVEL": "WARNING"}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as `make` runs it: cached bytecode, or every step recompiles
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
        regression_rows, classification_rows = (int(n) for n in args.whole_rows.split(","))
        whole_runs(project, work, env, (regression_rows, classification_rows))
        scale(plan, work, [int(size) for size in args.sizes.split(",")], env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
