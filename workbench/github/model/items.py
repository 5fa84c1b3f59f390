"""Issues and PRs as the lists of ``GET /repos/{repo}/issues`` give them: :class:`Item`, and
the issues a PR says it closes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.github.errors import UnexpectedResponse
from workbench.github.model.fields import field_value, timestamp

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
    number = field_value(raw, "number", int, f"{repo}: an issue")
    where = f"{repo}#{number}"
    pr = raw.get("pull_request")
    if pr is not None and not isinstance(pr, dict):
        raise UnexpectedResponse(f"{where}: field 'pull_request' is not an object")
    state = field_value(raw, "state", str, where)
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
        title=field_value(raw, "title", str, where),
        body=body,
        state=state,
        author=author if isinstance(author, str) else None,
        labels=_labels(raw.get("labels", []), where),
        assignees=_logins(raw.get("assignees") or [], where),
        comments=comments if isinstance(comments, int) else 0,
        created_at=timestamp(raw.get("created_at"), f"{where}: created_at"),
        updated_at=timestamp(raw.get("updated_at"), f"{where}: updated_at"),
        closed_at=timestamp(closed_at, f"{where}: closed_at") if closed_at else None,
        url=field_value(raw, "html_url", str, where),
        draft=bool(draft) if pr is not None and draft is not None else None,
        linked_issues=linked_issues(body, repo) if pr is not None else (),
    )
