"""`mlops schedule`: create or update the recurring retraining of an environment (prod, in the CD flow)."""

from __future__ import annotations

from dataclasses import dataclass

from mlops import provenance
from mlops.assets import release_assets
from mlops.azure_job import pipeline_job
from mlops.commands.register import Registration, register
from mlops.errors import MlopsError
from mlops.settings import AzureSettings, PipelineSettings
from mlops.workspace import Workspace


@dataclass(frozen=True)
class Scheduled:
    name: str
    cron: str
    registrations: list[Registration]


def schedule(pipeline: PipelineSettings, azure: AzureSettings, workspace: Workspace) -> Scheduled:
    if not azure.retraining_schedule:
        raise MlopsError(
            f"environment {azure.environment} has no retraining_schedule in config/environments.toml "
            '(a cron expression, e.g. "0 3 * * 1")'
        )
    assets = release_assets(pipeline, azure)
    registrations = register(assets, workspace)
    tags = provenance.tags(pipeline.root, azure.environment, trigger="schedule")
    job = pipeline_job(pipeline, azure, assets, workspace, tags)
    name = workspace.schedule(f"{azure.experiment}-retraining", job, azure.retraining_schedule)
    return Scheduled(name, azure.retraining_schedule, registrations)
