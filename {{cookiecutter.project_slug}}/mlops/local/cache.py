"""Reuse like Azure ML's: a step whose component and inputs are unchanged takes its outputs from an earlier run.

The key is a hash of the component spec (with its code folder replaced by the folder's content hash) and of every
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

CHUNK = 1 << 20


def content_hash(path: Path) -> str:
    """SHA-256 of a file's bytes, or of a folder's relative file names and bytes (caches and bytecode excluded)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        relative = file.relative_to(path).as_posix() if file != path else ""
        if "__pycache__" in relative or relative.endswith(".pyc"):
            continue
        digest.update(relative.encode() + b"\0")
        with file.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def step_key(step: Step, inputs: Mapping[str, Any]) -> str:
    spec = {k: v for k, v in step.component.spec.items() if k not in {"version", "code"}}
    material = {
        "component": spec,
        "code": content_hash(step.component.code) if step.component.code else None,
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
