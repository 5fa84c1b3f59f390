"""What ``workbench pr open`` will do, as data: the planned PRs and each one's body.

A :class:`PublishPlan` is made by :func:`workbench.pr.publish.plan_open` from GitHub and the
series, without writing anything; it reads as the summary ``pr open`` asks about, as the
``--dry-run`` preview (a diff for an open PR), and as ``--json``. The body a PR gets is its own
under the stack list for a stack, with what the contributor wrote on GitHub carried over and the
version marker (:func:`compose`).
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.pr.model import GENERATED, human, quote
from workbench.pr.revision import carry_over, with_mark

if TYPE_CHECKING:
    from workbench.pr.update import Previous


@dataclass
class PlannedPr:
    branch: str
    commit: str
    title: str
    body: str
    labels: list[str]
    existing: str | None = None
    """The URL of an open PR from this branch, if there is one (it is not opened twice)."""
    number: int | None = None
    url: str | None = None
    labelled: bool = False
    own: str = ""
    """The PR's own body, before the stack list and the version marker go around it."""
    previous: Previous | None = None
    """Set when the PR is open already: this push is a new version of it."""
    body_changed: bool = False


@dataclass
class PublishPlan:
    upstream: str
    repo: str
    base: str
    fork: str
    push_url: str
    prs: list[PlannedPr]
    can_label: bool
    warnings: list[str] = field(default_factory=list)
    label_hint: str | None = None
    force: bool = False
    pin: str = ""
    """The commit the series sits on (the patched worktree's base)."""
    version: int = 1
    """The version of the series this push makes (v1: every PR is new)."""
    comment: str | None = None
    """The "vN: changes since vM" comment for the top PR, when a PR gets a new version."""
    comment_title: str | None = None
    changes: dict[str, int] = field(default_factory=dict)
    posted: bool = False
    comment_url: str | None = None
    up_to_date: bool = False
    """Every PR is open and already holds this version: nothing to push, edit or post."""

    @property
    def updates(self) -> list[PlannedPr]:
        return [pr for pr in self.prs if pr.previous]

    def describe(self, *, comment: bool = True) -> str:
        lines = [
            f"push {len(self.prs)} branch(es) to {self.fork}"
            + (
                " (force: replaces what is there)"
                if self.force and any(not pr.previous for pr in self.prs)
                else ""
            )
            + ":"
        ]
        for pr in self.prs:
            if pr.previous:
                held = pr.previous.commit[:12] if pr.previous.commit else "nothing"
                lines.append(
                    f"  {pr.commit[:12]} -> {pr.branch} (v{self.version}, with a lease: only "
                    f"if it still holds {held})"
                )
            else:
                lines.append(f"  {pr.commit[:12]} -> {pr.branch}")
        new = [pr for pr in self.prs if not pr.previous]
        if new:
            lines.append(f"open {len(new)} DRAFT PR(s) against {self.repo}:{self.base}:")
            lines += [f"  {pr.title}" for pr in new]
        if self.updates:
            lines.append(f"update {len(self.updates)} open PR(s) to v{self.version}:")
            for pr in self.updates:
                assert pr.previous is not None
                what = "body changed" if pr.body_changed else "body unchanged"
                if pr.title != pr.previous.title:
                    what += ", title changed"
                lines.append(
                    f"  #{pr.number} {pr.title} (already open: {pr.existing}): "
                    f"v{pr.previous.version} -> v{self.version}, {what}"
                )
        if self.comment:
            counts = ", ".join(f"{n} {kind}" for kind, n in self.changes.items() if n)
            where = f"#{self.prs[-1].number}" if self.prs[-1].number else "the top PR"
            lines.append(
                f'comment on {where}: "{self.comment_title}" ({counts})'
                + ("" if comment else ": not posted (--no-comment)")
            )
        labels = self.prs[-1].labels if self.prs else []
        if labels and new:
            how = "set" if self.can_label else "listed for you (this token cannot set labels)"
            lines.append(f"labels {how}: {', '.join(labels)}")
            if not self.can_label and self.label_hint:
                lines.append(f"  ask: {self.label_hint}")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)

    def preview(self, *, comment: bool = True) -> str:
        """What ``--dry-run`` shows beyond :meth:`describe`: each body as it would go out (a
        diff against GitHub's for an open PR) and the comment, in full."""
        parts = []
        for pr in self.prs:
            prev = pr.previous
            if prev is None:
                parts.append(f"--- new PR: {pr.title} ---\n{pr.body.rstrip()}\n")
                continue
            if pr.title != prev.title:
                parts.append(f"PR #{pr.number}: title {prev.title!r} -> {pr.title!r}\n")
            if not pr.body_changed:
                parts.append(f"PR #{pr.number}: body unchanged\n")
                continue
            diff = difflib.unified_diff(
                prev.body.splitlines(keepends=True),
                pr.body.splitlines(keepends=True),
                fromfile=f"PR #{pr.number} body (v{prev.version}, on GitHub)",
                tofile=f"PR #{pr.number} body (v{self.version})",
            )
            parts.append("".join(line if line.endswith("\n") else line + "\n" for line in diff))
        if self.comment:
            where = f"#{self.prs[-1].number}" if self.prs[-1].number else "the top PR"
            head = f"--- comment on {where}" + ("" if comment else " (not posted: --no-comment)")
            parts.append(f"{head} ---\n{self.comment}")
        elif self.updates:
            parts.append("no comment\n")
        return "\n".join(parts)

    def to_json(self) -> dict:
        doc: dict[str, Any] = {"schema": 1, "kind": "pr-open", **asdict(self)}
        top = self.prs[-1] if self.prs else None
        for entry, pr in zip(doc["prs"], self.prs, strict=True):
            entry.pop("own")
            entry.pop("previous")
            entry["update"] = (
                {
                    "version": self.version,
                    "old_version": pr.previous.version,
                    "old_commit": pr.previous.commit,
                    "new_commit": pr.commit,
                    "body_changed": pr.body_changed,
                    "title_changed": pr.title != pr.previous.title,
                    "comment": self.comment if pr is top else None,
                    "posted": self.posted if pr is top else False,
                }
                if pr.previous
                else None
            )
        return doc


