"""Is this red check mine? Each failing check of the contributor's PRs classified against the PR's
merge base, from one sync, offline afterwards: the merge bases (compare API), their checks
(GraphQL ``Repository.object``), the heads' other attempts and Dr. CI's summary."""

from __future__ import annotations

import json

import pytest

from tests import github_server
from tests.github_joblogs import FakeJobLogs
from tests.github_server import VIEWER, Fault, GitHubEnv

fake_github = github_server.fake_github
gh_env = github_server.gh_env

AO = "pytorch/ao"
XLA = "pytorch/xla"
LABELED = ["module: core", "topic: not user facing"]
BASE = "b" * 40
"""The merge base PRs 1-4 share."""
BASE2 = "c" * 40
TESTS = "Run regression tests"


def job(name: str, conclusion: str, job_id: int, workflow: str = TESTS, **more: object) -> dict:
    return {"name": name, "workflow": workflow, "conclusion": conclusion, "job_id": job_id, **more}


def own_pr(gh_env: GitHubEnv, number: int, checks: list[dict], *, repo: str = AO, **item) -> None:
    failing = any(c.get("conclusion") not in ("SUCCESS", None) for c in checks)
    gh_env.server.add_item(
        repo,
        number,
        **{
            "pr": True,
            "author": VIEWER,
            "labels": LABELED,
            "ci": "FAILURE" if failing else "SUCCESS",
            "checks": checks,
            "merge_base": BASE,
            **item,
        },
    )


def log(first_error: str) -> str:
    return (
        "2026-12-01T10:00:00.0000000Z ##[group]Run pytest\n"
        "2026-12-01T10:00:05.0000000Z =========================== short test summary info "
        "============================\n"
        f"2026-12-01T10:00:05.0000000Z {first_error}\n"
        "2026-12-01T10:00:05.0000000Z ##[error]Process completed with exit code 1.\n"
    )


def _scenario(gh_env: GitHubEnv) -> None:
    """Own PRs of ao whose failing jobs fail on their base too (1), pass there (2), are absent
    from it (3), name a disabled test (4); one waiting for approval, cancelled, or failed after
    passing in another attempt (5, on another base); one whose head GitHub cannot compare (6)."""
    server = gh_env.server
    server.add_commit(
        AO,
        BASE,
        [
            job("test (cpu, 1, 2)", "FAILURE", 501),
            job("test (cpu, 2, 2)", "SUCCESS", 502),
            job("test (cuda)", "SUCCESS", 503),
            job("build", "SUCCESS", 504, workflow="Build"),
        ],
    )
    server.add_commit(AO, BASE2, [job("lint", "SUCCESS", 601, workflow="Lint")])
    own_pr(
        gh_env, 1, [job("test (cpu, 2, 2)", "FAILURE", 11), job("build", "SUCCESS", 12, "Build")]
    )
    own_pr(gh_env, 2, [job("build", "FAILURE", 21, workflow="Build")])
    own_pr(gh_env, 3, [job("docs", "FAILURE", 31, workflow="Docs")])
    own_pr(gh_env, 4, [job("test (cuda)", "FAILURE", 41)])
    own_pr(
        gh_env,
        5,
        [
            job("build", "ACTION_REQUIRED", 51, workflow="Build"),
            job("lint", "CANCELLED", 52, workflow="Lint"),
            job(
                "test (cpu, 1, 2)",
                "FAILURE",
                53,
                attempts=[{"conclusion": "SUCCESS", "job_id": 50}],
            ),
        ],
        merge_base=BASE2,
    )
    own_pr(gh_env, 6, [job("build", "FAILURE", 61, workflow="Build")], merge_base=None)
    server.add_item(AO, 90, title="DISABLED test_fp64_scale (__main__.TestUtils)")
    logs = FakeJobLogs().install(server)
    logs.add(AO, 41, log("FAILED test/test_utils.py::TestUtils::test_fp64_scale - AssertionError"))


def table_rows(gh_env: GitHubEnv, width: int = 80) -> dict[str, str]:
    """The lines of `prs --mine` in a terminal ``width`` columns wide, by the PR's number (the
    header as "#")."""
    from workbench.github import cli as github_cli

    saved = github_cli.out._width
    github_cli.out.width = width
    try:
        result = gh_env.cli("prs", "--mine")
    finally:
        github_cli.out._width = saved
    assert result.rc == 0, result.err
    return {line.split()[1]: line for line in result.out.splitlines() if line.strip()}


