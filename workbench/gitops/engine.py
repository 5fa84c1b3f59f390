"""The patch-series engine: apply, continue/abort, refresh, rebase, status, range-diff.

It works like quilt/StGit on top of git: the series lives as ``git format-patch`` files in
``patches/<name>/``; ``apply`` rebuilds the patched worktree from them with ``git am --3way``;
the contributor commits there; ``refresh`` writes the commits back to files. Guard rails keep
everything the contributor wrote: no command drops uncommitted changes, commits that were not
refreshed, or patch files edited by hand.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from workbench.config import Recipe
from workbench.errors import (
    DirtyWorktree,
    NotFetched,
    OperationInProgress,
    ProblemFound,
    UsageError,
)
from workbench.gitops.checkout import UpstreamCheckout
from workbench.gitops.git import STABLE_DIFF, require_identity, run
from workbench.gitops.replay import replay
from workbench.gitops.series import (
    SERIES_FILE,
    Series,
    load_series,
    parse_series,
    read_patch_header,
    replace_series_dir,
)
from workbench.gitops.state import Operation, SeriesState, StateStore
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
PATCH_FAILED_RE = re.compile(r"^error: patch failed: (?P<file>.+):(?P<line>\d+)$")


@dataclass(frozen=True)
class Pin:
    ref: str
    source: str


@dataclass
class Conflict:
    """Where ``git am`` stopped: which patch, which files, which hunks."""

    patch: str
    index: int
    total: int
    files: dict[str, list[str]] = field(default_factory=dict)
    """File → conflicting regions (``lines 12-20``) or the hunk git could not place."""
    output: str = ""

    def describe(self) -> str:
        parts = []
        for f, hunks in self.files.items():
            parts.append(f"{f} ({', '.join(hunks)})" if hunks else f)
        where = "; ".join(parts) if parts else "see git am's output above"
        return f"patch {self.patch} ({self.index} of {self.total}) conflicts: {where}"


class ConflictError(ProblemFound):
    title = "conflict"

    def __init__(self, conflict: Conflict, name: str, worktree: str, kind: str):
        super().__init__(
            conflict.describe(),
            f"resolve in {worktree}, git add the files, then run `workbench patches {kind} "
            f"{name} --continue`; or `workbench patches {kind} {name} --abort` to back out",
            details=conflict.output,
        )
        self.conflict = conflict


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


def _conflict_regions(path: Path) -> list[str]:
    """Line ranges of ``<<<<<<<`` … ``>>>>>>>`` blocks in a conflicted file."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    regions, start = [], None
    for i, line in enumerate(lines, 1):
        if line.startswith("<<<<<<<"):
            start = i
        elif line.startswith(">>>>>>>") and start is not None:
            regions.append(f"lines {start}-{i}")
            start = None
    return regions


def _unquote(path: str) -> str:
    """A path as git writes it in a patch header (C-quoted when it has special characters)."""
    if len(path) >= 2 and path[0] == path[-1] == '"':
        raw = path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        return raw.encode("latin-1").decode("utf-8", "replace")
    return path


