"""GitHub notifications of the upstreams: polled at GitHub's pace, read offline, marked read only
after a yes; against the local GitHub (tests/github_notifications.py), counting requests."""

from __future__ import annotations

import io
import os
import shutil
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests import github_server
from tests.github_notifications import NotificationsState
from tests.github_server import GitHubEnv
from workbench.github.errors import UnexpectedResponse
from workbench.github.model import parse_notification

fake_github = github_server.fake_github  # the fixtures, shared with the other GitHub tests
gh_env = github_server.gh_env

AO, XLA, TRITON = "pytorch/ao", "pytorch/xla", "triton-lang/triton"
NOTIFICATIONS = "/notifications"


@pytest.fixture
def inbox(gh_env: GitHubEnv) -> NotificationsState:
    state = gh_env.server.notifications
    assert isinstance(state, NotificationsState)
    return state


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def calls(env: GitHubEnv, path: str = NOTIFICATIONS) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in env.server.requests if r.path.startswith(path)]


def listed(env: GitHubEnv, *argv: str) -> list[dict]:
    result = env.cli("notifications", *argv, "--json")
    assert result.rc == 0, result.err
    return result.json()


def test_first_sync_keeps_the_upstreams_threads_with_the_chosen_reasons(
    gh_env: GitHubEnv, inbox: NotificationsState
) -> None:
    server = gh_env.server
    mention = inbox.add(server, AO, reason="mention", kind="Issue", number=12, title="scale bug")
    review = inbox.add(server, XLA, reason="review_requested", number=7)
    ci = inbox.add(server, TRITON, reason="ci_activity", kind="CheckSuite", number=None)
    own = inbox.add(server, AO, reason="author", number=3)
    inbox.add(server, AO, reason="subscribed", number=4)  # watching the repo: left out
    inbox.add(server, "someone/else", reason="mention", number=5)  # not an upstream
    inbox.add(server, AO.upper(), reason="mention", kind="Release", number=77)  # case differs

    result = gh_env.cli("sync", "--json")

    assert result.rc == 0, result.err
    assert calls(gh_env) == [("GET", NOTIFICATIONS, 200)]
    report = result.json()["notifications"]
    assert (report["requests"], report["new"], report["unread"], report["pages"]) == (1, 5, 5, 1)
    rows = listed(gh_env)
    assert [r["id"] for r in rows] == [
        max(inbox.threads),  # newest first: the release of "PYTORCH/AO", stored as pytorch/ao
        own,
        ci,
        review,
        mention,
    ]
    by_id = {r["id"]: r for r in rows}
    assert by_id[mention] | {"updated_at": None} == {
        "upstream": "ao",
        "id": mention,
        "repo": AO,
        "reason": "mention",
        "subject_type": "Issue",
        "title": "scale bug",
        "number": 12,
        "url": "https://github.com/pytorch/ao/issues/12",
        "updated_at": None,
        "unread": True,
        "last_read_at": None,
    }
    assert by_id[review]["url"] == "https://github.com/pytorch/xla/pull/7"
    assert (by_id[ci]["number"], by_id[ci]["url"]) == (
        None,
        "https://github.com/triton-lang/triton/actions",
    )
    assert rows[0]["repo"] == AO and rows[0]["url"] == "https://github.com/PYTORCH/AO/releases"
    assert [r["id"] for r in listed(gh_env, "xla")] == [review]

    table = gh_env.cli("notifications")
    assert table.rc == 0
    assert "scale bug" in table.out and "review_requested" in table.out and mention in table.out


def test_a_sync_within_the_poll_interval_does_not_ask(
    gh_env: GitHubEnv, inbox: NotificationsState
) -> None:
    inbox.add(gh_env.server, AO)
    assert gh_env.cli("sync").rc == 0

    gh_env.server.reset_log()
    result = gh_env.cli("sync", "--json")

    assert result.rc == 0
    assert [(r.method, r.status) for r in gh_env.server.requests] == [("GET", 304)] * 3
    report = result.json()["notifications"]
    assert (report["requests"], report["skipped"], report["unread"]) == (0, "poll interval", 1)
    assert 0 < report["next_poll_s"] <= 60
    assert "notifications: 1 unread; next poll in" in gh_env.cli("sync").out


