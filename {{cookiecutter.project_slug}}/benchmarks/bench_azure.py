"""Measure the Azure commands and print the numbers (a benchmark: nothing here asserts).

  CLI start       `python -m mlops --help` and `python -m mlops validate --env dev` (median of 3 runs)
  deploys         HTTP requests, writes and bytes uploaded by `register` for a first deploy and for a deploy with
                  no change, against the workspace TEST DOUBLE of tests/azure_double (loopback HTTPS, the real SDK)
  rollouts        `mlops deploy` against the same double: a first deploy (endpoint, deployment, smoke tests), the
                  same model again (nothing to do), and a new model rolled out over it with prod's traffic steps;
                  requests, writes, bytes uploaded, seconds of our own work, and the seconds it waits between steps as
                  configured (counted, not slept)

Run with `python benchmarks/bench_azure.py` from the project root.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
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


def rollouts() -> list[tuple[str, int, int, int, float, float]]:
    """Deploys through `mlops deploy`'s own function, on the settings of config/environments.toml."""
    from mlops import cli
    from mlops.commands import deploy
    from mlops.commands.smoke import expectation, sample_request, smoke
    from mlops.settings import load_azure_settings, load_pipeline_settings
    from mlops.workspace import sdk
    from tests.azure_double.server import WorkspaceDouble, write_certificate

    pipeline = load_pipeline_settings(ROOT)
    request, expected = sample_request(pipeline), expectation(pipeline)

    def answers(body: dict) -> tuple[int, dict]:  # what serving/score.py answers, as far as the smoke test looks
        table = body["input_data"]
        if not table["columns"]:
            missing = request["input_data"]["columns"][0]
            return 400, {"message": f"column '{missing}' is missing", "column": missing}
        return 200, {"predictions": [expected.labels[0] if expected.labels else 0.0] * len(table["data"])}

    def check(url: str, headers) -> None:
        smoke(url, request, expected, headers=dict(headers), timeout=60)

    work = Path(tempfile.mkdtemp(prefix="bench-rollout-"))
    double = WorkspaceDouble(*write_certificate(work)).start()
    os.environ.update(double.env)
    os.environ["AZURE_SUBSCRIPTION_ID"] = double.subscription_id
    try:

        def served(environment: str):
            settings = load_azure_settings(environment, ROOT, os.environ)
            return dataclasses.replace(settings, resource_group=double.resource_group, workspace=double.workspace_name)

        def connect(settings):
            return sdk.connect(served(settings.environment), credential=double.credential, **double.client_kwargs)

        evaluation = {"decision.json": b'{"promote": true, "reasons": ["bench"]}', "metrics.json": b"{}"}
        versions = []
        for _ in range(2):  # two releases in dev: two versions of the model
            double.script_job(["Completed"], outputs={"evaluation": evaluation})
            manifest = work / f"manifest{len(versions)}.json"
            argv = ["submit", "--env", "dev", "--wait", "--poll", "0", "--manifest", str(manifest)]
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                if cli.main(argv, root=ROOT, connect=connect) != 0:
                    raise SystemExit("submit through the double failed: run the tests (make test) to see why")
            versions.append(json.loads(manifest.read_text(encoding="utf-8"))["model"])
        for model in versions:
            double.script_deployment(f"{model['name']}-v{model['version']}", answers=answers)

        azure = served("prod")
        workspace = connect(azure)
        rows = []
        for label, model in [
            ("first deploy", versions[0]),
            ("same model again", versions[0]),
            ("new model", versions[1]),
        ]:
            waits: list[float] = []
            ref = deploy.model_to_deploy(azure, None, f"{model['name']}:{model['version']}", dry_run=False)
            mark, uploaded, start = len(double.requests), double.bytes_uploaded(), time.perf_counter()
            deploy.deploy(pipeline, azure, workspace, ref, check, sleep=waits.append)
            seconds = time.perf_counter() - start
            requests, uploaded = double.requests[mark:], double.bytes_uploaded() - uploaded
            rows.append((label, len(requests), sum(r.is_write for r in requests), uploaded, seconds, sum(waits)))
        return rows
    finally:
        double.stop()


def main() -> int:
    print(f"{'python -m mlops --help':<40} {start_time('--help'):6.2f} s   target < 0.3 s")
    print(f"{'python -m mlops validate --env dev':<40} {start_time('validate', '--env', 'dev'):6.2f} s")
    print(f"\n{'register':<18} {'requests':>8} {'writes':>7} {'bytes uploaded':>15}")
    for label, requests, writes, uploaded in deploys():
        print(f"{label:<18} {requests:>8} {writes:>7} {uploaded:>15}")
    header = f"{'deploy (prod settings)':<24} {'requests':>8} {'writes':>7} {'bytes uploaded':>15} {'our time':>9}"
    print(f"\n{header} {'configured waits':>17}")
    for label, requests, writes, uploaded, seconds, waited in rollouts():
        print(f"{label:<24} {requests:>8} {writes:>7} {uploaded:>15} {seconds:>7.2f} s {waited:>15.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
