"""The dashboard app and ``make_app``, the one factory the CLI and the tests use."""

from __future__ import annotations

import threading
import time
import webbrowser
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    Log,
    Markdown,
    OptionList,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState, get_current_worker

from workbench.config import Recipe, load_recipes
from workbench.errors import WorkbenchError
from workbench.github.store import Store, TrackedItem
from workbench.paths import Workspace
from workbench.runs import RunResult
from workbench.tui import data
from workbench.tui.actions import Actions, while_open
from workbench.tui.commands import WorkbenchCommands
from workbench.tui.data import LISTS, ListFilter, SeriesView
from workbench.tui.detail import item_markdown, run_markdown, series_markdown
from workbench.tui.format import STALE_SYNC_HOURS, VERDICT_STYLE, Clock, ago, seconds_since, utc_now
from workbench.tui.jobs import NoxJob
from workbench.tui.messages import (
    PageLoaded,
    RunsLoaded,
    SeriesLoaded,
    StoreRead,
)
from workbench.tui.screens import ErrorDialog
from workbench.tui.widgets import ItemTable, StatusBar

TAB_TITLES = {
    "issues": "Issues",
    "mine": "My PRs",
    "reviews": "Reviews",
    "patches": "Patches",
    "runs": "Runs",
}
ALL = "__all__"
DETAIL_AFTER = 0.08
"""Seconds the list must rest before the detail pane follows it."""
FACETS_AFTER = 0.15
"""Seconds of no typing before the label facets are counted again."""
SHORT_APPLIES = {
    "applies cleanly": "clean",
    "applies with a 3-way merge": "3-way",
    "conflicts": "conflict",
    "not checked": "?",
}
APPLIES_STYLE = {
    "applies cleanly": "green",
    "applies with a 3-way merge": "yellow",
    "conflicts": "red",
}


def _b(
    key: str, action: str, description: str, tooltip: str, show: bool = True, **kw: Any
) -> Binding:
    return Binding(key, action, description, show=show, id=action, tooltip=tooltip, **kw)


