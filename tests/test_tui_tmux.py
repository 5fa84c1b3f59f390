"""The smoke path through the real ``workbench`` binary in a terminal: tmux at 120x40."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import tui_data
from workbench.github.store import ItemQuery, Store
from workbench.paths import Workspace

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="needs tmux")


class Pane:
    def __init__(self, socket: Path, name: str):
        self.socket, self.name = socket, name

    def tmux(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(
            [TMUX, "-S", str(self.socket), *args], capture_output=True, text=True, check=False
        )
        if check and proc.returncode:
            raise AssertionError(f"tmux {' '.join(args)}: {proc.stderr}")
        return proc.stdout

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, check, timeout: float = 30.0, what: str = "") -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.text() if self.alive() else ""
            if check(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout}s; the pane shows:\n{text}")
            time.sleep(0.1)

    def alive(self) -> bool:
        cmd = [TMUX, "-S", str(self.socket), "has-session", "-t", self.name]
        return subprocess.run(cmd, capture_output=True).returncode == 0


def test_the_workbench_binary_opens_the_dashboard_filters_and_quits(fetched, monkeypatch):
    root = tui_data.make_workspace(fetched, monkeypatch)
    with Store.open(Workspace(root)) as store:
        tui_data.fill(store, monkeypatch)
        repos = (tui_data.DEMO, tui_data.AO)
        n_all = store.count_matching(ItemQuery(repos=repos, pull_requests=False))
        n_float8 = store.count_matching(
            ItemQuery(repos=repos, pull_requests=False, search="float8")
        )
    binary = Path(sys.executable).parent / "workbench"
    if not binary.exists():
        pytest.skip("the workbench console script is not installed next to this Python")
    env = {
        "WORKBENCH_ROOT": str(root),
        "WORKBENCH_HOME": str(root / ".workbench"),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "TERM": "xterm-256color",
        "HOME": os.environ.get("HOME", str(root)),
        "PATH": os.environ.get("PATH", ""),
    }
    done = root / "exited"
    # A private tmux server (its own socket) so the environment is this test's own.
    command = (
        " ".join(["env", "-i", *(f"{k}={shlex.quote(v)}" for k, v in env.items()), str(binary)])
        + f"; echo $? > {shlex.quote(str(done))}"
    )
    pane = Pane(root.parent / "tmux.sock", "wb")
    pane.tmux("new-session", "-d", "-s", "wb", "-x", "120", "-y", "40", command)
    try:
        # The rows, the count and the status bar are drawn in turn: under load a capture can
        # fall between them, so each wait is for the whole of what is asserted after it.
        shown = ("Fix quantize for case 1", f"{n_all} shown", "synced", "Fix scale for case 8")
        first = pane.wait_for(lambda t: all(s in t for s in shown), what="the issue list")
        assert f"{n_all} shown" in first and "synced" in first
        assert "Fix scale for case 8" in first
        pane.tmux("send-keys", "-t", "wb", "/", "float8")
        filtered = pane.wait_for(
            lambda t: (
                f" {n_float8} shown" in t
                and "Fix scale for case 8" not in t
                and "Fix float8 for case 2" in t
            ),
            what="the filtered list",
        )
        assert "Fix float8 for case 2" in filtered
        pane.tmux("send-keys", "-t", "wb", "Escape")
        # Back on the table the footer shows the letter keys again; a q sent right after the
        # Escape would arrive as alt+q.
        pane.wait_for(lambda t: "s Sync" in t, what="the table's keys in the footer")
        pane.tmux("send-keys", "-t", "wb", "q")
        deadline = time.monotonic() + 20
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert done.exists() and done.read_text().strip() == "0"
    finally:
        pane.tmux("kill-server", check=False)
