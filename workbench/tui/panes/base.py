"""What every tab of the dashboard offers the screen: the detail of its highlighted row, that
row's upstream, and its workers' failures passed on as ``StepFailed``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.widgets import TabPane
from textual.worker import Worker

from workbench.config import Recipe
from workbench.paths import Workspace
from workbench.tui.messages import forward_failure

if TYPE_CHECKING:
    from workbench.tui.app import WorkbenchApp


class Pane(TabPane):
    """A tab of the dashboard: its table and what the keys do to the highlighted row."""

    app: WorkbenchApp  # the panes run in that app only

    def __init__(self, title: str, ws: Workspace, recipes: dict[str, Recipe], *, id: str) -> None:
        super().__init__(title, id=id)
        self.ws = ws
        self.recipes = recipes

    def detail_markdown(self) -> str:
        """The detail pane's Markdown: the highlighted row, or why there is none."""
        raise NotImplementedError

    def row_upstream(self) -> str | None:
        """The upstream of the highlighted row (what an action acts on), if the row has one."""
        return None

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        forward_failure(self, event)  # worker messages do not bubble: the screen hears this
