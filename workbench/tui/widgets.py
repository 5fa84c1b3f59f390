"""The issue and PR list widget: the store's rows, paged in as the view nears them and drawn
line by line."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from workbench.config import Recipe
from workbench.display import CI_STYLE, REVIEW_TEXT, ago, is_stale
from workbench.github.blocking import BlockingView, summary
from workbench.github.store import TrackedItem
from workbench.tui.data import ListPage

TITLE_WIDTH = 34
PR_TITLE_WIDTH = 26
COLUMNS = [("upstream", 8), ("#", 6), ("title", TITLE_WIDTH)]
PREFETCH = 20
_CONSOLE = Console(width=400, color_system="truecolor", legacy_windows=False)
"""Load the next page when the cursor or the view comes this close to the last loaded row."""


class ItemTable(ScrollView, can_focus=True):
    """One of the store's lists, drawn line by line (Textual's line API).

    Its height is the whole filtered count, so the scrollbar tells where one is among 20,000
    items; rows arrive a page at a time when the view or the cursor gets near the ones not read
    yet. Only the lines on screen are drawn, each from cells made once per row.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="list.up", tooltip="Previous row"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="list.down", tooltip="Next row"),
        Binding("pageup", "page(-1)", show=False, id="list.page_up", tooltip="A page up"),
        Binding("pagedown", "page(1)", show=False, id="list.page_down", tooltip="A page down"),
        Binding("home,ctrl+home", "to(0)", show=False, id="list.first", tooltip="First row"),
        Binding("end,ctrl+end", "to(-1)", show=False, id="list.last", tooltip="Last row"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"item-table--header", "item-table--cursor"}

    cursor_row: reactive[int] = reactive(0, always_update=True)

    class NeedMore(Message):
        def __init__(self, table: ItemTable) -> None:
            super().__init__()
            self.table = table

    class Highlighted(Message):
        def __init__(self, table: ItemTable) -> None:
            super().__init__()
            self.table = table

    def __init__(self, kind: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.kind = kind
        self.items: list[TrackedItem] = []
        self.blocking = BlockingView()
        """What blocks each PR of the rows read so far (PR lists only)."""
        self.total = 0
        self.note: str | None = None
        """Why the list is empty when the filter is not the reason (the page's note)."""
        self.loading_more = False
        self.recipes: dict[str, Recipe] = {}
        self.now: datetime | None = None
        if kind == "issues":
            self.columns = [*COLUMNS, ("labels", 18), ("assignees", 9)]
        else:
            self.columns = [*COLUMNS[:2], ("title", PR_TITLE_WIDTH), ("ci", 7), ("review", 17)]
            self.columns.append(("blocking", 18))
        self.columns.append(("updated", 12))
        self._lines: dict[int, list[Segment]] = {}
        """Row index -> the row drawn once, made when it first comes on screen."""

    # --- data -----------------------------------------------------------------------------------

    def show(self, page: ListPage, recipes: dict[str, Recipe], now: datetime) -> None:
        """Put ``page`` in: replaces the rows for a first page, appends a later one."""
        self.recipes, self.now = recipes, now
        if page.offset == 0:
            self.items, self._lines = [], {}
            self.blocking = BlockingView()
            self.note = page.note
        elif page.offset != len(self.items):
            return  # a page for a list that has since been replaced
        self.blocking.details.update(page.blocking.details)
        self.blocking.logs.update(page.blocking.logs)
        self.blocking.blocking.update(page.blocking.blocking)
        self.total = page.total
        self.loading_more = False
        self.items.extend(page.rows)
        width = sum(w + 1 for _, w in self.columns)
        # The vertical scrollbar is always there (app.tcss), so a new count changes no layout:
        # set the size without the layout pass that assigning virtual_size would start.
        size = Size(width, self.total + 1)
        self.set_reactive(ItemTable.virtual_size, size)
        self._scroll_update(size)
        if page.offset == 0:
            self.scroll_to(y=0, animate=False, immediate=True)
            self.cursor_row = 0
        else:
            self._ask_more()
        self.refresh()

    @property
    def more(self) -> bool:
        return len(self.items) < self.total

    def highlighted(self) -> TrackedItem | None:
        if 0 <= self.cursor_row < len(self.items):
            return self.items[self.cursor_row]
        return None

    def cells(self, t: TrackedItem) -> list[Text]:
        """The row of ``t`` as styled texts, one per column."""
        i = t.item
        recipe = next((r for r in self.recipes.values() if r.upstream.repo == i.repo), None)
        title = Text()
        if i.draft:
            title.append("draft ", style="dim")
        title.append(i.title)
        cells = [Text(recipe.name if recipe else i.repo), Text(str(i.number)), title]
        if self.kind == "issues":
            cells.append(Text(", ".join(i.labels), style="cyan"))
            cells.append(Text(", ".join(i.assignees)))
        else:
            ci = t.ci or "none"
            cells.append(Text(ci, style=CI_STYLE.get(ci, "dim")))
            word, style = REVIEW_TEXT.get(t.review or "", ("", "dim"))
            cells.append(Text(word, style=style))
            found = self.blocking.blocking.get((i.repo, i.number), [])
            said = summary(found)
            cell = Text(said, style="red" if said else "dim")
            others = sum(1 for b in found if not b.blocks)
            if others:  # failing checks that are not the contributor's: counted, never red
                cell.append((", " if said else "") + f"{others} not yours", style="dim")
            cells.append(cell)
        assert self.now is not None
        updated = Text(ago(i.updated_at, self.now))
        if i.state == "open" and is_stale(i.updated_at, self.now):
            updated.append(" stale", style="yellow")
        cells.append(updated)
        return cells

    def _segments(self, cells: list[Text]) -> list[Segment]:
        line = Text(no_wrap=True)
        for cell, (_, width) in zip(cells, self.columns, strict=True):
            cell = cell.copy()
            cell.truncate(width, overflow="ellipsis", pad=True)
            line.append_text(cell)
            line.append(" ")
        return list(line.render(_CONSOLE))

    # --- drawing --------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            header = Text(no_wrap=True)
            for label, w in self.columns:
                header.append(label.ljust(w + 1)[: w + 1])
            style = self.get_component_rich_style("item-table--header")
            return (
                Strip(list(header.render(Console())), header.cell_len)
                .apply_style(style)
                .crop_extend(int(self.scroll_x), int(self.scroll_x) + width, style)
            )
        row = int(self.scroll_y) + y - 1
        if row >= len(self.items):
            if row < self.total:
                self._ask_more()
                return Strip([Segment("…")]).extend_cell_length(width)
            return Strip.blank(width, self.rich_style)
        if row not in self._lines:
            self._lines[row] = self._segments(self.cells(self.items[row]))
        strip = Strip(self._lines[row])
        if row == self.cursor_row and self.has_focus:
            strip = strip.apply_style(self.get_component_rich_style("item-table--cursor"))
        elif row == self.cursor_row:
            strip = strip.apply_style(Style(reverse=True, dim=True))
        return strip.crop_extend(int(self.scroll_x), int(self.scroll_x) + width, self.rich_style)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # --- moving ---------------------------------------------------------------------------------

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, self.total - 1)) if self.total else 0

    def watch_cursor_row(self, old: int, new: int) -> None:
        visible = self.size.height - 1
        top = int(self.scroll_y)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif visible > 0 and new >= top + visible:
            self.scroll_to(y=new - visible + 1, animate=False, immediate=True)
        self.refresh()
        self._ask_more()
        self.post_message(self.Highlighted(self))

    def action_cursor(self, step: int) -> None:
        self.cursor_row += step

    def action_page(self, direction: int) -> None:
        self.cursor_row += direction * max(1, self.size.height - 2)

    def action_to(self, row: int) -> None:
        self.cursor_row = row if row >= 0 else self.total - 1

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.cursor_row = int(self.scroll_y) + event.y - 1

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._ask_more()

    def _ask_more(self) -> None:
        bottom = max(self.cursor_row, int(self.scroll_y) + self.size.height)
        if self.more and not self.loading_more and bottom >= len(self.items) - PREFETCH:
            self.loading_more = True
            self.post_message(self.NeedMore(self))
