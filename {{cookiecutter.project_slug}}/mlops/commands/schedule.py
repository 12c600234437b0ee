"""`mlops schedule`: create or update the recurring retraining of an environment (prod, in the CD flow)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlops.assets import release_assets
from mlops.commands.register import Registration, register
from mlops.commands.submit import git_commit, pipeline_job
from mlops.errors import MlopsError
from mlops.settings import AzureSettings, PipelineSettings

if TYPE_CHECKING:
    from mlops.workspace import Workspace


@dataclass(frozen=True)
class Scheduled:
    name: str
    cron: str
    registrations: list[Registration]
    created: bool  # False for --dry-run


def schedule(pipeline: PipelineSettings, azure: AzureSettings, workspace: Workspace | None) -> Scheduled:
    if not azure.retraining_schedule:
        raise MlopsError(
            f"environment {azure.environment} has no retraining_schedule in config/environments.toml "
            '(a cron expression, e.g. "0 3 * * 1")'
        )
    assets = release_assets(pipeline, azure)
    registrations = register(assets, workspace)
    tags = {"git_commit": git_commit(pipeline.root), "environment": azure.environment, "trigger": "schedule"}
    job = pipeline_job(pipeline, azure, assets, workspace, tags)
    name = f"{azure.experiment}-retraining"
    if workspace is not None:
        workspace.schedule(name, job, azure.retraining_schedule)
    return Scheduled(name, azure.retraining_schedule, registrations, workspace is not None)
