"""`mlops smoke`: send sample requests to a scoring URL and check the answers against the scoring contract.

The same check runs against the local server (`make serve`) and against a new Azure ML deployment before it takes
traffic: call smoke() with the deployment's scoring URI, its `azureml-model-deployment` header and a bearer token.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlops.errors import MlopsError
from mlops.settings import PipelineSettings
from serving import contract

SAMPLE_ROWS = 5
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class SmokeFailure(MlopsError):
    """The server is down, refused the sample, or answered outside the contract: the deployment is not fit."""

    exit_code = 1


@dataclass(frozen=True)
class Expectation:
    """What each prediction must be: one of the training data's labels, or a finite number."""

    task: str  # classification or regression
    labels: tuple[Any, ...] = ()

    def problem(self, prediction: Any) -> str | None:
        if self.task == "classification":
            if prediction in self.labels:
                return None
            return f"{json.dumps(prediction)} is not one of the labels {', '.join(map(str, self.labels))}"
        number = isinstance(prediction, int | float) and not isinstance(prediction, bool)
        return None if number and math.isfinite(prediction) else f"{json.dumps(prediction)} is not a finite number"


@dataclass(frozen=True)
class Check:
    name: str
    status: int
    milliseconds: float
    detail: str


@dataclass(frozen=True)
class SmokeResult:
    url: str
    checks: tuple[Check, ...]


def _training_data(settings: PipelineSettings):
    """The training data (config/pipeline.toml's input_data), read as the data_prep step reads it (delimiter and
    encoding detected or as set), or one error line saying why it cannot be read."""
    import importlib.util

    script = settings.components / "data_prep" / "prep.py"
    spec = importlib.util.spec_from_file_location("data_prep_script", script)
    prep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prep)
    path = settings.inputs["input_data"]
    try:
        return prep.read_dataset(
            path, settings.inputs.get("delimiter", "auto"), settings.inputs.get("encoding", "auto")
        ).frame
    except (OSError, ValueError) as error:  # prep's DataError is a ValueError: its message says the fix
        raise MlopsError(
            f"cannot read the training data {path} ({str(error).strip().splitlines()[-1]}): the smoke test takes its "
            "sample rows and labels from it; fix input_data in config/pipeline.toml"
        ) from None


def expectation(settings: PipelineSettings) -> Expectation:
    """From config/pipeline.toml's task and the labels in the training data's target column."""
    task, target = settings.inputs.get("task", "classification"), settings.inputs.get("target_column")
    if task != "classification":
        return Expectation(task)
    frame = _training_data(settings)
    if target not in frame.columns:
        raise MlopsError(
            f"cannot read the training data's labels: {settings.inputs['input_data']} has no column '{target}'; "
            "fix target_column in config/pipeline.toml"
        )
    labels = frame[target].dropna().unique().tolist()
    return Expectation(task, tuple(sorted(labels, key=str)))


def sample_request(settings: PipelineSettings, rows: int = SAMPLE_ROWS) -> dict[str, Any]:
    """A request of the training data's first rows without the target, gaps included (sent as null)."""
    frame = _training_data(settings).head(rows)
    return contract.request_body(frame.drop(columns=[settings.inputs.get("target_column")], errors="ignore"))


def read_request(path: Path) -> dict[str, Any]:
    try:
        request = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MlopsError(f"request file {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MlopsError(f"request file {path} is not JSON ({error})") from None
    rows = (request.get("input_data") or {}).get("data") if isinstance(request, dict) else None
    if not isinstance(rows, list) or not rows:
        raise MlopsError(f"request file {path} is not a scoring request: {contract.EXAMPLE}")
    return request


def _reason(error: Exception) -> str:
    """The useful end of a requests error ("Connection refused"), not its pool and retry preamble."""
    found = re.findall(r"\[Errno -?\d+\] ([^'\")]+)|(certificate verify failed[^'\")]*)", str(error))
    return next((part for match in found for part in match if part), type(error).__name__)


def _post(url: str, body: Any, headers: Mapping[str, str], timeout: float) -> tuple[int, Any, str, float]:
    """Status, JSON payload (None if not JSON), text and milliseconds of one POST; SmokeFailure if nothing answers."""
    import requests

    direct = {"http": None, "https": None} if urlsplit(url).hostname in LOOPBACK else None  # no proxy to ourselves
    start = time.perf_counter()
    try:
        response = requests.post(
            url, json=body, headers={"Content-Type": "application/json", **headers}, timeout=timeout, proxies=direct
        )
    except requests.exceptions.SSLError as error:
        raise SmokeFailure(
            f"TLS to {url} failed ({_reason(error)}); a private certificate authority goes in REQUESTS_CA_BUNDLE"
        ) from None
    except requests.ConnectionError as error:
        raise SmokeFailure(
            f"nothing answers at {url} ({_reason(error)}): is the server running? `make serve` starts the local one"
        ) from None
    except requests.Timeout:
        raise SmokeFailure(f"{url} did not answer within {timeout:g} s") from None
    except requests.RequestException as error:
        raise SmokeFailure(f"cannot send a request to {url}: {error}") from None
    milliseconds = (time.perf_counter() - start) * 1000
    try:
        payload = response.json()
    except ValueError:
        payload = None
    return response.status_code, payload, response.text, milliseconds


def _said(payload: Any, text: str) -> str:
    message = payload.get("message") if isinstance(payload, dict) else None
    return str(message) if message else (text.strip()[:300] or "an empty body")


def smoke(
    url: str,
    request: Mapping[str, Any],
    expect: Expectation,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30,
    probe: bool = True,
) -> SmokeResult:
    """Send ``request``: expect 200 and one valid prediction per row. With ``probe``, also send a request without
    columns: expect a 4xx that names a missing column (the contract's refusal, not a server error)."""
    headers = dict(headers or {})
    rows = len(request["input_data"]["data"])
    status, payload, text, milliseconds = _post(url, request, headers, timeout)
    if status != 200:
        hint = " (check the token and the deployment header)" if status in {401, 403} else ""
        raise SmokeFailure(f"{url} answered {status} to the sample request{hint}: {_said(payload, text)}")
    if payload is None:
        raise SmokeFailure(f"{url} answered 200, but not with JSON: {_said(payload, text)}")
    try:
        predictions = contract.read_answer(payload, rows)
    except contract.ContractError as error:
        raise SmokeFailure(f"{url} answered 200 outside the contract: {error}") from None
    for index, prediction in enumerate(predictions):
        if problem := expect.problem(prediction):
            raise SmokeFailure(f"{url} answered 200, but prediction {index} of {rows} {problem}")
    shown = ", ".join(map(str, predictions[:5])) + (", ..." if rows > 5 else "")
    kind = "labels" if expect.task == "classification" else "finite numbers"
    checks = [Check(f"{rows} rows", status, milliseconds, f"{rows} predictions, all {kind}: {shown}")]

    if probe:
        without_columns = {"input_data": {"columns": [], "data": [[]]}}
        status, payload, text, milliseconds = _post(url, without_columns, headers, timeout)
        column = payload.get("column") if isinstance(payload, dict) else None
        if not 400 <= status < 500 or not column:
            raise SmokeFailure(
                f"{url} answered {status} to a request without columns: expected 400 naming a missing column, "
                f"as serving/contract.py says; it said: {_said(payload, text)}"
            )
        checks.append(Check("no columns", status, milliseconds, f"refused, naming the missing column '{column}'"))
    return SmokeResult(url, tuple(checks))
