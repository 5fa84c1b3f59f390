"""The command palette: the dashboard's actions as "area: verb" commands, from the current state:
the action table's (:mod:`workbench.tui.actions`), then those named after an item or an
upstream."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from workbench.tui.actions import DASHBOARD_ACTIONS
from workbench.tui.dashboard import DashboardScreen


class WorkbenchCommands(Provider):
    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        if not isinstance(self.screen, DashboardScreen):
            return []
        screen: DashboardScreen = self.screen
        # The table's actions that have a palette name and that the screen allows now.
        out: list[tuple[str, Callable[[], object], str]] = [
            (a.palette, partial(screen.run_action, a.action), a.tooltip)
            for a in DASHBOARD_ACTIONS
            if a.palette and screen.check_action(a.name, a.args)
        ]
        item = screen.highlighted_item()
        if item is not None and item.item.is_pull_request:
            out.append(
                (
                    f"pr: fetch failing logs of #{item.item.number}",
                    screen.action_fetch_logs,
                    "The failing jobs' logs: their first errors in the detail pane, kept offline",
                )
            )
        if item is not None and not item.item.is_pull_request:
            out.append(
                (
                    f"work: start on #{item.item.number}",
                    screen.action_start_work,
                    "Record the issue as the series' work; the draft gets Fixes #N",
                )
            )
        for name in screen.recipes:
            out += [
                (f"patches: apply {name}", partial(screen.series_action, "apply", name), ""),
                (f"patches: refresh {name}", partial(screen.series_action, "refresh", name), ""),
                (f"patches: rebase {name}", partial(screen.ask_rebase, name), ""),
                (
                    f"run: {name}_tests",
                    partial(screen.start_job, name, "tests"),
                    "nox, in background",
                ),
                (
                    f"run: {name}_bench",
                    partial(screen.start_job, name, "bench"),
                    "nox, in background",
                ),
                (
                    f"pr: draft {name}",
                    partial(screen.draft, name),
                    "Preview, copy or save the draft",
                ),
            ]
        job = screen.joblog.job
        if job is not None:
            out.append(("run: cancel", screen.action_cancel_job, f"Stop {job.session}"))
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
