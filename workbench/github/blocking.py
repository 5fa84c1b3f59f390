"""What keeps a PR from moving, from what the store holds: one entry per check, thread or rule.

The entries, in the order a contributor acts on them: failing checks (with the first error line
of the job's log once ``workbench prs log`` fetched it), conflicts with the base, changes
requested, unresolved review threads (marked when the last comment came after the last push),
required labels missing (the recipe's rule, e.g. ao's ``module:``), still a draft, no activity
for ``idle_days``. Everything is read offline; nothing here talks to GitHub.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workbench.config import Recipe
from workbench.display import missing_labels, seconds_since
from workbench.github.model import THREADS_READ, PrStatus
from workbench.github.store import Store, StoredJobLog, TrackedItem
from workbench.github.triage import BLOCKING, TriageFacts, classify, read_facts

IDLE_DAYS = 7
"""An open PR with no activity for this long is listed as idle: time to ask for a review."""
KINDS = ("check", "conflict", "changes-requested", "thread", "label", "draft", "idle")


@dataclass(frozen=True)
class Blocker:
    kind: str
    """One of :data:`KINDS`."""
    name: str
    """What it is about: the check (``workflow / job``), ``path:line``, ``@reviewer``, the rule."""
    detail: str
    """One line: the first error line, the last comment, what to do."""
    url: str | None = None
    klass: str | None = None
    """A failing check's class (:data:`workbench.github.triage.CLASSES`): whose it is."""
    why: str | None = None
    """The evidence for ``klass``, in one line."""
    ask: str | None = None
    """What to ask a maintainer for, when the next step is not the contributor's to take."""
    drci: str | None = None
    """Dr. CI's class for the same check (ao), where it posted one."""

    @property
    def blocks(self) -> bool:
        """Whether it is the contributor's to act on: a failing check only when its class is
        ``new`` or ``unclassified``."""
        return self.kind != "check" or self.klass is None or self.klass in BLOCKING

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "detail": self.detail,
            "url": self.url,
        }
        if self.kind == "check":
            out |= {"class": self.klass, "why": self.why, "blocks": self.blocks}
            if self.ask:
                out["ask"] = self.ask
            if self.drci:
                out["drci"] = self.drci
        return out

    def line(self) -> str:
        return f"{self.kind}: {self.name}" + (f" — {self.detail}" if self.detail else "")


def first_line(text: str, width: int = 100) -> str:
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def blockers(
    t: TrackedItem,
    status: PrStatus | None,
    recipe: Recipe | None,
    now: datetime,
    *,
    logs: Mapping[tuple[str, int], StoredJobLog] | None = None,
    idle_days: int = IDLE_DAYS,
    facts: TriageFacts | None = None,
) -> list[Blocker]:
    """What blocks the open PR ``t``; ``status`` from the last status search (None: the PR is
    neither the contributor's nor awaiting their review, so only what the list gives is known);
    ``logs`` the failing jobs' logs fetched so far, by (repo, job id); ``facts`` what the sync
    learnt of the merge bases, to classify each failing check (:mod:`workbench.github.triage`)."""
    item = t.item
    if not item.is_pull_request or item.state != "open":
        return []
    out: list[Blocker] = []
    logs = logs or {}
    if status is not None:
        out += _checks(status, logs, facts or TriageFacts())
        if status.mergeable == "CONFLICTING":
            base = recipe.upstream.default_branch if recipe else "the base branch"
            out.append(Blocker("conflict", base, f"conflicts with {base}: rebase the series"))
        out += _reviews(status)
        out += _threads(status)
    elif t.ci == "failure":
        out.append(
            Blocker(
                "check",
                "CI",
                "failing (sync with a token for the checks)",
                klass="unclassified",
                why="its checks were not synced: they are read for your PRs with a token",
            )
        )
    labels: Sequence[str] = status.labels if status is not None and status.labels else item.labels
    for rule in missing_labels(recipe, labels):
        out.append(Blocker("label", rule, "required label missing"))
    if status.draft if status is not None else item.draft:
        out.append(Blocker("draft", "draft", "still a draft: mark it ready for review"))
    updated = max(filter(None, (item.updated_at, status.updated_at if status else None)))
    idle = seconds_since(updated, now) / 86400
    if idle > idle_days:
        out.append(Blocker("idle", f"{int(idle)} days", f"no activity for {int(idle)} days"))
    return out


def _checks(
    status: PrStatus, logs: Mapping[tuple[str, int], StoredJobLog], facts: TriageFacts
) -> list[Blocker]:
    out = []
    for c in status.checks:
        if not c.failed:
            continue
        log = logs.get((status.repo, c.job_id)) if c.job_id is not None else None
        if log is not None and log.first_error:
            detail = log.first_error
        elif c.job_id is not None:
            detail = f"{c.conclusion}; its log: workbench prs log {status.repo}#{status.number}"
        else:
            detail = str(c.conclusion)
        if facts.logs is not logs and log is not None:
            facts.logs.setdefault((status.repo, log.job_id), log)
        verdict = classify(c, status, facts)
        out.append(
            Blocker(
                "check",
                c.label,
                detail,
                c.url,
                klass=verdict.klass,
                why=verdict.why,
                ask=verdict.ask,
                drci=verdict.drci,
            )
        )
    if status.ci == "failure" and not out:
        unread = status.checks_total - len(status.checks)
        why = (
            f"a failing check among the {unread} not read"
            if unread > 0
            else f"GitHub's rollup says failing; none of the {len(status.checks)} checks read is"
        )
        out.append(Blocker("check", "CI", why, klass="unclassified", why=why))
    return out


