"""`mlops validate`: build the pipeline offline and check it, with the SDK's validation and the checks it lacks.

With `--workspace` it also asks the environment's workspace (read-only): Azure ML's own pre-submission validation,
which looks up the compute cluster, and which content versions a deploy would register there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mlops.commands.register import Registration, register
from mlops.errors import MlopsError
from mlops.local.plan import build_plan
from mlops.settings import AzureSettings, PipelineSettings
from mlops.workspace import Workspace


@dataclass(frozen=True)
class Validation:
    steps: tuple[str, ...]
    problems: tuple[str, ...]
    compute: str | None = None  # "<name>: <type>, <size>, 0-N nodes" once looked up in the workspace
    registrations: tuple[Registration, ...] = ()  # with a workspace: "exists" or "new" for each release asset

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(
    pipeline: PipelineSettings,
    azure: AzureSettings,
    overrides: Mapping[str, str] | None = None,
    workspace: Workspace | None = None,
) -> Validation:
    """Without a workspace: no credentials, no network, the SDK builds and validates offline."""
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
    steps = tuple(job.jobs)
    if workspace is None or problems:
        return Validation(steps, tuple(problems))

    from mlops.assets import release_assets

    compute = workspace.compute(azure.compute)  # first: a missing cluster or a login problem is one clear message
    # The SDK's validation rewrites the job's compute to an ARM id: give it a job of its own.
    problems += workspace.validate_pipeline(build_pipeline(pipeline, compute=azure.compute))
    registrations = tuple(register(release_assets(pipeline, azure), workspace, write=False))
    return Validation(steps, tuple(problems), compute, registrations)
