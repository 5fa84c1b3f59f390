"""How many requests and how long `workbench sync` takes for 10,000 items, against a local GitHub.

The server (tests/github_server.py) runs in its own process and serves three repositories. Timed:

1. the first sync of all three into an empty store;
2. a resync after 50 items changed;
3. a resync with nothing changed;
4. for comparison, the plain PyGithub loop ``for i in repo.get_issues(state="all"): i.pull_request``
   with PyGithub's defaults, and again with ``per_page=100`` and no sleep between requests. Each
   is stopped after ``--cap`` seconds and extrapolated to 10,000 items (said so in the output).

    python benchmarks/bench_sync.py            # print the figures
    python benchmarks/bench_sync.py --write    # also put them into docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.github_server import RECIPE_REPOS, TOKEN, make_workspace  # noqa: E402
from workbench.github.client import Credentials, GitHubClient, Settings  # noqa: E402
from workbench.github.store import Store  # noqa: E402
from workbench.github.sync import Syncer  # noqa: E402

SIZES = {"pytorch/ao": 4000, "triton-lang/triton": 3500, "pytorch/xla": 2500}
SECTION = "## GitHub sync"


@contextmanager
def serve(*server_args: str) -> Iterator[str]:
    """The tests' local GitHub in a process of its own, serving ``server_args`` (default: the
    three repositories of :data:`SIZES`); yields its URL."""
    args = [sys.executable, str(ROOT / "tests" / "github_server.py")]
    if not server_args:
        server_args = tuple(a for repo, n in SIZES.items() for a in ("--populate", f"{repo}={n}"))
    args += server_args
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait()


def control(url: str, path: str, body: object | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url + path, data=data)) as answer:
        return json.loads(answer.read())


def local_client(url: str) -> GitHubClient:
    """A library client of the local GitHub at ``url``, with the server's token."""
    return GitHubClient(Settings(api=url), Credentials(TOKEN, "GH_TOKEN"))


def workbench_env(url: str, root: Path, home: Path) -> dict[str, str]:
    """The environment of a ``workbench`` process on the workspace ``root`` and the store
    ``home``, talking to the local GitHub at ``url``."""
    return dict(
        os.environ,
        WORKBENCH_ROOT=str(root),
        WORKBENCH_HOME=str(home),
        WORKBENCH_GITHUB_API=url,
        GH_TOKEN=TOKEN,
    )


def timed_sync(url: str, home: Path) -> tuple[float, int, float]:
    """One `workbench sync` of the three repositories, through the library; (seconds, requests,
    the server's seconds: its GraphQL runs graphql-core, which GitHub's own time replaces)."""
    control(url, "/_fake/reset", {})
    client = local_client(url)
    started = time.perf_counter()
    with client, Store(home / "github.db") as store:
        Syncer(client, store).run([(name, repo) for name, repo in RECIPE_REPOS.items()])
    seconds = time.perf_counter() - started
    stats = control(url, "/_fake/stats")
    return seconds, stats["requests"], stats.get("server_seconds", 0.0)


