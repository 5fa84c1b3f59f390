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
from workbench.tests.imports import ImportGraph, module_name

TEST_FILE = ("test_*.py", "*_test.py")


@dataclass
class Selected:
    path: str
    reasons: list[str] = field(default_factory=list)


@dataclass
class Selection:
    changed: list[str]
    tests: list[Selected]
    unmapped: list[str]
    """Changed source files no reason selected a test for (the contributor may want one)."""
    parsed: int = 0

    @property
    def paths(self) -> list[str]:
        return [t.path for t in self.tests]


def is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(name, p) for p in TEST_FILE)


def _test_files_under(worktree: Path, target: str) -> list[str]:
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

    def add(path: str, reason: str) -> None:
        entry = chosen.setdefault(path, Selected(path))
        if reason not in entry.reasons:
            entry.reasons.append(reason)

    test_root = recipe.tests.root.rstrip("/") + "/"
    hit: set[str] = set()
    for f in changed:
        if is_test_file(f) and (worktree / f).is_file():
            add(f, "added or edited by the series")
            hit.add(f)
        for target in recipe.tests_for(f):
            for t in _test_files_under(worktree, target):
                add(t, f"recipe maps {f} to {target}")
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
                    add(path, f"imports {m}")
                    hit.add(changed_modules[m])
                elif m in via:
                    add(path, f"imports {m}, from {via[m]}")
                    hit.add(changed_modules[via[m]])
        parsed = graph.parsed
    else:
        parsed = 0
    unmapped = [
        f for f in changed if f not in hit and not f.startswith(test_root) and f.endswith(".py")
    ]
    selected = sorted(chosen.values(), key=lambda s: s.path)
    return Selection(changed=changed, tests=selected, unmapped=unmapped, parsed=parsed)