class WorkbenchApp(Actions):
    """Issues, PRs, reviews, the patch series and runs of every upstream, in one screen."""

    CSS_PATH = "app.tcss"
    TITLE = "workbench"
    COMMANDS = App.COMMANDS | {WorkbenchCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: the app moves the focus before it hands the next keys on, so "/float8"
        # typed fast (or sent by a script) lands in the filter.
        _b(
            "slash",
            "focus_filter",
            "Filter",
            "Filter the list as you type: words or #N",
            priority=True,
        ),
        _b("escape", "leave_filter", "Back", "Back from the filter to the table", show=False),
        _b("s", "sync", "Sync", "Sync issues, PRs and CI state from GitHub now"),
        _b("o", "open", "Open", "Open the highlighted issue or PR in the browser"),
        _b("w", "start_work", "Work", "Start work on the highlighted issue: names the next patch"),
        _b("a", "apply", "Apply", "Apply the series onto its pin (patched worktree)"),
        _b("f", "refresh_series", "Refresh", "Write the worktree's commits back to patches/"),
        _b("b", "rebase", "Rebase", "Rebase the series onto another ref"),
        _b("t", "run_tests", "Tests", "Run nox -s NAME_tests in the background"),
        _b("B", "run_bench", "Bench", "Run nox -s NAME_bench in the background"),
        _b("x", "cancel_job", "Cancel run", "Stop the running nox session (its process group)"),
        _b("d", "draft_pr", "Draft PR", "Draft the PR description and preview it"),
        _b("n", "toggle_newcomer", "Newcomer", "Issues with the recipe's newcomer labels only"),
        _b("u", "toggle_unassigned", "Unassigned", "Issues nobody is assigned to only"),
        _b("r", "reload", "Reload", "Read the store, the series and the runs again", show=False),
        _b("q", "quit", "Quit", "Quit (a running nox session goes on)"),
    ]

    def __init__(
        self,
        ws: Workspace,
        recipes: list[Recipe],
        store: Store,
        *,
        clock: Clock = utc_now,
        opener: Callable[[str], object] = webbrowser.open,
        check_head: bool = True,
    ):
        super().__init__()
        self.ws = ws
        self.recipes = {r.name: r for r in recipes}
        self.store = store
        self.store_lock = threading.Lock()
        self.clock = clock
        self.opener = opener
        self.check_head = check_head
        self.filter = ListFilter()
        self.generation = {k: 0 for k in LISTS}
        self.facets: list[tuple[str, int]] = []
        self.series: dict[str, SeriesView] = {}
        self.runs: list[tuple[RunResult, bool]] = []
        self.job: NoxJob | None = None
        self.offline: str | None = None
        self.info: data.SyncInfo | None = None
        self.busy: str | None = None
        self._detail_text = ""
        self._detail_timer: Timer | None = None
        self.paint_log: list[tuple[str, int, float]] = []
        """(list, generation, perf_counter()) after each first page reached the screen: what
        benchmarks/bench_tui.py times."""

    # --- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                yield Label("Upstreams  issues   PRs", classes="section")
                yield OptionList(id="upstreams")
                yield Label("Labels", classes="section")
                yield OptionList(id="facets")
            with Vertical(id="main"):
                with Horizontal(id="filterbar"):
                    yield Input(placeholder="/ filter: words or #N", id="filter")
                    yield Label("", id="count")
                    yield Label("", id="toggles")
                with TabbedContent(id="tabs", initial="issues"):
                    for kind in LISTS:
                        with TabPane(TAB_TITLES[kind], id=kind):
                            yield ItemTable(kind, id=f"table-{kind}")
                    with TabPane(TAB_TITLES["patches"], id="patches"):
                        yield DataTable(id="table-patches", cursor_type="row", zebra_stripes=True)
                    with TabPane(TAB_TITLES["runs"], id="runs"):
                        yield DataTable(id="table-runs", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="detail-pane"):
                    yield Markdown("Select a row to see it here.", id="detail")
                yield Log(id="joblog", max_lines=5000, classes="hidden")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = str(self.ws.root.name)
        patches = self._q("#table-patches", DataTable)
        patches.add_columns("upstream", "patch", "+/-", "onto head", "tests", "bench")
        runs = self._q("#table-runs", DataTable)
        runs.add_columns(
            "upstream", "run", "kind", "verdict", "series", "device", "origin", "started"
        )
        self._fill_upstreams([])
        self._show_toggles()
        self._update_status()
        self._q("#table-issues", ItemTable).focus()
        self.load_list("issues")
        self.read_store()
        self.load_series()
        self.load_runs()

    # --- reading (thread workers) ----------------------------------------------------------------

    def _read(self, fn: Callable[[], Any]) -> Any:
        with self.store_lock:  # one connection, shared by the readers in turn
            return fn()

    def load_list(self, kind: str, offset: int = 0) -> None:
        if offset == 0:
            self.generation[kind] += 1
            # The first page is one indexed query (4-19 ms with 20,000 items): read here, it
            # reaches the screen without a thread hop and a message (p95 per keystroke 127 ->
            # 77 ms). If a worker holds the store, the page is read in a worker as before.
            if self.store_lock.acquire(blocking=False):
                try:
                    recipes = list(self.recipes.values())
                    page = data.read_page(self.store, recipes, kind, self.filter, 0)
                finally:
                    self.store_lock.release()
                self._page_loaded(PageLoaded(page, self.generation[kind]))
                self._load_facets(page, self.generation[kind])
                return
        self._load_page(kind, self.filter, offset, self.generation[kind])

    @work(thread=True, exit_on_error=False, group="query", description="reading the store")
    def _load_page(self, kind: str, f: ListFilter, offset: int, generation: int) -> None:
        if generation != self.generation[kind]:
            return  # the filter changed again before this started
        recipes = list(self.recipes.values())
        page = self._read(lambda: data.read_page(self.store, recipes, kind, f, offset))
        self.post_message(PageLoaded(page, generation))
        if offset == 0:
            self._load_facets(page, generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="facets", description="labels")
    def _load_facets(self, page: data.Page, generation: int) -> None:
        time.sleep(FACETS_AFTER)  # typing on: a newer filter makes these counts moot
        if generation != self.generation[page.kind] or get_current_worker().is_cancelled:
            return
        q = data.item_query(page.kind, list(self.recipes.values()), page.filter)
        page.facets = self._read(lambda: self.store.label_counts(q))
        self.post_message(PageLoaded(page, -generation))  # negative: the facets only

    @work(thread=True, exit_on_error=False, group="store", description="reading the store")
    def read_store(self) -> None:
        recipes = list(self.recipes.values())
        counts = self._read(lambda: data.upstream_counts(self.store, recipes))
        info = self._read(lambda: data.sync_info(self.store, recipes))
        self.post_message(StoreRead(counts, info))

    @work(thread=True, exclusive=True, exit_on_error=False, group="series", description="series")
    def load_series(self) -> None:
        views = []
        for recipe in self.recipes.values():
            if get_current_worker().is_cancelled:
                return
            views.append(data.series_view(self.ws, recipe, check_head=self.check_head))
        self.post_message(SeriesLoaded(views))

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs", description="runs")
    def load_runs(self) -> None:
        self.post_message(RunsLoaded(data.all_runs(self.ws, list(self.recipes.values()))))

    # --- showing (message handlers) --------------------------------------------------------------

    @on(PageLoaded)
    @while_open
    def _page_loaded(self, msg: PageLoaded) -> None:
        page = msg.page
        kind = page.kind
        if abs(msg.generation) != self.generation[kind]:
            return
        if msg.generation < 0:
            if kind == self._active():
                self.facets = page.facets
                self._fill_facets()
            return
        table = self._q(f"#table-{kind}", ItemTable)
        table.show(page, self.recipes, self.clock())
        if kind == self._active():
            self._show_count(table)
        if page.note and page.offset == 0:
            self._show_detail(f"*{page.note}*")
        if page.offset == 0:
            self.call_after_refresh(self._painted, kind, msg.generation)
        if page.offset == 0 and kind == self._active():
            self._schedule_detail()

    def _show_count(self, table: ItemTable) -> None:
        # A fixed-size label: updating it repaints it alone, with no layout pass per keystroke.
        text = f"{len(table.items):,} of {table.total:,}" if table.more else f"{table.total:,}"
        self._q("#count", Label).update(text + " shown", layout=False)

    def _painted(self, kind: str, generation: int) -> None:
        self.paint_log.append((kind, generation, time.perf_counter()))

    @on(ItemTable.NeedMore)
    def _need_more(self, msg: ItemTable.NeedMore) -> None:
        t = msg.table
        self._load_page(t.kind, self.filter, len(t.items), self.generation[t.kind])

    @on(StoreRead)
    @while_open
    def _store_read(self, msg: StoreRead) -> None:
        self.info = msg.info
        self._fill_upstreams(msg.counts)
        self._update_status()

    @on(SeriesLoaded)
    @while_open
    def _series_loaded(self, msg: SeriesLoaded) -> None:
        self.series = {v.name: v for v in msg.views}
        table = self._q("#table-patches", DataTable)
        table.clear()
        for v in msg.views:
            tests = self._verdict(v.tests.verdict() if v.tests else "none", v.tests_state)
            bench = self._verdict(v.bench.verdict() if v.bench else "none", v.bench_state)
            if v.error is not None:
                note = Text(v.error.message[:40], style="dim")
                table.add_row(v.name, note, "", "", tests, bench, key=f"{v.name}:")
                continue
            patches = (v.status or {}).get("patches", [])
            word = v.applies.split(" ")[0] if "conflicts" in v.applies else v.applies
            applies = Text(SHORT_APPLIES.get(word, word), style=APPLIES_STYLE.get(word, "dim"))
            if not patches:
                empty = Text("empty series", style="dim")
                table.add_row(v.name, empty, "", applies, tests, bench, key=f"{v.name}:")
            for p in patches:
                table.add_row(
                    v.name,
                    p["file"][:34],
                    f"+{p['added']} -{p['deleted']}",
                    applies,
                    tests,
                    bench,
                    key=f"{v.name}:{p['file']}",
                )
        if self._active() == "patches":
            self._detail_for_current()

    @staticmethod
    def _verdict(word: str, state: str) -> Text:
        text = Text(word, style=VERDICT_STYLE.get(word, "dim"))
        if state == "stale":
            text.append(" stale", style="yellow")
        return text

    @on(RunsLoaded)
    @while_open
    def _runs_loaded(self, msg: RunsLoaded) -> None:
        self.runs = msg.runs
        table = self._q("#table-runs", DataTable)
        table.clear()
        now = self.clock()
        for run, current in msg.runs:
            table.add_row(
                run.upstream,
                run.run_id,
                run.kind,
                self._verdict(run.verdict(), "current"),
                Text("current", style="green") if current else Text("stale", style="yellow"),
                run.device,
                run.origin,
                ago(run.started.isoformat(), now),
            )
        if self._active() == "runs":
            self._detail_for_current()

    def _fill_upstreams(self, counts: list[data.UpstreamCounts]) -> None:
        ol = self._q("#upstreams", OptionList)
        by_name = {c.name: c for c in counts}
        ol.clear_options()
        total_i = sum(c.issues for c in counts)
        total_p = sum(c.prs for c in counts)
        ol.add_option(Option(f"{'all':8} {total_i:>5} {total_p:>5}", id=ALL))
        for name in self.recipes:
            c = by_name.get(name)
            ol.add_option(
                Option(f"{name:8} {c.issues if c else 0:>5} {c.prs if c else 0:>5}", id=name)
            )
        ol.highlighted = (
            0
            if self.filter.upstream is None
            else 1 + list(self.recipes).index(self.filter.upstream)
        )

    def _fill_facets(self) -> None:
        ol = self._q("#facets", OptionList)
        ol.clear_options()
        chosen = set(self.filter.labels)
        for name, n in self.facets:
            mark = "✓ " if name in chosen else "  "
            ol.add_option(Option(f"{mark}{name} ({n})", id=name))

    def _show_toggles(self) -> None:
        on_ = [
            w
            for w, v in (("newcomer", self.filter.newcomer), ("unassigned", self.filter.unassigned))
            if v
        ]
        labels = [f"label:{x}" for x in self.filter.labels]
        text = " ".join(on_ + labels) or "all open"
        self._q("#toggles", Label).update(text, layout=False)

    def _update_status(self) -> None:
        info = self.info
        synced = info.synced_at if info else None
        stale = synced is None or seconds_since(synced, self.clock()) > STALE_SYNC_HOURS * 3600
        text = self._q(StatusBar).compose_text(
            synced=ago(synced, self.clock()),
            stale=stale,
            offline=self.offline,
            rate=info.rate_remaining if info else None,
            viewer=info.viewer if info else None,
            job=self.job.session if self.job else None,
            busy=self.busy,
        )
        self._q(StatusBar).update(text, layout=False)

    def _show_detail(self, markdown: str) -> None:
        if markdown != self._detail_text:
            self._detail_text = markdown
            self._q("#detail", Markdown).update(markdown)

    def _schedule_detail(self) -> None:
        """Show the highlighted row's detail once the list rests: a Markdown pane re-lays out
        the screen, too slow to do for each keystroke or each row the cursor passes."""
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(DETAIL_AFTER, self._detail_for_current)

    def _q(self, selector: Any, expect: Any = None) -> Any:
        """A widget of the dashboard, also while a dialog is on top (App.query_one asks the
        screen in front)."""
        screen = self.screen_stack[0]
        return screen.query_one(selector, expect) if expect else screen.query_one(selector)

    def _active(self) -> str:
        return self._q("#tabs", TabbedContent).active or "issues"

    def _detail_for_current(self) -> None:
        if not self.is_running or not self.screen_stack:
            return  # a timer that fires while the app closes
        kind = self._active()
        if kind in LISTS:
            t = self._q(f"#table-{kind}", ItemTable).highlighted()
            if t is not None:
                self._show_detail(item_markdown(t, self._recipe_of(t), self.clock()))
        elif kind == "patches":
            name = self._patches_upstream()
            if name in self.series:
                self._show_detail(series_markdown(self.series[name]))
        elif kind == "runs":
            row = self._q("#table-runs", DataTable).cursor_row
            if 0 <= row < len(self.runs):
                self._show_detail(run_markdown(*self.runs[row]))

    def _recipe_of(self, t: TrackedItem) -> Recipe | None:
        return next((r for r in self.recipes.values() if r.upstream.repo == t.item.repo), None)

    # --- events ----------------------------------------------------------------------------------

    @on(DataTable.RowHighlighted)
    @on(ItemTable.Highlighted)
    def _row_highlighted(self) -> None:
        self._schedule_detail()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        kind = self._active()
        if kind in LISTS:
            self.load_list(kind)
            self._show_count(self._q(f"#table-{kind}", ItemTable))
        self._q(f"#table-{kind}").focus()
        self._schedule_detail()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filter(text=event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.action_leave_filter()

    @on(OptionList.OptionSelected, "#upstreams")
    def _upstream_selected(self, event: OptionList.OptionSelected) -> None:
        chosen = None if event.option.id == ALL else event.option.id
        self._set_filter(upstream=chosen)

    @on(OptionList.OptionSelected, "#facets")
    def _facet_selected(self, event: OptionList.OptionSelected) -> None:
        name = str(event.option.id)
        labels = list(self.filter.labels)
        if name in labels:
            labels.remove(name)
        else:
            labels.append(name)
        self._set_filter(labels=tuple(labels))

    def _set_filter(self, **changes: Any) -> None:
        import dataclasses

        self.filter = dataclasses.replace(self.filter, **changes)
        self._show_toggles()
        kind = self._active()
        for k in LISTS:  # the others reload when their tab is opened
            self.generation[k] += k != kind
        if kind in LISTS:
            self.load_list(kind)

    # --- actions ---------------------------------------------------------------------------------

    def highlighted_item(self) -> TrackedItem | None:
        kind = self._active()
        if kind not in LISTS:
            return None
        return self._q(f"#table-{kind}", ItemTable).highlighted()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_filter":  # "/" types itself in any input and in dialogs
            return self.screen is self.screen_stack[0] and not isinstance(self.focused, Input)
        return True

    def action_focus_filter(self) -> None:
        self.screen.set_focus(self._q("#filter", Input))

    def action_leave_filter(self) -> None:
        self.screen.set_focus(self._q(f"#table-{self._active()}"))

    def action_toggle_newcomer(self) -> None:
        self._set_filter(newcomer=not self.filter.newcomer)

    def action_toggle_unassigned(self) -> None:
        self._set_filter(unassigned=not self.filter.unassigned)

    def action_reload(self) -> None:
        kind = self._active()
        if kind in LISTS:
            self.load_list(kind)
        self.read_store()
        self.load_series()
        self.load_runs()

    def action_open(self) -> None:
        t = self.highlighted_item()
        if t is None:
            self.notify("no issue or PR highlighted", severity="warning")
            return
        self.opener(t.item.url)
        self.notify(f"opened {t.item.url}")

    def current_upstream(self) -> str | None:
        """The upstream an action is for: the highlighted row's, the sidebar's, or the only one."""
        kind = self._active()
        if kind == "patches":
            name = self._patches_upstream()
            if name:
                return name
        t = self.highlighted_item()
        if t is not None:
            r = self._recipe_of(t)
            if r:
                return r.name
        if kind == "runs":
            row = self._q("#table-runs", DataTable).cursor_row
            if 0 <= row < len(self.runs):
                return self.runs[row][0].upstream
        if self.filter.upstream:
            return self.filter.upstream
        if len(self.recipes) == 1:
            return next(iter(self.recipes))
        return None

    def _patches_upstream(self) -> str | None:
        table = self._q("#table-patches", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key).split(":", 1)[0] if key else None

    def _need_upstream(self) -> str | None:
        name = self.current_upstream()
        if name is None:
            self.notify("pick an upstream in the sidebar first", severity="warning")
        return name

    # errors

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        exc = event.worker.error
        if self.busy:
            self.busy = None
            self._update_status()
        if isinstance(exc, WorkbenchError):
            title = exc.title if exc.title != "error" else event.worker.description
            self.push_screen(ErrorDialog(title, exc.message, exc.hint, exc.details))
        else:
            self.push_screen(
                ErrorDialog(
                    f"unexpected {type(exc).__name__}",
                    str(exc),
                    "a bug: run again with WORKBENCH_DEBUG=1 and report it",
                )
            )


def make_app(
    ws: Workspace,
    *,
    store: Store | None = None,
    recipes: list[Recipe] | None = None,
    clock: Clock = utc_now,
    opener: Callable[[str], object] = webbrowser.open,
    check_head: bool = True,
) -> WorkbenchApp:
    """The dashboard for ``ws``: the CLI calls it with defaults, tests pass a store and a clock.

    ``check_head=False`` skips the trial apply of each series onto upstream's head (a git
    operation per upstream) when the Patches tab is read.
    """
    return WorkbenchApp(
        ws,
        recipes if recipes is not None else load_recipes(ws),
        store if store is not None else Store.open(ws),
        clock=clock,
        opener=opener,
        check_head=check_head,
    )
