"""`mlops schedule`: create or update the recurring retraining of an environment.

The released data asset is one fixed version: a run on it repeats the last. So a schedule retrains on
`retraining_data`, a datastore path that a data pipeline outside this project refreshes, read anew at each run. Each
run trains and evaluates the released components there, which tells whether the model holds on the newest data; it
registers and deploys nothing: a model reaches an endpoint through CD, whose manifest records exactly what passed.
"""

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
    if not azure.retraining_data:
        raise MlopsError(
            f"environment {azure.environment} has no retraining_data in config/environments.toml: a scheduled run "
            "needs data that changes between runs (the released data asset is one fixed version). Set it to the "
            "datastore path your data pipeline refreshes, e.g. "
            '"azureml://datastores/workspaceblobstore/paths/training/latest.csv"'
        )
    assets = release_assets(pipeline, azure)
    registrations = register(assets, workspace)
    tags = provenance.tags(pipeline.root, azure.environment, trigger="schedule")
    job = pipeline_job(pipeline, azure, assets, workspace, tags, scheduled_on=azure.retraining_data)
    name = workspace.schedule(f"{azure.experiment}-retraining", job, azure.retraining_schedule)
    return Scheduled(name, azure.retraining_schedule, registrations)
