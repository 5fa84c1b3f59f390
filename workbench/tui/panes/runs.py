"""The Runs tab: every tests and bench run of every upstream, newest first, and the detail of
the highlighted one (a run started from the dashboard streams into the session log below)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult

from workbench.config import Recipe
from workbench.display import Clock, ago
from workbench.paths import Workspace
from workbench.runs import RunResult
from workbench.tui import data
from workbench.tui.actions import TABS
from workbench.tui.detail import empty_tab_markdown, run_markdown
from workbench.tui.panes.base import Pane
from workbench.tui.tables import ReadingTable, verdict_text


class RunsTable(ReadingTable):
    """Every tests and bench run of every upstream, newest first."""

    COLUMNS = ("upstream", "run", "kind", "verdict", "series", "device", "origin", "started")

    def __init__(self, ws: Workspace, recipes: dict[str, Recipe], *, clock: Clock, id: str) -> None:
        super().__init__(ws, recipes, id=id)
        self.clock = clock
        self.runs: list[tuple[RunResult, bool]] = []

    def reload(self) -> None:
        self._read()

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs", description="runs")
    def _read(self) -> None:
        runs = data.all_runs(self.ws, list(self.recipes.values()))
        self.post_message(self.Read(runs, self.clock()))

    @on(ReadingTable.Read)
    def _rows_read(self, msg: ReadingTable.Read) -> None:
        self.fill(*msg.args)

    def fill(self, runs: list[tuple[RunResult, bool]], now: datetime) -> None:
        self.runs = runs
        self.clear()
        for run, current in runs:
            self.add_row(
                run.upstream,
                run.run_id,
                run.kind,
                verdict_text(run.verdict(), "current"),
                Text("current", style="green") if current else Text("stale", style="yellow"),
                run.device,
                run.origin,
                ago(run.started.isoformat(), now),
            )
        self.filled = True
        self.post_message(self.Filled(self))

    def current(self) -> tuple[RunResult, bool] | None:
        """The run under the cursor and whether it matches the current series."""
        row = self.cursor_row
        return self.runs[row] if 0 <= row < len(self.runs) else None


class RunsPane(Pane):
    """The runs of every upstream."""

    def __init__(self, ws: Workspace, recipes: dict[str, Recipe]) -> None:
        super().__init__(TABS["runs"], ws, recipes, id="runs")

    def compose(self) -> ComposeResult:
        yield RunsTable(self.ws, self.recipes, clock=self.app.clock, id="table-runs")

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    def reload(self) -> None:
        self.table.reload()

    def detail_markdown(self) -> str:
        run = self.table.current()
        if run is not None:
            return run_markdown(*run)
        return empty_tab_markdown("runs", read=self.table.filled)

    def row_upstream(self) -> str | None:
        run = self.table.current()
        return run[0].upstream if run is not None else None
