"""The words the CLI and the TUI show for the library's states, in one place.

Code decides on the enums; what a person reads is looked up here, so ``patches status``, the
Patches tab and the PR drafter say the same thing. Styles are colour names that both Rich markup
and Textual's ``Text`` understand. No Rich or Textual import here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from workbench.config import Recipe
from workbench.gitops.status import HeadOutcome, HeadTrial, WorktreeState

# --- the patch series: the patched worktree and the trial apply onto upstream's head -----------

WORKTREE_SENTENCE = {
    WorktreeState.MISSING: "missing",
    WorktreeState.CONFLICT: "stopped on a conflict",
    WorktreeState.UNSAVED_COMMITS: "has commits not saved to patches/",
    WorktreeState.PATCHES_CHANGED: "patches/ changed since it was built",
    WorktreeState.IN_SYNC: "in sync with patches/",
}
"""What follows the worktree's path: ``upstreams/ao/patched has commits not saved to patches/``."""

WORKTREE_STYLE = {
    WorktreeState.MISSING: "dim",
    WorktreeState.CONFLICT: "red",
    WorktreeState.UNSAVED_COMMITS: "yellow",
    WorktreeState.PATCHES_CHANGED: "yellow",
    WorktreeState.IN_SYNC: "green",
}


def worktree_sentence(state: WorktreeState, stopped: str | None = None) -> str:
    """The state in words; ``stopped`` names the operation a conflict stopped (apply, rebase)."""
    text = WORKTREE_SENTENCE[state]
    if state is WorktreeState.CONFLICT and stopped:
        return f"{stopped} {text}"
    return text


def worktree_hint(state: WorktreeState, name: str, stopped: str | None = None) -> str | None:
    """What to do next in that state; a command except while a conflict waits to be resolved."""
    if state is WorktreeState.CONFLICT:
        kind = stopped or "apply"
        return f"resolve, git add, then `workbench patches {kind} {name} --continue` (or --abort)"
    if state is WorktreeState.UNSAVED_COMMITS:
        return f"workbench patches refresh {name}"
    if state in (WorktreeState.MISSING, WorktreeState.PATCHES_CHANGED):
        return f"workbench patches apply {name}"
    return None


HEAD_SHORT = {
    HeadOutcome.CLEAN: "clean",
    HeadOutcome.THREE_WAY: "3-way",
    HeadOutcome.CONFLICT: "conflict",
    HeadOutcome.NOT_CHECKED: "?",
}
"""For a table column."""

HEAD_LONG = {
    HeadOutcome.CLEAN: "applies cleanly",
    HeadOutcome.THREE_WAY: "applies with a 3-way merge",
    HeadOutcome.CONFLICT: "conflicts",
    HeadOutcome.NOT_CHECKED: "not checked",
}

HEAD_STYLE = {
    HeadOutcome.CLEAN: "green",
    HeadOutcome.THREE_WAY: "yellow",
    HeadOutcome.CONFLICT: "red",
    HeadOutcome.NOT_CHECKED: "dim",
}


def head_outcome(trial: HeadTrial | None) -> HeadOutcome:
    return HeadOutcome.NOT_CHECKED if trial is None else trial.outcome


def head_trial_text(trial: HeadTrial | None, *, details: bool = False) -> str:
    """``applies cleanly``, ``conflicts at 0002-x.patch``…; with ``details`` also the patches
    that needed a 3-way merge or the files that conflict."""
    outcome = head_outcome(trial)
    text = HEAD_LONG[outcome]
    if trial is None:
        return text
    if outcome is HeadOutcome.CONFLICT:
        text += f" at {trial.failed or '?'}"
        if details:
            text += f" ({', '.join(trial.conflicts) or 'see apply'})"
    elif outcome is HeadOutcome.THREE_WAY and details:
        text += f" ({', '.join(trial.three_way)})"
    return text


# --- time: one clock, relative times -------------------------------------------------------------

Clock = Callable[[], datetime]
"""Now, as an aware UTC datetime; injectable so that tests and snapshots see a fixed time."""

STALE_DAYS = 30
"""An open item nobody touched for this long is marked stale."""
STALE_SYNC_HOURS = 24
"""A store not synced for this long is called stale in the status bar."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_stamp(stamp: str) -> datetime:
    """The store's ``YYYY-MM-DDTHH:MM:SSZ`` (or any ISO 8601 time) as an aware datetime."""
    value = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def seconds_since(stamp: str, now: datetime) -> float:
    return (now - parse_stamp(stamp)).total_seconds()


def ago(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return "never"
    seconds = max(0.0, seconds_since(stamp, now))
    for unit, size in (
        ("y", 365 * 86400),
        ("mo", 30 * 86400),
        ("d", 86400),
        ("h", 3600),
        ("m", 60),
    ):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def is_stale(stamp: str, now: datetime, days: int = STALE_DAYS) -> bool:
    return seconds_since(stamp, now) > days * 86400


# --- GitHub: CI rollup, review decision, labels ----------------------------------------------------

CI_STYLE = {"success": "green", "failure": "red", "pending": "yellow", "none": "dim"}
REVIEW_TEXT = {
    "APPROVED": ("approved", "green"),
    "CHANGES_REQUESTED": ("changes requested", "red"),
    "REVIEW_REQUIRED": ("review required", "yellow"),
}


def missing_labels(recipe: Recipe | None, labels: Sequence[str]) -> list[str]:
    """The recipe's required labels a PR lacks, as prefixes (``module:``)."""
    if recipe is None:
        return []
    return [
        " or ".join(req.any_prefix)
        for req in recipe.labels.required
        if not req.satisfied_by(tuple(labels))
    ]


# --- runs: tests and bench verdicts ---------------------------------------------------------------

VERDICT_STYLE = {
    "passed": "green",
    "regressions": "red",
    "no tests": "dim",
    "faster": "green",
    "slower": "red",
    "unchanged": "cyan",
    "inconclusive": "yellow",
    "outputs differ": "red",
    "no bench runs it": "yellow",
    "empty": "dim",
    "changed": "blue",
    "problems": "red",
    "no kernels": "dim",
}
