"""Versions by content: the same component, environment or data file gets the same version on any machine.

A version is a short hash of what Azure ML would run: for an environment, its image and conda file; for a
component, its spec without the version, the files of its code folder that Azure ML uploads, and its environment's
version; for data, the file's bytes. Absolute paths never enter a hash, so a checkout in another folder gives the
same versions.

Which files Azure ML uploads is decided the way azure-ai-ml decides it for a component's code: the `.amlignore` at
the code folder's root (or else its `.gitignore`) read as gitignore patterns, the last matching pattern winning
(`!negations` included), plus `__pycache__`; every file is matched by its path relative to the folder. A table test
(tests/mlops/test_versions.py) holds this module to the SDK's own file list, so the local snapshot, the version and
Azure's upload contain the same files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pathspec

CHUNK = 1 << 20
LENGTH = 16  # hex characters: short enough to read, long enough never to collide in one workspace
COMPONENT_IGNORES = ("__pycache__",)  # what azure-ai-ml adds to a component code folder's ignore file
CACHES = ("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache")  # never part of a data folder's content


def short(digest: str) -> str:
    return digest[:LENGTH]


def ignore_patterns(folder: Path) -> list[str]:
    """The ignore file's lines (the first of .amlignore and .gitignore at the folder's root), then the SDK's own."""
    for name in (".amlignore", ".gitignore"):
        file = folder / name
        if file.is_file():
            return [*file.read_text(encoding="utf-8").splitlines(), *COMPONENT_IGNORES]
    return list(COMPONENT_IGNORES)


def _files(folder: Path, patterns: list[str]) -> Iterator[tuple[str, Path]]:
    spec = pathspec.PathSpec.from_lines("gitignore", patterns)
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and not spec.match_file(relative):
            yield relative, path


def code_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """The files Azure ML uploads from a component's code folder, as (relative posix path, path), in a stable order."""
    return _files(folder, ignore_patterns(folder))


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _tree_hash(files: Iterator[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for relative, path in files:
        digest.update(relative.encode() + b"\0" + bytes.fromhex(file_hash(path)))
    return digest.hexdigest()


def code_hash(folder: Path) -> str:
    return _tree_hash(code_files(folder))


def content_hash(path: Path) -> str:
    """A file's bytes, or a folder's relative file names and bytes (caches and bytecode excluded): for data."""
    return file_hash(path) if path.is_file() else _tree_hash(_files(path, list(CACHES)))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


@dataclass(frozen=True)
class Versioned:
    """What will be registered: kind, name, version, and the full content hash the version was cut from."""

    kind: str  # "environment" | "component" | "data"
    name: str
    version: str
    content_hash: str


def environment_version(name: str, image: str, conda: Mapping[str, Any]) -> Versioned:
    digest = hashlib.sha256(_canonical({"image": image, "conda": conda}).encode()).hexdigest()
    return Versioned("environment", name, short(digest), digest)


def component_version(spec: Mapping[str, Any], code: Path | None, environment: Versioned) -> Versioned:
    """``spec`` is the component's YAML form; its version, tags, code path and inline environment do not count:
    the code counts by content, the environment by its own version."""
    material = {key: value for key, value in spec.items() if key not in {"version", "code", "environment", "tags"}}
    material["code"] = code_hash(code) if code else None
    material["environment"] = f"{environment.name}:{environment.version}"
    digest = hashlib.sha256(_canonical(material).encode()).hexdigest()
    return Versioned("component", spec["name"], short(digest), digest)


def data_version(name: str, path: Path) -> Versioned:
    digest = file_hash(path)
    return Versioned("data", name, short(digest), digest)
