"""Jinja filters for the template, loaded by cookiecutter and cruft through ``_extensions`` in cookiecutter.json.

The Azure name derivation lives in the generated project (``mlops/naming.py``) so that the project keeps it; this
module loads that very file, so the hooks, the rendered configuration and the project can never disagree.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

from jinja2.ext import Extension

NAMING_FILE = Path(__file__).parent / "{{cookiecutter.project_slug}}" / "mlops" / "naming.py"


def load_naming():
    spec = importlib.util.spec_from_file_location("template_naming", NAMING_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


naming = load_naming()


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


def drop_hook_traceback(record: logging.LogRecord) -> bool:
    """Cookiecutter logs a failed hook with its own traceback. Our hooks explain the failure themselves (a
    crashing hook still prints its own traceback), so keep the log line and drop cookiecutter's internal stack."""
    if record.exc_info and type(record.exc_info[1]).__name__ == "FailedHookException":
        record.exc_info = None
        record.exc_text = None
    return True


class TemplateExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        hooks_logger = logging.getLogger("cookiecutter.hooks")
        if drop_hook_traceback not in hooks_logger.filters:
            hooks_logger.addFilter(drop_hook_traceback)
        environment.filters["azure_names"] = naming.derive_names
        environment.filters["azure_prefix_problems"] = naming.prefix_problems
        environment.filters["toml_string"] = toml_string
        environment.globals["azure_environments"] = naming.ENVIRONMENTS
