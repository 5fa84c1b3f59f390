"""Follow a dispatched run to its end, and turn the outcome into an exit code."""

from __future__ import annotations

import time
from collections.abc import Callable

from workbench.paths import Workspace
from workbench.remote import records
from workbench.remote.actions import Actions, Run
from workbench.remote.errors import RunFailed, RunnerOffline
from workbench.remote.fetch import bring_home
from workbench.remote.records import RemoteRun
from workbench.remote.settings import Timing

Observer = Callable[[Run, float], None]
"""Called after each look at the run with the seconds since following began."""


def follow(
    actions: Actions,
    ws: Workspace,
    rec: RemoteRun,
    timing: Timing,
    *,
    observe: Observer | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Run:
    """Poll until the run completes. A run no runner takes within the queue timeout is
    cancelled (so it does not start on a GPU hours later, unasked) and reported."""
    assert rec.run_id is not None
    start = clock()
    last = None
    while True:
        run = actions.run(rec.run_id)
        if observe:
            observe(run, clock() - start)
        if run.status != last:
            rec.status, rec.conclusion, rec.html_url = run.status, run.conclusion, run.html_url
            records.save(ws, rec)
            last = run.status
        if run.done:
            return run
        if run.waiting_for_runner and clock() - start >= timing.queue_timeout:
            actions.cancel(rec.run_id)
            rec.status, rec.conclusion = "completed", "cancelled"
            rec.problem = "no runner"
            records.save(ws, rec)
            raise RunnerOffline(
                f"no runner with labels [{', '.join(rec.runner_labels)}] took run {rec.run_id} "
                f"within {timing.queue_timeout:g} s; the run was cancelled",
                "start a runner with these labels (the fork's Settings → Actions → Runners), or "
                "pass other --runner-labels, e.g. ubuntu-latest for the CPU paths",
            )
        sleep(timing.poll)


def finish(actions: Actions, ws: Workspace, rec: RemoteRun, run: Run) -> str:
    """Bring a completed run's results home; raises RunFailed when the run did not succeed."""
    try:
        folder = bring_home(actions, ws, rec, run)
    except Exception as exc:
        rec.problem = getattr(exc, "message", type(exc).__name__)
        records.save(ws, rec)
        raise
    rec.folder, rec.problem = ws.relative(folder), None
    records.save(ws, rec)
    if run.conclusion != "success":
        raise RunFailed(
            f"run {rec.run_id} concluded {run.conclusion}: nox -s {rec.upstream}_{rec.session} "
            "found a problem on the runner",
            f"results brought home to {rec.folder} ({rec.device or 'device unknown'}); "
            f"log: {run.html_url or rec.html_url}",
        )
    return rec.folder