def test_after_the_poll_interval_an_unchanged_list_is_one_304(
    gh_env: GitHubEnv, inbox: NotificationsState
) -> None:
    from workbench.github.client import GitHubClient
    from workbench.github.notifications import refresh_notifications

    inbox.add(gh_env.server, AO)
    inbox.poll_interval = 90
    t0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    with GitHubClient.from_env() as client, gh_env.store() as store:
        first = refresh_notifications(client, store, [AO], now=t0)
        early = refresh_notifications(client, store, [AO], now=t0 + timedelta(seconds=60))
        due = refresh_notifications(client, store, [AO], now=t0 + timedelta(seconds=90))
        poll = store.notification_poll()

    assert (first.requests, first.new, first.unread) == (1, 1, 1)
    assert (early.requests, early.skipped, early.next_poll_s) == (0, "poll interval", 30)
    assert (due.requests, due.not_modified, due.unread) == (1, True, 1)
    assert calls(gh_env) == [("GET", NOTIFICATIONS, 200), ("GET", NOTIFICATIONS, 304)]
    assert inbox.if_modified_since[0] is None
    assert inbox.if_modified_since[1] == poll.last_modified is not None
    assert poll.poll_interval == 90


def test_a_thread_read_elsewhere_leaves_unread_after_the_next_200(
    gh_env: GitHubEnv, inbox: NotificationsState
) -> None:
    server = gh_env.server
    inbox.poll_interval = 0  # every sync may ask
    keep = inbox.add(server, AO, number=1)
    gone = inbox.add(server, AO, number=2)
    assert gh_env.cli("sync").rc == 0
    assert {r["id"] for r in listed(gh_env)} == {keep, gone}

    inbox.read_elsewhere(server, gone)
    server.reset_log()
    result = gh_env.cli("sync", "--json")

    assert calls(gh_env) == [("GET", NOTIFICATIONS, 200)]
    report = result.json()["notifications"]
    assert (report["read_elsewhere"], report["new"], report["unread"]) == (1, 0, 1)
    assert [r["id"] for r in listed(gh_env)] == [keep]
    every = {r["id"]: r["unread"] for r in listed(gh_env, "--all")}
    assert every == {keep: True, gone: False}
    inbox.read_elsewhere(server, keep)
    assert "notifications: 0 unread (0 new, 1 read elsewhere)" in gh_env.cli("sync").out
    assert "notifications: unchanged (304), 0 unread" in gh_env.cli("sync").out


def test_more_than_50_threads_come_in_pages_of_50(
    gh_env: GitHubEnv, inbox: NotificationsState
) -> None:
    for n in range(120):
        inbox.add(gh_env.server, AO, number=n + 1)

    report = gh_env.cli("sync", "ao", "--json").json()["notifications"]

    pages = [r.query for r in gh_env.server.requests if r.path == NOTIFICATIONS]
    assert [(q.get("per_page"), q.get("page")) for q in pages] == [
        ("50", None),
        ("50", "2"),
        ("50", "3"),
    ]
    assert (report["requests"], report["pages"], report["new"], report["unread"]) == (
        3,
        3,
        120,
        120,
    )
    assert len(listed(gh_env)) == 120


def test_a_rate_limit_between_pages_keeps_what_was_stored(
    gh_env: GitHubEnv, inbox: NotificationsState
) -> None:
    server = gh_env.server
    for n in range(70):
        inbox.add(server, AO, number=n + 1)
    server.rate_remaining = 3  # the issue list, the status search, the first page of 50

    result = gh_env.cli("sync", "ao")

    assert result.rc == 1
    assert "rate limit exhausted" in result.err and result.err.count("\n") == 1
    assert calls(gh_env) == [("GET", NOTIFICATIONS, 200), ("GET", NOTIFICATIONS, 403)]
    assert len(listed(gh_env)) == 50
    with gh_env.store() as store:
        assert store.notification_poll().checked_at is None  # the list is not complete

    server.rate_remaining = 5000
    assert gh_env.cli("sync", "ao").rc == 0
    assert len(listed(gh_env)) == 70


def test_read_without_yes_and_without_a_terminal_writes_nothing(
    gh_env: GitHubEnv, inbox: NotificationsState, no_terminal: None
) -> None:
    thread = inbox.add(gh_env.server, AO, number=12)
    assert gh_env.cli("sync").rc == 0
    gh_env.server.reset_log()

    result = gh_env.cli("notifications", "read", thread)

    assert result.rc == 2
    assert result.err.count("\n") == 1
    assert "no terminal to ask on" in result.err and "--yes" in result.err
    assert gh_env.server.requests == []
    assert inbox.threads[thread]["unread"]
    assert [r["id"] for r in listed(gh_env)] == [thread]


def test_read_with_yes_patches_once_and_the_store_says_read(
    gh_env: GitHubEnv, inbox: NotificationsState, no_terminal: None
) -> None:
    thread = inbox.add(gh_env.server, AO, number=12, title="scale bug")
    other = inbox.add(gh_env.server, AO, number=13)
    assert gh_env.cli("sync").rc == 0
    gh_env.server.reset_log()

    result = gh_env.cli("notifications", "read", thread, "--yes")

    assert result.rc == 0, result.err
    assert "marked read on GitHub: pytorch/ao #12 'scale bug'" in result.out
    assert calls(gh_env) == [("PATCH", f"/notifications/threads/{thread}", 205)]
    assert len(gh_env.server.requests) == 1
    assert not inbox.threads[thread]["unread"]
    assert [r["id"] for r in listed(gh_env)] == [other]
    read = next(r for r in listed(gh_env, "--all") if r["id"] == thread)
    assert read["unread"] is False and read["last_read_at"]


