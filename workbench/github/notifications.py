"""The contributor's GitHub notifications about the tracked upstreams, polled as GitHub asks.

``GET /notifications`` lists the unread threads of every repository the token's user follows.
The sync keeps those of the recipes' repositories whose reason is one of :data:`REASONS`, and
polls the way GitHub's docs ask a poller to:

* not before ``X-Poll-Interval`` seconds (usually 60) since the last check: no request at all;
* with ``If-Modified-Since: <Last-Modified of the last complete list>``: an unchanged list is
  one 304, which does not count against the rate limit;
* otherwise every page (50 threads each, GitHub's most) of the unread threads. A 200 lists
  *all* unread threads, so a stored unread thread it no longer holds was read elsewhere.

Fine-grained personal access tokens cannot read notifications (GitHub answers 403): the sync
then records why, says so once, and asks again only after :data:`UNAVAILABLE_RETRY`.

Marking a thread read (``PATCH /notifications/threads/{id}``) writes to GitHub; the CLI and the
TUI ask first and call :func:`mark_read` only on a yes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from workbench.github.errors import GitHubError
from workbench.github.model import Notification, parse_notification, stamp
from workbench.github.store import NotificationPoll, Store

if TYPE_CHECKING:
    from workbench.github.client import ApiPage, GitHubClient

REASONS = {
    "review_requested": "your review was requested",
    "mention": "you were @mentioned",
    "team_mention": "a team you are in was @mentioned",
    "assign": "you were assigned",
    "ci_activity": "a workflow run you started finished",
    "author": "news on a thread you opened",
    "comment": "a reply on a thread you commented on",
}
"""The reasons kept, in the contributor's words. ``author`` and ``comment`` are kept too: a
notification is one per thread, not per comment, so they cost one row per conversation one
took part in, and they carry what a contributor waits for: reviews and replies on their own PRs
(``author``) and the maintainer's answer to "may I take this issue?" (``comment``). Left out:
``subscribed`` (watching a repository: every thread of an upstream), ``state_change``,
``manual``, ``security_alert``, ``invitation``, ``approval_requested``, ``member_feature_requested``.
"""

PER_PAGE = 50
"""GitHub's most for ``/notifications``."""
DEFAULT_POLL = 60
"""Seconds between polls when GitHub did not say (its usual ``X-Poll-Interval``)."""
UNAVAILABLE_RETRY = 3600
"""Seconds before asking again after GitHub refused (a token that cannot read notifications)."""


@dataclass
class NotificationReport:
    requests: int = 0
    skipped: str | None = None
    """Why GitHub was not asked: ``anonymous``, ``poll interval`` or ``unavailable`` (refused
    at the last check, asked again later)."""
    next_poll_s: int | None = None
    """When skipped for the poll interval: seconds until GitHub may be asked again."""
    not_modified: bool = False
    pages: int = 0
    new: int = 0
    """Threads not stored before."""
    read_elsewhere: int = 0
    """Threads stored as unread that the list no longer holds."""
    unread: int = 0
    """Unread threads of the synced repositories now in the store."""
    unavailable: str | None = None
    """Why GitHub refused to list notifications (said once, by the sync that learnt it)."""


def next_poll_in(poll: NotificationPoll, now: datetime) -> int:
    """Seconds until GitHub may be asked again; 0: now."""
    if not poll.checked_at:
        return 0
    interval = poll.poll_interval if poll.poll_interval is not None else DEFAULT_POLL
    if poll.unavailable:
        interval = max(interval, UNAVAILABLE_RETRY)
    checked = datetime.fromisoformat(poll.checked_at.replace("Z", "+00:00"))
    # A clock set back must not push the next poll further than one interval away.
    left = min(interval, interval - (now - checked).total_seconds())
    return math.ceil(left) if left > 0 else 0


def unavailable_text(status: int, message: str | None) -> str:
    """Why the notifications cannot be read, and what to do, in one line."""
    said = f" ({message})" if message else ""
    if status == 403:
        return (
            f"GitHub answered 403{said}: the token cannot read notifications (fine-grained "
            "tokens never can); use a classic token with the 'notifications' or 'repo' scope, "
            "or `gh auth login`"
        )
    return f"GitHub answered {status} for /notifications{said}; check WORKBENCH_GITHUB_API"