def cli_seconds(url: str, root: Path, home: Path) -> float:
    """The same as a user runs it: a new `workbench sync` process (start-up included)."""
    env = workbench_env(url, root, home)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "workbench", "sync", "--json"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def pygithub_loop(url: str, cap: float, **kwargs: object) -> tuple[float, int, int, bool]:
    """The naive loop over every repository; (seconds, items, requests, finished)."""
    from github import Auth, Github

    control(url, "/_fake/reset", {})
    gh = Github(auth=Auth.Token(TOKEN), base_url=url, **kwargs)  # type: ignore[arg-type]
    started = time.perf_counter()
    items = 0
    for repo in SIZES:
        for issue in gh.get_repo(repo).get_issues(state="all"):
            issue.pull_request  # noqa: B018 (completing the lazy issue is what costs)
            items += 1
            if time.perf_counter() - started > cap:
                return (
                    time.perf_counter() - started,
                    items,
                    control(url, "/_fake/stats")["requests"],
                    False,
                )
    return time.perf_counter() - started, items, control(url, "/_fake/stats")["requests"], True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=20.0, help="seconds per PyGithub loop")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    total = sum(SIZES.values())
    rows: list[tuple[str, str, str]] = []

    with serve() as url, tempfile.TemporaryDirectory() as tmp:
        root = make_workspace(Path(tmp) / "ws")
        home = Path(tmp) / "home"
        first = timed_sync(url, home)
        rows.append(
            (
                f"first sync, {total:,} items (3 repos)",
                f"{first[1]}",
                f"{first[0]:.2f} s (server {first[2]:.2f} s)",
            )
        )

        # 50 changes spread over the three repositories.
        for repo, numbers in (
            ("pytorch/ao", range(1, 4000, 200)),
            ("triton-lang/triton", range(5, 3500, 175)),
            ("pytorch/xla", range(7, 2500, 250)),
        ):
            control(url, "/_fake/touch", {"repo": repo, "numbers": list(numbers)})
        changed = timed_sync(url, home)
        rows.append(
            (
                "resync, 50 items changed",
                f"{changed[1]}",
                f"{changed[0]:.3f} s (server {changed[2]:.3f} s)",
            )
        )
        unchanged = timed_sync(url, home)
        rows.append(("resync, nothing changed", f"{unchanged[1]}", f"{unchanged[0]:.3f} s"))
        cli = cli_seconds(url, root, home)
        rows.append(("same, as a `workbench sync` process", f"{unchanged[1]}", f"{cli:.2f} s"))

        for label, kwargs in (
            ("PyGithub loop, defaults (per_page 30, 0.25 s sleep)", {}),
            (
                "PyGithub loop, per_page 100, no sleep",
                {"per_page": 100, "seconds_between_requests": 0},
            ),
        ):
            seconds, items, requests, finished = pygithub_loop(url, args.cap, **kwargs)
            if finished:
                rows.append((label, f"{requests:,}", f"{seconds:.1f} s"))
            else:
                scale = total / items
                rows.append(
                    (
                        f"{label}: stopped after {items:,} items, extrapolated",
                        f"≈{requests * scale:,.0f}",
                        f"≈{seconds * scale:,.0f} s",
                    )
                )

    machine = f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    sizes = ", ".join(f"{r} {n:,}" for r, n in SIZES.items())
    lines = [
        SECTION,
        "",
        "```sh",
        "python benchmarks/bench_sync.py            # --write updates this section",
        "```",
        "",
        f"10,000 issues and PRs in three repositories ({sizes}),",
        "served by the tests' local GitHub (`tests/github_server.py`) in its own process on",
        "127.0.0.1: the figures are the workbench's own cost, and over the internet each page adds",
        "GitHub's latency. Sync times are of the library call (`Syncer.run`), store writes",
        "included; one row is a whole `workbench sync` process, Python start-up included.",
        f"Measured {date.today()} ({machine}):",
        "",
        "| what | requests | wall time |",
        "| --- | ---: | ---: |",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        "",
        "The first sync reads list pages of 100 through PyGithub's requester and parses the JSON",
        "itself: ceil(N/100) requests per repository, plus one GraphQL request for the CI and",
        "review state of the contributor's PRs. A resync asks for each repository's first page with",
        "its ETag: an unchanged repository answers 304 (free of rate limit), a changed one gives its",
        "pages down to the watermark. The PyGithub loop pays one request per plain issue (reading",
        "`issue.pull_request` completes the lazy object) and, with the defaults, 30 items a page",
        "and a 0.25 s sleep before every request. The request counts are asserted in",
        "`tests/test_github_sync.py`; the timings live only here.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(ROOT / "docs" / "benchmarks.md", text)


def write_section(path: Path, section: str) -> None:
    """Replace this benchmark's section of ``path`` (or add it), leaving other sections alone."""
    old = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = old.find(SECTION + "\n")
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + section
    else:
        end = old.find("\n## ", start + len(SECTION))
        new = old[:start] + section + ("" if end < 0 else old[end + 1 :])
    path.write_text(new)


if __name__ == "__main__":
    main()
