"""The Azure commands through the CLI's main(), against the in-memory fake workspace: fast, no network."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from mlops import cli
from mlops.settings import default_root, load_azure_settings
from tests.conftest import CliResult
from tests.mlops.fake_workspace import FakeAzure, FakeWorkspace

SUBSCRIPTION = "12345678-1234-1234-1234-123456789abc"
CI_VARIABLES = ("GITHUB_OUTPUT", "TF_BUILD", "GITHUB_RUN_ID", "BUILD_BUILDID")


@dataclass
class AzureCli:
    fake: FakeAzure
    run: Callable[..., CliResult]

    def workspace(self, environment: str) -> FakeWorkspace:
        return self.fake.connect(load_azure_settings(environment, default_root(), {}))


@pytest.fixture
def azure(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Iterator[AzureCli]:
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION)
    for variable in CI_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    fake = FakeAzure()
    previous = signal.getsignal(signal.SIGTERM)

    def run(*args: str) -> CliResult:
        code = cli.main(list(args), connect=fake.connect)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    yield AzureCli(fake, run)
    signal.signal(signal.SIGTERM, previous)
