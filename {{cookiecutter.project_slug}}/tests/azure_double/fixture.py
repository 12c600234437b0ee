"""The ``workspace_double`` pytest fixture: a fresh Azure ML workspace TEST DOUBLE per test, on 127.0.0.1 only.

Register it from tests/conftest.py with ``from tests.azure_double.fixture import workspace_double  # noqa: F401``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.azure_double.server import WorkspaceDouble, write_certificate

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

__all__ = ["WorkspaceDouble", "workspace_double"]

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
    ``double.foreign_hosts``) rather than a hang on DNS or a real request.
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
    try:
        yield double
    finally:
        double.stop()