def test_read_asks_on_a_terminal_and_no_writes_nothing(
    gh_env: GitHubEnv, inbox: NotificationsState, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread = inbox.add(gh_env.server, AO, number=12, title="scale bug")
    assert gh_env.cli("sync").rc == 0
    gh_env.server.reset_log()
    questions: list[str] = []
    answers = iter(["", "y"])
    monkeypatch.setattr(sys, "stdin", Terminal(""))
    monkeypatch.setattr("builtins.input", lambda q: questions.append(q) or next(answers))

    declined = gh_env.cli("notifications", "read", thread)
    assert declined.rc == 0 and "nothing was written to GitHub" in declined.err
    assert gh_env.server.requests == []
    accepted = gh_env.cli("notifications", "read", thread)

    assert accepted.rc == 0, accepted.err
    assert questions[0] == (
        "Mark pytorch/ao #12 'scale bug' read on GitHub? This writes to GitHub. [y/N] "
    )
    assert calls(gh_env) == [("PATCH", f"/notifications/threads/{thread}", 205)]


def test_read_refused_by_github_says_why_and_keeps_it_unread(
    gh_env: GitHubEnv, inbox: NotificationsState
) -> None:
    thread = inbox.add(gh_env.server, AO, number=12)
    assert gh_env.cli("sync").rc == 0
    inbox.fine_grained = True  # e.g. the token was swapped for a fine-grained one since

    result = gh_env.cli("notifications", "read", thread, "--yes")

    assert result.rc == 2
    assert result.err.count("\n") == 1
    assert "GitHub refused to mark notification" in result.err and "classic token" in result.err
    assert calls(gh_env, "/notifications/threads") == [
        ("PATCH", f"/notifications/threads/{thread}", 403)
    ]
    assert [r["id"] for r in listed(gh_env)] == [thread]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("read",), "needs a thread ID"),
        (("read", "12a"), "digits"),
        (("read", "424242", "--yes"), "no notification 424242 in the store"),
        (("ao", "--yes"), "--yes goes with `notifications read ID`"),
        (("ao", "123"), "notifications read 123"),
        (("nope",), "unknown upstream 'nope'"),
    ],
)
def test_bad_input_exits_2_in_one_line(
    gh_env: GitHubEnv, inbox: NotificationsState, argv: tuple[str, ...], says: str
) -> None:
    assert gh_env.cli("sync").rc == 0
    gh_env.server.reset_log()

    result = gh_env.cli("notifications", *argv)

    assert result.rc == 2
    assert result.err.count("\n") == 1 and says in result.err, result.err
    assert gh_env.server.requests == []


def test_a_fine_grained_token_does_not_fail_the_sync(
    gh_env: GitHubEnv, inbox: NotificationsState
) -> None:
    inbox.fine_grained = True

    first = gh_env.cli("sync", "--json")
    again = gh_env.cli("sync")

    assert first.rc == 0, first.err
    report = first.json()["notifications"]
    assert report["unavailable"].startswith(
        "GitHub answered 403 (Resource not accessible by personal access token)"
    )
    assert "classic token" in report["unavailable"]
    assert again.rc == 0
    assert "notifications" not in again.out  # said once, by the sync that learnt it
    assert calls(gh_env) == [("GET", NOTIFICATIONS, 403)]  # and not asked again at once
    shown = gh_env.cli("notifications")
    assert shown.rc == 0
    assert "notifications unavailable: GitHub answered 403" in shown.err
    assert shown.err.count("\n") == 1


def test_the_sync_says_once_that_notifications_are_unavailable(
    gh_env: GitHubEnv, inbox: NotificationsState
) -> None:
    inbox.fine_grained = True
    out = gh_env.cli("sync").out
    assert out.count("notifications unavailable: GitHub answered 403") == 1


