"""Run a plan: steps in dependency order, independent steps in parallel, unchanged steps from cache.

"What to run" is the plan (plan.py); "how one step runs" is the executor (executor.py). This module only decides
when each step starts, and reports progress through a callback so that the CLI alone decides how it looks.
"""

from __future__ import annotations

import graphlib
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from mlops.local.cache import Cache, step_key
from mlops.local.executor import LOG_FILE, Processes, StepResult, execute
from mlops.local.plan import Plan, Upstream

# (step, event, result): "started" (no result), "running" (every HEARTBEAT seconds while it runs: a result with its
# time so far and its log, so a long step never looks stuck), "finished" (its result).
Progress = Callable[[str, str, StepResult | None], None]
HEARTBEAT = 10.0  # seconds


@dataclass
class RunResult:
    run_id: str
    folder: Path
    seconds: float
    steps: dict[str, StepResult] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # not run because a step before them failed

    @property
    def ok(self) -> bool:
        return not self.skipped and all(result.ok for result in self.steps.values())

    @property
    def failed(self) -> list[StepResult]:
        return [result for result in self.steps.values() if not result.ok]

    def output(self, plan: Plan, name: str) -> Path:
        source = plan.outputs[name]
        return self.steps[source.step].outputs[source.output]


def run_plan(
    plan: Plan,
    runs_dir: Path,
    run_id: str,
    env: Mapping[str, str],
    *,
    force: bool = False,
    max_workers: int | None = None,
    progress: Progress = lambda step, event, result: None,
    heartbeat: float = HEARTBEAT,
) -> RunResult:
    folder = runs_dir / run_id
    folder.mkdir(parents=True)
    cache = Cache(runs_dir / ".cache")
    result = RunResult(run_id, folder, 0.0)
    start = time.perf_counter()
    sorter = graphlib.TopologicalSorter(plan.dependencies())
    sorter.prepare()
    running: dict[Future, tuple[str, str]] = {}
    started: dict[str, float] = {}
    failed = False

    def resolved_inputs(name: str) -> dict[str, object]:
        values = {}
        for input_name, value in plan.steps[name].inputs.items():
            if isinstance(value, Upstream):
                value = result.steps[value.step].outputs[value.output]
            values[input_name] = value
        return values

    processes = Processes()
    with ThreadPoolExecutor(max_workers=max_workers or os.cpu_count() or 1) as pool:
        try:
            while sorter.is_active():
                for name in sorter.get_ready() if not failed else ():
                    step = plan.steps[name]
                    inputs = resolved_inputs(name)
                    key = step_key(step, inputs)
                    entry = None if force or not step.component.deterministic else cache.get(key)
                    if entry:
                        outputs = {k: Path(v) for k, v in entry["outputs"].items()}
                        cached = StepResult(name, True, 0.0, Path(entry["log"]), outputs, cached_from=entry["run"])
                        result.steps[name] = cached
                        progress(name, "finished", cached)
                        sorter.done(name)
                        continue
                    progress(name, "started", None)
                    started[name] = time.perf_counter()
                    running[pool.submit(execute, step, inputs, folder / name, env, processes)] = (name, key)
                if not running:
                    if failed or not sorter.is_active():
                        break
                    continue
                finished, _ = wait(running, timeout=heartbeat, return_when=FIRST_COMPLETED)
                if not finished:
                    for name, _key in running.values():
                        so_far = time.perf_counter() - started[name]
                        progress(name, "running", StepResult(name, True, so_far, folder / name / LOG_FILE, {}))
                for future in finished:
                    name, key = running.pop(future)
                    step_result = future.result()
                    result.steps[name] = step_result
                    progress(name, "finished", step_result)
                    if step_result.ok:
                        if plan.steps[name].component.deterministic:
                            cache.put(key, run_id, step_result)
                        sorter.done(name)
                    else:
                        failed = True
        except BaseException:  # Ctrl-C: steps run in process groups of their own, which the terminal does not reach
            processes.stop()
            raise
    result.skipped = [name for name in plan.order() if name not in result.steps]
    result.seconds = time.perf_counter() - start
    return result
