"""The PyGithub client: where the token comes from, settings, and raw pages over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from github import Auth, Github

from tests import github_server
from tests.github_server import TOKEN, FakeGitHub
from workbench.errors import UsageError
from workbench.github.client import GitHubClient
from workbench.github.settings import DEFAULT_API, Credentials, Settings, find_credentials

fake_github = github_server.fake_github  # the fixtures, shared with the other GitHub tests

AO = "pytorch/ao"


def fake_gh(tmp_path: Path, output: str, rc: int = 0) -> str:
    """A `gh` on a PATH of its own that answers `gh auth token`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/sh\n[ "$1 $2" = "auth token" ] || exit 2\necho "{output}"\nexit {rc}\n')
    gh.chmod(0o755)
    return str(bin_dir)


def test_token_order_is_gh_token_github_token_then_gh(tmp_path: Path) -> None:
    path = fake_gh(tmp_path, "gho_fromgh")
    both = {"GH_TOKEN": "ghp_a", "GITHUB_TOKEN": "ghp_b", "PATH": path}
    assert find_credentials(env=both) == Credentials("ghp_a", "GH_TOKEN")
    assert find_credentials(env={"GITHUB_TOKEN": "ghp_b", "GH_TOKEN": " "}) == Credentials(
        "ghp_b", "GITHUB_TOKEN"
    )


def test_token_from_gh_and_none_when_gh_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", fake_gh(tmp_path, "gho_fromgh"))
    assert find_credentials(env={}) == Credentials("gho_fromgh", "gh auth token")
    monkeypatch.setenv("PATH", fake_gh(tmp_path / "x", "", rc=1))
    assert find_credentials(env={}) == Credentials(None, None)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert find_credentials(env={}) == Credentials(None, None)


def test_the_token_is_not_in_reprs() -> None:
    credentials = Credentials(TOKEN, "GH_TOKEN")
    client = GitHubClient(Settings(), credentials)
    assert TOKEN not in repr(credentials)
    assert TOKEN not in repr(client.__dict__)


def test_settings_from_env() -> None:
    assert Settings.from_env({}) == Settings(api=DEFAULT_API)
    s = Settings.from_env(
        {
            "WORKBENCH_GITHUB_API": "http://127.0.0.1:9/",
            "WORKBENCH_GITHUB_TIMEOUT": "3",
            "WORKBENCH_GITHUB_RETRIES": "0",
            "WORKBENCH_GITHUB_BACKOFF": "0.5",
            "WORKBENCH_GITHUB_MAX_WAIT": "0",
        }
    )
    assert s == Settings("http://127.0.0.1:9", 3, 0, 0.5, 0.0)
    with pytest.raises(UsageError, match="WORKBENCH_GITHUB_RETRIES='many'"):
        Settings.from_env({"WORKBENCH_GITHUB_RETRIES": "many"})
    with pytest.raises(UsageError, match="not an http"):
        Settings.from_env({"WORKBENCH_GITHUB_API": "ftp://example.com"})


def client_for(server: FakeGitHub) -> GitHubClient:
    return GitHubClient(Settings(api=server.url, backoff=0), Credentials(TOKEN, "GH_TOKEN"))


def test_pages_follow_link_and_a_conditional_request_answers_304(fake_github: FakeGitHub) -> None:
    fake_github.populate(AO, 250)
    params = {"state": "all", "sort": "updated", "direction": "desc", "per_page": 100}
    with client_for(fake_github) as client:
        first = client.get_page(f"/repos/{AO}/issues", params)
        assert (len(first.items), first.last_page, first.not_modified) == (100, 3, False)
        assert first.items[0]["number"] == 250  # newest update first
        second = client.get_page(first.next_url)  # type: ignore[arg-type]
        third = client.get_page(second.next_url)  # type: ignore[arg-type]
        assert (len(third.items), third.next_url) == (50, None)

        again = client.get_page(f"/repos/{AO}/issues", params, etag=first.etag)
        assert again.not_modified and again.items == []
        assert client.requests == 4
        assert client.rate.remaining == fake_github.rate_remaining == 4997  # 304 is free
    assert [r.status for r in fake_github.requests] == [200, 200, 200, 304]
    assert fake_github.requests[-1].if_none_match == first.etag


def test_reading_pages_raw_avoids_pygithubs_request_per_item(fake_github: FakeGitHub) -> None:
    """Why the sync parses pages itself: PyGithub completes each lazily listed issue it touches."""
    fake_github.populate(AO, 60)  # 40 issues, 20 PRs
    gh = Github(
        auth=Auth.Token(TOKEN), base_url=fake_github.url, per_page=100, seconds_between_requests=0
    )
    for issue in gh.get_repo(AO).get_issues(state="all"):
        issue.pull_request  # noqa: B018 (the attribute read is the point)
    pygithub = len(fake_github.requests)

    fake_github.reset_log()
    with client_for(fake_github) as client:
        page = client.get_page(f"/repos/{AO}/issues", {"state": "all", "per_page": 100})
    assert sum("pull_request" in raw for raw in page.items) == 20

    assert pygithub == 1 + 1 + 40  # the repo, one page, then one request per plain issue
    assert len(fake_github.requests) == 1
