"""Graph shapes as fixtures: small pipelines of test components under pipelines/, run through the real SDK."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.local import pipeline_file
from mlops.local.plan import Plan, build_plan
from mlops.pipeline import load_pipeline_file, local_spec

PIPELINES = Path(__file__).parent / "pipelines"


def spec_of(path: Path) -> dict:
    """A pipeline file's YAML form as the runner plans it: parsed by the SDK, with its values as written."""
    return local_spec(load_pipeline_file(path), pipeline_file.read(path).tree)


@pytest.fixture(scope="session")
def diamond_spec() -> dict:
    return spec_of(PIPELINES / "diamond.yml")


@pytest.fixture(scope="session")
def failing_spec() -> dict:
    return spec_of(PIPELINES / "failing.yml")


@pytest.fixture
def diamond(diamond_spec: dict) -> Plan:
    return build_plan(diamond_spec, PIPELINES)
