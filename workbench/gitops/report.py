"""Reading a series without changing it: its pin, its patches, where the worktree stands, whether
it applies to upstream's head, and ``range-diff`` against an earlier version.

Nothing here writes to ``patches/`` or to a worktree; trial applies run in a scratch index (see
:mod:`workbench.gitops.replay`). The engine changes the series and uses this to read it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from workbench import display
from workbench.config import Recipe
from workbench.errors import ProblemFound, UsageError
from workbench.gitops.checkout import UpstreamCheckout
from workbench.gitops.git import run
from workbench.gitops.replay import replay
from workbench.gitops.series import (
    SERIES_FILE,
    Series,
    load_series,
    parse_series,
    read_patch_header,
)
from workbench.gitops.state import SeriesState, StateStore
from workbench.gitops.status import (
    HeadTrial,
    PatchFile,
    PatchInfo,
    Pin,
    SeriesStatus,
    UpstreamHead,
    Worktree,
    WorktreeState,
)
from workbench.paths import Workspace


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


def range_diff(
    src: Path, old_base: str, old_tip: str, new_base: str, new_tip: str, *, color: bool = False
) -> str:
    """``git range-diff old_base..old_tip new_base..new_tip``, also when a side is empty (git
    refuses that; each patch of the other side is then listed as added or dropped)."""
    empty = [
        not run(src, "rev-list", "--max-count=1", f"{base}..{tip}").stdout
        for base, tip in ((old_base, old_tip), (new_base, new_tip))
    ]
    if any(empty):
        return _range_lines(src, old_base, old_tip, "old") + _range_lines(
            src, new_base, new_tip, "new"
        )
    return run(
        src,
        "range-diff",
        "--color=always" if color else "--no-color",
        f"{old_base}..{old_tip}",
        f"{new_base}..{new_tip}",
        strip=False,
    ).stdout


class SeriesReport:
    """One upstream's series as it is: read-only."""

    def __init__(self, ws: Workspace, recipe: Recipe, co: UpstreamCheckout | None = None):
        self.ws = ws
        self.recipe = recipe
        self.name = recipe.name
        self.co = co or UpstreamCheckout(ws, recipe)
        self.dir = ws.patches(recipe.name)
        self.store = StateStore(ws.state_dir() / f"{recipe.name}.json")

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

    # --- patches -----------------------------------------------------------------------------

    def patch_files(self, patch: Path) -> tuple[PatchFile, ...]:
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
                PatchFile(
                    path=path,
                    renamed_from=renamed.get(path),
                    added=int(added) if added.isdigit() else None,
                    deleted=int(deleted) if deleted.isdigit() else None,
                )
            )
        return tuple(files)

    def patch_info(self, patch: Path) -> PatchInfo:
        header = read_patch_header(patch)
        return PatchInfo(
            file=patch.name,
            subject=header.subject,
            author=header.author,
            files=self.patch_files(patch),
        )

    # --- the worktree --------------------------------------------------------------------------

    def worktree(self, state: SeriesState | None = None, series: Series | None = None) -> Worktree:
        """Where the patched worktree stands against the patch files."""
        state = self.store.load() if state is None else state
        series = self.series() if series is None else series
        head = self.co.head(self.co.patched)
        stopped = None
        if head is None:
            where = WorktreeState.MISSING
        elif state.op or self.co.am_in_progress():
            where = WorktreeState.CONFLICT
            stopped = state.op.kind if state.op else "apply"
        elif head != state.synced_head:
            where = WorktreeState.UNSAVED_COMMITS
        elif series.digest() != state.series_digest:
            where = WorktreeState.PATCHES_CHANGED
        else:
            where = WorktreeState.IN_SYNC
        return Worktree(
            path=self.ws.relative(self.co.patched),
            head=head,
            base=state.base,
            state=where,
            stopped=stopped,
            uncommitted=tuple(d.strip() for d in self.co.uncommitted(self.co.patched)),
            hint=display.worktree_hint(where, self.name, stopped),
        )

    # --- status --------------------------------------------------------------------------------

    def head_trial(self, series: Series, onto: str) -> HeadTrial:
        """Whether the series applies to ``onto``, tried in a scratch index."""
        trial = replay(self.co.src, onto, series.paths(), make_commits=False)
        return HeadTrial(
            onto=onto,
            ok=trial.ok,
            clean=trial.ok and all(m == "clean" for m in trial.modes),
            three_way=tuple(series.entries[i] for i, m in enumerate(trial.modes) if m == "3way"),
            failed=trial.failed.name if trial.failed else None,
            conflicts=tuple(trial.conflicts),
        )

    def status(self, check_head: bool = True) -> SeriesStatus:
        """Pin, upstream's head, the worktree, each patch and (with ``check_head``) a trial
        apply onto upstream's head."""
        self.co.require()
        series = self.series()
        pin = self.pin(series)
        state = self.store.load()
        pin_sha = self.co.resolve(pin.ref)
        head_sha = self.co.default_head()
        date, since = None, None
        if head_sha:
            date = run(self.co.src, "log", "-1", "--format=%cI", head_sha).stdout
            if pin_sha:
                since = int(
                    run(self.co.src, "rev-list", "--count", f"{pin_sha}..{head_sha}").stdout
                )
        patches = tuple(self.patch_info(p) for p in series.paths())
        changed = {
            name for p in patches for f in p.files for name in (f.renamed_from, f.path) if name
        }
        return SeriesStatus(
            upstream=self.name,
            repo=self.recipe.upstream.repo,
            url=self.recipe.upstream.url,
            url_source=self.recipe.url_source,
            pin=Pin(pin.ref, pin.source, pin_sha),
            upstream_head=UpstreamHead(self.recipe.upstream.default_branch, head_sha, date, since),
            worktree=self.worktree(state, series),
            patches=patches,
            applies_to_head=self.head_trial(series, head_sha) if check_head and head_sha else None,
            changed_files=tuple(sorted(changed)),
        )

    # --- range-diff ----------------------------------------------------------------------------

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
            return range_diff(
                self.co.src,
                old_base,
                old.tip or old_base,
                new_base,
                new.tip or new_base,
                color=color,
            )
