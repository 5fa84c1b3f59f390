"""The runs this workspace dispatched: ``.workbench/state/remote.json``.

One record per dispatch, written before the first look at the run and updated as it goes, so
``workbench remote status`` and ``remote fetch`` work after the dispatching command has ended
(or was interrupted). Writes are atomic.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from workbench.errors import UsageError
from workbench.fsutil import atomic_write_json
from workbench.paths import Workspace

SCHEMA = 1


@dataclass
class RemoteRun:
    dispatch_id: str
    upstream: str
    session: str
    repo: str
    branch: str
    commit: str
    runner_labels: list[str]
    series_digest: str
    dispatched_at: str
    run_id: int | None = None
    html_url: str = ""
    status: str = "dispatched"
    conclusion: str | None = None
    folder: str | None = None
    """Where the results were brought home, relative to the workspace root."""
    device: str | None = None
    problem: str | None = None
    """The last problem met (runner offline, artifact expired), for ``remote status``."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> str:
        if self.status == "completed":
            return self.conclusion or "completed"
        return self.status


def index_file(ws: Workspace) -> Path:
    return ws.state_dir() / "remote.json"


def load(ws: Workspace) -> list[RemoteRun]:
    path = index_file(ws)
    if not path.exists():
        return []
    try:
        doc = json.loads(path.read_text())
        known = {f.name for f in fields(RemoteRun)}
        return [RemoteRun(**{k: v for k, v in r.items() if k in known}) for r in doc["runs"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"{ws.relative(path)} is not readable ({type(exc).__name__})",
            "move it aside; it only lists dispatched runs, the results are in .workbench/runs/",
        ) from None


def save(ws: Workspace, run: RemoteRun) -> None:
    """Add or replace the record with ``run``'s dispatch id."""
    runs = [r for r in load(ws) if r.dispatch_id != run.dispatch_id]
    runs.append(run)
    atomic_write_json(index_file(ws), {"schema": SCHEMA, "runs": [asdict(r) for r in runs]})


def find(ws: Workspace, run_id: str) -> RemoteRun:
    """A record by GitHub run id (or dispatch id)."""
    runs = load(ws)
    for r in runs:
        if str(r.run_id) == run_id or r.dispatch_id == run_id:
            return r
    known = ", ".join(str(r.run_id or r.dispatch_id) for r in runs[-5:]) or "none yet"
    raise UsageError(
        f"no dispatched run {run_id} in {ws.relative(index_file(ws))}",
        f"see `workbench remote status` (recent: {known})",
    )
