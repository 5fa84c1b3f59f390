"""What blocks each PR: the status search's checks, reviews, threads, comments and conflicts, in as
few GraphQL requests as possible, and the ``blocking`` list of ``workbench prs``."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

# GitPython looks for git once, when first imported, on the PATH of that moment; the GitHub
# fixtures narrow PATH (no `gh`), so it is imported here, whichever test runs first.
import git  # noqa: F401
import pytest

from tests import github_server
from tests.github_server import TOKEN, VIEWER, GitHubEnv, iso

fake_github = github_server.fake_github
gh_env = github_server.gh_env

AO = "pytorch/ao"
LABELED = ["module: core", "topic: not user facing"]
"""The labels ao requires: a PR with them lacks none."""


def status_requests(gh_env: GitHubEnv) -> int:
    """GraphQL requests of the status search (the PRs and their checks beyond the first 100),
    not those reading merge bases (tests/test_ci_triage.py counts those)."""
    return sum(
        1
        for q in gh_env.server.graphql_queries
        if q["query"].lstrip().startswith(("query PrStatus", "query MoreChecks"))
    )


def own_pr(gh_env: GitHubEnv, number: int, **item: object) -> None:
    """An open PR of the contributor in ao, with the required labels unless ``item`` says."""
    gh_env.server.add_item(AO, number, **{"pr": True, "author": VIEWER, "labels": LABELED, **item})


def _blocked_pr(gh_env: GitHubEnv) -> None:
    server = gh_env.server
    before_push = iso(server.tick())
    pushed = iso(server.tick())
    after_push = iso(server.tick())
    server.add_item(
        AO,
        1,
        pr=True,
        author=VIEWER,
        draft=True,
        ci="FAILURE",
        review="CHANGES_REQUESTED",
        mergeable="CONFLICTING",
        labels=["topic: not user facing"],
        pushes=[pushed],
        checks=[
            {"name": "build", "workflow": "Build", "conclusion": "SUCCESS", "job_id": 10},
            {
                "name": "test (cpu, 1, 2)",
                "workflow": "Run regression tests",
                "conclusion": "FAILURE",
                "job_id": 111,
                "run_id": 11,
            },
            {"name": "lint", "conclusion": None, "status": "IN_PROGRESS"},
            {"context": "EasyCLA", "state": "SUCCESS"},
        ],
        threads=[
            {
                "path": "torchao/quantization/utils.py",
                "line": 42,
                "comments": [
                    {
                        "author": "reviewer",
                        "body": "Why fp64 here?\nIt is slow.",
                        "created": before_push,
                    },
                    {"author": VIEWER, "body": "Fixed.", "created": before_push},
                    {"author": "reviewer", "body": "Still fp64 on line 44.", "created": after_push},
                ],
            },
            {
                "path": "test/test_utils.py",
                "line": 7,
                "comments": [{"author": "reviewer", "body": "nit", "created": before_push}],
            },
            {
                "path": "README.md",
                "line": 1,
                "resolved": True,
                "comments": [{"author": "reviewer", "body": "typo", "created": before_push}],
            },
        ],
        opinions=[
            {"author": "reviewer", "state": "CHANGES_REQUESTED", "submitted": after_push},
            {"author": "other", "state": "APPROVED", "submitted": before_push},
        ],
        issue_comments=[
            {"author": "someone", "body": "old news", "created": before_push},
            {"author": "pytorch-bot", "body": "CI is red", "created": after_push},
            {"author": VIEWER, "body": "my own note", "created": after_push},
        ],
    )


def test_one_request_reads_checks_reviews_threads_comments_and_conflicts(
    gh_env: GitHubEnv,
) -> None:
    _blocked_pr(gh_env)
    server = gh_env.server

    assert gh_env.cli("sync", "ao").rc == 0

    assert status_requests(gh_env) == 1
    # The failing check's merge base (no compare for this head: a 404) and its head's attempts.
    assert server.count("/compare/") == 1 and server.count("/graphql") == 2
    with gh_env.store() as store:
        s = store.pr_details(AO, 1)
    assert s is not None
    assert [(c.label, c.conclusion, c.job_id) for c in s.checks] == [
        ("Build / build", "success", 10),
        ("Run regression tests / test (cpu, 1, 2)", "failure", 111),
        ("lint", None, None),
        ("EasyCLA", "success", None),
    ]
    assert s.checks[1].run_id == 11 and s.checks[2].status == "in_progress"
    assert s.mergeable == "CONFLICTING" and s.last_push is not None
    # Unresolved threads only, each with its last comment.
    assert [(t.path, t.line, t.author, t.body, t.comments) for t in s.threads] == [
        ("torchao/quantization/utils.py", 42, "reviewer", "Still fp64 on line 44.", 3),
        ("test/test_utils.py", 7, "reviewer", "nit", 1),
    ]
    # Comments since the last push, not the contributor's own.
    assert [(c.author, c.body) for c in s.comments] == [("pytorch-bot", "CI is red")]

    result = gh_env.cli("prs", "--mine", "--json")
    [pr] = result.json()
    assert [(b["kind"], b["name"]) for b in pr["blocking"]] == [
        ("check", "Run regression tests / test (cpu, 1, 2)"),
        ("conflict", "main"),
        ("changes-requested", "@reviewer"),
        ("thread", "torchao/quantization/utils.py:42"),
        ("thread", "test/test_utils.py:7"),
        ("label", "module:"),
        ("draft", "draft"),
    ]
    check, _, _, late, early, *_ = pr["blocking"]
    assert "workbench prs log pytorch/ao#1" in check["detail"]  # no log fetched yet
    assert late["detail"] == "@reviewer: Still fp64 on line 44. (after your last push)"
    assert early["detail"] == "@reviewer: nit"
    assert TOKEN not in result.out


def test_the_table_of_my_prs_has_a_blocking_column(gh_env: GitHubEnv) -> None:
    _blocked_pr(gh_env)
    assert gh_env.cli("sync", "ao").rc == 0
    table = gh_env.cli("prs", "--mine")
    assert "blocking" in table.out.splitlines()[0]
    assert "1 failing, conflict" in table.out and "draft PR 1" in table.out


def test_an_idle_pr_and_a_clean_one(gh_env: GitHubEnv) -> None:
    own_pr(gh_env, 1, ci="SUCCESS", updated=gh_env.server.tick() - timedelta(days=10, hours=12))
    own_pr(gh_env, 2, ci="SUCCESS")
    assert gh_env.cli("sync", "ao").rc == 0

    prs = {p["number"]: p["blocking"] for p in gh_env.cli("prs", "--mine", "--json").json()}
    assert prs[2] == []
    assert [(b["kind"], b["detail"]) for b in prs[1]] == [("idle", "no activity for 10 days")]
    relaxed = gh_env.cli("prs", "--mine", "--json", "--idle-days", "30").json()
    assert all(p["blocking"] == [] for p in relaxed)


@pytest.mark.parametrize(("mine", "review", "requests"), [(100, 0, 1), (101, 3, 2), (250, 120, 3)])
def test_the_status_search_pages_past_100_prs(
    gh_env: GitHubEnv, mine: int, review: int, requests: int
) -> None:
    server = gh_env.server
    for n in range(1, mine + 1):
        server.add_item(AO, n, pr=True, author=VIEWER, ci="SUCCESS")
    for n in range(mine + 1, mine + review + 1):
        server.add_item(AO, n, pr=True, reviewers=[VIEWER], ci="PENDING")

    result = gh_env.cli("sync", "ao", "--json")

    assert result.rc == 0, result.err
    assert server.count("/graphql") == requests
    assert result.json()["status"]["mine"] == mine
    assert result.json()["status"]["review_requested"] == review
    # A search that ran out is left out of the next request.
    later = server.graphql_queries[1:]
    assert all(
        q["variables"]["withReview"] == (review > 100 * (i + 1)) for i, q in enumerate(later)
    )
    assert len(gh_env.cli("prs", "--mine", "--json").json()) == mine
    assert len(gh_env.cli("prs", "--review-requested", "--json").json()) == review


@pytest.mark.parametrize(("checks", "requests"), [(100, 1), (120, 2), (250, 3)])
def test_checks_beyond_the_first_100_are_read_for_that_pr_only(
    gh_env: GitHubEnv, checks: int, requests: int
) -> None:
    jobs = [{"name": f"job {k}", "conclusion": "SUCCESS", "job_id": k} for k in range(checks)]
    jobs[-1]["conclusion"] = "FAILURE"
    own_pr(gh_env, 1, ci="FAILURE", checks=jobs)
    own_pr(gh_env, 2, ci="SUCCESS")

    assert gh_env.cli("sync", "ao").rc == 0

    assert status_requests(gh_env) == requests
    with gh_env.store() as store:
        s = store.pr_details(AO, 1)
    assert s is not None and [c.job_id for c in s.checks] == list(range(checks))
    pr = {p["number"]: p["blocking"] for p in gh_env.cli("prs", "--mine", "--json").json()}
    assert [(b["kind"], b["name"]) for b in pr[1]] == [("check", f"job {checks - 1}")]
    assert pr[2] == []


def test_a_failing_rollup_whose_failing_check_was_not_read_is_not_called_passing(
    gh_env: GitHubEnv,
) -> None:
    """Should the checks' pages disagree with the rollup, the PR still reads as failing."""
    jobs = [{"name": "build", "conclusion": "SUCCESS", "job_id": 1}]
    own_pr(gh_env, 1, ci="FAILURE", checks=jobs)
    assert gh_env.cli("sync", "ao").rc == 0
    [pr] = gh_env.cli("prs", "--mine", "--json").json()
    assert [(b["kind"], b["name"], b["detail"]) for b in pr["blocking"]] == [
        ("check", "CI", "GitHub's rollup says failing; none of the 1 checks read is")
    ]


