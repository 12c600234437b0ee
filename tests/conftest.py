"""Bake the template and look at the result: `bake(**answers)` returns a `BakedProject`."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from cookiecutter.generate import generate_context
from cookiecutter.main import cookiecutter
from cookiecutter.prompt import prompt_for_config

TEMPLATE = Path(__file__).parents[1]
PROJECT_TEMPLATE = TEMPLATE / "{{cookiecutter.project_slug}}"
sys.path.insert(0, str(TEMPLATE))  # local_extensions, as cookiecutter itself arranges while it bakes


def resolve_answers(**answers) -> dict:
    """The answers cookiecutter will use with --no-input: defaults, overrides, derived values rendered."""
    context = generate_context(context_file=TEMPLATE / "cookiecutter.json", extra_context=answers)
    return dict(prompt_for_config(context, no_input=True))


def load_module(path: Path, name: str) -> ModuleType:
    """Import a file that is not on sys.path (hooks, the project's naming module)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


pre_gen = load_module(TEMPLATE / "hooks" / "pre_gen_project.py", "pre_gen_project")
post_gen = load_module(TEMPLATE / "hooks" / "post_gen_project.py", "post_gen_project")
answer_rules = load_module(TEMPLATE / "hooks" / "answers.py", "answer_rules")
naming = load_module(PROJECT_TEMPLATE / "mlops" / "naming.py", "project_naming")
# The template's own uv (make setup), the same release the generated project pins.
UV = str(TEMPLATE / ".tools" / "bin" / "uv") if (TEMPLATE / ".tools" / "bin" / "uv").is_file() else shutil.which("uv")


def git_output(folder: Path, *args: str) -> str | None:
    result = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def project_env() -> dict[str, str]:
    """The environment a user's shell has: without this test run's virtual environment."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    venv_bin = str(TEMPLATE / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    return env


def git(folder: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args]
    return subprocess.run(command, cwd=folder, check=True, capture_output=True, text=True).stdout


# A bake records the template's commit in .cruft.json, when the template is a git checkout.
TEMPLATE_COMMIT = git_output(TEMPLATE, "rev-parse", "HEAD")


@pytest.fixture(autouse=True, scope="session")
def cookiecutter_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Cookiecutter saves every run's answers (replay files) and clones under the user's home: keep the tests'
    in a folder of their own. Subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("cookiecutter-home")
    config = folder / "config.yaml"
    config.write_text(f"replay_dir: '{folder / 'replay'}'\ncookiecutters_dir: '{folder / 'templates'}'\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COOKIECUTTER_CONFIG", str(config))
        yield folder


@dataclass
class BakedProject:
    path: Path
    answers: dict

    def files(self) -> set[str]:
        return {p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()}

    def has_file(self, relative: str) -> bool:
        return (self.path / relative).is_file()

    def read(self, relative: str) -> str:
        return (self.path / relative).read_text(encoding="utf-8")

    def run(self, *command: str, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
        result = subprocess.run(command, cwd=self.path, capture_output=True, text=True, env=env, timeout=timeout)
        assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        return result


@pytest.fixture
def bake(tmp_path: Path) -> Callable[..., BakedProject]:
    """Generate a project with the default answers overridden by the keyword arguments."""

    def _bake(**answers) -> BakedProject:
        output = tmp_path / f"bake{len(list(tmp_path.iterdir()))}"
        path = cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(output))
        return BakedProject(Path(path), resolve_answers(**answers))

    return _bake


@pytest.fixture(scope="session")
def bake_shared(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., BakedProject]:
    """Like `bake`, for tests that only read the project: one bake per set of answers, shared by the whole run."""
    baked: dict[str, BakedProject] = {}

    def _bake(**answers) -> BakedProject:
        key = json.dumps(answers, sort_keys=True)
        if key not in baked:
            output = tmp_path_factory.mktemp("shared-bake")
            path = cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(output))
            baked[key] = BakedProject(Path(path), resolve_answers(**answers))
        return baked[key]

    return _bake
