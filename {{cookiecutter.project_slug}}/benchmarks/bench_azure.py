"""Measure the Azure commands and print the numbers (a benchmark: nothing here asserts).

  CLI start       `python -m mlops --help` and `python -m mlops validate --env dev` (median of 3 runs)
  deploys         HTTP requests, writes and bytes uploaded by `register` for a first deploy and for a deploy with
                  no change, against the workspace TEST DOUBLE of tests/azure_double (loopback HTTPS, the real SDK)

Run with `python benchmarks/bench_azure.py` from the project root.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def start_time(*args: str, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mlops", *args], cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def deploys() -> list[tuple[str, int, int, int]]:
    from mlops.assets import release_assets
    from mlops.commands.register import register
    from mlops.settings import load_azure_settings, load_pipeline_settings
    from mlops.workspace import sdk
    from tests.azure_double.server import WorkspaceDouble, write_certificate

    double = WorkspaceDouble(*write_certificate(Path(tempfile.mkdtemp(prefix="bench-azure-")))).start()
    os.environ.update(double.env)
    try:
        azure = dataclasses.replace(
            load_azure_settings("dev", ROOT, {"AZURE_SUBSCRIPTION_ID": double.subscription_id}),
            resource_group=double.resource_group,
            workspace=double.workspace_name,
        )
        ws = sdk.connect(azure, credential=double.credential, **double.client_kwargs)
        rows = []
        for label in ("first deploy", "no-change deploy"):
            mark, uploaded = len(double.requests), double.bytes_uploaded()
            register(release_assets(load_pipeline_settings(ROOT), azure), ws)
            requests = double.requests[mark:]
            rows.append((label, len(requests), sum(r.is_write for r in requests), double.bytes_uploaded() - uploaded))
        return rows
    finally:
        double.stop()


def main() -> int:
    print(f"{'python -m mlops --help':<40} {start_time('--help'):6.2f} s   target < 0.3 s")
    print(f"{'python -m mlops validate --env dev':<40} {start_time('validate', '--env', 'dev'):6.2f} s")
    print(f"\n{'register':<18} {'requests':>8} {'writes':>7} {'bytes uploaded':>15}")
    for label, requests, writes, uploaded in deploys():
        print(f"{label:<18} {requests:>8} {writes:>7} {uploaded:>15}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
