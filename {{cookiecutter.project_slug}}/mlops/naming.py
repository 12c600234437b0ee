"""Azure resource names: derived once from the resource prefix and the environment, checked against Azure's rules.

This module is the single source of the derivation. The template's pre-generation hook uses it (through
``local_extensions.py``) to reject a prefix before any file is written, the rendered ``config/<env>.toml`` and Bicep
parameters are filled from it, and the ``mlops`` configuration re-checks edited names with the same rules.
Standard library only, so it loads anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENVIRONMENTS = ("dev", "prod")


@dataclass(frozen=True)
class NameRule:
    """One Azure naming rule, worded for a person who has to pick another value."""

    label: str
    pattern: str
    max_length: int
    rule: str
    example: str

    def problem(self, name: str) -> str | None:
        if len(name) <= self.max_length and re.fullmatch(self.pattern, name):
            return None
        return f"{self.label} '{name}' is invalid: expected {self.rule} (for example '{self.example}')"


# Lengths and character sets from Azure's resource naming rules; minimum lengths are in the patterns.
RULES: dict[str, NameRule] = {
    "resource_group": NameRule(
        "resource group",
        r"[\w.()-]*[\w()-]",
        90,
        "up to 90 letters, digits, underscores, hyphens, periods and parentheses, not ending in a period",
        "rg-churn-dev",
    ),
    "workspace": NameRule(
        "Azure ML workspace",
        r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}",
        33,
        "3-33 letters, digits, hyphens and underscores, starting with a letter or digit",
        "mlw-churn-dev",
    ),
    "storage_account": NameRule(
        "storage account",
        r"[a-z0-9]{3,24}",
        24,
        "3-24 lowercase letters and digits",
        "stchurndev",
    ),
    "key_vault": NameRule(
        "key vault",
        r"[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]",
        24,
        "3-24 letters, digits and single hyphens, starting with a letter and not ending with a hyphen",
        "kv-churn-dev",
    ),
    "container_registry": NameRule(
        "container registry",
        r"[a-zA-Z0-9]{5,50}",
        50,
        "5-50 letters and digits",
        "crchurndev",
    ),
    "log_analytics": NameRule(
        "Log Analytics workspace",
        r"[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]",
        63,
        "4-63 letters, digits and hyphens, starting and ending with a letter or digit",
        "log-churn-dev",
    ),
    "application_insights": NameRule(
        "Application Insights",
        r"[\w.()-]*[\w()-]",
        260,
        "up to 260 letters, digits, underscores, hyphens, periods and parentheses",
        "appi-churn-dev",
    ),
    "compute_cluster": NameRule(
        "compute cluster",
        r"[a-zA-Z][a-zA-Z0-9-]{1,15}",
        16,
        "2-16 letters, digits and hyphens, starting with a letter",
        "cpu-cluster",
    ),
    "online_endpoint": NameRule(
        "online endpoint",
        r"[a-zA-Z]([-a-zA-Z0-9]{1,30}[a-zA-Z0-9])",
        32,
        "3-32 letters, digits and hyphens, starting with a letter and ending with a letter or digit",
        "ep-churn-dev",
    ),
    "ml_registry": NameRule(
        "Azure ML registry",
        r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}",
        33,
        "3-33 letters, digits, hyphens and underscores, starting with a letter or digit",
        "mlr-churn",
    ),
}

# Length is not limited here: the derived names bound it (the key vault's 24 characters allow 16 in prod).
PREFIX_RULE = NameRule(
    "resource_prefix",
    r"[a-z][a-z0-9]*(-[a-z0-9]+)*",
    90,
    "lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen",
    "churn",
)


def _compact(prefix: str) -> str:
    """The prefix for names that allow neither hyphens nor upper case (storage, registry)."""
    return re.sub(r"[^a-z0-9]", "", prefix.lower())


def derive_names(prefix: str, env: str) -> dict[str, str]:
    """Every Azure resource name of one environment. Never raises: ``name_problems`` judges the result."""
    compact = _compact(prefix)
    return {
        "resource_group": f"rg-{prefix}-{env}",
        "workspace": f"mlw-{prefix}-{env}",
        "storage_account": f"st{compact}{env}",
        "key_vault": f"kv-{prefix}-{env}",
        "container_registry": f"cr{compact}{env}",
        "log_analytics": f"log-{prefix}-{env}",
        "application_insights": f"appi-{prefix}-{env}",
        # Compute lives inside its workspace, so one fixed name serves every environment.
        "compute_cluster": "cpu-cluster",
        # The scoring URI is https://NAME.REGION.inference.ml.azure.com: unique in the region, so prefixed too.
        "online_endpoint": f"ep-{prefix}-{env}",
        # One registry serves both environments: it is how a model moves from dev to prod.
        "ml_registry": f"mlr-{prefix}",
    }


def name_problems(names: dict[str, str]) -> list[str]:
    """A message per name that breaks its Azure rule, in a stable order."""
    return [msg for kind, name in names.items() if (msg := RULES[kind].problem(name))]


def prefix_problems(prefix: str) -> list[str]:
    """Why a resource prefix cannot be used; empty when every derived name in every environment is valid."""
    if msg := PREFIX_RULE.problem(prefix):
        return [msg]
    return [
        f"resource_prefix '{prefix}' gives an invalid {env} name: {problem}; choose a shorter prefix"
        for env in ENVIRONMENTS
        for problem in name_problems(derive_names(prefix, env))
    ]


def deployment_name(model: str, version: str) -> str:
    """An online deployment named after the model version it serves (a new version is a new deployment): the model
    name in Azure's deployment alphabet, shortened so that `-v<version>` always fits the 32 characters."""
    suffix = f"-v{re.sub(r'[^a-zA-Z0-9]+', '-', version).strip('-')}"
    stem = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")
    if not stem[:1].isalpha():
        stem = f"m-{stem}".rstrip("-")
    return f"{stem[: 32 - len(suffix)].rstrip('-')}{suffix}"
