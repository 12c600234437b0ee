"""The scoring script: Azure ML's inference server calls init() once per worker, then run() for each POST /score.

The same file is the scoring script of the project's online deployments on Azure ML (their code_configuration) and
of `python -m mlops serve` on this machine, so both answer alike. contract.py, beside it, says what they accept.
"""

import logging
import os
import sys
from pathlib import Path
from typing import Any

import mlflow.pyfunc
from azureml_inference_server_http.api.aml_response import AMLResponse

# The server loads this file by its path, so its folder is not importable yet; contract.py is uploaded beside it.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import contract

logger = logging.getLogger("azmlinfsrv.score")  # under the server's logger: in its log, locally and in Azure

model: Any = None
columns: tuple[contract.Column, ...] = ()


def find_model(root: Path) -> Path:
    """The MLflow model folder: AZUREML_MODEL_DIR itself, or the one folder in it (Azure ML keeps the registered
    folder's name there, for example model_output/)."""
    found = [path.parent for path in [root / "MLmodel", *root.glob("*/MLmodel")] if path.is_file()]
    if len(found) != 1:
        raise RuntimeError(f"expected one MLflow model (a folder with an MLmodel file) in {root}, found {len(found)}")
    return found[0]


def scikit_learn_model(loaded: Any) -> Any | None:
    """The scikit-learn estimator inside an MLflow model, or None for other flavors."""
    from sklearn.base import BaseEstimator

    try:
        raw = loaded.get_raw_model()
    except Exception:  # flavors that do not expose their model
        return None
    return raw if isinstance(raw, BaseEstimator) else None


def known_categories(loaded: Any, estimator: Any) -> dict[str, tuple[Any, ...]]:
    """Per column, the categories the model knows: what train.py saved in the model's metadata, or else what a
    one-hot encoder inside a scikit-learn model learned.

    The preprocessing would answer for a category it never saw (as "other", or without it); the contract refuses it
    instead. A column whose rare values were grouped in training has no list, and any value of its type passes.
    """
    saved = (getattr(loaded.metadata, "metadata", None) or {}).get("known_categories")
    if isinstance(saved, dict):
        return {name: tuple(values) for name, values in saved.items()}
    if estimator is None:
        return {}
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    found: dict[str, tuple[Any, ...]] = {}
    pending = [estimator]
    while pending:
        item = pending.pop()
        if isinstance(item, Pipeline):
            pending += [step for _, step in item.steps]
        elif isinstance(item, ColumnTransformer):
            for _, transformer, names in item.transformers_:
                steps = transformer.steps if isinstance(transformer, Pipeline) else [(None, transformer)]
                encoders = [step for _, step in steps if isinstance(step, OneHotEncoder)]
                if encoders and all(isinstance(name, str) for name in names):
                    for name, categories in zip(names, encoders[-1].categories_, strict=True):
                        found[name] = tuple(value for value in categories.tolist() if value == value)  # NaN aside
    return found


def input_columns(loaded: Any, categories: dict[str, tuple[Any, ...]]) -> tuple[contract.Column, ...]:
    """The model's input columns: its MLflow signature, with the categories of its categorical columns."""
    schema = loaded.metadata.get_input_schema()
    if schema is None or not schema.has_input_names() or schema.is_tensor_spec():
        raise RuntimeError("the model has no signature of named columns; save it with one (train.py does)")
    return tuple(
        contract.Column(spec.name, getattr(spec.type, "name", str(spec.type)), spec.required, categories.get(spec.name))
        for spec in schema.inputs
    )


def predict_on_one_thread(estimator: Any) -> None:
    """Turn a scikit-learn model's own parallelism off: requests are small, and the server scales with workers.

    joblib's threads cost more than they save here: 10 ms instead of 23 ms for one row through the default 200-tree
    forest, and less time for 1,000 rows too (benchmarks/bench_serving.py)."""
    estimator.set_params(**{key: 1 for key in estimator.get_params() if key.split("__")[-1] == "n_jobs"})


def init() -> None:
    global model, columns
    folder = find_model(Path(os.environ["AZUREML_MODEL_DIR"]))
    model = mlflow.pyfunc.load_model(str(folder))
    estimator = scikit_learn_model(model)
    columns = input_columns(model, known_categories(model, estimator))
    if estimator is not None:
        predict_on_one_thread(estimator)
    logger.info("model %s ready; inputs: %s", folder, ", ".join(f"{c.name} ({c.type})" for c in columns))


def run(raw_data: str) -> Any:
    try:
        rows = contract.parse_request(raw_data, columns)
    except contract.ContractError as error:
        return AMLResponse(error.body(), 400, json_str=True)
    return contract.answer(model.predict(rows))
