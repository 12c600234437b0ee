"""Time the local scoring server and print the numbers (a benchmark: nothing here asserts).

  server start    Azure ML's inference server with serving/score.py, from starting it to its first answer to
                  POST /score (target under 5 s), three times
  mlops serve     `python -m mlops serve`, from the command to the first answer: adds finding the model in the
                  registry (MLflow's import and database) and laying it out as a deployment has it
  one row         200 one-row requests, one after another: median and p95 latency (target: p95 under 50 ms on 2
                  cores), and the part spent in score.py's run() (the server's x-ms-run-fn-exec-ms header)
  1,000 rows      requests of 1,000 rows: rows per second

The model is the project's own: `python -m mlops run` trains and registers it in a scratch copy of the project.
Run with `make bench`, or `python benchmarks/bench_serving.py`.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlops.commands.serve import choose_model, stage_model  # noqa: E402 - after the project root is importable
from mlops.local.server import free_port, start_server  # noqa: E402
from mlops.settings import load_pipeline_settings  # noqa: E402
from serving.contract import request_body  # noqa: E402

REQUESTS, BIG = 200, 1000


def project_copy(work: Path) -> Path:
    copy = work / "project"
    for name in ("mlops", "components", "config", "data", "serving"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def first_answer(url: str, body: dict, start: float, timeout: float = 120) -> float:
    """Seconds from ``start`` to the first 200 from POST ``url``: refused connections are retried."""
    while time.perf_counter() - start < timeout:
        try:
            if requests.post(url, json=body, timeout=timeout).status_code == 200:
                return time.perf_counter() - start
        except requests.ConnectionError:
            time.sleep(0.02)
    sys.exit(f"{url} did not answer within {timeout} s")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed_requests(url: str, body: dict, count: int) -> tuple[list[float], list[float]]:
    """Per request: milliseconds at the client, and milliseconds in run() as the server reports them."""
    client, server = [], []
    with requests.Session() as session:
        for _ in range(count):
            start = time.perf_counter()
            response = session.post(url, json=body, timeout=60)
            client.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                sys.exit(f"{url} answered {response.status_code}: {response.text[:300]}")
            server.append(float(response.headers.get("x-ms-run-fn-exec-ms", "nan")))
    return client, server


def main() -> None:
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as scratch:
        work = Path(scratch)
        project = project_copy(work)
        env = {**os.environ, "PYTHONPATH": str(project)}
        print("training and registering the model in a scratch project (python -m mlops run) ...", flush=True)
        subprocess.run([sys.executable, "-m", "mlops", "run"], cwd=project, env=env, check=True, capture_output=True)
        settings = load_pipeline_settings(project)
        data = pd.read_csv(settings.inputs["input_data"]).drop(columns=settings.inputs["target_column"])
        one_row = request_body(data.head(1))
        big = request_body(data.sample(BIG, replace=True, random_state=0))
        model_dir = stage_model(settings, choose_model(settings, None), work / "container")
        log = (work / "server.log").open("w")

        starts = []
        for _ in range(3):
            start = time.perf_counter()
            server = start_server(project / "serving" / "score.py", model_dir, free_port(), log)
            starts.append(first_answer(server.scoring_url, one_row, start))
            server.stop()

        port = free_port()
        start = time.perf_counter()
        command = [sys.executable, "-m", "mlops", "serve", "--port", str(port)]
        cli = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=log)
        serve_seconds = first_answer(f"http://127.0.0.1:{port}/score", one_row, start)
        cli.send_signal(signal.SIGTERM)
        cli.wait(60)

        server = start_server(project / "serving" / "score.py", model_dir, free_port(), log)
        first_answer(server.scoring_url, one_row, time.perf_counter())
        timed_requests(server.scoring_url, one_row, 20)  # warm-up
        client, in_run = timed_requests(server.scoring_url, one_row, REQUESTS)
        big_client, big_run = timed_requests(server.scoring_url, big, 10)
        server.stop()
        log.close()

    print(f"\n{'server start to first answer':<34} {', '.join(f'{s:.2f}' for s in starts)} s (target < 5 s)")
    print(f"{'python -m mlops serve to answer':<34} {serve_seconds:.2f} s")
    print(
        f"{f'one row, {REQUESTS} requests':<34} median {statistics.median(client):.1f} ms, "
        f"p95 {percentile(client, 0.95):.1f} ms (target p95 < 50 ms); in run(): median "
        f"{statistics.median(in_run):.1f} ms, p95 {percentile(in_run, 0.95):.1f} ms"
    )
    seconds = statistics.median(big_client) / 1000
    print(
        f"{f'{BIG:,} rows, 10 requests':<34} median {seconds * 1000:.0f} ms: {BIG / seconds:,.0f} rows/s "
        f"(in run(): median {statistics.median(big_run):.0f} ms)"
    )


if __name__ == "__main__":
    main()
