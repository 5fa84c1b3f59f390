"""What narrows the lists, around the tabs: the sidebar (the upstreams with their counts, the
choice every tab follows, and the label facets of the list on screen) and the filter bar (the
list's words, how many rows it shows, its toggles and labels)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option
from textual.worker import Worker

from workbench.config import Recipe
from workbench.tui import data
from workbench.tui.data import UpstreamCounts
from workbench.tui.messages import forward_failure

if TYPE_CHECKING:
    from workbench.tui.app import WorkbenchApp

ALL = "__all__"
FILTER_PLACEHOLDER = "/ filter: words or #N"
NOT_A_LIST = "filters Issues, My PRs and Reviews only"


class Sidebar(Vertical):
    """The upstreams with their open issues and PRs, and the label facets of the list on screen.
    A choice here is posted; the screen narrows the tabs and the facets to it."""

    app: WorkbenchApp  # the sidebar runs in that app only

    @dataclass(eq=False)
    class UpstreamChosen(Message):
        upstream: str | None
        """A recipe name; None: every upstream."""

    @dataclass(eq=False)
    class LabelChosen(Message):
        """A label facet was picked: the list on screen is narrowed to it, or no longer."""

        label: str

    @dataclass(eq=False)
    class _CountsRead(Message, bubble=False):
        counts: list[UpstreamCounts]

    def __init__(self, recipes: dict[str, Recipe], *, id: str) -> None:
        super().__init__(id=id)
        self.recipes = recipes
        self.upstream: str | None = None
        """The upstream every tab is narrowed to and the actions act on (None: all)."""

    def compose(self) -> ComposeResult:
        yield Label("Upstreams  issues   PRs", classes="section")
        yield OptionList(id="upstreams")
        yield Label("Labels", classes="section")
        yield OptionList(id="facets")

    @on(OptionList.OptionSelected, "#upstreams")
    def _upstream_selected(self, event: OptionList.OptionSelected) -> None:
        self.post_message(self.UpstreamChosen(None if event.option.id == ALL else event.option.id))

    @on(OptionList.OptionSelected, "#facets")
    def _facet_selected(self, event: OptionList.OptionSelected) -> None:
        self.post_message(self.LabelChosen(str(event.option.id)))

    def read_counts(self) -> None:
        """Count each upstream's open issues and PRs again, in a worker."""
        self._read_counts()

    @work(thread=True, exit_on_error=False, group="store", description="reading the store")
    def _read_counts(self) -> None:
        recipes = list(self.recipes.values())
        counts = self.app.read_store(lambda store: data.upstream_counts(store, recipes))
        self.post_message(self._CountsRead(counts))

    @on(_CountsRead)
    def _counts_read(self, msg: _CountsRead) -> None:
        self.show_counts(msg.counts)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        forward_failure(self, event)

    def show_counts(self, counts: list[UpstreamCounts]) -> None:
        """One line per upstream (and one for all) with its counts; the chosen one highlighted."""
        recipes = self.recipes
        ol = self.query_one("#upstreams", OptionList)
        by_name = {c.name: c for c in counts}
        ol.clear_options()
        total_i = sum(c.issues for c in counts)
        total_p = sum(c.prs for c in counts)
        ol.add_option(Option(f"{'all':8} {total_i:>5} {total_p:>5}", id=ALL))
        for name in recipes:
            c = by_name.get(name)
            ol.add_option(
                Option(f"{name:8} {c.issues if c else 0:>5} {c.prs if c else 0:>5}", id=name)
            )
        ol.highlighted = 0 if self.upstream is None else 1 + list(recipes).index(self.upstream)

    def show_labels(self, facets: list[tuple[str, int]], chosen: Sequence[str]) -> None:
        """The label facets of the list on screen, the ones it is narrowed to ticked."""
        ol = self.query_one("#facets", OptionList)
        ol.clear_options()
        for name, n in facets:
            mark = "✓ " if name in chosen else "  "
            ol.add_option(Option(f"{mark}{name} ({n})", id=name))


class FilterBar(Horizontal):
    """The filter box of the list on screen (off on the other tabs), how many rows the list
    shows, and its toggles and labels. The screen hears the box's own ``Input`` messages."""

    def compose(self) -> ComposeResult:
        yield Input(placeholder=FILTER_PLACEHOLDER, id="filter")
        yield Label("", id="count")
        yield Label("", id="toggles")

    @property
    def box(self) -> Input:
        return self.query_one("#filter", Input)

    def show_list(self, text: str) -> None:
        """A list's tab: the box is on and shows that list's words."""
        box = self.box
        box.disabled = False
        box.placeholder = FILTER_PLACEHOLDER
        self.show_text(text)

    def show_no_list(self) -> None:
        """A tab that is not a list: the box is empty and off, no count."""
        self.show_text("")
        box = self.box
        box.disabled = True
        box.placeholder = NOT_A_LIST
        self.show_count("")

    def show_text(self, text: str) -> None:
        box = self.box
        if box.value != text:
            with box.prevent(Input.Changed):  # showing a tab's filter is no change to it
                box.value = text

    def show_count(self, text: str) -> None:
        # A fixed-size label: updating it repaints it alone, with no layout pass per keystroke.
        self.query_one("#count", Label).update(text, layout=False)

    def show_toggles(self, text: str) -> None:
        self.query_one("#toggles", Label).update(text, layout=False)
