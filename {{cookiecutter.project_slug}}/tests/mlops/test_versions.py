"""Versions by content: stable across checkouts, changed by any change that matters, blind to what does not."""

from __future__ import annotations

from pathlib import Path

from mlops.versions import code_hash, component_version, data_version, environment_version

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
    import shutil

    from mlops.assets import release_assets
    from mlops.settings import default_root, load_azure_settings, load_pipeline_settings

    copy = tmp_path / "other" / "checkout"
    for folder in ("components", "config", "data"):
        shutil.copytree(default_root() / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))

    def versions(root: Path) -> list[tuple[str, str]]:
        assets = release_assets(load_pipeline_settings(root), load_azure_settings("dev", root, {}))
        return [(asset.versioned.name, asset.versioned.version) for asset in assets.all()]

    assert versions(default_root()) == versions(copy)
    assert "train" in dict(versions(copy))
