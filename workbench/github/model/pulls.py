"""What may block a PR, from the GraphQL search for the contributor's PRs: CI and review state
(:class:`PrStatus`), the head commit's checks, reviews, unresolved threads, comments since the
last push; and, to tell whose a red check is, a PR's merge base and the checks of a commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.github.errors import UnexpectedResponse
from workbench.github.model.fields import (
    field_value,
    int_or_none,
    login_of,
    nodes_of,
    object_or_empty,
    stamp_or_none,
    text_or_empty,
    timestamp,
    total_of,
)

CI_STATES = ("success", "failure", "pending", "none")
"""``statusCheckRollup.state`` folded into what a contributor acts on."""

CI_ROLLUP = {
    "SUCCESS": "success",
    "FAILURE": "failure",
    "ERROR": "failure",
    "PENDING": "pending",
    "EXPECTED": "pending",
}
"""``statusCheckRollup.state`` -> its :data:`CI_STATES` word (any other: ``none``)."""

THREADS_READ = 50
"""Review threads read per PR (GitHub charges each thread's last comment as a request)."""

FAILED_CONCLUSIONS = frozenset(
    {"failure", "timed_out", "startup_failure", "action_required", "error", "cancelled"}
)
"""Check conclusions (lowercased CheckConclusionState / StatusState) that keep a PR from merging."""


@dataclass(frozen=True)
class CiCheck:
    """One check of a PR's head commit: a check run (an Actions job) or a commit status."""

    name: str
    workflow: str | None
    conclusion: str | None
    """Lowercased ``CheckConclusionState`` (``success``, ``failure``, ``timed_out`` ...) or, for a
    commit status, its state; None while it runs."""
    status: str
    """``completed``, ``in_progress``, ``queued`` ... (lowercased ``CheckStatusState``)."""
    url: str | None
    job_id: int | None
    """``CheckRun.databaseId``: for an Actions job, the id of the job-logs endpoint."""
    run_id: int | None
    completed_at: str | None

    @property
    def failed(self) -> bool:
        return self.conclusion in FAILED_CONCLUSIONS

    @property
    def label(self) -> str:
        """``workflow / name`` as GitHub's checks list shows it."""
        return f"{self.workflow} / {self.name}" if self.workflow else self.name


@dataclass(frozen=True)
class Review:
    author: str | None
    state: str
    """``APPROVED``, ``CHANGES_REQUESTED``, ``COMMENTED``, ``DISMISSED``, ``PENDING``."""
    submitted_at: str | None
    url: str | None


@dataclass(frozen=True)
class Thread:
    """An unresolved review thread, with its last comment."""

    path: str
    line: int | None
    outdated: bool
    author: str | None
    """Of the last comment."""
    body: str
    created_at: str
    url: str | None
    comments: int


@dataclass(frozen=True)
class Comment:
    author: str | None
    body: str
    created_at: str
    url: str | None


@dataclass(frozen=True)
class PrStatus:
    """CI and review state of one PR, from the GraphQL search for the contributor's PRs, and
    what may block it: checks, reviews, unresolved threads, comments since the last push."""

    repo: str
    number: int
    ci: str
    review: str | None
    """``APPROVED``, ``CHANGES_REQUESTED``, ``REVIEW_REQUIRED`` or None."""
    draft: bool
    mine: bool
    review_requested: bool
    mergeable: str | None = None
    """``MERGEABLE``, ``CONFLICTING`` or ``UNKNOWN`` (GitHub has not computed it yet)."""
    last_push: str | None = None
    """The newest force-push event or, failing that, the head commit's committed date:
    GitHub's schema no longer says when a commit was pushed."""
    head_sha: str | None = None
    updated_at: str | None = None
    labels: tuple[str, ...] = ()
    checks: tuple[CiCheck, ...] = ()
    checks_total: int = 0
    """How many checks the head commit has; more than ``len(checks)`` when some were not read."""
    reviews: tuple[Review, ...] = ()
    threads: tuple[Thread, ...] = ()
    """Unresolved ones only."""
    threads_total: int = 0
    comments: tuple[Comment, ...] = ()
    """Issue comments made after ``last_push``."""
    base_ref: str | None = None
    """The branch the PR merges into (``baseRefName``)."""


def parse_check(node: dict[str, Any], where: str) -> CiCheck | None:
    """A ``StatusCheckRollupContext``: a ``CheckRun`` or a ``StatusContext``."""
    kind = node.get("__typename")
    if kind == "CheckRun":
        suite = object_or_empty(node.get("checkSuite"))
        run = object_or_empty(suite.get("workflowRun"))
        workflow = object_or_empty(run.get("workflow"))
        conclusion = node.get("conclusion")
        return CiCheck(
            name=field_value(node, "name", str, where),
            workflow=workflow.get("name") if isinstance(workflow.get("name"), str) else None,
            conclusion=conclusion.lower() if isinstance(conclusion, str) else None,
            status=text_or_empty(node.get("status")).lower() or "completed",
            url=node.get("detailsUrl") if isinstance(node.get("detailsUrl"), str) else None,
            job_id=int_or_none(node.get("databaseId")),
            run_id=int_or_none(run.get("databaseId")),
            completed_at=stamp_or_none(node.get("completedAt"), f"{where}: completedAt"),
        )
    if kind == "StatusContext":
        state = field_value(node, "state", str, where).lower()
        running = state in ("pending", "expected")
        return CiCheck(
            name=field_value(node, "context", str, where),
            workflow=None,
            conclusion=None if running else state,
            status="pending" if running else "completed",
            url=node.get("targetUrl") if isinstance(node.get("targetUrl"), str) else None,
            job_id=None,
            run_id=None,
            completed_at=None,
        )
    return None


def parse_checks_page(contexts: dict[str, Any], where: str) -> tuple[list[CiCheck], str | None]:
    """One page of a ``statusCheckRollup.contexts`` connection: its checks, and the cursor of
    the page after it (None on the last page)."""
    nodes = contexts.get("nodes")
    if not isinstance(nodes, list):
        raise UnexpectedResponse(f"{where}: contexts.nodes is missing")
    checks = [c for n in nodes if isinstance(n, dict) and (c := parse_check(n, where)) is not None]
    page = object_or_empty(contexts.get("pageInfo"))
    return checks, page.get("endCursor") if page.get("hasNextPage") and nodes else None


def parse_pr_status(
    node: object, *, mine: bool, review_requested: bool, where: str, viewer: str | None = None
) -> PrStatus | None:
    """One node of the GraphQL ``search``; None for a node that is not a pull request.

    ``viewer``: the contributor, whose own comments are not news to them.
    """
    if not isinstance(node, dict):
        raise UnexpectedResponse(f"{where}: a search result is {type(node).__name__}")
    if not node:  # search(type: ISSUE) gives {} for issues when the fragment is on PullRequest
        return None
    repository = node.get("repository")
    repo = repository.get("nameWithOwner") if isinstance(repository, dict) else None
    if not isinstance(repo, str):
        raise UnexpectedResponse(f"{where}: a pull request has no repository.nameWithOwner")
    number = field_value(node, "number", int, f"{where} {repo}")
    where = f"{where} {repo}#{number}"
    rollup = None
    commits = node.get("commits")
    nodes = commits.get("nodes") if isinstance(commits, dict) else None
    if not isinstance(nodes, list):
        raise UnexpectedResponse(f"{where}: commits.nodes is missing")
    head: dict[str, Any] = {}
    if nodes and isinstance(nodes[-1], dict) and isinstance(nodes[-1].get("commit"), dict):
        head = nodes[-1]["commit"]
    status = head.get("statusCheckRollup") if isinstance(head, dict) else None
    rollup = status.get("state") if isinstance(status, dict) else None
    review = node.get("reviewDecision")
    if review is not None and not isinstance(review, str):
        raise UnexpectedResponse(f"{where}: reviewDecision is not text")
    checks = tuple(
        c for n in nodes_of(status, "contexts", where) if (c := parse_check(n, where)) is not None
    )
    pushes = [
        timestamp(n["createdAt"], f"{where}: a push")
        for n in nodes_of(node, "pushes", where)
        if n.get("createdAt")
    ]
    committed = stamp_or_none(head.get("committedDate"), f"{where}: committedDate")
    last_push = max([*pushes, *([committed] if committed else [])], default=None)
    threads = []
    for t in nodes_of(node, "reviewThreads", where):
        if t.get("isResolved"):
            continue
        last = nodes_of(t, "comments", where)
        comment = last[-1] if last else {}
        threads.append(
            Thread(
                path=field_value(t, "path", str, where),
                line=int_or_none(t.get("line")) or int_or_none(t.get("originalLine")),
                outdated=bool(t.get("isOutdated")),
                author=login_of(comment.get("author")),
                body=text_or_empty(comment.get("bodyText")),
                created_at=stamp_or_none(comment.get("createdAt"), f"{where}: a thread") or "",
                url=comment.get("url") if isinstance(comment.get("url"), str) else None,
                comments=total_of(t, "comments", len(last)),
            )
        )
    reviews = tuple(
        Review(
            author=login_of(r.get("author")),
            state=field_value(r, "state", str, where),
            submitted_at=stamp_or_none(r.get("submittedAt"), f"{where}: a review"),
            url=r.get("url") if isinstance(r.get("url"), str) else None,
        )
        for r in nodes_of(node, "latestOpinionatedReviews", where)
    )
    comments = tuple(
        Comment(
            author=login_of(c.get("author")),
            body=text_or_empty(c.get("bodyText")),
            created_at=timestamp(c.get("createdAt"), f"{where}: a comment"),
            url=c.get("url") if isinstance(c.get("url"), str) else None,
        )
        for c in nodes_of(node, "comments", where)
        if (last_push is None or text_or_empty(c.get("createdAt")) > last_push)
        and (viewer is None or login_of(c.get("author")) != viewer)
    )
    mergeable = node.get("mergeable")
    return PrStatus(
        repo=repo,
        number=number,
        ci=CI_ROLLUP.get(rollup, "none") if isinstance(rollup, str) else "none",
        review=review,
        draft=bool(node.get("isDraft")),
        mine=mine,
        review_requested=review_requested,
        mergeable=mergeable if isinstance(mergeable, str) else None,
        last_push=last_push,
        head_sha=head.get("oid") if isinstance(head.get("oid"), str) else None,
        updated_at=stamp_or_none(node.get("updatedAt"), f"{where}: updatedAt"),
        labels=tuple(
            n["name"] for n in nodes_of(node, "labels", where) if isinstance(n.get("name"), str)
        ),
        checks=checks,
        checks_total=total_of(status, "contexts", len(checks)),
        reviews=reviews,
        threads=tuple(threads),
        threads_total=total_of(node, "reviewThreads", len(threads)),
        comments=comments,
        base_ref=node.get("baseRefName") if isinstance(node.get("baseRefName"), str) else None,
    )


@dataclass(frozen=True)
class MergeBase:
    """Where a PR's head leaves its base branch (the compare API's ``merge_base_commit``)."""

    repo: str
    head_sha: str
    base_ref: str
    sha: str | None
    """None when GitHub could not say: see ``problem``."""
    problem: str | None
    """Why there is no merge base, in words (the head or base is gone: a 404)."""
    read_at: str


@dataclass(frozen=True)
class CommitChecks:
    """What one commit's checks said when the sync read them: a PR's merge base (``kind``
    ``base``: its statusCheckRollup) or a PR's head (``head``: the jobs that passed in some
    attempt, and Dr.CI's summary)."""

    repo: str
    sha: str
    kind: str
    """``base`` or ``head``."""
    read_at: str
    state: str | None = None
    """The rollup's state folded as :data:`CI_STATES` (``none``: the commit has no checks)."""
    checks: tuple[CiCheck, ...] = ()
    checks_total: int = 0
    problem: str | None = None
    """Why nothing was read (the commit is not on GitHub any more)."""
    passed: tuple[str, ...] = ()
    """Head: ``workflow / name`` of every job with a successful attempt (any attempt)."""
    drci: str | None = None
    """Head: the summary of the ``Dr.CI`` check run (JSON), when it has one."""
    seen: tuple[int, ...] = ()
    """Head: the failing jobs' ids when it was read (read again when others fail)."""

    @property
    def pending(self) -> bool:
        return self.state == "pending" or any(c.conclusion is None for c in self.checks)
