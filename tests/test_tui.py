"""The dashboard's flows, driven with Textual's pilot on a real store, workspace and nox."""

from __future__ import annotations

import os
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest
import textual  # noqa: F401 - required by the test extra: missing, the run fails

from tests import tui_data
from tests.github_server import fake_github, gh_env  # noqa: F401 - fixtures
from workbench.github.model import Item
from workbench.github.store import ItemQuery, Store
from workbench.paths import Workspace
from workbench.tui.app import WorkbenchApp, make_app
from workbench.tui.screens import DraftScreen, ErrorDialog
from workbench.tui.widgets import ItemTable

SIZE = (120, 40)


@pytest.fixture
def tui_ws(fetched, monkeypatch) -> Workspace:
    return Workspace(tui_data.make_workspace(fetched, monkeypatch))


@pytest.fixture
def store(tui_ws: Workspace, monkeypatch):
    with Store.open(tui_ws) as s:
        yield tui_data.fill(s, monkeypatch)


def app_for(ws: Workspace, store: Store, **kw) -> WorkbenchApp:
    kw.setdefault("clock", tui_data.clock)
    return make_app(ws, store=store, **kw)


async def settle(pilot, app: WorkbenchApp, timeout: float = 20.0) -> None:
    """Until no worker has run for three pauses of 0.1 s in a row: the timers that follow the
    list (detail, facets) have fired, and what they started has finished, on a busy machine
    too."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:
        if any(not w.is_finished for w in app.workers):
            quiet = 0
            await pilot.pause(0.02)
            continue
        await pilot.pause(0.1)
        quiet = quiet + 1 if all(w.is_finished for w in app.workers) else 0


async def wait_for(pilot, check, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def table(app: WorkbenchApp, kind: str = "issues") -> ItemTable:
    return app.query_one(f"#table-{kind}", ItemTable)


def titles(app: WorkbenchApp, kind: str = "issues") -> list[str]:
    return [t.item.title for t in table(app, kind).items]


def detail(app: WorkbenchApp) -> str:
    """The detail pane's Markdown with its backslash escapes undone: the text as it reads."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", app.query_one("#detail").source)


def count(app: WorkbenchApp) -> str:
    return str(app.query_one("#count").render())


def status(app: WorkbenchApp) -> str:
    return str(app.query_one("#status").render())


def shown_text(widget) -> str:
    """What a widget shows, as plain lines (all of it, scrolled into view or not)."""
    from textual.geometry import Region

    strips = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return "\n".join(strip.text for strip in strips)


def toasts(app: WorkbenchApp) -> str:
    """The notifications on screen, as a user reads them."""
    from textual.widgets._toast import Toast

    return "\n".join(str(t.render()) for t in app.screen.query(Toast))


async def open_tab(pilot, app: WorkbenchApp, tab: str) -> None:
    """Click the tab's title, as a user would."""
    await pilot.click(f"#--content-tab-{tab}")
    await settle(pilot, app)
    assert app.query_one("#tabs").active == tab


async def choose_upstream(pilot, app: WorkbenchApp, name: str) -> None:
    """Click the upstream's line in the sidebar."""
    options = app.query_one("#upstreams").options
    row = next(i for i, option in enumerate(options) if option.id == name)
    await pilot.click("#upstreams", offset=(2, row))
    await settle(pilot, app)
    assert app.dashboard.filter.upstream == name


async def test_the_dashboard_lists_open_issues_newest_first_with_counts(tui_ws, store) -> None:
    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        expected = store.query(ItemQuery(repos=(tui_data.DEMO, tui_data.AO), pull_requests=False))
        assert [t.item.number for t in table(app).items] == [t.item.number for t in expected]
        assert count(app) == f"{len(expected)} shown"
        sidebar = [str(o.prompt) for o in app.query_one("#upstreams").options]
        demo_issues = store.count_matching(ItemQuery(repos=(tui_data.DEMO,), pull_requests=False))
        assert sidebar[1].split() == ["ao", *sidebar[1].split()[1:]]
        assert sidebar[2].split()[:2] == ["demo", str(demo_issues)]
        assert "synced 2h ago" in status(app) and "rate limit 4321" in status(app)
        assert "@ada" in status(app)


