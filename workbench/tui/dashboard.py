"""The dashboard screen: it composes the panes and routes between them.

Each pane (:mod:`workbench.tui.panes`) owns its widgets, its messages and its thread workers;
the screen holds the keys (from :mod:`workbench.tui.actions`), hands each to the pane on screen,
passes what one pane posts on to the others (a choice in the sidebar to the lists, a finished
step to the status bar), and shows the highlighted row's detail. A message that lands after the
screen is gone (the app closing) is dropped with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Markdown, TabbedContent

from workbench.config import Recipe
from workbench.github.store import Store, TrackedItem
from workbench.paths import Workspace
from workbench.tui.actions import DASHBOARD_ACTIONS, TABS
from workbench.tui.data import LISTS, ListFilter
from workbench.tui.messages import Busy, StepFailed
from workbench.tui.panes.base import Pane
from workbench.tui.panes.filters import FilterBar, Sidebar
from workbench.tui.panes.items import NO_ISSUE, NO_ITEM, NO_PR, ItemsPane, PaintLog
from workbench.tui.panes.notifications import NotificationsPane, NotificationsTable
from workbench.tui.panes.patches import PatchesPane, PatchesTable
from workbench.tui.panes.runs import RunsPane, RunsTable
from workbench.tui.panes.status import StatusBar
from workbench.tui.screens import error_dialog
from workbench.tui.session_log import SessionLog
from workbench.tui.tables import ReadingTable
from workbench.tui.widgets import ItemTable

if TYPE_CHECKING:
    from workbench.tui.app import WorkbenchApp

DETAIL_AFTER = 0.08
"""Seconds the list must rest before the detail pane follows it."""


class DashboardScreen(Screen[None]):
    """Issues, PRs, reviews, the patch series and runs of every upstream, in one screen."""

    BINDINGS: ClassVar[list[BindingType]] = [a.binding() for a in DASHBOARD_ACTIONS]

    app: WorkbenchApp  # this screen runs in that app only

    def __init__(self, ws: Workspace, recipes: dict[str, Recipe], store: Store) -> None:
        super().__init__()
        self.ws = ws
        self.recipes = recipes
        self.store = store
        self.paint_log: PaintLog = []
        """(list, read, perf_counter()) after each first page reached the screen: what
        benchmarks/bench_tui.py times."""
        self.lists: dict[str, ItemsPane] = {}
        """The issue and PR lists' panes, by tab."""
        self.panes: dict[str, Pane] = {}
        """Every tab's pane, in the tabs' order."""
        self._detail_text = ""
        self._detail_timer: Timer | None = None

    # --- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        ws, recipes = self.ws, self.recipes
        self.lists = {
            kind: ItemsPane(kind, ws, recipes, paint_log=self.paint_log) for kind in LISTS
        }
        self.panes = {
            **self.lists,
            "patches": PatchesPane(ws, recipes),
            "runs": RunsPane(ws, recipes),
            "notifications": NotificationsPane(ws, recipes),
        }
        assert list(self.panes) == list(TABS)
        yield Header()
        with Horizontal(id="body"):
            yield Sidebar(self.recipes, id="sidebar")
            with Vertical(id="main"):
                yield FilterBar(id="filterbar")
                with TabbedContent(id="tabs", initial="issues"):
                    yield from self.panes.values()
                with VerticalScroll(id="detail-pane"):
                    yield Markdown("Select a row to see it here.", id="detail")
                yield SessionLog(self.ws, id="joblog")
        yield StatusBar(self.ws, self.recipes, id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = str(self.ws.root.name)
        self.sidebar.show_counts([])
        self._show_toggles()
        self.status.show()
        self.query_one("#table-issues", ItemTable).focus()
        self.lists["issues"].load()
        self.read_store()

    @property
    def sidebar(self) -> Sidebar:
        return self.query_one(Sidebar)

    @property
    def filterbar(self) -> FilterBar:
        return self.query_one(FilterBar)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def joblog(self) -> SessionLog:
        return self.query_one("#joblog", SessionLog)

    @property
    def series(self) -> PatchesPane:
        return self.query_one(PatchesPane)

    @property
    def patches(self) -> PatchesTable:
        return self.series.table

    @property
    def runs(self) -> RunsTable:
        return self.query_one(RunsPane).table

    @property
    def inbox(self) -> NotificationsPane:
        return self.query_one(NotificationsPane)

    @property
    def notifications(self) -> NotificationsTable:
        return self.inbox.table

    def active_tab(self) -> str:
        return self.query_one("#tabs", TabbedContent).active or "issues"

    def active_pane(self) -> Pane:
        return self.panes[self.active_tab()]

    def active_list(self) -> ItemsPane | None:
        """The list on screen; None on a tab that is not a list."""
        return self.lists.get(self.active_tab())

    @property
    def upstream(self) -> str | None:
        """The sidebar's upstream (None: all): every tab's, and what actions act on."""
        return self.sidebar.upstream

    @property
    def filter(self) -> ListFilter:
        """The filter of the tab on screen (the sidebar's upstream only, on a tab that is not
        a list)."""
        pane = self.active_list()
        return pane.filter if pane is not None else ListFilter(upstream=self.upstream)

    @property
    def generation(self) -> dict[str, int]:
        """How many reads each list was asked for (what benchmarks/bench_tui.py waits on)."""
        return {kind: pane.generation for kind, pane in self.lists.items()}

    def read_store(self) -> None:
        """Read the sidebar's counts and the status bar's sync state again."""
        self.sidebar.read_counts()
        self.status.read_info()

    def mark_stale(self) -> None:
        """The store changed: every list is read again when it is next shown."""
        for pane in self.lists.values():
            pane.mark_stale()

    # --- what the panes post ---------------------------------------------------------------------

    @on(ItemsPane.Shown)
    def _rows_shown(self, msg: ItemsPane.Shown) -> None:
        if msg.pane is self.active_list():
            self.filterbar.show_count(msg.pane.count_text())
            if msg.first:
                self._schedule_detail()

    @on(ItemsPane.LabelsCounted)
    def _labels_counted(self, msg: ItemsPane.LabelsCounted) -> None:
        if msg.pane is self.active_list():
            self._show_labels()

    @on(ItemsPane.LogsFetched)
    def _logs_fetched(self) -> None:
        self.mark_stale()  # what blocks the PR is read again with its log
        pane = self.active_list()
        if pane is not None:
            pane.load()
        self._schedule_detail()

    @on(StatusBar.Synced)
    def _synced(self) -> None:
        self.action_reload()

    @on(ReadingTable.Filled)
    def _table_filled(self, msg: ReadingTable.Filled) -> None:
        if self.query_one(f"#table-{self.active_tab()}") is msg.table:
            self._detail_for_current()

    @on(DataTable.RowHighlighted)
    @on(ItemTable.Highlighted)
    def _row_highlighted(self) -> None:
        self._schedule_detail()

    @on(Busy)
    def _busy(self, msg: Busy) -> None:
        self.status.set_busy(msg.doing)

    @on(SessionLog.Finished)
    def _job_finished(self, msg: SessionLog.Finished) -> None:
        word, severity = msg.outcome
        self.notify(f"{msg.session} {word}", severity=severity)  # type: ignore[arg-type]
        self._show_job()
        self.refresh_bindings()
        self.runs.reload()
        self.patches.reload()

    @on(StepFailed)
    def _failed(self, msg: StepFailed) -> None:
        if self.status.busy:
            self.status.set_busy(None)
        self.app.push_screen(error_dialog(msg.error, msg.doing))

    # --- showing ---------------------------------------------------------------------------------

    def _show_labels(self) -> None:
        """The label facets of the list on screen (none on a tab that is not a list)."""
        pane = self.active_list()
        if pane is None:
            self.sidebar.show_labels([], ())
        else:
            self.sidebar.show_labels(pane.facets, pane.filter.labels)

    def _show_toggles(self) -> None:
        pane = self.active_list()
        self.filterbar.show_toggles(pane.toggles_text() if pane is not None else "")

    def _show_job(self) -> None:
        job = self.joblog.job
        self.status.set_running(job.session if job else None)

    def _show_detail(self, markdown: str) -> None:
        if markdown != self._detail_text:
            self._detail_text = markdown
            self.query_one("#detail", Markdown).update(markdown)

    def _schedule_detail(self) -> None:
        """Show the highlighted row's detail once the list rests: a Markdown pane re-lays out
        the screen, too slow to do for each keystroke or each row the cursor passes."""
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(DETAIL_AFTER, self._detail_for_current)

    def _detail_for_current(self) -> None:
        """The highlighted row of the tab on screen; on an empty tab, why it is empty (never
        the row of another tab)."""
        self._show_detail(self.active_pane().detail_markdown())

    # --- events ----------------------------------------------------------------------------------

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        kind = self.active_tab()
        pane = self.active_list()
        if pane is not None:  # each list has its own filter: the box shows this one's words
            self.filterbar.show_list(pane.own.text)
            if pane.needs_reading:
                pane.load()
            self.filterbar.show_count(pane.count_text())
        else:  # the filter box filters the issue and PR lists only
            self.filterbar.show_no_list()
        self._show_labels()
        self._show_toggles()
        self.query_one(f"#table-{kind}").focus()
        self.refresh_bindings()  # keys that belong to one tab (check_action)
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_for_current()  # at once: the last tab's row must not stay on this one

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        pane = self.active_list()
        if pane is not None and event.value != pane.filter.text:
            self.set_filter(text=event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.action_leave_filter()

    @on(Sidebar.UpstreamChosen)
    def _upstream_chosen(self, msg: Sidebar.UpstreamChosen) -> None:
        self.set_filter(upstream=msg.upstream)

    @on(Sidebar.LabelChosen)
    def _label_chosen(self, msg: Sidebar.LabelChosen) -> None:
        labels = list(self.filter.labels)
        if msg.label in labels:
            labels.remove(msg.label)
        else:
            labels.append(msg.label)
        self.set_filter(labels=tuple(labels))

    def set_filter(self, **changes: Any) -> None:
        """Change the sidebar's upstream (every tab's) or the filter of the list on screen
        (text, labels, toggles), and read the list again."""
        pane = self.active_list()
        if "upstream" in changes:
            upstream = changes.pop("upstream")
            self.sidebar.upstream = upstream
            for other in self.lists.values():
                other.upstream = upstream
                if other is not pane:  # read again when their tab is opened
                    other.forget()
        if changes and pane is not None:
            pane.narrow(**changes)
        self._show_toggles()
        if pane is not None:
            pane.load()

    # --- what the keys do ------------------------------------------------------------------------

    def highlighted_item(self) -> TrackedItem | None:
        pane = self.active_list()
        return pane.table.highlighted() if pane is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_filter":  # "/" types itself in the filter and in any other input
            return not isinstance(self.focused, Input) and self.active_tab() in LISTS
        if action == "fetch_logs":
            return self.active_tab() in ("mine", "reviews")
        if action == "mark_read":
            return self.active_tab() == "notifications"
        if action in ("toggle_newcomer", "toggle_unassigned"):
            return self.active_tab() == "issues"
        if action == "cancel_job":  # in the footer only while a session runs
            return self.joblog.job is not None
        return True

    def current_upstream(self) -> str | None:
        """The upstream an action is for: the highlighted row's, the sidebar's, or the only one."""
        name = self.active_pane().row_upstream()
        if name:
            return name
        if self.upstream:
            return self.upstream
        if len(self.recipes) == 1:
            return next(iter(self.recipes))
        return None

    def _upstream_for(self, upstream: str | None) -> str | None:
        """``upstream`` as the palette named it, or the one the keys act on."""
        if upstream is not None:
            return upstream
        name = self.current_upstream()
        if name is None:
            self.notify("pick an upstream in the sidebar first", severity="warning")
        return name

    # tabs and filters

    def action_show_tab(self, kind: str) -> None:
        if kind in TABS:
            self.query_one("#tabs", TabbedContent).active = kind

    def action_next_tab(self) -> None:
        self._step_tab(1)

    def action_previous_tab(self) -> None:
        self._step_tab(-1)

    def _step_tab(self, step: int) -> None:
        order = list(TABS)
        self.action_show_tab(order[(order.index(self.active_tab()) + step) % len(order)])

    def action_focus_filter(self) -> None:
        self.set_focus(self.filterbar.box)

    def action_leave_filter(self) -> None:
        self.set_focus(self.query_one(f"#table-{self.active_tab()}"))

    def action_toggle_newcomer(self) -> None:
        self.set_filter(newcomer=not self.filter.newcomer)

    def action_toggle_unassigned(self) -> None:
        self.set_filter(unassigned=not self.filter.unassigned)

    # the store and GitHub

    def action_reload(self) -> None:
        pane = self.active_list()
        self.mark_stale()
        if pane is not None:
            pane.load()
        self.read_store()
        self.patches.reload()
        self.runs.reload()
        self.notifications.reload()

    def action_sync(self) -> None:
        self.status.sync()

    def action_open(self) -> None:
        pane = self.active_pane()
        if isinstance(pane, ItemsPane | NotificationsPane):
            pane.open()
        else:
            self.notify(NO_ITEM, severity="warning")

    def action_mark_read(self) -> None:
        self.inbox.ask_mark_read()

    # the highlighted issue or PR

    def action_fetch_logs(self) -> None:
        pane = self.active_list()
        if pane is not None:
            pane.fetch_logs()
        else:
            self.notify(NO_PR, severity="warning")

    def action_start_work(self) -> None:
        pane = self.active_list()
        if pane is not None:
            pane.start_work()
        else:
            self.notify(NO_ISSUE, severity="warning")

    # the series (the palette names the upstream; the keys act on the current one)

    def action_apply(self, upstream: str | None = None) -> None:
        name = self._upstream_for(upstream)
        if name:
            self.series.series_action("apply", name)

    def action_refresh_series(self, upstream: str | None = None) -> None:
        name = self._upstream_for(upstream)
        if name:
            self.series.series_action("refresh", name)

    def action_rebase(self, upstream: str | None = None) -> None:
        name = self._upstream_for(upstream)
        if name:
            self.series.ask_rebase(name)

    def action_draft_pr(self, upstream: str | None = None) -> None:
        name = self._upstream_for(upstream)
        if name:
            self.series.draft(name)

    # runs

    def action_run_tests(self, upstream: str | None = None) -> None:
        name = self._upstream_for(upstream)
        if name:
            self.start_job(name, "tests")

    def action_run_bench(self, upstream: str | None = None) -> None:
        name = self._upstream_for(upstream)
        if name:
            self.start_job(name, "bench")

    def start_job(self, name: str, kind: str) -> None:
        job = self.joblog.job
        if job is not None:
            self.notify(f"{job.session} is still running (x cancels it)", severity="warning")
            return
        self.joblog.start(name, kind)
        self._show_job()
        self.refresh_bindings()

    def action_cancel_job(self) -> None:
        if self.joblog.job is None:
            self.notify("no run to cancel", severity="warning")
            return
        self.joblog.cancel()
