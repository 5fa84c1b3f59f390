"""The dashboard app and ``make_app``, the one factory the CLI and the tests use.

The app holds what every screen shares (the workspace, the recipes, the store and its lock,
the clock, the browser opener); the dashboard screen holds the rest.
"""

from __future__ import annotations

import threading
import webbrowser
from collections.abc import Callable
from typing import ClassVar, TypeVar

from textual.app import App
from textual.binding import Binding, BindingType

from workbench.config import Recipe, load_recipes
from workbench.display import Clock, utc_now
from workbench.github.store import Store
from workbench.paths import Workspace
from workbench.tui.dashboard import DashboardScreen
from workbench.tui.palette import WorkbenchCommands

T = TypeVar("T")


class WorkbenchApp(App[None]):
    """Issues, PRs, reviews, the patch series and runs of every upstream."""

    CSS_PATH = "app.tcss"
    TITLE = "workbench"
    COMMANDS = App.COMMANDS | {WorkbenchCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit (a running nox session goes on)"),
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
        self.dashboard = DashboardScreen(ws, self.recipes, store)

    def get_default_screen(self) -> DashboardScreen:
        return self.dashboard

    def read_store(self, read: Callable[[Store], T]) -> T:
        """``read(store)`` on the app's one connection, which the readers share in turn (the
        thread workers of the panes)."""
        with self.store_lock:
            return read(self.store)


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
