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
    *,
    scheduled_on: str | None = None,
) -> PipelineJob:
    """The job to submit now, on exactly the released data version; or the job a schedule starts again and again,
    ``scheduled_on`` a datastore path: each run reads what is there then, reruns every step (Azure ML would reuse
    them for an unchanged path) and writes its evaluation to a folder of its own."""
    from mlops.pipeline import build_pipeline

    steps = {step: workspace.component(asset) for step, asset in assets.components.items()}
    data = scheduled_on or assets.data.reference
    job = build_pipeline(pipeline, compute=azure.compute, steps=steps, input_data=data)
    if scheduled_on:
        job.settings.force_rerun = True
    job.experiment_name = azure.experiment
    job.display_name = f"{azure.experiment} {tags.get('git_commit', '')[:8]}".strip()
    job.tags = dict(tags)
    # Named here, not by the service, so that a stop even while the job is being created can cancel it.
    job.name = f"{azure.experiment.replace('-', '_')}_{uuid.uuid4().hex[:12]}"
    # Where the evaluation lands, set explicitly, so that submit reads it back from a known place instead of
    # depending on how the SDK searches for an output that has no path.
    run_name = "${{name}}" if scheduled_on else job.name  # ${{name}}: Azure ML puts in each scheduled run's own name
    job.outputs[EVALUATION].path = f"azureml://datastores/{DEFAULT_DATASTORE}/paths/mlops/{run_name}/{EVALUATION}/"
    return job
