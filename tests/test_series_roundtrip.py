"""Property: refresh followed by apply reproduces exactly the tree the contributor committed.

Random series add, modify, delete and rename files (text with CRLF, no final newline, unicode,
and binary files among them); a second property reorders and drops patches.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import git, write

SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

line = st.sampled_from(["a", "b", "x = 1", "", "  indented", "ünïcode ✓", "tab\there", "end  "])
text_content = st.builds(
    lambda lines, eol, final: eol.join(lines) + (eol if final and lines else ""),
    st.lists(line, max_size=8),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
binary_content = st.binary(min_size=1, max_size=64).map(lambda b: b"\0" + b)
content = st.one_of(text_content, text_content, binary_content)
names = st.sampled_from(["a.py", "b.txt", "dir/c.py", "dir/sub/d.md", "e.bin", "f g.txt"])


def _write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def _tracked(worktree: Path) -> list[str]:
    return sorted(git(worktree, "ls-files").splitlines())


def _reset_series(ws, wb) -> None:
    """Start each example afresh: an empty series and a new worktree at the pin."""
    shutil.rmtree(ws.patches, ignore_errors=True)
    write(ws.patches / "series", "# demo series\n")
    shutil.rmtree(ws.patched, ignore_errors=True)
    shutil.rmtree(ws.root / ".workbench", ignore_errors=True)
    git(ws.src, "worktree", "prune")
    res = wb("patches", "apply", "demo")
    assert res.code == 0, res.err


def _apply_op(worktree: Path, data: st.DataObject) -> None:
    files = _tracked(worktree)
    kind = data.draw(st.sampled_from(["add", "modify", "delete", "rename"]))
    if kind == "add" or not files:
        name = data.draw(names)
        _write(worktree / name, data.draw(content))
        git(worktree, "add", "--", name)
    elif kind == "modify":
        name = data.draw(st.sampled_from(files))
        _write(worktree / name, data.draw(content))
        git(worktree, "add", "--", name)
    elif kind == "delete":
        git(worktree, "rm", "-q", "-f", "--", data.draw(st.sampled_from(files)))
    else:
        old = data.draw(st.sampled_from(files))
        new = "moved/" + old.replace("/", "_")
        if new not in files:
            (worktree / new).parent.mkdir(parents=True, exist_ok=True)
            git(worktree, "mv", "--", old, new)


def _commit(worktree: Path, message: str) -> None:
    git(worktree, "commit", "-q", "--allow-empty", "-m", message)


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_refresh_then_apply_reproduces_the_tree(fetched, wb, data):
    _reset_series(fetched, wb)
    n_commits = data.draw(st.integers(1, 4), label="commits")
    for i in range(n_commits):
        for _ in range(data.draw(st.integers(1, 3), label="ops")):
            _apply_op(fetched.patched, data)
        if git(fetched.patched, "diff", "--cached", "--name-only"):
            _commit(fetched.patched, f"Change {i}")
    want = git(fetched.patched, "rev-parse", "HEAD^{tree}")
    res = wb("patches", "refresh", "demo")
    assert res.code == 0, res.err
    res = wb("patches", "apply", "demo")
    assert res.code == 0, res.err
    assert git(fetched.patched, "rev-parse", "HEAD^{tree}") == want


AREAS = ["pkg/mod.py", "pkg/util.py", "README.md", "test/test_mod.py"]


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_reordered_and_dropped_patches_roundtrip(fetched, wb, data):
    """Independent patches (each owns one upstream file and its own new files) in any order."""
    _reset_series(fetched, wb)
    wt = fetched.patched
    count = data.draw(st.integers(2, 4), label="patches")
    for i in range(count):
        own = AREAS[i]
        action = data.draw(st.sampled_from(["modify", "delete", "rename", "add-only"]))
        if action == "modify":
            _write(wt / own, data.draw(content))
        elif action == "delete":
            git(wt, "rm", "-q", own)
        elif action == "rename":
            git(wt, "mv", own, f"renamed_{i}_{Path(own).name}")
        _write(wt / f"area{i}" / "new.txt", data.draw(content))
        git(wt, "add", "-A")
        _commit(wt, f"Patch {i}")
    assert wb("patches", "refresh", "demo").code == 0
    base = git(fetched.src, "rev-parse", "v1.0")
    commits = git(wt, "rev-list", "--reverse", f"{base}..HEAD").split()
    order = data.draw(st.permutations(range(count)), label="order")
    keep = data.draw(st.integers(1, count), label="keep")
    git(wt, "reset", "-q", "--hard", base)
    for i in order[:keep]:
        git(wt, "cherry-pick", "--allow-empty", commits[i])
    want = git(wt, "rev-parse", "HEAD^{tree}")
    res = wb("patches", "refresh", "demo")
    assert res.code == 0, res.err
    assert len(fetched.series()) == keep
    res = wb("patches", "apply", "demo")
    assert res.code == 0, res.err
    assert git(wt, "rev-parse", "HEAD^{tree}") == want