def _reviews(status: PrStatus) -> list[Blocker]:
    out = [
        Blocker(
            "changes-requested",
            f"@{r.author or 'ghost'}",
            "changes requested" + (f" on {r.submitted_at[:10]}" if r.submitted_at else ""),
            r.url,
        )
        for r in status.reviews
        if r.state == "CHANGES_REQUESTED"
    ]
    if status.review == "CHANGES_REQUESTED" and not out:
        out.append(Blocker("changes-requested", "review", "changes requested"))
    return out


def _threads(status: PrStatus) -> list[Blocker]:
    out = []
    if status.threads_total > THREADS_READ:
        unread = status.threads_total - THREADS_READ
        out.append(
            Blocker("thread", f"{unread} more", f"threads after the first {THREADS_READ} not read")
        )
    for th in status.threads:
        where = th.path + (f":{th.line}" if th.line else "")
        said = f"@{th.author or 'ghost'}: {first_line(th.body, 80)}"
        marks = []
        if status.last_push and th.created_at > status.last_push:
            marks.append("after your last push")
        if th.outdated:
            marks.append("outdated")
        out.append(
            Blocker("thread", where, said + (f" ({', '.join(marks)})" if marks else ""), th.url)
        )
    return out


SUMMARY_WORDS = {
    "check": ("{n} failing", "{n} failing"),
    "conflict": ("conflict", "conflict"),
    "changes-requested": ("changes req", "changes req"),
    "thread": ("{n} thread", "{n} threads"),
    "label": ("label", "labels"),
    "draft": ("draft", "draft"),
    "idle": ("idle", "idle"),
}
"""The words of a table cell, most pressing first: ``1 failing, conflict, 3 threads``."""


def summary(found: Sequence[Blocker]) -> str:
    """A table cell of what blocks a PR; empty when nothing does. Failing checks that are not
    the contributor's (broken trunk, flaky ...) are left out: :func:`classes` tells of them."""
    counts: dict[str, int] = {}
    for b in found:
        if not b.blocks:
            continue
        counts[b.kind] = counts.get(b.kind, 0) + 1
    return ", ".join(
        SUMMARY_WORDS[kind][counts[kind] > 1].format(n=counts[kind])
        for kind in KINDS
        if kind in counts
    )


def classes(found: Sequence[Blocker]) -> str:
    """A table cell of the failing checks' classes, the contributor's first:
    ``1 new, 2 broken-trunk``; empty when no check fails."""
    from workbench.github.triage import CLASSES

    counts: dict[str, int] = {}
    for b in found:
        if b.kind == "check" and b.klass:
            counts[b.klass] = counts.get(b.klass, 0) + 1
    return ", ".join(f"{counts[k]} {k}" for k in CLASSES if k in counts)


@dataclass
class BlockingView:
    """What the store says about a list of PRs: their details, the logs fetched for their
    failing jobs, and what blocks each; keyed by (repo, number)."""

    details: dict[tuple[str, int], PrStatus] = field(default_factory=dict)
    logs: dict[tuple[str, int], StoredJobLog] = field(default_factory=dict)
    """By (repo, job id)."""
    blocking: dict[tuple[str, int], list[Blocker]] = field(default_factory=dict)
    facts: TriageFacts = field(default_factory=TriageFacts)
    """What the failing checks were classified from (merge bases, their checks)."""


def read_blocking(
    store: Store,
    rows: Sequence[TrackedItem],
    recipes: Mapping[str, Recipe],
    now: datetime,
    *,
    idle_days: int = IDLE_DAYS,
) -> BlockingView:
    """:func:`blockers` of every open PR among ``rows``, read from ``store`` in a few queries.
    ``recipes``: by repository slug."""
    prs = [t for t in rows if t.item.is_pull_request and t.item.state == "open"]
    view = BlockingView(store.pr_details_many((t.item.repo, t.item.number) for t in prs))
    wanted: dict[str, set[int]] = {}
    for s in view.details.values():
        for c in s.checks:
            if c.failed and c.job_id is not None:
                wanted.setdefault(s.repo, set()).add(c.job_id)
    for repo, ids in wanted.items():
        view.logs.update({(repo, k): v for k, v in store.job_logs(repo, ids).items()})
    branches = {repo: r.upstream.default_branch for repo, r in recipes.items()}
    asks = {repo: r.ci for repo, r in recipes.items()}
    view.facts = read_facts(store, view.details.values(), branches, asks)
    for t in prs:
        key = (t.item.repo, t.item.number)
        view.blocking[key] = blockers(
            t,
            view.details.get(key),
            recipes.get(t.item.repo),
            now,
            logs=view.logs,
            idle_days=idle_days,
            facts=view.facts,
        )
    return view
