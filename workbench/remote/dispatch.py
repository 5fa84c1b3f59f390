"""Dispatch the workflow on the fork, after the checks, and find the run it started."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence

from workbench.errors import UsageError
from workbench.gitops.engine import SeriesEngine
from workbench.remote import records
from workbench.remote.actions import Actions, Run
from workbench.remote.errors import RunnerOffline
from workbench.remote.guard import check_pushed, check_worktree
from workbench.remote.records import RemoteRun
from workbench.remote.settings import Timing
from workbench.remote.workflow import SESSIONS, WORKFLOW_PATH, run_marker
from workbench.runs import now_iso


def require_token(actions: Actions) -> None:
    if actions.client.anonymous:
        raise UsageError(
            "dispatching a workflow needs a GitHub token", "set GH_TOKEN or run `gh auth login`"
        )


def dispatch(
    engine: SeriesEngine,
    actions: Actions,
    *,
    session: str,
    branch: str,
    labels: Sequence[str],
    timing: Timing,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RemoteRun:
    """Check, dispatch, record, and find the run id. Commits and pushes nothing."""
    if session not in SESSIONS:
        raise UsageError(f"unknown session {session!r}", f"use one of {', '.join(SESSIONS)}")
    require_token(actions)
    check_worktree(engine)
    actions.workflow()
    pushed = check_pushed(engine, actions, branch)
    dispatch_id = uuid.uuid4().hex[:12]
    rec = RemoteRun(
        dispatch_id=dispatch_id,
        upstream=engine.name,
        session=session,
        repo=actions.repo,
        branch=branch,
        commit=pushed.commit,
        runner_labels=list(labels),
        series_digest=engine.series().digest(),
        dispatched_at=now_iso(),
    )
    inputs = {
        "upstream": engine.name,
        "session": session,
        # The commit, not the branch: the runner checks out exactly what was compared above.
        "ref": pushed.commit,
        "runner_labels": json.dumps(list(labels)),
        "dispatch_id": dispatch_id,
    }
    run = actions.dispatch(branch, inputs)
    records.save(engine.ws, rec)
    if run is None:
        run = _find(actions, rec, timing, sleep, clock)
    rec.run_id, rec.html_url, rec.status = run.id, run.html_url, run.status
    records.save(engine.ws, rec)
    return rec


def _find(
    actions: Actions,
    rec: RemoteRun,
    timing: Timing,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> Run:
    """Poll the runs list for the run whose title carries the dispatch id (older API)."""
    marker = run_marker(rec.dispatch_id)
    start = clock()
    while True:
        run = actions.find_run(rec.branch, marker)
        if run is not None:
            return run
        if clock() - start >= timing.find_timeout:
            raise RunnerOffline(
                f"the run dispatched on {rec.repo} {rec.branch} did not show up within "
                f"{timing.find_timeout:g} s (dispatch id {rec.dispatch_id})",
                f"check the fork's Actions tab; its {WORKFLOW_PATH} must set run-name with "
                "inputs.dispatch_id",
            )
        sleep(timing.poll)
