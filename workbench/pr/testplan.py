"""What ran, in a form a reviewer pastes in the upstream checkout, and short whatever ran.

A test map can select hundreds of node ids from one file; a results-breaking patch can fail
hundreds of them. The draft gives one pytest line per test file with the count of tests selected
from it: the node ids themselves only when a few, else a ``-k`` expression of the test names
when it is short, else the whole file (the full list stays in the run folder,
``selected.txt``). Regressions are listed by file, the first few named, the rest counted.
"""

from __future__ import annotations

import shlex
from collections import Counter

MAX_IDS = 4
"""Node ids written out on a file's pytest line; more become ``-k`` or the whole file."""
MAX_LINE = 300
"""Characters of ``-k`` expression or node ids on one line before the whole file is given."""
MAX_NAMED = 20
"""Failing tests named in a list; the others are counted per file."""
SELECTED_FILE = "selected.txt"
"""The run folder's full list of selected node ids, one per line."""


def by_file(targets: list[str]) -> dict[str, list[str]]:
    """Selected targets per test file; a whole file selected maps to an empty list."""
    files: dict[str, list[str]] = {}
    for t in targets:
        file, sep, _ = t.partition("::")
        ids = files.setdefault(file, [])
        if sep:
            ids.append(t)
    return files


def _test_name(node_id: str) -> str:
    """The function part of a node id, without its parameters: what ``-k`` matches."""
    return node_id.rsplit("::", 1)[-1].split("[", 1)[0]


def file_command(prefix: str, file: str, ids: list[str]) -> tuple[str, str | None]:
    """The pytest line for one file's selection and a note on it (None when exact)."""
    if not ids:
        return f"{prefix} {shlex.quote(file)}", None
    quoted = shlex.join(ids)
    if len(ids) <= MAX_IDS and len(quoted) <= MAX_LINE:
        return f"{prefix} {quoted}", None
    names = sorted(dict.fromkeys(_test_name(i) for i in ids))
    expr = " or ".join(names)
    if len(expr) <= MAX_LINE:
        note = f"{len(ids)} tests selected; -k matches by name, so it may run a few more"
        return f"{prefix} {shlex.quote(file)} -k {shlex.quote(expr)}", note
    note = f"{len(ids)} tests selected here (the whole file runs them and more)"
    return f"{prefix} {shlex.quote(file)}", note


def pytest_lines(env: dict[str, str], args: list[str], targets: list[str]) -> list[str]:
    """One line per test file, each with the device env and arguments, counts as comments."""
    prefix = " ".join([*(f"{k}={shlex.quote(v)}" for k, v in env.items()), "python -m pytest"])
    if args:
        prefix += " " + shlex.join(args)
    lines = []
    for file, ids in by_file(targets).items():
        line, note = file_command(prefix, file, ids)
        lines.append(f"{line}  # {note}" if note else line)
    return lines


def failing_summary(entries: list[dict], limit: int = MAX_NAMED) -> str:
    """`a`, `b` … named up to ``limit``, then "and N more in `file` (n), …"."""
    named = [f"`{e['id']}`" for e in entries[:limit]]
    rest = entries[limit:]
    text = ", ".join(named)
    if rest:
        per_file = Counter(e["id"].split("::", 1)[0] for e in rest)
        counts = ", ".join(f"`{f}` ({n})" for f, n in per_file.most_common())
        text += f", and {len(rest)} more: {counts}"
    return text


def files_line(entries: list[dict]) -> str:
    """How many failing tests each file has: "`test/a.py` (250), `test/b.py` (23)"."""
    per_file = Counter(e["id"].split("::", 1)[0] for e in entries)
    return ", ".join(f"`{f}` ({n})" for f, n in per_file.most_common())