async def test_filter_as_you_type_narrows_the_list_and_the_count(tui_ws, store) -> None:
    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        everything = len(titles(app))
        await pilot.press("slash", *"float8")
        await settle(pilot, app)
        assert titles(app) and all("float8" in t for t in titles(app))
        assert len(titles(app)) < everything
        assert count(app) == f"{len(titles(app))} shown"
        await pilot.press(*["backspace"] * 6)
        await settle(pilot, app)
        assert len(titles(app)) == everything


async def test_toggles_and_label_facets(tui_ws, store) -> None:
    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await wait_for(pilot, lambda: app.query_one("#facets").options, what="the label facets")
        facets = {o.id: str(o.prompt) for o in app.query_one("#facets").options}
        assert "performance" in facets and "good first issue" in facets
        await pilot.press("n")
        await settle(pilot, app)
        assert table(app).items
        assert all("good first issue" in t.item.labels for t in table(app).items)
        await pilot.press("n", "u")
        await settle(pilot, app)
        assert all(not t.item.assignees for t in table(app).items)
        assert "unassigned" in str(app.query_one("#toggles").render())
        facet_list = app.query_one("#facets")
        index = [o.id for o in facet_list.options].index("performance")
        facet_list.highlighted = index
        facet_list.action_select()
        await settle(pilot, app)
        assert table(app).items
        assert all("performance" in t.item.labels for t in table(app).items)


async def test_detail_pane_and_open_in_browser(tui_ws, store) -> None:
    opened: list[str] = []
    app = app_for(tui_ws, store, opener=opened.append)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("down")
        second = table(app).items[1].item
        await wait_for(pilot, lambda: f"## #{second.number} {second.title}" in detail(app))
        assert "`bug`" in detail(app) or "`good first issue`" in detail(app)
        assert second.url in detail(app)
        await pilot.press("o")
        assert opened == [second.url]


async def test_my_prs_show_ci_review_and_what_blocks_them(tui_ws, store) -> None:
    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await open_tab(pilot, app, "mine")
        await settle(pilot, app)
        mine = table(app, "mine").items
        assert mine and all(t.mine or t.item.author == tui_data.VIEWER for t in mine)
        demo = next(t for t in mine if t.item.repo == tui_data.DEMO)
        row = mine.index(demo)
        cells = [c.plain for c in table(app, "mine").cells(table(app, "mine").items[row])]
        assert cells[3] == demo.ci and "label" in cells[5]  # the blocking column
        await pilot.press(*["down"] * row)
        await wait_for(pilot, lambda: "### Blocking" in detail(app))
        assert "**label** `module:` required label missing" in detail(app)
        await open_tab(pilot, app, "reviews")
        await settle(pilot, app)
        assert all(t.review_requested for t in table(app, "reviews").items)


async def test_rows_load_a_page_at_a_time(tui_ws, monkeypatch) -> None:
    with Store.open(tui_ws) as store:
        base = tui_data.items()[0]
        store.upsert_items(
            [
                replace(base, number=n, updated_at=f"2025-02-{1 + n % 28:02d}T00:00:00Z")
                for n in range(1, 351)
            ]
        )
        app = app_for(tui_ws, store)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app)
            page = len(table(app).items)
            assert page < 350 and table(app).total == 350
            await pilot.press("pagedown")  # a screenful: still within the first page
            await settle(pilot, app)
            assert len(table(app).items) == page
            await pilot.press("ctrl+end")  # the last row: the pages before it come in turn
            await wait_for(pilot, lambda: len(table(app).items) == 350, what="every page")
            assert len({t.item.number for t in table(app).items}) == 350
            assert table(app).highlighted() is table(app).items[-1]


