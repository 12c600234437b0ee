"""What the project registers in a workspace, each with its version by content (mlops/versions.py).

Built offline from the same component objects the pipeline uses; nothing here talks to Azure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from azure.ai.ml import load_environment
from azure.ai.ml.entities import Data, Environment
from azure.ai.ml.entities._component.command_component import CommandComponent

from mlops.pipeline import components
from mlops.settings import AzureSettings, PipelineSettings
from mlops.versions import Versioned, component_version, data_version, environment_version


@dataclass(frozen=True)
class Asset:
    """An entity ready to register, and the name:version it will have."""

    versioned: Versioned
    entity: Any

    @property
    def reference(self) -> str:
        return f"azureml:{self.versioned.name}:{self.versioned.version}"


@dataclass(frozen=True)
class ReleaseAssets:
    environment: Asset
    components: dict[str, Asset]  # by pipeline step name
    data: Asset

    def all(self) -> list[Asset]:
        """In registration order: components need their environment."""
        return [self.environment, *self.components.values(), self.data]


def _component_entity(step: Any) -> CommandComponent:
    return getattr(step, "component", step)  # command() returns a node; its component is what gets registered


def environment_asset(spec_path: Path) -> Asset:
    """An environment YAML (image and conda file), at its version by content."""
    spec = load_environment(source=spec_path)
    conda_path = spec_path.parent / "conda.yaml"
    conda = yaml.safe_load(conda_path.read_text(encoding="utf-8"))
    versioned = environment_version(spec.name, spec.image, conda)
    environment = Environment(
        name=spec.name,
        version=versioned.version,
        image=spec.image,
        conda_file=str(conda_path),
        description=spec.description,
        tags={"content_hash": versioned.content_hash},
    )
    return Asset(versioned, environment)


def serving_environment(root: Path) -> Asset:
    """The online deployments' environment (serving/environment/), registered by content like the steps' one."""
    return environment_asset(root / "serving" / "environment" / "environment.yaml")


def release_assets(pipeline: PipelineSettings, azure: AzureSettings) -> ReleaseAssets:
    environment_asset_ = environment_asset(pipeline.components / "environment" / "environment.yaml")
    env_version = environment_asset_.versioned
    assets: dict[str, Asset] = {}
    for step, definition in components(pipeline.components).items():
        component = _component_entity(definition)
        spec = component._to_dict()  # the YAML form, with the code folder resolved (component.code may be ".")
        code = Path(spec["code"]) if spec.get("code") else None
        versioned = component_version(spec, code, env_version)
        component.version = versioned.version
        component.environment = f"azureml:{env_version.name}:{env_version.version}"
        component.tags = {**(component.tags or {}), "content_hash": versioned.content_hash}
        assets[step] = Asset(versioned, component)
    data_path = Path(pipeline.inputs["input_data"])
    data = data_version(azure.data_asset, data_path)
    data_entity = Data(
        name=data.name,
        version=data.version,
        type="uri_file",
        path=str(data_path),
        description=f"Training data, from {data_path.name}",
        tags={"content_hash": data.content_hash},
    )
    return ReleaseAssets(environment_asset_, assets, Asset(data, data_entity))