def test_the_server_refuses_a_field_github_lacks(gh_env: GitHubEnv) -> None:
    """The local GraphQL validates against GitHub's schema: a wrong field fails here."""
    from workbench.github.client import GitHubClient
    from workbench.github.errors import GitHubError

    with GitHubClient.from_env() as client:
        assert client.graphql("query { viewer { login } }", {}) == {"viewer": {"login": VIEWER}}
        with pytest.raises(GitHubError, match="Cannot query field 'pushedDate'"):
            client.graphql(
                'query { search(query: "is:pr", type: ISSUE, first: 1) { nodes {'
                " ... on PullRequest { commits(last: 1) { nodes { commit { pushedDate } } } } } } }",
                {},
            )
        with pytest.raises(GitHubError, match="`first` or `last`"):
            client.graphql('query { search(query: "is:pr", type: ISSUE) { issueCount } }', {})


FAILING_LOG = """\
2026-12-01T10:00:00.0000000Z ##[group]Run python -m pytest test/quantization/test_utils.py
2026-12-01T10:00:05.0000000Z =================================== FAILURES ===================================
2026-12-01T10:00:05.0000000Z ________________________ TestUtils.test_fp64_scale ________________________
2026-12-01T10:00:05.0000000Z     def test_fp64_scale(self):
2026-12-01T10:00:05.0000000Z >       self.assertEqual(scale.dtype, torch.float32)
2026-12-01T10:00:05.0000000Z E       AssertionError: torch.float64 != torch.float32
2026-12-01T10:00:05.0000000Z test/quantization/test_utils.py:42: AssertionError
2026-12-01T10:00:05.0000000Z =========================== short test summary info ============================
2026-12-01T10:00:05.0000000Z FAILED test/quantization/test_utils.py::TestUtils::test_fp64_scale - AssertionError: torch.float64 != torch.float32
2026-12-01T10:00:05.0000000Z ##[error]Process completed with exit code 1.
"""