async def test_sync_offline_shows_in_the_status_bar_not_a_crash(tui_ws, store, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("WORKBENCH_GITHUB_API", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("WORKBENCH_GITHUB_RETRIES", "0")
    monkeypatch.setenv("GH_TOKEN", "t")
    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("s")
        await wait_for(pilot, lambda: "offline" in status(app), what="offline")
        assert not isinstance(app.screen, ErrorDialog)
        assert len(titles(app)) > 0  # the store still reads


async def test_sync_now_fills_the_store_and_refreshes(gh_env, monkeypatch) -> None:  # noqa: F811
    gh_env.server.populate("pytorch/ao", 30)
    ws = Workspace(gh_env.root)
    with Store.open(ws) as store:
        app = make_app(ws, store=store)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app)
            assert titles(app) == []
            await pilot.press("s")
            await wait_for(pilot, lambda: len(titles(app)) > 0, what="synced rows")
            await settle(pilot, app)
            assert "just now" in status(app) and "offline" not in status(app)
            expected = store.count_matching(ItemQuery(repos=("pytorch/ao",), pull_requests=False))
            assert table(app).total == expected > 0


async def test_a_failing_action_shows_the_library_hint(tui_ws, store) -> None:
    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await choose_upstream(pilot, app, "ao")
        await settle(pilot, app)
        await open_tab(pilot, app, "runs")  # no row there: the sidebar's upstream counts
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog), what="dialog")
        dialog = app.screen
        assert "workbench upstream fetch ao" in (dialog.hint or "") + dialog.message
        await pilot.press("escape")
        assert not isinstance(app.screen, ErrorDialog)


async def test_patches_tab_shows_the_series_and_refresh_writes_it(tui_ws, store, fetched):
    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await open_tab(pilot, app, "patches")
        await settle(pilot, app)
        patches = app.query_one("#table-patches")
        rows = [[str(c) for c in patches.get_row_at(i)] for i in range(patches.row_count)]
        demo = next(r for r in rows if r[0] == "demo")
        assert demo[1] == "0001-Say-it-is-faster.patch" and demo[3] == "clean"
        assert "no clone yet" in next(r for r in rows if r[0] == "ao")[1]
        fetched.commit_patched({"pkg/mod.py": "def f0(x):\n    return x\n"}, "Simplify f0")
        patches.move_cursor(row=rows.index(demo))
        await pilot.press("f")
        await wait_for(pilot, lambda: patches.row_count == len(rows) + 1, what="two patches")
        assert fetched.series() == ["0001-Say-it-is-faster.patch", "0002-Simplify-f0.patch"]


async def test_run_a_session_streams_its_log_and_shows_the_result(tui_ws, store) -> None:
    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await choose_upstream(pilot, app, "demo")  # the highlighted issue is demo's
        await settle(pilot, app)
        await pilot.press("t")
        log = app.query_one("#joblog")
        assert "$ nox -s demo_tests" in str(log.lines[0])  # written when it starts
        assert "goes on if you quit" in str(log.lines[1])
        await wait_for(
            pilot, lambda: app.dashboard.joblog.job is None, timeout=60, what="the session to end"
        )
        text = "\n".join(str(line) for line in log.lines)
        assert "synthetic step 2" in text and "demo_tests finished" in text, text
        await settle(pilot, app)
        await open_tab(pilot, app, "runs")
        await settle(pilot, app)
        run, current = app.dashboard.runs.runs[0]
        assert (run.kind, run.verdict(), current) == ("tests", "passed", True)
        await wait_for(pilot, lambda: "| 2 | needs CUDA |" in detail(app), what="the run's detail")


async def test_cancel_kills_the_session_and_what_it_started(tui_ws, store) -> None:
    app = app_for(tui_ws, store)
    pid_file = Path(os.environ["WORKBENCH_HOME"]) / "bench.pid"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await choose_upstream(pilot, app, "demo")
        await pilot.press("B")
        await wait_for(pilot, pid_file.exists, timeout=60, what="the bench session")
        job = app.dashboard.joblog.job
        assert job is not None and "running demo_bench" in status(app)
        await pilot.press("x")
        await wait_for(
            pilot, lambda: app.dashboard.joblog.job is None, timeout=30, what="the cancel"
        )
        assert job.cancelled and job.process.returncode is not None
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid_file.read_text()), 0)


async def test_quitting_leaves_a_started_session_running(tui_ws, store) -> None:
    app = app_for(tui_ws, store)
    pid_file = Path(os.environ["WORKBENCH_HOME"]) / "bench.pid"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await choose_upstream(pilot, app, "demo")
        await pilot.press("B")
        await wait_for(pilot, pid_file.exists, timeout=60, what="the bench session")
        job = app.dashboard.joblog.job
        assert job is not None and os.getpgid(job.pid) == job.pid != os.getpgid(0)
        await pilot.press("q")
    try:
        assert job.returncode() is None  # nox goes on, in its own process group
        os.kill(int(pid_file.read_text()), 0)
        assert "bench started" in job.log.read_text()
    finally:
        job.cancel()
    assert job.returncode() is not None


