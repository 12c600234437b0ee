"""How one step runs: a fresh snapshot of its code, its command line filled in, a subprocess, atomic outputs.

This mirrors what an Azure ML compute node does with a command job, on this machine: the code folder is copied
(so no step ever writes into the source tree), every output folder starts empty, and the command runs in the
snapshot with the component's environment variables. Outputs are written to a staging folder and moved into place
only when the command succeeds, so a failed step never leaves something that looks like a result.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops.errors import MlopsError
from mlops.local.plan import Step
from mlops.versions import code_files

PLACEHOLDER = re.compile(r"\$\{\{\s*(inputs|outputs)\.(\w+)\s*\}\}")
OPTIONAL_PART = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)


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


@dataclass(frozen=True)
class StepResult:
    name: str
    ok: bool
    seconds: float
    log: Path
    outputs: Mapping[str, Path]
    cached_from: str | None = None


def execute(step: Step, inputs: Mapping[str, object], folder: Path, env: Mapping[str, str]) -> StepResult:
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
    staging = folder / ".staging"
    staged = {name: staging / name for name in step.component.outputs}
    for path in staged.values():
        path.mkdir(parents=True)

    command = fill_command(step, {k: str(v) for k, v in inputs.items()}, {k: str(v) for k, v in staged.items()})
    log = folder / "log.txt"
    # The project's interpreter comes first on PATH, so `python` in a command is the one with the dependencies.
    path = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.environ.get("PATH", ""))])
    full_env = {**os.environ, **env, **step.environment_variables, "PATH": path}
    with log.open("w", encoding="utf-8") as handle:
        handle.write(f"$ {command}\n\n")
        handle.flush()
        shell = [shutil.which("bash") or "/bin/sh", "-c", command]
        returncode = subprocess.run(shell, cwd=code, env=full_env, stdout=handle, stderr=subprocess.STDOUT).returncode

    outputs: dict[str, Path] = {}
    if returncode == 0:
        for name, path in staged.items():
            final = folder / "outputs" / name
            final.parent.mkdir(exist_ok=True)
            path.rename(final)
            outputs[name] = final
    shutil.rmtree(staging, ignore_errors=True)
    return StepResult(step.name, returncode == 0, time.perf_counter() - start, log, outputs)
