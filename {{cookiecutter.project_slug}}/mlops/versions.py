"""Versions by content: the same component, environment or data file gets the same version on any machine.

A version is a short hash of what Azure ML would run: for an environment, its image and conda file; for a
component, its spec without the version, its code folder's files (minus what `.amlignore`, or else `.gitignore`,
excludes: Azure ML does not upload those either) and its environment's version; for data, the file's bytes.
Absolute paths never enter a hash, so a checkout in another folder gives the same versions.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHUNK = 1 << 20
LENGTH = 16  # hex characters: short enough to read, long enough never to collide in one workspace
ALWAYS_IGNORED = ("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache")


def short(digest: str) -> str:
    return digest[:LENGTH]


def ignore_patterns(folder: Path) -> list[str]:
    for name in (".amlignore", ".gitignore"):
        file = folder / name
        if file.is_file():
            lines = file.read_text(encoding="utf-8").splitlines()
            return [*ALWAYS_IGNORED, *(line.strip() for line in lines if line.strip() and not line.startswith("#"))]
    return list(ALWAYS_IGNORED)


def _ignored(relative: str, patterns: list[str]) -> bool:
    parts = relative.split("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if "/" in pattern.strip("/"):
            if fnmatch.fnmatch(relative, pattern.lstrip("/")) or relative.startswith(pattern.lstrip("/") + "/"):
                return True
        elif any(fnmatch.fnmatch(part, pattern.lstrip("/")) for part in parts):
            return True
    return False


def _files(folder: Path, patterns: list[str]) -> Iterator[tuple[str, Path]]:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and not _ignored(relative, patterns):
            yield relative, path


def code_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """The files Azure ML would upload from a code folder, as (relative posix path, path), in a stable order."""
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
    return file_hash(path) if path.is_file() else _tree_hash(_files(path, list(ALWAYS_IGNORED)))


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
