"""Notification endpoints for the fake GitHub: ``GET /notifications``, ``PATCH
/notifications/threads/{id}``.

A router for :class:`tests.github_server.FakeGitHub`, answering as GitHub's docs say: the unread
threads, newest update first, ``per_page`` (at most 50) and ``page`` with ``Link`` headers;
``Last-Modified`` and ``X-Poll-Interval`` on every answer; ``If-Modified-Since`` not older than
the last change -> 304; a PATCH marks one read (205). ``fine_grained`` answers 403 as GitHub does
for a fine-grained personal access token.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from tests.github_server import Answer, FakeGitHub, Request, iso

FINE_GRAINED: Answer = (
    403,
    {
        "message": "Resource not accessible by personal access token",
        "documentation_url": "https://docs.github.com/rest/activity/notifications",
        "status": "403",
    },
    {},
)


@dataclass
class NotificationsState:
    threads: dict[str, dict[str, Any]] = field(default_factory=dict)
    """thread id -> what the thread is (repo, reason, type, title, number, updated, unread)."""
    poll_interval: int = 60
    fine_grained: bool = False
    changed: datetime | None = None
    """The newest change of any thread: the list's ``Last-Modified``."""
    if_modified_since: list[str | None] = field(default_factory=list)
    """The ``If-Modified-Since`` of each GET /notifications, in order."""
    next_id: int = 9000

    def attach(self, fake: FakeGitHub) -> NotificationsState:
        fake.routers.append(self.route)
        self.changed = fake.tick()
        return self

    def add(
        self,
        fake: FakeGitHub,
        repo: str,
        *,
        reason: str = "mention",
        kind: str = "PullRequest",
        number: int | None = 1,
        title: str | None = None,
    ) -> str:
        """A new unread thread; returns its id."""
        self.next_id += 1
        thread_id = str(self.next_id)
        moment = fake.tick()
        self.threads[thread_id] = {
            "repo": repo,
            "reason": reason,
            "type": kind,
            "title": title or f"{kind} {number} of {repo}",
            "number": number,
            "updated": iso(moment),
            "unread": True,
            "last_read": None,
        }
        self.changed = moment
        return thread_id

    def read_elsewhere(self, fake: FakeGitHub, thread_id: str) -> None:
        """The contributor reads the thread on github.com."""
        moment = fake.tick()
        self.threads[thread_id].update(unread=False, last_read=iso(moment))
        self.changed = moment

    def render(self, fake: FakeGitHub, thread_id: str) -> dict[str, Any]:
        t = self.threads[thread_id]
        repo, number, kind = t["repo"], t["number"], t["type"]
        api = f"{fake.url}/repos/{repo}"
        subject_url = {
            "PullRequest": f"{api}/pulls/{number}",
            "Issue": f"{api}/issues/{number}",
            "Release": f"{api}/releases/{number}",
        }.get(kind)
        owner, name = repo.split("/")
        return {
            "id": thread_id,
            "unread": t["unread"],
            "reason": t["reason"],
            "updated_at": t["updated"],
            "last_read_at": t["last_read"],
            "subject": {
                "title": t["title"],
                "url": subject_url,
                "latest_comment_url": subject_url,
                "type": kind,
            },
            "repository": {
                "id": abs(hash(repo)) % 10**6,
                "name": name,
                "full_name": repo,
                "owner": {"login": owner, "type": "Organization"},
                "private": False,
                "html_url": f"https://github.com/{repo}",
                "url": api,
            },
            "url": f"{fake.url}/notifications/threads/{thread_id}",
            "subscription_url": f"{fake.url}/notifications/threads/{thread_id}/subscription",
        }

    def route(self, fake: FakeGitHub, req: Request) -> Answer | None:
        if req.path == "/notifications" and req.method == "GET":
            return self._list(fake, req)
        m = re.fullmatch(r"/notifications/threads/(\w+)", req.path)
        if m and req.method == "PATCH":
            if not req.authorized:
                return 401, {"message": "Requires authentication"}, {}
            if self.fine_grained:
                return FINE_GRAINED
            if m[1] not in self.threads:
                return 404, {"message": "Not Found"}, {}
            with fake.lock:
                moment = fake.tick()
                self.threads[m[1]].update(unread=False, last_read=iso(moment))
                self.changed = moment
            return 205, b"", {}
        return None

    def _list(self, fake: FakeGitHub, req: Request) -> Answer:
        if not req.authorized:
            return 401, {"message": "Requires authentication"}, {}
        if self.fine_grained:
            return FINE_GRAINED
        assert self.changed is not None, "call attach() first"
        since = req.headers.get("If-Modified-Since") if req.headers else None
        self.if_modified_since.append(since)
        headers = {
            "Last-Modified": format_datetime(self.changed, usegmt=True),
            "X-Poll-Interval": str(self.poll_interval),
        }
        if since and parsedate_to_datetime(since) >= self.changed:
            return 304, None, headers
        show_all = req.query.get("all") == "true"
        with fake.lock:
            chosen = sorted(
                (i for i, t in self.threads.items() if t["unread"] or show_all),
                key=lambda i: (self.threads[i]["updated"], i),
                reverse=True,
            )
            per_page = min(50, int(req.query.get("per_page", 50)))
            page = int(req.query.get("page", 1))
            body = [self.render(fake, i) for i in chosen[(page - 1) * per_page : page * per_page]]
        last = max(1, -(-len(chosen) // per_page))

        def link(n: int) -> str:
            return f"{fake.url}{req.path}?" + urllib.parse.urlencode({**req.query, "page": n})

        rels = []
        if page < last:
            rels += [f'<{link(page + 1)}>; rel="next"', f'<{link(last)}>; rel="last"']
        if page > 1:
            rels += [f'<{link(page - 1)}>; rel="prev"', f'<{link(1)}>; rel="first"']
        if rels:
            headers["Link"] = ", ".join(rels)
        return 200, body, headers
