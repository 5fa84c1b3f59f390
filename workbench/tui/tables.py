"""The Patches and Runs tables: widgets that read what they show, in a thread worker.

``reload()`` reads (the series status with a trial apply, the run records) off the event loop;
the table fills itself when the read comes back and then posts ``Filled`` so the screen can
show the highlighted row's detail.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.widgets import DataTable
from textual.worker import Worker, get_current_worker

from workbench import display
from workbench.config import Recipe
from workbench.display import VERDICT_STYLE, Clock, ago
from workbench.github.model import Notification, stamp
from workbench.github.store import NotificationPoll, Store
from workbench.paths import Workspace
from workbench.runs import RunResult
from workbench.tui import data
from workbench.tui.data import SeriesView
from workbench.tui.messages import forward_failure


def verdict_text(word: str, state: str) -> Text:
    """A run's verdict word, coloured, with " stale" when the series changed since."""
    head, _, tail = word.partition(", ")
    text = Text(head, style=VERDICT_STYLE.get(head, "dim"))
    if tail:
        text.append(f", {tail}", style=VERDICT_STYLE.get(tail, "dim"))
    if state == "stale":
        text.append(" stale", style="yellow")
    return text


class _ReadingTable(DataTable[str | Text]):
    """A row table over the workspace's upstreams that reads its own rows."""

    class Filled(Message):
        """The table holds fresh rows (the screen shows the highlighted row's detail)."""

        def __init__(self, table: _ReadingTable) -> None:
            super().__init__()
            self.table = table

    class _Read(Message, bubble=False):
        """What the worker read, handed to ``fill`` on the event loop. A message, not
        ``call_from_thread``: one that lands after the table is gone is dropped, not awaited."""

        def __init__(self, *args: Any) -> None:
            super().__init__()
            self.args = args

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, ws: Workspace, recipes: dict[str, Recipe], *, id: str) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.ws = ws
        self.recipes = recipes
        self.filled = False
        """Whether the rows were read at least once (before: the detail says it is reading)."""

    def on_mount(self) -> None:
        self.add_columns(*self.COLUMNS)
        self.reload()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        forward_failure(self, event)

    def reload(self) -> None:
        """Read the rows again, in a worker; the table fills itself when they arrive."""
        raise NotImplementedError


class PatchesTable(_ReadingTable):
    """One row per patch of each upstream's series: size, whether it applies onto upstream's
    head, and the newest tests and bench verdicts for that series."""

    COLUMNS = ("upstream", "patch", "+/-", "onto head", "tests", "bench")

    def __init__(
        self, ws: Workspace, recipes: dict[str, Recipe], *, check_head: bool, id: str
    ) -> None:
        super().__init__(ws, recipes, id=id)
        self.check_head = check_head
        self.views: dict[str, SeriesView] = {}

    def reload(self) -> None:
        self._read()

    @work(thread=True, exclusive=True, exit_on_error=False, group="series", description="series")
    def _read(self) -> None:
        views = []
        for recipe in self.recipes.values():
            if get_current_worker().is_cancelled:
                return
            views.append(data.series_view(self.ws, recipe, check_head=self.check_head))
        self.post_message(self._Read(views))

    @on(_ReadingTable._Read)
    def _rows_read(self, msg: _ReadingTable._Read) -> None:
        self.fill(*msg.args)

    def fill(self, views: list[SeriesView]) -> None:
        self.views = {v.name: v for v in views}
        self.clear()
        for v in views:
            tests = verdict_text(v.tests.verdict() if v.tests else "none", v.tests_state)
            bench = verdict_text(v.bench.verdict() if v.bench else "none", v.bench_state)
            if v.error is not None:
                note = Text(v.error.message[:40], style="dim")
                self.add_row(v.name, note, "", "", tests, bench, key=f"{v.name}:")
                continue
            patches = v.status.patches if v.status else ()
            applies = Text(display.HEAD_SHORT[v.outcome], style=display.HEAD_STYLE[v.outcome])
            if not patches:
                empty = Text("empty series", style="dim")
                self.add_row(v.name, empty, "", applies, tests, bench, key=f"{v.name}:")
            for p in patches:
                self.add_row(
                    v.name,
                    p.file[:34],
                    f"+{p.added} -{p.deleted}",
                    applies,
                    tests,
                    bench,
                    key=f"{v.name}:{p.file}",
                )
        self.filled = True
        self.post_message(self.Filled(self))

    def current_upstream(self) -> str | None:
        """The upstream of the row under the cursor."""
        if self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return str(key).split(":", 1)[0] if key else None

    def current_view(self) -> SeriesView | None:
        name = self.current_upstream()
        return self.views.get(name) if name else None


