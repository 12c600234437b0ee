"""The rule each answer must meet: one message per answer that breaks it, in the words its prompt uses.

Not a hook (cookiecutter runs only files named after one). ``local_extensions.py`` loads it to check each answer
right after it is typed, to derive defaults that meet these rules, and to hand the pre-generation hook every
problem as data. Azure names come from the generated project's own ``mlops/naming.py``, their single derivation.
Standard library only: it runs inside whichever Python runs cookiecutter or cruft.
"""

from __future__ import annotations

import difflib
import importlib.util
import keyword
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

NAMING_FILE = Path(__file__).resolve().parents[1] / "{{cookiecutter.project_slug}}" / "mlops" / "naming.py"


def load_naming():
    spec = importlib.util.spec_from_file_location("template_naming", NAMING_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


naming = load_naming()

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


@dataclass(frozen=True)
class Problem:
    """Why one answer cannot be used, and a valid value close to it (offered as the default when asked again)."""

    answer: str
    message: str
    suggestion: str | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class PrefixLimit:
    """The longest resource prefix every derived Azure name allows, and the name that sets it."""

    length: int
    name: str
    rule: naming.NameRule


def prefix_limit() -> PrefixLimit:
    """Derived from naming.py's rules: a longer prefix gives at least one invalid name in some environment."""
    most = naming.PREFIX_RULE.max_length
    length = next((n for n in range(1, most) if naming.prefix_problems("a" * (n + 1))), most)
    too_long = "a" * (length + 1)
    broken = [
        (kind, name)
        for env in naming.ENVIRONMENTS
        for kind, name in naming.derive_names(too_long, env).items()
        if naming.RULES[kind].problem(name)
    ]
    if not broken:  # no derived name is that strict: the prefix's own rule sets the limit
        return PrefixLimit(length, "<prefix>", naming.PREFIX_RULE)
    kind, name = broken[0]
    return PrefixLimit(length, name.replace(too_long, "<prefix>"), naming.RULES[kind])


def package_name(text: str) -> str:
    """A valid project_slug made from any text: the default derived from the project name cannot be wrong."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not slug or not slug[0].isalpha():
        slug = f"project_{slug}".rstrip("_")
    if keyword.iskeyword(slug) or slug in sys.stdlib_module_names:
        slug = f"{slug}_project"
    return slug


def azure_prefix(text: str) -> str:
    """A valid resource_prefix made from any text (the default derived from the slug cannot be wrong)."""
    prefix = re.sub(r"[^a-z0-9]", "", text.lower()).lstrip("0123456789")[: prefix_limit().length]
    return prefix or naming.PREFIX_RULE.example


def check_project_name(name: str) -> Problem | None:
    if name.strip():
        return None
    return Problem("project_name", "project_name is empty: give the project a name (for example 'Churn Model')")


def check_project_slug(slug: str) -> Problem | None:
    if re.fullmatch(r"[a-z][a-z0-9_]*", slug) and not keyword.iskeyword(slug) and slug not in sys.stdlib_module_names:
        return None
    suggestion = package_name(slug)
    return Problem(
        "project_slug",
        f"project_slug '{slug}' is not a Python package name: use lowercase letters, digits and underscores, "
        f"starting with a letter, and not a Python keyword or standard-library module (for example '{suggestion}')",
        suggestion,
    )


def check_azure_location(location: str) -> Problem | None:
    if location in AZURE_REGIONS:
        return None
    close = difflib.get_close_matches(location.lower().replace(" ", ""), sorted(AZURE_REGIONS), n=1)
    hint = f"did you mean '{close[0]}'?" if close else "for example 'westeurope'"
    return Problem(
        "azure_location",
        f"azure_location '{location}' is not an Azure region name ({hint}; `az account list-locations` lists them)",
        close[0] if close else None,
    )


def check_resource_prefix(prefix: str) -> Problem | None:
    """One message for the prefix, stating its whole rule, rather than one per Azure name derived from it."""
    limit = prefix_limit()
    shortened = prefix.lower()[: limit.length].rstrip("-")
    suggestion = shortened if not naming.PREFIX_RULE.problem(shortened) else azure_prefix(prefix)
    if naming.PREFIX_RULE.problem(prefix):
        what = "is not a valid prefix"
    elif len(prefix) > limit.length:
        what = f"is {len(prefix)} characters long"
    elif problems := naming.prefix_problems(prefix):
        # Unreachable with today's rules (the two checks above imply every derived name is valid); kept so that
        # a stricter rule added to naming.py still stops generation, in its own words.
        return Problem("resource_prefix", "; ".join(problems), suggestion)
    else:
        return None
    return Problem(
        "resource_prefix",
        f"resource_prefix '{prefix}' {what}: use {naming.PREFIX_RULE.rule}, at most {limit.length} characters "
        f"(the {limit.rule.label} name '{limit.name}' allows {limit.rule.max_length}); for example '{suggestion}'",
        suggestion,
    )


# The answers typed as free text, in prompt order. Free text for people (description, author_name) has no rule.
RULES: dict[str, Callable[[str], Problem | None]] = {
    "project_name": check_project_name,
    "project_slug": check_project_slug,
    "azure_location": check_azure_location,
    "resource_prefix": check_resource_prefix,
}


def check_choice(answer: str, value: str, choices: list[str]) -> Problem | None:
    """Cookiecutter itself refuses a choice outside the list at the prompt and on the command line, but not in a
    replay file, which the pre-generation hook invites people to edit: so a choice is checked here too."""
    if value in choices:
        return None
    return Problem(answer, f"{answer} '{value}' is not one of {', '.join(choices)} (for example '{choices[0]}')")


def problem_with(answer: str, value: object, choices: dict[str, list[str]]) -> Problem | None:
    if answer in RULES:
        return RULES[answer](str(value))
    if answer in choices:
        return check_choice(answer, str(value), choices[answer])
    return None


def problems(answers: dict, choices: dict[str, list[str]]) -> list[Problem]:
    """At most one problem per answer, in prompt order."""
    return [problem for answer, value in answers.items() if (problem := problem_with(answer, value, choices))]
