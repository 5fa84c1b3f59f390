"""What ``patches status`` knows about a series, as typed values.

Everything here is data: the sentence for each state lives in :mod:`workbench.display`, so the
CLI, the TUI and the PR drafter say the same thing, and code decides by comparing
:class:`WorktreeState` members, never words. :meth:`SeriesStatus.to_json` is the document that
``workbench patches status --json`` prints; ``schema`` changes when a key changes meaning.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar


class WorktreeState(enum.Enum):
    """Where the patched worktree stands against ``patches/<name>/``; values are JSON's words."""

    MISSING = "missing"
    """No patched worktree (never applied, or removed)."""
    CONFLICT = "conflict"
    """An apply or rebase stopped on a conflict and waits for ``--continue`` or ``--abort``."""
    UNSAVED_COMMITS = "unsaved-commits"
    """HEAD moved since the last apply/refresh: commits the patch files do not have."""
    PATCHES_CHANGED = "patches-changed"
    """The patch files changed since the worktree was built from them (edited, or pulled)."""
    IN_SYNC = "in-sync"
    """The worktree is what the patch files give."""


class HeadOutcome(enum.Enum):
    """The trial apply of the series onto upstream's head."""

    CLEAN = "clean"
    THREE_WAY = "3-way"
    """Applies, but only with a three-way merge for some patches."""
    CONFLICT = "conflict"
    NOT_CHECKED = "not-checked"


@dataclass(frozen=True)
class Pin:
    """The commit the series applies to, where that choice comes from, and its sha if known."""

    ref: str
    source: str
    commit: str | None = None


@dataclass(frozen=True)
class UpstreamHead:
    branch: str
    head: str | None
    """The fetched tip of the default branch; None before a fetch."""
    date: str | None = None
    commits_since_pin: int | None = None


@dataclass(frozen=True)
class Worktree:
    path: str
    """Relative to the workbench root."""
    head: str | None
    base: str | None
    """The commit the worktree was built on, as recorded."""
    state: WorktreeState
    stopped: str | None = None
    """With :attr:`WorktreeState.CONFLICT`: the operation that stopped (``apply`` or ``rebase``)."""
    uncommitted: tuple[str, ...] = ()
    """``git status --porcelain`` lines, stripped."""
    hint: str | None = None
    """What to do next, when anything is to be done."""


@dataclass(frozen=True)
class PatchFile:
    """One file a patch touches."""

    path: str
    renamed_from: str | None = None
    added: int | None = None
    """Lines added; None for a binary file."""
    deleted: int | None = None


@dataclass(frozen=True)
class PatchInfo:
    file: str
    subject: str
    author: str
    files: tuple[PatchFile, ...] = ()

    @property
    def added(self) -> int:
        return sum(f.added or 0 for f in self.files)

    @property
    def deleted(self) -> int:
        return sum(f.deleted or 0 for f in self.files)


@dataclass(frozen=True)
class HeadTrial:
    """The series replayed onto upstream's head in a scratch index."""

    onto: str
    ok: bool
    clean: bool
    three_way: tuple[str, ...] = ()
    """Patches that applied only with a three-way merge."""
    failed: str | None = None
    """The first patch that did not apply."""
    conflicts: tuple[str, ...] = ()
    """Files of the failed patch that conflict."""

    @property
    def outcome(self) -> HeadOutcome:
        if not self.ok:
            return HeadOutcome.CONFLICT
        return HeadOutcome.CLEAN if self.clean else HeadOutcome.THREE_WAY


@dataclass(frozen=True)
class SeriesStatus:
    SCHEMA: ClassVar[int] = 1

    upstream: str
    repo: str
    url: str
    url_source: str
    pin: Pin
    upstream_head: UpstreamHead
    worktree: Worktree
    patches: tuple[PatchInfo, ...] = ()
    applies_to_head: HeadTrial | None = None
    """None when the trial was not asked for or upstream was never fetched."""
    changed_files: tuple[str, ...] = ()
    """Every path the series touches (both names of a rename), sorted."""

    @property
    def head_outcome(self) -> HeadOutcome:
        trial = self.applies_to_head
        return HeadOutcome.NOT_CHECKED if trial is None else trial.outcome

    def to_json(self) -> dict[str, Any]:
        wt, up, trial = self.worktree, self.upstream_head, self.applies_to_head
        return {
            "schema": self.SCHEMA,
            "upstream": self.upstream,
            "repo": self.repo,
            "url": self.url,
            "url_source": self.url_source,
            "pin": {"ref": self.pin.ref, "source": self.pin.source, "commit": self.pin.commit},
            "upstream_head": {
                "branch": up.branch,
                "head": up.head,
                "date": up.date,
                "commits_since_pin": up.commits_since_pin,
            },
            "worktree": {
                "path": wt.path,
                "head": wt.head,
                "base": wt.base,
                "state": wt.state.value,
                "stopped": wt.stopped,
                "hint": wt.hint,
                "uncommitted": list(wt.uncommitted),
            },
            "patches": [
                {
                    "file": p.file,
                    "subject": p.subject,
                    "author": p.author,
                    "files": [
                        {
                            "path": f.path,
                            "renamed_from": f.renamed_from,
                            "added": f.added,
                            "deleted": f.deleted,
                        }
                        for f in p.files
                    ],
                    "added": p.added,
                    "deleted": p.deleted,
                }
                for p in self.patches
            ],
            "applies_to_head": None
            if trial is None
            else {
                "onto": trial.onto,
                "outcome": trial.outcome.value,
                "clean": trial.clean,
                "ok": trial.ok,
                "three_way": list(trial.three_way),
                "failed": trial.failed,
                "conflicts": list(trial.conflicts),
            },
            "changed_files": list(self.changed_files),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> SeriesStatus:
        """The inverse of :meth:`to_json` (for a document of this schema)."""
        if doc.get("schema") != cls.SCHEMA:
            raise ValueError(f"series status schema {doc.get('schema')!r}, expected {cls.SCHEMA}")
        wt, trial = doc["worktree"], doc["applies_to_head"]
        return cls(
            upstream=doc["upstream"],
            repo=doc["repo"],
            url=doc["url"],
            url_source=doc["url_source"],
            pin=Pin(**doc["pin"]),
            upstream_head=UpstreamHead(**doc["upstream_head"]),
            worktree=Worktree(
                path=wt["path"],
                head=wt["head"],
                base=wt["base"],
                state=WorktreeState(wt["state"]),
                stopped=wt["stopped"],
                uncommitted=tuple(wt["uncommitted"]),
                hint=wt["hint"],
            ),
            patches=tuple(
                PatchInfo(
                    file=p["file"],
                    subject=p["subject"],
                    author=p["author"],
                    files=tuple(PatchFile(**f) for f in p["files"]),
                )
                for p in doc["patches"]
            ),
            applies_to_head=None
            if trial is None
            else HeadTrial(
                onto=trial["onto"],
                ok=trial["ok"],
                clean=trial["clean"],
                three_way=tuple(trial["three_way"]),
                failed=trial["failed"],
                conflicts=tuple(trial["conflicts"]),
            ),
            changed_files=tuple(doc["changed_files"]),
        )
