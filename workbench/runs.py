"""The run folders: ``.workbench/runs/<name>/<run-id>/`` with ``tests.json``, ``bench.json`` or
``codegen.json``.

Local runs (``workbench tests run``, ``workbench bench run``, the nox sessions) and runs brought
home from a runner (``workbench remote run``, which adds ``remote.json``) look the same here, so the
TUI and the PR drafter read them one way. A run is *current* when it was made from the series
content that ``patches/<name>/`` holds now (the ``series_digest`` recorded in the result file);
anything else is *stale* and must be named as such wherever it is shown.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.paths import Workspace

RESULT_FILES = {
    "tests": "tests.json",
    "bench": "bench.json",
    "codegen": "codegen.json",
    "map": "map.json",
}
REMOTE_FILE = "remote.json"


@dataclass
class RunResult:
    """One result file of one run folder."""

    upstream: str
    run_id: str
    kind: str  # "tests", "bench", "codegen" or "map"
    folder: Path
    doc: dict[str, Any]
    started: dt.datetime
    remote: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def series_digest(self) -> str | None:
        return self.doc.get("series_digest")

    @property
    def device(self) -> str:
        """Where the numbers came from: the runner's device for a remote run, else the doc's."""
        if self.remote and self.remote.get("device"):
            return str(self.remote["device"])
        return str(self.doc.get("device") or "unknown")

    @property
    def origin(self) -> str:
        return "remote" if self.remote else "local"

    def is_current(self, digest: str | None) -> bool:
        return digest is not None and self.series_digest == digest

    def verdict(self) -> str:
        """One word for a table cell: passed/regressions/no tests, faster/slower/unchanged/
        inconclusive (", outputs differ" added when a case computed something else), "no bench
        runs it", and for codegen changed/unchanged/problems."""
        if self.kind == "codegen":
            from workbench.codegen.report import verdict

            return verdict(self.doc)
        if self.kind == "map":
            return "mapped" if self.doc.get("complete") else "partial map"
        if self.kind == "tests":
            if self.doc.get("regressions"):
                return "regressions"
            counts = self.doc.get("counts") or {}
            if not counts:
                return "no tests"
            return "passed"
        from workbench.bench.report import no_bench_line, summary_of

        cases = self.doc.get("cases")
        summary = summary_of(cases) if isinstance(cases, list) else {}
        if isinstance(cases, list) and no_bench_line(self.doc):
            return "no bench runs it"
        word = "unchanged" if summary.get("unchanged") else "empty"
        for key in ("slower", "faster", "inconclusive"):
            if summary.get(key):
                word = key
                break
        # A changed result is never left out of the cell, whatever the speed.
        return f"{word}, outputs differ" if summary.get("outputs differ") else word


def _started(doc: dict, folder: Path) -> dt.datetime:
    text = doc.get("started")
    if isinstance(text, str):
        try:
            value = dt.datetime.fromisoformat(text)
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        except ValueError:
            pass
    return dt.datetime.fromtimestamp(folder.stat().st_mtime, dt.UTC)


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def list_runs(ws: Workspace, name: str, kind: str | None = None) -> list[RunResult]:
    """Every readable result for ``name``, newest first. Unreadable files are skipped, not fatal."""
    root = ws.runs(name)
    if not root.is_dir():
        return []
    found: list[RunResult] = []
    for folder in root.iterdir():
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        remote = _read_json(folder / REMOTE_FILE)
        for k, file in RESULT_FILES.items():
            if kind and k != kind:
                continue
            doc = _read_json(folder / file)
            if doc is None or doc.get("kind") != k:
                continue
            found.append(
                RunResult(
                    upstream=name,
                    run_id=folder.name,
                    kind=k,
                    folder=folder,
                    doc=doc,
                    started=_started(doc, folder),
                    remote=remote,
                )
            )
    found.sort(key=lambda r: (r.started, r.run_id), reverse=True)
    return found


@dataclass
class Latest:
    """The newest result of one kind, and whether it belongs to the current series."""

    result: RunResult | None
    current: bool

    @property
    def state(self) -> str:
        if self.result is None:
            return "none"
        return "current" if self.current else "stale"


def latest(ws: Workspace, name: str, kind: str, digest: str | None) -> Latest:
    """The newest run of ``kind`` made from ``digest`` if any, else the newest at all (stale)."""
    return newest(list_runs(ws, name, kind), digest)


def newest(runs: list[RunResult], digest: str | None) -> Latest:
    """Of ``runs`` (newest first), the newest made from ``digest`` if any, else the newest."""
    for r in runs:
        if r.is_current(digest):
            return Latest(r, True)
    return Latest(runs[0] if runs else None, False)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_run_dir(ws: Workspace, name: str, kind: str) -> tuple[str, Path]:
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{kind}"
    folder = ws.runs(name) / run_id
    n = 1
    while folder.exists():
        n += 1
        folder = ws.runs(name) / f"{run_id}-{n}"
    folder.mkdir(parents=True)
    return folder.name, folder
