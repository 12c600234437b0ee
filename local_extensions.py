"""Jinja filters for the template, loaded by cookiecutter and cruft through ``_extensions`` in cookiecutter.json.

They run inside cookiecutter's own process, where the hooks cannot: they check each answer as soon as it is typed
(the ``__check_*`` variable after each prompt in cookiecutter.json renders ``check_answer``), derive defaults that
cannot be wrong, and gather what the hooks need (every problem with the answers, where the template came from),
which reaches the hooks as data. The rules live in ``hooks/answers.py``, the Azure name derivation in the generated
project's own ``mlops/naming.py``.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import json
import logging
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from jinja2.ext import Extension

TEMPLATE_DIR = Path(__file__).resolve().parent


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def template_context() -> dict:
    return json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))


def offered_choices() -> dict[str, list[str]]:
    return {k: v for k, v in template_context().items() if isinstance(v, list) and not k.startswith("_")}


def toml_string(value: str) -> str:
    """A TOML basic string. JSON's escapes differ from TOML's for astral characters and DEL, so escape by hand."""
    out = []
    for char in str(value):
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def prompting() -> bool:
    """Whether cookiecutter is asking questions now, rather than running with --no-input or under cruft.

    Cookiecutter hands ``no_input`` to ``prompt_for_config`` and to nothing a filter can see, so read it from that
    call's frame. Where the frame is not found (a cookiecutter that renamed it), behave as without input: the
    pre-generation hook still reports every problem before any file is written."""
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code.co_name == "prompt_for_config" and "no_input" in frame.f_locals:
            return not frame.f_locals["no_input"]
        frame = frame.f_back
    return False


def check_answer(rules: ModuleType, answers: dict, name: str) -> str:
    """Check the answer just typed and ask again, offering a valid value close to it, until it meets its rule.

    Without prompting (--no-input, a replay file, cruft) there is no one to ask: the pre-generation hook reports
    every problem at once instead. Renders as nothing."""
    if name not in answers or not prompting():
        return ""
    from cookiecutter.prompt import read_user_variable

    questions = template_context().get("__prompts__", {})
    while problem := rules.RULES[name](str(answers[name])):
        print(f"error: {problem}", file=sys.stderr, flush=True)
        answers[name] = read_user_variable(name, problem.suggestion, questions, "  ")
    return ""


def answer_problems(rules: ModuleType, answers: dict) -> list[str]:
    """Every problem with the answers, at most one per answer, for the pre-generation hook."""
    return [str(problem) for problem in rules.problems(answers, offered_choices())]


def replay_file(answers: dict) -> str | None:
    """The file in which the cookiecutter command saved these answers before the hooks ran, so that a failed run
    can be repeated with one answer fixed rather than all typed again. None outside that command (cruft)."""
    if "_repo_dir" not in answers:
        return None
    from cookiecutter.config import get_user_config
    from cookiecutter.replay import get_file_name

    # Cookiecutter names the file after the template's folder. Hooks are rendered from inside that folder.
    template_name = Path(answers["_repo_dir"]).resolve().name
    return get_file_name(get_user_config()["replay_dir"], template_name)


def git(folder: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip()


def template_origin(answers: dict) -> dict | None:
    """Where a project made by the cookiecutter command came from, as cruft records it in .cruft.json: the template's
    git URL (or folder) and commit. None under cruft, which records that itself and re-bakes into temporary folders.

    Hooks are rendered with the template's folder as the working directory, whatever the user typed to name it."""
    if "_output_dir" not in answers:
        return None
    folder = Path.cwd()
    top_level = git(folder, "rev-parse", "--show-toplevel")
    from cookiecutter.config import get_user_config
    from cookiecutter.repository import expand_abbreviations, is_repo_url

    source = expand_abbreviations(str(answers.get("_template", "")), get_user_config()["abbreviations"])
    return {
        "template": source if is_repo_url(source) else str(Path(top_level or folder).resolve()),
        "commit": git(folder, "rev-parse", "HEAD") if top_level else None,
        "checkout": answers.get("_checkout"),
        "directory": (git(folder, "rev-parse", "--show-prefix") or "").rstrip("/") or None,
    }


def drop_hook_traceback(record: logging.LogRecord) -> bool:
    """Cookiecutter logs a failed hook with its own traceback. Our hooks explain the failure themselves (a
    crashing hook still prints its own traceback), so keep the log line and drop cookiecutter's internal stack."""
    if record.exc_info and type(record.exc_info[1]).__name__ == "FailedHookException":
        record.exc_info = None
        record.exc_text = None
    return True


def install(environment) -> None:
    hooks_logger = logging.getLogger("cookiecutter.hooks")
    if not any(getattr(f, "__name__", "") == drop_hook_traceback.__name__ for f in hooks_logger.filters):
        hooks_logger.addFilter(drop_hook_traceback)
    rules = load_module(TEMPLATE_DIR / "hooks" / "answers.py", "template_answers")
    environment.filters["package_name"] = rules.package_name
    environment.filters["azure_prefix"] = rules.azure_prefix
    environment.filters["check_answer"] = functools.partial(check_answer, rules)
    environment.filters["answer_problems"] = functools.partial(answer_problems, rules)
    environment.filters["replay_file"] = replay_file
    environment.filters["template_origin"] = template_origin
    environment.filters["azure_names"] = rules.naming.derive_names
    environment.filters["toml_string"] = toml_string
    environment.globals["azure_environments"] = rules.naming.ENVIRONMENTS


class TemplateExtension(Extension):
    """Installs the filters of this file as it is on disk now, executed afresh (with hooks/answers.py and naming.py).

    cruft renders two versions of the template from one folder in one process, and Python imports a module once:
    without this, a template release that adds a filter could not update a single project made before it."""

    def __init__(self, environment):
        super().__init__(environment)
        load_module(Path(__file__).resolve(), "template_extension_current").install(environment)
