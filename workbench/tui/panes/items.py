"""One issue or PR list as a tab: its table, its own filter, the workers that read its pages and
count its labels, the detail of its highlighted row, and what the keys do to that row (open it,
fetch a PR's failing logs, start work on an issue)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.worker import get_current_worker

from workbench.config import Recipe
from workbench.errors import UsageError
from workbench.github.store import Store, TrackedItem
from workbench.paths import Workspace
from workbench.tui import data
from workbench.tui.actions import TABS
from workbench.tui.data import ListFilter, ListPage
from workbench.tui.detail import empty_tab_markdown, item_markdown
from workbench.tui.messages import Busy
from workbench.tui.panes.base import Pane
from workbench.tui.widgets import ItemTable

FACETS_AFTER = 0.15
"""Seconds of no typing before the label facets are counted again."""
NO_ITEM = "no issue or PR highlighted"
NO_PR = "no PR highlighted"
NO_ISSUE = "highlight an issue first"

PaintLog = list[tuple[str, int, float]]
"""(list, read, perf_counter()) after each first page reached the screen: what
benchmarks/bench_tui.py times."""


class ItemsPane(Pane):
    """The open issues, my PRs or the review requests: one of the store's lists, narrowed by
    its own filter (words, labels, toggles) and the sidebar's upstream."""

    @dataclass(eq=False)
    class Shown(Message):
        """Rows reached the table: the first page of a read (``first``), or one more page."""

        pane: ItemsPane
        first: bool

        @property
        def control(self) -> ItemsPane:
            return self.pane

    @dataclass(eq=False)
    class LabelsCounted(Message):
        """The label facets of the list as it is filtered now are in ``pane.facets``."""

        pane: ItemsPane

        @property
        def control(self) -> ItemsPane:
            return self.pane

    @dataclass(eq=False)
    class LogsFetched(Message):
        """The failing jobs' logs of one PR were fetched (or read): say how it went; the screen
        reads the lists again (what blocks the PR changed)."""

        summary: str
        problems: list[str]

    @dataclass(eq=False)
    class WorkStarted(Message):
        work: Any
        """A :class:`workbench.pr.WorkItem`."""

    @dataclass(eq=False)
    class _PageRead(Message, bubble=False):
        """A page the worker read for read number ``generation``."""

        page: ListPage
        generation: int

    @dataclass(eq=False)
    class _LabelsRead(Message, bubble=False):
        """The label counts the worker read for read number ``generation``."""

        facets: list[tuple[str, int]]
        generation: int

    def __init__(
        self, kind: str, ws: Workspace, recipes: dict[str, Recipe], *, paint_log: PaintLog
    ) -> None:
        super().__init__(TABS[kind], ws, recipes, id=kind)
        self.kind = kind
        self.own = ListFilter()
        """This list's words, labels and toggles (the upstream is the sidebar's)."""
        self.upstream: str | None = None
        """The sidebar's upstream, which narrows every list (None: all)."""
        self.shown: ListFilter | None = None
        """The filter of the rows the table holds; None: not read yet, or read again on view."""
        self.generation = 0
        """How many reads were asked for: a page or a count for an older one is dropped."""
        self.facets: list[tuple[str, int]] = []
        self.paint_log = paint_log

    def compose(self) -> ComposeResult:
        yield ItemTable(self.kind, id=f"table-{self.kind}")

    @property
    def table(self) -> ItemTable:
        return self.query_one(ItemTable)

    @property
    def filter(self) -> ListFilter:
        """What the list is narrowed to: its own filter and the sidebar's upstream."""
        return dataclasses.replace(self.own, upstream=self.upstream)

    def narrow(self, **changes: Any) -> None:
        """Change the list's own words, labels or toggles (``load`` reads it again)."""
        self.own = dataclasses.replace(self.own, **changes)

    def forget(self) -> None:
        """Drop what is being read: the list is read again when its tab is next shown."""
        self.generation += 1
        self.shown = None

    def mark_stale(self) -> None:
        """The store changed: the list is read again when it is next shown."""
        self.shown = None

    @property
    def needs_reading(self) -> bool:
        return self.shown != self.filter

    # --- reading (thread workers) ----------------------------------------------------------------

    def load(self) -> None:
        """Read the list again from the top: a new read, which drops what older ones bring."""
        self.generation += 1
        # The first page is one indexed query (4-19 ms with 20,000 items): read here, it reaches
        # the screen without a thread hop and a message (p95 per keystroke 127 -> 77 ms). If a
        # worker holds the store, the page is read in a worker.
        app = self.app
        if app.store_lock.acquire(blocking=False):
            try:
                recipes = list(self.recipes.values())
                page = data.read_page(
                    app.store, recipes, self.kind, self.filter, 0, now=app.clock()
                )
            finally:
                app.store_lock.release()
            self._show(page, self.generation)
            self._count_labels(page, self.generation)
            return
        self._read_page(self.filter, 0, self.generation)

    @work(thread=True, exit_on_error=False, group="query", description="reading the store")
    def _read_page(self, f: ListFilter, offset: int, generation: int) -> None:
        if generation != self.generation:
            return  # the filter changed again before this started
        recipes = list(self.recipes.values())
        clock = self.app.clock
        page = self.app.read_store(
            lambda store: data.read_page(store, recipes, self.kind, f, offset, now=clock())
        )
        self.post_message(self._PageRead(page, generation))
        if offset == 0:
            self.app.call_from_thread(self._count_labels_if_current, page, generation)

    def _count_labels_if_current(self, page: ListPage, generation: int) -> None:
        """Count the labels of a page read in a worker, if no newer read was asked for since:
        the label worker is exclusive, so a late one for an older read would cancel the one
        for the newest and leave the sidebar empty."""
        if generation == self.generation:
            self._count_labels(page, generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="facets", description="labels")
    def _count_labels(self, page: ListPage, generation: int) -> None:
        time.sleep(FACETS_AFTER)  # typing on: a newer filter makes these counts moot
        if generation != self.generation or get_current_worker().is_cancelled:
            return
        q = data.item_query(self.kind, list(self.recipes.values()), page.filter)
        facets = self.app.read_store(lambda store: store.label_counts(q))
        self.post_message(self._LabelsRead(facets, generation))

    # --- showing (message handlers) --------------------------------------------------------------

    @on(_PageRead)
    def _page_read(self, msg: _PageRead) -> None:
        self._show(msg.page, msg.generation)

    def _show(self, page: ListPage, generation: int) -> None:
        if generation != self.generation:
            return
        self.table.show(page, self.recipes, self.app.clock())
        first = page.offset == 0
        if first:
            self.shown = page.filter
            self.call_after_refresh(self._painted, generation)
        self.post_message(self.Shown(self, first))

    def _painted(self, generation: int) -> None:
        self.paint_log.append((self.kind, generation, time.perf_counter()))

    @on(_LabelsRead)
    def _labels_read(self, msg: _LabelsRead) -> None:
        if msg.generation == self.generation:
            self.facets = msg.facets
            self.post_message(self.LabelsCounted(self))

    @on(ItemTable.NeedMore)
    def _need_more(self, msg: ItemTable.NeedMore) -> None:
        msg.stop()
        self._read_page(self.filter, len(msg.table.items), self.generation)

    def count_text(self) -> str:
        """How many rows the list shows, for the filter bar."""
        table = self.table
        text = f"{len(table.items):,} of {table.total:,}" if table.more else f"{table.total:,}"
        return text + " shown"

    def toggles_text(self) -> str:
        """The toggles and labels the list is narrowed to, for the filter bar."""
        f = self.filter
        on_ = [w for w, v in (("newcomer", f.newcomer), ("unassigned", f.unassigned)) if v]
        labels = [f"label:{x}" for x in f.labels]
        return " ".join(on_ + labels) or "all open"

    def detail_markdown(self) -> str:
        table = self.table
        t = table.highlighted()
        if t is not None:
            blocking = table.blocking if self.kind != "issues" else None
            return item_markdown(t, self.recipe_of(t), self.app.clock(), blocking=blocking)
        read = self.shown is not None
        return empty_tab_markdown(self.kind, read=read, filter=self.filter, note=table.note)

    def recipe_of(self, t: TrackedItem) -> Recipe | None:
        return next((r for r in self.recipes.values() if r.upstream.repo == t.item.repo), None)

    def row_upstream(self) -> str | None:
        t = self.table.highlighted()
        recipe = self.recipe_of(t) if t is not None else None
        return recipe.name if recipe else None

    # --- what the keys do to the highlighted row -------------------------------------------------

    def open(self) -> None:
        t = self.table.highlighted()
        if t is None:
            self.notify(NO_ITEM, severity="warning")
            return
        self.app.opener(t.item.url)
        self.notify(f"opened {t.item.url}")

    # failing logs

    def fetch_logs(self) -> None:
        t = self.table.highlighted()
        if t is None or not t.item.is_pull_request:
            self.notify(NO_PR, severity="warning")
            return
        self.post_message(Busy(f"fetching logs of #{t.item.number}"))
        self._fetch_logs(t.item.repo, t.item.number)

    @work(thread=True, exclusive=True, exit_on_error=False, group="logs", description="logs")
    def _fetch_logs(self, repo: str, number: int) -> None:
        from workbench.github.failing import failing_logs

        # A connection of its own: the downloads must not hold the lists' store.
        try:
            with Store.open(self.ws) as store:
                try:
                    found = failing_logs(store, self.ws.home, repo, number)
                except UsageError as exc:
                    self.post_message(self.LogsFetched(f"#{number}: {exc.message}", []))
                    return
        except BaseException:
            self.post_message(self.LogsFetched("", []))
            raise
        self.post_message(self.LogsFetched(found.summary, found.problem_lines))

    @on(LogsFetched)
    def _logs_fetched(self, msg: LogsFetched) -> None:
        self.post_message(Busy(None))
        if msg.summary:
            self.notify(msg.summary)
        for problem in msg.problems:
            self.notify(problem, severity="warning")
        # It goes on to the screen, which reads the lists again.

    # work

    def start_work(self) -> None:
        t = self.table.highlighted()
        if t is None or t.item.is_pull_request:
            self.notify(NO_ISSUE, severity="warning")
            return
        recipe = self.recipe_of(t)
        if recipe is None:
            return
        self._start_work(recipe.name, t.item.number)

    @work(thread=True, exclusive=True, exit_on_error=False, group="draft", description="work")
    def _start_work(self, name: str, number: int) -> None:
        from workbench.pr import start_work

        with Store.open(self.ws) as store:
            self.post_message(self.WorkStarted(start_work(self.ws, name, number, store=store)))

    @on(WorkStarted)
    def _work_started(self, msg: WorkStarted) -> None:
        w = msg.work
        self.notify(
            f"{w.upstream}: working on #{w.number}; next patch {w.patch_file} "
            f"({w.subject}); the draft will say Fixes #{w.number}",
            title="work started",
            timeout=8,
        )
