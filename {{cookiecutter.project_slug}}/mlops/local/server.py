"""The local counterpart of an Azure ML online deployment: Azure ML's inference server on 127.0.0.1.

An online deployment runs `azmlinfsrv`, which serves the package's Flask app under gunicorn with the deployment's
scoring script and model. This runs the same app under the same gunicorn, configured through the same environment
variables, with the same options as azmlinfsrv (amlserver_linux.py) except one: it listens on 127.0.0.1 only, where
azmlinfsrv listens on every interface. gunicorn runs on Linux and macOS (on Windows, use WSL).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mlops.errors import MlopsError

HOST = "127.0.0.1"
APP = "azureml_inference_server_http.server.entry:app"
WORKER_TIMEOUT_SECONDS = 300  # azmlinfsrv's default (WORKER_TIMEOUT)
# The health probe goes straight to the loopback address, never through an HTTP proxy set in the environment.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class LocalServer:
    """A running server: stop it with stop(), which signals its process id."""

    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def scoring_url(self) -> str:
        return f"{self.url}/score"

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM (gunicorn finishes the requests in flight), then SIGKILL if it has not stopped within timeout."""
        if self.running():
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) == 0


def check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise MlopsError(f"port {port} is not a TCP port: choose one from 1024 to 65535")
    if port_in_use(port):
        raise MlopsError(f"port {port} on {HOST} is in use: stop what listens there, or choose another port")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def server_environment(script: Path, model_dir: Path) -> dict[str, str]:
    """What Azure ML sets in a deployment's container, pointing at this machine's files."""
    return {
        **os.environ,
        "AZUREML_ENTRY_SCRIPT": str(script.resolve()),
        "AZUREML_MODEL_DIR": str(model_dir.resolve()),
        "AML_APP_ROOT": str(script.resolve().parent),
        "PYTHONUNBUFFERED": "1",  # the server's log lines appear as they happen
    }


def start_server(script: Path, model_dir: Path, port: int, output: IO | None = None) -> LocalServer:
    """Start the server; it loads the model in the background (see wait_until_ready). ``output`` takes its log
    (default: this process's stderr, as stdout is for results)."""
    if sys.platform == "win32":
        raise MlopsError("the inference server runs on Linux and macOS (gunicorn); on Windows, use WSL")
    check_port(port)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        "1",
        "--timeout",
        str(WORKER_TIMEOUT_SECONDS),
        "--access-logfile",
        "-",
        "--no-control-socket",  # gunicorn's default socket is one per user: two servers would share it
        APP,
    ]
    environment = server_environment(script, model_dir)
    log = output if output is not None else sys.stderr
    process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
    return LocalServer(process, port)


def wait_until_ready(server: LocalServer, timeout: float = 120) -> float:
    """Seconds until the server answers its health probe (GET /), once the scoring script's init() has run."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if not server.running():
            raise MlopsError(
                f"the inference server stopped while starting (exit code {server.process.returncode}): "
                "its log says why (often the model folder or the scoring script's init())"
            )
        try:
            with DIRECT.open(server.url + "/", timeout=timeout) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)  # not listening yet
    server.stop()
    raise MlopsError(f"the inference server did not answer within {timeout:.0f} s; its log says what it was doing")
