"""The three components as Azure ML reads them, loaded offline with the real SDK, against the pipeline's contract."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from azure.ai.ml import load_component
from azure.ai.ml.entities import CommandComponent
from component import data_prep_component

from .conftest import COMPONENTS

ENVIRONMENT = COMPONENTS / "environment"
PROJECT = COMPONENTS.parent
# "--flag <placeholder of an input or output>", optionally inside Azure ML's $[[ ]] for optional inputs.
ARGUMENT = re.compile(r"(\$\[\[)?--(\w+) \$\{\{(inputs|outputs)\.(\w+)\}\}(\]\])?")

# Per input (type, default, min, max) and per output its type: the pipeline and the local runner rely on these.
CONTRACT = {
    "data_prep": {
        "script": "prep.py",
        "inputs": {
            "input_data": ("uri_file", None, None, None),
            "target_column": ("string", "species", None, None),
            "task": ("string", "classification", None, None),
            "feature_columns": ("string", None, None, None),
            "drop_columns": ("string", None, None, None),
            "delimiter": ("string", "auto", None, None),
            "encoding": ("string", "auto", None, None),
            "max_classes": ("integer", 50, 2, 1000),
            "test_size": ("number", 0.2, 0.05, 0.5),
            "seed": ("integer", 42, None, None),
        },
        "outputs": {"prepped_data": "uri_folder"},
    },
    "train": {
        "script": "train.py",
        "inputs": {
            "prepped_data": ("uri_folder", None, None, None),
            "algorithm": ("string", "hist_gradient_boosting", None, None),
            "n_estimators": ("integer", 100, 10, 2000),
            "max_depth": ("integer", 10, 1, 100),
            "class_weight": ("string", "balanced", None, None),
            "seed": ("integer", 42, None, None),
        },
        "outputs": {"model_output": "mlflow_model"},
    },
    "evaluate": {
        "script": "evaluate.py",
        "inputs": {
            "model": ("mlflow_model", None, None, None),
            "prepped_data": ("uri_folder", None, None, None),
            "primary_metric": ("string", "auto", None, None),
            "threshold": ("number", None, 0, 1),
            "min_improvement": ("number", 0.01, 0, 1),
            "baseline_model": ("mlflow_model", None, None, None),
        },
        "outputs": {"evaluation": "uri_folder"},
    },
}
OPTIONAL = {
    ("data_prep", "feature_columns"),
    ("data_prep", "drop_columns"),
    ("evaluate", "threshold"),
    ("evaluate", "baseline_model"),
}
# Choices a step accepts, checked against the script's own table so spec and script cannot drift apart.
ENUMS = {
    ("data_prep", "task"): ["classification", "regression", "auto"],
    ("data_prep", "delimiter"): ["auto", "comma", "semicolon", "tab", "pipe"],
    ("train", "algorithm"): ["hist_gradient_boosting", "random_forest"],
    ("train", "class_weight"): ["balanced", "none"],
    ("evaluate", "primary_metric"): ["auto", "f1_macro", "balanced_accuracy", "accuracy", "roc_auc_ovr", "r2"],
}


def load(name: str) -> CommandComponent:
    if name == "data_prep":
        return data_prep_component().component
    return load_component(source=COMPONENTS / name / f"{name}.yaml")


@pytest.mark.parametrize("name", list(CONTRACT))
def test_component_matches_the_contract(name: str) -> None:
    component, contract = load(name), CONTRACT[name]
    assert component.name == name
    assert component._validate().passed
    assert Path(component.base_path, component.code).resolve() == COMPONENTS / name
    inputs = {
        key: (value.type, value.default, getattr(value, "min", None), getattr(value, "max", None))
        for key, value in component.inputs.items()
    }
    assert inputs == contract["inputs"]
    assert {key: bool(value.optional) for key, value in component.inputs.items()} == {
        key: (name, key) in OPTIONAL for key in contract["inputs"]
    }
    assert {key: value.type for key, value in component.outputs.items()} == contract["outputs"]


@pytest.mark.parametrize("name", list(CONTRACT))
def test_command_passes_every_input_and_output_to_the_script_under_its_own_name(name: str) -> None:
    component, contract = load(name), CONTRACT[name]
    assert component.command.startswith(f"python {contract['script']} --")
    arguments = ARGUMENT.findall(component.command)
    assert len(arguments) == component.command.count("--")
    assert [flag for _, flag, _, _, _ in arguments] == [key for _, _, _, key, _ in arguments]
    assert {key for _, _, kind, key, _ in arguments if kind == "inputs"} == set(contract["inputs"])
    assert {key for _, _, kind, key, _ in arguments if kind == "outputs"} == set(contract["outputs"])
    assert {(name, key) for opening, _, _, key, closing in arguments if opening and closing} == {
        (name, key) for key in contract["inputs"] if (name, key) in OPTIONAL
    }
    script = (COMPONENTS / name / contract["script"]).read_text(encoding="utf-8")
    for _, flag, _, _, _ in arguments:
        assert f'add_argument("--{flag}"' in script


@pytest.mark.parametrize(("step", "name"), list(ENUMS))
def test_choices_match_what_the_script_accepts(step: str, name: str) -> None:
    import evaluate
    import prep
    import train

    assert load(step).inputs[name].enum == ENUMS[(step, name)]
    accepted = {
        ("data_prep", "task"): list(prep.TASKS),
        ("data_prep", "delimiter"): ["auto", *prep.DELIMITERS],
        ("train", "algorithm"): list(train.ALGORITHMS),
        ("train", "class_weight"): list(train.CLASS_WEIGHTS),
        ("evaluate", "primary_metric"): ["auto", *evaluate.METRICS],
    }[(step, name)]
    assert accepted == ENUMS[(step, name)]


def test_all_steps_share_one_environment() -> None:
    spec = yaml.safe_load((ENVIRONMENT / "environment.yaml").read_text(encoding="utf-8"))
    conda = yaml.safe_load((ENVIRONMENT / spec["conda_file"]).read_text(encoding="utf-8"))
    assert re.fullmatch(r"mcr\.microsoft\.com/azureml/[\w.-]+:\d{8}\.v\d+", spec["image"]), "use a dated tag"
    for name in CONTRACT:
        environment = load(name).environment
        assert (environment.image, environment.conda_file) == (spec["image"], conda), name
    for name in ("train", "evaluate"):
        raw = yaml.safe_load((COMPONENTS / name / f"{name}.yaml").read_text(encoding="utf-8"))["environment"]
        assert (COMPONENTS / name / raw["conda_file"]).resolve() == ENVIRONMENT / spec["conda_file"]


def test_conda_environment_matches_the_project() -> None:
    """The steps' environment on Azure ML pins what pyproject.toml pins, on the project's Python version."""
    conda = yaml.safe_load((ENVIRONMENT / "conda.yaml").read_text(encoding="utf-8"))
    python = (PROJECT / ".python-version").read_text(encoding="utf-8").strip()
    assert f"python={python}" in conda["dependencies"]
    pip = next(item["pip"] for item in conda["dependencies"] if isinstance(item, dict))
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    assert all(re.fullmatch(r"[\w.-]+==[\w.]+", pin) for pin in pip)
    assert set(pip) <= set(project), set(pip) - set(project)
    assert {"pandas", "scikit-learn", "mlflow"} <= {pin.split("==")[0] for pin in pip}


@pytest.mark.parametrize("name", list(CONTRACT))
def test_scripts_do_not_need_the_azure_sdk(name: str) -> None:
    """Only component.py uses azure-ai-ml: the steps run in an environment without it."""
    script = (COMPONENTS / name / CONTRACT[name]["script"]).read_text(encoding="utf-8")
    assert not re.search(r"^\s*(import|from) azure", script, re.MULTILINE)
