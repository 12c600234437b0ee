#!/usr/bin/env python
"""Arrange the generated files: remove those of options the answers did not select, record where the project came
from (.cruft.json), and print the next steps. Nothing else: no network, no `git init`.

``OPTION_PATHS`` is the one manifest of which option owns which path (relative to the project root). A path owned
by several values of an option stays when any of them is selected. The template tests derive the exact expected
file set of every bake from this same table.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

OPTION_PATHS: dict[str, dict[str, list[str]]] = {
    "ci_platform": {
        "github": [".github"],
        "azure_devops": [".azuredevops"],
        "both": [".github", ".azuredevops"],
    },
}

# The answers, and where the template came from (None under cruft); filled in by cookiecutter's Jinja pass.
ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""
ORIGIN_JSON = r"""{{ cookiecutter | template_origin | tojson }}"""

CRUFT_FILE = ".cruft.json"
# Where this run wrote and read on this machine: meaningless in a repository, and cruft does not use them.
MACHINE_KEYS = ("_output_dir", "_repo_dir")


def unselected_paths(answers: dict) -> set[str]:
    """Paths that some value of an option owns but the chosen value does not."""
    remove: set[str] = set()
    for option, owned in OPTION_PATHS.items():
        kept = set(owned.get(answers[option], []))
        remove |= {path for paths in owned.values() for path in paths} - kept
    return remove


def prune(project: Path, answers: dict) -> list[str]:
    removed = []
    for relative in sorted(unselected_paths(answers)):
        path = project / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(relative)
    return removed


def cruft_state(answers: dict, origin: dict) -> dict:
    """The answers and the template's commit, in the form `cruft create` writes, so that `cruft update` re-bakes
    the project's own template version with its own answers and applies only what changed since."""
    context = {key: value for key, value in answers.items() if key not in MACHINE_KEYS}
    context["_template"] = origin["template"]
    context["_commit"] = origin["commit"]
    return {
        "template": origin["template"],
        "commit": origin["commit"],
        "checkout": origin["checkout"],
        "context": {"cookiecutter": context},
        "directory": origin["directory"],
    }


def write_cruft_state(project: Path, state: dict) -> None:
    text = json.dumps(state, ensure_ascii=False, indent=2, separators=(",", ": ")) + "\n"  # as cruft writes it
    (project / CRUFT_FILE).write_text(text, encoding="utf-8")


def next_steps(project: Path, linked: bool) -> str:
    lines = [
        f"Created {project}. Next steps:",
        f"  cd {project}",
        "  make setup   # uv, then the pinned dependencies into .venv/",
        "  make run     # the training pipeline, locally, on the sample data",
    ]
    if not linked:
        lines.append(f"(The template is not a git checkout, so no {CRUFT_FILE} was written: `cruft link` it later.)")
    return "\n".join(lines)


def main(answers_json: str = ANSWERS_JSON, origin_json: str = ORIGIN_JSON) -> int:
    project = Path.cwd()
    answers = json.loads(answers_json)
    prune(project, answers)
    origin = json.loads(origin_json)
    if origin is not None:  # the cookiecutter command; cruft writes its own state and bakes into temporary folders
        if origin["commit"]:
            write_cruft_state(project, cruft_state(answers, origin))
        print(next_steps(project, linked=bool(origin["commit"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
