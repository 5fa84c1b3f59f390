"""The contributor's GitHub notifications as ``GET /notifications`` lists them: one
:class:`Notification` per thread, with the page a browser opens for its subject."""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.github.errors import UnexpectedResponse
from workbench.github.model.fields import field_value, text_or_none, timestamp

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
    ident = field_value(raw, "id", str, "a notification")
    where = f"notification {ident}"
    repository = field_value(raw, "repository", dict, where)
    repo = field_value(repository, "full_name", str, f"{where}: repository")
    subject = field_value(raw, "subject", dict, where)
    subject_type = field_value(subject, "type", str, f"{where}: subject")
    title = field_value(subject, "title", str, f"{where}: subject")
    api_url = text_or_none(subject, "url", f"{where}: subject")
    unread = field_value(raw, "unread", bool, where)
    reason = field_value(raw, "reason", str, where)
    updated_at = timestamp(raw.get("updated_at"), f"{where}: updated_at")
    last_read = raw.get("last_read_at")
    last_read_at = timestamp(last_read, f"{where}: last_read_at") if last_read else None
    if subject_type not in NOTIFICATION_SUBJECTS:
        return None
    repo_page = text_or_none(repository, "html_url", f"{where}: repository")
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
