"""A refresh killed mid-way leaves patches/ with the old series or the new one, never a mix."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.conftest import git
from workbench.gitops.series import load_series


def _refresh_killed_at(point: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WORKBENCH_FAULT": point}
    return subprocess.run(
        [sys.executable, "-m", "workbench", "patches", "refresh", "demo"],
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    ("point", "survivor"),
    [
        ("series.new-written", "old"),
        ("series.old-moved", "old"),
        ("series.swapped", "new"),
    ],
)
def test_killed_refresh_leaves_old_or_new_series(fetched, wb, point, survivor):
    fetched.commit_patched({"pkg/util.py": "VALUE = 10\n"}, "One")
    assert wb("patches", "refresh", "demo").code == 0
    old = fetched.snapshot()
    fetched.commit_patched({"pkg/a.py": "A = 1\n"}, "Two")
    git(fetched.patched, "commit", "-q", "--amend", "-m", "Two, reworded")
    proc = _refresh_killed_at(point)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    # The next command that reads the series finishes or undoes the interrupted write.
    series = load_series(fetched.patches)
    now = fetched.snapshot()
    leftovers = sorted(p.name for p in fetched.patches.parent.iterdir() if p.name.startswith("."))
    assert leftovers == []
    if survivor == "old":
        assert now == old
        assert series.entries == ["0001-One.patch"]
    else:
        assert series.entries == ["0001-One.patch", "0002-Two-reworded.patch"]
        assert now["0001-One.patch"] == old["0001-One.patch"]
    # And the series still builds the worktree.
    res = wb("patches", "refresh", "demo")
    assert res.code == 0, res.err
    assert fetched.series() == ["0001-One.patch", "0002-Two-reworded.patch"]
    assert wb("patches", "apply", "demo").code == 0