def _renames(patch: Path) -> dict[str, str]:
    """New name → old name for every rename in a patch."""
    moves, old = {}, None
    with open(patch, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("rename from "):
                old = _unquote(line[len("rename from ") :].rstrip("\n"))
            elif line.startswith("rename to ") and old is not None:
                moves[_unquote(line[len("rename to ") :].rstrip("\n"))] = old
                old = None
    return moves


def _range_lines(src: Path, base: str, tip: str, side: str) -> str:
    """range-diff's lines for a series compared with nothing (git needs two non-empty ranges)."""
    out = run(src, "log", "--reverse", "--format=%h %s", f"{base}..{tip}").stdout
    lines = []
    for i, line in enumerate(out.splitlines(), 1):
        sha, _, subject = line.partition(" ")
        dashes = "-" * len(sha)
        if side == "new":
            lines.append(f"-:  {dashes} > {i}:  {sha} {subject}")
        else:
            lines.append(f"{i}:  {sha} < -:  {dashes} {subject}")
    return "\n".join(lines) + ("\n" if lines else "")


class SeriesEngine:
    def __init__(self, ws: Workspace, recipe: Recipe):
        self.ws = ws
        self.recipe = recipe
        self.name = recipe.name
        self.co = UpstreamCheckout(ws, recipe)
        self.dir = ws.patches(recipe.name)
        self.store = StateStore(ws.state_dir() / f"{recipe.name}.json")

    # --- reading ---------------------------------------------------------------------------------

    def series(self) -> Series:
        return load_series(self.dir, shown=self.ws.relative(self.dir / SERIES_FILE))

    def pin(self, series: Series | None = None) -> Pin:
        """The base commit the series applies to: an override, the series' base, or the recipe."""
        up = self.recipe.upstream
        if self.recipe.pin_source != "recipe":
            return Pin(up.pin, self.recipe.pin_source)
        series = series or self.series()
        if series.base:
            return Pin(series.base, f"{self.ws.relative(series.file)} (workbench-base)")
        return Pin(up.pin, self.ws.relative(self.recipe.file))

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
        gitdir = Path(run(self.co.patched, "rev-parse", "--absolute-git-dir").stdout)
        apply_dir = gitdir / "rebase-apply"
        try:
            index = int((apply_dir / "next").read_text().strip())
            total = int((apply_dir / "last").read_text().strip())
        except (OSError, ValueError):
            index, total = 0, len(series.entries)
        # git am numbers the patches of this run; map back onto the series' entries.
        offset = len(series.entries) - total
        entry = series.entries[offset + index - 1] if 0 < index <= total else "?"
        conflict = Conflict(
            patch=entry, index=offset + index, total=len(series.entries), output=output.strip()
        )
        unmerged = run(self.co.patched, "diff", "--name-only", "--diff-filter=U").stdout
        for f in unmerged.splitlines():
            conflict.files[f] = _conflict_regions(self.co.patched / f)
        if not conflict.files:
            for line in output.splitlines():
                m = PATCH_FAILED_RE.match(line.strip())
                if m:
                    conflict.files.setdefault(m.group("file"), []).append(
                        f"hunk at line {m.group('line')} does not apply"
                    )
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

    def refresh(self, force: bool = False, _new_base: str | None = None) -> RefreshResult:
        """Write the commits between the base and the patched worktree's HEAD to patches/."""
        self.co.require()
        if not self.co.worktree_ok(self.co.patched):
            raise NotFetched(
                f"{self._rel(self.co.patched)} does not exist",
                f"run: workbench patches apply {self.name}",
            )
        state = self.store.load()
        if _new_base is None:
            self._guard_no_operation(state)
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
        base_line = _new_base if _new_base is not None else series.base
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
        self.refresh(force=True, _new_base=onto)
        self.co.ensure_base(onto)

    # --- status ----------------------------------------------------------------------------------

    def patch_files(self, patch: Path) -> list[dict]:
        """Each file a patch touches, with +/- lines (None for binary) and its old name if moved."""
        out = run(
            self.co.src if self.co.exists() else self.ws.root,
            "apply",
            "--numstat",
            "-z",
            str(patch),
            check=False,
            strip=False,
        ).stdout
        renamed = _renames(patch)
        files = []
        for entry in filter(None, out.split("\0")):
            added, deleted, path = entry.split("\t", 2)
            files.append(
                {
                    "path": path,
                    "renamed_from": renamed.get(path),
                    "added": int(added) if added.isdigit() else None,
                    "deleted": int(deleted) if deleted.isdigit() else None,
                }
            )
        return files

    def status(self, check_head: bool = True) -> dict:
        self.co.require()
        series = self.series()
        pin = self.pin(series)
        state = self.store.load()
        pin_sha = self.co.resolve(pin.ref)
        head_sha = self.co.default_head()
        upstream: dict = {"branch": self.recipe.upstream.default_branch, "head": head_sha}
        if head_sha:
            upstream["date"] = run(self.co.src, "log", "-1", "--format=%cI", head_sha).stdout
            if pin_sha:
                upstream["commits_since_pin"] = int(
                    run(self.co.src, "rev-list", "--count", f"{pin_sha}..{head_sha}").stdout
                )
        patches, changed = [], []
        for p in series.paths():
            header = read_patch_header(p)
            files = self.patch_files(p)
            for f in files:
                for name in (f["renamed_from"], f["path"]):
                    if name and name not in changed:
                        changed.append(name)
            patches.append(
                {
                    "file": p.name,
                    "subject": header.subject,
                    "author": header.author,
                    "files": files,
                    "added": sum(f["added"] or 0 for f in files),
                    "deleted": sum(f["deleted"] or 0 for f in files),
                }
            )
        applies = None
        if check_head and head_sha:
            trial = replay(self.co.src, head_sha, series.paths(), make_commits=False)
            applies = {
                "onto": head_sha,
                "clean": trial.ok and all(m == "clean" for m in trial.modes),
                "ok": trial.ok,
                "three_way": [series.entries[i] for i, m in enumerate(trial.modes) if m == "3way"],
                "failed": trial.failed.name if trial.failed else None,
                "conflicts": trial.conflicts,
            }
        return {
            "upstream": self.name,
            "repo": self.recipe.upstream.repo,
            "url": self.recipe.upstream.url,
            "url_source": self.recipe.url_source,
            "pin": {"ref": pin.ref, "source": pin.source, "commit": pin_sha},
            "upstream_head": upstream,
            "worktree": self._worktree_state(state, series),
            "patches": patches,
            "applies_to_head": applies,
            "changed_files": sorted(changed),
        }

    def _worktree_state(self, state: SeriesState, series: Series) -> dict:
        head = self.co.head(self.co.patched)
        info: dict = {"path": self._rel(self.co.patched), "head": head, "base": state.base}
        if head is None:
            info["state"] = "missing"
            info["hint"] = f"workbench patches apply {self.name}"
        elif state.op or self.co.am_in_progress():
            info["state"] = f"{state.op.kind if state.op else 'apply'} stopped on a conflict"
            info["hint"] = "resolve, git add, then --continue (or --abort)"
        elif head != state.synced_head:
            info["state"] = "has commits not saved to patches/"
            info["hint"] = f"workbench patches refresh {self.name}"
        elif series.digest() != state.series_digest:
            info["state"] = "patches/ changed since it was built"
            info["hint"] = f"workbench patches apply {self.name}"
        else:
            info["state"] = "in sync with patches/"
        info["uncommitted"] = [d.strip() for d in self.co.uncommitted(self.co.patched)]
        return info

    # --- range-diff ------------------------------------------------------------------------------

    def range_diff(self, rev: str = "HEAD", color: bool = False) -> str:
        """``git range-diff`` between the series committed at ``rev`` of the workbench and now."""
        self.co.require()
        wb = self.ws.root
        if not run(wb, "rev-parse", "--git-dir", check=False).ok:
            raise UsageError(
                f"{wb} is not a git repository", "range-diff compares with its history"
            )
        if not run(wb, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False).ok:
            raise UsageError(
                f"'{rev}' is not a commit of the workbench repository",
                "give a commit, branch or tag, e.g. HEAD~1",
            )
        rel = self.ws.relative(self.dir)
        listing = run(wb, "ls-tree", "--name-only", f"{rev}:{rel}", check=False)
        new_series = self.series()
        new_base = self.co.resolve_or_fetch(self.pin(new_series).ref, "pin")
        with tempfile.TemporaryDirectory() as tmp:
            old_dir = Path(tmp)
            old_series = Series(dir=old_dir)
            if listing.ok:
                for name in listing.stdout.splitlines():
                    blob = run(wb, "show", f"{rev}:{rel}/{name}", strip=False).stdout
                    (old_dir / name).write_text(blob, encoding="utf-8", errors="surrogateescape")
                if (old_dir / SERIES_FILE).exists():
                    old_series = parse_series(
                        (old_dir / SERIES_FILE).read_text(), old_dir, f"{rev}:{rel}/{SERIES_FILE}"
                    )
            old_base = self.co.resolve(old_series.base) if old_series.base else None
            old_base = old_base or new_base
            old = replay(self.co.src, old_base, old_series.paths())
            if not old.ok and old_base != new_base:
                old_base = new_base
                old = replay(self.co.src, old_base, old_series.paths())
            if not old.ok:
                raise UsageError(
                    f"the series at {rev} does not apply to {old_base[:12]} "
                    f"({old.failed.name if old.failed else '?'}), so it cannot be compared",
                    "compare with a revision whose series applies to a fetched commit",
                )
            new = replay(self.co.src, new_base, new_series.paths())
            if not new.ok:
                raise ProblemFound(
                    f"the current series does not apply to its pin at "
                    f"{new.failed.name if new.failed else '?'}",
                    f"see `workbench patches apply {self.name}`",
                )
            if not old.commits or not new.commits:
                return _range_lines(self.co.src, old_base, old.tip or old_base, "old") + (
                    _range_lines(self.co.src, new_base, new.tip or new_base, "new")
                )
            return run(
                self.co.src,
                "range-diff",
                "--color=always" if color else "--no-color",
                f"{old_base}..{old.tip}",
                f"{new_base}..{new.tip}",
                strip=False,
            ).stdout
