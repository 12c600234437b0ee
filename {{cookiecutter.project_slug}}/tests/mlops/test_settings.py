"""Per-environment Azure settings: read from config/environments.toml, IDs from the environment, clear errors; and the
model name of config/pipeline.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlops.errors import MlopsError
from mlops.settings import default_root, load_azure_settings, load_pipeline_settings

SUBSCRIPTION = "12345678-1234-1234-1234-123456789abc"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(default_root() / "config", tmp_path / "config")
    return tmp_path


def edit(root: Path, old: str, new: str) -> None:
    path = root / "config" / "environments.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_environments_differ_only_in_data(root: Path) -> None:
    dev = load_azure_settings("dev", root, {"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION, "AZURE_TENANT_ID": "t"})
    prod = load_azure_settings("prod", root, {})
    assert dev.subscription_id == SUBSCRIPTION
    assert dev.tenant_id == "t"
    assert prod.subscription_id is None
    assert dev.workspace != prod.workspace
    assert dev.workspace.endswith("-dev")
    assert prod.retraining_schedule
    assert dev.compute == prod.compute


def test_a_missing_subscription_says_how_to_set_it(root: Path) -> None:
    with pytest.raises(MlopsError, match="AZURE_SUBSCRIPTION_ID is not set: export it"):
        load_azure_settings("dev", root, {}).require_subscription()


@pytest.mark.parametrize(
    ("environment", "environ", "change", "message"),
    [
        ("stage", {}, None, "unknown environment 'stage'"),
        ("dev", {"AZURE_SUBSCRIPTION_ID": "my-subscription"}, None, "is not a subscription ID"),
        ("dev", {}, ('experiment = "', 'experiment = "" #'), "[dev] is missing experiment"),
        ("dev", {}, ('storage_account = "', 'storage_account = "Bad_'), "storage account 'Bad_"),
        ("prod", {}, ('retraining_schedule = "0 3 * * 1"', 'retraining_schedule = "weekly"'), "not a 5-field cron"),
        ("prod", {}, ('# retraining_data = "azureml:', 'retraining_data = "'), "is not a datastore path: write it as"),
        ("dev", {}, ("[dev]", "[dev"), "is not valid TOML"),
    ],
    ids=["unknown-env", "bad-subscription", "missing-key", "bad-name", "bad-cron", "bad-retraining-data", "bad-toml"],
)
def test_bad_configuration_is_one_clear_message(root: Path, environment, environ, change, message) -> None:
    if change:
        edit(root, *change)
    with pytest.raises(MlopsError, match=message.replace("[", r"\[")):
        load_azure_settings(environment, root, environ)


def set_model_name(root: Path, line: str) -> None:
    path = root / "config" / "pipeline.toml"
    text = path.read_text(encoding="utf-8")
    assert "\n# name = " in text
    path.write_text(text.replace("\n# name = ", f"\n{line}", 1), encoding="utf-8")


def test_each_dataset_and_target_gets_its_own_model_name(root: Path) -> None:
    settings = load_pipeline_settings(root)
    assert settings.model_name == "penguins-species"
    assert settings.model_name_for({}) == "penguins-species"
    assert settings.model_name_for({"input_data": "/data/Customer Churn (2024).csv"}) == "customer-churn-2024-species"
    assert settings.model_name_for({"target_column": "body_mass_g"}) == "penguins-body-mass-g"


def test_a_model_name_in_config_is_kept_for_any_data(root: Path) -> None:
    set_model_name(root, 'name = "churn.v2"  # ')
    settings = load_pipeline_settings(root)
    assert settings.model_name_for({"input_data": "other.csv"}) == settings.model_name == "churn.v2"


def test_an_invalid_model_name_is_one_clear_message(root: Path) -> None:
    set_model_name(root, 'name = "my model"  # ')
    with pytest.raises(MlopsError, match="name 'my model' is not a model name: up to 255 letters, digits"):
        load_pipeline_settings(root)
