"""Actions job logs for the fake GitHub server: a router added to ``FakeGitHub.routers``.

``GET /repos/{o}/{r}/actions/jobs/{id}/logs`` answers as GitHub does: 302 with a ``Location`` on
blob storage, another host (here "localhost" where the API is 127.0.0.1), or 410 when the log
expired, 404 when there is no such job. The storage URL serves the plain-text log. Every storage
request is recorded with its ``Host`` and whether it carried an ``Authorization`` header, so a
test can prove the token never went there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.github_server import FakeGitHub, Request

Answer = tuple[int, Any, dict[str, str]]
NOT_FOUND: Answer = (404, {"message": "Not Found"}, {})


@dataclass
class StorageHit:
    host: str
    authorized: bool
    path: str


@dataclass
class FakeJobLogs:
    """Job logs by ``(repo, job_id)``: the text, or an int status the logs endpoint answers."""

    logs: dict[tuple[str, int], str | int] = field(default_factory=dict)
    storage: list[StorageHit] = field(default_factory=list)
    server: FakeGitHub | None = None

    def install(self, server: FakeGitHub) -> FakeJobLogs:
        self.server = server
        server.routers.append(self)
        return self

    def add(self, repo: str, job_id: int, log: str | int) -> None:
        self.logs[(repo, job_id)] = log

    def __call__(self, fake: FakeGitHub, req: Request) -> Answer | None:
        if req.method != "GET":
            return None
        if m := re.fullmatch(r"/joblogs/([^/]+/[^/]+)/(\d+)\.txt", req.path):
            host = (req.headers.get("Host") or "") if req.headers else ""
            with fake.lock:
                self.storage.append(StorageHit(host, req.authorized, req.path))
            found = self.logs.get((m[1], int(m[2])))
            if not isinstance(found, str):
                return 404, b"<Error><Code>BlobNotFound</Code></Error>", {}
            return 200, found.encode(), {"Content-Type": "text/plain; charset=utf-8"}
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/actions/jobs/(\d+)/logs", req.path)
        if not m:
            return None
        found = self.logs.get((m[1], int(m[2])))
        if found is None:
            return NOT_FOUND
        if isinstance(found, int):
            return found, {"message": "Not Found" if found == 404 else "Gone"}, {}
        # GitHub sends the client to a signed URL on blob storage: here "localhost".
        port = fake.url.rsplit(":", 1)[1]
        where = f"http://localhost:{port}/joblogs/{m[1]}/{m[2]}.txt?sv=2026&sig=signed"
        return 302, b"", {"Location": where, "Content-Type": "text/plain"}
