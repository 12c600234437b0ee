"""How commands reach an Azure ML workspace: through one small interface, with three implementations.

- ``interface.py``: the interface, and the states and actions it reports (enums, one table each).
- ``sdk.py``: the real one, on azure-ai-ml; the only module that talks to Azure, imported only by commands that do.
- ``dry_run.py``: ``--dry-run``: reads answer from the checkout, writes are recorded and printed, nothing is sent.
- ``tests/mlops/fake_workspace.py`` (in tests): an in-memory fake, so command tests run in milliseconds.
"""

from mlops.workspace.interface import (
    Action,
    DeploymentFailed,
    DeploymentSpec,
    DeploymentState,
    EndpointState,
    JobState,
    JobStatus,
    Workspace,
)

__all__ = [
    "Action",
    "DeploymentFailed",
    "DeploymentSpec",
    "DeploymentState",
    "EndpointState",
    "JobState",
    "JobStatus",
    "Workspace",
]
