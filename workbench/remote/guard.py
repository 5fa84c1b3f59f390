"""Before a dispatch: is the series the runner will check out the one in the worktree?

Two checks, each refusing with the next step to take:

1. the patched worktree's commits are all refreshed into ``patches/<name>/`` (the state the
   series engine keeps; the same one ``patches refresh`` and ``apply`` guard with), and
2. ``patches/<name>/`` at the pushed branch is the local folder, byte for byte. Git names a
   folder by the hash of its content, so one tree id computed here and one read from the API
   compare the whole folder without downloading it.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from workbench.display import worktree_sentence
from workbench.errors import UsageError
from workbench.gitops.engine import SeriesEngine
from workbench.gitops.git import run
from workbench.gitops.status import WorktreeState
from workbench.remote.actions import Actions
from workbench.remote.errors import SeriesNotPushed


@dataclass(frozen=True)
class Pushed:
    """What the runner will check out."""

    branch: str
    commit: str
    tree: str
    """The tree id of ``patches/<name>`` at ``commit``."""


def current_branch(root: Path) -> str:
    if not run(root, "rev-parse", "--git-dir", check=False).ok:
        raise UsageError(
            f"{root} is not a git repository",
            "a remote run checks out a pushed branch of your workbench fork; clone the fork",
        )
    result = run(root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if not result.ok or not result.stdout:
        raise UsageError(
            "the workbench checkout is on a detached HEAD", "give the branch to run: --ref BRANCH"
        )
    return result.stdout


def local_tree(root: Path, folder: Path) -> str:
    """The git tree id ``folder`` would have if committed as it is now (ignored files left out)."""
    rel = folder.resolve().relative_to(root.resolve()).as_posix()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        run(root, "add", "--all", "--", rel, env=env, what="git add (temporary index)")
        return run(root, "write-tree", f"--prefix={rel}/", env=env).stdout


def push_hint(root: Path, repo: str, branch: str) -> str:
    """``git push <remote> <branch>`` with the name of the git remote that points at ``repo``."""
    remotes = run(root, "remote", "-v", check=False).stdout
    pattern = re.compile(rf"[/:]{re.escape(repo)}(\.git)?/?$", re.IGNORECASE)
    for line in remotes.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-1] == "(push)" and pattern.search(parts[1]):
            return f"git push {parts[0]} {branch}"
    return f"git push <the remote for {repo}> {branch}"


def check_worktree(engine: SeriesEngine) -> None:
    """Refuse when the patched worktree holds work that ``patches/`` does not."""
    name = engine.name
    if not engine.co.exists() or engine.co.head(engine.co.patched) is None:
        return  # no worktree: the files are all there is
    wt = engine.report.worktree()
    if wt.uncommitted:
        raise SeriesNotPushed(
            f"{wt.path} has uncommitted changes ({', '.join(wt.uncommitted[:5])}); "
            "the runner would not see them",
            f"commit them, run `workbench patches refresh {name}`, commit patches/{name} and push",
        )
    if wt.state is not WorktreeState.IN_SYNC:
        # While a conflict waits the hint is a sentence; otherwise it is the command to run.
        raise SeriesNotPushed(
            f"{wt.path}: {worktree_sentence(wt.state, wt.stopped)}; the runner would run "
            "something else than your worktree",
            wt.hint if wt.state is WorktreeState.CONFLICT else f"run `{wt.hint}` first",
        )


def check_pushed(engine: SeriesEngine, actions: Actions, branch: str) -> Pushed:
    """Refuse unless ``patches/<name>/`` on ``branch`` of the fork equals the local folder."""
    ws, name, repo = engine.ws, engine.name, actions.repo
    hint = push_hint(ws.root, repo, branch)
    commit = actions.branch_head(branch)
    if commit is None:
        raise SeriesNotPushed(f"branch {branch} is not on {repo}", f"push it: {hint}")
    mine = local_tree(ws.root, engine.dir)
    theirs = actions.tree_entry(ws.relative(engine.dir.parent), name, commit)
    if theirs != mine:
        rel = ws.relative(engine.dir)
        dirty = run(ws.root, "status", "--porcelain", "--", rel, check=False).stdout
        first = f"commit {rel} (git add {rel} && git commit), then " if dirty else ""
        where = "has no" if theirs is None else "has another"
        raise SeriesNotPushed(
            f"{repo} {branch} ({commit[:12]}) {where} {rel}/ than your checkout; "
            "the runner would run another series",
            f"{first}{hint}",
        )
    return Pushed(branch=branch, commit=commit, tree=mine)
