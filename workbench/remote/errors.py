"""What can go wrong with a remote run, each with the exit code of the design contract.

Exit 2 (set-up): no workflow on the fork, the branch not pushed or not refreshed, no token.
Exit 1 (the run happened, or was dispatched, and there is a problem): no runner picked it up in
time, it failed, its artifact is gone or holds no results.
"""

from __future__ import annotations

from workbench.errors import ProblemFound, UsageError


class WorkflowMissing(UsageError):
    title = "workflow missing"


class SeriesNotPushed(UsageError):
    """The series the runner would check out is not the one in the worktree."""

    title = "series not pushed"


class RunnerOffline(ProblemFound):
    title = "no runner"


class RunFailed(ProblemFound):
    title = "run failed"


class ArtifactGone(ProblemFound):
    """Expired, deleted, or never uploaded."""

    title = "no artifact"
