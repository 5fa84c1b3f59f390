"""Pull-request endpoints for the fake GitHub: forks, permissions, creating, reading, editing,
labels and issue comments.

A router for :class:`tests.github_server.FakeGitHub`; the fork's ``clone_url`` is a local bare
repository, so ``workbench pr open`` pushes with real git and the test reads what arrived.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.github_server import Answer, FakeGitHub, Request

NOT_FOUND: Answer = (404, {"message": "Not Found"}, {})


@dataclass
class PullsState:
    upstream: str
    forks: dict[str, str] = field(default_factory=dict)
    """fork slug -> clone URL (a local bare repo)."""
    parents: dict[str, str] = field(default_factory=dict)
    """fork slug -> the repo it is a fork of, when not the upstream."""
    permissions: dict[str, bool] = field(
        default_factory=lambda: {"admin": False, "maintain": False, "push": False, "triage": False}
    )
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    labels: dict[int, list[str]] = field(default_factory=dict)
    edits: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    comments: dict[int, list[str]] = field(default_factory=dict)
    """PR number -> the bodies of the comments posted on it, in order."""
    next_number: int = 101

    def _repo(self, fake: FakeGitHub, slug: str, **extra: Any) -> dict[str, Any]:
        owner, name = slug.split("/")
        return {
            "id": abs(hash(slug)) % 10**6,
            "name": name,
            "full_name": slug,
            "owner": {"login": owner, "type": "User"},
            "url": f"{fake.url}/repos/{slug}",
            "html_url": f"https://github.com/{slug}",
            "default_branch": "main",
            "private": False,
            **extra,
        }

    def _pull(self, fake: FakeGitHub, number: int) -> dict[str, Any]:
        pr = self.pulls[number]
        return {
            **pr,
            "number": number,
            "url": f"{fake.url}/repos/{self.upstream}/pulls/{number}",
            "issue_url": f"{fake.url}/repos/{self.upstream}/issues/{number}",
            "html_url": f"https://github.com/{self.upstream}/pull/{number}",
            "state": "open",
            "labels": [{"name": n} for n in self.labels.get(number, [])],
        }

    def route(self, fake: FakeGitHub, req: Request) -> Answer | None:
        path = req.path
        if req.method == "GET" and path in (f"/repos/{f}" for f in self.forks):
            slug = path.removeprefix("/repos/")
            parent = self._repo(fake, self.parents.get(slug, self.upstream))
            return (
                200,
                self._repo(
                    fake, slug, fork=True, parent=parent, source=parent, clone_url=self.forks[slug]
                ),
                {},
            )
        if req.method == "GET" and path == f"/repos/{self.upstream}":
            perms = self.permissions if req.authorized else None
            extra = {"fork": False, "clone_url": "https://github.invalid/x.git"}
            return 200, self._repo(fake, self.upstream, permissions=perms, **extra), {}
        base = f"/repos/{self.upstream}"
        if path == f"{base}/pulls" and req.method == "GET":
            head = req.query.get("head")
            found = [
                self._pull(fake, n)
                for n, pr in self.pulls.items()
                if head is None or f"{pr['head']['user']['login']}:{pr['head']['ref']}" == head
            ]
            return 200, found, {}
        if path == f"{base}/pulls" and req.method == "POST":
            data = req.json()
            owner, ref = data["head"].split(":", 1)
            number = self.next_number
            self.next_number += 1
            self.pulls[number] = {
                "title": data["title"],
                "body": data.get("body"),
                "draft": data.get("draft", False),
                "maintainer_can_modify": data.get("maintainer_can_modify"),
                "head": {"ref": ref, "label": data["head"], "user": {"login": owner}},
                "base": {"ref": data["base"]},
            }
            return 201, self._pull(fake, number), {}
        m = re.fullmatch(rf"{re.escape(base)}/pulls/(\d+)", path)
        if m and req.method == "GET":
            return (200, self._pull(fake, int(m[1])), {}) if int(m[1]) in self.pulls else NOT_FOUND
        if m and req.method == "PATCH" and int(m[1]) in self.pulls:
            data = req.json()
            self.edits.append((int(m[1]), data))
            self.pulls[int(m[1])].update({k: v for k, v in data.items() if k in ("title", "body")})
            return 200, self._pull(fake, int(m[1])), {}
        m = re.fullmatch(rf"{re.escape(base)}/issues/(\d+)/comments", path)
        if m and req.method == "POST":
            if int(m[1]) not in self.pulls:
                return NOT_FOUND
            posted = self.comments.setdefault(int(m[1]), [])
            posted.append(req.json()["body"])
            cid = 9000 + sum(len(c) for c in self.comments.values())
            return (
                201,
                {
                    "id": cid,
                    "body": posted[-1],
                    "user": {"login": "ada", "type": "User"},
                    "url": f"{fake.url}{base}/issues/comments/{cid}",
                    "html_url": f"https://github.com/{self.upstream}/pull/{m[1]}#issuecomment-{cid}",
                    "created_at": "2025-01-01T00:00:00Z",
                    "updated_at": "2025-01-01T00:00:00Z",
                },
                {},
            )
        m = re.fullmatch(rf"{re.escape(base)}/issues/(\d+)/labels", path)
        if m and req.method == "POST":
            if not any(self.permissions.values()):
                return 403, {"message": "Must have triage access to add labels"}, {}
            data = req.json()
            names = data if isinstance(data, list) else data.get("labels", [])
            self.labels.setdefault(int(m[1]), []).extend(names)
            return 200, [{"name": n} for n in self.labels[int(m[1])]], {}
        return None
