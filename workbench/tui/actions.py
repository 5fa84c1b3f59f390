"""The dashboard's actions in one table: each row makes its key binding and, when it has a
palette name ("area: verb"), its command palette entry. Commands whose names depend on the
state (an issue's number, an upstream's name) are made in :mod:`workbench.tui.commands`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.binding import Binding

TABS = {
    "issues": "Issues",
    "mine": "My PRs",
    "reviews": "Reviews",
    "patches": "Patches",
    "runs": "Runs",
    "notifications": "Notifications",
}
"""The tabs in their order on screen (keys 1-6), with their titles."""

TAB_KEYS = Binding.Group("Tab", compact=True)


@dataclass(frozen=True)
class Action:
    """One thing a key does on the dashboard."""

    key: str
    name: str
    """The action's name: ``sync`` runs ``action_sync`` (what ``check_action`` is asked)."""
    id: str
    """The binding's id, for a keymap that remaps it."""
    label: str
    """The footer's word."""
    tooltip: str
    palette: str = ""
    """The command palette's name for it ("area: verb"); empty: not in the palette."""
    args: tuple[str, ...] = ()
    show: bool = True
    priority: bool = False
    group: Binding.Group | None = None

    @property
    def action(self) -> str:
        """In Textual's action syntax: ``sync``, ``show_tab('mine')``."""
        if not self.args:
            return self.name
        return f"{self.name}({', '.join(repr(a) for a in self.args)})"

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.label,
            show=self.show,
            id=self.id,
            tooltip=self.tooltip,
            priority=self.priority,
            group=self.group,
        )


def _a(name: str, key: str, label: str, tooltip: str, palette: str = "", **kw: Any) -> Action:
    return Action(key, name, name, label, tooltip, palette, **kw)


DASHBOARD_ACTIONS: list[Action] = [
    # priority: the screen moves the focus before it hands the next keys on, so "/float8"
    # typed fast (or sent by a script) lands in the filter.
    _a(
        "focus_filter", "slash", "Filter", "Filter the list as you type: words or #N", priority=True
    ),
    _a("leave_filter", "escape", "Back", "Back from the filter to the table", show=False),
    Action(
        "left_square_bracket",
        "previous_tab",
        "tab.previous",
        "Previous tab",
        "The tab on the left (from the first, the last)",
        "tab: previous",
        group=TAB_KEYS,
    ),
    Action(
        "right_square_bracket",
        "next_tab",
        "tab.next",
        "Next tab",
        "The tab on the right (from the last, the first)",
        "tab: next",
        group=TAB_KEYS,
    ),
    *(
        Action(
            str(number),
            "show_tab",
            f"tab.{kind}",
            title,
            f"Show the {title} tab",
            f"tab: {title}",
            args=(kind,),
            show=False,
        )
        for number, (kind, title) in enumerate(TABS.items(), start=1)
    ),
    _a("sync", "s", "Sync", "Sync issues, PRs and CI state from GitHub now", "sync: now"),
    _a(
        "open",
        "o",
        "Open",
        "Open the highlighted issue or PR in the browser",
        "item: open in browser",
    ),
    _a("start_work", "w", "Work", "Start work on the highlighted issue: names the next patch"),
    _a("apply", "a", "Apply", "Apply the series onto its pin (patched worktree)"),
    _a("refresh_series", "f", "Refresh", "Write the worktree's commits back to patches/"),
    _a("rebase", "b", "Rebase", "Rebase the series onto another ref"),
    _a("run_tests", "t", "Tests", "Run nox -s NAME_tests in the background"),
    _a("run_bench", "B", "Bench", "Run nox -s NAME_bench in the background"),
    _a("cancel_job", "x", "Cancel run", "Stop the running nox session (its process group)"),
    _a("draft_pr", "d", "Draft PR", "Draft the PR description and preview it"),
    _a(
        "fetch_logs",
        "l",
        "Logs",
        "Fetch the failing jobs' logs of the highlighted PR: first error shown, kept offline",
    ),
    _a(
        "toggle_newcomer",
        "n",
        "Newcomer",
        "Issues with the recipe's newcomer labels only",
        "issues: toggle newcomer",
    ),
    _a(
        "toggle_unassigned",
        "u",
        "Unassigned",
        "Issues nobody is assigned to only",
        "issues: toggle unassigned",
    ),
    _a(
        "reload",
        "r",
        "Reload",
        "Read the store, the series and the runs again",
        "store: reload",
        show=False,
    ),
    _a(
        "mark_read",
        "m",
        "Mark read",
        "Mark the highlighted notification read on GitHub (asks first: it writes upstream)",
        "notifications: mark read on GitHub",
    ),
]
"""The dashboard screen's keys, in the footer's order."""
