"""The dashboard's own widgets: a lazily paged item table and the status bar."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable, Static

from workbench.config import Recipe
from workbench.github.store import TrackedItem
from workbench.tui.data import Page
from workbench.tui.format import (
    CI_STYLE,
    REVIEW_TEXT,
    ago,
    is_stale,
    missing_labels,
)

TITLE_WIDTH = 44
PR_TITLE_WIDTH = 34
COLUMNS = [("upstream", 8), ("#", 6), ("title", TITLE_WIDTH)]
PREFETCH = 20
"""Load the next page when the cursor or the view comes this close to the last loaded row."""


class ItemTable(DataTable):
    """One of the store's lists; rows arrive a page at a time as the contributor scrolls."""

    class NeedMore(Message):
        def __init__(self, table: ItemTable) -> None:
            super().__init__()
            self.table = table

    def __init__(self, kind: str, **kw) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.kind = kind
        self.items: list[TrackedItem] = []
        self.total = 0
        self.loading_more = False
        self.recipes: dict[str, Recipe] = {}
        self.now: datetime | None = None

    def on_mount(self) -> None:
        # Fixed widths: the table need not measure every new row to size its columns.
        if self.kind == "issues":
            cols = [*COLUMNS, ("labels", 22), ("assignees", 10)]
        else:
            cols = [
                *COLUMNS[:2],
                ("title", PR_TITLE_WIDTH),
                ("ci", 7),
                ("review", 17),
                ("needs", 10),
            ]
        for label, width in [*cols, ("updated", 12)]:
            self.add_column(label, width=width)

    def show(self, page: Page, recipes: dict[str, Recipe], now: datetime) -> None:
        """Put ``page`` in: replaces the rows for a first page, appends a later one."""
        self.recipes, self.now = recipes, now
        if page.offset == 0:
            self.clear()
            self.items = []
        self.total = page.total
        self.loading_more = False
        self.items.extend(page.rows)
        self.add_rows(self._cells(t) for t in page.rows)

    @property
    def more(self) -> bool:
        return len(self.items) < self.total

    def highlighted(self) -> TrackedItem | None:
        if 0 <= self.cursor_row < len(self.items):
            return self.items[self.cursor_row]
        return None

    def _cells(self, t: TrackedItem) -> list[Text | str]:
        i = t.item
        recipe = next((r for r in self.recipes.values() if r.upstream.repo == i.repo), None)
        title = Text(no_wrap=True, overflow="ellipsis")
        if i.draft:
            title.append("draft ", style="dim")
        title.append(i.title[: TITLE_WIDTH if self.kind == "issues" else PR_TITLE_WIDTH])
        cells: list[Text | str] = [recipe.name if recipe else i.repo, str(i.number), title]
        if self.kind == "issues":
            cells.append(Text(", ".join(i.labels)[:22], style="cyan"))
            cells.append(", ".join(i.assignees)[:10])
        else:
            ci = t.ci or "none"
            cells.append(Text(ci, style=CI_STYLE.get(ci, "dim")))
            word, style = REVIEW_TEXT.get(t.review or "", ("", "dim"))
            cells.append(Text(word, style=style))
            missing = missing_labels(recipe, i.labels)
            cells.append(Text(", ".join(missing)[:24], style="magenta"))
        assert self.now is not None
        updated = Text(ago(i.updated_at, self.now))
        if i.state == "open" and is_stale(i.updated_at, self.now):
            updated.append(" stale", style="yellow")
        cells.append(updated)
        return cells

    def _near_end(self) -> bool:
        bottom = max(self.cursor_row, int(self.scroll_y) + self.size.height)
        return self.more and not self.loading_more and bottom >= len(self.items) - PREFETCH

    def _ask_more(self) -> None:
        if self._near_end():
            self.loading_more = True
            self.post_message(self.NeedMore(self))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._ask_more()

    def watch_cursor_coordinate(self, old, new) -> None:
        super().watch_cursor_coordinate(old, new)
        self._ask_more()


class StatusBar(Static):
    """Last sync, offline state, remaining rate limit, the running session."""

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
