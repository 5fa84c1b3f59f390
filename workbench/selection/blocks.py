"""Code blocks of a Python source file, with checksums: what a test map fingerprints.

A block is a function or method that no other function encloses (methods of nested classes
count; a function defined inside a function belongs to the enclosing one), from its first
decorator to its last line. The rest of the module (imports, constants, class bodies outside
methods) is one more block, ``<module>``. A block's checksum is taken over its AST without line
numbers, so moving a function, or changing a comment or the formatting, changes nothing; a
change to what it does changes its checksum. This is how pytest-testmon fingerprints code.
"""

from __future__ import annotations

import ast
import hashlib
from bisect import bisect_right
from dataclasses import dataclass

MODULE = "<module>"


@dataclass(frozen=True)
class Block:
    qualname: str
    start: int
    end: int
    checksum: str


def _checksum(nodes: list[ast.AST]) -> str:
    h = hashlib.sha1()
    for node in nodes:
        h.update(ast.dump(node, annotate_fields=False, include_attributes=False).encode())
    return h.hexdigest()[:16]


def blocks(source: str) -> dict[str, Block]:
    """The blocks of a module's source by qualname; empty when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    found: dict[str, Block] = {}
    rest: list[ast.AST] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([d.lineno for d in node.decorator_list] + [node.lineno])
                qual = prefix + node.name
                found[qual] = Block(qual, start, node.end_lineno or node.lineno, _checksum([node]))
                rest.append(ast.Name(id=f"<block {qual}>"))
            elif isinstance(node, ast.ClassDef):
                # The class statement itself (bases, decorators, attributes) is module-level.
                rest.extend([ast.Name(id=f"<class {prefix}{node.name}>"), *node.bases])
                rest.extend([*node.keywords, *node.decorator_list])
                visit(node.body, f"{prefix}{node.name}.")
            else:
                rest.append(node)

    visit(tree.body, "")
    found[MODULE] = Block(MODULE, 0, 0, _checksum(rest))
    return found


class LineIndex:
    """Which block of a file holds a line (the first line of a code object)."""

    def __init__(self, found: dict[str, Block]) -> None:
        spans = sorted((b.start, b.end, b.qualname) for b in found.values() if b.qualname != MODULE)
        self._starts = [s for s, _, _ in spans]
        self._spans = spans

    def block_at(self, line: int) -> str:
        i = bisect_right(self._starts, line) - 1
        if i >= 0:
            start, end, qual = self._spans[i]
            if start <= line <= end:
                return qual
        return MODULE


def changed(before: str | None, after: str | None) -> dict[str, str]:
    """Blocks that differ between two versions of a file: qualname → changed/added/removed."""
    a = blocks(before) if before is not None else {}
    b = blocks(after) if after is not None else {}
    out: dict[str, str] = {}
    for qual in sorted(set(a) | set(b)):
        if qual not in b:
            out[qual] = "removed"
        elif qual not in a:
            out[qual] = "added"
        elif a[qual].checksum != b[qual].checksum:
            out[qual] = "changed"
    return out
