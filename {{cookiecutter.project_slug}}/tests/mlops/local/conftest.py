"""Graph shapes as fixtures: small pipelines of test components under pipelines/, run through the real SDK."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.local.plan import Plan, build_plan
from mlops.pipeline import load_pipeline_file, local_spec

PIPELINES = Path(__file__).parent / "pipelines"


@pytest.fixture(scope="session")
def diamond_spec() -> dict:
    return local_spec(load_pipeline_file(PIPELINES / "diamond.yml"))


@pytest.fixture(scope="session")
def failing_spec() -> dict:
    return local_spec(load_pipeline_file(PIPELINES / "failing.yml"))


@pytest.fixture
def diamond(diamond_spec: dict) -> Plan:
    return build_plan(diamond_spec, PIPELINES)
