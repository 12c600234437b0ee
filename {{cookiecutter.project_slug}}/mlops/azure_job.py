"""The training pipeline as an Azure ML job: registered components by name:version, registered data, the cluster."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

from mlops.assets import ReleaseAssets
from mlops.evaluation import OUTPUT as EVALUATION
from mlops.settings import AzureSettings, PipelineSettings

DEFAULT_DATASTORE = "workspaceblobstore"  # every workspace's default blob datastore

if TYPE_CHECKING:
    from azure.ai.ml.entities import PipelineJob

    from mlops.workspace import Workspace


def pipeline_job(
    pipeline: PipelineSettings,
    azure: AzureSettings,
    assets: ReleaseAssets,
    workspace: Workspace,
    tags: Mapping[str, str],
) -> PipelineJob:
    from mlops.pipeline import build_pipeline

    steps = {step: workspace.component(asset) for step, asset in assets.components.items()}
    job = build_pipeline(pipeline, compute=azure.compute, steps=steps, input_data=assets.data.reference)
    job.experiment_name = azure.experiment
    job.display_name = f"{azure.experiment} {tags.get('git_commit', '')[:8]}".strip()
    job.tags = dict(tags)
    # Named here, not by the service, so that a stop even while the job is being created can cancel it.
    job.name = f"{azure.experiment.replace('-', '_')}_{uuid.uuid4().hex[:12]}"
    # Where the evaluation lands, set explicitly, so that submit reads it back from a known place instead of
    # depending on how the SDK searches for an output that has no path.
    job.outputs[EVALUATION].path = f"azureml://datastores/{DEFAULT_DATASTORE}/paths/mlops/{job.name}/{EVALUATION}/"
    return job
