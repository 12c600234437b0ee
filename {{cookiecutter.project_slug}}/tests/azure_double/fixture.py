"""The ``workspace_double`` pytest fixture: a fresh Azure ML workspace TEST DOUBLE per test, on 127.0.0.1 only.

Register it from tests/conftest.py with ``from tests.azure_double.fixture import workspace_double  # noqa: F401``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.azure_double.server import WorkspaceDouble, write_certificate

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

__all__ = ["WorkspaceDouble", "fast_storage_retries", "workspace_double"]

_certificates: dict[Path, tuple[Path, Path]] = {}


def _certificate(factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One self-signed certificate per session (kept here, not in a second fixture, so one import registers all)."""
    session = factory.getbasetemp()
    if session not in _certificates:
        _certificates[session] = write_certificate(factory.mktemp("azure-double-tls"))
    return _certificates[session]


@pytest.fixture
def workspace_double(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[WorkspaceDouble]:
    """A started double with its environment applied; name resolution outside loopback fails in the test.

    Refusing other hosts turns an accidental call to Azure into an immediate error (listed in
    ``double.foreign_hosts``) rather than a hang on DNS or a real request. ``time.time`` follows ``double.clock``.
    """
    double = WorkspaceDouble(*_certificate(tmp_path_factory)).start()
    for name, value in double.env.items():
        monkeypatch.setenv(name, value)
    real_getaddrinfo = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if host is not None and name not in LOOPBACK_HOSTS:  # None: a local wildcard bind, not a connection
            double.foreign_hosts.append(name)
            raise socket.gaierror(socket.EAI_NONAME, f"the Azure ML test double blocks {name}: loopback only")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)
    # One clock for both sides: when a test moves the double's clock on, cached tokens expire for the client too.
    monkeypatch.setattr(time, "time", double.clock.now)
    try:
        yield double
    finally:
        double.stop()
    assert double.errors == [], "the double itself failed:\n" + "\n".join(double.errors)


@pytest.fixture
def fast_storage_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """azure-storage-blob retries a failed call (a refused token included) after 15, 60 and 240 s: no wait in tests
    that provoke one. The retries still happen; only their backoff is skipped."""
    from azure.storage.blob._shared.policies import ExponentialRetry

    monkeypatch.setattr(ExponentialRetry, "get_backoff_time", lambda self, settings: 0)
