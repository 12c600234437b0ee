"""Bake the template over its option matrix and edge cases; check what lands on disk."""

from __future__ import annotations

import itertools
import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_TEMPLATE, TEMPLATE, TEMPLATE_COMMIT, BakedProject, git_output, naming, post_gen

CHOICES = {
    key: value
    for key, value in json.loads((TEMPLATE / "cookiecutter.json").read_text()).items()
    if isinstance(value, list) and not key.startswith("_")
}


def pairwise(options: dict[str, list[str]]) -> list[dict[str, str]]:
    """A small set of combinations in which every pair of values of every two options occurs (greedy all-pairs)."""
    names = list(options)
    uncovered = {
        ((a, va), (b, vb)) for a, b in itertools.combinations(names, 2) for va in options[a] for vb in options[b]
    }
    chosen = []
    while uncovered:
        best = max(
            itertools.product(*options.values()),
            key=lambda combo: sum(
                pair in uncovered for pair in itertools.combinations(zip(names, combo, strict=False), 2)
            ),
        )
        uncovered -= set(itertools.combinations(zip(names, best, strict=False), 2))
        chosen.append(dict(zip(names, best, strict=False)))
    return chosen


OPTION_MATRIX = pairwise(CHOICES)

HOSTILE = {
    "project_name": 'Ünïcødé "Quoted" O\'Brien \\ back\\\\slash\nsecond line 🚀',
    "description": '"""; import os; os.system("touch PWNED") #\'\'\' \\n {} $HOME `id`',
    "author_name": 'Zoë O\'Connor "ZO" \\ <zoe@example.com>\t',
}

# `{{`/`{%` left by Jinja, or a reference to cookiecutter; `${{ ... }}` (GitHub, Azure ML) is not Jinja.
LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|cookiecutter\.")


def expected_files(answers: dict) -> set[str]:
    """The template's files minus what the hook's manifest says the chosen options do not own."""
    unselected = post_gen.unselected_paths(answers)
    files = {p.relative_to(PROJECT_TEMPLATE).as_posix() for p in PROJECT_TEMPLATE.rglob("*") if p.is_file()}
    files = {f for f in files if "__pycache__" not in f and not f.endswith(".pyc")}
    if TEMPLATE_COMMIT:
        files.add(post_gen.CRUFT_FILE)
    return {f for f in files if not any(f == u or f.startswith(u + "/") for u in unselected)}


def check_well_formed(project: BakedProject) -> None:
    for relative in sorted(project.files()):
        path = project.path / relative
        text = path.read_text(encoding="utf-8")
        assert not LEFTOVER.search(text), f"unrendered template text in {relative}"
        if path.suffix in {".yml", ".yaml"}:
            yaml.safe_load(text)
        elif path.suffix == ".json":
            json.loads(text)
        elif path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix == ".py":
            compile(text, relative, "exec")


def test_pairwise_matrix_covers_every_pair() -> None:
    for a, b in itertools.combinations(CHOICES, 2):
        seen = {(combo[a], combo[b]) for combo in OPTION_MATRIX}
        assert seen == set(itertools.product(CHOICES[a], CHOICES[b]))
    assert len(OPTION_MATRIX) < len(list(itertools.product(*CHOICES.values())))


@pytest.mark.parametrize("options", OPTION_MATRIX, ids=lambda o: "-".join(o.values()))
def test_option_matrix(bake, options: dict[str, str]) -> None:
    project = bake(**options)
    assert project.files() == expected_files(project.answers)
    check_well_formed(project)
    config = tomllib.loads(project.read("config/environments.toml"))
    for env in naming.ENVIRONMENTS:
        assert ("ml_registry" in config[env]) is (options["use_registry"] == "yes")
    assert tomllib.loads(project.read("pyproject.toml"))["project"]["requires-python"] == (
        f">={options['python_version']}"
    )


def test_github_expressions_survive_verbatim(bake) -> None:
    project = bake(ci_platform="both")
    for workflow in (PROJECT_TEMPLATE / ".github" / "workflows").iterdir():
        text = workflow.read_text(encoding="utf-8")
        assert "${{" in text
        assert project.read(f".github/workflows/{workflow.name}") == text


def test_default_names_are_derived_once(bake) -> None:
    project = bake()
    config = tomllib.loads(project.read("config/environments.toml"))
    prefix = config["resource_prefix"]
    assert prefix == "tabularmodel"
    for env in naming.ENVIRONMENTS:
        names = {k: v for k, v in naming.derive_names(prefix, env).items() if k != "ml_registry"}
        assert {k: v for k, v in config[env].items() if k in names} == names
        assert names["workspace"] in project.read("README.md")


def test_hostile_answers_are_data(bake, tmp_path: Path) -> None:
    project = bake(**HOSTILE)
    check_well_formed(project)
    pyproject = tomllib.loads(project.read("pyproject.toml"))["project"]
    assert pyproject["description"] == HOSTILE["description"]
    assert pyproject["authors"] == [{"name": HOSTILE["author_name"]}]
    assert re.fullmatch(r"[a-z][a-z0-9_]*", pyproject["name"])
    assert HOSTILE["project_name"] in project.read("README.md")
    assert not list(tmp_path.rglob("PWNED"))
    assert not Path("PWNED").exists()


@pytest.mark.skipif(TEMPLATE_COMMIT is None, reason="the template is not a git checkout: nothing to remember")
def test_a_bake_remembers_its_template_commit_and_answers(bake) -> None:
    """What `cruft update` needs to re-bake this very project: the template, its commit, the answers."""
    project = bake(resource_prefix="acme", ci_platform="azure_devops", use_registry="yes")
    state = json.loads(project.read(post_gen.CRUFT_FILE))
    assert state["template"] == str(Path(git_output(TEMPLATE, "rev-parse", "--show-toplevel")).resolve())
    assert state["commit"] == TEMPLATE_COMMIT
    answers = {key: value for key, value in project.answers.items() if not key.startswith("_")}
    assert {key: state["context"]["cookiecutter"][key] for key in answers} == answers
    assert str(project.path.parent) not in project.read(post_gen.CRUFT_FILE)


def test_only_files_with_substitutions_are_rendered() -> None:
    """Jinja only where a value is substituted; everything else is copied verbatim (so `${{ }}` needs no escaping)."""
    copied = json.loads((TEMPLATE / "cookiecutter.json").read_text())["_copy_without_render"]
    for path in sorted(p for p in PROJECT_TEMPLATE.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        relative = path.relative_to(PROJECT_TEMPLATE).as_posix()
        verbatim = any(relative == c or relative.startswith(c + "/") for c in copied)
        text = path.read_text(encoding="utf-8")
        has_jinja = "cookiecutter." in text or "{%" in text
        problem = "is copied verbatim but has Jinja" if verbatim else "is rendered but has no Jinja"
        assert verbatim != has_jinja, f"{relative} {problem}: see _copy_without_render in cookiecutter.json"