async def test_the_dashboard_fetches_a_failing_log_on_l_and_shows_its_first_error(
    gh_env: GitHubEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.github_joblogs import FakeJobLogs
    from tests.test_tui import detail, open_tab, settle, table, wait_for
    from workbench.paths import Workspace
    from workbench.tui.app import make_app

    _blocked_pr(gh_env)
    logs = FakeJobLogs().install(gh_env.server)
    logs.add(AO, 111, FAILING_LOG)
    assert gh_env.cli("sync", "ao").rc == 0
    gh_env.server.reset_log()

    # git for the Patches tab, and still no `gh` whose login could reach the test.
    git_bin = tmp_path / "git-bin"
    git_bin.mkdir()
    (git_bin / "git").symlink_to(shutil.which("git", path=os.defpath) or "/usr/bin/git")
    monkeypatch.setenv("PATH", str(git_bin))
    ws = Workspace.discover()
    with gh_env.store() as store:
        app = make_app(ws, store=store, check_head=False)
        async with app.run_test(size=(140, 45)) as pilot:
            await settle(pilot, app)
            await open_tab(pilot, app, "mine")
            assert "1 failing" in table(app, "mine").cells(table(app, "mine").items[0])[5].plain
            await wait_for(pilot, lambda: "press `l` to fetch its log" in detail(app))
            await pilot.press("l")
            await wait_for(pilot, lambda: "AssertionError: torch.float64" in detail(app))
            await settle(pilot, app)
            assert "FAILED test/quantization/test_utils.py::TestUtils::test_fp64_scale" in detail(
                app
            )
            cells = table(app, "mine").cells(table(app, "mine").items[0])
            assert cells[5].plain.startswith("1 failing")
    # One request for the job's log, one to the storage host; nothing else.
    assert gh_env.server.count("/actions/jobs/111/logs") == 1
    assert [hit.authorized for hit in logs.storage] == [False]
    assert len(gh_env.server.requests) == 2
    # Offline afterwards: the blocking list names the failing test.
    gh_env.server.stop()
    [pr] = gh_env.cli("prs", "--mine", "--json").json()
    assert pr["blocking"][0]["detail"].startswith("FAILED test/quantization/test_utils.py::")


def test_threads_past_the_first_50_are_counted_not_dropped(gh_env: GitHubEnv) -> None:
    when = iso(gh_env.server.tick())
    threads = [
        {"path": f"f{k}.py", "line": k, "comments": [{"author": "r", "body": "?", "created": when}]}
        for k in range(60)
    ]
    own_pr(gh_env, 1, ci="SUCCESS", threads=threads)
    assert gh_env.cli("sync", "ao").rc == 0
    [pr] = gh_env.cli("prs", "--mine", "--json").json()
    kinds = [(b["kind"], b["name"]) for b in pr["blocking"]]
    assert kinds[0] == ("thread", "10 more") and len(kinds) == 51
    assert pr["blocking"][0]["detail"] == "threads after the first 50 not read"


def test_everything_reads_offline_once_synced_and_fetched(gh_env: GitHubEnv) -> None:
    """On a plane: what blocks each PR down to the failing test's first lines, the logs and the
    notifications, with GitHub out of reach."""
    from tests.github_joblogs import FakeJobLogs

    server = gh_env.server
    _blocked_pr(gh_env)
    FakeJobLogs().install(server).add(AO, 111, FAILING_LOG)
    server.notifications.add(server, AO, reason="review_requested", number=9, title="fp8 rowwise")
    assert gh_env.cli("sync").rc == 0
    assert gh_env.cli("prs", "log", "pytorch/ao#1").rc == 0
    server.stop()

    [pr] = gh_env.cli("prs", "--mine", "--json").json()
    assert pr["blocking"][0]["detail"].startswith(
        "FAILED test/quantization/test_utils.py::TestUtils::test_fp64_scale - AssertionError"
    )
    log = gh_env.cli("prs", "log", "pytorch/ao#1")
    assert log.rc == 0 and "E       AssertionError: torch.float64 != torch.float32" in log.out
    [note] = gh_env.cli("notifications", "--json").json()
    assert (note["reason"], note["title"]) == ("review_requested", "fp8 rowwise")
    table = gh_env.cli("prs", "--mine")
    assert table.rc == 0 and "1 failing" in table.out


def test_one_pr_shows_all_that_blocks_it(gh_env: GitHubEnv) -> None:
    _blocked_pr(gh_env)
    assert gh_env.cli("sync", "ao").rc == 0

    shown = gh_env.cli("prs", "ao#1")
    assert shown.rc == 0, shown.err
    assert "torchao/quantization/utils.py:42 @reviewer: Still fp64 on line 44." in shown.out
    assert "@pytorch-bot" in shown.out and "CI is red" in shown.out  # since the last push
    doc = gh_env.cli("prs", "https://github.com/pytorch/ao/pull/1", "--json").json()
    assert [b["kind"] for b in doc["blocking"]][:2] == ["check", "conflict"]
    assert doc["mergeable"] == "CONFLICTING" and len(doc["checks"]) == 4
    assert [c["author"] for c in doc["comments_since_push"]] == ["pytorch-bot"]
    missing = gh_env.cli("prs", "ao#99")
    assert missing.rc == 2 and "not a pull request in the store" in missing.err
