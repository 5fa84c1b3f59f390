"""A static import graph of an upstream's tests (``ast``, no imports executed), cached by blob.

Each test file's imported module names are cached under the file's git blob id, so only files
that changed since the last selection are parsed again.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from workbench.fsutil import atomic_write_json
from workbench.gitops.git import run as git


def imported_modules(source: str, module: str | None = None) -> list[str]:
    """Absolute module names a file imports; ``from a.b import c`` gives ``a.b`` and ``a.b.c``.

    Relative imports are resolved when ``module`` (the file's own dotted name) is known.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                if not module:
                    continue
                parts = module.split(".")
                # In a package __init__ the module is the package itself.
                anchor = (
                    parts[: len(parts) - node.level + 1]
                    if module.endswith("__init__")
                    else parts[: len(parts) - node.level]
                )
                anchor = [p for p in anchor if p != "__init__"]
                base = ".".join([*anchor, base] if base else anchor)
            if not base:
                continue
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return sorted(found)


def module_name(worktree: Path, path: str) -> str | None:
    """``torchao/quantization/x.py`` → ``torchao.quantization.x``; ``python/triton/a.py`` →
    ``triton.a`` (leading folders that are not packages are dropped)."""
    if not path.endswith(".py"):
        return None
    parts = path[:-3].split("/")
    for start in range(len(parts) - 1):
        if (worktree / Path(*parts[: start + 1]) / "__init__.py").is_file():
            mods = parts[start:]
            if mods[-1] == "__init__":
                mods = mods[:-1]
            return ".".join(mods)
    return parts[-1] if len(parts) == 1 else None


class ImportGraph:
    def __init__(self, worktree: Path, cache: Path):
        self.worktree = worktree
        self.cache = cache
        self.parsed = 0

    def _blobs(self, folder: str) -> dict[str, str]:
        out = git(self.worktree, "ls-files", "-s", "--", folder, strip=False).stdout
        blobs = {}
        for line in out.splitlines():
            meta, _, path = line.partition("\t")
            if path.endswith(".py"):
                blobs[path] = meta.split()[1]
        return blobs

    def imports_of(self, folders: list[str]) -> dict[str, list[str]]:
        """Path → imported modules for every committed .py file under ``folders``."""
        try:
            cached = json.loads(self.cache.read_text())
        except (OSError, ValueError):
            cached = {}
        result, fresh = {}, {}
        for folder in folders:
            for path, blob in self._blobs(folder).items():
                if blob in cached:
                    mods = cached[blob]
                else:
                    file = self.worktree / path
                    text = (
                        file.read_text(encoding="utf-8", errors="replace") if file.exists() else ""
                    )
                    mods = imported_modules(text, module_name(self.worktree, path))
                    self.parsed += 1
                fresh[blob] = mods
                result[path] = mods
        if fresh.keys() != cached.keys():
            atomic_write_json(self.cache, fresh)
        return result
