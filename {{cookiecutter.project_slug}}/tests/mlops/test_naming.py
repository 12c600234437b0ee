"""Azure naming rules at their edges, and the committed configuration against the derivation."""

import tomllib
from pathlib import Path

import pytest

from mlops import naming

CONFIG = Path(__file__).parents[2] / "config" / "environments.toml"


@pytest.mark.parametrize(
    ("kind", "name", "valid"),
    [
        ("storage_account", "abc", True),
        ("storage_account", "ab", False),
        ("storage_account", "a" * 24, True),
        ("storage_account", "a" * 25, False),
        ("storage_account", "st-churn", False),
        ("storage_account", "stChurn", False),
        ("key_vault", "kv1", True),
        ("key_vault", "k" * 24, True),
        ("key_vault", "k" * 25, False),
        ("key_vault", "1kv", False),
        ("key_vault", "kv--churn", False),
        ("key_vault", "kv-churn-", False),
        ("container_registry", "crabc", True),
        ("container_registry", "crab", False),
        ("container_registry", "c" * 50, True),
        ("container_registry", "c" * 51, False),
        ("container_registry", "cr-churn", False),
        ("workspace", "m_1", True),
        ("workspace", "ml", False),
        ("workspace", "m" * 33, True),
        ("workspace", "m" * 34, False),
        ("workspace", "-mlw", False),
        ("workspace", "9mlw", True),
        ("resource_group", "r" * 90, True),
        ("resource_group", "r" * 91, False),
        ("resource_group", "rg.", False),
        ("compute_cluster", "cpu-cluster", True),
        ("compute_cluster", "c" * 17, False),
    ],
)
def test_rule_edges(kind: str, name: str, valid: bool) -> None:
    problem = naming.RULES[kind].problem(name)
    assert (problem is None) is valid, problem


@pytest.mark.parametrize("prefix", ["a", "churn", "a1-b2", "p" * 16])
def test_valid_prefixes_give_valid_names_everywhere(prefix: str) -> None:
    assert naming.prefix_problems(prefix) == []


@pytest.mark.parametrize(
    ("prefix", "mentions"),
    [
        ("", "resource_prefix ''"),
        ("p" * 17, "key vault 'kv-ppppppppppppppppp-prod'"),
        ("Churn", "lowercase"),
        ("1churn", "starting with a letter"),
        ("churn-", "not ending with a hyphen"),
        ("ch--urn", "single hyphens"),
        ("ch_urn", "single hyphens"),
    ],
)
def test_invalid_prefixes_are_explained(prefix: str, mentions: str) -> None:
    problems = naming.prefix_problems(prefix)
    assert problems, prefix
    assert mentions in problems[0]
    assert "for example" in problems[0]


def test_hyphens_are_dropped_only_where_azure_forbids_them() -> None:
    names = naming.derive_names("a1-b2", "dev")
    assert names["storage_account"] == "sta1b2dev"
    assert names["container_registry"] == "cra1b2dev"
    assert names["key_vault"] == "kv-a1-b2-dev"


def test_committed_configuration_matches_the_derivation() -> None:
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    prefix = config["resource_prefix"]
    for env in naming.ENVIRONMENTS:
        expected = naming.derive_names(prefix, env)
        written = {kind: name for kind, name in config[env].items() if kind in naming.RULES}
        assert naming.name_problems(written) == []
        assert written == {kind: expected[kind] for kind in written}, env


@pytest.mark.parametrize(
    "name",
    ["ep", "ep-x", "ep-churn-dev", "e" * 32, "e" * 33, "9ep", "-ep", "ep-", "ep_churn", "Ep-Churn-Prod", "e-1", "ab"],
)
def test_online_endpoint_names_follow_azure_ml_s_own_check(name: str) -> None:
    """azure-ai-ml validates endpoint and deployment names before any request: the same verdict, an independent
    source (the SDK is imported here only)."""
    from azure.ai.ml.entities._endpoint._endpoint_helpers import validate_endpoint_or_deployment_name
    from azure.ai.ml.exceptions import ValidationException

    try:
        validate_endpoint_or_deployment_name(name)
        sdk_accepts = True
    except ValidationException:
        sdk_accepts = False
    assert (naming.RULES["online_endpoint"].problem(name) is None) is sdk_accepts
