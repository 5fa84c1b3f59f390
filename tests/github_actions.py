"""GitHub Actions for the fake GitHub server: a router added to ``FakeGitHub.routers``.

The fork is a real bare git repository: ``branches/{b}`` and ``contents/patches?ref=`` answer
from it, so the dispatcher's tree-id check compares real git hashes after a real ``git push``.
Runs follow a script (``Plan``): each ``GET .../actions/runs/{id}`` moves one step along its
states. Their titles and artifact names are rendered from the real workflow file, so a change
there that the dispatcher does not expect fails these tests.

Endpoints: ``GET /repos/{r}``, ``GET .../actions/workflows/{file}``, ``POST .../dispatches``
(204, or 200 with run details when asked and supported), ``GET .../workflows/{file}/runs``,
``GET/POST .../actions/runs/{id}[/cancel]``, ``GET .../runs/{id}/artifacts``,
``GET .../artifacts/{id}/zip`` (302 to a storage URL on another host name, or 410), and the
storage URL itself.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.github_server import REPO_ROOT, FakeGitHub, Request
from workbench.remote.workflow import WORKFLOW_FILE, WORKFLOW_PATH

Answer = tuple[int, Any, dict[str, str]]
NOT_FOUND: Answer = (404, {"message": "Not Found"}, {})


def load_workflow() -> dict[str, Any]:
    """The workflow file as YAML 1.1 reads it (the key ``on`` becomes True; put it back)."""
    doc = yaml.safe_load((REPO_ROOT / WORKFLOW_PATH).read_text())
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def render(template: str, context: dict[str, str]) -> str:
    """Expand ``${{ a.b }}`` the way Actions does for plain property lookups."""

    def one(m: re.Match[str]) -> str:
        return context[m[1]]

    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", one, template)


def upload_step(doc: dict[str, Any]) -> dict[str, Any]:
    steps = doc["jobs"]["check"]["steps"]
    return next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))


@dataclass
class Plan:
    """What the next dispatched run does."""

    states: list[str] = field(default_factory=lambda: ["queued", "in_progress", "completed"])
    conclusion: str = "success"
    files: dict[str, bytes | str] | None = None
    """The artifact's content; None: no artifact uploaded."""
    expired: bool = False
    """Listed with ``expired: true``."""
    gone: bool = False
    """Listed as present, but the download answers 410."""
    shows_after: int = 1
    """The run appears in the runs list on this list request (older API)."""


@dataclass
class FakeRun:
    id: int
    repo: str
    branch: str
    inputs: dict[str, str]
    plan: Plan
    title: str
    looks: int = 0
    cancelled: bool = False
    artifact_id: int | None = None
    shown_after: int = 0
    """The list request from which on the runs list shows it."""

    def status(self) -> tuple[str, str | None]:
        if self.cancelled:
            return "completed", "cancelled"
        state = self.plan.states[min(self.looks, len(self.plan.states) - 1)]
        return state, self.plan.conclusion if state == "completed" else None


