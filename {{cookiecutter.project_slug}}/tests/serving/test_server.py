"""Azure ML's inference server with serving/score.py, started on a free port, called over HTTP, stopped by its
process id: the contract as clients meet it, and the smoke test against the real thing."""

from __future__ import annotations

import json
import os
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import requests

from mlops.commands.smoke import Expectation, smoke
from mlops.errors import MlopsError
from mlops.local import model_registry
from mlops.local.server import LocalServer, free_port, port_in_use, start_server, wait_until_ready
from mlops.settings import load_pipeline_settings
from serving.contract import request_body
from tests.conftest import copy_project

from .conftest import PENGUINS, SCORING_SCRIPT

pytestmark = pytest.mark.slow

FEATURES = pd.read_csv(PENGUINS).drop(columns="species")
LABELS = ("Adelie", "Chinstrap", "Gentoo")


@pytest.fixture(scope="module")
def server(penguins_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """The model laid out as in a deployment's container: AZUREML_MODEL_DIR=azureml-models/NAME/VERSION."""
    model_dir = tmp_path_factory.mktemp("container") / "azureml-models" / "churn-model" / "1"
    shutil.copytree(penguins_model, model_dir / "model_output")
    log = (tmp_path_factory.mktemp("logs") / "server.log").open("w")
    running = start_server(SCORING_SCRIPT, model_dir, free_port(), log)
    try:
        wait_until_ready(running)
        yield running
    finally:
        running.stop()
        log.close()


def post(server: LocalServer, payload) -> requests.Response:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return requests.post(server.scoring_url, data=data, headers={"Content-Type": "application/json"}, timeout=30)


def test_health_probe_and_a_prediction_per_row(server: LocalServer) -> None:
    assert requests.get(server.url + "/", timeout=10).status_code == 200  # Azure ML's liveness probe
    response = post(server, request_body(FEATURES.head(10)))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    predictions = response.json()["predictions"]
    assert len(predictions) == 10
    assert set(predictions) <= set(LABELS)


@pytest.mark.parametrize(
    ("payload", "status", "column"),
    [
        (request_body(FEATURES.head(2).drop(columns="island")), 400, "island"),
        (request_body(FEATURES.head(2).assign(year="2007")), 400, "year"),
        (request_body(FEATURES.head(2).assign(island="Atlantis")), 400, "island"),
        ("{not json", 400, None),
        ({"inputs": [[1, 2]]}, 400, None),  # MLflow's own serving format is not Azure ML's
    ],
    ids=["missing-column", "wrong-type", "unknown-category", "not-json", "mlflow-format"],
)
def test_bad_requests_get_4xx_with_a_message_never_a_traceback(server, payload, status: int, column) -> None:
    response = post(server, payload)
    assert response.status_code == status
    answer = response.json()
    assert answer.get("column") == column
    if column:
        assert f"'{column}'" in answer["message"]
    assert "Traceback" not in response.text


def test_the_smoke_test_passes_against_the_server(server: LocalServer) -> None:
    result = smoke(server.scoring_url, request_body(FEATURES.head(5)), Expectation("classification", LABELS))
    assert [check.status for check in result.checks] == [200, 400]
    assert all(check.milliseconds > 0 for check in result.checks)


def test_stopped_by_its_process_id(penguins_model: Path, tmp_path: Path) -> None:
    log = (tmp_path / "server.log").open("w")
    server = start_server(SCORING_SCRIPT, penguins_model, free_port(), log)
    wait_until_ready(server)
    pid = server.process.pid
    server.stop()
    assert server.process.returncode == 0  # gunicorn's clean shutdown on SIGTERM
    assert not port_in_use(server.port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_server_that_cannot_load_the_model_fails_at_start(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with log.open("w") as output:
        server = start_server(SCORING_SCRIPT, tmp_path, free_port(), output)
        with pytest.raises(MlopsError, match="stopped while starting"):
            wait_until_ready(server)
    assert "expected one MLflow model" in log.read_text()  # the log says why


def test_a_busy_port_is_refused_before_starting(server: LocalServer, penguins_model: Path) -> None:
    with pytest.raises(MlopsError, match=f"port {server.port} on 127.0.0.1 is in use"):
        start_server(SCORING_SCRIPT, penguins_model, server.port)


def read_until(process: subprocess.Popen, marker: str, timeout: float = 120) -> str:
    """The process's stdout up to the line holding ``marker``; fails rather than waits forever."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    text, deadline = "", time.monotonic() + timeout
    while marker not in text:
        try:
            text += lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"no '{marker}' within {timeout} s; stdout so far:\n{text}")
    return text


def test_mlops_serve_answers_its_curl_line_and_stops_on_sigterm(penguins_model: Path, tmp_path: Path) -> None:
    """`python -m mlops serve` in a project whose registry holds the model: it prints a curl line that works."""
    project = copy_project(tmp_path / "project")
    settings = load_pipeline_settings(project)
    settings.mlruns.mkdir()
    model_registry.register_model(settings.mlruns, settings.model_name, penguins_model, {"run": "test"}, "serve-tests")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(project)}
    with (tmp_path / "stderr.log").open("w") as stderr:
        command = [sys.executable, "-m", "mlops", "serve", "--port", str(port)]
        cli = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
        try:
            printed = read_until(cli, "Ctrl-C")
            assert f"Serving {settings.model_name} version 1 at http://127.0.0.1:{port}/score" in printed
            curl = next(line.split("try", 1)[1].strip() for line in printed.splitlines() if "try " in line)
            assert curl.startswith("curl ")
            request = json.loads(shlex.split(curl)[-1])
            answer = requests.post(f"http://127.0.0.1:{port}/score", json=request, timeout=30).json()
            assert answer["predictions"][0] in LABELS
        finally:
            cli.send_signal(signal.SIGTERM)
            code = cli.wait(timeout=60)
    assert code == 0, (tmp_path / "stderr.log").read_text()
    assert not port_in_use(port), "the server outlived the command"
