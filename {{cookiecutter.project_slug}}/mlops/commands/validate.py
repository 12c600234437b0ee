"""`mlops validate`: build the pipeline offline and check it, with the SDK's validation and the checks it lacks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mlops.errors import MlopsError
from mlops.local.plan import build_plan
from mlops.settings import AzureSettings, PipelineSettings


@dataclass(frozen=True)
class Validation:
    steps: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(
    pipeline: PipelineSettings, azure: AzureSettings, overrides: Mapping[str, str] | None = None
) -> Validation:
    """No credentials, no network: the SDK builds and validates offline."""
    from mlops.pipeline import build_pipeline, local_spec

    job = build_pipeline(pipeline, compute=azure.compute)
    result = job._validate()
    problems = [f"{where}: {message}" for where, message in (result.error_messages or {}).items()]
    # The SDK accepts a literal of the wrong type, a value out of its declared range and a uri_folder output wired
    # into a uri_file input; Azure ML would fail at run time. The local planner checks all three.
    try:
        build_plan(local_spec(job), pipeline.root, overrides)
    except MlopsError as error:
        problems.append(str(error))
    return Validation(tuple(job.jobs), tuple(problems))
