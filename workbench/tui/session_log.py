"""The log pane of a nox session started from the dashboard: it starts, follows and cancels it."""

from __future__ import annotations

import time

from textual import on, work
from textual.message import Message
from textual.widgets import Log
from textual.worker import Worker, get_current_worker

from workbench.paths import Workspace
from workbench.tui.jobs import NoxJob
from workbench.tui.messages import forward_failure


class SessionLog(Log):
    """One nox session at a time; it runs as its own process group and outlives the dashboard."""

    class Finished(Message):
        """The session ended (or was cancelled); its run records are on disk."""

        def __init__(self, session: str, returncode: int | None, cancelled: bool) -> None:
            super().__init__()
            self.session, self.returncode, self.cancelled = session, returncode, cancelled

        @property
        def outcome(self) -> tuple[str, str]:
            """The word for how it ended and a notification severity."""
            if self.cancelled:
                return "cancelled", "warning"
            if self.returncode == 0:
                return "finished", "information"
            return f"exited with {self.returncode}", "error"

    class _Output(Message, bubble=False):
        def __init__(self, lines: list[str]) -> None:
            super().__init__()
            self.lines = lines

    def __init__(self, ws: Workspace, *, id: str) -> None:
        super().__init__(id=id, max_lines=5000, classes="hidden")
        self.ws = ws
        self.job: NoxJob | None = None

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        forward_failure(self, event)

    def start(self, name: str, kind: str) -> NoxJob:
        """Start ``nox -s NAME_KIND`` and stream its output here."""
        job = NoxJob.start(self.ws, name, kind)
        self.job = job
        self.clear()
        self.remove_class("hidden")
        self.write_line(f"$ nox -s {job.session}  (pid {job.pid}, log {self.ws.relative(job.log)})")
        self.write_line("runs as its own process: it goes on if you quit; x cancels it")
        self._follow(job)
        return job

    def cancel(self) -> None:
        if self.job is not None:
            self._cancel(self.job)

    @work(thread=True, exit_on_error=False, group="cancel", description="cancel")
    def _cancel(self, job: NoxJob) -> None:
        job.cancel()

    @work(thread=True, exit_on_error=False, group="job", description="nox")
    def _follow(self, job: NoxJob) -> None:
        worker = get_current_worker()
        batch: list[str] = []
        last = time.monotonic()
        for line in job.follow(should_stop=lambda: worker.is_cancelled):
            batch.append(line)
            if time.monotonic() - last > 0.1:
                self.post_message(self._Output(batch))
                batch, last = [], time.monotonic()
        if batch:
            self.post_message(self._Output(batch))
        if not worker.is_cancelled:  # cancelled: the app is closing, the session goes on
            self.post_message(self.Finished(job.session, job.process.wait(), job.cancelled))

    @on(_Output)
    def _output(self, msg: _Output) -> None:
        self.write_lines(msg.lines)

    @on(Finished)
    def _finished(self, msg: Finished) -> None:
        self.job = None
        self.write_line(f"--- {msg.session} {msg.outcome[0]}")
