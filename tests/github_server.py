"""A local HTTP server that speaks the parts of GitHub's API the tracker uses, and its fixtures.

REST: ``GET /repos/{o}/{r}/issues`` (``state``, ``sort``, ``direction``, ``since``, ``per_page``,
``page``; ``Link`` pagination; ``ETag`` / ``If-None-Match`` -> 304; PR items carry a
``pull_request`` key), ``GET /repos/{o}/{r}/issues/{n}``, ``GET /repos/{o}/{r}``, ``GET /user``,
``X-RateLimit-*`` headers on every answer. GraphQL: ``POST /graphql`` runs the query with
graphql-core over a subset of GitHub's schema (tests/github_graphql.py): ``viewer``, ``rateLimit``
and ``search(query:, type: ISSUE)`` for ``is:pr is:open author:@me / review-requested:@me
repo:o/r``, with each PR's checks, reviews, threads, comments and mergeable state. It records every request so tests can count them, and can inject faults.

Run as a script it serves generated data until killed and prints its URL (for the benchmark);
``/_fake/stats``, ``/_fake/touch`` and ``/_fake/reset`` then control it over HTTP.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import shutil
import sys
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.conftest import Run

TOKEN = "ghp_testtoken0123456789abcdefghijklmnopqrs"
"""A fake token in GitHub's format: tests look for it everywhere it must not be."""
VIEWER = "contributor"
RECIPE_REPOS = {"ao": "pytorch/ao", "triton": "triton-lang/triton", "xla": "pytorch/xla"}
REPO_ROOT = Path(__file__).resolve().parents[1]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    if_none_match: str | None
    authorized: bool
    status: int = 0


@dataclass
class Fault:
    """Answer matching requests differently, ``times`` times.

    ``status`` None: after ``delay``/``block``, answer normally (a slow or held request).
    """

    match: str
    """Substring of ``METHOD path?query`` (query sorted as sent)."""
    status: int | None = 500
    times: int = 1
    body: str = '{"message": "Server Error"}'
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    block: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)


@dataclass
class Request:
    """What a router sees of one request."""

    method: str
    path: str
    query: dict[str, str]
    payload: bytes
    authorized: bool
    headers: Any = None

    def json(self) -> Any:
        return json.loads(self.payload or b"{}")


Answer = tuple[int, Any, dict[str, str]]
Router = Callable[["FakeGitHub", Request], "Answer | None"]


