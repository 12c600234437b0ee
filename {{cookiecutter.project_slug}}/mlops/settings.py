"""The project's settings, read once from ``config/`` into frozen objects that commands receive.

Values are data: code never branches on an environment's name. The project root is a parameter everywhere (the
CLI passes the folder it belongs to), so tests point the code at a temporary project without moving processes.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops import naming
from mlops.errors import MlopsError


def default_root() -> Path:
    """The project this package belongs to: what the CLI works on unless told otherwise."""
    return Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class PipelineSettings:
    inputs: Mapping[str, Any]  # the pipeline's input values; input_data as an absolute path
    model_name: str  # [model] name, or derived from input_data and target_column when that is unset
    root: Path
    model_name_derived: bool = False  # then a run on other data (--set input_data=...) gets its own name too

    def model_name_for(self, overrides: Mapping[str, Any]) -> str:
        """The name a run with these input overrides registers its model under."""
        if not self.model_name_derived:
            return self.model_name
        inputs = {**self.inputs, **overrides}
        return derived_model_name(str(inputs["input_data"]), str(inputs.get("target_column", "")))

    @property
    def components(self) -> Path:
        """The pipeline's steps, one folder each, and their shared environment."""
        return self.root / "components"

    @property
    def mlruns(self) -> Path:
        """The project's one local MLflow store (git-ignored): `mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db`."""
        return self.root / "mlruns"


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MlopsError(f"{path} is missing: restore it from git or regenerate the project") from None
    except tomllib.TOMLDecodeError as error:
        raise MlopsError(f"{path} is not valid TOML: {error}") from None


# A model name as Azure ML accepts it: the pattern azure-ai-ml's model data-plane client checks (models/{name}).
MODEL_NAME = re.compile(r"(?![-_.])[A-Za-z0-9_.-]{1,255}(?<!\.)")


def derived_model_name(input_data: str, target_column: str) -> str:
    """One model name per dataset and target, valid in Azure ML: data/penguins.csv and species give penguins-species."""
    name = re.sub(r"[^a-z0-9]+", "-", f"{Path(input_data).stem}-{target_column}".lower()).strip("-")
    return name[:255].strip("-") or "model"


def load_pipeline_settings(root: Path) -> PipelineSettings:
    path = root / "config" / "pipeline.toml"
    data = read_toml(path)
    inputs = data.get("inputs")
    name = (data.get("model") or {}).get("name")
    if not isinstance(inputs, dict) or "input_data" not in inputs:
        raise MlopsError(f"{path} needs an [inputs] table with at least input_data (the CSV to train on)")
    if name is not None and (not isinstance(name, str) or not MODEL_NAME.fullmatch(name)):
        raise MlopsError(
            f"{path} [model] name {name!r} is not a model name: up to 255 letters, digits, '-', '_' and '.', starting "
            "with a letter or digit, not ending with '.'. Correct it, or remove it to name models after the data and "
            "target"
        )
    derived = name is None
    if derived:
        name = derived_model_name(inputs["input_data"], str(inputs.get("target_column", "")))
    absolute = {**inputs, "input_data": str((root / inputs["input_data"]).resolve())}
    return PipelineSettings(absolute, name, root, model_name_derived=derived)


@dataclass(frozen=True)
class EndpointSettings:
    """How `mlops deploy` serves a model in one environment: the endpoint, its instances, and the rollout."""

    name: str
    instance_type: str = "Standard_DS3_v2"
    instance_count: int = 1
    traffic_steps: tuple[int, ...] = (100,)  # percent of live traffic for the new deployment, ending at 100
    step_seconds: float = 0
    mirror_percent: int = 0
    keep_previous_seconds: float = 0
    delete_after_smoke: bool = False


@dataclass(frozen=True)
class AzureSettings:
    """One environment's Azure workspace and what the pipeline uses in it."""

    environment: str
    subscription_id: str | None  # None only where no Azure call is made (validate, --dry-run)
    tenant_id: str | None
    resource_group: str
    workspace: str
    location: str
    compute: str
    experiment: str
    data_asset: str
    retraining_schedule: str | None
    retraining_data: str | None  # a datastore path a scheduled run reads afresh (its data pipeline refreshes it)
    ml_registry: str | None  # set when models move to prod through an Azure ML registry
    storage_account: str | None = None  # the workspace's default storage, named in permission errors
    endpoint: EndpointSettings | None = None  # None: this environment serves no model

    def require_subscription(self) -> str:
        if not self.subscription_id:
            raise MlopsError(
                "AZURE_SUBSCRIPTION_ID is not set: export it (az account show --query id -o tsv), "
                "or in CI set it as a repository or pipeline variable"
            )
        return self.subscription_id


