"""The notebook the project started from still runs top to bottom, and is committed without outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "01_development.ipynb"


def code_cells() -> list[str]:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


def test_committed_without_outputs() -> None:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    assert all(not cell.get("outputs") and cell.get("execution_count") is None for cell in cells if "outputs" in cell)


@pytest.mark.slow
def test_runs_top_to_bottom(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each code cell in order, in one namespace, from the notebook's folder: what "Run all" does in Jupyter."""
    monkeypatch.chdir(NOTEBOOK.parent)
    namespace: dict = {}
    for number, source in enumerate(code_cells(), start=1):
        try:
            exec(compile(source, f"{NOTEBOOK.name} cell {number}", "exec"), namespace)
        except Exception as error:
            pytest.fail(f"code cell {number} failed: {type(error).__name__}: {error}")
    assert namespace["f1_macro"] >= 0.9
