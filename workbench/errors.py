"""Domain errors: each carries a one-line message, a hint and the exit code the CLI returns.

Exit codes follow the design contract: 1 when an operation ran and found a problem (a conflict,
failing tests), 2 for bad input or environment (unknown upstream, malformed recipe, missing tool).
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base of every error the CLI turns into a one-line message."""

    exit_code = 2
    title = "error"

    def __init__(self, message: str, hint: str | None = None, *, details: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def one_line(self) -> str:
        """The message and the hint on one line, as the CLI prints it."""
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class UsageError(WorkbenchError):
    """Bad input or environment: exit 2."""

    exit_code = 2


class RecipeError(UsageError):
    """A recipe or workbench.toml that is malformed or incomplete."""

    title = "bad recipe"

    def __init__(self, file: str, key: str | None, expected: str, got: object = None):
        where = f"{file}: key '{key}'" if key else file
        message = f"{where}: {expected}"
        if got is not None:
            message += f"; got {got!r}"
        super().__init__(message, f"fix {file}")
        self.file = file
        self.key = key


class UnknownUpstream(UsageError):
    title = "unknown upstream"


class NotFetched(UsageError):
    title = "upstream not fetched"


class DirtyWorktree(UsageError):
    """Uncommitted work that an operation would drop; the operation refuses."""

    title = "uncommitted work"


class OperationInProgress(UsageError):
    title = "operation in progress"


class GitFailed(UsageError):
    """A git command failed for a reason that is not a patch conflict."""

    title = "git failed"


class ProblemFound(WorkbenchError):
    """The operation ran and found a problem: exit 1."""

    exit_code = 1
