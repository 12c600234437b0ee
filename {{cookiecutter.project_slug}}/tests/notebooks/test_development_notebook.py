"""notebooks/01_development.ipynb runs as Jupyter runs it: top to bottom in a real kernel, from its own folder in a
copy of this project, with its plots inline, its MLflow runs in the project's store, and the pipeline's outputs equal
to what its step functions computed. It is committed without outputs."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT, copy_project

NOTEBOOK = PROJECT / "notebooks" / "01_development.ipynb"
EXPERIMENT = "development-notebook"
# Appended to the notebook under test: the values the assertions need, printed by the kernel that computed them, and
# a plot drawn after everything else (importing the step scripts must not turn inline plots off).
PROBE = """
import json, sys
plt.plot([0, 1])
print(json.dumps({
    "python": sys.executable,
    "step_functions": metrics,
    "pipeline": pipeline_metrics,
    "run_folder": str(result.folder),
    "model_version": outcome.model_version,
}))
"""


def test_committed_without_outputs() -> None:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    assert all(not cell.get("outputs") and cell.get("execution_count") is None for cell in cells if "outputs" in cell)


def images_by_part(cells: list) -> dict[str, int]:
    """Inline images per part of the notebook (its `## ` headings)."""
    images: dict[str, int] = {}
    part = None
    for cell in cells:
        if cell.cell_type == "markdown":
            part = next((line[3:] for line in cell.source.splitlines() if line.startswith("## ")), part)
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                images[part] = images.get(part, 0) + 1
    return images


@pytest.mark.slow
def test_runs_in_a_kernel_with_inline_plots_tracked_runs_and_the_pipelines_outputs(tmp_path: Path) -> None:
    reason = "Jupyter is not in .venv: `make test` or `make notebook` installs it (the notebook dependency group)"
    nbclient = pytest.importorskip("nbclient", reason=reason)
    import nbformat

    project = copy_project(tmp_path / "project")
    shutil.copytree(PROJECT / "notebooks", project / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    folder = project / "notebooks"
    before = sorted(path.name for path in folder.iterdir())
    notebook = nbformat.read(folder / NOTEBOOK.name, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE))

    # Raises CellExecutionError, with the cell and its traceback, when a cell fails.
    nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(folder)}}
    ).execute()

    outputs = notebook.cells[-1].outputs
    probe = json.loads(next(output["text"] for output in outputs if output.get("name") == "stdout"))
    assert probe["python"] == sys.executable, "the kernel is not this project's .venv"
    warnings = [o["text"] for cell in notebook.cells for o in cell.get("outputs", []) if o.get("name") == "stderr"]
    assert not warnings, f"the notebook prints warnings: {warnings}"
    images = images_by_part(notebook.cells)
    parts = ["1. Explore and train", "2. The same logic, as the pipeline's step functions", "3. Run the pipeline"]
    assert all(images.get(part) for part in parts), f"plots are not inline in every part: {images}"
    assert any("image/png" in output.get("data", {}) for output in outputs), "a plot drawn last is not shown"

    # MLflow wrote into the project's store, nothing into notebooks/.
    assert sorted(path.name for path in folder.iterdir()) == before
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(run.info.run_name for run in runs) == ["hist_gradient_boosting", "random_forest", "step functions"]
    assert all(run.data.metrics["f1_macro"] > 0.9 for run in runs)
    assert Path(experiment.artifact_location.removeprefix("file://")).is_relative_to(project / "mlruns")

    # The pipeline ran in the project, and scored its model exactly as the step functions did in part 2.
    assert Path(probe["run_folder"]).parent == project / "runs"
    assert probe["pipeline"] == pytest.approx(probe["step_functions"], abs=1e-12)
    assert probe["model_version"] == "1"
