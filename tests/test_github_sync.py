"""`workbench sync` against the local GitHub: request counts, incremental passes, PR status."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import github_server
from tests.github_server import VIEWER, GitHubEnv, on_server, stored

fake_github = github_server.fake_github  # the fixtures, shared with the other GitHub tests
gh_env = github_server.gh_env

AO = "pytorch/ao"
LISTS = "/issues"


@pytest.mark.parametrize("n", [1, 100, 101, 250])
def test_first_sync_costs_one_list_request_per_100_items(gh_env: GitHubEnv, n: int) -> None:
    server = gh_env.server
    server.populate(AO, n)
    server.add_item(AO, pr=True, author=VIEWER, ci="SUCCESS")

    result = gh_env.cli("sync", "ao", "--json")

    assert result.rc == 0, result.err
    pages = -(-(n + 1) // 100)
    assert server.count(LISTS, method="GET") == pages
    assert server.count("/graphql") == 1  # CI/review state and who "me" is, in one request
    assert server.count("/notifications") == 1  # the first poll (tests/test_notifications.py)
    assert len(server.requests) == pages + 2  # nothing else: no /user, no per-item requests
    report = result.json()["repos"][0]
    assert report == {
        "name": "ao",
        "repo": AO,
        "first_sync": True,
        "requests": pages,
        "new": n + 1,
        "updated": 0,
        "not_modified": False,
        "pages": pages,
    }
    assert stored(gh_env) == on_server(server)
    with gh_env.store() as store:
        assert store.index_pending() == 0  # the sync made everything searchable


def test_every_recipe_by_default_then_unchanged_resync_is_one_304_per_repo(
    gh_env: GitHubEnv,
) -> None:
    server = gh_env.server
    server.populate(AO, 250)
    server.populate("triton-lang/triton", 120)
    assert gh_env.cli("sync").rc == 0
    assert server.count(LISTS) == 3 + 2 + 1  # xla is empty: one page

    server.reset_log()
    result = gh_env.cli("sync", "--json")

    assert result.rc == 0, result.err
    assert [(r.method, r.status) for r in server.requests] == [("GET", 304)] * 3
    assert all(r.if_none_match for r in server.requests)
    report = result.json()
    assert [r["not_modified"] for r in report["repos"]] == [True] * 3
    assert [r["requests"] for r in report["repos"]] == [1] * 3
    assert report["requests"] == 3
    assert report["status"]["skipped"] == "unchanged"
    assert report["rate_limit_remaining"] == server.rate_remaining


def test_changed_resync_fetches_only_what_changed(gh_env: GitHubEnv) -> None:
    server = gh_env.server
    server.populate(AO, 1000)
    assert gh_env.cli("sync", "ao").rc == 0

    server.reset_log()
    server.touch(AO, range(1, 51), title="edited")
    server.add_item(AO, 5001, title="brand new")
    result = gh_env.cli("sync", "ao", "--json")

    assert result.rc == 0, result.err
    ao = result.json()["repos"][0]
    assert (ao["requests"], ao["new"], ao["updated"]) == (1, 1, 50)
    assert server.count(LISTS) == 1
    assert stored(gh_env) == on_server(server)

    # 250 changes span three pages: still only the pages down to the watermark.
    server.reset_log()
    server.touch(AO, range(300, 550))
    ao = gh_env.cli("sync", "ao", "--json").json()["repos"][0]
    assert (ao["requests"], ao["new"], ao["updated"]) == (3, 0, 250)
    assert stored(gh_env) == on_server(server)
    server.reset_log()
    assert gh_env.cli("sync", "ao", "--json").json()["repos"][0]["not_modified"] is True


def test_first_sync_takes_open_items_and_those_closed_recently(gh_env: GitHubEnv) -> None:
    server = gh_env.server
    now = server.tick()
    for k in range(250):  # active in the last 10 days, every 3rd closed
        server.add_item(
            AO, state="closed" if k % 3 == 0 else "open", updated=now - timedelta(hours=k)
        )
    for k in range(150):  # last touched 40 to 100 days ago: 80 open, 70 closed
        server.add_item(
            AO, state="open" if k < 80 else "closed", updated=now - timedelta(days=40 + k * 0.4)
        )
    wanted = {n for n, i in server.items[AO].items() if i["state"] == "open" or n <= 250}

    ao = gh_env.cli("sync", "ao", "--json").json()["repos"][0]

    # 3 pages down to the 30-day cutoff, then 1 page of old open items, oldest first.
    assert ao["requests"] == 4 == -(-400 // 100)
    assert server.requests[3].query == {
        "state": "open",
        "sort": "updated",
        "direction": "asc",
        "per_page": "100",
    }
    assert set(stored(gh_env)) == wanted
    assert ao["new"] == len(wanted) == 330


def test_closed_days_widens_the_first_sync(gh_env: GitHubEnv) -> None:
    server = gh_env.server
    now = server.tick()
    for k in range(120):
        server.add_item(AO, state="closed", updated=now - timedelta(days=k))

    ao = gh_env.cli("sync", "ao", "--closed-days", "60", "--json").json()["repos"][0]

    assert len(stored(gh_env)) == 61  # closed 0..60 days ago
    assert ao["requests"] == 2  # one page reaches past the cutoff; one finds no old open items


def test_watermark_item_seen_again_is_not_counted_as_updated(gh_env: GitHubEnv) -> None:
    server = gh_env.server
    server.populate(AO, 10)
    gh_env.cli("sync", "ao")
    server.add_item(AO, 11)  # changes the first page; the watermark item (10) comes again

    ao = gh_env.cli("sync", "ao", "--json").json()["repos"][0]

    assert (ao["new"], ao["updated"]) == (1, 0)


def test_pr_status_for_mine_and_review_requests(gh_env: GitHubEnv) -> None:
    server = gh_env.server
    server.populate(AO, 30)
    server.add_item(
        AO, 100, pr=True, author=VIEWER, ci="FAILURE", review="CHANGES_REQUESTED", draft=True
    )
    server.add_item(AO, 101, pr=True, author="other", ci="SUCCESS", reviewers=[VIEWER])
    server.add_item(AO, 102, pr=True, author="other", ci="SUCCESS")
    server.add_item(AO, 103, pr=True, author=VIEWER, state="closed", merged=True)
    server.add_item(
        "pytorch/xla", 7, pr=True, author=VIEWER, ci="SUCCESS", body="Fixes pytorch/xla#3"
    )

    report = gh_env.cli("sync", "--json").json()

    assert report["status"] == {
        "requests": 1,
        "skipped": None,
        "viewer": VIEWER,
        "mine": 2,
        "review_requested": 1,
    }
    # The status after the lists, then the notifications (tests/test_notifications.py).
    assert [r.path for r in server.requests][-2:] == ["/graphql", "/notifications"]
    mine = gh_env.cli("prs", "--mine", "--json").json()
    assert [(p["repo"], p["number"], p["ci"], p["review"], p["draft"]) for p in mine] == [
        ("pytorch/xla", 7, "success", None, False),
        (AO, 100, "failure", "CHANGES_REQUESTED", True),
    ]
    assert mine[0]["linked_issues"] == [3]
    merged = gh_env.cli("prs", "--mine", "--state", "merged", "--json").json()
    assert [p["number"] for p in merged] == [103]
    review = gh_env.cli("prs", "--review-requested", "--json").json()
    assert [(p["number"], p["ci"], p["review_requested"]) for p in review] == [
        (101, "success", True)
    ]
    others = gh_env.cli("prs", "ao", "--json").json()
    assert {p["number"]: p["ci"] for p in others}[102] is None  # not ours: state not fetched


def test_pending_ci_is_asked_again_without_any_change(gh_env: GitHubEnv) -> None:
    server = gh_env.server
    server.add_item(AO, 1, pr=True, author=VIEWER, ci="PENDING")
    gh_env.cli("sync", "ao")

    server.reset_log()
    server.update(AO, 1, ci="SUCCESS")  # checks finish; the PR itself does not change
    report = gh_env.cli("sync", "ao", "--json").json()

    assert [(r.method, r.status) for r in server.requests] == [("GET", 304), ("POST", 200)]
    assert report["status"]["requests"] == 1
    assert gh_env.cli("prs", "--mine", "--json").json()[0]["ci"] == "success"

    server.reset_log()
    gh_env.cli("sync", "ao")
    assert [(r.method, r.status) for r in server.requests] == [("GET", 304)]


def test_review_request_withdrawn_is_cleared(gh_env: GitHubEnv) -> None:
    server = gh_env.server
    server.add_item(AO, 1, pr=True, author="other", ci="SUCCESS", reviewers=[VIEWER])
    gh_env.cli("sync", "ao")
    assert len(gh_env.cli("prs", "--review-requested", "--json").json()) == 1

    server.update(AO, 1, reviewers=[])
    server.touch(AO, [1])
    gh_env.cli("sync", "ao")

    assert gh_env.cli("prs", "--review-requested", "--json").json() == []


def test_anonymous_sync_warns_and_skips_pr_status(
    gh_env: GitHubEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GH_TOKEN")
    gh_env.server.populate(AO, 5)

    result = gh_env.cli("sync", "ao", "--json")

    assert result.rc == 0
    assert "anonymous use is limited to 60 requests an hour" in result.err
    assert result.json()["status"]["skipped"] == "anonymous"
    assert gh_env.server.count("/graphql") == 0
    assert not any(r.authorized for r in gh_env.server.requests)
    mine = gh_env.cli("prs", "--mine")
    assert mine.rc == 2
    assert "sync once with a token" in mine.err


def test_sync_prints_a_summary(gh_env: GitHubEnv) -> None:
    gh_env.server.populate(AO, 3)
    first = gh_env.cli("sync", "ao")
    again = gh_env.cli("sync", "ao")

    assert "ao: first sync, 3 items in 1 request" in first.out
    assert "PR status (contributor): 0 open PR(s) of yours" in first.out
    assert "ao: unchanged (1 request, 304)" in again.out
    assert "rate limit: " in again.out


def test_unknown_upstream_is_a_usage_error(gh_env: GitHubEnv) -> None:
    result = gh_env.cli("sync", "nope")
    assert result.rc == 2
    assert "unknown upstream 'nope'" in result.err
    assert gh_env.server.requests == []