class FakeGitHub:
    """GitHub as far as the tracker sees it; thread-safe; use as a context manager."""

    def __init__(self, *, token: str | None = TOKEN, viewer: str = VIEWER):
        self.token = token
        self.viewer = viewer
        self.items: dict[str, dict[int, dict[str, Any]]] = {}
        self.requests: list[Recorded] = []
        self.server_seconds = 0.0
        """Time spent answering (routing, GraphQL execution): not the client's cost."""
        self.graphql_queries: list[dict[str, Any]] = []
        """Every GraphQL request body (query and variables), in order."""
        self.faults: list[Fault] = []
        self.rate_remaining = 5000
        self.rate_limit_status = 403
        self.rate_reset = int(time.time()) + 3600
        self.lock = threading.RLock()
        self._sorted: dict[tuple, list[dict[str, Any]]] = {}
        self._rendered: dict[tuple[str, int], str] = {}
        self._server: ThreadingHTTPServer | None = None
        # Further endpoints (pull requests, Actions, ...) live in their own modules: each router
        # answers (status, body, headers) for the requests it knows, None for the rest.
        self.routers: list[Router] = []
        self.commits: dict[tuple[str, str], dict[str, Any]] = {}
        """(repo, sha) -> a commit that is no PR's head (a merge base): ``checks``, ``ci``."""
        self.notifications: Any = None
        """The notifications router (tests/github_notifications.py), when one is attached."""
        self._clock = datetime.now(UTC).replace(microsecond=0)

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeGitHub:
        server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        server.handle_error = lambda *a: None  # type: ignore[method-assign]  # client hung up
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        for f in self.faults:
            if f.block:
                f.block.set()
        self.stop()

    @property
    def url(self) -> str:
        assert self._server
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- data ------------------------------------------------------------------------------------

    def tick(self) -> datetime:
        """A server time one second after the last: every change gets its own updated_at."""
        with self.lock:
            self._clock += timedelta(seconds=1)
            return self._clock

    def add_item(
        self,
        repo: str,
        number: int | None = None,
        *,
        pr: bool = False,
        state: str = "open",
        title: str | None = None,
        body: str = "",
        labels: Iterable[str] = (),
        assignees: Iterable[str] = (),
        author: str = "someone",
        updated: datetime | None = None,
        closed: datetime | None = None,
        merged: bool = False,
        draft: bool = False,
        ci: str | None = None,
        review: str | None = None,
        reviewers: Iterable[str] = (),
        checks: Iterable[dict[str, Any]] = (),
        threads: Iterable[dict[str, Any]] = (),
        opinions: Iterable[dict[str, Any]] = (),
        issue_comments: Iterable[dict[str, Any]] = (),
        mergeable: str = "MERGEABLE",
        pushes: Iterable[str] = (),
        merge_base: str | None = None,
        base_ref: str = "main",
    ) -> dict[str, Any]:
        """One issue or PR. For a PR's GraphQL side (tests/github_graphql.py): ``checks`` of
        its head commit (``name``, ``conclusion``, ``status``, ``workflow``, ``job_id``,
        ``run_id``; or ``context`` + ``state`` for a commit status), review ``threads``
        (``path``, ``line``, ``resolved``, ``outdated``, ``comments``: author/body/created),
        ``opinions`` (the latest review per reviewer: author/state/submitted),
        ``issue_comments`` (author/body/created), ``mergeable`` and force-``pushes`` times.
        A check may carry ``attempts`` (earlier runs of the job: conclusion, job_id) and, for an
        app's check such as Dr.CI, a ``summary``. ``merge_base``: the commit the compare API
        names as the PR's merge base with ``base_ref`` (None: the compare answers 404)."""
        with self.lock:
            items = self.items.setdefault(repo, {})
            number = number or max(items, default=0) + 1
            updated = updated or self.tick()
            if state == "closed" and closed is None:
                closed = updated
            item = {
                "number": number,
                "pr": pr,
                "state": state,
                "title": title or f"{'PR' if pr else 'Issue'} {number} of {repo}",
                "body": body,
                "labels": list(labels),
                "assignees": list(assignees),
                "author": author,
                "created": iso(updated - timedelta(days=1)),
                "updated": iso(updated),
                "closed": iso(closed) if closed else None,
                "merged": merged,
                "draft": draft,
                "ci": ci,
                "review": review,
                "reviewers": list(reviewers),
                "comments": number % 7,
                "checks": list(checks),
                "threads": list(threads),
                "opinions": list(opinions),
                "issue_comments": list(issue_comments),
                "mergeable": mergeable,
                "pushes": list(pushes),
                "head_sha": hashlib.sha1(f"{repo}#{number}".encode()).hexdigest(),
                "merge_base": merge_base,
                "base_ref": base_ref,
                "committed": iso(updated - timedelta(hours=1)),
            }
            items[number] = item
            self._changed()
            return item

    def add_commit(
        self, repo: str, sha: str, checks: Iterable[dict[str, Any]] = (), *, ci: str | None = None
    ) -> None:
        """A commit of ``repo`` (a merge base) with its ``checks``, shaped as a PR's; ``ci`` the
        rollup's state (by default FAILURE when a check failed, else SUCCESS; None: no checks)."""
        checks = list(checks)
        if ci is None and checks:
            failed = any(
                c.get("conclusion") not in ("SUCCESS", "NEUTRAL", "SKIPPED") for c in checks
            )
            ci = "FAILURE" if failed else "SUCCESS"
        with self.lock:
            self.commits[(repo, sha)] = {
                "checks": checks,
                "ci": ci,
                "committed": iso(self._clock - timedelta(days=2)),
            }

    def populate(self, repo: str, n: int, *, days: float = 20, start: int = 1) -> None:
        """``n`` items updated over the last ``days`` days: every 3rd a PR, every 4th closed."""
        with self.lock:
            now = self._clock
            for k in range(n):
                number = start + k
                updated = now - timedelta(seconds=(n - k) * days * 86400 / (n + 1))
                self.add_item(
                    repo,
                    number,
                    pr=number % 3 == 0,
                    state="closed" if number % 4 == 0 else "open",
                    body=f"Body of {number}. " + ("Fixes #1. " if number % 3 == 0 else "") * 2,
                    labels=["good first issue"] if number % 5 == 0 else ["bug"],
                    updated=updated.replace(microsecond=0),
                )

    def touch(self, repo: str, numbers: Iterable[int], *, title: str | None = None) -> None:
        """Change items as a comment or an edit would: a new updated_at (and maybe title)."""
        with self.lock:
            for n in numbers:
                item = self.items[repo][n]
                item["updated"] = iso(self.tick())
                if title is not None:
                    item["title"] = title
            self._changed()

    def update(self, repo: str, number: int, **changes: Any) -> None:
        with self.lock:
            self.items[repo][number].update(changes)
            self._changed()

    def _changed(self) -> None:
        self._sorted.clear()
        self._rendered.clear()

    # --- accounting ------------------------------------------------------------------------------

    def count(self, path: str = "", *, method: str | None = None, status: int | None = None) -> int:
        with self.lock:
            return sum(
                1
                for r in self.requests
                if path in r.path
                and (method is None or r.method == method)
                and (status is None or r.status == status)
            )

    def reset_log(self) -> None:
        with self.lock:
            self.requests.clear()

    # --- rendering -------------------------------------------------------------------------------

    def render(self, repo: str, item: dict[str, Any]) -> dict[str, Any]:
        n = item["number"]
        api = f"{self.url}/repos/{repo}"
        kind = "pull" if item["pr"] else "issues"
        user = {"login": item["author"], "id": 1000 + len(item["author"]), "type": "User"}
        out: dict[str, Any] = {
            "url": f"{api}/issues/{n}",
            "repository_url": api,
            "html_url": f"https://github.com/{repo}/{kind}/{n}",
            "id": zlib.crc32(f"{repo}#{n}".encode()),
            "node_id": f"I_{n}",
            "number": n,
            "title": item["title"],
            "user": user,
            "labels": [
                {"id": i, "name": name, "color": "ededed", "default": False}
                for i, name in enumerate(item["labels"])
            ],
            "state": "closed" if item["state"] in ("closed", "merged") else "open",
            "locked": False,
            "assignee": {"login": item["assignees"][0]} if item["assignees"] else None,
            "assignees": [{"login": a, "type": "User"} for a in item["assignees"]],
            "milestone": None,
            "comments": item["comments"],
            "created_at": item["created"],
            "updated_at": item["updated"],
            "closed_at": item["closed"],
            "author_association": "CONTRIBUTOR",
            "body": item["body"] or None,
            "state_reason": "completed" if item["closed"] else None,
        }
        if item["pr"]:
            out["draft"] = item["draft"]
            out["pull_request"] = {
                "url": f"{api}/pulls/{n}",
                "html_url": out["html_url"],
                "diff_url": out["html_url"] + ".diff",
                "patch_url": out["html_url"] + ".patch",
                "merged_at": item["closed"] if item["merged"] else None,
            }
        return out

    def listing(self, repo: str, state: str, sort: str, direction: str, since: str | None):
        key = (repo, state, sort, direction, since)
        with self.lock:
            if key not in self._sorted:
                field_ = "created" if sort == "created" else "updated"
                chosen = [
                    i
                    for i in self.items.get(repo, {}).values()
                    if (state == "all" or (i["state"] == "open") == (state == "open"))
                    and (since is None or i["updated"] >= since)
                ]
                chosen.sort(key=lambda i: (i[field_], i["number"]), reverse=direction == "desc")
                self._sorted[key] = chosen
            return self._sorted[key]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as GitHub
    # Headers and body leave in separate writes; without this each answer waits ~40 ms for a
    # delayed ACK (Nagle), which would swamp every timing.
    disable_nagle_algorithm = True

    @property
    def fake(self) -> FakeGitHub:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # --- plumbing --------------------------------------------------------------------------------

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        raw = (
            b""
            if body is None
            else (body if isinstance(body, bytes) else json.dumps(body).encode())
        )
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if status != 304:
            if "Content-Type" not in (headers or {}):
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if status != 304:
            self.wfile.write(raw)

    def _rate_headers(self, authorized: bool) -> dict[str, str]:
        f = self.fake
        limit = 5000 if authorized else 60
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, min(limit, f.rate_remaining))),
            "X-RateLimit-Reset": str(f.rate_reset),
            "X-RateLimit-Used": str(max(0, limit - f.rate_remaining)),
            "X-RateLimit-Resource": "core",
        }

    def _handle(self, method: str) -> None:
        f = self.fake
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length) if length else b""
        if parsed.path.startswith("/_fake/"):
            return self._control(parsed.path, payload)
        auth = self.headers.get("Authorization")
        token = auth.split(" ", 1)[1] if auth and " " in auth else None
        rec = Recorded(method, parsed.path, query, self.headers.get("If-None-Match"), bool(auth))
        with f.lock:
            f.requests.append(rec)
        where = f"{method} {parsed.path}?{parsed.query}"
        fault = None
        with f.lock:
            for candidate in f.faults:
                if candidate.times > 0 and candidate.match in where:
                    candidate.times -= 1
                    fault = candidate
                    break
        if fault:
            fault.arrived.set()
            if fault.block:
                fault.block.wait(60)
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status is not None:
                rec.status = fault.status
                headers = {**self._rate_headers(bool(auth)), **fault.headers}
                return self._send(fault.status, fault.body.encode(), headers)
        if f.token is not None and token is not None and token != f.token:
            rec.status = 401
            return self._send(
                401,
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
            )
        if f.rate_remaining <= 0:
            rec.status = f.rate_limit_status
            return self._send(
                f.rate_limit_status,
                {"message": "API rate limit exceeded for user ID 1000."},
                self._rate_headers(bool(auth)),
            )
        started = time.perf_counter()
        status, body, headers = self._route(method, parsed.path, query, payload, bool(auth))
        with f.lock:
            f.server_seconds += time.perf_counter() - started
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        etag = 'W/"' + hashlib.sha1(raw).hexdigest() + '"'
        if method == "GET" and status == 200:
            headers["ETag"] = etag
            if self.headers.get("If-None-Match") == etag:
                status = 304  # GitHub does not count a 304 against the rate limit
        if status == 200:
            with f.lock:
                f.rate_remaining -= 1
        rec.status = status
        headers.update(self._rate_headers(bool(auth)))
        self._send(status, None if status == 304 else raw, headers)

    def _control(self, path: str, payload: bytes) -> None:
        f = self.fake
        if path == "/_fake/stats":
            with f.lock:
                by_status: dict[str, int] = {}
                for r in f.requests:
                    by_status[str(r.status)] = by_status.get(str(r.status), 0) + 1
                return self._send(
                    200,
                    {
                        "requests": len(f.requests),
                        "by_status": by_status,
                        "server_seconds": f.server_seconds,
                    },
                )
        if path == "/_fake/touch":
            spec = json.loads(payload)
            f.touch(spec["repo"], spec["numbers"])
            return self._send(200, {})
        if path == "/_fake/reset":
            f.reset_log()
            f.server_seconds = 0.0
            return self._send(200, {})
        return self._send(404, {"message": "Not Found"})

    # --- GitHub ----------------------------------------------------------------------------------

    def _route(
        self, method: str, path: str, query: dict[str, str], payload: bytes, authorized: bool
    ) -> tuple[int, Any, dict[str, str]]:
        f = self.fake
        not_found = (404, {"message": "Not Found"}, {})
        request = Request(method, path, query, payload, authorized, self.headers)
        for router in f.routers:
            answer = router(f, request)
            if answer is not None:
                return answer
        if method == "POST" and path == "/graphql":
            if not authorized:
                return 401, {"message": "This endpoint requires you to be authenticated."}, {}
            return 200, self._graphql(json.loads(payload)), {}
        if method != "GET":
            return not_found
        compare = re.fullmatch(r"/repos/([^/]+/[^/]+)/compare/([^/.]+)\.\.\.([^/]+)", path)
        if compare:
            return self._compare(compare[1], compare[2], compare[3])
        if path == "/user":
            if not authorized:
                return 401, {"message": "Requires authentication"}, {}
            return 200, {"login": f.viewer, "id": 1000, "type": "User"}, {}
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)(/issues(?:/(\d+))?)?", path)
        if not m or m[1] not in f.items:
            return not_found
        repo = m[1]
        if not m[2]:
            owner, name = repo.split("/")
            return (
                200,
                {
                    "id": 1,
                    "name": name,
                    "full_name": repo,
                    "owner": {"login": owner, "type": "Organization"},
                    "url": f"{f.url}/repos/{repo}",
                    "html_url": f"https://github.com/{repo}",
                    "private": False,
                },
                {},
            )
        if m[3]:
            item = f.items[repo].get(int(m[3]))
            return (200, f.render(repo, item), {}) if item else not_found
        per_page = min(100, int(query.get("per_page", 30)))
        page = int(query.get("page", 1))
        chosen = f.listing(
            repo,
            query.get("state", "open"),
            query.get("sort", "created"),
            query.get("direction", "desc"),
            query.get("since"),
        )
        last = max(1, -(-len(chosen) // per_page))
        with f.lock:
            # Items are rendered once: the server's own time stays out of the client's timings.
            for i in chosen[(page - 1) * per_page : page * per_page]:
                if (repo, i["number"]) not in f._rendered:
                    f._rendered[(repo, i["number"])] = json.dumps(f.render(repo, i))
            rendered = [
                f._rendered[(repo, i["number"])]
                for i in chosen[(page - 1) * per_page : page * per_page]
            ]
        body = ("[" + ",".join(rendered) + "]").encode()

        def link(n: int) -> str:
            return f"{f.url}{path}?" + urllib.parse.urlencode({**query, "page": n})

        rels = []
        if page < last:
            rels += [f'<{link(page + 1)}>; rel="next"', f'<{link(last)}>; rel="last"']
        if page > 1:
            rels += [f'<{link(page - 1)}>; rel="prev"', f'<{link(1)}>; rel="first"']
        return 200, body, {"Link": ", ".join(rels)} if rels else {}

    def _compare(self, repo: str, base: str, head: str) -> tuple[int, Any, dict[str, str]]:
        """``GET /repos/{o}/{r}/compare/{base}...{head}`` for a PR's head: its merge base."""
        f = self.fake
        with f.lock:
            item = next(
                (i for i in f.items.get(repo, {}).values() if i["pr"] and i["head_sha"] == head),
                None,
            )
        if item is None or item["merge_base"] is None or base != item["base_ref"]:
            return (
                404,
                {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
                {},
            )

        def commit(sha: str) -> dict[str, Any]:
            return {
                "sha": sha,
                "url": f"{f.url}/repos/{repo}/commits/{sha}",
                "html_url": f"https://github.com/{repo}/commit/{sha}",
                "commit": {"message": f"commit {sha[:7]}"},
                "parents": [],
            }

        base_tip = item.get("base_tip") or item["merge_base"]
        return (
            200,
            {
                "url": f"{f.url}/repos/{repo}/compare/{base}...{head}",
                "html_url": f"https://github.com/{repo}/compare/{base}...{head}",
                "base_commit": commit(base_tip),
                "merge_base_commit": commit(item["merge_base"]),
                "status": "diverged",
                "ahead_by": 1,
                "behind_by": 3,
                "total_commits": 1,
                "commits": [commit(head)],
                "files": [],
            },
            {},
        )

    def _graphql(self, request: dict[str, Any]) -> dict[str, Any]:
        from tests.github_graphql import execute

        return execute(self.fake, request)


# --- fixtures ------------------------------------------------------------------------------------


@dataclass
class GitHubEnv:
    """A workspace with the real recipes, its store, and the CLI pointed at the fake server."""

    root: Path
    home: Path
    server: FakeGitHub

    def cli(self, *argv: str) -> Run:
        """Run ``workbench ARGV`` in this process; what it prints comes back in the Run."""
        from tests.conftest import run_cli

        return run_cli(*argv)

    def store(self):
        from workbench.github.store import Store

        return Store(self.home / "github.db")

    @property
    def db_files(self) -> list[Path]:
        return sorted(self.home.glob("github.db*"))


def make_workspace(root: Path) -> Path:
    """A workspace holding copies of the real recipes."""
    for name in RECIPE_REPOS:
        dest = root / "upstreams" / name
        dest.mkdir(parents=True)
        shutil.copy(REPO_ROOT / "upstreams" / name / "recipe.toml", dest / "recipe.toml")
    return root


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    from tests.github_notifications import NotificationsState

    with FakeGitHub() as server:
        for repo in RECIPE_REPOS.values():
            server.items.setdefault(repo, {})
        # As on GitHub, a token has notifications (none until a test adds some).
        server.notifications = NotificationsState().attach(server)
        yield server


@pytest.fixture
def gh_env(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_github: FakeGitHub,
) -> GitHubEnv:
    root = make_workspace(tmp_path / "ws")
    home = tmp_path / "home"
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    for var in ("GITHUB_TOKEN", "WORKBENCH_DEBUG", "WORKBENCH_FAULT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WORKBENCH_ROOT", str(root))
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.setenv("WORKBENCH_GITHUB_API", fake_github.url)
    monkeypatch.setenv("WORKBENCH_GITHUB_BACKOFF", "0")
    monkeypatch.setenv("WORKBENCH_GITHUB_TIMEOUT", "5")
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    # No `gh` on PATH, so a developer's real gh login never reaches a test.
    monkeypatch.setenv("PATH", str(empty_bin))
    return GitHubEnv(root, home, fake_github)


# --- as a script (the benchmark) -----------------------------------------------------------------


def stored(env: GitHubEnv, repo: str = "pytorch/ao") -> dict[int, tuple[str, str]]:
    """number -> (updated_at, title) of what the store holds for ``repo``."""
    from workbench.github.store import ItemQuery

    with env.store() as store:
        rows = store.query(ItemQuery(repos=(repo,), states=()))
    return {t.item.number: (t.item.updated_at, t.item.title) for t in rows}


def on_server(server: FakeGitHub, repo: str = "pytorch/ao") -> dict[int, tuple[str, str]]:
    """number -> (updated_at, title) of what the server holds for ``repo``."""
    return {n: (i["updated"], i["title"]) for n, i in server.items[repo].items()}


def add_own_prs(server: FakeGitHub, repo: str, n: int, *, checks: int = 40) -> None:
    """``n`` open PRs of the viewer shaped like pytorch/ao's: ``checks`` Actions jobs on the
    head commit (every 4th PR with one failing), two reviews, four review threads (one
    resolved), six comments (three since the last force-push); five merge bases among them."""
    start = max(server.items.get(repo, {}), default=0) + 1
    # Five merge bases the PRs share, with the same jobs; job 7 fails on the first two (trunk
    # was broken there), so a failing PR's job is broken-trunk on some bases and new on others.
    bases = [hashlib.sha1(f"{repo} base {b}".encode()).hexdigest() for b in range(5)]
    for b, sha in enumerate(bases):
        server.add_commit(
            repo,
            sha,
            [
                {
                    "name": f"test (cpu, {k % 4 + 1}, 4)" if k % 2 else f"build ({k})",
                    "workflow": "Run regression tests" if k % 2 else "Build",
                    "conclusion": "FAILURE" if b < 2 and k == 7 else "SUCCESS",
                    "job_id": 10**6 * (b + 1) + k,
                    "run_id": 10**5 * (b + 1),
                }
                for k in range(checks)
            ],
        )
    for number in range(start, start + n):
        before, pushed, after = (iso(server.tick()) for _ in range(3))
        jobs = [
            {
                "name": f"test (cpu, {k % 4 + 1}, 4)" if k % 2 else f"build ({k})",
                "workflow": "Run regression tests" if k % 2 else "Build",
                "conclusion": "FAILURE" if number % 4 == 0 and k == 7 else "SUCCESS",
                "job_id": number * 1000 + k,
                "run_id": number * 10,
            }
            for k in range(checks)
        ]
        talk = [{"author": "reviewer", "body": f"comment {k}", "created": before} for k in range(2)]
        server.add_item(
            repo,
            number,
            pr=True,
            author=server.viewer,
            ci="FAILURE" if number % 4 == 0 else "SUCCESS",
            review="CHANGES_REQUESTED" if number % 3 == 0 else "REVIEW_REQUIRED",
            labels=["module: core"],
            pushes=[pushed],
            checks=jobs,
            opinions=[
                {"author": "reviewer", "state": "COMMENTED", "submitted": before},
                {"author": "other", "state": "CHANGES_REQUESTED", "submitted": after},
            ],
            threads=[
                {"path": f"torchao/f{k}.py", "line": 10 + k, "resolved": k == 0, "comments": talk}
                for k in range(4)
            ],
            issue_comments=[
                {"author": "someone", "body": f"note {k}", "created": before if k < 3 else after}
                for k in range(6)
            ],
            merge_base=bases[number // 4 % len(bases)],
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="serve fake GitHub data until killed")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--populate", action="append", default=[], metavar="REPO=N", help="e.g. pytorch/ao=4000"
    )
    parser.add_argument(
        "--own-prs",
        action="append",
        default=[],
        metavar="REPO=N",
        help="N open PRs of the viewer with checks, reviews, threads and comments",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))  # as a script: `tests.github_graphql` answers GraphQL
    server = FakeGitHub()
    for spec in args.populate:
        repo, n = spec.split("=")
        server.populate(repo, int(n))
    for spec in args.own_prs:
        repo, n = spec.split("=")
        add_own_prs(server, repo, int(n))
    from tests.github_notifications import NotificationsState

    server.notifications = NotificationsState().attach(server)  # none, as for a quiet account
    server.rate_remaining = 10**9
    server.start(args.port)
    with server.lock:  # render every item now, so that timings measure the client
        for repo, items in server.items.items():
            for n, item in items.items():
                server._rendered[(repo, n)] = json.dumps(server.render(repo, item))
    print(server.url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1:])