def test_an_item_without_status_is_shown_plainly(tui_ws, store) -> None:
    from workbench.tui.detail import item_markdown

    item = Item(**{**tui_data.items()[4].__dict__, "labels": ()})
    from workbench.github.store import TrackedItem

    text = item_markdown(TrackedItem(item, None, None, False, False), None, tui_data.NOW)
    assert "CI: unknown" in text and "missing labels" not in text


async def test_start_work_then_draft_the_pr_with_fixes(tui_ws, store) -> None:
    from workbench.pr import current_work

    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, app)
        await choose_upstream(pilot, app, "demo")
        await settle(pilot, app)
        issue = table(app).highlighted().item
        await pilot.press("w")
        await settle(pilot, app)
        work = current_work(tui_ws, "demo")
        assert work is not None and work.number == issue.number
        assert work.patch_file.startswith("0002-")  # the series holds one patch
        assert work.patch_file in toasts(app)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DraftScreen), what="the preview")
        screen = app.screen
        await wait_for(pilot, lambda: screen.shown_at is not None, what="the draft")
        assert f"Fixes #{issue.number}" in screen.text
        assert f"Fixes #{issue.number}" in screen.preview
        assert f"Fixes #{issue.number}" in shown_text(screen.query_one("#draft-text"))
        await pilot.press("c")
        assert app.clipboard == screen.text
        await pilot.press("s")
        saved = tui_ws.home / "drafts" / "demo.md"
        assert saved.read_text() == screen.text
        await pilot.press("escape")
        assert not isinstance(app.screen, DraftScreen)


async def test_start_work_on_a_pr_is_refused_politely(tui_ws, store) -> None:
    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, app)
        await open_tab(pilot, app, "mine")
        await settle(pilot, app)
        await pilot.press("w")
        await settle(pilot, app)
        assert "highlight an issue" in toasts(app)
    from workbench.pr import current_work

    assert current_work(tui_ws, "demo") is None and current_work(tui_ws, "ao") is None


async def test_the_command_palette_offers_every_action_for_the_current_state(tui_ws, store):
    from workbench.tui.palette import WorkbenchCommands

    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        issue = table(app).highlighted().item
        names = [name for name, _, _ in WorkbenchCommands(app.screen)._commands()]
        for expected in (
            "sync: now",
            "item: open in browser",
            f"work: start on #{issue.number}",
            "patches: apply demo",
            "patches: rebase ao",
            "run: demo_tests",
            "run: demo_bench",
            "pr: draft demo",
        ):
            assert expected in names
        assert "run: cancel" not in names  # nothing runs
        bindings = [b for b in app.BINDINGS + app.dashboard.BINDINGS + table(app).BINDINGS]
        assert all(b.id and b.tooltip for b in bindings)


def test_workbench_without_a_terminal_prints_the_overview(workspace) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "workbench"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert "workbench --help lists the commands" in proc.stdout


TAB_ORDER = ["issues", "mine", "reviews", "patches", "runs", "notifications"]


@pytest.mark.slow
async def test_number_keys_and_brackets_switch_tabs_in_order(tui_ws, store) -> None:
    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        tabs = app.query_one("#tabs")
        for number, kind in reversed(list(enumerate(TAB_ORDER, start=1))):
            await pilot.press(str(number))
            assert tabs.active == kind
            assert app.focused is app.query_one(f"#table-{kind}")  # the keys go on working
        await pilot.press("left_square_bracket")  # from the first tab: the last
        assert tabs.active == "notifications"
        await pilot.press("right_square_bracket")
        assert tabs.active == "issues"
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert tabs.active == "reviews"
        await pilot.press("left_square_bracket")
        assert tabs.active == "mine"
        await pilot.press("1", "slash", "2", "right_square_bracket")  # typed in the filter
        assert tabs.active == "issues" and app.query_one("#filter").value == "2]"