def classes(gh_env: GitHubEnv) -> dict[int, list[tuple[str, str, str]]]:
    """PR -> (check, class, why) of each failing check, from `prs --mine --json`."""
    result = gh_env.cli("prs", "--mine", "--json")
    assert result.rc == 0, result.err
    return {
        p["number"]: [
            (b["name"], b["class"], b["why"]) for b in p["blocking"] if b["kind"] == "check"
        ]
        for p in result.json()
    }


def test_each_failing_check_is_classified_against_its_merge_base_with_why(
    gh_env: GitHubEnv,
) -> None:
    _scenario(gh_env)

    assert gh_env.cli("sync", "ao").rc == 0
    assert gh_env.cli("prs", "log", "ao#4").rc == 0  # the disabled test's name is in its log

    found = classes(gh_env)
    assert found[1] == [
        (
            f"{TESTS} / test (cpu, 2, 2)",
            "broken-trunk",
            "the same job failed on the merge base bbbbbbb (first errors not compared: "
            "workbench prs log pytorch/ao#1 --base fetches both logs)",
        )
    ]
    assert found[2] == [
        (
            "Build / build",
            "new",
            "the same job passed on the merge base bbbbbbb: the failure came with this PR",
        )
    ]
    assert found[3] == [
        (
            "Docs / docs",
            "unclassified",
            "the job did not run on the merge base bbbbbbb: nothing to compare with",
        )
    ]
    assert found[4] == [
        (f"{TESTS} / test (cuda)", "flaky", "test_fp64_scale is disabled upstream: #90")
    ]
    assert [(name, klass) for name, klass, _ in found[5]] == [
        ("Build / build", "awaiting-approval"),
        ("Lint / lint", "cancelled"),
        (f"{TESTS} / test (cpu, 1, 2)", "flaky"),
    ]
    assert found[5][2][2] == "the same job passed in another attempt on this head commit"
    [(_, klass, why)] = found[6]
    assert klass == "unclassified"
    assert why.startswith("no merge base to compare with: GitHub cannot compare")
    assert "(404)" in why

    # What to ask a maintainer for, where a fork's author cannot act.
    pr5 = {p["number"]: p for p in gh_env.cli("prs", "--mine", "--json").json()}[5]
    asks = [b.get("ask") for b in pr5["blocking"] if b["kind"] == "check"]
    assert asks[0] == "ask a maintainer to approve the workflows"
    assert "rerun" in asks[2]
    # The blocking column counts the contributor's failures only (new, unclassified); a wide
    # terminal has a column of the failing checks' classes, a narrow one says "not yours".
    narrow = table_rows(gh_env)
    assert "1 failing" in narrow["2"] and "not yours" not in narrow["2"]
    assert "1 not yours" in narrow["1"] and "failing" not in narrow["1"]
    wide = table_rows(gh_env, width=160)
    assert "failing checks" in wide["#"]
    assert "1 failing" in wide["2"] and "1 new" in wide["2"]
    assert "failing" not in wide["1"].split("1 broken-trunk")[0]
    assert "1 flaky, 1 awaiting-approval" in wide["5"]


def test_prs_sharing_a_base_cost_one_read_and_a_second_sync_none(gh_env: GitHubEnv) -> None:
    _scenario(gh_env)
    server = gh_env.server

    result = gh_env.cli("sync", "ao", "--json")

    assert result.rc == 0, result.err
    bases = result.json()["bases"]
    # One compare per failing PR's head; the two bases and six heads in one GraphQL request.
    assert (bases["prs"], bases["compared"], bases["commits_read"]) == (6, 6, 8)
    assert server.count("/compare/") == 6
    commit_queries = [q for q in server.graphql_queries if "query CommitChecks" in q["query"]]
    assert len(commit_queries) == 1
    assert (
        sorted(v for k, v in commit_queries[0]["variables"].items() if k.startswith("s")).count(
            BASE
        )
        == 1
    )
    assert bases["requests"] == 7

    server.reset_log()
    server.graphql_queries.clear()
    again = gh_env.cli("sync", "ao", "--json")
    assert again.rc == 0
    assert again.json()["bases"]["requests"] == 0
    assert server.count("/compare/") == 0 and server.graphql_queries == []


def test_offline_after_one_sync(gh_env: GitHubEnv) -> None:
    _scenario(gh_env)
    assert gh_env.cli("sync", "ao").rc == 0
    before = classes(gh_env)
    gh_env.server.stop()

    assert classes(gh_env) == before
    shown = gh_env.cli("prs", "ao#1")
    assert shown.rc == 0, shown.err
    assert "failing, not yours:" in shown.out
    assert "broken-trunk" in shown.out and "merge base with main: bbbbbbbbbbbb" in shown.out
    assert "nothing of yours blocks it" in shown.out


