"""Template updates as a project lives them: generated with plain `cookiecutter` from a git template, set up, then
brought up to date by the project's own `.venv/bin/cruft update`, exactly as its README writes it, answering the
"Apply diff and update?" prompt on standard input. Only the template's change arrives, rendered with the project's
own answers; a line that both the project and the template changed is a conflict cruft reports, never overwritten."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE, git, project_env

pytestmark = pytest.mark.slow

PROJECT_README = "{{cookiecutter.project_slug}}/README.md"
NOTES = "{{cookiecutter.project_slug}}/NOTES.md"
NOT_TEMPLATE = shutil.ignore_patterns(".venv", ".tools", ".git", "build", "__pycache__", ".pytest_cache", ".ruff_cache")


def template_repository(tmp_path: Path) -> Path:
    """The template as a git repository of its own, one commit: what cookiecutter and cruft clone. (Named like a
    hosted one: cookiecutter takes a URL for a git repository only when "git" appears in it.)"""
    repository = tmp_path / "azureml-template.git"
    shutil.copytree(TEMPLATE, repository, ignore=NOT_TEMPLATE)
    git(repository, "init", "--quiet", "--initial-branch=main")
    git(repository, "add", "-A")
    git(repository, "commit", "--quiet", "-m", "template")
    return repository


def change(repository: Path, relative: str, edit: Callable[[str], str]) -> str:
    """Commit one edit to a template file; return the commit."""
    path = repository / relative
    path.write_text(edit(path.read_text(encoding="utf-8") if path.exists() else ""), encoding="utf-8")
    git(repository, "add", "-A")
    git(repository, "commit", "--quiet", "-m", f"edit {relative}")
    return git(repository, "rev-parse", "HEAD").strip()


def edit_first_line(text: str, suffix: str) -> str:
    first, rest = text.split("\n", 1)
    return f"{first}{suffix}\n{rest}"


def generate(template: str, output: Path, *options: str) -> Path:
    """Plain cookiecutter, as a user runs it; returns the project folder, set up and committed as a user would."""
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output), *options, template]
    subprocess.run([*command, "resource_prefix=acme"], check=True, capture_output=True, env=project_env())
    project = output / "tabular_model"
    subprocess.run(["make", "setup"], cwd=project, check=True, capture_output=True, env=project_env())
    git(project, "init", "--quiet")
    git(project, "add", "-A")  # uv.lock included, as make setup asks
    git(project, "commit", "--quiet", "-m", "generated")
    return project


def cruft(project: Path, *args: str, answer: str | None = None) -> subprocess.CompletedProcess:
    """The project's own cruft, as its README runs it."""
    command = [".venv/bin/cruft", *args]
    return subprocess.run(command, cwd=project, input=answer, capture_output=True, text=True, env=project_env())


def changed_paths(project: Path) -> set[str]:
    return {line[3:] for line in git(project, "status", "--porcelain").splitlines()}


def test_update_brings_only_the_template_change_with_the_project_answers(tmp_path: Path) -> None:
    """Generated at one template commit; the template changes; the update shows that change and nothing else."""
    repository = template_repository(tmp_path)
    project = generate(str(repository), tmp_path / "out")
    state = json.loads((project / ".cruft.json").read_text())
    assert state["commit"] == git(repository, "rev-parse", "HEAD").strip()
    assert state["context"]["cookiecutter"]["resource_prefix"] == "acme"

    added = change(repository, PROJECT_README, lambda text: text + "\nPrefix: {{ cookiecutter.resource_prefix }}\n")
    assert cruft(project, "check").returncode != 0

    update = cruft(project, "update", answer="y\n")

    assert update.returncode == 0, update.stdout + update.stderr
    assert "Apply diff and update?" in update.stdout
    assert changed_paths(project) == {"README.md", ".cruft.json"}
    diff = git(project, "diff", "HEAD", "--", "README.md").splitlines()
    assert [line for line in diff if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))] == [
        "+",
        "+Prefix: acme",
    ]
    assert json.loads((project / ".cruft.json").read_text())["commit"] == added
    assert cruft(project, "check").returncode == 0

    # `cruft create` works too: cruft writes the state itself, the post-generation hook stays out of its way.
    created = cruft(project, "create", "--no-input", "--output-dir", str(tmp_path / "created"), str(repository))
    assert created.returncode == 0, created.stdout + created.stderr
    assert json.loads((tmp_path / "created" / "tabular_model" / ".cruft.json").read_text())["commit"] == added


# A release that adds a Jinja filter: cruft renders both releases in one process, where v1's extension is imported.
NEW_FILTER = """

_install_without_prefix_label = install


def install(environment) -> None:
    _install_without_prefix_label(environment)
    environment.filters["prefix_label"] = lambda prefix: f"Prefix: {prefix}"
"""


def test_update_between_tagged_releases_reports_a_conflict_and_keeps_the_users_line(tmp_path: Path) -> None:
    """v1.0.0 -> v2.0.0 of a template cloned by URL, with a later unreleased commit that must not arrive. v2 also
    adds a Jinja filter and a file that uses it."""
    repository = template_repository(tmp_path)
    git(repository, "tag", "v1.0.0")
    change(repository, PROJECT_README, lambda text: edit_first_line(text, ": an Azure ML project"))
    change(repository, "local_extensions.py", lambda text: text + NEW_FILTER)
    release_2 = change(repository, NOTES, lambda _: "{{ cookiecutter.resource_prefix | prefix_label }}\n")
    git(repository, "tag", "v2.0.0")
    change(repository, "{{cookiecutter.project_slug}}/UNRELEASED.md", lambda _: "not released\n")

    project = generate(repository.as_uri(), tmp_path / "out", "--checkout", "v1.0.0")
    assert json.loads((project / ".cruft.json").read_text())["commit"] == git(repository, "rev-parse", "v1.0.0").strip()
    readme = project / "README.md"
    title = readme.read_text().split("\n", 1)[0]
    readme.write_text(edit_first_line(readme.read_text(), ", our way"))
    git(project, "commit", "--quiet", "-am", "our title")

    update = cruft(project, "update", "--checkout", "v2.0.0", answer="y\n")

    assert update.returncode == 0, update.stdout + update.stderr
    assert "Apply diff and update?" in update.stdout
    assert "Applied patch to 'README.md' with conflicts" in update.stderr
    assert "UU README.md" in git(project, "status", "--porcelain").splitlines()
    text = readme.read_text()
    assert f"<<<<<<< ours\n{title}, our way\n=======\n{title}: an Azure ML project\n>>>>>>> theirs" in text
    assert (project / "NOTES.md").read_text() == "Prefix: acme\n"
    assert not (project / "UNRELEASED.md").exists()
    assert changed_paths(project) == {"README.md", "NOTES.md", ".cruft.json"}
    assert json.loads((project / ".cruft.json").read_text())["commit"] == release_2
