"""The Notifications tab: the contributor's GitHub notifications about the upstreams, opened in
the browser or marked read on GitHub (after a yes: it writes upstream)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message

from workbench.config import Recipe
from workbench.display import Clock, ago
from workbench.github.model import Notification, stamp
from workbench.github.store import NotificationPoll, Store
from workbench.paths import Workspace
from workbench.tui.actions import TABS
from workbench.tui.detail import notification_markdown, notifications_note
from workbench.tui.panes.base import Pane
from workbench.tui.screens import ConfirmDialog
from workbench.tui.tables import ReadingTable


class NotificationsTable(ReadingTable):
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
        self.post_message(self.Read(rows, poll, self.clock()))

    @on(ReadingTable.Read)
    def _rows_read(self, msg: ReadingTable.Read) -> None:
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


class NotificationsPane(Pane):
    """The inbox: open a notification's page, or mark it read on GitHub."""

    def __init__(self, ws: Workspace, recipes: dict[str, Recipe]) -> None:
        super().__init__(TABS["notifications"], ws, recipes, id="notifications")

    def compose(self) -> ComposeResult:
        app = self.app
        yield NotificationsTable(
            self.ws,
            self.recipes,
            store=app.store,
            lock=app.store_lock,
            clock=app.clock,
            id="table-notifications",
        )

    @property
    def table(self) -> NotificationsTable:
        return self.query_one(NotificationsTable)

    def reload(self) -> None:
        self.table.reload()

    def detail_markdown(self) -> str:
        inbox, now = self.table, self.app.clock()
        n = inbox.current()
        if n is not None:
            return notification_markdown(n, now, inbox.poll)
        return notifications_note(inbox.poll, now)

    def open(self) -> None:
        n = self.table.current()
        if n is None or not n.url:
            self.notify("no notification highlighted", severity="warning")
            return
        self.app.opener(n.url)
        self.notify(f"opened {n.url}")

    def ask_mark_read(self) -> None:
        """Ask, then mark the highlighted notification read on GitHub."""
        n = self.table.current()
        if n is None:
            self.notify("no notification highlighted", severity="warning")
            return
        if not n.unread:
            self.notify("already read", severity="warning")
            return
        number = f" #{n.number}" if n.number is not None else ""

        def answered(yes: bool | None) -> None:
            if yes:
                self.table.mark_read(n)

        self.app.push_screen(
            ConfirmDialog(
                "Mark read on GitHub? This writes upstream.",
                f"{n.repo}{number} {n.title}\n({n.reason}; {n.subject_type})",
            ),
            answered,
        )