def test_the_same_first_error_on_the_base_is_broken_trunk_another_is_new(
    gh_env: GitHubEnv,
) -> None:
    server = gh_env.server
    same = "FAILED test/test_a.py::TestA::test_x - AssertionError: 1 != 2"
    server.add_commit(AO, BASE, [job("test (cpu, 1, 2)", "FAILURE", 501)])
    own_pr(gh_env, 1, [job("test (cpu, 2, 2)", "FAILURE", 11)])
    own_pr(gh_env, 2, [job("test (cpu, 1, 2)", "FAILURE", 21)])
    logs = FakeJobLogs().install(server)
    logs.add(AO, 501, log(same))
    logs.add(AO, 11, log("FAILED test/test_a.py::TestA::test_x - AssertionError: 3 != 2"))
    logs.add(AO, 21, log("FAILED test/test_b.py::TestB::test_y - RuntimeError: boom"))
    assert gh_env.cli("sync", "ao").rc == 0

    fetched = gh_env.cli("prs", "log", "ao#1", "--base", "--json")
    assert fetched.rc == 0, fetched.err
    assert [(e["check"], e.get("merge_base")) for e in fetched.json()] == [
        (f"{TESTS} / test (cpu, 2, 2)", None),
        (f"{TESTS} / test (cpu, 1, 2)", BASE),
    ]
    assert gh_env.cli("prs", "log", "ao#2").rc == 0
    assert server.count("/actions/jobs/501/logs") == 1  # fetched once, read from the store after

    found = classes(gh_env)
    assert found[1][0][1:] == (
        "broken-trunk",
        "the same job failed on the merge base bbbbbbb with the same first error",
    )
    assert found[2][0][1] == "new"
    assert found[2][0][2].startswith(
        "the same job failed on the merge base bbbbbbb too, but with another first error"
    )


def test_a_rate_limit_part_way_keeps_what_was_read_and_says_why(gh_env: GitHubEnv) -> None:
    _scenario(gh_env)
    server = gh_env.server
    head3 = server.items[AO][3]["head_sha"]
    server.faults.append(
        Fault(
            f"/compare/main...{head3}",
            status=403,
            body='{"message": "API rate limit exceeded for user ID 1000."}',
            headers={"X-RateLimit-Remaining": "0"},
        )
    )

    result = gh_env.cli("sync", "ao")

    assert result.rc == 1
    assert "rate limit" in result.err and "merge bases read so far are stored" in result.err
    found = classes(gh_env)
    # PRs 1 and 2 were compared before the limit; nothing of their commits' checks was read.
    for number in (1, 2, 3, 4):
        [(_, klass, why)] = found[number][:1]
        assert klass == "unclassified"
        assert "not read: GitHub's rate limit ran out at" in why
    with gh_env.store() as store:
        assert (
            len(
                store.merge_bases(
                    [(AO, server.items[AO][n]["head_sha"], "main") for n in (1, 2, 3)]
                )
            )
            == 2
        )

    server.reset_log()
    assert gh_env.cli("sync", "ao").rc == 0
    assert server.count("/compare/") == 4  # PRs 3 to 6: the first two are not asked again
    assert classes(gh_env)[2][0][1] == "new"


def test_a_base_with_no_checks_and_a_base_gone(gh_env: GitHubEnv) -> None:
    server = gh_env.server
    server.add_commit(AO, BASE, [])
    own_pr(gh_env, 1, [job("build", "FAILURE", 11, workflow="Build")])
    own_pr(gh_env, 2, [job("build", "FAILURE", 21, workflow="Build")], merge_base="d" * 40)
    assert gh_env.cli("sync", "ao").rc == 0

    found = classes(gh_env)
    assert found[1][0][1:] == (
        "unclassified",
        "the merge base bbbbbbb has no checks: nothing to compare with",
    )
    assert found[2][0][1:] == (
        "unclassified",
        "merge base ddddddd: GitHub does not have commit ddddddd (force-pushed away or deleted)",
    )


