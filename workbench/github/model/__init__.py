"""Issues and PRs as the tracker keeps them, parsed from GitHub's REST and GraphQL JSON.

Parsing checks every field it keeps, so a malformed answer raises :class:`UnexpectedResponse`
before anything of it reaches the store. One module per shape: :mod:`.items` (issues and PRs
of the lists), :mod:`.pulls` (what blocks a PR: checks, reviews, threads, merge bases),
:mod:`.notifications`; :mod:`.fields` reads GitHub's JSON and writes the store's times.
"""

from __future__ import annotations

from workbench.github.model.fields import STAMP, stamp, timestamp
from workbench.github.model.items import Item, linked_issues, parse_issue
from workbench.github.model.notifications import (
    NOTIFICATION_SUBJECTS,
    Notification,
    parse_notification,
)
from workbench.github.model.pulls import (
    CI_ROLLUP,
    CI_STATES,
    FAILED_CONCLUSIONS,
    THREADS_READ,
    CiCheck,
    Comment,
    CommitChecks,
    MergeBase,
    PrStatus,
    Review,
    Thread,
    parse_check,
    parse_checks_page,
    parse_pr_status,
)

__all__ = [
    "CI_ROLLUP",
    "CI_STATES",
    "FAILED_CONCLUSIONS",
    "NOTIFICATION_SUBJECTS",
    "STAMP",
    "THREADS_READ",
    "CiCheck",
    "Comment",
    "CommitChecks",
    "Item",
    "MergeBase",
    "Notification",
    "PrStatus",
    "Review",
    "Thread",
    "linked_issues",
    "parse_check",
    "parse_checks_page",
    "parse_issue",
    "parse_notification",
    "parse_pr_status",
    "stamp",
    "timestamp",
]
