"""Following a submitted job until it ends; on timeout the Azure ML job is cancelled, never left running."""

from __future__ import annotations

import time
from collections.abc import Callable

from mlops.errors import MlopsError
from mlops.workspace import JobState, Workspace


class Stop(KeyboardInterrupt):
    """Raised by the CLI's SIGTERM handler (a cancelled CI job): handled exactly like Ctrl-C."""


def follow(
    workspace: Workspace,
    state: JobState,
    timeout: float,
    poll: float,
    report: Callable[[JobState], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> JobState:
    """Report each change of the job's or its steps' status until the job finishes."""
    deadline = clock() + timeout
    last = (state.status, dict(state.steps))
    while not state.finished:
        if clock() >= deadline:
            workspace.cancel(state.name)
            raise MlopsError(f"job {state.name} did not finish within {timeout:.0f} s and was cancelled")
        sleep(poll)
        state = workspace.state(state.name)
        if (state.status, dict(state.steps)) != last:
            report(state)
            last = (state.status, dict(state.steps))
    return state
