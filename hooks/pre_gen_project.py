#!/usr/bin/env python
"""Stop before cookiecutter writes any file when an answer breaks its rule, and say how to retry without retyping.

Answers typed at a prompt were checked as they were typed (``check_answer`` in local_extensions.py); answers given
on the command line, with --no-input, in a replay file or by cruft are checked here, all at once, by the same rules
(``hooks/answers.py``). Cookiecutter renders this file with Jinja, then runs it in the (still empty) project folder;
a non-zero exit makes it delete that folder. The answers and their problems arrive as JSON data inside raw strings,
never as code, so quotes, backslashes and newlines in a project name cannot change what runs here. The unrendered
file is plain Python, so the tests import it and call its functions directly.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

# Filled in by cookiecutter's Jinja pass, through the filters of local_extensions.py.
ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""
PROBLEMS_JSON = r"""{{ cookiecutter | answer_problems | tojson }}"""
# (An object, not a bare string: a JSON string's closing quote would end the raw string early.)
REPLAY_JSON = r"""{{ {"replay_file": cookiecutter | replay_file} | tojson }}"""


def how_to_retry(answers: dict, replay_file: str | None) -> str:
    """The cookiecutter command saved every answer before this hook ran: point to that file, so that a fixed run
    reuses the other answers."""
    if not replay_file or not Path(replay_file).is_file():
        return "Nothing was generated: run cookiecutter again with the answers fixed."
    command = ["cookiecutter", "--replay-file", replay_file]
    if answers.get("_output_dir"):
        command += ["--output-dir", answers["_output_dir"]]
    command.append(str(answers.get("_template", "<template>")))
    return (
        f"Nothing was generated. Your answers are saved in {replay_file}: fix the answers named above in that "
        f"file, then run\n  {shlex.join(command)}"
    )


def main(answers_json: str = ANSWERS_JSON, problems_json: str = PROBLEMS_JSON, replay_json: str = REPLAY_JSON) -> int:
    problems = json.loads(problems_json)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(how_to_retry(json.loads(answers_json), json.loads(replay_json)["replay_file"]), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
