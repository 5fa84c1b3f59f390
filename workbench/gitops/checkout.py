"""The upstream clone and its two worktrees.

``upstreams/<name>/src`` is a bare repository that fetches only the default branch and the tags
(pytorch repos carry thousands of ghstack branches nobody here needs). ``base`` is a detached
worktree at the pin; ``patched`` is a worktree on the local branch ``workbench/<name>`` at the pin
plus the series. A second fetch of an up-to-date clone is one ``git fetch`` and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.config import Recipe
from workbench.errors import NotFetched, UsageError
from workbench.gitops.git import last_line, run
from workbench.paths import Workspace

SHA_RE = re.compile(r"^[0-9a-fA-F]{7,64}$")


@dataclass(frozen=True)
class FetchReport:
    cloned: bool
    url: str
    url_changed: bool
    default_head: str


class UpstreamCheckout:
    def __init__(self, ws: Workspace, recipe: Recipe):
        self.ws = ws
        self.recipe = recipe
        self.name = recipe.name
        self.src = ws.src(recipe.name)
        self.base = ws.base(recipe.name)
        self.patched = ws.patched(recipe.name)

    @property
    def branch(self) -> str:
        return f"workbench/{self.name}"

    @property
    def remote_ref(self) -> str:
        return f"refs/remotes/origin/{self.recipe.upstream.default_branch}"

    def exists(self) -> bool:
        return (self.src / "HEAD").is_file() and (self.src / "objects").is_dir()

    def require(self) -> None:
        if not self.exists():
            raise NotFetched(
                f"{self.name} has no clone yet at {self.ws.relative(self.src)}",
                f"run: workbench upstream fetch {self.name}",
            )

    def git(self, *args: str, **kw: Any) -> str:
        return run(self.src, *args, **kw).stdout

    # --- network ---------------------------------------------------------------------------------

    def fetch(self) -> FetchReport:
        """Clone (first time) or fetch: exactly one network operation either way."""
        url = self.recipe.upstream.url
        branch = self.recipe.upstream.default_branch
        cloned = url_changed = False
        if not self.exists():
            self.src.mkdir(parents=True, exist_ok=True)
            run(self.src, "init", "--bare", "--quiet")
            run(self.src, "remote", "add", "origin", url)
            cloned = True
        else:
            current = run(self.src, "remote", "get-url", "origin", check=False).stdout
            if current != url:
                run(self.src, "remote", "set-url", "origin", url)
                url_changed = True
        # Re-state the refspec each time so a changed default branch is picked up.
        run(
            self.src,
            "config",
            "remote.origin.fetch",
            f"+refs/heads/{branch}:refs/remotes/origin/{branch}",
        )
        result = run(self.src, "fetch", "--quiet", "--tags", "--prune", "origin", check=False)
        if not result.ok:
            raise UsageError(
                f"cannot fetch {self.name} from {url}: {last_line(result.stderr)}",
                f"check the URL (WORKBENCH_{self.name.upper()}_URL or workbench.toml) and the network",
            )
        head = self.git("rev-parse", "--verify", "--quiet", self.remote_ref, check=False)
        if not head:
            raise UsageError(
                f"{url} has no branch '{branch}'",
                f"fix default_branch in {self.ws.relative(self.recipe.file)}",
            )
        return FetchReport(cloned=cloned, url=url, url_changed=url_changed, default_head=head)

    def fetch_ref(self, ref: str) -> str | None:
        """Fetch one ref the regular fetch does not bring (a branch or commit pin)."""
        result = run(self.src, "fetch", "--quiet", "origin", ref, check=False)
        if not result.ok:
            return None
        return (
            self.git("rev-parse", "--verify", "--quiet", "FETCH_HEAD^{commit}", check=False) or None
        )

    # --- refs --------------------------------------------------------------------------------------

    def resolve(self, ref: str) -> str | None:
        """A tag, a branch of origin, a commit or any revision, as a full commit id."""
        candidates = [f"refs/tags/{ref}", f"refs/remotes/origin/{ref}", ref]
        if ref.startswith("origin/"):
            candidates.insert(0, f"refs/remotes/{ref}")
        for c in candidates:
            sha = run(
                self.src, "rev-parse", "--verify", "--quiet", f"{c}^{{commit}}", check=False
            ).stdout
            if sha:
                return sha
        return None

    def resolve_or_fetch(self, ref: str, what: str) -> str:
        sha = self.resolve(ref) or self.fetch_ref(ref)
        if not sha:
            raise UsageError(
                f"{what} '{ref}' is not a tag, branch or commit of {self.recipe.upstream.url}",
                "fix the pin, or run: workbench upstream fetch " + self.name,
            )
        return sha

    def default_head(self) -> str | None:
        return self.git("rev-parse", "--verify", "--quiet", self.remote_ref, check=False) or None

    # --- worktrees ---------------------------------------------------------------------------------

    def worktree_ok(self, path: Path) -> bool:
        return (path / ".git").is_file()

    def head(self, path: Path) -> str | None:
        if not self.worktree_ok(path):
            return None
        return run(path, "rev-parse", "--verify", "--quiet", "HEAD", check=False).stdout or None

    def uncommitted(self, path: Path) -> list[str]:
        """``git status --porcelain`` lines of a worktree (untracked files included), less the
        caches Python and pytest leave where code and tests ran (never anyone's work: an
        upstream without a ``.gitignore`` for them would otherwise read as changed)."""
        if not self.worktree_ok(path):
            return []
        out = run(path, "status", "--porcelain=v1", "--untracked-files=normal", strip=False).stdout
        return [ln for ln in out.splitlines() if ln.strip() and not _is_cache(ln)]

    def ensure_base(self, sha: str) -> bool:
        """Put the ``base`` worktree at ``sha``; returns True when it moved."""
        if not self.worktree_ok(self.base):
            run(self.src, "worktree", "prune")
            run(self.src, "worktree", "add", "--force", "--detach", "--quiet", str(self.base), sha)
            return True
        if self.head(self.base) == sha:
            return False
        dirty = self.uncommitted(self.base)
        if dirty:
            from workbench.errors import DirtyWorktree

            raise DirtyWorktree(
                f"{self.ws.relative(self.base)} has changes ({len(dirty)} files, e.g. "
                f"{dirty[0].strip()}); it is kept at the pin and must stay clean",
                "make changes in the patched worktree; clean base with: git -C "
                f"{self.ws.relative(self.base)} stash",
            )
        run(self.base, "checkout", "--quiet", "--detach", sha)
        return True

    def create_patched(self, sha: str) -> None:
        run(self.src, "worktree", "prune")
        run(
            self.src,
            "worktree",
            "add",
            "--force",
            "--quiet",
            "-B",
            self.branch,
            str(self.patched),
            sha,
        )

    def am_in_progress(self) -> bool:
        if not self.worktree_ok(self.patched):
            return False
        gitdir = Path(run(self.patched, "rev-parse", "--absolute-git-dir").stdout)
        return (gitdir / "rebase-apply").is_dir()

    def is_ancestor(self, a: str, b: str) -> bool:
        return run(self.src, "merge-base", "--is-ancestor", a, b, check=False).ok


CACHE_PARTS = ("__pycache__", ".pytest_cache")


def is_cache_path(path: str) -> bool:
    """A bytecode or pytest cache file or folder: what running code leaves, never source."""
    path = path.strip().strip('"').rstrip("/")
    return any(p in CACHE_PARTS for p in path.split("/")) or path.endswith(".pyc")


def _is_cache(status_line: str) -> bool:
    """An untracked entry of ``git status --porcelain`` that is a bytecode or pytest cache."""
    return status_line.startswith("?? ") and is_cache_path(status_line[3:])
