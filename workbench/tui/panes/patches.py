"""The Patches tab: each upstream's series (its patches, whether they apply onto upstream's
head, the newest verdicts), and the steps on a series: apply, refresh, rebase, draft the PR."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.worker import get_current_worker

from workbench import display
from workbench.config import Recipe
from workbench.paths import Workspace
from workbench.tui import data
from workbench.tui.actions import TABS
from workbench.tui.data import SeriesView
from workbench.tui.detail import empty_tab_markdown, series_markdown
from workbench.tui.messages import Busy
from workbench.tui.panes.base import Pane
from workbench.tui.screens import DraftScreen, RebaseDialog
from workbench.tui.tables import ReadingTable, verdict_text

EFFECT_STYLE = {
    "regression": "red",
    "regressions": "red",
    "fixed": "green",
    "no change": "dim",
    "skipped": "dim",
    "spread": "yellow",
}
"""A patch's own outcome, by its key word (the bench's verdicts are coloured as everywhere)."""


def effect_text(words: str) -> Text:
    """A patch's own outcome in a cell (``1 regression``, ``slower 1.31x (2 cases), spread``),
    each part coloured by its word."""
    text = Text()
    for i, part in enumerate(words.split(", ")):
        word = next((w for w in part.split() if not w[0].isdigit()), part)
        style = next(
            (
                styles[key]
                for key in (part, word)
                for styles in (EFFECT_STYLE, display.VERDICT_STYLE)
                if key in styles
            ),
            "dim",
        )
        text.append((", " if i else "") + part, style=style)
    return text


class PatchesTable(ReadingTable):
    """One row per patch of each upstream's series: size, whether it applies onto upstream's
    head, and the newest tests and bench verdicts for that series; where a run of the series
    as it is now was made with ``--per-patch``, the patch's own outcome instead."""

    COLUMNS = ("upstream", "patch", "+/-", "onto head", "tests", "bench")

    def __init__(
        self, ws: Workspace, recipes: dict[str, Recipe], *, check_head: bool, id: str
    ) -> None:
        super().__init__(ws, recipes, id=id)
        self.check_head = check_head
        self.views: dict[str, SeriesView] = {}

    def reload(self) -> None:
        self._read()

    @work(thread=True, exclusive=True, exit_on_error=False, group="series", description="series")
    def _read(self) -> None:
        views = []
        for recipe in self.recipes.values():
            if get_current_worker().is_cancelled:
                return
            views.append(data.series_view(self.ws, recipe, check_head=self.check_head))
        self.post_message(self.Read(views))

    @on(ReadingTable.Read)
    def _rows_read(self, msg: ReadingTable.Read) -> None:
        self.fill(*msg.args)

    def fill(self, views: list[SeriesView]) -> None:
        self.views = {v.name: v for v in views}
        self.clear()
        for v in views:
            tests = verdict_text(v.tests.verdict() if v.tests else "none", v.tests_state)
            bench = verdict_text(v.bench.verdict() if v.bench else "none", v.bench_state)
            if v.error is not None:
                note = Text(v.error.message[:40], style="dim")
                self.add_row(v.name, note, "", "", tests, bench, key=f"{v.name}:")
                continue
            patches = v.status.patches if v.status else ()
            applies = Text(display.HEAD_SHORT[v.outcome], style=display.HEAD_STYLE[v.outcome])
            if not patches:
                empty = Text("empty series", style="dim")
                self.add_row(v.name, empty, "", applies, tests, bench, key=f"{v.name}:")
            for p in patches:
                effect = v.effects.get(p.file)
                tests_cell = effect.tests_cell() if effect else None
                bench_cell = effect.bench_cell() if effect else None
                self.add_row(
                    v.name,
                    p.file[:34],
                    f"+{p.added} -{p.deleted}",
                    applies,
                    tests if tests_cell is None else effect_text(tests_cell),
                    bench if bench_cell is None else effect_text(bench_cell),
                    key=f"{v.name}:{p.file}",
                )
        self.filled = True
        self.post_message(self.Filled(self))

    def current_upstream(self) -> str | None:
        """The upstream of the row under the cursor."""
        if self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return str(key).split(":", 1)[0] if key else None

    def current_view(self) -> SeriesView | None:
        name = self.current_upstream()
        return self.views.get(name) if name else None


class PatchesPane(Pane):
    """The series of every upstream, and the git steps on one of them, in a thread worker."""

    @dataclass(eq=False)
    class SeriesChanged(Message):
        """An apply, refresh or rebase finished: say what happened and read the series again."""

        summary: str

    def __init__(self, ws: Workspace, recipes: dict[str, Recipe]) -> None:
        super().__init__(TABS["patches"], ws, recipes, id="patches")

    def compose(self) -> ComposeResult:
        yield PatchesTable(
            self.ws, self.recipes, check_head=self.app.check_head, id="table-patches"
        )

    @property
    def table(self) -> PatchesTable:
        return self.query_one(PatchesTable)

    def reload(self) -> None:
        self.table.reload()

    def detail_markdown(self) -> str:
        table = self.table
        view = table.current_view()
        if view is not None:
            return series_markdown(view)
        return empty_tab_markdown("patches", read=table.filled)

    def row_upstream(self) -> str | None:
        return self.table.current_upstream()

    # --- the steps on a series -------------------------------------------------------------------

    def ask_rebase(self, name: str) -> None:
        """Ask onto what (upstream's default branch first), then rebase."""
        default = f"origin/{self.recipes[name].upstream.default_branch}"

        def chosen(onto: str | None) -> None:
            if onto:
                self.series_action("rebase", name, onto)

        self.app.push_screen(RebaseDialog(name, default), chosen)

    def series_action(self, verb: str, name: str, onto: str | None = None) -> None:
        """``apply``, ``refresh`` or ``rebase`` (onto ``onto``) the series of ``name``."""
        self.post_message(Busy(f"{verb} {name}"))
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
            self.post_message(self.SeriesChanged(""))  # the error dialog says what happened
            raise
        self.post_message(self.SeriesChanged(summary))

    @on(SeriesChanged)
    def _series_changed(self, msg: SeriesChanged) -> None:
        self.post_message(Busy(None))
        if msg.summary:
            self.notify(msg.summary)
        self.reload()

    def draft(self, name: str) -> None:
        """Open the draft preview at once; it drafts in its own worker."""
        self.app.push_screen(DraftScreen(self.ws, name, self.draft_file(name)))

    def draft_file(self, name: str) -> Path:
        return self.ws.home / "drafts" / f"{name}.md"