def zip_bytes(files: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


class FakeActions:
    """The Actions side of one fork; call ``install(server)`` to add it to a FakeGitHub."""

    def __init__(self, repo: str, bare: Path, *, workflow: bool = True):
        self.repo = repo
        self.bare = bare
        self.workflow = workflow
        self.run_details = True
        """Dispatch answers 200 with the run id when asked (the 2026 API); False: 204 only."""
        self.rejects_run_details = False
        """An older server that refuses the unknown ``return_run_details`` field with a 422."""
        self.plan = Plan()
        self.runs: dict[int, FakeRun] = {}
        self.dispatches: list[dict[str, Any]] = []
        self.list_calls = 0
        self.next_id = 7001
        self.artifacts: dict[int, tuple[FakeRun, bytes]] = {}
        self.server: FakeGitHub | None = None
        self.doc = load_workflow()

    def install(self, server: FakeGitHub) -> FakeActions:
        self.server = server
        server.routers.append(self)
        return self

    # --- git, for branches and contents ----------------------------------------------------------

    def _git(self, *args: str) -> str | None:
        res = subprocess.run(
            ["git", "-C", str(self.bare), *args], capture_output=True, text=True, check=False
        )
        return res.stdout.strip() if res.returncode == 0 else None

    # --- routing ---------------------------------------------------------------------------------

    def __call__(self, fake: FakeGitHub, req: Request) -> Answer | None:
        prefix = f"/repos/{self.repo}"
        path = req.path
        if path.startswith("/storage/"):
            return self._storage(path)
        if path != prefix and not path.startswith(prefix + "/"):
            return None
        rest = path[len(prefix) :]
        with fake.lock:
            return self._route(fake, req, rest)

    def _route(self, fake: FakeGitHub, req: Request, rest: str) -> Answer:
        m, get, post = None, req.method == "GET", req.method == "POST"
        wf = f"/actions/workflows/{WORKFLOW_FILE}"
        if get and rest == "":
            return 200, {"full_name": self.repo, "default_branch": "main"}, {}
        if get and rest == wf:
            if not self.workflow:
                return NOT_FOUND
            return (
                200,
                {"id": 1, "name": self.doc["name"], "path": WORKFLOW_PATH, "state": "active"},
                {},
            )
        if post and rest == wf + "/dispatches":
            return self._dispatch(fake, req)
        if get and rest == wf + "/runs":
            return self._list(req)
        if m := re.fullmatch(r"/actions/runs/(\d+)", rest):
            run = self.runs.get(int(m[1]))
            if not get or run is None:
                return NOT_FOUND
            answer = self._run_json(fake, run)
            run.looks += 1  # the next look sees the next state
            return 200, answer, {}
        if (m := re.fullmatch(r"/actions/runs/(\d+)/cancel", rest)) and post:
            run = self.runs.get(int(m[1]))
            if run is None:
                return NOT_FOUND
            run.cancelled = True
            return 202, {}, {}
        if (m := re.fullmatch(r"/actions/runs/(\d+)/artifacts", rest)) and get:
            return self._artifacts(fake, int(m[1]))
        if (m := re.fullmatch(r"/actions/artifacts/(\d+)/zip", rest)) and get:
            found = self.artifacts.get(int(m[1]))
            if found is None or found[0].plan.gone or found[0].plan.expired:
                return 410, {"message": "Artifact has expired"}, {}
            # GitHub sends the client to blob storage on another host: here "localhost".
            port = fake.url.rsplit(":", 1)[1]
            where = f"http://localhost:{port}/storage/{m[1]}.zip?sig=signed"
            return 302, b"", {"Location": where, "Content-Type": "text/plain"}
        if (m := re.fullmatch(r"/branches/(.+)", rest)) and get:
            sha = self._git("rev-parse", "--verify", "--quiet", f"refs/heads/{m[1]}")
            if not sha:
                return 404, {"message": "Branch not found"}, {}
            return 200, {"name": m[1], "commit": {"sha": sha}}, {}
        if (m := re.fullmatch(r"/contents/(.+)", rest)) and get:
            return self._contents(m[1], req.query.get("ref", "main"))
        return NOT_FOUND

    def _dispatch(self, fake: FakeGitHub, req: Request) -> Answer:
        body = req.json()
        self.dispatches.append(body)
        if "return_run_details" in body and self.rejects_run_details:
            return (
                422,
                {"message": "Invalid request. 'return_run_details' is not a permitted key."},
                {},
            )
        if not self.workflow:
            return NOT_FOUND
        if not self._git("rev-parse", "--verify", "--quiet", f"refs/heads/{body['ref']}"):
            return 422, {"message": f"No ref found for: {body['ref']}"}, {}
        inputs = body.get("inputs", {})
        declared = self.doc["on"]["workflow_dispatch"]["inputs"]
        unexpected = sorted(set(inputs) - set(declared))
        if unexpected:
            return 422, {"message": f"Unexpected inputs provided: {unexpected}"}, {}
        run_id = self.next_id
        self.next_id += 1
        context = {f"inputs.{k}": str(v) for k, v in inputs.items()}
        run = FakeRun(
            id=run_id,
            repo=self.repo,
            branch=body["ref"],
            inputs=inputs,
            plan=self.plan,
            title=render(self.doc["run-name"], context),
        )
        run.shown_after = self.list_calls + self.plan.shows_after
        self.runs[run_id] = run
        if body.get("return_run_details") and self.run_details:
            return (
                200,
                {
                    "workflow_run_id": run_id,
                    "run_url": f"{fake.url}/repos/{self.repo}/actions/runs/{run_id}",
                    "html_url": f"https://github.com/{self.repo}/actions/runs/{run_id}",
                },
                {},
            )
        return 204, b"", {}

    def _run_json(self, fake: FakeGitHub, run: FakeRun) -> dict[str, Any]:
        status, conclusion = run.status()
        return {
            "id": run.id,
            "name": self.doc["name"],
            "display_title": run.title,
            "event": "workflow_dispatch",
            "head_branch": run.branch,
            "status": status,
            "conclusion": conclusion,
            "html_url": f"https://github.com/{self.repo}/actions/runs/{run.id}",
            "url": f"{fake.url}/repos/{self.repo}/actions/runs/{run.id}",
        }

    def _list(self, req: Request) -> Answer:
        self.list_calls += 1
        runs = [
            self._run_json(self.server, r)  # type: ignore[arg-type]
            for r in sorted(self.runs.values(), key=lambda r: -r.id)
            if r.branch == req.query.get("branch", r.branch) and self.list_calls >= r.shown_after
        ]
        return 200, {"total_count": len(runs), "workflow_runs": runs}, {}

    def _artifacts(self, fake: FakeGitHub, run_id: int) -> Answer:
        run = self.runs.get(run_id)
        if run is None:
            return NOT_FOUND
        items = []
        if run.plan.files is not None and not run.cancelled:
            if run.artifact_id is None:
                run.artifact_id = run_id * 10
                self.artifacts[run.artifact_id] = (run, zip_bytes(run.plan.files))
            data = self.artifacts[run.artifact_id][1]
            context = {f"inputs.{k}": str(v) for k, v in run.inputs.items()}
            context["github.run_id"] = str(run.id)
            items.append(
                {
                    "id": run.artifact_id,
                    "name": render(upload_step(self.doc)["with"]["name"], context),
                    "size_in_bytes": len(data),
                    "expired": run.plan.expired,
                    "archive_download_url": (
                        f"{fake.url}/repos/{self.repo}/actions/artifacts/{run.artifact_id}/zip"
                    ),
                }
            )
        return 200, {"total_count": len(items), "artifacts": items}, {}

    def _storage(self, path: str) -> Answer:
        m = re.fullmatch(r"/storage/(\d+)\.zip", path)
        found = self.artifacts.get(int(m[1])) if m else None
        if found is None:
            return NOT_FOUND
        return 200, found[1], {"Content-Type": "application/zip"}

    def _contents(self, folder: str, ref: str) -> Answer:
        listing = self._git("ls-tree", f"{ref}:{folder}")
        if listing is None:
            return 404, {"message": "Not Found"}, {}
        entries = []
        for line in listing.splitlines():
            meta, name = line.split("\t", 1)
            _, kind, sha = meta.split()
            entries.append(
                {
                    "name": name,
                    "path": f"{folder}/{name}",
                    "sha": sha,
                    "type": "dir" if kind == "tree" else "file",
                }
            )
        return 200, json.dumps(entries).encode(), {}