class RunsTable(_ReadingTable):
    """Every tests and bench run of every upstream, newest first."""

    COLUMNS = ("upstream", "run", "kind", "verdict", "series", "device", "origin", "started")

    def __init__(self, ws: Workspace, recipes: dict[str, Recipe], *, clock: Clock, id: str) -> None:
        super().__init__(ws, recipes, id=id)
        self.clock = clock
        self.runs: list[tuple[RunResult, bool]] = []

    def reload(self) -> None:
        self._read()

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs", description="runs")
    def _read(self) -> None:
        runs = data.all_runs(self.ws, list(self.recipes.values()))
        self.post_message(self._Read(runs, self.clock()))

    @on(_ReadingTable._Read)
    def _rows_read(self, msg: _ReadingTable._Read) -> None:
        self.fill(*msg.args)

    def fill(self, runs: list[tuple[RunResult, bool]], now: datetime) -> None:
        self.runs = runs
        self.clear()
        for run, current in runs:
            self.add_row(
                run.upstream,
                run.run_id,
                run.kind,
                verdict_text(run.verdict(), "current"),
                Text("current", style="green") if current else Text("stale", style="yellow"),
                run.device,
                run.origin,
                ago(run.started.isoformat(), now),
            )
        self.filled = True
        self.post_message(self.Filled(self))

    def current(self) -> tuple[RunResult, bool] | None:
        """The run under the cursor and whether it matches the current series."""
        row = self.cursor_row
        return self.runs[row] if 0 <= row < len(self.runs) else None


class NotificationsTable(_ReadingTable):
    """The contributor's unread GitHub notifications about the upstreams, newest first. A row
    marked read here stays, dimmed, until the table is read again."""

    COLUMNS = ("", "upstream", "reason", "type", "#", "title", "updated")

    class _Marked(Message, bubble=False):
        def __init__(self, thread_id: str) -> None:
            super().__init__()
            self.thread_id = thread_id

    def __init__(
        self,
        ws: Workspace,
        recipes: dict[str, Recipe],
        *,
        store: Store,
        lock: threading.Lock,
        clock: Clock,
        id: str,
    ) -> None:
        super().__init__(ws, recipes, id=id)
        self.store, self.store_lock, self.clock = store, lock, clock
        self.threads: list[Notification] = []
        self.poll = NotificationPoll()

    def reload(self) -> None:
        self._read()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="notifications",
        description="notifications",
    )
    def _read(self) -> None:
        repos = [r.upstream.repo for r in self.recipes.values()]
        with self.store_lock:  # the app's one connection, shared by the readers in turn
            rows = self.store.notifications(repos)
            poll = self.store.notification_poll()
        self.post_message(self._Read(rows, poll, self.clock()))

    @on(_ReadingTable._Read)
    def _rows_read(self, msg: _ReadingTable._Read) -> None:
        self.fill(*msg.args)

    def fill(self, rows: list[Notification], poll: NotificationPoll, now: datetime) -> None:
        self.threads, self.poll = rows, poll
        self.clear()
        for n in rows:
            self.add_row(*self._cells(n, now), key=n.id)
        self.filled = True
        self.post_message(self.Filled(self))

    def _cells(self, n: Notification, now: datetime) -> list[str | Text]:
        names = {r.upstream.repo: r.name for r in self.recipes.values()}
        style = "" if n.unread else "dim"
        return [
            Text("●", style="bold cyan") if n.unread else Text("✓", style="dim"),
            Text(names.get(n.repo, n.repo), style=style),
            Text(n.reason, style=style),
            Text(n.subject_type, style=style),
            Text("" if n.number is None else str(n.number), style=style),
            Text(n.title[:60], style=style),
            Text(ago(n.updated_at, now), style=style),
        ]

    def current(self) -> Notification | None:
        """The notification under the cursor."""
        row = self.cursor_row
        return self.threads[row] if self.row_count and 0 <= row < len(self.threads) else None

    def mark_read(self, n: Notification) -> None:
        """Mark ``n`` read on GitHub, then here (the caller asked the contributor first)."""
        self._mark_read(n.id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="mark", description="mark read")
    def _mark_read(self, thread_id: str) -> None:
        from workbench.github.client import GitHubClient
        from workbench.github.notifications import mark_read

        with GitHubClient.from_env() as client, Store.open(self.ws) as store:
            mark_read(client, store, thread_id, now=self.clock())
        self.post_message(self._Marked(thread_id))

    @on(_Marked)
    def _marked(self, msg: _Marked) -> None:
        index = next((i for i, n in enumerate(self.threads) if n.id == msg.thread_id), None)
        if index is None:
            return
        at = stamp(self.clock())
        n = dataclasses.replace(self.threads[index], unread=False, last_read_at=at)
        self.threads[index] = n
        for column, value in zip(self.ordered_columns, self._cells(n, self.clock()), strict=True):
            self.update_cell(n.id, column.key, value)
        self.notify(f"marked read on GitHub: {n.repo} {n.title}")
        self.filled = True
        self.post_message(self.Filled(self))
