"""Issues and PRs as the tracker keeps them, parsed from GitHub's REST and GraphQL JSON.

Parsing checks every field it keeps, so a malformed answer raises :class:`UnexpectedResponse`
before anything of it reaches the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from workbench.github.errors import UnexpectedResponse

CI_STATES = ("success", "failure", "pending", "none")
"""``statusCheckRollup.state`` folded into what a contributor acts on."""

_ROLLUP = {
    "SUCCESS": "success",
    "FAILURE": "failure",
    "ERROR": "failure",
    "PENDING": "pending",
    "EXPECTED": "pending",
}

# GitHub's closing keywords (docs: "Linking a pull request to an issue"); one keyword per reference.
_CLOSES = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?\s+"
    r"(?:(?P<slug>[\w.-]+/[\w.-]+)#|https?://github\.com/(?P<url>[\w.-]+/[\w.-]+)/issues/|#)"
    r"(?P<number>\d+)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Item:
    """An issue or a pull request of one upstream repository."""

    repo: str
    number: int
    is_pull_request: bool
    title: str
    body: str
    state: str
    """``open``, ``closed``, or ``merged`` for a merged PR."""
    author: str | None
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    comments: int
    created_at: str
    updated_at: str
    """UTC, ``YYYY-MM-DDTHH:MM:SSZ``: sorts as text."""
    closed_at: str | None
    url: str
    draft: bool | None
    linked_issues: tuple[int, ...]
    """Issues of the same repo a PR says it closes ("Fixes #12")."""


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


_CANONICAL = re.compile(r"\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-6]\dZ")


STAMP = "%Y-%m-%dT%H:%M:%SZ"
"""How the store writes a time: UTC, so that text order is time order."""


def stamp(moment: datetime) -> str:
    """An aware time as the store writes it (:data:`STAMP`)."""
    return moment.astimezone(UTC).strftime(STAMP)


def timestamp(value: object, what: str) -> str:
    """GitHub's ISO 8601 time as UTC ``YYYY-MM-DDTHH:MM:SSZ``, so text order is time order."""
    if isinstance(value, str) and _CANONICAL.fullmatch(value):
        return value  # what GitHub sends: no need to parse it
    if not isinstance(value, str):
        raise UnexpectedResponse(f"{what} is {type(value).__name__}, not a time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UnexpectedResponse(f"{what} is not an ISO 8601 time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return stamp(parsed)


def linked_issues(body: str, repo: str) -> tuple[int, ...]:
    """Issue numbers of ``repo`` that ``body`` closes, in order of first mention."""
    found: list[int] = []
    for m in _CLOSES.finditer(body):
        slug = m["slug"] or m["url"]
        if slug and slug.lower() != repo.lower():
            continue
        n = int(m["number"])
        if n not in found:
            found.append(n)
    return tuple(found)


def _field(raw: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = raw.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        got = "missing" if key not in raw else type(value).__name__
        raise UnexpectedResponse(f"{where}: field '{key}' is {got}")
    return value


def _logins(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise UnexpectedResponse(f"{where}: field 'assignees' is not a list")
    out = []
    for user in value:
        if not isinstance(user, dict) or not isinstance(user.get("login"), str):
            raise UnexpectedResponse(f"{where}: an assignee has no login")
        out.append(user["login"])
    return tuple(out)


def _labels(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise UnexpectedResponse(f"{where}: field 'labels' is not a list")
    out = []
    for label in value:
        # The API gives label objects; older shapes and some proxies give bare names.
        name = label.get("name") if isinstance(label, dict) else label
        if not isinstance(name, str):
            raise UnexpectedResponse(f"{where}: a label has no name")
        out.append(name)
    return tuple(out)


def parse_issue(raw: object, repo: str) -> Item:
    """One element of ``GET /repos/{repo}/issues``: an issue, or a PR when it has ``pull_request``."""
    if not isinstance(raw, dict):
        raise UnexpectedResponse(f"{repo}: an issue list element is {type(raw).__name__}")
    number = _field(raw, "number", int, f"{repo}: an issue")
    where = f"{repo}#{number}"
    pr = raw.get("pull_request")
    if pr is not None and not isinstance(pr, dict):
        raise UnexpectedResponse(f"{where}: field 'pull_request' is not an object")
    state = _field(raw, "state", str, where)
    if pr is not None and pr.get("merged_at"):
        state = "merged"
    body = raw.get("body") or ""
    if not isinstance(body, str):
        raise UnexpectedResponse(f"{where}: field 'body' is not text")
    user = raw.get("user")
    author = user.get("login") if isinstance(user, dict) else None
    closed_at = raw.get("closed_at")
    draft = raw.get("draft")
    comments = raw.get("comments")
    return Item(
        repo=repo,
        number=number,
        is_pull_request=pr is not None,
        title=_field(raw, "title", str, where),
        body=body,
        state=state,
        author=author if isinstance(author, str) else None,
        labels=_labels(raw.get("labels", []), where),
        assignees=_logins(raw.get("assignees") or [], where),
        comments=comments if isinstance(comments, int) else 0,
        created_at=timestamp(raw.get("created_at"), f"{where}: created_at"),
        updated_at=timestamp(raw.get("updated_at"), f"{where}: updated_at"),
        closed_at=timestamp(closed_at, f"{where}: closed_at") if closed_at else None,
        url=_field(raw, "html_url", str, where),
        draft=bool(draft) if pr is not None and draft is not None else None,
        linked_issues=linked_issues(body, repo) if pr is not None else (),
    )


def _login(value: object) -> str | None:
    login = value.get("login") if isinstance(value, dict) else None
    return login if isinstance(login, str) else None


def _nodes(parent: object, key: str, where: str) -> list[Any]:
    """``parent[key].nodes`` of a GraphQL connection; a missing connection is an empty one."""
    conn = parent.get(key) if isinstance(parent, dict) else None
    if conn is None:
        return []
    nodes = conn.get("nodes") if isinstance(conn, dict) else None
    if not isinstance(nodes, list):
        raise UnexpectedResponse(f"{where}: {key}.nodes is not a list")
    return [n for n in nodes if isinstance(n, dict)]


def _total(parent: object, key: str, default: int) -> int:
    conn = parent.get(key) if isinstance(parent, dict) else None
    total = conn.get("totalCount") if isinstance(conn, dict) else None
    return total if isinstance(total, int) else default


def _stamp(value: object, what: str) -> str | None:
    return timestamp(value, what) if value else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _object(value: object) -> dict[str, Any]:
    """A GraphQL object that may be null: null reads as an empty object."""
    return value if isinstance(value, dict) else {}


def parse_check(node: dict[str, Any], where: str) -> CiCheck | None:
    """A ``StatusCheckRollupContext``: a ``CheckRun`` or a ``StatusContext``."""
    kind = node.get("__typename")
    if kind == "CheckRun":
        suite = _object(node.get("checkSuite"))
        run = _object(suite.get("workflowRun"))
        workflow = _object(run.get("workflow"))
        conclusion = node.get("conclusion")
        return CiCheck(
            name=_field(node, "name", str, where),
            workflow=workflow.get("name") if isinstance(workflow.get("name"), str) else None,
            conclusion=conclusion.lower() if isinstance(conclusion, str) else None,
            status=_text(node.get("status")).lower() or "completed",
            url=node.get("detailsUrl") if isinstance(node.get("detailsUrl"), str) else None,
            job_id=_int(node.get("databaseId")),
            run_id=_int(run.get("databaseId")),
            completed_at=_stamp(node.get("completedAt"), f"{where}: completedAt"),
        )
    if kind == "StatusContext":
        state = _field(node, "state", str, where).lower()
        running = state in ("pending", "expected")
        return CiCheck(
            name=_field(node, "context", str, where),
            workflow=None,
            conclusion=None if running else state,
            status="pending" if running else "completed",
            url=node.get("targetUrl") if isinstance(node.get("targetUrl"), str) else None,
            job_id=None,
            run_id=None,
            completed_at=None,
        )
    return None


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
    number = _field(node, "number", int, f"{where} {repo}")
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
        c for n in _nodes(status, "contexts", where) if (c := parse_check(n, where)) is not None
    )
    pushes = [
        timestamp(n["createdAt"], f"{where}: a push")
        for n in _nodes(node, "pushes", where)
        if n.get("createdAt")
    ]
    committed = _stamp(head.get("committedDate"), f"{where}: committedDate")
    last_push = max([*pushes, *([committed] if committed else [])], default=None)
    threads = []
    for t in _nodes(node, "reviewThreads", where):
        if t.get("isResolved"):
            continue
        last = _nodes(t, "comments", where)
        comment = last[-1] if last else {}
        threads.append(
            Thread(
                path=_field(t, "path", str, where),
                line=_int(t.get("line")) or _int(t.get("originalLine")),
                outdated=bool(t.get("isOutdated")),
                author=_login(comment.get("author")),
                body=_text(comment.get("bodyText")),
                created_at=_stamp(comment.get("createdAt"), f"{where}: a thread") or "",
                url=comment.get("url") if isinstance(comment.get("url"), str) else None,
                comments=_total(t, "comments", len(last)),
            )
        )
    reviews = tuple(
        Review(
            author=_login(r.get("author")),
            state=_field(r, "state", str, where),
            submitted_at=_stamp(r.get("submittedAt"), f"{where}: a review"),
            url=r.get("url") if isinstance(r.get("url"), str) else None,
        )
        for r in _nodes(node, "latestOpinionatedReviews", where)
    )
    comments = tuple(
        Comment(
            author=_login(c.get("author")),
            body=_text(c.get("bodyText")),
            created_at=timestamp(c.get("createdAt"), f"{where}: a comment"),
            url=c.get("url") if isinstance(c.get("url"), str) else None,
        )
        for c in _nodes(node, "comments", where)
        if (last_push is None or _text(c.get("createdAt")) > last_push)
        and (viewer is None or _login(c.get("author")) != viewer)
    )
    mergeable = node.get("mergeable")
    return PrStatus(
        repo=repo,
        number=number,
        ci=_ROLLUP.get(rollup, "none") if isinstance(rollup, str) else "none",
        review=review,
        draft=bool(node.get("isDraft")),
        mine=mine,
        review_requested=review_requested,
        mergeable=mergeable if isinstance(mergeable, str) else None,
        last_push=last_push,
        head_sha=head.get("oid") if isinstance(head.get("oid"), str) else None,
        updated_at=_stamp(node.get("updatedAt"), f"{where}: updatedAt"),
        labels=tuple(
            n["name"] for n in _nodes(node, "labels", where) if isinstance(n.get("name"), str)
        ),
        checks=checks,
        checks_total=_total(status, "contexts", len(checks)),
        reviews=reviews,
        threads=tuple(threads),
        threads_total=_total(node, "reviewThreads", len(threads)),
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


# --- notifications -------------------------------------------------------------------------------

NOTIFICATION_SUBJECTS = ("Issue", "PullRequest", "CheckSuite", "Release", "Discussion", "Commit")
"""Subject types of the threads kept: what a contributor can open and act on in a repository
(not invitations or security alerts, which have their own pages)."""

_SUBJECT_URL = re.compile(
    r"/repos/[^/]+/[^/]+/(?P<kind>issues|pulls|commits|discussions)/(?P<id>\w+)$"
)


@dataclass(frozen=True)
class Notification:
    """One thread of the contributor's GitHub notifications (``GET /notifications``)."""

    id: str
    repo: str
    """``owner/name`` as the thread's ``repository.full_name`` spells it."""
    reason: str
    """Why it reached the contributor: ``review_requested``, ``mention``, ``author`` ..."""
    subject_type: str
    """``Issue``, ``PullRequest``, ``CheckSuite``, ``Release``, ``Discussion`` or ``Commit``."""
    title: str
    number: int | None
    """The issue's, PR's or discussion's number; None for other subjects."""
    url: str | None
    """The page a browser opens (``https://github.com/...``), not the API URL."""
    updated_at: str
    unread: bool
    last_read_at: str | None


def _optional_text(raw: dict[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise UnexpectedResponse(f"{where}: field '{key}' is {type(value).__name__}, not text")
    return value


def _subject_page(repo_page: str, subject_type: str, api_url: str | None) -> tuple[int | None, str]:
    """The number and the browser page of a thread's subject, from its API URL."""
    m = _SUBJECT_URL.search(api_url or "")
    kind, ident = (m["kind"], m["id"]) if m else ("", "")
    number = int(ident) if kind in ("issues", "pulls", "discussions") and ident.isdigit() else None
    if subject_type == "PullRequest" and number is not None:
        return number, f"{repo_page}/pull/{number}"
    if subject_type == "Issue" and number is not None:
        return number, f"{repo_page}/issues/{number}"
    if subject_type == "Discussion":
        return number, f"{repo_page}/discussions" + (f"/{number}" if number else "")
    if subject_type == "Commit" and kind == "commits":
        return None, f"{repo_page}/commit/{ident}"
    if subject_type == "Release":
        return None, f"{repo_page}/releases"  # the API names a release by id, not by tag
    if subject_type == "CheckSuite":
        return None, f"{repo_page}/actions"
    return number, repo_page


def parse_notification(raw: object) -> Notification | None:
    """One element of ``GET /notifications``; None for a thread whose subject is not one of
    :data:`NOTIFICATION_SUBJECTS`."""
    if not isinstance(raw, dict):
        raise UnexpectedResponse(f"a notification is {type(raw).__name__}, not an object")
    ident = _field(raw, "id", str, "a notification")
    where = f"notification {ident}"
    repository = _field(raw, "repository", dict, where)
    repo = _field(repository, "full_name", str, f"{where}: repository")
    subject = _field(raw, "subject", dict, where)
    subject_type = _field(subject, "type", str, f"{where}: subject")
    title = _field(subject, "title", str, f"{where}: subject")
    api_url = _optional_text(subject, "url", f"{where}: subject")
    unread = _field(raw, "unread", bool, where)
    reason = _field(raw, "reason", str, where)
    updated_at = timestamp(raw.get("updated_at"), f"{where}: updated_at")
    last_read = raw.get("last_read_at")
    last_read_at = timestamp(last_read, f"{where}: last_read_at") if last_read else None
    if subject_type not in NOTIFICATION_SUBJECTS:
        return None
    repo_page = _optional_text(repository, "html_url", f"{where}: repository")
    number, url = _subject_page(repo_page or f"https://github.com/{repo}", subject_type, api_url)
    return Notification(
        id=ident,
        repo=repo,
        reason=reason,
        subject_type=subject_type,
        title=title,
        number=number,
        url=url,
        updated_at=updated_at,
        unread=unread,
        last_read_at=last_read_at,
    )
