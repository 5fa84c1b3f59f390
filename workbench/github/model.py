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


@dataclass(frozen=True)
class PrStatus:
    """CI and review state of one PR, from the GraphQL search for the contributor's PRs."""

    repo: str
    number: int
    ci: str
    review: str | None
    """``APPROVED``, ``CHANGES_REQUESTED``, ``REVIEW_REQUIRED`` or None."""
    draft: bool
    mine: bool
    review_requested: bool


_CANONICAL = re.compile(r"\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-6]\dZ")


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
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def parse_pr_status(
    node: object, *, mine: bool, review_requested: bool, where: str
) -> PrStatus | None:
    """One node of the GraphQL ``search``; None for a node that is not a pull request."""
    if not isinstance(node, dict):
        raise UnexpectedResponse(f"{where}: a search result is {type(node).__name__}")
    if not node:  # search(type: ISSUE) gives {} for issues when the fragment is on PullRequest
        return None
    repository = node.get("repository")
    repo = repository.get("nameWithOwner") if isinstance(repository, dict) else None
    if not isinstance(repo, str):
        raise UnexpectedResponse(f"{where}: a pull request has no repository.nameWithOwner")
    number = _field(node, "number", int, f"{where} {repo}")
    rollup = None
    commits = node.get("commits")
    nodes = commits.get("nodes") if isinstance(commits, dict) else None
    if not isinstance(nodes, list):
        raise UnexpectedResponse(f"{where} {repo}#{number}: commits.nodes is missing")
    if nodes:
        commit = nodes[-1].get("commit") if isinstance(nodes[-1], dict) else None
        status = commit.get("statusCheckRollup") if isinstance(commit, dict) else None
        rollup = status.get("state") if isinstance(status, dict) else None
    review = node.get("reviewDecision")
    if review is not None and not isinstance(review, str):
        raise UnexpectedResponse(f"{where} {repo}#{number}: reviewDecision is not text")
    return PrStatus(
        repo=repo,
        number=number,
        ci=_ROLLUP.get(rollup, "none") if isinstance(rollup, str) else "none",
        review=review,
        draft=bool(node.get("isDraft")),
        mine=mine,
        review_requested=review_requested,
    )
