"""Reading where git stopped: which patch, which files, which hunks.

``git am`` leaves its state in ``rebase-apply/`` and conflict markers in the files; ``git apply``
only says so in its error lines. Both the engine (a stopped apply or rebase) and the replay (a
trial apply in a scratch index) read them here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import ProblemFound
from workbench.gitops.git import run

PATCH_FAILED_RE = re.compile(r"^error: patch failed: (?P<file>.+):(?P<line>\d+)$")
DOES_NOT_APPLY_RE = re.compile(
    r"^error: (?P<file>.+): (?:patch does not apply|does not exist in index|already exists in index)$"
)


@dataclass
class Conflict:
    """Where ``git am`` stopped: which patch, which files, which hunks."""

    patch: str
    index: int
    total: int
    files: dict[str, list[str]] = field(default_factory=dict)
    """File → conflicting regions (``lines 12-20``) or the hunk git could not place."""
    output: str = ""

    def describe(self) -> str:
        parts = []
        for f, hunks in self.files.items():
            parts.append(f"{f} ({', '.join(hunks)})" if hunks else f)
        where = "; ".join(parts) if parts else "see git am's output above"
        return f"patch {self.patch} ({self.index} of {self.total}) conflicts: {where}"


class ConflictError(ProblemFound):
    title = "conflict"

    def __init__(self, conflict: Conflict, name: str, worktree: str, kind: str):
        super().__init__(
            conflict.describe(),
            f"resolve in {worktree}, git add the files, then run `workbench patches {kind} "
            f"{name} --continue`; or `workbench patches {kind} {name} --abort` to back out",
            details=conflict.output,
        )
        self.conflict = conflict


def conflict_regions(path: Path) -> list[str]:
    """Line ranges of ``<<<<<<<`` … ``>>>>>>>`` blocks in a conflicted file."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    regions, start = [], None
    for i, line in enumerate(lines, 1):
        if line.startswith("<<<<<<<"):
            start = i
        elif line.startswith(">>>>>>>") and start is not None:
            regions.append(f"lines {start}-{i}")
            start = None
    return regions


def failed_hunks(output: str) -> dict[str, list[str]]:
    """File → the hunks ``git apply`` could not place, from its ``patch failed`` lines."""
    files: dict[str, list[str]] = {}
    for line in output.splitlines():
        m = PATCH_FAILED_RE.match(line.strip())
        if m:
            files.setdefault(m.group("file"), []).append(
                f"hunk at line {m.group('line')} does not apply"
            )
    return files


def files_from_errors(stderr: str) -> list[str]:
    """The files ``git apply`` names in its error lines, in order, once each."""
    files: list[str] = []
    for line in stderr.splitlines():
        m = PATCH_FAILED_RE.match(line.strip()) or DOES_NOT_APPLY_RE.match(line.strip())
        if m and m.group("file") not in files:
            files.append(m.group("file"))
    return files


def read_am_conflict(worktree: Path, entries: list[str], output: str) -> Conflict:
    """The conflict of a ``git am`` of ``entries`` that stopped in ``worktree``."""
    gitdir = Path(run(worktree, "rev-parse", "--absolute-git-dir").stdout)
    apply_dir = gitdir / "rebase-apply"
    try:
        index = int((apply_dir / "next").read_text().strip())
        total = int((apply_dir / "last").read_text().strip())
    except (OSError, ValueError):
        index, total = 0, len(entries)
    # git am numbers the patches of this run; map back onto the series' entries.
    offset = len(entries) - total
    entry = entries[offset + index - 1] if 0 < index <= total else "?"
    conflict = Conflict(
        patch=entry, index=offset + index, total=len(entries), output=output.strip()
    )
    unmerged = run(worktree, "diff", "--name-only", "--diff-filter=U").stdout
    for f in unmerged.splitlines():
        conflict.files[f] = conflict_regions(worktree / f)
    if not conflict.files:
        conflict.files = failed_hunks(output)
    return conflict
