"""How the main views look at 120x40, on the fixed store and workspace of tests/tui_data.py.

Update with ``pytest tests/test_tui_snapshots.py --snapshot-update`` after looking at the report.
"""

from __future__ import annotations

import json

import pytest
import pytest_textual_snapshot  # noqa: F401 - required by the test extra: missing, the run fails

from tests import tui_data
from tests.test_tui import settle as settle_app
from workbench.github.store import Store
from workbench.paths import Workspace
from workbench.tui.app import make_app

SIZE = (120, 40)


@pytest.fixture
def app(fetched, monkeypatch):
    root = tui_data.make_workspace(fetched, monkeypatch)
    ws = Workspace(root)
    from workbench.gitops.series import load_series

    digest = load_series(ws.patches("demo")).digest()
    tui_data.write_bench_run(root, None)  # made from another series: stale
    folder = ws.runs("demo") / "20250301-110000-tests"
    folder.mkdir(parents=True)
    doc = {
        "schema": 1,
        "kind": "tests",
        "upstream": "demo",
        "started": "2025-03-01T11:00:00+00:00",
        "device": "cpu",
        "series_digest": digest,
        "command": "pytest test/test_mod.py",
        "counts": {"passed": 4, "failed": 1, "error": 0, "skipped": 3},
        "skipped_by_reason": {"needs CUDA": 2, "needs a TPU": 1},
        "regressions": [],
        "preexisting": [
            {"id": "test/test_mod.py::test_old", "status": "failed", "on_baseline": "failed"}
        ],
    }
    (folder / "tests.json").write_text(json.dumps(doc))
    store = tui_data.fill(Store.open(ws), monkeypatch)
    yield make_app(ws, store=store, clock=tui_data.clock)
    store.close()


async def settle(pilot) -> None:
    await settle_app(pilot, pilot.app)


def show(tab: str, *keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        if pilot.app.query_one("#tabs").active != tab:  # the tab's title, as a user would
            await pilot.click(f"#--content-tab-{tab}")
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
        await settle(pilot)

    return run_before


def test_issues(app, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=show("issues"))


def test_issues_filtered(app, snap_compare) -> None:
    assert snap_compare(
        app, terminal_size=SIZE, run_before=show("issues", "slash", *"scale", "enter")
    )


def test_my_prs(app, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=show("mine"))


def test_patches(app, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=show("patches", "down"))


def test_runs(app, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=show("runs"))


def test_my_prs_blocking_detail(app, snap_compare) -> None:
    """The detail pane's Blocking section: the failing job's first error, read offline."""
    assert snap_compare(app, terminal_size=(120, 60), run_before=show("mine"))


def test_notifications(app, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=show("notifications"))


def test_issues_filter_kept_across_tabs(app, snap_compare) -> None:
    """Back on Issues after My PRs: its filter, its rows and its detail, as before."""
    keys = ("slash", *"scale", "enter", "2", "1")
    assert snap_compare(app, terminal_size=SIZE, run_before=show("issues", *keys))


def test_my_prs_empty_after_filter(app, snap_compare) -> None:
    """A list the filter empties: the detail pane says so, not the last PR shown."""
    keys = ("slash", *"zzz", "enter")
    assert snap_compare(app, terminal_size=SIZE, run_before=show("mine", *keys))