def test_dr_ci_is_shown_beside_and_a_disagreement_said(gh_env: GitHubEnv) -> None:
    server = gh_env.server
    server.add_commit(AO, BASE, [job("build", "SUCCESS", 504, workflow="Build")])
    summary = json.dumps(
        {"FAILED": [], "FLAKY": [{"name": "Build / build", "id": 21}], "BROKEN_TRUNK": []}
    )
    own_pr(
        gh_env,
        2,
        [
            job("build", "FAILURE", 21, workflow="Build"),
            {"name": "Dr.CI", "conclusion": "NEUTRAL", "job_id": 99, "summary": summary},
        ],
    )
    assert gh_env.cli("sync", "ao").rc == 0

    [pr] = gh_env.cli("prs", "--mine", "--json").json()
    [check] = [b for b in pr["blocking"] if b["kind"] == "check"]
    assert (check["class"], check["drci"]) == ("new", "flaky")
    assert check["why"].endswith("; Dr.CI says flaky: the two disagree")


def test_what_to_ask_for_is_in_the_upstreams_words(gh_env: GitHubEnv) -> None:
    """ao's recipe names the bot command for a workflow behind a ciflow label, and says that its
    bot takes no rerun; xla's recipe says nothing, so the generic words stay."""
    rocm = "Run Regression Tests on ROCm"
    again = [{"conclusion": "SUCCESS", "job_id": 70}]
    for repo in (AO, XLA):
        gh_env.server.add_commit(repo, BASE, [job("rocm", "SUCCESS", 504, workflow=rocm)])
        own_pr(
            gh_env,
            7,
            [
                job("rocm", "FAILURE", 71, workflow=rocm, attempts=again),
                job("test (cpu, 1, 2)", "CANCELLED", 72),
            ],
            repo=repo,
            labels=LABELED if repo == AO else [],
        )
    assert gh_env.cli("sync").rc == 0
    found = {p["repo"]: p for p in gh_env.cli("prs", "--mine", "--json").json()}

    def asks(repo: str) -> list[tuple[str, str]]:
        return [(b["class"], b["ask"]) for b in found[repo]["blocking"] if b["kind"] == "check"]

    assert asks(AO) == [
        (
            "flaky",
            "ask a maintainer to rerun the job; it runs again on each push while the PR has "
            "ciflow/rocm, which only a maintainer can add (`@pytorchbot label ciflow/rocm`)",
        ),
        (
            "cancelled",
            "push again, or ask a maintainer to rerun the job (a fork's author cannot, and "
            "@pytorchbot has no rerun command)",
        ),
    ]
    assert asks(XLA) == [
        ("flaky", "ask a maintainer to rerun the job (a fork's author cannot)"),
        ("cancelled", "push again, or ask a maintainer to rerun the job (a fork's author cannot)"),
    ]


@pytest.mark.parametrize("repo", [XLA, "triton-lang/triton"])
def test_the_upstreams_dr_ci_does_not_cover_are_classified_too(
    gh_env: GitHubEnv, repo: str
) -> None:
    gh_env.server.add_commit(repo, BASE, [job("build", "FAILURE", 504, workflow="Build")])
    own_pr(gh_env, 1, [job("build", "FAILURE", 11, workflow="Build")], repo=repo, labels=[])
    assert gh_env.cli("sync").rc == 0
    [pr] = gh_env.cli("prs", "--mine", "--json").json()
    assert pr["blocking"][0]["class"] == "broken-trunk"
    assert pr["blocking"][0]["blocks"] is False


def test_the_dashboards_blocking_section_dims_what_is_not_yours_with_why(
    gh_env: GitHubEnv,
) -> None:
    from workbench.config import load_recipes
    from workbench.display import utc_now
    from workbench.github.blocking import read_blocking
    from workbench.github.store import ItemQuery
    from workbench.paths import Workspace
    from workbench.tui.detail import blocking_markdown

    _scenario(gh_env)
    assert gh_env.cli("sync", "ao").rc == 0
    recipes = {r.upstream.repo: r for r in load_recipes(Workspace.discover())}
    with gh_env.store() as store:
        rows = store.query(ItemQuery(repos=(AO,), pull_requests=True))
        view = read_blocking(store, rows, recipes, utc_now())
    text = {}
    for t in rows:
        key = (AO, t.item.number)
        lines = blocking_markdown(
            t, view.blocking[key], view.details.get(key), view.logs, utc_now()
        )
        text[t.item.number] = "\n".join(lines)
    assert "Nothing of yours blocks it." in text[1]
    assert "*not yours, broken-trunk:*" in text[1]
    assert "the same job failed on the merge base bbbbbbb" in text[1]
    assert "new: the same job passed on the merge base bbbbbbb" in text[2]
    assert "not yours" not in text[2]
    assert "*not yours, awaiting-approval:*" in text[5]
    assert "ask a maintainer to approve the workflows" in text[5]
