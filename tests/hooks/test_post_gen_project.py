"""The post-generation hook removes exactly what unselected options own."""

import json
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE, post_gen


@pytest.mark.parametrize(
    ("ci_platform", "removed"),
    [("github", {".azuredevops"}), ("azure_devops", {".github"}), ("both", set())],
)
def test_ci_platform_paths(ci_platform: str, removed: set[str]) -> None:
    assert post_gen.unselected_paths({"ci_platform": ci_platform, "use_registry": "no"}) == removed


def test_prune_removes_files_and_folders_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "pr.yml").write_text("on: push\n")
    (tmp_path / ".azuredevops").mkdir()
    (tmp_path / ".azuredevops" / "pr.yml").write_text("trigger: none\n")
    (tmp_path / "README.md").write_text("# x\n")

    removed = post_gen.prune(tmp_path, {"ci_platform": "azure_devops", "use_registry": "no"})

    assert removed == [".github"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".azuredevops", "README.md"]


def test_prune_tolerates_paths_that_are_already_gone(tmp_path: Path) -> None:
    assert post_gen.prune(tmp_path, {"ci_platform": "github", "use_registry": "no"}) == []


def test_every_option_in_the_manifest_lists_every_choice() -> None:
    choices = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    for option, owned in post_gen.OPTION_PATHS.items():
        assert set(owned) == set(choices[option]), option