SUBSCRIPTION = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
DATASTORE_PATH = "azureml://datastores/"
REQUIRED = ("resource_group", "workspace", "location", "compute_cluster", "experiment", "data_asset")


def load_azure_settings(environment: str, root: Path, environ: Mapping[str, str] = os.environ) -> AzureSettings:
    """Read config/environments.toml for one environment; subscription and tenant come from the environment."""
    path = root / "config" / "environments.toml"
    data = read_toml(path)
    environments = sorted(k for k, v in data.items() if isinstance(v, dict))
    if environment not in environments:
        raise MlopsError(f"unknown environment '{environment}': {path} defines {', '.join(environments)}")
    table = data[environment]
    missing = [key for key in REQUIRED if not isinstance(table.get(key), str) or not table[key]]
    if missing:
        raise MlopsError(f"{path} [{environment}] is missing {', '.join(missing)}")
    names = {kind: table[kind] for kind in naming.RULES if kind in table}
    if problems := naming.name_problems(names):
        raise MlopsError(f"{path} [{environment}]: {problems[0]}")
    subscription = environ.get("AZURE_SUBSCRIPTION_ID") or None
    if subscription and not SUBSCRIPTION.fullmatch(subscription):
        raise MlopsError(f"AZURE_SUBSCRIPTION_ID '{subscription}' is not a subscription ID (a GUID)")
    schedule = table.get("retraining_schedule") or None
    if schedule is not None and len(schedule.split()) != 5:
        raise MlopsError(f"{path} [{environment}] retraining_schedule '{schedule}' is not a 5-field cron expression")
    retraining_data = table.get("retraining_data") or None
    if retraining_data is not None and not str(retraining_data).startswith(DATASTORE_PATH):
        raise MlopsError(
            f"{path} [{environment}] retraining_data '{retraining_data}' is not a datastore path: "
            f"write it as {DATASTORE_PATH}<datastore>/paths/<folder>/<file>.csv"
        )
    return AzureSettings(
        environment=environment,
        subscription_id=subscription,
        tenant_id=environ.get("AZURE_TENANT_ID") or None,
        resource_group=table["resource_group"],
        workspace=table["workspace"],
        location=table["location"],
        compute=table["compute_cluster"],
        experiment=table["experiment"],
        data_asset=table["data_asset"],
        retraining_schedule=schedule,
        retraining_data=retraining_data,
        ml_registry=table.get("ml_registry"),
        storage_account=table.get("storage_account"),
        endpoint=_endpoint(table, f"{path} [{environment}.endpoint]"),
    )


def _whole(value: object) -> bool:
    """A TOML integer: true and false are ints to Python, not to a user."""
    return isinstance(value, int) and not isinstance(value, bool)


def _endpoint(table: Mapping[str, Any], where: str) -> EndpointSettings | None:
    """The [ENV.endpoint] table, checked: a rollout that cannot work is refused before anything is deployed."""
    name = table.get("online_endpoint")
    options = table.get("endpoint") or {}
    if not name:
        return None
    if not isinstance(options, dict):
        raise MlopsError(f"{where} must be a table")
    unknown = set(options) - {f.name for f in dataclasses.fields(EndpointSettings)}
    if unknown:
        raise MlopsError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    endpoint = EndpointSettings(name=name, **{**options, "traffic_steps": tuple(options.get("traffic_steps", (100,)))})
    steps = endpoint.traffic_steps
    if not steps or any(not _whole(s) or not 0 < s <= 100 for s in steps) or list(steps) != sorted(set(steps)):
        raise MlopsError(f"{where} traffic_steps {list(steps)}: expected rising percentages, for example [10, 50, 100]")
    if steps[-1] != 100:
        raise MlopsError(f"{where} traffic_steps {list(steps)} must end at 100: the new model takes all traffic")
    if not isinstance(endpoint.instance_type, str) or not endpoint.instance_type.strip():
        raise MlopsError(f"{where} instance_type {endpoint.instance_type!r}: expected a VM size, like Standard_DS3_v2")
    if not _whole(endpoint.instance_count) or endpoint.instance_count < 1:
        raise MlopsError(f"{where} instance_count {endpoint.instance_count!r}: expected a whole number of at least 1")
    if not _whole(endpoint.mirror_percent) or not 0 <= endpoint.mirror_percent <= 50:
        raise MlopsError(f"{where} mirror_percent {endpoint.mirror_percent!r}: Azure ML mirrors 0 to 50 percent")
    if not isinstance(endpoint.delete_after_smoke, bool):
        raise MlopsError(f"{where} delete_after_smoke {endpoint.delete_after_smoke!r}: expected true or false")
    for key in ("step_seconds", "keep_previous_seconds"):
        value = getattr(endpoint, key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise MlopsError(f"{where} {key} {value!r}: expected seconds, 0 or more")
    return endpoint
