"""Running git through GitPython with a predictable environment.

All git work goes through :func:`run` so output is parseable (``LC_ALL=C``), git never waits for a
password on a terminal, and failures become :class:`GitFailed` with git's own words.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import git

from workbench.errors import GitFailed, UsageError

# Options that make format-patch output the same on every machine, whatever the user's config.
STABLE_DIFF = (
    "-c",
    "diff.noprefix=false",
    "-c",
    "diff.mnemonicPrefix=false",
    "-c",
    "diff.relative=false",
    "-c",
    "diff.external=",
    "-c",
    "core.quotePath=true",
)


@dataclass(frozen=True)
class Result:
    status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.status == 0


def base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {"LC_ALL": "C", "LANG": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true"}
    if extra:
        env.update(extra)
    return env


def run(
    cwd: Path,
    *args: str,
    check: bool = True,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    what: str | None = None,
    strip: bool = True,
) -> Result:
    """Run ``git args`` in ``cwd`` (a worktree or a bare repository)."""
    cmd = git.Git(str(cwd))
    with tempfile.TemporaryFile() as feed:
        if stdin is not None:
            feed.write(stdin.encode("utf-8"))
            feed.seek(0)
        try:
            status, out, err = cmd.execute(
                ["git", *args],
                with_extended_output=True,
                with_exceptions=False,
                env=base_env(env),
                istream=feed if stdin is not None else None,
                strip_newline_in_stdout=strip,
            )
        except git.GitCommandNotFound:
            raise UsageError(
                "git is not installed or not on PATH", "install git 2.34 or newer"
            ) from None
    result = Result(status, out or "", err or "")
    if check and not result.ok:
        raise GitFailed(
            f"{what or 'git ' + args[0]} failed: {last_line(result.stderr or result.stdout)}",
            f"in {cwd}",
            details=result.stderr,
        )
    return result


def last_line(text: str) -> str:
    """The last non-empty line of a command's output: what went wrong, for a one-line error."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


def identity_problem(cwd: Path) -> str | None:
    """A message when git has no committer identity (``git am`` and commits would fail)."""
    if os.environ.get("GIT_COMMITTER_NAME") and os.environ.get("GIT_COMMITTER_EMAIL"):
        return None
    name = run(cwd, "config", "user.name", check=False).stdout
    email = run(cwd, "config", "user.email", check=False).stdout
    if name and email:
        return None
    return "git has no identity for the commits it makes"


def require_identity(cwd: Path) -> None:
    if identity_problem(cwd):
        raise UsageError(
            "git has no user.name/user.email for the commits it makes",
            "run: git config --global user.name 'Your Name' && "
            "git config --global user.email you@example.com",
        )