async def test_the_palette_has_a_command_per_tab(tui_ws, store) -> None:
    from workbench.tui.actions import DASHBOARD_ACTIONS, TABS
    from workbench.tui.palette import WorkbenchCommands

    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        names = [name for name, _, _ in WorkbenchCommands(app.screen)._commands()]
        assert [n for n in names if n.startswith("tab: ")] == [
            "tab: previous",
            "tab: next",
            *(f"tab: {title}" for title in TABS.values()),
        ]
        await pilot.press("ctrl+p")
        await pilot.press(*"tab: Runs")
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.query_one("#tabs").active == "runs"
        ids = [a.id for a in DASHBOARD_ACTIONS]
        keys = [a.key for a in DASHBOARD_ACTIONS]
        assert len(set(ids)) == len(ids) and len(set(keys)) == len(keys)


@pytest.mark.slow
async def test_each_tab_keeps_its_own_filter(tui_ws, store) -> None:
    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", *"float8", "enter")
        await settle(pilot, app)
        issues = titles(app)
        assert issues and all("float8" in t for t in issues)
        await pilot.press("2")
        await settle(pilot, app)
        repos = (tui_data.DEMO, tui_data.AO)
        mine = store.count_matching(ItemQuery(repos=repos, pull_requests=True, mine=True))
        assert app.query_one("#filter").value == ""
        assert table(app, "mine").total == mine > 0 and count(app) == f"{mine} shown"
        await pilot.press("slash", *"zzz", "enter")
        await settle(pilot, app)
        assert table(app, "mine").total == 0
        await pilot.press("1")
        await settle(pilot, app)
        assert app.query_one("#filter").value == "float8"
        assert titles(app) == issues and count(app) == f"{len(issues)} shown"
        await pilot.press("4")  # not a list: the filter box is empty and off
        assert app.query_one("#filter").value == "" and app.query_one("#filter").disabled
        await pilot.press("2")
        await settle(pilot, app)
        assert app.query_one("#filter").value == "zzz" and table(app, "mine").total == 0


async def test_the_detail_pane_follows_the_tab_and_says_when_it_is_empty(tui_ws, store) -> None:
    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        issue = table(app).highlighted().item
        assert f"## #{issue.number} " in detail(app)
        await pilot.press("2")  # at once, not after the list rests
        pr = table(app, "mine").highlighted().item
        assert f"## #{pr.number} " in detail(app)
        await pilot.press("slash", *"zzz", "enter")
        await settle(pilot, app)
        assert "No PRs of yours match the filter: “zzz”" in detail(app)
        assert f"#{pr.number}" not in detail(app)
        await pilot.press("5")
        await settle(pilot, app)
        assert app.dashboard.runs.runs == [] and "No runs yet" in detail(app)
        await pilot.press("1")
        assert f"## #{issue.number} " in detail(app)


async def test_the_draft_preview_opens_at_once_and_fills_in_when_drafted(
    tui_ws, store, monkeypatch
) -> None:
    import threading

    import workbench.pr

    drafted = threading.Event()
    make_draft = workbench.pr.make_draft

    def slow_draft(*args, **kw):
        drafted.wait(30)
        return make_draft(*args, **kw)

    monkeypatch.setattr(workbench.pr, "make_draft", slow_draft)
    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, app)
        await choose_upstream(pilot, app, "demo")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DraftScreen), what="the preview")
        screen = app.screen
        assert "Drafting the PR of demo…" in shown_text(screen.query_one("#draft-text"))
        await pilot.press("c")
        assert "still drafting" in toasts(app) and app.clipboard == ""
        drafted.set()
        await wait_for(pilot, lambda: screen.shown_at is not None, what="the draft")
        title = screen.draft.title
        assert screen.text.startswith(title) and title in shown_text(
            screen.query_one("#draft-text")
        )
        await pilot.press("escape")
        assert not isinstance(app.screen, DraftScreen)


async def test_a_draft_that_cannot_be_made_closes_the_preview_and_says_why(tui_ws, store) -> None:
    app = app_for(tui_ws, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await choose_upstream(pilot, app, "ao")  # no clone: nothing to draft from
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog), what="the error")
        assert "workbench upstream fetch ao" in (app.screen.hint or "")
        assert not any(isinstance(s, DraftScreen) for s in app.screen_stack)
