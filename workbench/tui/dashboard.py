"""The dashboard screen: the lists, the series, the runs and everything the keys start.

The screen owns its state and its behaviour (the app only holds what every screen shares).
Reads and long-running steps run in thread workers that call plain library functions and post
a message; widgets change only in the handlers of those messages. A message that lands after
the screen is gone (the app closing) is dropped with it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import (
    Footer,
    Header,
    Input,
    Label,
    Markdown,
    OptionList,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState, get_current_worker

from workbench.config import Recipe
from workbench.display import STALE_SYNC_HOURS, ago, seconds_since
from workbench.errors import WorkbenchError
from workbench.github.store import Store, TrackedItem
from workbench.paths import Workspace
from workbench.tui import data
from workbench.tui.actions import DASHBOARD_ACTIONS, TABS
from workbench.tui.data import LISTS, ListFilter
from workbench.tui.detail import (
    empty_tab_markdown,
    item_markdown,
    notification_markdown,
    notifications_note,
    run_markdown,
    series_markdown,
)
from workbench.tui.messages import (
    LogsFetched,
    PageLoaded,
    SeriesChanged,
    StepFailed,
    StoreRead,
    SyncFinished,
    WorkStarted,
)
from workbench.tui.screens import ConfirmDialog, DraftScreen, RebaseDialog, error_dialog
from workbench.tui.session_log import SessionLog
from workbench.tui.tables import NotificationsTable, PatchesTable, RunsTable
from workbench.tui.widgets import ItemTable, StatusBar

if TYPE_CHECKING:
    from workbench.tui.app import WorkbenchApp

ALL = "__all__"
FILTER_PLACEHOLDER = "/ filter: words or #N"
DETAIL_AFTER = 0.08
"""Seconds the list must rest before the detail pane follows it."""
FACETS_AFTER = 0.15
"""Seconds of no typing before the label facets are counted again."""


class DashboardScreen(Screen[None]):
    """Issues, PRs, reviews, the patch series and runs of every upstream, in one screen."""

    BINDINGS: ClassVar[list[BindingType]] = [a.binding() for a in DASHBOARD_ACTIONS]

    app: WorkbenchApp  # this screen runs in that app only

    def __init__(self, ws: Workspace, recipes: dict[str, Recipe], store: Store) -> None:
        super().__init__()
        self.ws = ws
        self.recipes = recipes
        self.store = store
        self.upstream: str | None = None
        """The sidebar's upstream (None: all): every tab's, and what actions act on."""
        self.filters = {k: ListFilter() for k in LISTS}
        """Each list's own words, labels and toggles (the upstream is the sidebar's)."""
        self.shown: dict[str, ListFilter | None] = {k: None for k in LISTS}
        """The filter of the rows each list holds; None: not read yet, or read again on view."""
        self.generation = {k: 0 for k in LISTS}
        self.facets: dict[str, list[tuple[str, int]]] = {k: [] for k in LISTS}
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
                    yield Input(placeholder=FILTER_PLACEHOLDER, id="filter")
                    yield Label("", id="count")
                    yield Label("", id="toggles")
                with TabbedContent(id="tabs", initial="issues"):
                    for kind in LISTS:
                        with TabPane(TABS[kind], id=kind):
                            yield ItemTable(kind, id=f"table-{kind}")
                    with TabPane(TABS["patches"], id="patches"):
                        yield PatchesTable(
                            self.ws,
                            self.recipes,
                            check_head=self.app.check_head,
                            id="table-patches",
                        )
                    with TabPane(TABS["runs"], id="runs"):
                        yield RunsTable(
                            self.ws, self.recipes, clock=self.app.clock, id="table-runs"
                        )
                    with TabPane(TABS["notifications"], id="notifications"):
                        yield NotificationsTable(
                            self.ws,
                            self.recipes,
                            store=self.store,
                            lock=self.app.store_lock,
                            clock=self.app.clock,
                            id="table-notifications",
                        )
                with VerticalScroll(id="detail-pane"):
                    yield Markdown("Select a row to see it here.", id="detail")
                yield SessionLog(self.ws, id="joblog")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = str(self.ws.root.name)
        self._fill_upstreams([])
        self._show_toggles()
        self._update_status()
        self.query_one("#table-issues", ItemTable).focus()
        self.load_list("issues")
        self.read_store()

    @property
    def patches(self) -> PatchesTable:
        return self.query_one("#table-patches", PatchesTable)

    @property
    def runs(self) -> RunsTable:
        return self.query_one("#table-runs", RunsTable)

    @property
    def notifications(self) -> NotificationsTable:
        return self.query_one("#table-notifications", NotificationsTable)

    @property
    def joblog(self) -> SessionLog:
        return self.query_one("#joblog", SessionLog)

    def active_tab(self) -> str:
        return self.query_one("#tabs", TabbedContent).active or "issues"

    def filter_of(self, kind: str) -> ListFilter:
        """What list ``kind`` is narrowed to: its own filter and the sidebar's upstream."""
        own = self.filters.get(kind, ListFilter())
        return dataclasses.replace(own, upstream=self.upstream)

    @property
    def filter(self) -> ListFilter:
        """The filter of the tab on screen (the sidebar's upstream only, on a tab that is not
        a list)."""
        return self.filter_of(self.active_tab())

    # --- reading (thread workers) ----------------------------------------------------------------

    def _read(self, fn: Callable[[], Any]) -> Any:
        with self.app.store_lock:  # one connection, shared by the readers in turn
            return fn()

    def load_list(self, kind: str, offset: int = 0) -> None:
        if offset == 0:
            self.generation[kind] += 1
            # The first page is one indexed query (4-19 ms with 20,000 items): read here, it
            # reaches the screen without a thread hop and a message (p95 per keystroke 127 ->
            # 77 ms). If a worker holds the store, the page is read in a worker as before.
            if self.app.store_lock.acquire(blocking=False):
                try:
                    recipes = list(self.recipes.values())
                    page = data.read_page(
                        self.store, recipes, kind, self.filter_of(kind), 0, now=self.app.clock()
                    )
                finally:
                    self.app.store_lock.release()
                self._page_loaded(PageLoaded(page, self.generation[kind]))
                self._load_facets(page, self.generation[kind])
                return
        self._load_page(kind, self.filter_of(kind), offset, self.generation[kind])

    @work(thread=True, exit_on_error=False, group="query", description="reading the store")
    def _load_page(self, kind: str, f: ListFilter, offset: int, generation: int) -> None:
        if generation != self.generation[kind]:
            return  # the filter changed again before this started
        recipes = list(self.recipes.values())
        page = self._read(
            lambda: data.read_page(self.store, recipes, kind, f, offset, now=self.app.clock())
        )
        self.post_message(PageLoaded(page, generation))
        if offset == 0:
            self.app.call_from_thread(self._facets_for, page, generation)

    def _facets_for(self, page: data.ListPage, generation: int) -> None:
        """Count the labels of a page read in a worker, if no newer list was asked for since:
        the facet worker is exclusive, so a late one for an older list would cancel the one
        for the newest and leave the sidebar empty."""
        if generation == self.generation[page.kind]:
            self._load_facets(page, generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="facets", description="labels")
    def _load_facets(self, page: data.ListPage, generation: int) -> None:
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

    # --- showing (message handlers) --------------------------------------------------------------

    @on(PageLoaded)
    def _page_loaded(self, msg: PageLoaded) -> None:
        page = msg.page
        kind = page.kind
        if abs(msg.generation) != self.generation[kind]:
            return
        if msg.generation < 0:
            self.facets[kind] = page.facets
            if kind == self.active_tab():
                self._fill_facets()
            return
        table = self.query_one(f"#table-{kind}", ItemTable)
        table.show(page, self.recipes, self.app.clock())
        if page.offset == 0:
            self.shown[kind] = page.filter
        if kind == self.active_tab():
            self._show_count(table)
        if page.offset == 0:
            self.call_after_refresh(self._painted, kind, msg.generation)
        if page.offset == 0 and kind == self.active_tab():
            self._schedule_detail()

    def _show_count(self, table: ItemTable) -> None:
        # A fixed-size label: updating it repaints it alone, with no layout pass per keystroke.
        text = f"{len(table.items):,} of {table.total:,}" if table.more else f"{table.total:,}"
        self.query_one("#count", Label).update(text + " shown", layout=False)

    def _painted(self, kind: str, generation: int) -> None:
        self.paint_log.append((kind, generation, time.perf_counter()))

    @on(ItemTable.NeedMore)
    def _need_more(self, msg: ItemTable.NeedMore) -> None:
        t = msg.table
        self._load_page(t.kind, self.filter_of(t.kind), len(t.items), self.generation[t.kind])

    @on(StoreRead)
    def _store_read(self, msg: StoreRead) -> None:
        self.info = msg.info
        self._fill_upstreams(msg.counts)
        self._update_status()

    @on(PatchesTable.Filled)
    @on(RunsTable.Filled)
    def _table_filled(self, msg: PatchesTable.Filled) -> None:
        if self.query_one(f"#table-{self.active_tab()}") is msg.table:
            self._detail_for_current()

    def _fill_upstreams(self, counts: list[data.UpstreamCounts]) -> None:
        ol = self.query_one("#upstreams", OptionList)
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
        ol.highlighted = 0 if self.upstream is None else 1 + list(self.recipes).index(self.upstream)

    def _fill_facets(self) -> None:
        """The label facets of the list on screen (none on a tab that is not a list)."""
        kind = self.active_tab()
        ol = self.query_one("#facets", OptionList)
        ol.clear_options()
        chosen = set(self.filter.labels)
        for name, n in self.facets.get(kind, []):
            mark = "✓ " if name in chosen else "  "
            ol.add_option(Option(f"{mark}{name} ({n})", id=name))

    def _show_toggles(self) -> None:
        f = self.filter
        on_ = [w for w, v in (("newcomer", f.newcomer), ("unassigned", f.unassigned)) if v]
        labels = [f"label:{x}" for x in f.labels]
        text = (" ".join(on_ + labels) or "all open") if self.active_tab() in LISTS else ""
        self.query_one("#toggles", Label).update(text, layout=False)

    def _update_status(self) -> None:
        info = self.info
        now = self.app.clock()
        synced = info.synced_at if info else None
        stale = synced is None or seconds_since(synced, now) > STALE_SYNC_HOURS * 3600
        job = self.joblog.job
        bar = self.query_one(StatusBar)
        text = bar.compose_text(
            synced=ago(synced, now),
            stale=stale,
            offline=self.offline,
            rate=info.rate_remaining if info else None,
            viewer=info.viewer if info else None,
            job=job.session if job else None,
            busy=self.busy,
        )
        bar.update(text, layout=False)

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
        kind = self.active_tab()
        if kind in LISTS:
            table = self.query_one(f"#table-{kind}", ItemTable)
            t = table.highlighted()
            if t is not None:
                blocking = table.blocking if kind != "issues" else None
                self._show_detail(
                    item_markdown(t, self._recipe_of(t), self.app.clock(), blocking=blocking)
                )
            else:
                read = self.shown[kind] is not None
                self._show_detail(
                    empty_tab_markdown(kind, read=read, filter=self.filter, note=table.note)
                )
        elif kind == "patches":
            view = self.patches.current_view()
            self._show_detail(
                series_markdown(view)
                if view is not None
                else empty_tab_markdown(kind, read=self.patches.filled)
            )
        elif kind == "runs":
            run = self.runs.current()
            self._show_detail(
                run_markdown(*run)
                if run is not None
                else empty_tab_markdown(kind, read=self.runs.filled)
            )
        elif kind == "notifications":
            inbox, now = self.notifications, self.app.clock()
            n = inbox.current()
            self._show_detail(
                notification_markdown(n, now, inbox.poll)
                if n is not None
                else notifications_note(inbox.poll, now)
            )

    def _recipe_of(self, t: TrackedItem) -> Recipe | None:
        return next((r for r in self.recipes.values() if r.upstream.repo == t.item.repo), None)

    # --- events ----------------------------------------------------------------------------------

    @on(PatchesTable.RowHighlighted)
    @on(ItemTable.Highlighted)
    def _row_highlighted(self) -> None:
        self._schedule_detail()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        kind = self.active_tab()
        box = self.query_one("#filter", Input)
        if kind in LISTS:  # each list has its own filter: the box shows this one's words
            box.disabled = False
            box.placeholder = FILTER_PLACEHOLDER
            self._set_filter_box(self.filters[kind].text)
            table = self.query_one(f"#table-{kind}", ItemTable)
            if self.shown[kind] != self.filter_of(kind):
                self.load_list(kind)
            self._show_count(table)
        else:  # the filter box filters the issue and PR lists only
            self._set_filter_box("")
            box.disabled = True
            box.placeholder = "filters Issues, My PRs and Reviews only"
            self.query_one("#count", Label).update("", layout=False)
        self._fill_facets()
        self._show_toggles()
        self.query_one(f"#table-{kind}").focus()
        self.refresh_bindings()  # keys that belong to one tab (check_action)
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_for_current()  # at once: the last tab's row must not stay on this one

    def _set_filter_box(self, text: str) -> None:
        box = self.query_one("#filter", Input)
        if box.value != text:
            with box.prevent(Input.Changed):  # showing a tab's filter is no change to it
                box.value = text

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self.active_tab() in LISTS and event.value != self.filter.text:
            self.set_filter(text=event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.action_leave_filter()

    @on(OptionList.OptionSelected, "#upstreams")
    def _upstream_selected(self, event: OptionList.OptionSelected) -> None:
        chosen = None if event.option.id == ALL else event.option.id
        self.set_filter(upstream=chosen)

    @on(OptionList.OptionSelected, "#facets")
    def _facet_selected(self, event: OptionList.OptionSelected) -> None:
        name = str(event.option.id)
        labels = list(self.filter.labels)
        if name in labels:
            labels.remove(name)
        else:
            labels.append(name)
        self.set_filter(labels=tuple(labels))

    def set_filter(self, **changes: Any) -> None:
        """Change the sidebar's upstream (every tab's) or the filter of the list on screen
        (text, labels, toggles), and read the list again."""
        kind = self.active_tab()
        if "upstream" in changes:
            self.upstream = changes.pop("upstream")
            for k in LISTS:  # the others are read again when their tab is opened
                if k != kind:
                    self.generation[k] += 1
                    self.shown[k] = None
        if changes and kind in LISTS:
            self.filters[kind] = dataclasses.replace(self.filters[kind], **changes)
        self._show_toggles()
        if kind in LISTS:
            self.load_list(kind)

    # --- what the keys do ------------------------------------------------------------------------

    def highlighted_item(self) -> TrackedItem | None:
        kind = self.active_tab()
        if kind not in LISTS:
            return None
        return self.query_one(f"#table-{kind}", ItemTable).highlighted()

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

    # tabs

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

    def mark_stale(self) -> None:
        """The store changed: every list is read again when it is next shown."""
        self.shown = {k: None for k in LISTS}

    def action_focus_filter(self) -> None:
        self.set_focus(self.query_one("#filter", Input))

    def action_leave_filter(self) -> None:
        self.set_focus(self.query_one(f"#table-{self.active_tab()}"))

    def action_toggle_newcomer(self) -> None:
        self.set_filter(newcomer=not self.filter.newcomer)

    def action_toggle_unassigned(self) -> None:
        self.set_filter(unassigned=not self.filter.unassigned)

    def action_reload(self) -> None:
        kind = self.active_tab()
        self.mark_stale()
        if kind in LISTS:
            self.load_list(kind)
        self.read_store()
        self.patches.reload()
        self.runs.reload()
        self.notifications.reload()

    def action_open(self) -> None:
        if self.active_tab() == "notifications":
            n = self.notifications.current()
            if n is None or not n.url:
                self.notify("no notification highlighted", severity="warning")
                return
            self.app.opener(n.url)
            self.notify(f"opened {n.url}")
            return
        t = self.highlighted_item()
        if t is None:
            self.notify("no issue or PR highlighted", severity="warning")
            return
        self.app.opener(t.item.url)
        self.notify(f"opened {t.item.url}")

    def action_mark_read(self) -> None:
        """Ask, then mark the highlighted notification read on GitHub."""
        n = self.notifications.current()
        if n is None:
            self.notify("no notification highlighted", severity="warning")
            return
        if not n.unread:
            self.notify("already read", severity="warning")
            return
        number = f" #{n.number}" if n.number is not None else ""

        def answered(yes: bool | None) -> None:
            if yes:
                self.notifications.mark_read(n)

        self.app.push_screen(
            ConfirmDialog(
                "Mark read on GitHub? This writes upstream.",
                f"{n.repo}{number} {n.title}\n({n.reason}; {n.subject_type})",
            ),
            answered,
        )

    def current_upstream(self) -> str | None:
        """The upstream an action is for: the highlighted row's, the sidebar's, or the only one."""
        kind = self.active_tab()
        if kind == "patches":
            name = self.patches.current_upstream()
            if name:
                return name
        t = self.highlighted_item()
        if t is not None:
            r = self._recipe_of(t)
            if r:
                return r.name
        if kind == "runs":
            run = self.runs.current()
            if run is not None:
                return run[0].upstream
        if self.upstream:
            return self.upstream
        if len(self.recipes) == 1:
            return next(iter(self.recipes))
        return None

    def _need_upstream(self) -> str | None:
        name = self.current_upstream()
        if name is None:
            self.notify("pick an upstream in the sidebar first", severity="warning")
        return name

    def _set_busy(self, busy: str | None) -> None:
        self.busy = busy
        self._update_status()

    # sync

    def action_sync(self) -> None:
        self._set_busy("syncing")
        self._sync()

    @work(thread=True, exclusive=True, exit_on_error=False, group="sync", description="sync")
    def _sync(self) -> None:
        from workbench.github.errors import Unreachable
        from workbench.github.sync import sync_upstreams

        try:
            report = sync_upstreams(self.ws, list(self.recipes.values()))
        except Unreachable as exc:
            self.post_message(SyncFinished("sync failed", offline=exc.message))
            return
        except BaseException:
            self.post_message(SyncFinished("sync failed"))
            raise
        new = sum(r.new for r in report.repos)
        updated = sum(r.updated for r in report.repos)
        self.post_message(SyncFinished(f"synced: {new} new, {updated} updated"))

    @on(SyncFinished)
    def _sync_finished(self, msg: SyncFinished) -> None:
        self.offline = msg.offline
        if msg.offline:
            self.notify(msg.offline, title="offline", severity="warning")
        elif msg.summary != "sync failed":
            self.notify(msg.summary)
        self.action_reload()
        self._set_busy(None)

    # failing logs

    def action_fetch_logs(self) -> None:
        t = self.highlighted_item()
        if t is None or not t.item.is_pull_request:
            self.notify("no PR highlighted", severity="warning")
            return
        self._set_busy(f"fetching logs of #{t.item.number}")
        self._fetch_logs(t.item.repo, t.item.number)

    @work(thread=True, exclusive=True, exit_on_error=False, group="logs", description="logs")
    def _fetch_logs(self, repo: str, number: int) -> None:
        from workbench.github.client import GitHubClient
        from workbench.github.joblogs import check_logs, pick_checks

        # A connection of its own: the downloads must not hold the lists' store.
        try:
            with Store.open(self.ws) as store:
                status = store.pr_details(repo, number)
                if status is None:
                    self.post_message(LogsFetched(f"#{number}: no checks stored; sync first", []))
                    return
                try:
                    checks = pick_checks(status, None)
                except WorkbenchError as exc:
                    self.post_message(LogsFetched(f"#{number}: {exc.message}", []))
                    return
                if not checks:
                    self.post_message(LogsFetched(f"#{number}: no failing checks", []))
                    return
                got = list(check_logs(store, self.ws.home, repo, checks, GitHubClient.from_env))
        except BaseException:
            self.post_message(LogsFetched("", []))
            raise
        fetched = sum(g.source == "fetched" for g in got)
        stored = sum(g.source in ("store", "offline") for g in got)
        problems = [g.problem.one_line() for g in got if g.problem is not None]
        self.post_message(
            LogsFetched(f"#{number}: {fetched} log(s) fetched, {stored} already stored", problems)
        )

    @on(LogsFetched)
    def _logs_fetched(self, msg: LogsFetched) -> None:
        self._set_busy(None)
        if msg.summary:
            self.notify(msg.summary)
        for problem in msg.problems:
            self.notify(problem, severity="warning")
        self.mark_stale()
        kind = self.active_tab()
        if kind in LISTS:
            self.load_list(kind)
        self._schedule_detail()

    # series

    def action_apply(self) -> None:
        name = self._need_upstream()
        if name:
            self.series_action("apply", name)

    def action_refresh_series(self) -> None:
        name = self._need_upstream()
        if name:
            self.series_action("refresh", name)

    def action_rebase(self) -> None:
        name = self._need_upstream()
        if name:
            self.ask_rebase(name)

    def ask_rebase(self, name: str) -> None:
        default = f"origin/{self.recipes[name].upstream.default_branch}"

        def chosen(onto: str | None) -> None:
            if onto:
                self.series_action("rebase", name, onto)

        self.app.push_screen(RebaseDialog(name, default), chosen)

    def series_action(self, verb: str, name: str, onto: str | None = None) -> None:
        self._set_busy(f"{verb} {name}")
        self._series_action(verb, name, onto)

    @work(thread=True, exclusive=True, exit_on_error=False, group="git", description="series")
    def _series_action(self, verb: str, name: str, onto: str | None) -> None:
        from workbench.gitops.engine import SeriesEngine

        engine = SeriesEngine(self.ws, self.recipes[name])
        try:
            if verb == "apply":
                applied = engine.apply()
                summary = f"{name}: applied {applied.applied} patch(es) onto {applied.pin.ref}"
            elif verb == "refresh":
                wrote = engine.refresh()
                summary = (
                    f"{name}: wrote {len(wrote.entries)} patch(es)"
                    if wrote.changed
                    else f"{name}: patches/ is up to date"
                )
            else:
                assert onto
                rebased = engine.rebase(onto)
                summary = f"{name}: rebased {rebased.applied} patch(es) onto {onto}"
        except BaseException:
            self.post_message(SeriesChanged(""))  # the error dialog says what happened
            raise
        self.post_message(SeriesChanged(summary))

    @on(SeriesChanged)
    def _series_changed(self, msg: SeriesChanged) -> None:
        self._set_busy(None)
        if msg.summary:
            self.notify(msg.summary)
        self.patches.reload()

    # runs

    def action_run_tests(self) -> None:
        name = self._need_upstream()
        if name:
            self.start_job(name, "tests")

    def action_run_bench(self) -> None:
        name = self._need_upstream()
        if name:
            self.start_job(name, "bench")

    def start_job(self, name: str, kind: str) -> None:
        job = self.joblog.job
        if job is not None:
            self.notify(f"{job.session} is still running (x cancels it)", severity="warning")
            return
        self.joblog.start(name, kind)
        self._update_status()
        self.refresh_bindings()

    @on(SessionLog.Finished)
    def _job_finished(self, msg: SessionLog.Finished) -> None:
        word, severity = msg.outcome
        self.notify(f"{msg.session} {word}", severity=severity)  # type: ignore[arg-type]
        self._update_status()
        self.refresh_bindings()
        self.runs.reload()
        self.patches.reload()

    def action_cancel_job(self) -> None:
        if self.joblog.job is None:
            self.notify("no run to cancel", severity="warning")
            return
        self.joblog.cancel()

    # work and drafts

    def action_start_work(self) -> None:
        t = self.highlighted_item()
        if t is None or t.item.is_pull_request:
            self.notify("highlight an issue first", severity="warning")
            return
        recipe = self._recipe_of(t)
        if recipe is None:
            return
        self._start_work(recipe.name, t.item.number)

    @work(thread=True, exclusive=True, exit_on_error=False, group="draft", description="work")
    def _start_work(self, name: str, number: int) -> None:
        from workbench.pr import start_work

        with Store.open(self.ws) as store:
            self.post_message(WorkStarted(start_work(self.ws, name, number, store=store)))

    @on(WorkStarted)
    def _work_started(self, msg: WorkStarted) -> None:
        w = msg.work
        self.notify(
            f"{w.upstream}: working on #{w.number}; next patch {w.patch_file} "
            f"({w.subject}); the draft will say Fixes #{w.number}",
            title="work started",
            timeout=8,
        )

    def action_draft_pr(self) -> None:
        name = self._need_upstream()
        if name:
            self.draft(name)

    def draft(self, name: str) -> None:
        """Open the draft preview at once; it drafts in its own worker."""
        self.app.push_screen(DraftScreen(self.ws, name, self.draft_file(name)))

    def draft_file(self, name: str) -> Path:
        return self.ws.home / "drafts" / f"{name}.md"

    # errors

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        self._failed(StepFailed(event.worker.error, event.worker.description))

    @on(StepFailed)
    def _failed(self, msg: StepFailed) -> None:
        if self.busy:
            self._set_busy(None)
        self.app.push_screen(error_dialog(msg.error, msg.doing))
