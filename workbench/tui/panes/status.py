"""The status bar and the sync it reports: when the store was last synced, whether GitHub could
be reached, the rate limit left, who is signed in, the step and the nox session that run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker

from workbench.config import Recipe
from workbench.display import STALE_SYNC_HOURS, ago, seconds_since
from workbench.paths import Workspace
from workbench.tui import data
from workbench.tui.data import SyncInfo
from workbench.tui.messages import forward_failure

if TYPE_CHECKING:
    from workbench.tui.app import WorkbenchApp


class StatusBar(Static):
    """Last sync, offline state, remaining rate limit, the running step and session."""

    app: WorkbenchApp  # the status bar runs in that app only

    @dataclass(eq=False)
    class Synced(Message):
        """A sync ended: the screen reads everything again."""

        summary: str
        offline: str | None = None
        """The offline message when GitHub could not be reached (the store still reads)."""

    @dataclass(eq=False)
    class _InfoRead(Message, bubble=False):
        info: SyncInfo

    def __init__(self, ws: Workspace, recipes: dict[str, Recipe], *, id: str) -> None:
        super().__init__(id=id)
        self.ws, self.recipes = ws, recipes
        self.info: SyncInfo | None = None
        self.offline: str | None = None
        self.busy: str | None = None
        """The step a pane runs (``Busy``)."""
        self.running: str | None = None
        """The nox session started from the dashboard, while it runs."""

    def show(self) -> None:
        info = self.info
        now = self.app.clock()
        synced = info.synced_at if info else None
        stale = synced is None or seconds_since(synced, now) > STALE_SYNC_HOURS * 3600
        text = self.compose_text(
            synced=ago(synced, now),
            stale=stale,
            offline=self.offline,
            rate=info.rate_remaining if info else None,
            viewer=info.viewer if info else None,
            job=self.running,
            busy=self.busy,
        )
        self.update(text, layout=False)

    def set_busy(self, busy: str | None) -> None:
        self.busy = busy
        self.show()

    def set_running(self, session: str | None) -> None:
        self.running = session
        self.show()

    def compose_text(
        self,
        *,
        synced: str,
        stale: bool,
        offline: str | None,
        rate: int | None,
        viewer: str | None,
        job: str | None,
        busy: str | None,
    ) -> Text:
        text = Text()
        if offline:
            text.append(" offline ", style="bold white on red")
            text.append(" ")
        text.append(f"synced {synced}", style="yellow" if stale else "")
        if stale:
            text.append(" (stale)", style="yellow")
        text.append(" · rate limit ")
        text.append("?" if rate is None else str(rate), style="red" if rate == 0 else "")
        text.append(f" · @{viewer}" if viewer else " · not signed in")
        if busy:
            text.append(f" · {busy}…", style="cyan")
        if job:
            text.append(f" · running {job}", style="bold cyan")
        return text

    # --- reading and syncing (thread workers) ----------------------------------------------------

    def read_info(self) -> None:
        """Read the sync state from the store again, in a worker."""
        self._read_info()

    @work(thread=True, exit_on_error=False, group="store", description="reading the store")
    def _read_info(self) -> None:
        recipes = list(self.recipes.values())
        info = self.app.read_store(lambda store: data.sync_info(store, recipes))
        self.post_message(self._InfoRead(info))

    @on(_InfoRead)
    def _info_read(self, msg: _InfoRead) -> None:
        self.info = msg.info
        self.show()

    def sync(self) -> None:
        """Sync every upstream from GitHub, in a worker; ``Synced`` says how it went."""
        self.set_busy("syncing")
        self._sync()

    @work(thread=True, exclusive=True, exit_on_error=False, group="sync", description="sync")
    def _sync(self) -> None:
        from workbench.github.errors import Unreachable
        from workbench.github.sync import sync_upstreams

        try:
            report = sync_upstreams(self.ws, list(self.recipes.values()))
        except Unreachable as exc:
            self.post_message(self.Synced("sync failed", offline=exc.message))
            return
        except BaseException:
            self.post_message(self.Synced("sync failed"))
            raise
        new = sum(r.new for r in report.repos)
        updated = sum(r.updated for r in report.repos)
        self.post_message(self.Synced(f"synced: {new} new, {updated} updated"))

    @on(Synced)
    def _synced(self, msg: Synced) -> None:
        self.offline = msg.offline
        if msg.offline:
            self.notify(msg.offline, title="offline", severity="warning")
        elif msg.summary != "sync failed":
            self.notify(msg.summary)
        self.set_busy(None)  # it goes on to the screen, which reads everything again

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        forward_failure(self, event)
