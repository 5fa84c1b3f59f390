"""The dashboard's long-running actions: sync, the series engine, nox runs, work and drafts.

Each runs in a thread worker and posts a message; the handlers here show the outcome. A failed
worker is turned into an error dialog by the app (``WorkbenchApp._worker_failed``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App
from textual.css.query import NoMatches
from textual.widgets import Log
from textual.worker import get_current_worker

from workbench.github.store import Store
from workbench.tui.jobs import NoxJob
from workbench.tui.messages import (
    DraftReady,
    JobFinished,
    JobOutput,
    SeriesChanged,
    SyncFinished,
    WorkStarted,
)
from workbench.tui.screens import DraftScreen, RebaseDialog


def while_open(handler: Callable) -> Callable:
    """For handlers of worker messages: one that lands while the app closes finds no widgets."""

    @functools.wraps(handler)
    def wrapper(self: App, msg: Any) -> None:
        try:
            handler(self, msg)
        except NoMatches:
            if self.is_running and self.screen_stack and self.screen_stack[0].is_attached:
                raise

    return wrapper


def draft_preview(draft: Any) -> str:
    """A PrDraft as Markdown: warnings and labels above the title and body."""
    lines = []
    if draft.warnings:
        lines += [f"**{len(draft.warnings)} warning(s)**", ""]
        lines += [f"- {w.message} `{w.code}`" for w in draft.warnings]
        lines.append("")
    if draft.labels:
        lines += ["labels: " + ", ".join(f"`{label}`" for label in draft.labels), ""]
    if draft.kept:
        lines += [f"kept from your saved draft: {', '.join(draft.kept)}", ""]
    lines += ["---", "", f"# {draft.title}", "", draft.body]
    return "\n".join(lines)


class Actions(App[None]):
    """What the keys start; the app (``WorkbenchApp``) holds the state they use."""

    # sync

    def action_sync(self) -> None:
        self.busy = "syncing"
        self._update_status()
        self._sync()

    @work(thread=True, exclusive=True, exit_on_error=False, group="sync", description="sync")
    def _sync(self) -> None:
        from workbench.github.client import GitHubClient
        from workbench.github.errors import Unreachable
        from workbench.github.sync import Syncer

        recipes = list(self.recipes.values())
        try:
            client = GitHubClient.from_env()
            with client, Store.open(self.ws) as store:
                report = Syncer(client, store).run([(r.name, r.upstream.repo) for r in recipes])
        except Unreachable as exc:
            self.post_message(SyncFinished("sync failed", offline=exc.message))
            return
        except BaseException:
            self.post_message(SyncFinished("sync failed"))
            raise
        new = sum(r.new for r in report.repos)
        updated = sum(r.updated for r in report.repos)
        self.post_message(SyncFinished(f"synced: {new} new, {updated} updated"))

    @on(SyncFinished)
    @while_open
    def _sync_finished(self, msg: SyncFinished) -> None:
        self.busy = None
        self.offline = msg.offline
        if msg.offline:
            self.notify(msg.offline, title="offline", severity="warning")
        elif msg.summary != "sync failed":
            self.notify(msg.summary)
        self.action_reload()
        self._update_status()

    # series

    def action_apply(self) -> None:
        name = self._need_upstream()
        if name:
            self.series_action("apply", name)

    def action_refresh_series(self) -> None:
        name = self._need_upstream()
        if name:
            self.series_action("refresh", name)

    def action_rebase(self) -> None:
        name = self._need_upstream()
        if name:
            self.ask_rebase(name)

    def ask_rebase(self, name: str) -> None:
        default = f"origin/{self.recipes[name].upstream.default_branch}"

        def chosen(onto: str | None) -> None:
            if onto:
                self.series_action("rebase", name, onto)

        self.push_screen(RebaseDialog(name, default), chosen)

    def series_action(self, verb: str, name: str, onto: str | None = None) -> None:
        self.busy = f"{verb} {name}"
        self._update_status()
        self._series_action(verb, name, onto)

    @work(thread=True, exclusive=True, exit_on_error=False, group="git", description="series")
    def _series_action(self, verb: str, name: str, onto: str | None) -> None:
        from workbench.gitops.engine import SeriesEngine

        engine = SeriesEngine(self.ws, self.recipes[name])
        try:
            if verb == "apply":
                r = engine.apply()
                summary = f"{name}: applied {r.applied} patch(es) onto {r.pin.ref}"
            elif verb == "refresh":
                r = engine.refresh()
                summary = (
                    f"{name}: wrote {len(r.entries)} patch(es)"
                    if r.changed
                    else f"{name}: patches/ is up to date"
                )
            else:
                assert onto
                r = engine.rebase(onto)
                summary = f"{name}: rebased {r.applied} patch(es) onto {onto}"
        except BaseException:
            self.post_message(SeriesChanged(""))  # the error dialog says what happened
            raise
        self.post_message(SeriesChanged(summary))

    @on(SeriesChanged)
    @while_open
    def _series_changed(self, msg: SeriesChanged) -> None:
        self.busy = None
        self._update_status()
        if msg.summary:
            self.notify(msg.summary)
        self.load_series()

    # runs

    def action_run_tests(self) -> None:
        name = self._need_upstream()
        if name:
            self.start_job(name, "tests")

    def action_run_bench(self) -> None:
        name = self._need_upstream()
        if name:
            self.start_job(name, "bench")

    def start_job(self, name: str, kind: str) -> None:
        if self.job is not None:
            self.notify(f"{self.job.session} is still running (x cancels it)", severity="warning")
            return
        job = NoxJob.start(self.ws, name, kind)
        self.job = job
        log = self._q("#joblog", Log)
        log.clear()
        log.remove_class("hidden")
        log.write_line(f"$ nox -s {job.session}  (pid {job.pid}, log {self.ws.relative(job.log)})")
        log.write_line("runs as its own process: it goes on if you quit; x cancels it")
        self._update_status()
        self._follow(job)

    @work(thread=True, exit_on_error=False, group="job", description="nox")
    def _follow(self, job: NoxJob) -> None:
        worker = get_current_worker()
        batch: list[str] = []
        last = time.monotonic()
        for line in job.follow(should_stop=lambda: worker.is_cancelled):
            batch.append(line)
            if time.monotonic() - last > 0.1:
                self.post_message(JobOutput(batch))
                batch, last = [], time.monotonic()
        if batch:
            self.post_message(JobOutput(batch))
        if not worker.is_cancelled:  # cancelled: the app is closing, the session goes on
            self.post_message(JobFinished(job.session, job.process.wait(), job.cancelled))

    @on(JobOutput)
    @while_open
    def _job_output(self, msg: JobOutput) -> None:
        self._q("#joblog", Log).write_lines(msg.lines)

    @on(JobFinished)
    @while_open
    def _job_finished(self, msg: JobFinished) -> None:
        self.job = None
        if msg.cancelled:
            word, severity = "cancelled", "warning"
        elif msg.returncode == 0:
            word, severity = "finished", "information"
        else:
            word, severity = f"exited with {msg.returncode}", "error"
        self._q("#joblog", Log).write_line(f"--- {msg.session} {word}")
        self.notify(f"{msg.session} {word}", severity=severity)  # type: ignore[arg-type]
        self._update_status()
        self.load_runs()
        self.load_series()

    def action_cancel_job(self) -> None:
        if self.job is None:
            self.notify("no run to cancel", severity="warning")
            return
        self._cancel(self.job)

    @work(thread=True, exit_on_error=False, group="cancel", description="cancel")
    def _cancel(self, job: NoxJob) -> None:
        job.cancel()

    # work and drafts

    def action_start_work(self) -> None:
        t = self.highlighted_item()
        if t is None or t.item.is_pull_request:
            self.notify("highlight an issue first", severity="warning")
            return
        recipe = self._recipe_of(t)
        if recipe is None:
            return
        self._start_work(recipe.name, t.item.number)

    @work(thread=True, exclusive=True, exit_on_error=False, group="draft", description="work")
    def _start_work(self, name: str, number: int) -> None:
        from workbench.draft import start_work

        with Store.open(self.ws) as store:
            self.post_message(WorkStarted(start_work(self.ws, name, number, store=store)))

    @on(WorkStarted)
    def _work_started(self, msg: WorkStarted) -> None:
        w = msg.work
        self.notify(
            f"{w.upstream}: working on #{w.number}; next patch {w.patch_file} "
            f"({w.subject}); the draft will say Fixes #{w.number}",
            title="work started",
            timeout=8,
        )

    def action_draft_pr(self) -> None:
        name = self._need_upstream()
        if name:
            self.draft(name)

    def draft(self, name: str) -> None:
        self._draft(name)

    @work(thread=True, exclusive=True, exit_on_error=False, group="draft", description="draft")
    def _draft(self, name: str) -> None:
        from workbench.draft import make_draft

        saved = self.draft_file(name)
        # Like `pr draft -o FILE`: a re-draft keeps the title and human parts written there.
        previous = saved.read_text(errors="replace") if saved.is_file() else None
        with Store.open(self.ws) as store:
            draft = make_draft(self.ws, name, store=store, keep_from=previous)
        self.post_message(DraftReady(draft))

    @on(DraftReady)
    def _draft_ready(self, msg: DraftReady) -> None:
        d = msg.draft
        file = self.draft_file(d.upstream)
        self.push_screen(
            DraftScreen(d.upstream, draft_preview(d), d.file_text(), file, self.ws.relative(file))
        )

    def draft_file(self, name: str) -> Path:
        return self.ws.home / "drafts" / f"{name}.md"
