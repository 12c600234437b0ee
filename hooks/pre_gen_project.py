#!/usr/bin/env python
"""Validate the answers before cookiecutter writes any file.

Cookiecutter renders this file with Jinja, then runs it in the (still empty) project folder; a non-zero exit makes
it delete that folder. Answers arrive as JSON data inside a raw string, never as code, so quotes, backslashes and
newlines in a project name cannot change what runs here. The unrendered file is plain Python, so the tests import
it and call its functions directly.
"""

from __future__ import annotations

import difflib
import json
import keyword
import re
import sys

SUPPORTED_PYTHON = ("3.11", "3.12", "3.13")
CI_PLATFORMS = ("github", "azure_devops", "both")
YES_NO = ("yes", "no")

# Filled in by cookiecutter's Jinja pass; the prefix's problems come from the generated project's own
# mlops/naming.py, through local_extensions.py.
ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""
PREFIX_PROBLEMS_JSON = r"""{{ cookiecutter.resource_prefix | azure_prefix_problems | tojson }}"""

# Public-cloud region names, as `az account list-locations --query "[].name"` prints them.
AZURE_REGIONS = frozenset(
    [
        "australiacentral",
        "australiacentral2",
        "australiaeast",
        "australiasoutheast",
        "austriaeast",
        "belgiumcentral",
        "brazilsouth",
        "brazilsoutheast",
        "canadacentral",
        "canadaeast",
        "centralindia",
        "centralus",
        "chilecentral",
        "eastasia",
        "eastus",
        "eastus2",
        "francecentral",
        "francesouth",
        "germanynorth",
        "germanywestcentral",
        "indonesiacentral",
        "israelcentral",
        "italynorth",
        "japaneast",
        "japanwest",
        "jioindiacentral",
        "jioindiawest",
        "koreacentral",
        "koreasouth",
        "malaysiawest",
        "mexicocentral",
        "newzealandnorth",
        "northcentralus",
        "northeurope",
        "norwayeast",
        "norwaywest",
        "polandcentral",
        "qatarcentral",
        "southafricanorth",
        "southafricawest",
        "southcentralus",
        "southeastasia",
        "southindia",
        "spaincentral",
        "swedencentral",
        "switzerlandnorth",
        "switzerlandwest",
        "uaecentral",
        "uaenorth",
        "uksouth",
        "ukwest",
        "westcentralus",
        "westeurope",
        "westindia",
        "westus",
        "westus2",
        "westus3",
    ]
)


def _choice(name: str, value: str, choices: tuple[str, ...]) -> list[str]:
    if value in choices:
        return []
    return [f"{name} '{value}' is not one of {', '.join(choices)} (for example '{choices[0]}')"]


def check_project_name(name: str) -> list[str]:
    if name.strip():
        return []
    return ["project_name is empty: give the project a name (for example 'Churn Model')"]


def check_project_slug(slug: str) -> list[str]:
    if re.fullmatch(r"[a-z][a-z0-9_]*", slug) and not keyword.iskeyword(slug) and slug not in sys.stdlib_module_names:
        return []
    return [
        f"project_slug '{slug}' is not a valid Python package name: use lowercase letters, digits and underscores, "
        "starting with a letter, and not a Python keyword or standard-library module (for example 'churn_model')"
    ]


def check_python_version(version: str) -> list[str]:
    return _choice("python_version", version, SUPPORTED_PYTHON)


def check_azure_location(location: str) -> list[str]:
    if location in AZURE_REGIONS:
        return []
    close = difflib.get_close_matches(location.lower().replace(" ", ""), sorted(AZURE_REGIONS), n=1)
    hint = f"did you mean '{close[0]}'?" if close else "for example 'westeurope'"
    return [f"azure_location '{location}' is not an Azure region name ({hint}; `az account list-locations` lists them)"]


def problems(answers: dict, prefix_problems: list[str]) -> list[str]:
    """Every problem with the answers, each a sentence naming the answer, the rule and a valid example."""
    return [
        *check_project_name(answers["project_name"]),
        *check_project_slug(answers["project_slug"]),
        *check_python_version(answers["python_version"]),
        *_choice("ci_platform", answers["ci_platform"], CI_PLATFORMS),
        *_choice("use_registry", answers["use_registry"], YES_NO),
        *check_azure_location(answers["azure_location"]),
        *prefix_problems,
    ]


def main(answers_json: str = ANSWERS_JSON, prefix_problems_json: str = PREFIX_PROBLEMS_JSON) -> int:
    found = problems(json.loads(answers_json), json.loads(prefix_problems_json))
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    if found:
        print("Nothing was generated: run cookiecutter again with the answers fixed.", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
