"""The rule of each answer (hooks/answers.py), called directly: one message per answer, in the prompt's words."""

import json
import re

import pytest

from tests.conftest import TEMPLATE, answer_rules, naming, resolve_answers

VALID = resolve_answers()
CONTEXT = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
CHOICES = {key: value for key, value in CONTEXT.items() if isinstance(value, list) and not key.startswith("_")}

# Names a person might type, and what the derived defaults must survive.
AWKWARD_NAMES = ["Churn Model", "???", "🚀", "2 fast 2 furious", "class", "json", "Ünïcødé O'Brien", "_x_", "a" * 80]


def test_default_answers_are_valid() -> None:
    assert answer_rules.problems(VALID, CHOICES) == []


@pytest.mark.parametrize(
    ("answer", "value", "expected"),
    [
        ("project_name", "   ", "project_name is empty"),
        ("project_slug", "1model", "project_slug '1model' is not a Python package name"),
        ("project_slug", "my-model", "project_slug 'my-model'"),
        ("project_slug", "class", "Python keyword"),
        ("project_slug", "json", "standard-library module"),
        ("project_slug", "Model", "lowercase"),
        ("azure_location", "West Europe", "did you mean 'westeurope'?"),
        ("azure_location", "mars", "for example 'westeurope'"),
        ("resource_prefix", "Bad_Prefix", "lowercase letters, digits and single hyphens"),
        ("resource_prefix", "ends-", "not ending with a hyphen"),
        ("resource_prefix", "2fast", "starting with a letter"),
        ("resource_prefix", "a" * 17, "is 17 characters long"),
        ("resource_prefix", "double--hyphen", "single hyphens"),
    ],
)
def test_each_rule_names_the_answer_and_a_fix(answer: str, value: str, expected: str) -> None:
    found = answer_rules.problems({**VALID, answer: value}, CHOICES)
    assert [problem.answer for problem in found] == [answer]
    assert expected in str(found[0])
    assert "for example" in str(found[0]) or "did you mean" in str(found[0])


@pytest.mark.parametrize("prefix", ["my-very-long-prefix-for-azure", "Not_Valid_And_Far_Too_Long_Too"])
def test_a_bad_prefix_is_one_message_stating_the_rule_its_prompt_states(prefix: str) -> None:
    """Not one message per Azure name derived from it: the rule the person typed against, "at most 16 characters"."""
    found = answer_rules.problems({**VALID, "resource_prefix": prefix}, CHOICES)
    assert len(found) == 1
    assert f"at most {answer_rules.prefix_limit().length} characters" in str(found[0])
    assert not naming.prefix_problems(found[0].suggestion)


def test_the_prefix_prompt_states_the_limit_that_azure_names_set() -> None:
    """The longest prefix is derived from naming.py's rules; the prompt writes the number, so it is checked here.
    Independently of the derivation: a key vault name has at most 24 characters (Azure's naming rules), and the
    longest one is 'kv-<prefix>-prod', so 24 - len('kv-') - len('-prod') = 16."""
    limit = answer_rules.prefix_limit()
    assert limit.length == 24 - len("kv-") - len("-prod")
    assert not naming.prefix_problems("a" * limit.length)
    assert naming.prefix_problems("a" * (limit.length + 1))
    assert f"at most {limit.length} characters" in CONTEXT["__prompts__"]["resource_prefix"]


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_derived_defaults_cannot_be_wrong(name: str) -> None:
    answers = resolve_answers(project_name=name)
    assert answer_rules.problems(answers, CHOICES) == []
    assert re.fullmatch(r"[a-z][a-z0-9_]*", answers["project_slug"])


def test_the_derived_defaults_keep_an_ordinary_name_recognisable() -> None:
    answers = resolve_answers(project_name="Customer Churn Prediction")
    assert answers["project_slug"] == "customer_churn_prediction"
    assert answers["resource_prefix"] == "customerchurnpre"


@pytest.mark.parametrize(("answer", "value"), [("project_slug", "2fast"), ("resource_prefix", "My_Very_Long_Prefix")])
def test_a_suggestion_meets_the_rule_it_was_made_for(answer: str, value: str) -> None:
    problem = answer_rules.RULES[answer](value)
    assert problem.suggestion
    assert answer_rules.RULES[answer](problem.suggestion) is None


def test_a_choice_outside_its_list_is_one_message() -> None:
    found = answer_rules.problems({**VALID, "python_version": "3.9", "ci_platform": "jenkins"}, CHOICES)
    assert [str(problem) for problem in found] == [
        "python_version '3.9' is not one of 3.11, 3.12, 3.13 (for example '3.11')",
        "ci_platform 'jenkins' is not one of github, azure_devops, both (for example 'github')",
    ]


def test_problems_come_in_prompt_order_one_per_answer() -> None:
    answers = {**VALID, "resource_prefix": "X" * 30, "project_slug": "Bad Slug", "azure_location": "mars"}
    found = answer_rules.problems(answers, CHOICES)
    assert [problem.answer for problem in found] == ["project_slug", "azure_location", "resource_prefix"]


def test_every_typed_answer_with_a_rule_is_checked_right_after_its_prompt() -> None:
    """cookiecutter.json renders `__check_<answer>` right after each prompt whose answer has a rule."""
    keys = list(CONTEXT)
    for answer in answer_rules.RULES:
        assert keys[keys.index(answer) + 1] == f"__check_{answer}"
        assert f"check_answer('{answer}')" in CONTEXT[f"__check_{answer}"]