def _stack_body(plan: PublishPlan, index: int, own: str) -> str:
    """The stack list (with links once the PRs exist) above a PR's own body."""
    rows = []
    for i, pr in enumerate(plan.prs):
        ref = f"#{pr.number}" if pr.number else f"`{pr.branch}`"
        mark = " ← this PR" if i == index else ""
        rows.append(f"{i + 1}. {ref} {pr.title}{mark}")
    head = (
        f"{GENERATED}: a stack of {len(plan.prs)} draft PRs from `{plan.fork}`, each holding "
        "the patches below it; review the last commit of each.\n\n" + "\n".join(rows)
    )
    return quote(head) + "\n\n" + own


def top_ref(branch: str) -> str:
    return f"the top of the stack (`{branch}`)"


def lower_body(patch_body: str, top: str) -> str:
    text = patch_body.strip() or None
    part = (
        f"<!-- human:description -->\n{text}\n<!-- /human:description -->"
        if text
        else human("description", "In your own words: what this patch changes and why.")
    )
    return (
        part
        + "\n\n"
        + quote(f"{GENERATED}: tests and benchmarks were run on the whole series; see {top}.")
    )


def compose(plan: PublishPlan, index: int) -> tuple[str, list[str]]:
    """The body PR ``index`` gets: its own body, under the stack list for a stack, with what the
    contributor wrote on GitHub carried over for an open PR, and the version marker; and the
    notes on what was carried over."""
    pr, top = plan.prs[index], plan.prs[-1]
    own = pr.own
    if len(plan.prs) > 1:
        if index < len(plan.prs) - 1 and top.number:
            own = own.replace(top_ref(top.branch), f"#{top.number}")
        own = _stack_body(plan, index, own)
    notes: list[str] = []
    if pr.previous:
        own, notes = carry_over(pr.previous.merge_from, own)
    return with_mark(own, plan.version, pr.commit, top.commit), notes
