"""The dashboard's actions in one table: each row makes its key binding and its command palette
entry ("area: verb"), so a key and its palette command are described in one place.

A palette entry is made per what it names: the screen (one entry, while the screen allows the
action), the highlighted PR or issue (``{number}``), each upstream (``{upstream}``), or the nox
session that runs (``{session}`` in its help line). :mod:`workbench.tui.palette` makes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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

PalettePer = Literal["screen", "pr", "issue", "upstream", "run"]
PALETTE_ORDER: tuple[PalettePer, ...] = ("screen", "pr", "issue", "upstream", "run")
"""The palette's order: the screen's commands, the highlighted item's, each upstream's, the
running session's (within each, the table's order; per upstream, all of one upstream first)."""


@dataclass(frozen=True)
class Action:
    """One thing a key does on the dashboard, and its command in the palette."""

    key: str
    name: str
    """The action's name: ``sync`` runs ``action_sync`` (what ``check_action`` is asked)."""
    id: str
    """The binding's id, for a keymap that remaps it."""
    label: str
    """The footer's word."""
    tooltip: str
    palette: str = ""
    """The command palette's name for it ("area: verb"); empty: not in the palette. It may name
    ``{number}`` (the highlighted item's) or ``{upstream}`` (one entry per upstream)."""
    palette_per: PalettePer = "screen"
    """What one palette entry is made for (see :data:`PALETTE_ORDER`)."""
    palette_help: str | None = None
    """The palette's line under the name where it is not the tooltip ("": none); it may name
    ``{session}``, the running nox session."""
    args: tuple[str, ...] = ()
    show: bool = True
    priority: bool = False
    group: Binding.Group | None = None

    @property
    def action(self) -> str:
        """In Textual's action syntax: ``sync``, ``show_tab('mine')``."""
        return self.invocation()

    def invocation(self, *more: str) -> str:
        """The action with its arguments and ``more`` (an upstream's name, for a palette entry
        per upstream): ``apply('ao')``."""
        args = (*self.args, *more)
        if not args:
            return self.name
        return f"{self.name}({', '.join(repr(a) for a in args)})"

    def palette_line(self, **fields: str) -> str:
        """The palette's help line for it, with ``fields`` (``session``) filled in."""
        if self.palette_help is None:
            return self.tooltip
        return self.palette_help.format(**fields)

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
    _a(
        "start_work",
        "w",
        "Work",
        "Start work on the highlighted issue: names the next patch",
        "work: start on #{number}",
        palette_per="issue",
        palette_help="Record the issue as the series' work; the draft gets Fixes #N",
    ),
    _a(
        "apply",
        "a",
        "Apply",
        "Apply the series onto its pin (patched worktree)",
        "patches: apply {upstream}",
        palette_per="upstream",
        palette_help="",
    ),
    _a(
        "refresh_series",
        "f",
        "Refresh",
        "Write the worktree's commits back to patches/",
        "patches: refresh {upstream}",
        palette_per="upstream",
        palette_help="",
    ),
    _a(
        "rebase",
        "b",
        "Rebase",
        "Rebase the series onto another ref",
        "patches: rebase {upstream}",
        palette_per="upstream",
        palette_help="",
    ),
    _a(
        "run_tests",
        "t",
        "Tests",
        "Run nox -s NAME_tests in the background",
        "run: {upstream}_tests",
        palette_per="upstream",
        palette_help="nox, in background",
    ),
    _a(
        "run_bench",
        "B",
        "Bench",
        "Run nox -s NAME_bench in the background",
        "run: {upstream}_bench",
        palette_per="upstream",
        palette_help="nox, in background",
    ),
    _a(
        "cancel_job",
        "x",
        "Cancel run",
        "Stop the running nox session (its process group)",
        "run: cancel",
        palette_per="run",
        palette_help="Stop {session}",
    ),
    _a(
        "draft_pr",
        "d",
        "Draft PR",
        "Draft the PR description and preview it",
        "pr: draft {upstream}",
        palette_per="upstream",
        palette_help="Preview, copy or save the draft",
    ),
    _a(
        "fetch_logs",
        "l",
        "Logs",
        "Fetch the failing jobs' logs of the highlighted PR: first error shown, kept offline",
        "pr: fetch failing logs of #{number}",
        palette_per="pr",
        palette_help="The failing jobs' logs: their first errors in the detail pane, kept offline",
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
