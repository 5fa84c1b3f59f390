"""The GitHub Actions endpoints a remote run needs, over the workbench's GitHub client.

Every call goes through :class:`GitHubClient` (PyGithub's requester with the workbench's retry,
rate-limit and token handling), so errors read like the tracker's and the token never leaves
the process.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.github.client import GitHubClient
from workbench.github.errors import UnexpectedResponse
from workbench.remote.errors import ArtifactGone, WorkflowMissing
from workbench.remote.workflow import WORKFLOW_FILE, WORKFLOW_PATH

DONE = "completed"


@dataclass(frozen=True)
class Run:
    """One workflow run as the API shows it."""

    id: int
    status: str
    """requested, queued, pending, waiting, in_progress or completed."""
    conclusion: str | None
    html_url: str
    title: str

    @classmethod
    def from_json(cls, data: Any) -> Run:
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            raise UnexpectedResponse(
                "GitHub's answer for a workflow run has no run id",
                "check WORKBENCH_GITHUB_API; nothing was changed",
            )
        return cls(
            id=data["id"],
            status=str(data.get("status") or "queued"),
            conclusion=data.get("conclusion"),
            html_url=str(data.get("html_url") or ""),
            title=str(data.get("display_title") or data.get("name") or ""),
        )

    @property
    def done(self) -> bool:
        return self.status == DONE

    @property
    def waiting_for_runner(self) -> bool:
        return self.status in ("requested", "queued", "pending", "waiting")


@dataclass(frozen=True)
class Artifact:
    id: int
    name: str
    expired: bool
    size: int


class Actions:
    """The Actions API of one repository (the contributor's fork)."""

    def __init__(self, client: GitHubClient, repo: str):
        self.client = client
        self.repo = repo
        self.base = f"/repos/{repo}"

    def _get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> tuple[int, Any]:
        return self.client.request("GET", self.base + path, params, **kw)

    # --- the workflow ----------------------------------------------------------------------------

    def workflow(self) -> dict[str, Any]:
        """The workflow's record; a clear error when the fork does not have it."""
        status, data = self._get(f"/actions/workflows/{WORKFLOW_FILE}", allow=(404,))
        if status == 404:
            repo_status, _ = self.client.request("GET", self.base, allow=(404,))
            if repo_status == 404:
                raise WorkflowMissing(
                    f"{self.repo} was not found on GitHub (or the token cannot see it)",
                    "check --repo / [remote] repo in workbench.toml: it names your fork",
                )
            raise WorkflowMissing(
                f"{self.repo} has no workflow {WORKFLOW_PATH} on its default branch "
                "(or Actions are not enabled on the fork)",
                f"push {WORKFLOW_PATH} to the fork's default branch and enable Actions in its "
                "Actions tab; see docs/runners.md",
            )
        if isinstance(data, dict) and data.get("state") not in (None, "active"):
            raise WorkflowMissing(
                f"{WORKFLOW_PATH} is {data.get('state')} on {self.repo}",
                "enable it in the fork's Actions tab",
            )
        return data if isinstance(data, dict) else {}

    def dispatch(self, branch: str, inputs: dict[str, str]) -> Run | None:
        """Start a run; the run when GitHub says which it is (newer API), else None."""
        url = f"{self.base}/actions/workflows/{WORKFLOW_FILE}/dispatches"
        body = {"ref": branch, "inputs": inputs, "return_run_details": True}
        status, data = self.client.request("POST", url, None, body, allow=(400, 422))
        if status in (400, 422) and "return_run_details" in _message(data):
            # A GitHub (Enterprise) from before run details: dispatch the old way.
            body.pop("return_run_details")
            status, data = self.client.request("POST", url, None, body, allow=(400, 422))
        if status in (400, 422):
            raise WorkflowMissing(
                f"GitHub refused to dispatch {WORKFLOW_PATH} on {self.repo} {branch}: "
                f"{_message(data) or status}",
                f"the branch must hold this version of {WORKFLOW_PATH} (merge the workbench's "
                "main into it and push)",
            )
        if (
            status == 200
            and isinstance(data, dict)
            and isinstance(data.get("workflow_run_id"), int)
        ):
            return Run(
                id=data["workflow_run_id"],
                status="queued",
                conclusion=None,
                html_url=str(data.get("html_url") or ""),
                title="",
            )
        return None

    def find_run(self, branch: str, marker: str) -> Run | None:
        """The dispatched run whose title carries ``marker``, if it shows in the list yet."""
        _, data = self._get(
            f"/actions/workflows/{WORKFLOW_FILE}/runs",
            {"event": "workflow_dispatch", "branch": branch, "per_page": 30},
        )
        for item in (data or {}).get("workflow_runs", []) if isinstance(data, dict) else []:
            if marker in str(item.get("display_title") or "") or marker in str(
                item.get("name") or ""
            ):
                return Run.from_json(item)
        return None

    def run(self, run_id: int) -> Run:
        _, data = self._get(f"/actions/runs/{run_id}")
        return Run.from_json(data)

    def cancel(self, run_id: int) -> None:
        # 409: it finished or was cancelled meanwhile, which is what cancelling wants anyway.
        self.client.request("POST", f"{self.base}/actions/runs/{run_id}/cancel", allow=(409,))

    # --- the branch ------------------------------------------------------------------------------

    def branch_head(self, branch: str) -> str | None:
        status, data = self._get(f"/branches/{urllib.parse.quote(branch, safe='')}", allow=(404,))
        if status == 404 or not isinstance(data, dict):
            return None
        return str((data.get("commit") or {}).get("sha") or "") or None

    def tree_entry(self, folder: str, name: str, ref: str) -> str | None:
        """The git object id of ``folder/name`` at ``ref`` (a folder's id is its tree's hash)."""
        status, data = self._get(f"/contents/{folder}", {"ref": ref}, allow=(404,))
        if status == 404 or not isinstance(data, list):
            return None
        for entry in data:
            if isinstance(entry, dict) and entry.get("name") == name and entry.get("type") == "dir":
                return str(entry.get("sha"))
        return None

    # --- artifacts -------------------------------------------------------------------------------

    def artifacts(self, run_id: int) -> list[Artifact]:
        _, data = self._get(f"/actions/runs/{run_id}/artifacts", {"per_page": 100})
        items = data.get("artifacts", []) if isinstance(data, dict) else []
        return [
            Artifact(
                int(a["id"]),
                str(a.get("name")),
                bool(a.get("expired")),
                int(a.get("size_in_bytes") or 0),
            )
            for a in items
            if isinstance(a, dict) and "id" in a
        ]

    def download(self, artifact: Artifact, dest: Path) -> int:
        """Save the artifact's zip to ``dest``; bytes written.

        GitHub answers with a redirect to a signed URL on its blob storage (another host, which
        PyGithub would refuse to follow); that URL is fetched without any token.
        """
        gone = ArtifactGone(
            f"artifact {artifact.name} of {self.repo} has expired or was deleted",
            "dispatch the run again: workbench remote run NAME --session ... --wait",
        )
        url = f"{self.base}/actions/artifacts/{artifact.id}/zip"
        status, location = self.client.redirect(url, allow=(404, 410))
        if status in (404, 410):
            raise gone
        if not location:
            raise UnexpectedResponse(
                f"GitHub answered {status} without a download location for {artifact.name}",
                "check WORKBENCH_GITHUB_API; nothing was unpacked",
            )
        with open(dest, "wb") as fh:
            return self.client.download(
                location,
                fh.write,
                stale=gone,  # the signed link went stale between the two requests
                failed=lambda why: UnexpectedResponse(
                    f"downloading artifact {artifact.name} failed: {why}",
                    "check the network and run `workbench remote fetch` again",
                ),
            )


def _message(data: Any) -> str:
    return str(data.get("message") or "") if isinstance(data, dict) else ""
