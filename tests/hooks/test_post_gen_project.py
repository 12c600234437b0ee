"""The post-generation hook removes exactly what unselected options own, records the template, prints next steps."""

import json
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE, post_gen, resolve_answers

ORIGIN = {"template": "https://github.com/acme/template.git", "commit": "a" * 40, "checkout": None, "directory": None}


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


def test_cruft_state_holds_the_answers_and_commit_but_no_machine_paths() -> None:
    answers = {**resolve_answers(resource_prefix="acme"), "_output_dir": "/home/me", "_repo_dir": "/tmp/clone"}
    state = post_gen.cruft_state(answers, ORIGIN)
    context = state["context"]["cookiecutter"]
    assert (state["template"], state["commit"]) == (ORIGIN["template"], ORIGIN["commit"])
    assert (context["_template"], context["_commit"]) == (ORIGIN["template"], ORIGIN["commit"])
    assert context["resource_prefix"] == "acme"
    assert "/home/me" not in json.dumps(state)
    assert "/tmp/clone" not in json.dumps(state)


def test_main_writes_the_state_and_prints_the_next_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    assert post_gen.main(json.dumps(resolve_answers()), json.dumps(ORIGIN)) == 0
    assert json.loads((tmp_path / ".cruft.json").read_text())["commit"] == ORIGIN["commit"]
    out = capsys.readouterr().out
    assert [line.split("#")[0].strip() for line in out.splitlines()[1:4]] == [
        f"cd {tmp_path}",
        "make setup",
        "make run",
    ]


def test_a_template_without_git_history_is_not_linked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    assert post_gen.main(json.dumps(resolve_answers()), json.dumps({**ORIGIN, "commit": None})) == 0
    assert not (tmp_path / ".cruft.json").exists()
    assert "cruft link" in capsys.readouterr().out


def test_under_cruft_it_writes_nothing_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """cruft records its own state, and bakes into temporary folders where next steps would mislead."""
    monkeypatch.chdir(tmp_path)
    assert post_gen.main(json.dumps(resolve_answers()), "null") == 0
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr().out == ""
