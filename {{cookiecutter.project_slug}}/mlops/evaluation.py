"""The evaluate step's verdict on a finished Azure ML job, and the model it promotes, registered with its lineage."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.errors import MlopsError
from mlops.workspace import Workspace

OUTPUT = "evaluation"  # the pipeline output holding decision.json and metrics.json
MODEL_OUTPUT = "model"


@dataclass(frozen=True)
class Verdict:
    decision: Mapping[str, Any]  # decision.json: promote, primary_metric, value, threshold, reasons
    metrics: Mapping[str, Any]

    @property
    def promote(self) -> bool:
        return bool(self.decision.get("promote"))

    @property
    def reasons(self) -> str:
        return " ".join(self.decision.get("reasons", []))


def read(workspace: Workspace, job_name: str) -> Verdict:
    with tempfile.TemporaryDirectory() as folder:
        evaluation = workspace.download_output(job_name, OUTPUT, Path(folder))
        files = {name: evaluation / name for name in ("decision.json", "metrics.json")}
        missing = [name for name, path in files.items() if not path.is_file()]
        if missing:
            raise MlopsError(
                f"job {job_name} has no {' or '.join(missing)} in its {OUTPUT} output; the evaluate step did not "
                "write it (see the step's log in the studio)"
            )
        read_json = {name: json.loads(path.read_text(encoding="utf-8")) for name, path in files.items()}
    return Verdict(read_json["decision.json"], read_json["metrics.json"])


def register_model(
    workspace: Workspace, model_name: str, job_name: str, verdict: Verdict, tags: Mapping[str, str]
) -> str:
    """The promoted model, with what it came from: commit, CI run, pipeline job, data version and metrics."""
    lineage = {
        **tags,
        "pipeline_job": job_name,
        **{f"metric_{key}": str(value) for key, value in verdict.metrics.items()},
    }
    return workspace.register_model(model_name, job_name, MODEL_OUTPUT, lineage)
