"""What can go wrong between the workbench and GitHub, each as one line and an exit code."""

from __future__ import annotations

from workbench.errors import WorkbenchError


class GitHubError(WorkbenchError):
    """GitHub could not be used: exit 2 (environment)."""

    title = "GitHub"


class RateLimited(GitHubError):
    """The rate limit ran out; what was fetched before is kept. The sync ran and stopped: exit 1."""

    exit_code = 1
    title = "rate limit"

    def __init__(self, message: str, hint: str | None = None, *, reset: int | None = None):
        super().__init__(message, hint)
        self.reset = reset


class BadToken(GitHubError):
    title = "bad token"


class Unreachable(GitHubError):
    """No answer from the API: no network, DNS, refused, or timeouts after the retries."""

    title = "offline"


class UnexpectedResponse(GitHubError):
    """An answer that is not the JSON the tracker expects; nothing of it is stored."""

    title = "unexpected answer"


class NotSynced(GitHubError):
    title = "not synced"
