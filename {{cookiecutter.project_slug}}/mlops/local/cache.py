"""Reuse like Azure ML's: a step whose component and inputs are unchanged takes its outputs from an earlier run.

The key is a hash of the component spec (its code folder counted as the files Azure ML would upload) and of every
input value (files and folders by content, so a moved checkout still hits). The index maps a key to the output
folders of the run that produced them; an entry whose folders are gone is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops.local.executor import StepResult
from mlops.local.plan import Step
from mlops.versions import code_hash, content_hash

# The executor's output layout; a change (uri_file outputs as files, ./outputs as the artifacts) retires old entries.
LAYOUT = 2


def step_key(step: Step, inputs: Mapping[str, Any]) -> str:
    spec = {k: v for k, v in step.component.spec.items() if k not in {"version", "code"}}
    material = {
        "layout": LAYOUT,
        "component": spec,
        "code": code_hash(step.component.code) if step.component.code else None,  # what Azure ML would upload
        "env": dict(step.environment_variables),
        "inputs": {k: content_hash(v) if isinstance(v, Path) else v for k, v in sorted(inputs.items())},
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


class Cache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, key: str) -> dict[str, Any] | None:
        entry_file = self.folder / f"{key}.json"
        if not entry_file.is_file():
            return None
        entry = json.loads(entry_file.read_text(encoding="utf-8"))
        if not all(Path(path).exists() for path in entry["outputs"].values()):
            return None
        return entry

    def put(self, key: str, run: str, result: StepResult) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        entry = {"run": run, "log": str(result.log), "outputs": {name: str(p) for name, p in result.outputs.items()}}
        temporary = self.folder / f".{key}.tmp"
        temporary.write_text(json.dumps(entry), encoding="utf-8")
        os.replace(temporary, self.folder / f"{key}.json")
