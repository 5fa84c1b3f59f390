"""What `workbench sync` does when GitHub or the network misbehaves; nothing stored is lost."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests import github_server
from tests.github_server import TOKEN, VIEWER, Fault, GitHubEnv, on_server, stored

fake_github = github_server.fake_github  # the fixtures, shared with the other GitHub tests
gh_env = github_server.gh_env

AO = "pytorch/ao"


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("workbench: ")
    return lines[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- rate limit ----------------------------------------------------------------------------------


RATE_LIMITS = {
    "primary 403": Fault("page=4", status=None),  # the server's own budget runs out
    "429, remaining 0": Fault(
        "page=4",
        status=429,
        body='{"message": "API rate limit exceeded"}',
        headers={"X-RateLimit-Remaining": "0"},
    ),
    "secondary 403, Retry-After 60": Fault(
        "page=4",
        status=403,
        body='{"message": "You have exceeded a secondary rate limit."}',
        headers={"Retry-After": "60"},
    ),
}


@pytest.mark.parametrize("kind", RATE_LIMITS)
def test_rate_limit_stops_quickly_keeps_pages_and_exits_1(gh_env: GitHubEnv, kind: str) -> None:
    server = gh_env.server
    server.populate(AO, 500)
    if kind == "primary 403":
        server.rate_remaining = 3
    else:
        server.faults.append(RATE_LIMITS[kind])

    started = time.monotonic()
    result = gh_env.cli("sync", "ao")

    assert time.monotonic() - started < 5
    assert result.rc == 1
    line = one_line(result.err)
    assert "rate limit exhausted" in line
    assert "resets at" in line
    assert len(stored(gh_env)) == 300  # the three pages before the limit
    with gh_env.store() as store:
        assert store.sync_state(AO) is None  # no pass completed: the next sync redoes it

    server.rate_remaining = 5000
    server.faults.clear()
    assert gh_env.cli("sync", "ao").rc == 0
    assert stored(gh_env) == on_server(server)


def test_graphql_rate_limit_exits_1_and_keeps_the_lists(gh_env: GitHubEnv) -> None:
    gh_env.server.populate(AO, 5)
    body = (
        '{"data": null, "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]}'
    )
    gh_env.server.faults.append(Fault("/graphql", status=200, body=body))

    result = gh_env.cli("sync", "ao")

    assert result.rc == 1
    assert "GraphQL rate limit is exhausted; it resets at" in one_line(result.err)
    assert len(stored(gh_env)) == 5


def test_anonymous_rate_limit_suggests_a_token(
    gh_env: GitHubEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GH_TOKEN")
    gh_env.server.rate_remaining = 0
    result = gh_env.cli("sync", "ao")
    assert result.rc == 1
    warning, error = result.err.strip().splitlines()
    assert warning.startswith("warning: no GitHub token")
    assert "anonymous rate limit exhausted" in one_line(error)
    assert "5000 requests an hour" in error


# --- server errors, timeouts, offline ------------------------------------------------------------


def test_5xx_is_retried(gh_env: GitHubEnv) -> None:
    server = gh_env.server
    server.populate(AO, 150)
    server.faults += [Fault("page=2", status=502, times=2), Fault("/graphql", status=503)]

    result = gh_env.cli("sync", "ao", "--json")

    assert result.rc == 0, result.err
    assert server.count("/issues", status=502) == 2
    assert server.count("/graphql", status=503) == 1
    assert result.json()["repos"][0]["requests"] == 2  # retries happen inside one request
    assert stored(gh_env) == on_server(server)


def test_5xx_that_persists_gives_up_after_the_retries(
    gh_env: GitHubEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_GITHUB_RETRIES", "2")
    gh_env.server.populate(AO, 10)
    gh_env.server.faults.append(Fault("/issues", status=500, times=100))

    result = gh_env.cli("sync", "ao")

    assert result.rc == 2
    assert "GitHub answered 500 for /repos/pytorch/ao/issues after 2 retries" in one_line(
        result.err
    )
    assert gh_env.server.count("/issues") == 3


def test_timeout_is_retried(gh_env: GitHubEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_GITHUB_TIMEOUT", "1")
    gh_env.server.populate(AO, 10)
    gh_env.server.faults.append(Fault("/issues", status=None, delay=1.5))

    result = gh_env.cli("sync", "ao")

    assert result.rc == 0, result.err
    assert gh_env.server.count("/issues") == 2
    assert len(stored(gh_env)) == 10


def test_timeouts_that_persist_are_reported_as_offline(
    gh_env: GitHubEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_GITHUB_TIMEOUT", "1")
    monkeypatch.setenv("WORKBENCH_GITHUB_RETRIES", "1")
    gh_env.server.faults.append(Fault("/issues", status=None, delay=1.5, times=2))

    result = gh_env.cli("sync", "ao")

    assert result.rc == 2
    assert "offline: cannot reach http://127.0.0.1:" in one_line(result.err)
    assert "timed out" in result.err
    assert gh_env.server.count("/issues") == 2


def test_offline_exits_2_with_last_sync_and_reads_keep_working(
    gh_env: GitHubEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    gh_env.server.populate(AO, 20)
    assert gh_env.cli("sync", "ao").rc == 0
    with gh_env.store() as store:
        when = store.last_synced()

    monkeypatch.setenv("WORKBENCH_GITHUB_API", f"http://127.0.0.1:{closed_port()}")
    result = gh_env.cli("sync", "ao")

    assert result.rc == 2
    line = one_line(result.err)
    assert "offline: cannot reach http://127.0.0.1:" in line
    assert f"last synced {when}" in line
    assert "reads keep working" in line
    issues = gh_env.cli("issues", "ao", "--state", "all", "--json")
    assert issues.rc == 0
    assert len(issues.json()) == len([n for n in stored(gh_env) if n % 3]) > 0


def test_offline_before_any_sync(gh_env: GitHubEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_GITHUB_API", f"http://127.0.0.1:{closed_port()}")
    result = gh_env.cli("sync")
    assert result.rc == 2
    assert "the store was last synced never" in one_line(result.err)
    assert gh_env.cli("issues").rc == 2  # and nothing to read yet, said as such


# --- malformed answers ---------------------------------------------------------------------------


def test_a_page_that_is_not_json_stores_nothing_of_it(gh_env: GitHubEnv) -> None:
    gh_env.server.populate(AO, 250)
    gh_env.server.faults.append(Fault("page=2", status=200, body='[{"number": 1, "tit'))

    result = gh_env.cli("sync", "ao")

    assert result.rc == 2
    assert "is not JSON" in one_line(result.err)
    assert len(stored(gh_env)) == 100  # page 1 only
    with gh_env.store() as store:
        assert store.sync_state(AO) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"items": []}', "a dict where a list was expected"),
        ('[{"number": 5, "state": "open"}]', "pytorch/ao#5: field 'title' is missing"),
        ('[{"number": "5"}]', "field 'number' is str"),
        ('["just text"]', "an issue list element is str"),
    ],
)
def test_unexpected_json_is_a_clear_error(gh_env: GitHubEnv, body: str, message: str) -> None:
    gh_env.server.populate(AO, 50)
    gh_env.server.faults.append(Fault("/issues", status=200, body=body))

    result = gh_env.cli("sync", "ao")

    assert result.rc == 2
    assert message in one_line(result.err)
    assert stored(gh_env) == {}


def test_one_bad_item_keeps_its_whole_page_out(gh_env: GitHubEnv) -> None:
    gh_env.server.populate(AO, 50)
    gh_env.server.update(AO, 20, updated="yesterday")

    result = gh_env.cli("sync", "ao")

    assert result.rc == 2
    assert "pytorch/ao#20: updated_at is not an ISO 8601 time: 'yesterday'" in result.err
    assert stored(gh_env) == {}


def test_malformed_graphql_keeps_the_previous_pr_status(gh_env: GitHubEnv) -> None:
    server = gh_env.server
    server.add_item(AO, 1, pr=True, author=VIEWER, ci="SUCCESS")
    gh_env.cli("sync", "ao")
    server.touch(AO, [1])
    server.faults.append(Fault("/graphql", status=200, body='{"data": {"viewer": {}}}'))

    result = gh_env.cli("sync", "ao")

    assert result.rc == 2
    assert "no viewer.login" in one_line(result.err)
    assert gh_env.cli("prs", "--mine", "--json").json()[0]["ci"] == "success"


def test_graphql_errors_are_reported(gh_env: GitHubEnv) -> None:
    gh_env.server.faults.append(
        Fault("/graphql", status=200, body='{"errors": [{"message": "Resource not accessible"}]}')
    )
    result = gh_env.cli("sync", "ao")
    assert result.rc == 2
    assert "GraphQL API refused the query: Resource not accessible" in one_line(result.err)


# --- tokens --------------------------------------------------------------------------------------


def test_bad_token_exits_2_with_how_to_fix(
    gh_env: GitHubEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "ghp_wrongtoken9876543210zyxwvutsrqponmlk"
    monkeypatch.setenv("GH_TOKEN", wrong)

    result = gh_env.cli("sync", "ao")

    assert result.rc == 2
    line = one_line(result.err)
    assert "GitHub rejected the token from GH_TOKEN (401: Bad credentials)" in line
    assert "gh auth login" in line
    assert wrong not in result.err + result.out
    assert gh_env.server.count("/issues") == 1  # a 401 is not retried


def test_token_from_gh_when_no_variable_is_set(
    gh_env: GitHubEnv, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from_gh = "gho_fromghcli0123456789abcdefghijklmnop"
    bin_dir = tmp_path / "gh-bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/sh\n[ "$1 $2" = "auth token" ] && echo {from_gh}\n')
    gh.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("GH_TOKEN")
    gh_env.server.token = from_gh  # any other token gets 401

    result = gh_env.cli("sync", "ao", "--json")

    assert result.rc == 0, result.err
    assert "anonymous" not in result.err
    assert all(r.authorized for r in gh_env.server.requests)


def test_the_token_never_reaches_logs_messages_or_disk(
    gh_env: GitHubEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # PyGithub and urllib3 log requests at DEBUG
    caplog.set_level(logging.DEBUG, logger="github")
    server = gh_env.server
    server.populate(AO, 120)
    server.add_item(AO, pr=True, author=VIEWER, ci="FAILURE", body=f"not {TOKEN[:8]}")
    server.faults += [Fault("page=2", status=502), Fault("/graphql", status=500)]

    texts = []
    for argv in (("sync", "ao", "--json"), ("sync",), ("prs", "--mine", "--json"), ("issues",)):
        result = gh_env.cli(*argv)
        assert result.rc == 0, result.err
        texts += [result.out, result.err]
    server.token = "ghp_someothertoken"  # now GitHub refuses ours: an error that names the source
    failed = gh_env.cli("sync", "ao")
    assert failed.rc == 2
    texts += [failed.out, failed.err]

    assert all(r.authorized for r in server.requests)  # the token was sent...
    assert "GET /repos/pytorch/ao/issues" in caplog.text  # ...requests were logged...
    assert TOKEN not in caplog.text  # ...but never the token
    assert not any(TOKEN in t for t in texts)
    files = gh_env.db_files
    assert files
    for f in files:
        assert TOKEN.encode() not in f.read_bytes(), f.name


# --- a sync killed with SIGKILL ------------------------------------------------------------------


def _kill_sync_at(env: GitHubEnv, match: str) -> None:
    """Run `workbench sync ao` in a subprocess and SIGKILL it while ``match`` is being answered."""
    hold = Fault(match, status=None, block=threading.Event())
    env.server.faults.append(hold)
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "sync", "ao"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert hold.arrived.wait(30), "the sync never asked for " + match
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        hold.block.set()  # type: ignore[union-attr]
        if proc.poll() is None:
            proc.kill()
    env.server.faults.remove(hold)


def test_sigkill_during_the_first_sync_then_resync(gh_env: GitHubEnv) -> None:
    server = gh_env.server
    server.populate(AO, 450)

    _kill_sync_at(gh_env, "page=3")

    assert len(stored(gh_env)) == 200  # pages 1 and 2 were committed
    with gh_env.store() as store:
        assert store.sync_state(AO) is None
    # What was stored can be read and searched already.
    assert (
        gh_env.cli("issues", "ao", "--search", "Body of 449", "--json").json()[0]["number"] == 449
    )
    server.reset_log()
    result = gh_env.cli("sync", "ao", "--json")
    assert result.rc == 0, result.err
    ao = result.json()["repos"][0]
    assert (ao["first_sync"], ao["requests"], ao["new"]) == (True, 5, 250)
    assert stored(gh_env) == on_server(server)
    with gh_env.store() as store:
        assert store.index_pending() == 0  # the killed sync's pages were indexed, too


def test_sigkill_during_an_incremental_sync_loses_no_change(gh_env: GitHubEnv) -> None:
    server = gh_env.server
    server.populate(AO, 600)
    assert gh_env.cli("sync", "ao").rc == 0
    with gh_env.store() as store:
        before = store.sync_state(AO)
    server.touch(AO, range(1, 251), title="changed")  # three pages of changes, newest first

    _kill_sync_at(gh_env, "page=3")

    with gh_env.store() as store:
        after_kill = store.sync_state(AO)
    assert after_kill == before  # the watermark and ETag did not move
    changed = {n for n, (_, title) in stored(gh_env).items() if title == "changed"}
    assert len(changed) == 200
    result = gh_env.cli("sync", "ao", "--json")
    assert result.rc == 0
    assert result.json()["repos"][0]["updated"] == 50  # the rest; the first 200 were kept
    assert stored(gh_env) == on_server(server)
