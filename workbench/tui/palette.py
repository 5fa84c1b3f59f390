"""The command palette: the action table's commands (:mod:`workbench.tui.actions`) for the
current state, in the table's order: the screen's, then the highlighted item's, each upstream's
and the running session's."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from workbench.tui.actions import DASHBOARD_ACTIONS, PALETTE_ORDER, Action
from workbench.tui.dashboard import DashboardScreen

PaletteCommand = tuple[str, Callable[[], object], str]
"""A palette entry: its name, what it runs, its help line ("" for none)."""


class WorkbenchCommands(Provider):
    def _commands(self) -> list[PaletteCommand]:
        if not isinstance(self.screen, DashboardScreen):
            return []
        screen: DashboardScreen = self.screen
        item = screen.highlighted_item()
        job = screen.joblog.job
        out: list[PaletteCommand] = []

        def add(a: Action, name: str, help_: str, *args: str) -> None:
            if screen.check_action(a.name, (*a.args, *args)):  # what the screen allows now
                out.append((name, partial(screen.run_action, a.invocation(*args)), help_))

        for per in PALETTE_ORDER:
            actions = [a for a in DASHBOARD_ACTIONS if a.palette and a.palette_per == per]
            if per == "screen":
                for a in actions:
                    add(a, a.palette, a.palette_line())
            elif per in ("pr", "issue") and item is not None:
                if item.item.is_pull_request == (per == "pr"):
                    for a in actions:
                        add(a, a.palette.format(number=item.item.number), a.palette_line())
            elif per == "upstream":
                for name in screen.recipes:
                    for a in actions:
                        add(a, a.palette.format(upstream=name), a.palette_line(), name)
            elif per == "run" and job is not None:
                for a in actions:
                    add(a, a.palette, a.palette_line(session=job.session))
        return out

    async def discover(self) -> Hits:
        for name, callback, help_ in self._commands():
            yield DiscoveryHit(name, callback, help=help_ or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_ in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_ or None)
