"""Which of the series' changed code a bench case runs: what makes its timing evidence.

The changed blocks are the test map's (``workbench/selection/blocks.py``): functions and methods
whose AST differs between the baseline and the patched worktree, fingerprinted the same way. A
case is run once per side, untimed, under a trace of function calls (``worker.CallTracer``),
which also records every Triton kernel launched; a case runs a changed block when a function of
that block ran, on either side (a removed function runs on the baseline only, a new one on the
patched side only). What a call trace cannot see counts as "may run it", said so: module-level
code (it runs at import, before any case) of a module the case has imported, and changed files
that are not Python (compiled code).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from workbench.gitops.checkout import is_cache_path
from workbench.selection import blocks as blk
from workbench.selection.select import is_test_file, read_source
from workbench.vocabulary import BASELINE, PATCHED

NOT_CODE_SUFFIXES = (".md", ".rst", ".txt", ".png", ".svg", ".jpg", ".gif", ".ipynb")
NOT_CODE_DIRS = ("docs/", ".github/", ".ci/")


@dataclass
class ChangedCode:
    """The series' changed code, and where each side's interpreter finds those files."""

    base: Path
    patched: Path
    blocks: dict[tuple[str, str], str] = field(default_factory=dict)
    """(file, qualname) → changed / added / removed; module-level changes are in ``modules``."""
    modules: list[str] = field(default_factory=list)
    """Files whose module-level code changed."""
    changed_files: list[str] = field(default_factory=list)
    """Every file the series changes, code or not."""
    unseen: list[str] = field(default_factory=list)
    """Changed files that are not Python: no call trace sees them run."""
    roots: dict[str, list[tuple[Path, str]]] = field(default_factory=dict)
    """Per side, (folder, the upstream path it holds): the worktree itself for an editable
    install, the installed package for a wheel overlay."""
    _index: dict[tuple[str, str], blk.LineIndex] = field(default_factory=dict, repr=False)

    @classmethod
    def between(cls, base: Path, patched: Path, files: list[str], test_root: str) -> ChangedCode:
        found = cls(base, patched, changed_files=list(files))
        root = test_root.rstrip("/") + "/"
        for f in files:
            if f.startswith(root) or is_test_file(f) or is_cache_path(f):
                continue  # bytecode committed with the source is not code of its own
            if not f.endswith(".py"):
                if not f.endswith(NOT_CODE_SUFFIXES) and not f.startswith(NOT_CODE_DIRS):
                    found.unseen.append(f)
                continue
            for qual, how in blk.changed(read_source(base / f), read_source(patched / f)).items():
                if qual == blk.MODULE:
                    found.modules.append(f)
                else:
                    found.blocks[(f, qual)] = how
        for side, tree in ((BASELINE, base), (PATCHED, patched)):
            found.roots[side] = [(tree, "")]
        return found

    def add_root(self, side: str, folder: Path, prefix: str) -> None:
        """Where an overlay build puts the upstream's ``prefix`` folder (its installed package)."""
        self.roots.setdefault(side, []).append((folder, prefix.rstrip("/") + "/"))

    def names(self) -> list[str]:
        """``path::qualname`` of every changed block, module-level code as ``path::<module>``."""
        out = [f"{f}::{q}" for f, q in self.blocks]
        out += [f"{f}::{blk.MODULE}" for f in self.modules]
        return sorted(out)

    @property
    def empty(self) -> bool:
        return not (self.blocks or self.modules or self.unseen)

    def files(self) -> list[str]:
        return sorted({f for f, _ in self.blocks} | set(self.modules))

    def watch(self, side: str) -> dict[str, str]:
        """Absolute path → upstream path of every changed Python file, where ``side``'s
        interpreter imports it from (the real path too, for symlinked folders)."""
        out: dict[str, str] = {}
        for f in self.files():
            for folder, prefix in self.roots.get(side, []):
                if not f.startswith(prefix):
                    continue
                path = folder / f[len(prefix) :]
                out[str(path)] = f
                out[os.path.realpath(path)] = f
        return out

    def _block_at(self, side: str, file: str, line: int) -> str:
        key = (side, file)
        if key not in self._index:
            tree = self.base if side == BASELINE else self.patched
            self._index[key] = blk.LineIndex(blk.blocks(read_source(tree / file) or ""))
        return self._index[key].block_at(line)

    def attribute(self, found: dict[str, dict]) -> tuple[list[str], list[str]]:
        """What a case runs of the change, from each side's probe (``worker.Worker.probe``):
        the changed blocks that ran, and what it may run that a call trace cannot see."""
        runs: set[str] = set()
        imported: set[str] = set()
        for side, probe in found.items():
            for file, line in [*probe.get("code", []), *probe.get("launched", [])]:
                qual = self._block_at(side, file, int(line))
                if (file, qual) in self.blocks:
                    runs.add(f"{file}::{qual}")
            imported.update(probe.get("imported", []))
        may = [
            f"{f}::{blk.MODULE} (module-level code of a module the case imports: it runs at "
            "import, before any call)"
            for f in self.modules
            if f in imported
        ]
        may += [f"{f} (not Python: a call trace cannot see it run)" for f in self.unseen]
        return sorted(runs), may

    def to_doc(self) -> dict:
        return {
            "changed_blocks": self.names(),
            "changed_not_traceable": list(self.unseen),
            "changed_files": len(self.changed_files),
        }
