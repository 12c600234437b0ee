"""How one step runs: a fresh snapshot of its code, its command line filled in, a subprocess, atomic outputs.

This mirrors what an Azure ML compute node does with a command job, on this machine: the code folder is copied
(so no step ever writes into the source tree), every output folder starts empty (a ``uri_file`` output is a file
path in a folder of its own), ``./outputs`` and ``./logs`` exist in the working folder and become the job's
artifacts, the command runs in the snapshot with the component's environment variables, and ``limits.timeout``
stops it. Outputs are written to a staging folder and moved into place only when the command succeeds, so a failed
step never leaves something that looks like a result.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops.errors import MlopsError
from mlops.local.plan import ARTIFACTS, FILE_TYPES, Step
from mlops.versions import code_files

PLACEHOLDER = re.compile(r"\$\{\{\s*(inputs|outputs)\.(\w+)\s*\}\}")
OPTIONAL_PART = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)
# Azure ML creates these in the job's working folder and uploads them as the job's artifacts (its default output).
ARTIFACT_FOLDERS = ("outputs", "logs")
MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")


def fill_command(step: Step, inputs: Mapping[str, str], outputs: Mapping[str, str]) -> str:
    """The command line Azure ML would run: optional ``$[[...]]`` parts kept only when all their inputs are set."""

    def optional(match: re.Match) -> str:
        names = [name for kind, name in PLACEHOLDER.findall(match.group(1)) if kind == "inputs"]
        return match.group(1) if all(name in inputs for name in names) else ""

    def value(match: re.Match) -> str:
        kind, name = match.groups()
        table = inputs if kind == "inputs" else outputs
        if name not in table:
            declared = step.component.inputs if kind == "inputs" else step.component.outputs
            if name in declared:
                raise MlopsError(f"step '{step.name}': the command uses {kind}.{name}, which has no value")
            raise MlopsError(
                f"step '{step.name}': the command uses {kind}.{name}, which the component does not declare"
            )
        return shlex.quote(table[name])

    return PLACEHOLDER.sub(value, OPTIONAL_PART.sub(optional, step.component.command)).strip()


LOG_FILE = "log.txt"  # in the step's folder: the command line, then everything it printed


@dataclass(frozen=True)
class StepResult:
    name: str
    ok: bool
    seconds: float
    log: Path
    outputs: Mapping[str, Path]  # a uri_file output is the file itself; ARTIFACTS holds ./outputs and ./logs
    cached_from: str | None = None
    error: str | None = None  # why it failed when the log alone does not say: a timeout, a missing uri_file output
    missing_module: str | None = None  # the module a failed step could not import (from its log)


class Processes:
    """The process groups of the steps running now, so that an interrupted run stops every one of them.

    Each step runs in a process group of its own: a timeout then stops the command and whatever it started.
    """

    def __init__(self) -> None:
        self._groups: set[int] = set()
        self._lock = threading.Lock()

    def run(self, command: list[str], timeout: float | None, **options) -> int | None:
        """The command's exit code, or None when it ran out of time (and was stopped)."""
        process = subprocess.Popen(command, process_group=0, **options)
        with self._lock:
            self._groups.add(process.pid)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill(process.pid)
            process.wait()
            return None
        finally:
            with self._lock:
                self._groups.discard(process.pid)

    def stop(self) -> None:
        with self._lock:
            groups = list(self._groups)
        for group in groups:
            self._kill(group)

    @staticmethod
    def _kill(group: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
            os.killpg(group, signal.SIGKILL)


def execute(
    step: Step, inputs: Mapping[str, object], folder: Path, env: Mapping[str, str], processes: Processes | None = None
) -> StepResult:
    """Run one step in ``folder`` (snapshot, log, outputs). ``inputs`` holds literals and resolved paths."""
    start = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)
    code = folder / "code"
    code.mkdir(parents=True)
    # The snapshot holds exactly what Azure ML would upload (.amlignore / .gitignore honoured).
    for relative, path in code_files(step.component.code) if step.component.code else ():
        (code / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, code / relative)
    for name in ARTIFACT_FOLDERS:
        (code / name).mkdir(exist_ok=True)
    staging = folder / ".staging"
    staged: dict[str, Path] = {}
    for name, kind in step.component.outputs.items():
        (staging / name).mkdir(parents=True)
        staged[name] = staging / name / name if kind in FILE_TYPES else staging / name

    # Literals as Azure ML puts them on the command line: the SDK sends each as str(value) (True, 0.5, 3).
    command = fill_command(step, {k: str(v) for k, v in inputs.items()}, {k: str(v) for k, v in staged.items()})
    log = folder / LOG_FILE
    # The project's interpreter comes first on PATH, so `python` in a command is the one with the dependencies.
    path = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.environ.get("PATH", ""))])
    full_env = {**os.environ, **env, **step.environment_variables, "PATH": path}
    with log.open("w", encoding="utf-8") as handle:
        handle.write(f"$ {command}\n\n")
        handle.flush()
        shell = [shutil.which("bash") or "/bin/sh", "-c", command]
        options = {"cwd": code, "env": full_env, "stdout": handle, "stderr": subprocess.STDOUT}
        returncode = (processes or Processes()).run(shell, step.timeout, **options)
        error = _failure(step, returncode, staged)
        if error:
            handle.write(f"\n[mlops] step failed: {error}\n")

    outputs: dict[str, Path] = {}
    if error is None:
        (folder / "outputs").mkdir()
        for name, kind in step.component.outputs.items():
            final = folder / "outputs" / name
            (staging / name).rename(final)
            outputs[name] = final / name if kind in FILE_TYPES else final
        if ARTIFACTS not in outputs:
            artifacts = folder / "artifacts"
            artifacts.mkdir()
            for name in ARTIFACT_FOLDERS:
                if (code / name).is_dir():  # the command may have removed it
                    (code / name).rename(artifacts / name)
            outputs[ARTIFACTS] = artifacts
    shutil.rmtree(staging, ignore_errors=True)
    missing = None if error is None else _missing_module(log)
    return StepResult(step.name, error is None, time.perf_counter() - start, log, outputs, None, error, missing)


def _failure(step: Step, returncode: int | None, staged: Mapping[str, Path]) -> str | None:
    if returncode is None:
        return f"stopped after {step.timeout:g} s, its limits.timeout"
    if returncode != 0:
        return f"exit code {returncode}"
    for name, path in staged.items():
        if step.component.outputs[name] in FILE_TYPES and not path.is_file():
            return f"it did not write its uri_file output '{name}' (the file {path.name} in {path.parent.name}/)"
    return None


def _missing_module(log: Path) -> str | None:
    tail = log.read_text(encoding="utf-8", errors="replace")[-20000:]
    found = MISSING_MODULE.findall(tail)
    return found[-1] if found else None
