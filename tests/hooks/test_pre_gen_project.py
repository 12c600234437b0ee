"""The pre-generation hook's rules, called directly (the unrendered hook is plain Python)."""

import json

import pytest

from tests.conftest import TEMPLATE, pre_gen, resolve_answers

VALID = resolve_answers()


def test_default_answers_are_valid() -> None:
    assert pre_gen.problems(VALID, []) == []


def test_supported_python_versions_are_the_prompt_choices() -> None:
    choices = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))["python_version"]
    assert tuple(choices) == pre_gen.SUPPORTED_PYTHON


@pytest.mark.parametrize(
    ("answer", "value", "expected"),
    [
        ("project_name", "   ", "project_name is empty"),
        ("project_slug", "1model", "project_slug '1model' is not a valid Python package name"),
        ("project_slug", "my-model", "project_slug 'my-model'"),
        ("project_slug", "class", "Python keyword"),
        ("project_slug", "json", "standard-library module"),
        ("project_slug", "Model", "lowercase"),
        ("python_version", "3.9", "python_version '3.9' is not one of 3.11, 3.12, 3.13"),
        ("ci_platform", "jenkins", "ci_platform 'jenkins' is not one of github, azure_devops, both"),
        ("use_registry", "maybe", "use_registry 'maybe'"),
        ("azure_location", "West Europe", "did you mean 'westeurope'?"),
        ("azure_location", "mars", "for example 'westeurope'"),
    ],
)
def test_each_rule_names_the_answer_and_a_fix(answer: str, value: str, expected: str) -> None:
    found = pre_gen.problems({**VALID, answer: value}, [])
    assert len(found) == 1
    assert expected in found[0]
    assert "example" in found[0] or "did you mean" in found[0]


def test_prefix_problems_are_reported_with_the_others() -> None:
    found = pre_gen.problems({**VALID, "azure_location": "mars"}, ["resource_prefix 'X' is invalid"])
    assert len(found) == 2


def test_main_prints_every_problem_and_fails(capsys: pytest.CaptureFixture) -> None:
    answers = {**VALID, "azure_location": "mars", "python_version": "2.7"}
    assert pre_gen.main(json.dumps(answers), json.dumps(["resource_prefix 'X' is invalid"])) == 1
    err = capsys.readouterr().err
    assert err.count("error: ") == 3
    assert "Nothing was generated" in err


def test_main_accepts_valid_answers(capsys: pytest.CaptureFixture) -> None:
    assert pre_gen.main(json.dumps(VALID), "[]") == 0
    assert capsys.readouterr().err == ""