def refresh_notifications(
    client: GitHubClient, store: Store, repos: Sequence[str], *, now: datetime
) -> NotificationReport:
    """Bring the stored notifications of ``repos`` up to date, if GitHub's poll interval allows.

    A 403 or 404 is recorded, not raised; a rate limit is raised like everywhere else (the
    pages stored before it stay).
    """

    def unread() -> int:
        return len(store.notifications(repos))

    if client.anonymous:
        return NotificationReport(skipped="anonymous", unread=unread())
    poll = store.notification_poll()
    wait = next_poll_in(poll, now)
    if wait:
        skipped = "unavailable" if poll.unavailable else "poll interval"
        return NotificationReport(skipped=skipped, next_poll_s=wait, unread=unread())
    canonical = {r.lower(): r for r in repos}
    scope = tuple(sorted(canonical))
    # A list stored for other repositories says nothing about these: ask without a condition.
    since = poll.last_modified if poll.repos == scope and not poll.unavailable else None
    report = NotificationReport()
    before = client.requests
    page = client.get_page(
        "/notifications", {"per_page": PER_PAGE}, if_modified_since=since, allow=(403, 404)
    )
    checked = stamp(now)
    interval = page.poll_interval if page.poll_interval is not None else poll.poll_interval
    if page.status in (403, 404):
        why = unavailable_text(page.status, page.message)
        store.save_notification_poll(NotificationPoll(checked, None, interval, (), why))
        report.requests = client.requests - before
        report.unavailable = why
        report.unread = unread()
        return report
    if page.not_modified:
        store.save_notification_poll(
            replace(
                poll, checked_at=checked, poll_interval=interval, last_modified=page.last_modified
            )
        )
        report.requests = client.requests - before
        report.not_modified = True
        report.unread = unread()
        return report
    last_modified = page.last_modified
    listed: list[str] = []
    while True:
        report.new += store.upsert_notifications(_kept(page, canonical, listed))
        report.pages += 1
        if not page.next_url or not page.items:
            break
        page = client.get_page(page.next_url)
        interval = page.poll_interval if page.poll_interval is not None else interval
    report.read_elsewhere = store.finish_notifications(
        list(canonical.values()),
        listed,
        NotificationPoll(checked, last_modified, interval, scope, None),
    )
    report.requests = client.requests - before
    report.unread = unread()
    return report


def _kept(page: ApiPage, canonical: dict[str, str], listed: list[str]) -> list[Notification]:
    """The threads of a page to store; adds the ids of every thread of ``canonical``'s
    repositories to ``listed`` (one whose reason is not kept is still unread on GitHub)."""
    # The whole page is parsed before anything of it is written.
    threads = [parse_notification(raw) for raw in page.items]
    kept = []
    for t in threads:
        repo = canonical.get(t.repo.lower()) if t is not None else None
        if t is None or repo is None:
            continue
        listed.append(t.id)
        if t.reason in REASONS:
            kept.append(replace(t, repo=repo))
    return kept


def mark_read(client: GitHubClient, store: Store, thread_id: str, *, now: datetime) -> None:
    """Mark one thread read on GitHub, then in the store. Callers ask the contributor first."""
    if client.anonymous:
        raise GitHubError(
            "marking a notification read needs a token",
            "set GH_TOKEN (a classic token with the 'notifications' scope) or run `gh auth login`",
        )
    status, body = client.request("PATCH", f"/notifications/threads/{thread_id}", allow=(403, 404))
    said = body.get("message") if isinstance(body, dict) else None
    if status == 403:
        raise GitHubError(
            f"GitHub refused to mark notification {thread_id} read (403"
            + (f": {said})" if said else ")"),
            "fine-grained tokens cannot write notifications: use a classic token with the "
            "'notifications' scope, or `gh auth login`",
        )
    if status == 404:
        raise GitHubError(
            f"notification {thread_id} was not found on GitHub (404)",
            "it may be gone already: run `workbench sync`",
        )
    store.mark_notification_read(thread_id, stamp(now))