def test_anonymous_sync_does_not_ask(
    gh_env: GitHubEnv, inbox: NotificationsState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GH_TOKEN")
    inbox.add(gh_env.server, AO)

    result = gh_env.cli("sync", "--json")

    assert result.rc == 0
    assert result.json()["notifications"]["skipped"] == "anonymous"
    assert calls(gh_env) == []


def test_reading_works_offline(gh_env: GitHubEnv, inbox: NotificationsState) -> None:
    thread = inbox.add(gh_env.server, AO, number=12)
    assert gh_env.cli("sync").rc == 0
    gh_env.server.stop()  # GitHub is gone

    assert [r["id"] for r in listed(gh_env)] == [thread]
    assert [r["id"] for r in listed(gh_env, "ao", "--all")] == [thread]
    assert listed(gh_env, "xla") == []
    assert "no unread notifications of xla" in gh_env.cli("notifications", "xla").out


def test_listing_before_any_sync_says_how_to_get_them(gh_env: GitHubEnv) -> None:
    result = gh_env.cli("notifications")
    assert result.rc == 2 and "workbench sync" in result.err and result.err.count("\n") == 1


# --- parsing -------------------------------------------------------------------------------------


def _thread(**changes) -> dict:
    raw = {
        "id": "1",
        "unread": True,
        "reason": "mention",
        "updated_at": "2025-03-01T10:00:00Z",
        "last_read_at": None,
        "subject": {
            "title": "t",
            "url": "https://api.github.com/repos/pytorch/ao/pulls/123",
            "latest_comment_url": None,
            "type": "PullRequest",
        },
        "repository": {"full_name": "pytorch/ao", "html_url": "https://github.com/pytorch/ao"},
    }
    return raw | changes


def test_parse_a_thread() -> None:
    n = parse_notification(_thread())
    assert n is not None
    assert (n.repo, n.number, n.url) == (
        "pytorch/ao",
        123,
        "https://github.com/pytorch/ao/pull/123",
    )
    discussion = parse_notification(
        _thread(subject={"title": "x", "url": None, "type": "Discussion"})
    )
    assert discussion is not None
    assert (discussion.number, discussion.url) == (
        None,
        "https://github.com/pytorch/ao/discussions",
    )
    assert (
        parse_notification(
            _thread(subject={"title": "x", "url": None, "type": "RepositoryVulnerabilityAlert"})
        )
        is None
    )


@pytest.mark.parametrize(
    "raw",
    [
        [],
        _thread(id=1),
        _thread(unread="yes"),
        _thread(subject=None),
        _thread(subject={"title": 5, "url": None, "type": "Issue"}),
        _thread(subject={"title": "t", "url": 5, "type": "Issue"}),
        _thread(repository={}),
        _thread(updated_at="yesterday"),
        _thread(reason=None),
    ],
)
def test_a_malformed_thread_is_an_unexpected_answer(raw) -> None:
    with pytest.raises(UnexpectedResponse):
        parse_notification(raw)


# --- the dashboard -------------------------------------------------------------------------------


async def test_the_tab_marks_read_only_after_yes(
    gh_env: GitHubEnv, inbox: NotificationsState, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("textual")
    # The Patches tab reads the series with git (gh_env leaves an empty PATH); GH_TOKEN is set,
    # so a `gh` beside it is never asked for a token.
    git = shutil.which("git", path=os.defpath + os.pathsep + "/usr/local/bin")
    assert git, "the TUI tests need git"
    monkeypatch.setenv("PATH", os.path.dirname(git))
    from tests.test_tui import open_tab, settle, wait_for
    from workbench.github.store import Store
    from workbench.paths import Workspace
    from workbench.tui.app import make_app
    from workbench.tui.screens import ConfirmDialog

    thread = inbox.add(gh_env.server, AO, number=12, title="scale bug")
    assert gh_env.cli("sync").rc == 0
    gh_env.server.reset_log()
    ws = Workspace(gh_env.root)
    opened: list[str] = []
    with Store.open(ws) as store:
        app = make_app(ws, store=store, check_head=False, opener=opened.append)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot, app)
            await pilot.press("m")  # not on this tab: nothing asks
            assert not isinstance(app.screen, ConfirmDialog)
            await open_tab(pilot, app, "notifications")
            inbox_table = app.dashboard.notifications
            assert [n.id for n in inbox_table.threads] == [thread]
            assert "scale bug" in app.query_one("#detail").source

            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="dialog")
            assert "This writes upstream" in app.screen.question
            await pilot.press("n")
            await settle(pilot, app)
            assert not isinstance(app.screen, ConfirmDialog)
            assert gh_env.server.requests == []

            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="dialog")
            await pilot.press("y")
            await wait_for(pilot, lambda: not inbox_table.threads[0].unread, what="row read")
            await settle(pilot, app)
            assert calls(gh_env) == [("PATCH", f"/notifications/threads/{thread}", 205)]
            assert len(gh_env.server.requests) == 1
            assert not inbox.threads[thread]["unread"]
            assert store.notification(thread).unread is False

            await pilot.press("m")  # already read: nothing to ask
            assert not isinstance(app.screen, ConfirmDialog)
            await pilot.press("o")
            assert opened == ["https://github.com/pytorch/ao/pull/12"]
    assert len(gh_env.server.requests) == 1
