"""What the workbench knows for certain about a series, gathered once for every PR format."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from workbench.config import Recipe
from workbench.errors import UsageError
from workbench.gitops.engine import SeriesEngine
from workbench.gitops.git import run
from workbench.gitops.status import WorktreeState
from workbench.paths import Workspace
from workbench.pr.patch_effects import PerPatchRuns, read_per_patch_runs
from workbench.runs import Latest, latest


@dataclass
class Patch:
    file: str
    subject: str
    body: str
    files: list[str]
    added: list[str]
    """Files the patch creates."""


@dataclass
class LinkedIssue:
    number: int
    title: str | None = None
    url: str | None = None


@dataclass
class Facts:
    recipe: Recipe
    patches: list[Patch]
    changed: list[str]
    series_digest: str
    worktree_state: WorktreeState
    worktree: Path
    tests: Latest
    bench: Latest
    issue: LinkedIssue | None = None
    notes: list[str] = field(default_factory=list)
    codegen: Latest = field(default_factory=lambda: Latest(None, False))
    per_patch: PerPatchRuns = field(default_factory=PerPatchRuns)
    """The newest tests and bench runs of the series made with ``--per-patch``."""

    @property
    def name(self) -> str:
        return self.recipe.name

    @property
    def added(self) -> list[str]:
        out: list[str] = []
        for p in self.patches:
            out += [f for f in p.added if f not in out]
        return out


def _message(patch: Path, cwd: Path) -> tuple[str, str]:
    """Subject and body as ``git mailinfo`` reads them (encodings and folded headers handled)."""
    with tempfile.TemporaryDirectory(prefix="workbench-mailinfo-") as tmp:
        msg = Path(tmp) / "msg"
        info = run(
            cwd,
            "mailinfo",
            "-b",
            "-u",
            str(msg),
            str(Path(tmp) / "patch"),
            stdin=patch.read_bytes().decode("utf-8", errors="replace"),
        )
        body = msg.read_text(errors="replace").strip()
    subject = ""
    for line in info.stdout.splitlines():
        if line.startswith("Subject: "):
            subject = line.removeprefix("Subject: ").strip()
    return subject, body


def _created(patch: Path, cwd: Path) -> list[str]:
    summary = run(cwd, "apply", "--summary", str(patch), check=False).stdout
    return [
        line.split(" ", 3)[3]
        for line in (raw.strip() for raw in summary.splitlines())
        if line.startswith("create mode ")
    ]


def gather(ws: Workspace, recipe: Recipe, issue: LinkedIssue | None = None) -> Facts:
    engine = SeriesEngine(ws, recipe)
    if not engine.co.exists():
        raise UsageError(
            f"{recipe.name} has no clone yet, so there is no series to draft from",
            f"workbench upstream fetch {recipe.name} && workbench patches apply {recipe.name}",
        )
    status = engine.report.status(check_head=False)
    series = engine.series()
    if not status.patches:
        raise UsageError(
            f"patches/{recipe.name}/series lists no patches: nothing to propose",
            f"commit in upstreams/{recipe.name}/patched, then workbench patches refresh "
            f"{recipe.name}",
        )
    cwd = engine.co.src
    patches = []
    for info, path in zip(status.patches, series.paths(), strict=True):
        subject, body = _message(path, cwd)
        patches.append(
            Patch(
                file=info.file,
                subject=subject or info.subject,
                body=body,
                files=[f.path for f in info.files],
                added=_created(path, cwd),
            )
        )
    digest = series.digest()
    return Facts(
        recipe=recipe,
        patches=patches,
        changed=list(status.changed_files),
        series_digest=digest,
        worktree_state=status.worktree.state,
        worktree=engine.co.patched,
        tests=latest(ws, recipe.name, "tests", digest),
        bench=latest(ws, recipe.name, "bench", digest),
        issue=issue,
        codegen=latest(ws, recipe.name, "codegen", digest),
        per_patch=read_per_patch_runs(ws, recipe.name, digest),
    )
