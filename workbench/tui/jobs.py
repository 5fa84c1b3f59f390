"""Nox sessions started from the TUI, as processes of their own.

Each run is ``nox -s NAME_tests`` (or ``NAME_bench``) in a new session (its own process group),
writing to a log file rather than a pipe: closing the TUI neither kills it nor cuts its output,
and its results land in ``.workbench/runs/`` as from the command line. Cancelling kills the whole
process group (nox and what it started). No Textual here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import UsageError
from workbench.paths import Workspace

KINDS = ("tests", "bench")


def nox_command(ws: Workspace, session: str) -> list[str]:
    """The command line of one session of the workspace's noxfile."""
    return [sys.executable, "-m", "nox", "-f", str(ws.root / "noxfile.py"), "-s", session]


@dataclass
class NoxJob:
    """One running (or finished) nox session and its log file."""

    session: str
    command: list[str]
    log: Path
    process: subprocess.Popen = field(repr=False)
    cancelled: bool = False

    @classmethod
    def start(
        cls, ws: Workspace, name: str, kind: str, command: Sequence[str] | None = None
    ) -> NoxJob:
        if kind not in KINDS:
            raise UsageError(f"no such run kind: {kind}", f"one of {', '.join(KINDS)}")
        session = f"{name}_{kind}"
        if not (ws.root / "noxfile.py").is_file():
            raise UsageError(f"no noxfile.py in {ws.root}", "run the TUI from a workbench checkout")
        cmd = list(command or nox_command(ws, session))
        # A dot folder: the run index (workbench.runs) skips it.
        log = ws.runs(name) / ".tui" / f"{time.strftime('%Y%m%d-%H%M%S')}-{session}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "wb") as out:
            try:
                process = subprocess.Popen(
                    cmd,
                    cwd=ws.root,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # survives the TUI; cancel kills the group
                    env={**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"},
                )
            except OSError as exc:
                raise UsageError(f"cannot start {session}: {exc}", "is nox installed?") from None
        return cls(session, cmd, log, process)

    @property
    def pid(self) -> int:
        return self.process.pid

    def returncode(self) -> int | None:
        return self.process.poll()

    def cancel(self) -> None:
        """Stop the session and everything it started (its process group)."""
        if self.process.poll() is not None:
            return
        self.cancelled = True
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def follow(
        self, poll: float = 0.05, should_stop: Callable[[], bool] = lambda: False
    ) -> Iterator[str]:
        """The log's lines as they are written, until the process ends (or ``should_stop``)."""
        with open(self.log, encoding="utf-8", errors="replace") as fh:
            pending = ""
            while True:
                chunk = fh.read()
                if chunk:
                    pending += chunk
                    *lines, pending = pending.split("\n")
                    yield from lines
                    continue
                if self.process.poll() is not None or should_stop():
                    rest = pending + fh.read()
                    if rest:
                        yield from rest.rstrip("\n").split("\n")
                    return
                time.sleep(poll)
