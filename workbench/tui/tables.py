"""A row table that reads its own rows in a thread worker, the base of the Patches, Runs and
Notifications tables (each in its pane's module), and the coloured verdict words they show.

``reload()`` reads off the event loop; the table fills itself when the read comes back and then
posts ``Filled`` so the screen can show the highlighted row's detail.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import DataTable
from textual.worker import Worker

from workbench.config import Recipe
from workbench.display import VERDICT_STYLE
from workbench.paths import Workspace
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


class ReadingTable(DataTable[str | Text]):
    """A row table over the workspace's upstreams that reads its own rows."""

    class Filled(Message):
        """The table holds fresh rows (the screen shows the highlighted row's detail)."""

        def __init__(self, table: ReadingTable) -> None:
            super().__init__()
            self.table = table

    class Read(Message, bubble=False):
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
