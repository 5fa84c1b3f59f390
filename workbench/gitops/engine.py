"""The patch-series engine: what changes a series (apply, continue/abort, refresh, rebase).

It works like quilt/StGit on top of git: the series lives as ``git format-patch`` files in
``patches/<name>/``; ``apply`` rebuilds the patched worktree from them with ``git am --3way``;
the contributor commits there; ``refresh`` writes the commits back to files. Guard rails keep
everything the contributor wrote: no command drops uncommitted changes, commits that were not
refreshed, or patch files edited by hand. Reading a series (status, range-diff) is
:mod:`workbench.gitops.report`; reading where git stopped is :mod:`workbench.gitops.conflicts`.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.config import Recipe
from workbench.errors import DirtyWorktree, NotFetched, OperationInProgress, UsageError
from workbench.gitops.conflicts import ConflictError, read_am_conflict
from workbench.gitops.git import STABLE_DIFF, require_identity, run
from workbench.gitops.replay import replay
from workbench.gitops.report import SeriesReport
from workbench.gitops.series import SERIES_FILE, Series, replace_series_dir
from workbench.gitops.state import Operation, SeriesState
from workbench.gitops.status import Pin
from workbench.paths import Workspace

FORMAT_PATCH = (
    "format-patch",
    "--zero-commit",
    "--no-signature",
    "--no-numbered",
    "--no-cover-letter",
    "--no-thread",
    "--no-to",
    "--no-cc",
    "--no-add-header",
    "--suffix=.patch",
    "--find-renames",
    "--binary",
)


@dataclass
class ApplyResult:
    applied: int
    head: str
    pin: Pin
    base: str


@dataclass
class RefreshResult:
    changed: bool
    entries: list[str]
    added: list[str]
    removed: list[str]
    rewritten: list[str]
    kept_old: Path | None


class SeriesEngine:
    """Changes one upstream's series; :attr:`report` reads it (status, range-diff)."""

    def __init__(self, ws: Workspace, recipe: Recipe):
        self.ws = ws
        self.recipe = recipe
        self.name = recipe.name
        self.report = SeriesReport(ws, recipe)
        self.co = self.report.co
        self.dir = self.report.dir
        self.store = self.report.store

    # --- reading ---------------------------------------------------------------------------------

    def series(self) -> Series:
        return self.report.series()

    def pin(self, series: Series | None = None) -> Pin:
        """The base commit the series applies to: an override, the series' base, or the recipe."""
        return self.report.pin(series)

    def _rel(self, path: Path) -> str:
        return self.ws.relative(path)

    # --- guards ----------------------------------------------------------------------------------

    def _guard_no_operation(self, state: SeriesState) -> None:
        if state.op or self.co.am_in_progress():
            kind = state.op.kind if state.op else "apply"
            raise OperationInProgress(
                f"a {kind} of the {self.name} series stopped on a conflict in "
                f"{self._rel(self.co.patched)}",
                f"resolve it and run `workbench patches {kind} {self.name} --continue`, "
                f"or `--abort`",
            )

    def _guard_clean(self) -> None:
        dirty = self.co.uncommitted(self.co.patched)
        if dirty:
            shown = ", ".join(d.strip() for d in dirty[:8]) + (" …" if len(dirty) > 8 else "")
            raise DirtyWorktree(
                f"{self._rel(self.co.patched)} has uncommitted changes: {shown}",
                f"commit them (git -C {self._rel(self.co.patched)} commit -a) and run "
                f"`workbench patches refresh {self.name}`, or stash them",
            )

    def _unsaved_commits(self, state: SeriesState, head: str) -> list[str]:
        """Subjects of commits in the patched worktree that the patch files do not have."""
        if head == state.synced_head:
            return []
        base = state.base
        if base and self.co.is_ancestor(base, head):
            out = run(self.co.src, "log", "--format=%s", f"{base}..{head}").stdout
            subjects = out.splitlines() or ["(HEAD moved)"]
        else:
            subjects = ["(HEAD is not on the recorded base)"]
        if state.synced_head is None and base:
            # No record of a sync (state lost): compare with what the files produce.
            series = self.series()
            trial = replay(self.co.src, base, series.paths())
            if trial.ok and self._tree(trial.tip or base) == self._tree(head):
                return []
        return subjects

    def _tree(self, commit: str) -> str:
        return run(self.co.src, "rev-parse", f"{commit}^{{tree}}").stdout

    def _guard_saved(self, state: SeriesState, force: bool) -> str | None:
        """Refuse to replace commits that are not in patches/; with force, keep them in a ref."""
        head = self.co.head(self.co.patched)
        if head is None:
            return None
        unsaved = self._unsaved_commits(state, head)
        if not unsaved:
            return None
        if not force:
            raise UsageError(
                f"{self._rel(self.co.patched)} has {len(unsaved)} commit(s) not saved to "
                f"{self._rel(self.dir)}/ (e.g. '{unsaved[0]}')",
                f"run `workbench patches refresh {self.name}` first, or add --force "
                "(the commits are then kept under refs/workbench/backup/)",
            )
        ref = f"refs/workbench/backup/{self.name}/{time.strftime('%Y%m%d-%H%M%S')}"
        run(self.co.src, "update-ref", ref, head)
        return ref

    # --- apply -----------------------------------------------------------------------------------

    def _start(self, kind: str, onto: str, force: bool) -> tuple[Series, SeriesState]:
        self.co.require()
        state = self.store.load()
        self._guard_no_operation(state)
        self._guard_clean()
        series = self.series()
        if series.entries:
            require_identity(self.co.src)  # git am commits as the contributor
        backup = self._guard_saved(state, force)
        before = self.co.head(self.co.patched)
        state.op = Operation(
            kind=kind,
            onto=onto,
            before=before,
            old_base=state.base,
            old_synced_head=state.synced_head,
            old_series_digest=state.series_digest,
            backup_ref=backup,
        )
        state.base = onto
        state.synced_head = None
        state.series_digest = series.digest()
        self.store.save(state)
        if before is None:
            self.co.create_patched(onto)
        else:
            run(self.co.patched, "checkout", "--quiet", "-B", self.co.branch, onto)
        return series, state

    def _am(self, series: Series, state: SeriesState, kind: str) -> str:
        paths = [str(p) for p in series.paths()]
        if paths:
            result = run(
                self.co.patched, "am", "--3way", "--keep-cr", "--quiet", *paths, check=False
            )
            if not result.ok:
                raise self._conflict(series, kind, result.stdout + "\n" + result.stderr)
        return self.co.head(self.co.patched) or state.base or ""

    def _conflict(self, series: Series, kind: str, output: str) -> ConflictError:
        conflict = read_am_conflict(self.co.patched, series.entries, output)
        return ConflictError(conflict, self.name, self._rel(self.co.patched), kind)

    def _synced(self, state: SeriesState, head: str, series: Series) -> None:
        state.op = None
        state.synced_head = head
        state.series_digest = series.digest()
        self.store.save(state)

    def apply(self, force: bool = False) -> ApplyResult:
        """(Re)create the patched worktree at the pin and apply the series with ``git am -3``."""
        self.co.require()
        series = self.series()
        pin = self.pin(series)
        onto = self.co.resolve_or_fetch(pin.ref, "pin")
        series, state = self._start("apply", onto, force)
        head = self._am(series, state, "apply")
        self._synced(state, head, series)
        self.co.ensure_base(onto)
        return ApplyResult(applied=len(series.entries), head=head, pin=pin, base=onto)

    def continue_(self) -> str:
        """Finish an apply or rebase after the contributor resolved a conflict."""
        self.co.require()
        state = self.store.load()
        if not state.op and not self.co.am_in_progress():
            raise UsageError(
                f"no apply or rebase of {self.name} is in progress",
                f"see `workbench patches status {self.name}`",
            )
        kind = state.op.kind if state.op else "apply"
        series = self.series()
        if self.co.am_in_progress():
            result = run(self.co.patched, "am", "--continue", "--quiet", check=False)
            if not result.ok:
                text = result.stdout + "\n" + result.stderr
                if "still have unmerged paths" in text or "did you forget" in text:
                    raise UsageError(
                        f"{self._rel(self.co.patched)} still has unresolved or unstaged files",
                        "resolve the conflicts and `git add` them, then --continue again",
                    )
                raise self._conflict(series, kind, text)
        head = self.co.head(self.co.patched) or ""
        if kind == "rebase" and state.op:
            self._finish_rebase(state, state.op.onto)
            return "rebase"
        # The contributor's resolution changed a patch: it is not in the files until a refresh.
        state.op = None
        self.store.save(state)
        self.co.ensure_base(state.base or head)
        return "apply"

    def abort(self) -> None:
        """Back out of a stopped apply or rebase: the worktree returns to where it was."""
        self.co.require()
        state = self.store.load()
        if self.co.am_in_progress():
            run(self.co.patched, "am", "--abort")
        op = state.op
        if op is None:
            return
        if op.before:
            run(self.co.patched, "checkout", "--quiet", "--force", "-B", self.co.branch, op.before)
        state.base = op.old_base
        state.synced_head = op.old_synced_head
        state.series_digest = op.old_series_digest
        state.op = None
        self.store.save(state)

    # --- refresh ---------------------------------------------------------------------------------

    def refresh(self, force: bool = False) -> RefreshResult:
        """Write the commits between the base and the patched worktree's HEAD to patches/.

        ``force`` overwrites patch files that changed since the worktree was built from them
        (the old folder is kept in the trash)."""
        self.co.require()
        if not self.co.worktree_ok(self.co.patched):
            raise NotFetched(
                f"{self._rel(self.co.patched)} does not exist",
                f"run: workbench patches apply {self.name}",
            )
        state = self.store.load()
        self._guard_no_operation(state)
        return self._write_series(state, force=force)

    def _write_series(
        self, state: SeriesState, *, force: bool, new_base: str | None = None
    ) -> RefreshResult:
        """The refresh itself, once no operation is in the way (or a rebase is finishing).

        ``new_base``: the base the series records from now on (a finished rebase); None keeps
        the series' own."""
        self._guard_clean()
        series = self.series()
        head = self.co.head(self.co.patched)
        base = state.base or self.co.resolve_or_fetch(self.pin(series).ref, "pin")
        if head is None or not self.co.is_ancestor(base, head):
            raise UsageError(
                f"{self._rel(self.co.patched)} HEAD is not based on {base[:12]}",
                f"rebuild it with `workbench patches apply {self.name}`",
            )
        merges = run(self.co.src, "rev-list", "--merges", f"{base}..{head}").stdout
        if merges:
            raise UsageError(
                f"{self._rel(self.co.patched)} has merge commits since the base; a series is linear",
                f"rebase them into plain commits (git -C {self._rel(self.co.patched)} rebase {base[:12]})",
            )
        files = self._format_patch(base, head)
        entries = sorted(files)
        base_line = new_base if new_base is not None else series.base
        files[SERIES_FILE] = series.render(entries=entries, base=base_line).encode()
        # Files the series does not list (notes, patches kept aside) stay in the folder.
        if self.dir.exists():
            for p in self.dir.iterdir():
                if p.is_file() and p.name not in series.entries and p.name not in files:
                    files[p.name] = p.read_bytes()
        old = (
            {p.name: p.read_bytes() for p in self.dir.iterdir() if p.is_file()}
            if self.dir.exists()
            else {}
        )
        changed = old != files
        edited = state.series_digest and series.digest() != state.series_digest
        if changed and edited and not force:
            # The files changed since the worktree was built from them and differ from what the
            # commits give: they hold edits the worktree does not have.
            raise UsageError(
                f"{self._rel(self.dir)}/ changed since {self._rel(self.co.patched)} was built from "
                "it (edited by hand or pulled); a refresh would overwrite those changes",
                f"run `workbench patches apply {self.name}` to rebuild the worktree from the files, "
                f"or `refresh --force` (the old files are kept under {self._rel(self.ws.trash(self.name))})",
            )
        kept = None
        if changed:
            kept = replace_series_dir(self.dir, files, self.ws.trash(self.name))
        new_series = self.series()
        state.base = base
        self._synced(state, head, new_series)
        old_entries = set(series.entries)
        return RefreshResult(
            changed=changed,
            entries=entries,
            added=[e for e in entries if e not in old_entries],
            removed=[e for e in series.entries if e not in files],
            rewritten=[e for e in entries if e in old and old[e] != files[e]],
            kept_old=kept,
        )

    def _format_patch(self, base: str, head: str) -> dict[str, bytes]:
        with tempfile.TemporaryDirectory() as tmp:
            if base != head:
                run(
                    self.co.src,
                    *STABLE_DIFF,
                    *FORMAT_PATCH,
                    "-o",
                    tmp,
                    f"{base}..{head}",
                    what="git format-patch",
                )
            return {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir())}

    # --- rebase ----------------------------------------------------------------------------------

    def rebase(self, onto: str, force: bool = False) -> ApplyResult:
        """Re-apply the series onto ``onto``; on success the series records it as its base."""
        self.co.require()
        onto_sha = self.co.resolve_or_fetch(onto, "--onto")
        series, state = self._start("rebase", onto_sha, force)
        head = self._am(series, state, "rebase")
        self._finish_rebase(state, onto_sha)
        return ApplyResult(
            applied=len(series.entries),
            head=head,
            pin=Pin(onto_sha, self._rel(self.dir / SERIES_FILE)),
            base=onto_sha,
        )

    def _finish_rebase(self, state: SeriesState, onto: str) -> None:
        state.op = None
        state.base = onto
        self.store.save(state)
        # The patch files are what the rebase started from: rewriting them is the point.
        self._write_series(state, force=True, new_base=onto)
        self.co.ensure_base(onto)
