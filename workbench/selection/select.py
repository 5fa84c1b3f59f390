"""``workbench tests select``: the tests that matter for the series' changed files, and why.

Three reasons, merged per test file:

1. the recipe's source → test map (``[[tests.map]]``);
2. test files that import a changed module, directly or through a package ``__init__`` that
   imports it (a static ``ast`` graph, cached);
3. test files the series itself adds or edits.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from workbench.config import Recipe
from workbench.paths import Workspace
from workbench.selection import blocks
from workbench.selection.imports import ImportGraph, module_name
from workbench.selection.testmap import TestMap, describe

TEST_FILE = ("test_*.py", "*_test.py")


@dataclass
class Selected:
    path: str
    """A test file, or a test's node id (``file::Class::test``) when a test map picked it."""
    reasons: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    """The changed file behind each reason, in the same order."""


@dataclass
class Selection:
    changed: list[str]
    tests: list[Selected]
    unmapped: list[str]
    """Changed source files no reason selected a test for (the contributor may want one)."""
    parsed: int = 0
    map: dict | None = None
    """The test map the node ids come from (``testmap.describe``); None: whole files."""
    not_exercised: list[dict] = field(default_factory=list)
    """Changed blocks that no mapped test runs on this device."""
    note: str | None = None
    """Why no map was used, when one exists but does not fit."""

    @property
    def paths(self) -> list[str]:
        return [t.path for t in self.tests]


def _pick(chosen: dict[str, Selected], path: str, reason: str, source: str) -> None:
    """Add ``path`` to a selection with a reason and the changed file behind it."""
    entry = chosen.setdefault(path, Selected(path))
    if reason not in entry.reasons:
        entry.reasons.append(reason)
        entry.sources.append(source)


def is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(name, p) for p in TEST_FILE)


def files_under(worktree: Path, target: str) -> list[str]:
    p = worktree / target
    if p.is_file():
        return [target]
    if p.is_dir():
        return sorted(
            f.relative_to(worktree).as_posix() for f in p.rglob("*.py") if is_test_file(f.name)
        )
    return []


def select(ws: Workspace, recipe: Recipe, worktree: Path, changed: list[str]) -> Selection:
    chosen: dict[str, Selected] = {}

    def add(path: str, reason: str, source: str) -> None:
        _pick(chosen, path, reason, source)

    test_root = recipe.tests.root.rstrip("/") + "/"
    hit: set[str] = set()
    for f in changed:
        if is_test_file(f) and (worktree / f).is_file():
            add(f, "added or edited by the series", f)
            hit.add(f)
        for target in recipe.tests_for(f):
            for t in files_under(worktree, target):
                add(t, f"recipe maps {f} to {target}", f)
                hit.add(f)

    changed_modules = {
        m: f for f in changed if not f.startswith(test_root) if (m := module_name(worktree, f))
    }
    if changed_modules:
        graph = ImportGraph(worktree, ws.home / "cache" / f"imports-{recipe.name}.json")
        package_roots = sorted({m.split(".")[0] for m in changed_modules})
        packages = [p for p in package_roots if (worktree / p).is_dir()] or [
            f.split("/")[0] for f in changed_modules.values()
        ]
        sources = graph.imports_of(packages)
        # A package __init__ that re-exports names of a changed module passes the change on to
        # tests that import those names from the package: ``pkg.name`` → changed module.
        via: dict[str, str] = {}
        for path, mods in sources.items():
            pkg = module_name(worktree, path) if path.endswith("__init__.py") else None
            if not pkg:
                continue
            for m in changed_modules:
                for entry in mods:
                    if entry.startswith(m + ".") and entry.count(".") == m.count(".") + 1:
                        via.setdefault(f"{pkg}.{entry.rsplit('.', 1)[1]}", m)
        tests = graph.imports_of([recipe.tests.root])
        for path, mods in tests.items():
            if not is_test_file(path):
                continue
            for m in mods:
                if m in changed_modules:
                    add(path, f"imports {m}", changed_modules[m])
                    hit.add(changed_modules[m])
                elif m in via:
                    add(path, f"imports {m}, from {via[m]}", changed_modules[via[m]])
                    hit.add(changed_modules[via[m]])
        parsed = graph.parsed
    else:
        parsed = 0
    unmapped = [
        f for f in changed if f not in hit and not f.startswith(test_root) and f.endswith(".py")
    ]
    selected = sorted(chosen.values(), key=lambda s: s.path)
    return Selection(changed=changed, tests=selected, unmapped=unmapped, parsed=parsed)


def by_map(
    files: Selection, m: TestMap, base: Path, patched: Path, test_root: str, device: str
) -> Selection:
    """Narrow a whole-file selection to the node ids whose fingerprint holds a changed block.

    What the map cannot speak for keeps its whole-file reasons, marked so: test files the series
    adds or edits, changed files that are not Python or are new, module-level code (imports,
    constants, class bodies: it runs at import, outside any test), and test files the map has
    no results for (a map cut off half-way).
    """
    root = test_root.rstrip("/") + "/"
    chosen: dict[str, Selected] = {}
    not_exercised: list[dict] = []

    def add(path: str, reason: str, source: str) -> None:
        _pick(chosen, path, reason, source)

    whole_file: dict[str, str] = {}  # changed file → why its whole-file reasons stay
    for f in files.changed:
        if f.startswith(root) or is_test_file(f):
            continue
        if not f.endswith(".py"):
            whole_file[f] = "not Python: file-level"
            continue
        before, after = read_source(base / f), read_source(patched / f)
        if before is None:
            whole_file[f] = "a new file, not in the map: file-level"
            continue
        for qual, how in blocks.changed(before, after).items():
            if how == "added":
                continue  # a new function: the changed blocks that call it pick its tests
            if qual == blocks.MODULE:
                whole_file[f] = "module-level code changed (runs at import): file-level"
                continue
            tests = m.by_block.get((f, qual), set())
            for nodeid in sorted(tests):
                add(nodeid, f"runs {f}::{qual} ({how})", f)
            if not tests:
                not_exercised.append({"file": f, "block": qual, "how": how, "device": device})
    for t in files.tests:
        keep = [
            (r, src)
            for r, src in zip(t.reasons, t.sources, strict=True)
            if src in whole_file or src == t.path
        ]
        for reason, src in keep:
            why = "the series edits this test file" if src == t.path else whole_file[src]
            add(t.path, f"{reason} ({why})", src)
        if not keep and t.path not in m.mapped_files:
            for reason, src in zip(t.reasons, t.sources, strict=True):
                add(t.path, f"{reason} (not in the test map: file-level)", src)
    hit = {src for s in chosen.values() for src in s.sources}
    hit |= {x["file"] for x in not_exercised}
    unmapped = [f for f in files.unmapped if f not in hit]
    return Selection(
        changed=files.changed,
        tests=sorted(chosen.values(), key=lambda s: s.path),
        unmapped=unmapped,
        parsed=files.parsed,
        map=describe(m),
        not_exercised=not_exercised,
    )


def read_source(path: Path) -> str | None:
    """A source file's text; None when it is missing or not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
