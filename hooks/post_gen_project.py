#!/usr/bin/env python
"""Remove the files that belong to options the answers did not select. Nothing else: no network, no `git init`.

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


ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""  # filled in by cookiecutter's Jinja pass


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


def main(answers_json: str = ANSWERS_JSON) -> int:
    prune(Path.cwd(), json.loads(answers_json))
    return 0


if __name__ == "__main__":
    sys.exit(main())
