"""The Triton JIT functions a series changes, found in the Python source of both sides.

A function counts when one of its decorators names ``jit``, ``autotune`` or ``heuristics``
(``@triton.jit``, ``@jit``, ``@triton.autotune(...)``). Its text from the first decorator to the
end is compared between the sides, so a changed autotune config counts as a change too. A JIT
function that returns a value, or that another JIT function calls, is a *helper*: it is never
launched itself, and its change reaches the GPU through the kernels that call it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

MARKERS = ("jit", "autotune", "heuristics")


@dataclass
class JitDef:
    qualname: str
    name: str
    line: int
    text: str
    calls: set[str] = field(default_factory=set)
    returns_value: bool = False


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def jit_functions(source: str) -> dict[str, JitDef]:
    """The JIT functions of a module's source by qualname (``outer.<locals>.inner`` for nested)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    lines = source.splitlines()
    found: dict[str, JitDef] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qual = f"{prefix}{child.name}"
                if any(_decorator_name(d) in MARKERS for d in child.decorator_list):
                    start = min([d.lineno for d in child.decorator_list] + [child.lineno])
                    text = "\n".join(lines[start - 1 : child.end_lineno])
                    calls = {
                        n.func.id if isinstance(n.func, ast.Name) else n.func.attr
                        for n in ast.walk(child)
                        if isinstance(n, ast.Call) and isinstance(n.func, (ast.Name, ast.Attribute))
                    }
                    returns = any(
                        isinstance(n, ast.Return) and n.value is not None for n in ast.walk(child)
                    )
                    found[qual] = JitDef(qual, child.name, child.lineno, text, calls, returns)
                visit(child, f"{qual}.<locals>.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    return found


def module_names(path: str) -> list[str]:
    """The module names a file may be imported as: ``python/triton/x.py`` is ``triton.x``."""
    parts = list(Path(path).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return [".".join(parts[i:]) for i in range(len(parts)) if parts[i:]]


@dataclass
class Change:
    file: str
    qualname: str
    name: str
    line: int
    how: str  # "changed", "added" or "removed"
    helper: bool
    calls: set[str]


def changed_jit_functions(base: Path, patched: Path, files: list[str]) -> list[Change]:
    """JIT functions whose text differs between the two worktrees, in the given files."""
    out: list[Change] = []
    for rel in files:
        if not rel.endswith(".py"):
            continue
        before = defs_in(base / rel)
        after = defs_in(patched / rel)
        called = {c for d in (*before.values(), *after.values()) for c in d.calls}
        for qual in sorted(set(before) | set(after)):
            old, new = before.get(qual), after.get(qual)
            if old is not None and new is not None and old.text == new.text:
                continue
            d = new or old
            assert d is not None
            how = "changed" if old and new else ("added" if new else "removed")
            helper = d.returns_value or d.name in called
            out.append(Change(rel, qual, d.name, d.line, how, helper, d.calls))
    return out


def defs_in(path: Path) -> dict[str, JitDef]:
    try:
        return jit_functions(path.read_text())
    except (OSError, UnicodeDecodeError):
        return {}
