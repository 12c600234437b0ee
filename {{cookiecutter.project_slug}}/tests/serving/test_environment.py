"""The online deployments' environment and code folder, as Azure ML will read them."""

from __future__ import annotations

import tomllib

import yaml

from mlops.versions import code_files

from .conftest import PROJECT

SERVING = PROJECT / "serving"


def test_serving_environment_pins_what_the_project_pins() -> None:
    conda = yaml.safe_load((SERVING / "environment" / "conda.yaml").read_text(encoding="utf-8"))
    python = (PROJECT / ".python-version").read_text(encoding="utf-8").strip()
    assert f"python={python}" in conda["dependencies"]
    pip = next(item["pip"] for item in conda["dependencies"] if isinstance(item, dict))
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    assert set(pip) <= set(project), set(pip) - set(project)
    # What score.py imports, and what the model's own requirements.txt names (skops comes with mlflow).
    assert {"azureml-inference-server-http", "mlflow", "pandas", "scikit-learn"} <= {p.split("==")[0] for p in pip}


def test_serving_uses_the_steps_base_image() -> None:
    serving = yaml.safe_load((SERVING / "environment" / "environment.yaml").read_text(encoding="utf-8"))
    steps = yaml.safe_load((PROJECT / "components" / "environment" / "environment.yaml").read_text(encoding="utf-8"))
    assert serving["image"] == steps["image"]
    assert (SERVING / "environment" / serving["conda_file"]).is_file()


def test_the_deployment_code_is_the_scoring_script_and_its_contract() -> None:
    """What Azure ML uploads from serving/ (minus .amlignore): the environment is built separately."""
    assert {relative for relative, _ in code_files(SERVING)} == {".amlignore", "contract.py", "score.py"}
