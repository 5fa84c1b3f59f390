"""`workbench issues` and `workbench prs`: reading the store, offline, as a table or JSON."""

from __future__ import annotations

import pytest

from tests import github_server
from tests.github_server import VIEWER, GitHubEnv

fake_github = github_server.fake_github  # the fixtures, shared with the other GitHub tests
gh_env = github_server.gh_env

AO, XLA = "pytorch/ao", "pytorch/xla"


@pytest.fixture
def synced(gh_env: GitHubEnv) -> GitHubEnv:
    s = gh_env.server
    s.add_item(AO, 1, title="Float8 rowwise scaling", labels=["good first issue"])
    s.add_item(AO, 2, title="Taken already", labels=["good first issue"], assignees=["bob"])
    s.add_item(AO, 3, title="Old bug", labels=["bug"], state="closed")
    s.add_item(
        AO, 4, pr=True, author=VIEWER, ci="FAILURE", review="APPROVED", body="Fixes #1", draft=True
    )
    s.add_item(AO, 5, pr=True, author="other", ci="PENDING", reviewers=[VIEWER])
    s.add_item(XLA, 1, title="Help wanted here", labels=["help wanted"])
    s.add_item(XLA, 2, title="Needs a [bold]fix[/bold]", labels=["bug", "good first issue"])
    assert gh_env.cli("sync").rc == 0
    return gh_env


def numbers(result) -> list[tuple[str, int]]:
    assert result.rc == 0, result.err
    return [(i["repo"], i["number"]) for i in result.json()]


def test_issues_json_newest_first(synced: GitHubEnv) -> None:
    result = synced.cli("issues", "--json")
    assert numbers(result) == [(XLA, 2), (XLA, 1), (AO, 2), (AO, 1)]
    first = result.json()[-1]
    assert first == {
        "repo": AO,
        "number": 1,
        "title": "Float8 rowwise scaling",
        "state": "open",
        "labels": ["good first issue"],
        "is_pull_request": False,
        "author": "someone",
        "assignees": [],
        "comments": 1,
        "created_at": first["created_at"],
        "updated_at": first["updated_at"],
        "closed_at": None,
        "url": "https://github.com/pytorch/ao/issues/1",
    }


def test_issue_filters(synced: GitHubEnv) -> None:
    assert numbers(synced.cli("issues", "ao", "--json")) == [(AO, 2), (AO, 1)]
    assert numbers(synced.cli("issues", "ao", "--unassigned", "--json")) == [(AO, 1)]
    assert numbers(synced.cli("issues", "--label", "bug", "--state", "all", "--json")) == [
        (XLA, 2),
        (AO, 3),
    ]
    assert numbers(synced.cli("issues", "--search", "float8", "--json")) == [(AO, 1)]
    assert numbers(synced.cli("issues", "--state", "closed", "--json")) == [(AO, 3)]
    assert numbers(synced.cli("issues", "--limit", "1", "--json")) == [(XLA, 2)]


def test_newcomer_uses_each_recipes_labels(synced: GitHubEnv) -> None:
    # ao: "good first issue"; xla: "good first issue" or "help wanted".
    assert numbers(synced.cli("issues", "--newcomer", "--unassigned", "--json")) == [
        (XLA, 2),
        (XLA, 1),
        (AO, 1),
    ]
    assert numbers(synced.cli("issues", "ao", "--newcomer", "--json")) == [(AO, 2), (AO, 1)]


def test_prs_json_carry_ci_review_and_draft(synced: GitHubEnv) -> None:
    result = synced.cli("prs", "--json")
    assert numbers(result) == [(AO, 5), (AO, 4)]
    pr = result.json()[1]
    assert (pr["is_pull_request"], pr["ci"], pr["review"], pr["draft"]) == (
        True,
        "failure",
        "APPROVED",
        True,
    )
    assert pr["linked_issues"] == [1]
    assert numbers(synced.cli("prs", "--mine", "--json")) == [(AO, 4)]
    assert numbers(synced.cli("prs", "--review-requested", "--json")) == [(AO, 5)]
    assert numbers(synced.cli("prs", "xla", "--json")) == []


def test_tables_on_the_terminal(synced: GitHubEnv) -> None:
    issues = synced.cli("issues")
    assert issues.rc == 0
    lines = issues.out.splitlines()
    assert lines[0].split() == ["upstream", "#", "title", "labels", "assignees", "updated"]
    assert lines[1].split()[:2] == ["xla", "2"]
    assert "Needs a [bold]" in issues.out  # titles are text, not markup
    prs = synced.cli("prs")
    assert "failure" in prs.out and "approved" in prs.out and "your review" in prs.out
    assert "draft PR 4 of" in prs.out
    assert synced.cli("prs", "xla").out.strip() == "nothing matches"


def test_reads_need_a_sync_first(gh_env: GitHubEnv) -> None:
    result = gh_env.cli("issues")
    assert result.rc == 2
    assert (
        result.err.strip()
        == "workbench: nothing synced yet (github.db does not exist) (run: workbench sync)"
    )
    gh_env.server.populate(AO, 2)
    gh_env.cli("sync", "ao")
    xla = gh_env.cli("prs", "xla")
    assert xla.rc == 2
    assert "nothing synced yet for xla (run: workbench sync xla)" in xla.err


def test_reads_make_no_requests(synced: GitHubEnv) -> None:
    synced.server.reset_log()
    for argv in (("issues",), ("prs", "--mine"), ("issues", "--newcomer", "--json")):
        assert synced.cli(*argv).rc == 0
    assert synced.server.requests == []


def test_bad_arguments(synced: GitHubEnv) -> None:
    assert synced.cli("issues", "nope").rc == 2
    res = synced.cli("sync", "--closed-days", "-1")
    assert res.rc == 2 and "closed-days" in res.err
