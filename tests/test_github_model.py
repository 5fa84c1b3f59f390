"""Parsing GitHub's JSON into the tracker's items: what is kept, and what is refused."""

from __future__ import annotations

import pytest

from workbench.github.errors import UnexpectedResponse
from workbench.github.model import linked_issues, parse_issue, parse_pr_status, timestamp

AO = "pytorch/ao"


def raw(**changes):
    base = {
        "number": 7,
        "title": "A title",
        "state": "open",
        "user": {"login": "ada"},
        "labels": [{"name": "bug"}, {"name": "good first issue"}],
        "assignees": [{"login": "bob"}],
        "comments": 3,
        "created_at": "2025-01-02T03:04:05Z",
        "updated_at": "2025-01-03T03:04:05+00:00",
        "closed_at": None,
        "html_url": "https://github.com/pytorch/ao/issues/7",
        "body": None,
    }
    return base | changes


def test_an_issue() -> None:
    item = parse_issue(raw(), AO)
    assert (item.repo, item.number, item.is_pull_request, item.state) == (AO, 7, False, "open")
    assert item.labels == ("bug", "good first issue")
    assert item.assignees == ("bob",)
    assert (item.author, item.comments, item.body) == ("ada", 3, "")
    assert item.updated_at == "2025-01-03T03:04:05Z"  # one format, so text order is time order
    assert item.draft is None


def test_a_pr_is_an_issue_with_pull_request_and_merged_is_a_state() -> None:
    pr = raw(
        pull_request={"merged_at": "2025-01-04T00:00:00Z"},
        state="closed",
        closed_at="2025-01-04T00:00:00Z",
        draft=True,
        body="Fixes #12 and closes pytorch/ao#13, not fixes other/repo#14",
    )
    item = parse_issue(pr, AO)
    assert item.is_pull_request
    assert item.state == "merged"
    assert item.draft is True
    assert item.linked_issues == (12, 13)
    assert parse_issue(raw(pull_request={"merged_at": None}, state="closed"), AO).state == "closed"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Fixes #1", (1,)),
        ("fixed #1, resolves #2\nCloses: #3", (1, 2, 3)),
        ("Resolved https://github.com/pytorch/ao/issues/9", (9,)),
        ("Fixes #1, #2", (1,)),  # GitHub links only the one after the keyword
        ("See #4; prefixes #5; fixes#6", ()),
        ("Fixes PyTorch/AO#8 and Fixes #8", (8,)),
    ],
)
def test_linked_issues(body: str, expected: tuple[int, ...]) -> None:
    assert linked_issues(body, AO) == expected


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": None}, "field 'title' is NoneType"),
        ({"number": True}, "field 'number' is bool"),
        ({"labels": "bug"}, "field 'labels' is not a list"),
        ({"labels": [{"id": 1}]}, "a label has no name"),
        ({"assignees": [{}]}, "an assignee has no login"),
        ({"updated_at": 12}, "updated_at is int, not a time"),
        ({"created_at": "soon"}, "created_at is not an ISO 8601 time"),
        ({"pull_request": "yes"}, "'pull_request' is not an object"),
        ({"body": ["text"]}, "'body' is not text"),
    ],
)
def test_malformed_items_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(UnexpectedResponse, match=message):
        parse_issue(raw(**changes), AO)


def test_timestamps_are_normalised_to_utc() -> None:
    assert timestamp("2025-01-01T01:00:00+01:00", "t") == "2025-01-01T00:00:00Z"
    assert timestamp("2025-01-01T00:00:00", "t") == "2025-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("rollup", "ci"),
    [
        ({"state": "SUCCESS"}, "success"),
        ({"state": "ERROR"}, "failure"),
        ({"state": "FAILURE"}, "failure"),
        ({"state": "EXPECTED"}, "pending"),
        ({"state": "PENDING"}, "pending"),
        (None, "none"),
    ],
)
def test_pr_status_rollup(rollup, ci: str) -> None:
    node = {
        "number": 3,
        "isDraft": False,
        "reviewDecision": "APPROVED",
        "repository": {"nameWithOwner": AO},
        "commits": {"nodes": [{"commit": {"statusCheckRollup": rollup}}]},
    }
    status = parse_pr_status(node, mine=True, review_requested=False, where="test")
    assert status is not None
    assert (status.repo, status.number, status.ci, status.review) == (AO, 3, ci, "APPROVED")


def test_pr_status_without_commits_or_for_a_non_pr() -> None:
    node = {"number": 3, "repository": {"nameWithOwner": AO}, "commits": {"nodes": []}}
    status = parse_pr_status(node, mine=True, review_requested=False, where="test")
    assert status is not None and status.ci == "none"
    assert parse_pr_status({}, mine=True, review_requested=False, where="test") is None
    with pytest.raises(UnexpectedResponse, match=r"no repository\.nameWithOwner"):
        parse_pr_status({"number": 3}, mine=True, review_requested=False, where="test")
