"""`mlops smoke` against an in-process fake scoring server (a test double: stdlib HTTP on 127.0.0.1, scripted
answers), through smoke() and through the CLI: what passes, and one clear error for each way a deployment fails.
tests/serving/test_server.py runs the same check against the real inference server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from mlops.commands.smoke import Expectation, SmokeFailure, expectation, sample_request, smoke
from mlops.errors import MlopsError
from mlops.local.server import free_port
from mlops.settings import default_root, load_pipeline_settings
from tests.conftest import run_main

LABELS = Expectation("classification", ("Adelie", "Chinstrap", "Gentoo"))
REQUEST = {"input_data": {"columns": ["island", "year"], "data": [["Dream", 2007], ["Biscoe", 2008]]}}
GOOD = (200, {"predictions": ["Adelie", "Gentoo"]})
REFUSAL = (400, {"message": "missing column 'island'", "column": "island"})


@dataclass
class FakeScoring:
    """Answers each POST with the next scripted (status, body); records what it received."""

    url: str = ""
    answers: list[tuple[int, object]] = field(default_factory=list)
    received: list[tuple[dict[str, str], object]] = field(default_factory=list)


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeScoring]:
    scoring = FakeScoring()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            text = self.rfile.read(int(self.headers["Content-Length"])).decode()
            scoring.received.append((dict(self.headers), json.loads(text)))
            status, body = scoring.answers.pop(0)
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    scoring.url = f"http://127.0.0.1:{server.server_address[1]}/score"
    yield scoring
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake(fake_server: FakeScoring) -> FakeScoring:
    fake_server.answers.clear()
    fake_server.received.clear()
    return fake_server


def test_a_good_deployment_passes_and_latency_is_measured(fake: FakeScoring) -> None:
    fake.answers = [GOOD, REFUSAL]
    headers = {"azureml-model-deployment": "blue", "Authorization": "Bearer t0ken"}
    result = smoke(fake.url, REQUEST, LABELS, headers=headers)
    assert [(check.status, check.name) for check in result.checks] == [(200, "2 rows"), (400, "no columns")]
    assert all(check.milliseconds > 0 for check in result.checks)
    assert "Adelie, Gentoo" in result.checks[0].detail
    assert "'island'" in result.checks[1].detail
    (sent_headers, sent), (_, probe) = fake.received
    assert sent == REQUEST
    assert probe == {"input_data": {"columns": [], "data": [[]]}}
    assert sent_headers["azureml-model-deployment"] == "blue"
    assert sent_headers["Authorization"] == "Bearer t0ken"
    assert sent_headers["Content-Type"] == "application/json"


def test_regression_takes_finite_numbers(fake: FakeScoring) -> None:
    fake.answers = [(200, {"predictions": [151.2, 75]})]
    assert smoke(fake.url, REQUEST, Expectation("regression"), probe=False).checks[0].status == 200


FAILURES = [
    ([(500, {"message": "An unexpected error occurred in scoring script."})], LABELS, "answered 500 to the sample"),
    ([(401, {"message": "Unauthorized"})], LABELS, "check the token and the deployment header"),
    ([(400, {"message": "missing column 'sex'", "column": "sex"})], LABELS, "answered 400 to the sample"),
    ([(200, "<html>hello</html>")], LABELS, "not with JSON: <html>hello</html>"),
    ([(200, ["Adelie", "Gentoo"])], LABELS, 'outside the contract: the answer is not {"predictions"'),
    ([(200, {"predictions": ["Adelie"]})], LABELS, "1 predictions for 2 rows"),
    ([(200, {"predictions": ["Adelie", "Emperor"]})], LABELS, 'prediction 1 of 2 "Emperor" is not one of the labels'),
    ([(200, {"predictions": [1.5, None]})], Expectation("regression"), "prediction 1 of 2 null is not a finite"),
    ([(200, {"predictions": [1.5, "2"]})], Expectation("regression"), 'prediction 1 of 2 "2" is not a finite number'),
    ([GOOD, (200, {"predictions": []})], LABELS, "answered 200 to a request without columns: expected 400"),
    ([GOOD, (500, {"message": "boom"})], LABELS, "answered 500 to a request without columns"),
    ([GOOD, (400, {"message": "bad request"})], LABELS, "naming a missing column"),
]


@pytest.mark.parametrize(("answers", "expect", "message"), FAILURES)
def test_each_failure_is_one_clear_error(fake: FakeScoring, answers, expect: Expectation, message: str) -> None:
    fake.answers = answers
    with pytest.raises(SmokeFailure) as failure:
        smoke(fake.url, REQUEST, expect)
    assert message in str(failure.value)
    assert fake.url in str(failure.value)


def test_a_server_that_is_down_is_named() -> None:
    url = f"http://127.0.0.1:{free_port()}/score"
    with pytest.raises(SmokeFailure, match=r"nothing answers at .* \(Connection refused\): is the server running"):
        smoke(url, REQUEST, LABELS)


def test_the_sample_is_the_datas_first_rows_without_the_target() -> None:
    settings = load_pipeline_settings(default_root())
    request = sample_request(settings, rows=4)["input_data"]
    csv = pd.read_csv(default_root() / "data" / "penguins.csv", nrows=4)
    assert request["columns"] == [name for name in csv.columns if name != "species"]
    assert request["data"][0][request["columns"].index("island")] == csv["island"][0]
    assert None in request["data"][3]  # the fourth penguin was not measured: gaps go as null


def test_labels_come_from_the_training_data(tmp_path: Path) -> None:
    settings = load_pipeline_settings(default_root())
    csv = tmp_path / "data.csv"
    csv.write_text("colour,size\nred,1\nblue,2\n,3\nred,4\n")
    inputs = {**settings.inputs, "input_data": str(csv), "target_column": "colour"}
    assert expectation(type(settings)(inputs, settings.model_name, settings.root)) == Expectation(
        "classification", ("blue", "red")
    )
    regression = {**inputs, "task": "regression", "target_column": "size"}
    assert expectation(type(settings)(regression, settings.model_name, settings.root)) == Expectation("regression")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"input_data": "/nowhere/data.csv"}, "cannot read the training data /nowhere/data.csv"),
        ({"target_column": "colour"}, "has no column 'colour'; fix target_column"),
    ],
)
def test_unreadable_training_data_is_a_user_error(inputs: dict, message: str) -> None:
    settings = load_pipeline_settings(default_root())
    broken = type(settings)({**settings.inputs, **inputs}, settings.model_name, settings.root)
    with pytest.raises(MlopsError, match=message):
        expectation(broken)
    if "input_data" in inputs:
        with pytest.raises(MlopsError, match=message):
            sample_request(broken)


def cli(capsys, *args: str):
    return run_main(capsys, "smoke", *args)


def test_cli_prints_each_check_and_its_latency(fake: FakeScoring, capsys) -> None:
    fake.answers = [(200, {"predictions": ["Adelie"] * 5}), REFUSAL]
    result = cli(capsys, "--url", fake.url, "--header", "azureml-model-deployment: green")
    assert result.returncode == 0, result.stderr
    assert "✓ 5 rows" in result.stdout
    assert " ms: " in result.stdout
    assert "✓ no columns" in result.stdout
    assert result.stdout.rstrip().endswith("answers as serving/contract.py says")
    assert fake.received[0][0]["azureml-model-deployment"] == "green"


def test_cli_reads_the_token_from_the_environment(fake: FakeScoring, capsys, monkeypatch) -> None:
    fake.answers = [(200, {"predictions": ["Adelie"]}), REFUSAL]
    monkeypatch.setenv("SCORING_TOKEN", "s3cret")
    result = cli(capsys, "--url", fake.url, "--token-env", "SCORING_TOKEN", "--rows", "1")
    assert result.returncode == 0, result.stderr
    assert fake.received[0][0]["Authorization"] == "Bearer s3cret"
    assert "s3cret" not in result.stdout + result.stderr


def test_cli_sends_a_request_file(fake: FakeScoring, capsys, tmp_path: Path) -> None:
    fake.answers = [GOOD, REFUSAL]
    (tmp_path / "request.json").write_text(json.dumps(REQUEST))
    assert cli(capsys, "--url", fake.url, "--request", str(tmp_path / "request.json")).returncode == 0
    assert fake.received[0][1] == REQUEST


@pytest.mark.parametrize(
    ("arguments", "message", "code"),
    [
        (lambda url: ["--url", url], "answered 500 to the sample request: boom", 1),
        (lambda url: ["--url", url, "--token-env", "NO_SUCH_VARIABLE"], "NO_SUCH_VARIABLE: that environment", 2),
        (lambda url: ["--url", url, "--request", "nowhere.json"], "request file nowhere.json does not exist", 2),
    ],
)
def test_cli_failures_are_one_error_line(fake: FakeScoring, capsys, arguments: Callable, message: str, code: int):
    fake.answers = [(500, {"message": "boom"})]
    result = cli(capsys, *arguments(fake.url))
    assert result.returncode == code
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert message in errors[0]
    assert "Traceback" not in result.stderr


def test_cli_refuses_a_header_without_a_colon(capsys) -> None:
    with pytest.raises(SystemExit):
        cli(capsys, "--url", "http://127.0.0.1:1/score", "--header", "no-colon")
    assert "expected 'NAME: VALUE'" in capsys.readouterr().err


def test_the_sample_is_read_as_data_prep_reads_it(tmp_path: Path) -> None:
    """A semicolon file in Windows' encoding, with decimal commas: the sample the deployment gets is what it serves."""
    settings = load_pipeline_settings(default_root())
    csv = tmp_path / "data.csv"
    csv.write_bytes("colour;size\nrouge vif;1,5\nbleu;2,0\n".encode("cp1252"))
    inputs = {**settings.inputs, "input_data": str(csv), "target_column": "colour", "delimiter": "auto"}
    request = sample_request(type(settings)({**inputs, "encoding": "auto"}, settings.model_name, settings.root))
    assert request["input_data"] == {"columns": ["size"], "data": [[1.5], [2.0]]}
