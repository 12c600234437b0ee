"""Versions by content: stable across checkouts, changed by any change that matters, blind to what does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.versions import code_files, code_hash, component_version, data_version, environment_version
from tests.conftest import copy_project

ENV = environment_version("steps", "image:1", {"dependencies": ["python=3.11"]})
SPEC = {"name": "train", "version": "1", "command": "python train.py", "inputs": {"n": {"type": "integer"}}}


def make_code(folder: Path) -> Path:
    (folder / "pkg").mkdir(parents=True)
    (folder / "train.py").write_text("print('train')\n")
    (folder / "pkg" / "util.py").write_text("X = 1\n")
    return folder


def test_same_content_same_version_in_any_folder(tmp_path: Path) -> None:
    a, b = make_code(tmp_path / "a"), make_code(tmp_path / "elsewhere" / "b")
    assert code_hash(a) == code_hash(b)
    assert component_version(SPEC, a, ENV) == component_version({**SPEC, "version": "7", "code": str(b)}, b, ENV)


# (ignore file, files in the code folder): each case is compared with the files azure-ai-ml itself uploads.
IGNORE_CASES = {
    "anchored": ("/build\n", ["build/x.py", "src/build/y.py", "train.py"]),
    "folder-pattern": ("build/\n", ["build/x.py", "src/build/y.py", "build.py"]),
    "one-level-glob": ("docs/*.md\n", ["docs/a.md", "docs/sub/b.md", "a.md"]),
    "negation": ("*.log\n!keep.log\n", ["run.log", "keep.log", "logs/keep.log", "logs/other.log"]),
    "double-star": ("**/keep/*.py\n", ["keep/a.py", "x/keep/b.py", "x/keep/y/c.py", "keep.py"]),
    "middle-double-star": ("a/**/b.txt\n", ["a/b.txt", "a/x/y/b.txt", "c/a/b.txt"]),
    "comments-and-blanks": ("# notes\n\n*.tmp\n", ["x.tmp", "# notes", "y.py"]),
    "caches": ("*.csv\n", ["__pycache__/m.cpython-311.pyc", "pkg/__pycache__/n.pyc", "stray.pyc", "d.csv"]),
    "negated-cache": ("!__pycache__\n", ["__pycache__/m.pyc", "m.py"]),
    "no-ignore-file": (None, ["__pycache__/m.pyc", "stray.pyc", ".gitignore_not", "m.py"]),
}


@pytest.mark.parametrize(("ignore", "files"), IGNORE_CASES.values(), ids=IGNORE_CASES.keys())
@pytest.mark.parametrize("ignore_name", [".amlignore", ".gitignore"])
def test_code_files_are_what_azure_ml_uploads(tmp_path: Path, ignore_name: str, ignore: str | None, files) -> None:
    from azure.ai.ml._utils._asset_utils import get_upload_files_from_folder
    from azure.ai.ml.entities._component.code import ComponentIgnoreFile

    code = tmp_path / "code"
    for relative in files:
        (code / relative).parent.mkdir(parents=True, exist_ok=True)
        (code / relative).write_text(relative)
    if ignore is not None:
        (code / ignore_name).write_text(ignore)
    uploaded = get_upload_files_from_folder(code, ignore_file=ComponentIgnoreFile(code))
    assert [relative for relative, _ in code_files(code)] == sorted(remote for _, remote in uploaded)


def test_ignored_files_and_caches_do_not_count(tmp_path: Path) -> None:
    code = make_code(tmp_path / "code")
    before = code_hash(code)
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0")
    (code / ".amlignore").write_text("*.log\noutputs/\n")
    after_ignore_file = code_hash(code)
    (code / "run.log").write_text("noise")
    (code / "outputs").mkdir()
    (code / "outputs" / "model.pkl").write_text("noise")
    assert code_hash(code) == after_ignore_file
    assert after_ignore_file != before  # .amlignore itself is uploaded, so it counts


def test_every_change_that_matters_changes_the_version(tmp_path: Path) -> None:
    code = make_code(tmp_path / "code")
    base = component_version(SPEC, code, ENV).version
    (code / "pkg" / "util.py").write_text("X = 2\n")
    assert component_version(SPEC, code, ENV).version != base
    changed_spec = {**SPEC, "command": "python train.py --fast"}
    assert component_version(changed_spec, code, ENV).version != component_version(SPEC, code, ENV).version
    other_env = environment_version("steps", "image:2", {"dependencies": ["python=3.11"]})
    assert component_version(SPEC, code, other_env).version != component_version(SPEC, code, ENV).version


def test_data_is_versioned_by_bytes(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.csv").write_text("x\n1\n")
    assert data_version("d", tmp_path / "a.csv").version == data_version("d", tmp_path / "b.csv").version
    (tmp_path / "b.csv").write_text("x\n2\n")
    assert data_version("d", tmp_path / "a.csv").version != data_version("d", tmp_path / "b.csv").version


def test_project_versions_do_not_depend_on_the_checkout_path(tmp_path: Path) -> None:
    """The real components: a copy of the project elsewhere gives the same versions."""
    from mlops.assets import release_assets
    from mlops.settings import default_root, load_azure_settings, load_pipeline_settings

    copy = copy_project(tmp_path / "other" / "checkout", ("components", "config", "data"))

    def versions(root: Path) -> list[tuple[str, str]]:
        assets = release_assets(load_pipeline_settings(root), load_azure_settings("dev", root, {}))
        return [(asset.versioned.name, asset.versioned.version) for asset in assets.all()]

    assert versions(default_root()) == versions(copy)
    assert "train" in dict(versions(copy))
